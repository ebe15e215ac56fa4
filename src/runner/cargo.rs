//! The cargo runner: builds and runs the pristine suite, a small package in `.lab/run/grading/`
//! that depends on the learner's crate by path, and reads libtest's output.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{libtest, Early, Outcome, Run, Spec, TestResult};
use crate::catalog::RunnerKind;
use crate::process::{describe_exit, on_path, Cmd};
use crate::scaffold::Rendered;
use crate::workspace::SUITE_DIR;

/// Build output for grading stays under `.lab/`, apart from the learner's own `target/`.
const TARGET_DIR: &str = ".lab/target";
/// A target folder shared by many workspaces (validation, CI), so dependencies build once.
pub const ENV_TARGET_DIR: &str = "LAB_CARGO_TARGET_DIR";

pub fn run(spec: &Spec) -> Result<Run> {
    anyhow::ensure!(on_path("cargo"), "cargo is not on PATH: install Rust (https://rustup.rs) to grade this workspace");
    let outside = outside()?;
    let cmd = cargo_test(spec.root, outside.path())
        .args(
            spec.only.map(|names| std::iter::once("--".to_string()).chain(names.iter().cloned())).into_iter().flatten(),
        )
        .timeout(BUILD_TIMEOUT + spec.timeout);
    let mut early = Early::new(spec.first.as_ref());
    let mut seen = 0;
    // The grading timeout counts from the first test binary's start: compiling does not use it.
    let mut tests_started: Option<std::time::Duration> = None;
    let out = cmd.run_observed(&mut |live| {
        if tests_started.is_none() && live.stderr_so_far().is_some_and(|e| e.contains("     Running ")) {
            tests_started = Some(live.elapsed);
        }
        if tests_started.is_some_and(|t| live.elapsed - t >= spec.timeout) {
            live.time_up();
        }
        let Some(functions) = early.waiting() else { return };
        if live.stdout_len() == seen {
            return;
        }
        seen = live.stdout_len();
        if let Some(results) = live.stdout_so_far().and_then(|text| finished_tests(&text, functions)) {
            early.report(&results);
        }
    })?;
    let output = out.combined();
    let mut run =
        Run { results: Vec::new(), error: None, output: output.clone(), elapsed: out.elapsed, diagrams: None };
    if out.timed_out {
        run.error = Some(match tests_started {
            Some(_) => format!(
                "the grading suite did not finish within {} s of its first test; cargo and everything it started were stopped (raise --timeout if it needs longer)",
                spec.timeout.as_secs()
            ),
            None => format!(
                "the grading suite did not build within {} s; cargo was stopped (`lab setup` builds it ahead of a check)",
                BUILD_TIMEOUT.as_secs()
            ),
        });
    } else if !libtest::finished(&out.stdout) {
        run.error =
            Some(format!("the grading suite did not build or run ({}): see the output below", describe_exit(out.code)));
    } else {
        run.results = libtest::parse(&out.stdout);
        let suite = spec.root.join(SUITE_DIR);
        for result in &mut run.results {
            if let Some(file) = result.file.as_mut() {
                *file = workspace_path(file, spec.root, |rel| suite.join(rel).is_file(), spec.grading_dir);
            }
        }
        let failed = run.results.iter().any(|r| !matches!(r.outcome, Outcome::Pass | Outcome::Skipped));
        if run.results.is_empty() {
            run.error = Some("cargo ran no tests from the grading suite".into());
        } else if failed == (out.code == Some(0)) {
            run.error = Some(format!(
                "cargo test ended with {} but its test results say {}: something in the run changed what it reports",
                describe_exit(out.code),
                if failed { "some failed" } else { "none failed" }
            ));
        }
    }
    Ok(run)
}

/// A folder outside the workspace to start cargo in. Cargo reads `.cargo/config.toml` and rustup
/// reads `rust-toolchain.toml` from the folder it starts in and its parents, so a runner,
/// rustflags or a toolchain the repository names cannot change how the suite builds and runs.
fn outside() -> Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix("lab-cargo-").tempdir().context("cannot make a temporary folder to run cargo from")
}

/// `cargo test` of the pristine suite, building into lab's own target folder.
fn cargo_test(root: &Path, outside: &Path) -> Cmd {
    Cmd::new("cargo")
        .args(["test", "--no-fail-fast", "--color", "never", "--manifest-path"])
        .arg(root.join(SUITE_DIR).join("Cargo.toml"))
        .cwd(outside)
        .env("CARGO_TARGET_DIR", target_dir(root))
        .env("RUST_BACKTRACE", "0")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os(ENV_TARGET_DIR).map(PathBuf::from).unwrap_or_else(|| root.join(TARGET_DIR))
}

