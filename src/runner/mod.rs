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
use crate::scaffold::Vars;
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
    place_suite(spec.root, spec.suite, spec.runner)?;
    let suite_dir = spec.root.join(SUITE_DIR);
    let mut run = match spec.runner {
        RunnerKind::Pytest => pytest::run(spec)?,
        RunnerKind::Cargo => cargo::run(spec)?,
        RunnerKind::Docs => docs::run(spec)?,
    };
    // A build script, a compile-time macro or the code under test could rewrite the suite
    // between lab writing it and the runner reading it.
    if let Some(path) = changed_suite_file(&suite_dir, spec.suite, spec.runner) {
        run.error = Some(format!(
            "the grading suite was changed while it ran ({SUITE_DIR}/{path}): something in the workspace rewrote it, so nothing it reported counts"
        ));
        run.results.clear();
    }
    Ok(run)
}

/// Files a runner makes beside the suite itself and reuses from run to run.
fn runner_files(runner: RunnerKind) -> &'static [&'static str] {
    match runner {
        // The resolved dependency versions: without it cargo resolves every dependency again.
        RunnerKind::Cargo => &["Cargo.lock"],
        RunnerKind::Pytest | RunnerKind::Docs => &[],
    }
}

/// A runner file the suite ships (a grading `Cargo.lock`) is the first resolution, written when
/// there is none: the runner keeps it up to date from then on (the learner's crate may add
/// dependencies), so it is neither rewritten nor held to the pristine text.
fn is_runner_file(runner: RunnerKind, path: &str) -> bool {
    runner_files(runner).contains(&path)
}

/// Puts the pristine suite in `.lab/run/grading/` and clears the rest of `.lab/run/`. A file
/// that already holds what lab would write is left alone, so its time stays and cargo need not
/// rebuild the suite; anything else there (a file lab does not write, a link) goes.
pub(crate) fn place_suite(root: &Path, suite: &[Rendered], runner: RunnerKind) -> Result<()> {
    let run_dir = root.join(RUN_DIR);
    let suite_dir = root.join(SUITE_DIR);
    for dir in [root.join(".lab"), run_dir.clone(), suite_dir.clone()] {
        if fs::symlink_metadata(&dir).is_ok_and(|m| !m.is_dir()) {
            fs::remove_file(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
        }
    }
    if let Ok(entries) = fs::read_dir(&run_dir) {
        for entry in entries.flatten().filter(|e| e.path() != suite_dir) {
            remove_any(&entry.path())?;
        }
    }
    let mut wanted: std::collections::BTreeSet<std::path::PathBuf> =
        suite.iter().map(|f| std::path::PathBuf::from(&f.path)).collect();
    wanted.extend(runner_files(runner).iter().map(std::path::PathBuf::from));
    prune(&suite_dir, Path::new(""), &wanted)?;
    let stale: Vec<Rendered> = suite
        .iter()
        .filter(|f| !(is_runner_file(runner, &f.path) && suite_dir.join(&f.path).is_file()))
        .filter(|f| fs::read(suite_dir.join(&f.path)).ok().as_deref() != Some(f.contents.as_slice()))
        .cloned()
        .collect();
    fs::create_dir_all(&suite_dir).with_context(|| format!("cannot create {}", suite_dir.display()))?;
    write_files(&suite_dir, &stale)
}

/// Removes from `dir` every link, and every file not in `wanted` (paths relative to the suite).
fn prune(base: &Path, rel: &Path, wanted: &std::collections::BTreeSet<std::path::PathBuf>) -> Result<()> {
    let Ok(entries) = fs::read_dir(base.join(rel)) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = rel.join(entry.file_name());
        let Ok(meta) = fs::symlink_metadata(entry.path()) else { continue };
        if meta.is_dir() && wanted.iter().any(|w| w.starts_with(&path)) {
            prune(base, &path, wanted)?;
        } else if !(meta.is_file() && wanted.contains(&path)) {
            remove_any(&entry.path())?;
        }
    }
    Ok(())
}

fn remove_any(path: &Path) -> Result<()> {
    let is_dir = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    if is_dir { fs::remove_dir_all(path) } else { fs::remove_file(path) }
        .with_context(|| format!("cannot remove {}", path.display()))
}

/// The first pristine suite file that no longer holds what lab wrote.
fn changed_suite_file(suite_dir: &Path, suite: &[Rendered], runner: RunnerKind) -> Option<String> {
    suite
        .iter()
        .filter(|file| !is_runner_file(runner, &file.path))
        .find(|file| fs::read(suite_dir.join(&file.path)).ok().as_deref() != Some(file.contents.as_slice()))
        .map(|file| file.path.clone())
}

