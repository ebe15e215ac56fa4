//! Running a grading suite: the pristine copy written under `.lab/run/`, the track's runner
//! started through the process door, and its machine-readable results turned into test results.

pub mod cargo;
pub mod docs;
pub mod guard;
pub mod junit;
pub mod libtest;
pub mod mermaid;
pub mod pytest;
pub mod python;

use std::fs;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::catalog::{Lab, RunnerKind};
use crate::scaffold::{write_files, Rendered};
use crate::workspace::{RUN_DIR, SUITE_DIR};

/// One test's outcome, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Skipped,
    Fail,
    Error,
}

impl Outcome {
    pub fn rank(self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Skipped => 1,
            Outcome::Fail => 2,
            Outcome::Error => 3,
        }
    }
}

/// A test as the runner reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    pub name: String,
    pub outcome: Outcome,
    pub message: String,
    pub output: String,
    /// Where it failed, relative to the workspace root.
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl TestResult {
    pub fn new(name: String, outcome: Outcome) -> TestResult {
        TestResult { name, outcome, message: String::new(), output: String::new(), file: None, line: None }
    }
}

/// What one run of a grading suite produced.
#[derive(Debug, Clone)]
pub struct Run {
    pub results: Vec<TestResult>,
    /// Set when the runner crashed, timed out or collected nothing: then no result counts.
    pub error: Option<String>,
    /// The runner's own output, shown on an error or with --verbose.
    pub output: String,
    /// How long the runner itself took, apart from lab's own work.
    pub elapsed: Duration,
    /// Docs runs: whether the Mermaid diagrams were parsed or only scanned.
    pub diagrams: Option<mermaid::Diagrams>,
}

/// What the runner needs to know about the workspace.
pub struct Spec<'a> {
    pub root: &'a Path,
    pub runner: RunnerKind,
    /// The pristine suite, paths relative to its root.
    pub suite: &'a [Rendered],
    /// The editable copy's folder (the manifest's `[grading] dir`), to point failures at files
    /// the learner can open.
    pub grading_dir: &'a str,
    pub timeout: Duration,
    /// Run only these tests (a stage's), when the runner can select them; None runs them all.
    /// Runners select by name pattern, so a few more may run: grading looks at the declared
    /// tests only.
    pub only: Option<&'a [String]>,
    /// pytest plugins the suite needs, loaded by name (autoloading is off).
    pub plugins: &'a [String],
    /// Tests to grade ahead of the rest (the stage the learner is on), reported the moment all of
    /// them have finished, while the rest still run.
    pub first: Option<First<'a>>,
}

/// Tests a runner puts first, and who hears of their results early. The full run's results
/// stay the record: these are the same tests' outcomes read from the runner's output as it
/// arrives, without the detail (locations, captured output) the end of the run adds.
pub struct First<'a> {
    pub tests: &'a [String],
    pub done: &'a dyn Fn(&[TestResult]),
}

/// Calls a `First`'s `done` once, when `results` finds all of its tests in.
pub(crate) struct Early<'a> {
    first: Option<&'a First<'a>>,
}

impl<'a> Early<'a> {
    pub(crate) fn new(first: Option<&'a First<'a>>) -> Early<'a> {
        Early { first }
    }

    /// The tests still waited for, or None once reported (or when nothing is).
    pub(crate) fn waiting(&self) -> Option<&'a [String]> {
        self.first.map(|f| f.tests)
    }

    pub(crate) fn report(&mut self, results: &[TestResult]) {
        if let Some(first) = self.first.take() {
            (first.done)(results);
        }
    }
}

/// Writes the pristine suite to `.lab/run/grading/` and runs it. An `Err` is a tool problem the
/// learner must fix before anything can be graded (no venv, runner not installed).
pub fn run(spec: &Spec) -> Result<Run> {
    let run_dir = spec.root.join(RUN_DIR);
    if run_dir.exists() {
        fs::remove_dir_all(&run_dir).with_context(|| format!("cannot clear {}", run_dir.display()))?;
    }
    let suite_dir = spec.root.join(SUITE_DIR);
    fs::create_dir_all(&suite_dir).with_context(|| format!("cannot create {}", suite_dir.display()))?;
    write_files(&suite_dir, spec.suite)?;
    let mut run = match spec.runner {
        RunnerKind::Pytest => pytest::run(spec)?,
        RunnerKind::Cargo => cargo::run(spec)?,
        RunnerKind::Docs => docs::run(spec)?,
    };
    // A build script, a compile-time macro or the code under test could rewrite the suite
    // between lab writing it and the runner reading it.
    if let Some(path) = changed_suite_file(&suite_dir, spec.suite) {
        run.error = Some(format!(
            "the grading suite was changed while it ran ({SUITE_DIR}/{path}): something in the workspace rewrote it, so nothing it reported counts"
        ));
        run.results.clear();
    }
    Ok(run)
}

/// The first pristine suite file that no longer holds what lab wrote.
fn changed_suite_file(suite_dir: &Path, suite: &[Rendered]) -> Option<String> {
    suite
        .iter()
        .find(|file| fs::read(suite_dir.join(&file.path)).ok().as_deref() != Some(file.contents.as_slice()))
        .map(|file| file.path.clone())
}

/// Prepares a workspace's runner (`lab setup`): for pytest tracks a venv with the declared
/// dependencies; for docs tracks the Mermaid parser, when Node.js is there; cargo tracks need
/// nothing here.
pub fn setup(lab: &Lab, track: &str, root: &Path, install: python::Install, quiet: bool) -> Result<()> {
    let tdef = lab.def.track(track)?;
    match tdef.runner {
        RunnerKind::Pytest => python::setup(root, &tdef.setup, install, quiet).map(|_| ()),
        RunnerKind::Docs => mermaid::setup(root, quiet),
        RunnerKind::Cargo => Ok(()),
    }
}
