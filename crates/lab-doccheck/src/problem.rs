//! One problem a rule found in a document (a file, maybe a line, and what to do), before the rule's
//! problems are folded into its graded finding.

/// One problem found by a rule.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) file: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) message: String,
}

impl Problem {
    pub(crate) fn at(file: &str, line: u32, message: impl Into<String>) -> Problem {
        Problem { file: Some(file.to_string()), line: Some(line), message: message.into() }
    }
    pub(crate) fn in_file(file: &str, message: impl Into<String>) -> Problem {
        Problem { file: Some(file.to_string()), line: None, message: message.into() }
    }
}
