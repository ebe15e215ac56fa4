//! `lab`: parse the command line, run the command, map the outcome to an exit code.

mod catalog;
mod cli;
mod commands;
mod process;
mod progress;
mod report;
mod results;
mod runner;
mod scaffold;
mod validate;
mod workspace;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = cli.into_config(std::env::var_os("LAB_PATH")).and_then(commands::run);
    match result {
        Ok(outcome) => ExitCode::from(outcome.code()),
        Err(err) if err.is::<process::Interrupted>() => {
            eprintln!("lab: interrupted");
            ExitCode::from(130)
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
