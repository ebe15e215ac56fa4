//! One function per command, each taking plain configuration and returning how it ended.

mod check;
mod info;
mod new;

use anyhow::Result;

use crate::catalog::Catalog;
use crate::cli::{Action, Config};

pub use check::{check_workspace, setup_workspace};
pub use new::create_workspace;

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
    let catalog = || Catalog::load(&config.labs_dirs);
    match config.action {
        Action::List => info::list(&catalog()?),
        Action::Show { lab } => info::show(&catalog()?, &lab),
        Action::New(args) => new::new(&catalog()?, args),
        Action::Setup => check::setup(&config.labs_dirs),
        Action::Check(args) => check::check(&config.labs_dirs, args),
        Action::Validate(args) => crate::validate::validate(&catalog()?, args),
    }
}