/// Prepares a workspace's runner (`lab setup`): for pytest tracks a venv with the declared
/// dependencies; for docs tracks the Mermaid parser, when Node.js is there; for cargo tracks
/// the grading suite and its dependencies, built.
pub fn setup(lab: &Lab, track: &str, vars: &Vars, root: &Path, install: python::Install, quiet: bool) -> Result<()> {
    let tdef = lab.def.track(track)?;
    match tdef.runner {
        RunnerKind::Pytest => python::setup(root, &tdef.setup, install, quiet).map(|_| ()),
        RunnerKind::Docs => mermaid::setup(root, quiet),
        RunnerKind::Cargo => cargo::setup(root, &crate::scaffold::grading(lab, track, vars)?, quiet),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> Rendered {
        Rendered { path: path.into(), contents: text.as_bytes().to_vec() }
    }

    #[test]
    fn the_suite_is_put_in_place_keeping_unchanged_files_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let suite = [file("Cargo.toml", "[package]\n"), file("tests/a.rs", "#[test] fn a() {}\n")];
        place_suite(root, &suite, RunnerKind::Cargo).unwrap();
        let suite_dir = root.join(SUITE_DIR);
        let kept = fs::metadata(suite_dir.join("Cargo.toml")).unwrap().modified().unwrap();
        // What a run leaves or a workspace plants there.
        fs::write(suite_dir.join("Cargo.lock"), "# lock\n").unwrap();
        fs::write(suite_dir.join("build.rs"), "fn main() {}\n").unwrap();
        fs::write(suite_dir.join("tests/extra.rs"), "#[test] fn x() {}\n").unwrap();
        fs::write(suite_dir.join("tests/a.rs"), "edited\n").unwrap();
        fs::write(root.join(RUN_DIR).join("junit.xml"), "<old/>").unwrap();
        std::os::unix::fs::symlink("/etc", suite_dir.join("src")).unwrap();
        place_suite(root, &suite, RunnerKind::Cargo).unwrap();
        assert_eq!(fs::read_to_string(suite_dir.join("tests/a.rs")).unwrap(), "#[test] fn a() {}\n");
        assert_eq!(fs::metadata(suite_dir.join("Cargo.toml")).unwrap().modified().unwrap(), kept);
        assert!(suite_dir.join("Cargo.lock").exists(), "cargo's lock file is kept");
        for gone in ["build.rs", "tests/extra.rs", "src"] {
            assert!(fs::symlink_metadata(suite_dir.join(gone)).is_err(), "{gone} was left");
        }
        assert!(!root.join(RUN_DIR).join("junit.xml").exists(), "a previous run's output is cleared");
        // Other runners keep no lock file.
        place_suite(root, &suite, RunnerKind::Pytest).unwrap();
        assert!(!suite_dir.join("Cargo.lock").exists());
    }

    #[test]
    fn a_shipped_lock_file_seeds_the_run_and_is_then_cargos_to_keep() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        let suite = [file("Cargo.toml", "[package]\n"), file("Cargo.lock", "# shipped\n")];
        let suite_dir = root.join(SUITE_DIR);
        place_suite(root, &suite, RunnerKind::Cargo).unwrap();
        assert_eq!(fs::read_to_string(suite_dir.join("Cargo.lock")).unwrap(), "# shipped\n");
        // cargo added the learner's new dependency to it during a run.
        fs::write(suite_dir.join("Cargo.lock"), "# shipped\n# and one more\n").unwrap();
        assert_eq!(changed_suite_file(&suite_dir, &suite, RunnerKind::Cargo), None);
        place_suite(root, &suite, RunnerKind::Cargo).unwrap();
        assert_eq!(fs::read_to_string(suite_dir.join("Cargo.lock")).unwrap(), "# shipped\n# and one more\n");
        // Any other suite file is still held to its pristine text.
        fs::write(suite_dir.join("Cargo.toml"), "[package]\nbuild = \"x.rs\"\n").unwrap();
        assert_eq!(changed_suite_file(&suite_dir, &suite, RunnerKind::Cargo).as_deref(), Some("Cargo.toml"));
        // For a runner that keeps no lock file, a file of that name is an ordinary suite file.
        fs::write(suite_dir.join("Cargo.toml"), "[package]\n").unwrap();
        assert_eq!(changed_suite_file(&suite_dir, &suite, RunnerKind::Pytest).as_deref(), Some("Cargo.lock"));
    }

    #[test]
    fn a_link_in_place_of_the_run_folder_is_replaced_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join(".lab")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), root.path().join(RUN_DIR)).unwrap();
        place_suite(root.path(), &[file("t.py", "x\n")], RunnerKind::Pytest).unwrap();
        assert!(fs::symlink_metadata(root.path().join(RUN_DIR)).unwrap().is_dir());
        assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing was written through the link");
    }
}
