//! The command line as clap sees it, and its translation into plain configuration: nothing past
//! this module knows about clap.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "lab", version, about = "Turn a senior engineering roadmap into graded, hands-on labs")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to use colour (NO_COLOR is honoured in auto)
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Also load labs from this folder (repeatable; LAB_PATH holds a ':'-separated list)
    #[arg(long = "labs-dir", global = true, value_name = "DIR")]
    pub labs_dir: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the labs, grouped by roadmap module
    List,
    /// Show one lab: what it builds, its stages, options and tracks
    Show {
        /// The lab's id, as `lab list` shows it
        lab: String,
    },
    /// Write a new lab workspace: starter code, TODO markers and the grading suite
    New(NewArgs),
    /// Prepare the workspace for its runner (a Python venv with the dev dependencies)
    Setup,
    /// Grade the workspace with the pristine grading suite, stage by stage
    Check(CheckArgs),
    /// Prove labs work: the starter fails every stage, the reference solution passes all
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The lab's id, as `lab list` shows it
    pub lab: String,
    /// Where to write it (default: ./<lab>); must be new or empty
    pub dir: Option<PathBuf>,
    /// The track (language) to use; default: the lab's first track
    #[arg(long)]
    pub track: Option<String>,
    /// Set a lab option, e.g. --set system=whatsapp (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The project's name (default: the folder's name)
    #[arg(long)]
    pub name: Option<String>,
    /// Do not run `git init` or make the first commit
    #[arg(long)]
    pub no_git: bool,
    /// List what would be written, and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the results as one JSON document (docs/check-results.md)
    #[arg(long)]
    pub json: bool,
    /// Grade only this stage
    #[arg(long, value_name = "ID")]
    pub stage: Option<String>,
    /// Show every failure in full, with output
    #[arg(long, short)]
    pub verbose: bool,
    /// Stop the runner after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Labs to validate (default: all)
    pub labs: Vec<String>,
    /// Validate only this track
    #[arg(long)]
    pub track: Option<String>,
    /// Stop each grading run after this many seconds
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub timeout: u64,
}

/// Plain configuration for the commands.
#[derive(Debug)]
pub struct Config {
    pub labs_dirs: Vec<PathBuf>,
    pub action: Action,
}

#[derive(Debug)]
pub enum Action {
    List,
    Show { lab: String },
    New(New),
    Setup,
    Check(Check),
    Validate(Validate),
}

#[derive(Debug)]
pub struct New {
    pub lab: String,
    pub dir: Option<PathBuf>,
    pub track: Option<String>,
    pub set: Vec<(String, String)>,
    pub name: Option<String>,
    pub git: bool,
    pub dry_run: bool,
}

#[derive(Debug)]
pub struct Check {
    pub json: bool,
    pub stage: Option<String>,
    pub verbose: bool,
    pub timeout: Duration,
}

#[derive(Debug)]
pub struct Validate {
    pub labs: Vec<String>,
    pub track: Option<String>,
    pub timeout: Duration,
}

impl Cli {
    /// Applies the colour choice and turns the arguments into configuration.
    pub fn into_config(self, lab_path: Option<std::ffi::OsString>) -> Result<Config> {
        let choice = match self.color {
            ColorArg::Auto => anstream::ColorChoice::Auto,
            ColorArg::Always => anstream::ColorChoice::Always,
            ColorArg::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
        let mut labs_dirs = self.labs_dir;
        if let Some(paths) = lab_path {
            labs_dirs.extend(std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
        }
        let action = match self.command {
            Command::List => Action::List,
            Command::Show { lab } => Action::Show { lab },
            Command::New(a) => Action::New(New {
                lab: a.lab,
                dir: a.dir,
                track: a.track,
                set: a.set.iter().map(|s| parse_set(s)).collect::<Result<_>>()?,
                name: a.name,
                git: !a.no_git,
                dry_run: a.dry_run,
            }),
            Command::Setup => Action::Setup,
            Command::Check(a) => Action::Check(Check {
                json: a.json,
                stage: a.stage,
                verbose: a.verbose,
                timeout: Duration::from_secs(a.timeout.max(1)),
            }),
            Command::Validate(a) => Action::Validate(Validate {
                labs: a.labs,
                track: a.track,
                timeout: Duration::from_secs(a.timeout.max(1)),
            }),
        };
        Ok(Config { labs_dirs, action })
    }
}

fn parse_set(s: &str) -> Result<(String, String)> {
    let (k, v) =
        s.split_once('=').ok_or_else(|| anyhow!("--set takes KEY=VALUE, e.g. --set system=whatsapp; got `{s}`"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}
