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
    /// Print less: only errors, or a one-line summary where a command has results
    #[arg(long, short, global = true)]
    pub quiet: bool,
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
    /// Reveal the next hint of the first unfinished stage (or of STAGE)
    Hint {
        /// The stage's id (default: the first unfinished stage)
        stage: Option<String>,
        /// Show every tier at once
        #[arg(long)]
        all: bool,
    },
    /// List the TODO(lab:<stage>) markers left, grouped by stage
    Todo {
        /// Only this stage's markers
        #[arg(long, value_name = "ID")]
        stage: Option<String>,
        /// Print them as JSON
        #[arg(long)]
        json: bool,
    },
    /// Your progress over time: stages completed, pass count per check, regressions
    Progress {
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Every lab workspace under DIR: lab, track, stages done, last checked
    Status {
        /// Where to look (default: the current folder)
        dir: Option<PathBuf>,
        /// Print it as JSON
        #[arg(long)]
        json: bool,
    },
    /// Write or refresh the progress section of the workspace README
    Report,
    /// Restore one starter file from the lab, keeping your version in .lab/backup/
    Reset {
        /// The file to restore
        path: PathBuf,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
    /// Print a shell completion script
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
    /// Tools for lab authors
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Write a new lab's skeleton (lab.toml, starter, grading suite, solution, mutants/) that validates as it is
    New {
        /// The new lab's id: lower-case letters, digits and '-'
        id: String,
        /// Where to write it (default: labs/<id> when ./labs exists, else ./<id>); must be new or empty
        #[arg(long)]
        dir: Option<PathBuf>,
        /// A track to lay out (repeatable; default: python)
        #[arg(long, value_enum)]
        track: Vec<TrackArg>,
    },
    /// Write a workspace with the reference solution laid over the starter (for trying a lab's
    /// grading on correct work: flake loops, mutation testing)
    Solve {
        /// The lab's id
        lab: String,
        /// Where to write it; must be new or empty
        dir: PathBuf,
        /// The track (default: the lab's first)
        #[arg(long)]
        track: Option<String>,
        /// Set a lab option, e.g. --set system=whatsapp (repeatable); the solution for that choice is used
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Compare each stage's test list in lab.toml with the tests the grading suite defines
    CheckTests {
        /// Labs to compare (default: all)
        labs: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TrackArg {
    Python,
    Rust,
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
    /// Check again whenever a file changes, until Ctrl-C
    #[arg(long, short)]
    pub watch: bool,
    /// Refuse to grade a workspace holding files that could influence grading (for graders)
    #[arg(long)]
    pub strict: bool,
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
    /// Exit 0 when the only gaps are checks skipped for a tool missing here (they are still listed)
    #[arg(long)]
    pub allow_missing_tools: bool,
    /// Instead of grading, run each track's declared linters (lab.toml `lint`) on the rendered
    /// starter and solution, installing them from the package registries
    #[arg(long)]
    pub lint: bool,
}

/// How a command's error is reported: always on stderr, and for a command asked for JSON also as
/// one JSON document on stdout, so a tool reading stdout gets a document whatever happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorFormat {
    Text,
    /// `{"status": "error", "message": …}`.
    Json,
    /// The same with `"version": 3`: an error result in the format of `lab check --json`
    /// (Exercism's test-runner results v3).
    CheckResults,
}

/// Plain configuration for the commands.
#[derive(Debug)]
pub struct Config {
    pub labs_dirs: Vec<PathBuf>,
    pub quiet: bool,
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
    Hint { stage: Option<String>, all: bool },
    Todo { stage: Option<String>, json: bool },
    Progress { json: bool },
    Status { dir: PathBuf, json: bool },
    Report,
    Reset { path: PathBuf, yes: bool },
    Completions(clap_complete::Shell),
    Man,
    DevNew { id: String, dir: Option<PathBuf>, tracks: Vec<crate::dev::SkeletonTrack> },
    DevCheckTests { labs: Vec<String> },
    DevSolve { lab: String, dir: PathBuf, track: Option<String>, set: Vec<(String, String)> },
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
    pub watch: bool,
    pub strict: bool,
}

#[derive(Debug)]
pub struct Validate {
    pub labs: Vec<String>,
    pub track: Option<String>,
    pub timeout: Duration,
    pub allow_missing_tools: bool,
    pub lint: bool,
}

impl Cli {
    /// How an error of this command is reported: as JSON too when `--json` was given.
    pub fn error_format(&self) -> ErrorFormat {
        match &self.command {
            Command::Check(a) if a.json => ErrorFormat::CheckResults,
            Command::Todo { json: true, .. }
            | Command::Progress { json: true }
            | Command::Status { json: true, .. } => ErrorFormat::Json,
            _ => ErrorFormat::Text,
        }
    }

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
                watch: a.watch,
                strict: a.strict,
            }),
            Command::Validate(a) => Action::Validate(Validate {
                labs: a.labs,
                track: a.track,
                timeout: Duration::from_secs(a.timeout.max(1)),
                allow_missing_tools: a.allow_missing_tools,
                lint: a.lint,
            }),
            Command::Hint { stage, all } => Action::Hint { stage, all },
            Command::Todo { stage, json } => Action::Todo { stage, json },
            Command::Progress { json } => Action::Progress { json },
            Command::Status { dir, json } => Action::Status { dir: dir.unwrap_or_else(|| PathBuf::from(".")), json },
            Command::Report => Action::Report,
            Command::Reset { path, yes } => Action::Reset { path, yes },
            Command::Completions { shell } => Action::Completions(shell),
            Command::Man => Action::Man,
            Command::Dev(DevCommand::New { id, dir, track }) => {
                let mut tracks: Vec<crate::dev::SkeletonTrack> = track
                    .into_iter()
                    .map(|t| match t {
                        TrackArg::Python => crate::dev::SkeletonTrack::Python,
                        TrackArg::Rust => crate::dev::SkeletonTrack::Rust,
                    })
                    .collect();
                tracks.dedup();
                if tracks.is_empty() {
                    tracks.push(crate::dev::SkeletonTrack::Python);
                }
                Action::DevNew { id, dir, tracks }
            }
            Command::Dev(DevCommand::CheckTests { labs }) => Action::DevCheckTests { labs },
            Command::Dev(DevCommand::Solve { lab, dir, track, set }) => {
                Action::DevSolve { lab, dir, track, set: set.iter().map(|s| parse_set(s)).collect::<Result<_>>()? }
            }
        };
        Ok(Config { labs_dirs, quiet: self.quiet, action })
    }
}

/// A completion script for `shell`, generated from the clap definitions.
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "lab", out);
}

/// The man page, generated from the clap definitions.
pub fn write_man(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(out)
}

fn parse_set(s: &str) -> Result<(String, String)> {
    let (k, v) =
        s.split_once('=').ok_or_else(|| anyhow!("--set takes KEY=VALUE, e.g. --set system=whatsapp; got `{s}`"))?;
    Ok((k.trim().to_string(), v.trim().to_string()))
}
