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
pub mod mutants;
pub mod output;
pub mod process;
pub mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod scaffold;
pub mod status;
pub mod workspace;

use std::io::Write;

pub use commands::{run, Outcome};

/// The exit code for how a command ended, after saying why on stderr when it did not finish:
/// 0 success (and a reader that closed the pipe early), 1 failures, 2 errors, 130 interrupted.
pub fn exit_code(result: anyhow::Result<Outcome>) -> u8 {
    let mut err_out = std::io::stderr();
    match result {
        Ok(outcome) => outcome.code(),
        Err(err) if output::is_broken_pipe(&err) => 0,
        Err(err) if err.is::<process::Interrupted>() => {
            let _ = writeln!(err_out, "lab: interrupted");
            130
        }
        Err(err) => {
            let _ = writeln!(err_out, "error: {err:#}");
            2
        }
    }
}

#[cfg(test)]
mod architecture_test;
