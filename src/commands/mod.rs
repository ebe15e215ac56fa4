//! One function per command, each taking plain configuration and returning how it ended.

mod check;
mod dev;
mod info;
mod keys;
mod learn;
mod new;
mod portfolio;
mod reset;
mod validate;
mod watch;

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};

use crate::catalog::{Catalog, Lab};
use crate::cli::{self, Action, Config};
use crate::output;
use crate::workspace::{self, Manifest};

/// How a command ended, when it ran to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: some test or validation failed.
    Failed,
    /// Exit 2: the grading could not happen (the runner crashed); the report said why.
    Error,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Error => 2,
        }
    }
}

pub fn run(config: Config) -> Result<Outcome> {
    let Config { labs_dirs, quiet, action } = config;
    let catalog = || Catalog::load(&labs_dirs);
    match action {
        Action::List => info::list(&catalog()?),
        Action::Show { lab } => info::show(&catalog()?, &lab),
        Action::New(args) => new::new(&catalog()?, args, quiet),
        Action::Setup => check::setup(&labs_dirs, quiet),
        Action::Check(args) => check::check(&labs_dirs, args, quiet),
        Action::Validate(args) => validate::validate(&catalog()?, args, quiet),
        Action::Hint { stage, all } => learn::hint(&open(&labs_dirs)?, stage.as_deref(), all),
        Action::Todo { stage, json } => learn::todo(&open(&labs_dirs)?, stage.as_deref(), json),
        Action::Progress { json } => portfolio::progress(&open(&labs_dirs)?, json),
        Action::Status { dir, json } => portfolio::status(&labs_dirs, &dir, json),
        Action::Report => portfolio::report(&open(&labs_dirs)?, quiet),
        Action::Reset { path, yes } => reset::reset(&open(&labs_dirs)?, &path, yes),
        Action::Completions(shell) => {
            // Rendered into memory first: the generator panics on a write error such as a closed pipe.
            let mut script = Vec::new();
            cli::write_completions(shell, &mut script);
            output::write_all(&script)?;
            Ok(Outcome::Success)
        }
        Action::DevNew { id, dir, tracks } => dev::new(&id, dir, &tracks, quiet),
        Action::DevCheckTests { labs } => dev::check_tests(&catalog()?, &labs, quiet),
        Action::DevSolve { lab, dir, track, set } => dev::solve(&catalog()?, &lab, &dir, track.as_deref(), &set, quiet),
        Action::Man => {
            let mut page = Vec::new();
            cli::write_man(&mut page).context("cannot render the man page")?;
            output::write_all(&page)?;
            Ok(Outcome::Success)
        }
    }
}

/// The workspace at or above the current folder, its manifest, and the catalog its lab is in.
pub(crate) struct Opened {
    pub root: PathBuf,
    pub manifest: Manifest,
    pub catalog: Catalog,
}

pub(crate) fn open(labs_dirs: &[PathBuf]) -> Result<Opened> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    open_at(&workspace::find_root(&cwd)?, labs_dirs)
}

pub(crate) fn open_at(root: &std::path::Path, labs_dirs: &[PathBuf]) -> Result<Opened> {
    let manifest = Manifest::load(root)?;
    if !given_on_command_line(manifest.labs_dir.as_deref(), labs_dirs) {
        manifest.check_labs_dir(root)?;
    }
    let mut dirs = labs_dirs.to_vec();
    if let Some(dir) = &manifest.labs_dir {
        if dir.is_dir() && !dirs.contains(dir) {
            dirs.push(dir.clone());
        }
    }
    let catalog = Catalog::load(&dirs)?;
    Ok(Opened { root: root.to_path_buf(), manifest, catalog })
}

/// Whether the workspace's recorded labs folder is one the user named with --labs-dir.
pub(crate) fn given_on_command_line(recorded: Option<&std::path::Path>, labs_dirs: &[PathBuf]) -> bool {
    let canonical = |p: &std::path::Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    recorded.is_some_and(|r| labs_dirs.iter().any(|d| canonical(d) == canonical(r)))
}

impl Opened {
    pub fn lab(&self) -> Result<&Lab> {
        let m = &self.manifest;
        let lab = self.catalog.get(&m.lab).map_err(|e| match &m.labs_dir {
            Some(dir) => anyhow!(
                "this workspace's lab `{}` came from {}, which is gone: pass --labs-dir with the folder that holds it",
                m.lab,
                dir.display()
            ),
            None => e.context(format!("this workspace was made by lab {}", m.tool_version)),
        })?;
        m.check_vars(lab)?;
        Ok(lab)
    }

    /// The grading history replayed against the lab's stages.
    pub fn progress(&self) -> Result<crate::progress::Progress> {
        let lab = self.lab()?;
        let history = workspace::read_history(&self.root, &self.manifest);
        let mut progress = crate::progress::analyse(&lab.def, &self.manifest.track, &history.entries);
        progress.unverified = history.unverified;
        Ok(progress)
    }
}
