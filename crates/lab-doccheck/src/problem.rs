//! One problem a rule found in a document (a file, maybe a line, and what to do), before the rule's
//! problems are folded into its graded outcome.

/// One problem found by a rule.
#[derive(Debug, Clone)]
pub struct Problem {
    pub file: Option<String>,
    pub line: Option<u32>,
    pub message: String,
}

impl Problem {
    pub fn at(file: &str, line: u32, message: impl Into<String>) -> Problem {
        Problem { file: Some(file.to_string()), line: Some(line), message: message.into() }
    }
    pub fn in_file(file: &str, message: impl Into<String>) -> Problem {
        Problem { file: Some(file.to_string()), line: None, message: message.into() }
    }
}
