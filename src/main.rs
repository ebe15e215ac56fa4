//! `lab`: parse the command line, run the command, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match lab::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version exit 0, usage errors 2; a closed pipe is no reason to panic.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    let errors = cli.error_format();
    let result = cli.into_config(std::env::var_os("LAB_PATH")).and_then(lab::run);
    ExitCode::from(lab::exit_code(result, errors))
}
