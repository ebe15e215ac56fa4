//! The vocabulary of grading outcomes: a test's or a check's status, and why a test did not
//! pass. Every module that records, compares or prints an outcome uses these types.

use serde::{Deserialize, Serialize};

/// The `status` of a check and of each test, as Exercism's test-runner results v3 name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
        }
    }

    pub fn is_pass(self) -> bool {
        self == Status::Pass
    }
}

/// Why a declared test did not pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The test ran and an assertion failed.
    Failed,
    /// The test ran and raised an error outside its assertions.
    Errored,
    /// The runner skipped it (a tool it needs is missing, say): never a pass.
    Skipped,
    /// The runner finished without reporting it.
    NotRun,
    /// The runner crashed, timed out or collected nothing, so nothing was graded.
    RunnerError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_reasons_serialise_as_the_published_words() {
        assert_eq!(serde_json::to_string(&Status::Pass).unwrap(), "\"pass\"");
        assert_eq!(serde_json::to_string(&Status::Error).unwrap(), "\"error\"");
        assert_eq!(serde_json::from_str::<Status>("\"fail\"").unwrap(), Status::Fail);
        assert!(serde_json::from_str::<Status>("\"passed\"").is_err());
        let reasons = [Reason::Failed, Reason::Errored, Reason::Skipped, Reason::NotRun, Reason::RunnerError];
        let words: Vec<String> = reasons.iter().map(|r| serde_json::to_string(r).unwrap()).collect();
        assert_eq!(words, ["\"failed\"", "\"errored\"", "\"skipped\"", "\"not_run\"", "\"runner_error\""]);
    }
}
