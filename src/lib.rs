//! `lab`: scaffold graded lab workspaces and grade them. The pipeline runs one way, each stage a
//! module: catalog (lab definitions) -> scaffold (render into place) -> workspace (`.lab/`
//! manifest, history, integrity) -> runner (child processes and result parsers) -> results
//! (graded against the lab) -> report (human and JSON). `grading` strings the last four together
//! for one check; `commands` are thin callers, one per subcommand.

pub mod catalog;
pub mod cli;
mod commands;
pub mod dev;
pub mod grading;
pub mod integrity;
pub mod keyed;
pub mod lint;
pub mod mutants;
pub mod output;
pub mod process;
pub mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod scaffold;
pub mod spinner;
pub mod status;
pub mod workspace;

use std::io::Write;

use serde::Serialize;

use cli::ErrorFormat;
pub use commands::{run, Outcome};

/// The exit code for how a command ended, after saying why on stderr when it did not finish:
/// 0 success (and a reader that closed the pipe early), 1 failures, 2 errors, 130 interrupted.
/// A command asked for JSON also prints the error as one JSON document on stdout.
pub fn exit_code(result: anyhow::Result<Outcome>, format: ErrorFormat) -> u8 {
    let mut err_out = std::io::stderr();
    let (message, code) = match result {
        Ok(outcome) => return outcome.code(),
        Err(err) if output::is_broken_pipe(&err) => return 0,
        Err(err) if err.is::<process::Interrupted>() => {
            let _ = writeln!(err_out, "lab: interrupted");
            ("interrupted".to_string(), 130)
        }
        Err(err) => {
            let _ = writeln!(err_out, "error: {err:#}");
            (format!("{err:#}"), 2)
        }
    };
    if let Some(doc) = ErrorDocument::new(format, message) {
        // A reader that went away has nothing to be told.
        if let Ok(text) = serde_json::to_string_pretty(&doc) {
            let _ = writeln!(std::io::stdout(), "{text}");
        }
    }
    code
}

/// What a command asked for JSON prints on stdout when it fails (README, "JSON on errors").
#[derive(Debug, Serialize)]
struct ErrorDocument {
    /// `3` for `lab check --json`, whose documents are Exercism's test-runner results v3.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u32>,
    status: status::Status,
    message: String,
}

impl ErrorDocument {
    fn new(format: ErrorFormat, message: String) -> Option<ErrorDocument> {
        let version = match format {
            ErrorFormat::Text => return None,
            ErrorFormat::Json => None,
            ErrorFormat::CheckResults => Some(3),
        };
        Some(ErrorDocument { version, status: status::Status::Error, message })
    }
}

#[cfg(test)]
mod architecture_test;