/// `lab setup` for cargo tracks: builds the grading suite and everything it depends on, so the
/// first check compiles only what the learner changed. Says how far it has got on a terminal.
pub fn setup(root: &Path, suite: &[Rendered], quiet: bool) -> Result<()> {
    anyhow::ensure!(
        on_path("cargo"),
        "cargo is not on PATH: install Rust (https://rustup.rs) to set up this workspace"
    );
    super::place_suite(root, suite, RunnerKind::Cargo)?;
    let outside = outside()?;
    let cmd = cargo_test(root, outside.path()).arg("--no-run").timeout(BUILD_TIMEOUT);
    let terminal = !quiet && std::io::stderr().is_terminal();
    if !quiet {
        crate::say!("Building the grading suite and its dependencies (once; later checks reuse them)");
    }
    let lock = root.join(SUITE_DIR).join("Cargo.lock");
    let mut shown = String::new();
    // Read until cargo has written the lock file; it does not change during the build.
    let mut total = None;
    let out = cmd.run_observed(&mut |live| {
        if !terminal {
            return;
        }
        let compiled = live.stderr_so_far().map(|e| compiled_crates(&e)).unwrap_or(0);
        total = total.or_else(|| locked_packages(&lock));
        let line = match total {
            Some(total) => format!("  {compiled} of about {total} crates compiled · {} s", live.elapsed.as_secs()),
            None => format!("  {compiled} crates compiled · {} s", live.elapsed.as_secs()),
        };
        if line != shown {
            crate::say_inline!("\r{line} ");
            shown = line;
        }
    })?;
    if terminal {
        crate::say_inline!("\r{}\r", " ".repeat(shown.chars().count() + 1));
    }
    if out.timed_out {
        anyhow::bail!("`{}` did not finish within {} s", cmd.display(), BUILD_TIMEOUT.as_secs());
    }
    if !out.success() {
        // Most often the learner's crate does not compile yet: that is for `lab check` to show,
        // and what did build (the dependencies) stays built.
        crate::say!("{DOES_NOT_BUILD} ({})", describe_exit(out.code));
        return Ok(());
    }
    if !quiet {
        crate::say!("Built {} crates in {:.0} s", compiled_crates(&out.stderr), out.elapsed.as_secs_f64());
    }
    Ok(())
}

const DOES_NOT_BUILD: &str = "note: the grading suite does not build yet; what could be built is kept, and `lab check` shows why the rest does not";
const BUILD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// How many crates cargo has said it is compiling.
fn compiled_crates(stderr: &str) -> usize {
    stderr.lines().filter(|l| l.trim_start().starts_with("Compiling ")).count()
}

/// The packages in the suite's lock file, once cargo has written it.
fn locked_packages(lock: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(lock).ok()?;
    Some(text.lines().filter(|l| *l == "[[package]]").count()).filter(|n| *n > 0)
}

/// The results of `names` once libtest has finished every test binary that reported one of them
/// (its failures are listed at the binary's end); None while one is still to come. Test
/// binaries run one after another in name order, so a lab names its test files in stage order.
fn finished_tests(stdout: &str, names: &[String]) -> Option<Vec<TestResult>> {
    let end = stdout.rfind("\ntest result: ")?;
    let results = libtest::parse(&stdout[..end]);
    let wanted: Vec<TestResult> = results.into_iter().filter(|r| names.contains(&r.name)).collect();
    (wanted.len() == names.len()).then_some(wanted)
}

/// Where a panic happened, as a path the learner can open: panics in the suite name files
/// relative to its package (shown in the learner's copy of the suite); panics in the learner's
/// crate, a path dependency, name absolute paths (shown relative to the workspace).
fn workspace_path(file: &str, root: &Path, in_suite: impl Fn(&str) -> bool, grading_dir: &str) -> String {
    let root = format!("{}/", root.display());
    if let Some(rel) = file.strip_prefix(&root) {
        rel.to_string()
    } else if !file.starts_with('/') && in_suite(file) {
        format!("{grading_dir}/{file}")
    } else {
        file.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_is_known_once_the_binaries_holding_its_tests_have_ended() {
        let names = ["b_one".to_string(), "b_two".to_string()];
        let first_binary = "running 1 test\ntest a_one ... ok\n\ntest result: ok. 1 passed\n";
        assert_eq!(finished_tests(first_binary, &names), None);
        let running = format!("{first_binary}\nrunning 2 tests\ntest b_one ... ok\ntest b_two ... FAILED\n");
        assert_eq!(finished_tests(&running, &names), None, "b's failures are not listed yet");
        let ended = format!(
            "{running}\nfailures:\n\n---- b_two stdout ----\n\nthread 'b_two' panicked at tests/b.rs:3:5:\nexpected 2\n\nfailures:\n    b_two\n\ntest result: FAILED. 1 passed; 1 failed\n"
        );
        let results = finished_tests(&ended, &names).unwrap();
        let summary: Vec<(&str, Outcome)> = results.iter().map(|r| (r.name.as_str(), r.outcome)).collect();
        assert_eq!(summary, [("b_one", Outcome::Pass), ("b_two", Outcome::Fail)]);
        assert!(results[1].message.contains("expected 2"), "{}", results[1].message);
    }

    #[test]
    fn panic_locations_become_paths_in_the_workspace() {
        let root = Path::new("/ws");
        let suite = |f: &str| f == "tests/stage1.rs";
        assert_eq!(workspace_path("/ws/src/ratelimit.rs", root, suite, "grading"), "src/ratelimit.rs");
        assert_eq!(workspace_path("tests/stage1.rs", root, suite, "grading"), "grading/tests/stage1.rs");
        assert_eq!(
            workspace_path("/rustc/abc/library/core/src/x.rs", root, suite, "grading"),
            "/rustc/abc/library/core/src/x.rs"
        );
    }
}
