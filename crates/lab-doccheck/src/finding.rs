//! The crate's result type: one graded finding per rule, with its status, file, line and message.

/// Whether a rule passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The rule found nothing wrong.
    Pass,
    /// The rule found at least one problem; the finding's message says what and what to do.
    Fail,
}

/// One rule's graded result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id from the rules file: the graded test's name.
    pub rule_id: String,
    /// Pass or fail.
    pub status: Status,
    /// Empty when the rule passed. Otherwise what is wrong and what to do: the first problem,
    /// then up to three more (each with its place), then a count of the rest.
    pub message: String,
    /// The file of the first problem, relative to the checked folder and '/'-separated; None
    /// when the rule passed.
    pub file: Option<String>,
    /// The 1-based line of the first problem in `file`, when it has one.
    pub line: Option<u32>,
}
