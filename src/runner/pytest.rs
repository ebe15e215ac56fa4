//! The pytest runner: runs the pristine suite with the workspace's interpreter under a
//! configuration of lab's own, and reads its JUnit XML.

use std::collections::BTreeMap;
use std::fs;

use anyhow::{bail, Context, Result};

use super::{guard, junit, python, Early, Outcome, Run, Spec, TestResult};
use crate::process::{describe_exit, Cmd};
use crate::workspace::{RUN_DIR, SUITE_DIR};

/// lab's own pytest configuration: the learner's pytest settings and conftest files do not apply
/// to grading. xunit1 records each test's file and line.
///
/// Tracebacks are asked for in Python's native format: pytest's long format reads and lays out
/// the source of every frame, which took 11 of 16 seconds on a starter with 46 failures through
/// deep web-framework stacks. The failure message keeps pytest's assertion explanation either way.
const PYTEST_INI: &str = "[pytest]\njunit_family = xunit1\njunit_logging = all\n";

/// The start-up that owns the import path, the result channel and the tamper checks.
const GUARD: &str = include_str!("pytest_guard.py");

pub fn run(spec: &Spec) -> Result<Run> {
    let python = python::interpreter(spec.root)?;
    let run_dir = spec.root.join(RUN_DIR);
    fs::write(run_dir.join("pytest.ini"), PYTEST_INI).context("cannot write .lab/run/pytest.ini")?;
    let junit_path = run_dir.join("junit.xml");
    let channel = run_dir.join("guarded.log");
    fs::write(run_dir.join("guard.py"), GUARD).context("cannot write .lab/run/guard.py")?;
    let key = crate::keyed::new_key()?;
    let path = std::env::join_paths([spec.root.join("src").as_path(), spec.root])
        .context("workspace path is not usable as an import path")?;
    // -I: no PYTHON* variables, no user site, no script folder first; -S: no site hooks at all.
    let cmd = Cmd::new(&python)
        .args(["-I", "-S", &format!("{RUN_DIR}/guard.py"), &format!("{RUN_DIR}/grading")])
        .args(["-c", &format!("{RUN_DIR}/pytest.ini"), "--rootdir", RUN_DIR, "--confcutdir", RUN_DIR])
        .args([
            "-p",
            "no:cacheprovider",
            "-q",
            "--color=no",
            "--tb=native",
            "--junitxml",
            &format!("{RUN_DIR}/junit.xml"),
        ])
        .args(spec.only.map(|names| ["-k".to_string(), names.join(" or ")]).into_iter().flatten())
        .cwd(spec.root)
        .env("LAB_GUARD_KEY", &key)
        .env("LAB_GUARD_CHANNEL", &channel)
        .env("LAB_GUARD_SUITE", spec.root.join(SUITE_DIR))
        .env("LAB_GUARD_PATH", path)
        .env("LAB_GUARD_PLUGINS", spec.plugins.join(","))
        .env("LAB_GUARD_FIRST", spec.first.as_ref().map(|f| f.tests.join(",")).unwrap_or_default())
        // Plugins installed in the environment (and entry points a workspace declares) stay off;
        // a lab names the plugins its suite needs.
        .env("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
        .env_remove("PYTEST_ADDOPTS")
        .env_remove("PYTEST_PLUGINS")
        .timeout(spec.timeout);
    let out = cmd.run_observed(&mut watch_first(spec, &channel, &key)?)?;
    let output = out.combined();
    let mut run =
        Run { results: Vec::new(), error: None, output: output.clone(), elapsed: out.elapsed, diagrams: None };
    if out.timed_out {
        run.error = Some(format!(
            "the grading suite did not finish within {} s; the runner and everything it started were stopped (raise --timeout if it needs longer)",
            spec.timeout.as_secs()
        ));
        return Ok(run);
    }
    if output.contains("No module named 'pytest'") || output.contains("No module named pytest") {
        bail!(
            "pytest is not installed for {}: run `lab setup` to install the workspace's dependencies",
            python.display()
        );
    }
    if let Some(error) = exit_error(out.code, &output, &cmd.display()) {
        run.error = Some(error);
        return Ok(run);
    }
    let guarded = match fs::read_to_string(&channel).map_err(anyhow::Error::from).and_then(|t| guard::read(&t, &key)) {
        Ok(guarded) => guarded,
        Err(err) => {
            run.error = Some(format!("the grading run's results cannot be trusted: {err:#}"));
            return Ok(run);
        }
    };
    if let Some(error) = guard_error(&guarded, out.code) {
        run.error = Some(error);
        return Ok(run);
    }
    let xml = match fs::read_to_string(&junit_path) {
        Ok(xml) => xml,
        Err(_) => {
            run.error = Some("pytest exited without writing its results (.lab/run/junit.xml)".into());
            return Ok(run);
        }
    };
    match junit::parse(&xml) {
        Ok(cases) if cases.is_empty() => run.error = Some("pytest ran no tests from the grading suite".into()),
        Ok(cases) => {
            let results = rollup(cases, spec.root, spec.grading_dir);
            match disagreement(&results, &guarded) {
                Some(error) => run.error = Some(error),
                None => run.results = results,
            }
        }
        Err(err) => run.error = Some(format!("pytest's results could not be read: {err:#}")),
    }
    Ok(run)
}

/// An observer that reads the guarded channel as it grows and reports the first tests' results
/// the moment they are all in.
fn watch_first<'a>(
    spec: &'a Spec,
    channel: &'a std::path::Path,
    key: &str,
) -> Result<impl FnMut(&crate::process::Live) + 'a> {
    let mut early = Early::new(spec.first.as_ref());
    let mut live = guard::Live::new(key)?;
    let mut read = 0u64;
    Ok(move |_: &crate::process::Live| {
        let Some(functions) = early.waiting() else { return };
        let Some(more) = read_from(channel, &mut read) else { return };
        live.feed(&more);
        if let Some(results) = live.results_for(functions) {
            early.report(&results);
        }
    })
}

/// What was appended to a file since `offset` (complete UTF-8 only), advancing it.
fn read_from(path: &std::path::Path, offset: &mut u64) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = fs::File::open(path).ok()?;
    file.seek(SeekFrom::Start(*offset)).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    // Keep a character cut in two for the next read.
    let valid = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    };
    bytes.truncate(valid);
    *offset += valid as u64;
    String::from_utf8(bytes).ok()
}

/// What the guard's own record says is wrong with the run, if anything.
fn guard_error(guarded: &guard::Guarded, code: Option<i32>) -> Option<String> {
    let Some(status) = guarded.exit_status else {
        return Some(format!(
            "pytest ended ({}) without finishing the grading session: something in the run made it exit early",
            describe_exit(code)
        ));
    };
    if !guarded.tampered.is_empty() {
        return Some(format!("{TAMPERED}: {}", guarded.tampered.join("; ")));
    }
    if code != Some(status) {
        return Some(format!(
            "pytest finished the session with exit status {status} but the process ended with {}: something in the run changed how it exits",
            describe_exit(code)
        ));
    }
    let failed = guarded.outcomes.values().any(|o| !matches!(o, Outcome::Pass | Outcome::Skipped));
    if (status == 0 && failed) || (status == 1 && !failed && guarded.collection_errors.is_empty()) {
        return Some(format!("pytest's exit status {status} disagrees with the outcomes it reported"));
    }
    None
}

const TAMPERED: &str =
    "the code under test changed the grading run itself, so nothing it reported counts (see docs/grading-integrity.md)";

/// Whether pytest's XML tells the same story as the guarded channel, test function by test
/// function: rewriting the XML, or reports that never reached the channel, show up here.
fn disagreement(results: &[TestResult], guarded: &guard::Guarded) -> Option<String> {
    let mut by_function: BTreeMap<&str, bool> = BTreeMap::new();
    for (node, outcome) in &guarded.outcomes {
        let passed = by_function.entry(guard::function_name(node)).or_insert(true);
        *passed &= *outcome == Outcome::Pass;
    }
    for result in results {
        match by_function.remove(result.name.as_str()) {
            Some(passed) if passed == (result.outcome == Outcome::Pass) => {}
            Some(_) => {
                return Some(format!("pytest's XML report disagrees with the guarded results for {}", result.name))
            }
            None if result.outcome != Outcome::Pass => {}
            None => return Some(format!("pytest's XML report lists {}, which never ran under the guard", result.name)),
        }
    }
    by_function.keys().next().map(|name| format!("pytest's XML report leaves out {name}, which ran under the guard"))
}

/// What pytest's exit code says went wrong before any grading, if anything: 0 and 1 mean the
/// tests ran (some may have failed); 2 to 5 and signals mean they did not.
fn exit_error(code: Option<i32>, output: &str, command: &str) -> Option<String> {
    match code {
        Some(0 | 1) => None,
        Some(5) => Some("pytest collected no tests from the grading suite".into()),
        Some(2) if output.contains("during collection") => {
            Some("the grading suite could not be collected: importing it failed (see the output below)".into())
        }
        code => Some(format!("pytest stopped before grading ({}): `{command}`", describe_exit(code))),
    }
}

/// One result per test function: parametrized cases roll up into their function, which keeps
/// the worst outcome.
fn rollup(cases: Vec<junit::Case>, root: &std::path::Path, grading_dir: &str) -> Vec<TestResult> {
    let mut by_name: BTreeMap<String, TestResult> = BTreeMap::new();
    let mut order = Vec::new();
    for case in cases {
        let base = case.name.split('[').next().unwrap_or(&case.name).to_string();
        let (file, line) = match failure_location(&case.detail, root, grading_dir, &base) {
            Some((f, l)) => (Some(f), Some(l)),
            None => (case.file.as_deref().map(|f| to_workspace_path(f, grading_dir)), case.line),
        };
        let traceback = trim_traceback(&case.detail, root, grading_dir);
        let captured = clean_output(&case.output);
        let result = TestResult {
            name: base.clone(),
            outcome: case.outcome,
            message: relative_paths(&case.message, root, grading_dir),
            output: [traceback.as_str(), captured.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n"),
            file,
            line,
        };
        match by_name.get_mut(&base) {
            None => {
                order.push(base.clone());
                by_name.insert(base, result);
            }
            Some(existing) if result.outcome.rank() > existing.outcome.rank() => *existing = result,
            Some(_) => {}
        }
    }
    order.into_iter().filter_map(|n| by_name.remove(&n)).collect()
}

/// Where a failure is shown: the deepest frame of its traceback that is the learner's code or
/// the test function itself, mapped to the file the learner can open. A grading helper's frame
/// is passed over: a helper shared by many tests would point every failure at one line.
/// Reads Python's native frames (`  File "/abs/x.py", line 7, in f`) and pytest's
/// (`x.py:7: in f`).
fn failure_location(detail: &str, root: &std::path::Path, grading_dir: &str, test: &str) -> Option<(String, u32)> {
    detail.lines().rev().find_map(|line| {
        let frame = native_frame(line).or_else(|| pytest_frame(line))?;
        let rel = workspace_file(frame.path, root)?;
        let grading = rel.starts_with(&format!("{RUN_DIR}/grading/")) || rel.starts_with("grading/");
        let own = frame.function.is_none_or(|f| f == test);
        (!grading || own).then(|| (to_workspace_path(rel, grading_dir), frame.line))
    })
}

/// A path of a traceback relative to the workspace, when it is a Python file of the workspace's
/// own (not of a venv or site-packages).
fn workspace_file<'a>(path: &'a str, root: &std::path::Path) -> Option<&'a str> {
    let root = format!("{}/", root.display());
    let rel = match path.strip_prefix(&root) {
        Some(rel) => rel,
        None if path.starts_with('/') => return None,
        None => path,
    };
    let foreign = rel.starts_with(".venv/") || rel.contains("site-packages/");
    (rel.ends_with(".py") && !foreign).then_some(rel)
}

/// A native traceback with the frames outside the workspace (pytest, pluggy, libraries) left
/// out and said so, and paths made relative to the workspace; empty when the detail is not a
/// traceback (a skip's reason, say).
fn trim_traceback(detail: &str, root: &std::path::Path, grading_dir: &str) -> String {
    if !detail.contains("Traceback (most recent call last):") {
        return String::new();
    }
    let mut kept = Vec::new();
    let mut dropped = 0;
    let mut skipping = false;
    for line in detail.lines() {
        if let Some(frame) = native_frame(line) {
            skipping = workspace_file(frame.path, root).is_none();
            if skipping {
                dropped += 1;
                continue;
            }
        } else if skipping && line.starts_with("    ") {
            continue;
        } else {
            skipping = false;
        }
        if dropped > 0 {
            kept.push(format!("  ({dropped} {} of pytest and libraries left out)", frames_word(dropped)));
            dropped = 0;
        }
        kept.push(line.to_string());
    }
    relative_paths(kept.join("\n").trim_end(), root, grading_dir)
}

fn frames_word(n: usize) -> &'static str {
    if n == 1 {
        "frame"
    } else {
        "frames"
    }
}

/// Absolute workspace paths made relative, and the pristine suite's paths made the learner's
/// copy's, so a message names files the learner can open.
fn relative_paths(text: &str, root: &std::path::Path, grading_dir: &str) -> String {
    let root = format!("{}/", root.display());
    text.replace(&format!("{root}{RUN_DIR}/grading/"), &format!("{grading_dir}/")).replace(&root, "")
}

/// One frame of a traceback.
struct Frame<'a> {
    path: &'a str,
    line: u32,
    /// The function it is in; a syntax error's frame has none.
    function: Option<&'a str>,
}

fn native_frame(line: &str) -> Option<Frame<'_>> {
    let rest = line.trim_start().strip_prefix("File \"")?;
    let (path, rest) = rest.split_once("\", line ")?;
    let (number, function) = match rest.split_once(", in ") {
        Some((n, f)) => (n, Some(f.trim())),
        None => (rest, None),
    };
    Some(Frame { path, line: number.trim().parse().ok()?, function })
}

fn pytest_frame(line: &str) -> Option<Frame<'_>> {
    if line.starts_with(' ') {
        return None;
    }
    let mut parts = line.splitn(3, ':');
    let path = parts.next()?;
    let number = parts.next()?.trim().parse().ok()?;
    let rest = parts.next()?;
    let function = rest.trim().strip_prefix("in ").map(str::trim);
    (!path.contains(' ')).then_some(Frame { path, line: number, function })
}

fn to_workspace_path(path: &str, grading_dir: &str) -> String {
    let run_prefix = format!("{RUN_DIR}/grading/");
    path.strip_prefix(&run_prefix)
        .or_else(|| path.strip_prefix("grading/"))
        .map(|rest| format!("{grading_dir}/{rest}"))
        .unwrap_or_else(|| path.to_string())
}

/// pytest's junit_logging wraps each stream in a header line; only the text matters.
fn clean_output(raw: &str) -> String {
    raw.lines()
        .filter(|l| !(l.starts_with("----") && l.contains("Captured")))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parametrized_cases_roll_up_to_the_worst_outcome_with_locations() {
        let xml = include_str!("../../tests/fixtures/runner-output/pytest-mixed.xml");
        let results = rollup(junit::parse(xml).unwrap(), std::path::Path::new("/tmp/rec"), "tests/grading");
        let summary: Vec<(&str, Outcome)> = results.iter().map(|r| (r.name.as_str(), r.outcome)).collect();
        assert_eq!(
            summary,
            [
                ("test_passes", Outcome::Pass),
                ("test_fails", Outcome::Fail),
                ("test_param", Outcome::Fail),
                ("test_skipped", Outcome::Skipped),
                ("test_setup_error", Outcome::Error),
            ]
        );
        assert_eq!((results[1].file.as_deref(), results[1].line), (Some("tests/grading/test_sample.py"), Some(10)));
        assert_eq!(results[1].output, "printed by the test");
        assert_eq!(results[2].message, "assert 2 == 1");
        assert_eq!(results[4].line, Some(24));
    }

    #[test]
    fn native_tracebacks_point_at_the_test_line_in_the_learners_copy() {
        let xml = include_str!("../../tests/fixtures/runner-output/pytest-native.xml");
        let results = rollup(junit::parse(xml).unwrap(), std::path::Path::new("/tmp/smoke/hello"), "tests/grading");
        let first = &results[0];
        assert_eq!((first.name.as_str(), first.outcome), ("test_greets_by_name", Outcome::Fail));
        assert_eq!((first.file.as_deref(), first.line), (Some("tests/grading/test_greet.py"), Some(5)));
        assert!(first.message.starts_with("AssertionError: assert 'hello' == 'hello, Ada!'"), "{}", first.message);
    }

    #[test]
    fn exit_codes_other_than_0_and_1_are_runner_errors() {
        let collection = include_str!("../../tests/fixtures/runner-output/pytest-collection-error.txt");
        assert!(exit_error(Some(2), collection, "pytest").unwrap().contains("could not be collected"));
        assert!(exit_error(Some(5), "no tests ran", "pytest").unwrap().contains("collected no tests"));
        assert!(exit_error(Some(3), "INTERNALERROR", "py -m pytest").unwrap().contains("exit code 3): `py -m pytest`"));
        assert!(exit_error(None, "", "pytest").unwrap().contains("killed by a signal"));
        assert_eq!(exit_error(Some(1), "1 failed", "pytest"), None);
        assert_eq!(exit_error(Some(0), "", "pytest"), None);
    }

    #[test]
    fn a_collection_error_report_names_the_module_not_a_test() {
        let xml = include_str!("../../tests/fixtures/runner-output/pytest-collection-error.xml");
        let cases = junit::parse(xml).unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!((cases[0].name.as_str(), cases[0].outcome), ("grading.test_broken", Outcome::Error));
        assert!(cases[0].detail.contains("No module named 'no_such_module'"));
    }

    #[test]
    fn locations_prefer_the_deepest_workspace_frame() {
        let root = std::path::Path::new("/ws");
        let detail = "def test():\n>   bucket.take()\n\n.lab/run/grading/test_a.py:12: in test\n    bucket.take()\nsrc/pkg/bucket.py:7: in take\n    raise NotImplementedError\n/usr/lib/python3/x.py:1: in y\nE   NotImplementedError";
        assert_eq!(failure_location(detail, root, "tests/grading", "test"), Some(("src/pkg/bucket.py".into(), 7)));
        let native = "Traceback (most recent call last):\n  File \"/ws/.lab/run/grading/test_a.py\", line 12, in test\n    bucket.take()\n  File \"/ws/src/pkg/bucket.py\", line 7, in take\n    raise NotImplementedError\n  File \"/ws/.venv/lib/python3.11/site-packages/x.py\", line 3, in y\nNotImplementedError";
        assert_eq!(failure_location(native, root, "tests/grading", "test"), Some(("src/pkg/bucket.py".into(), 7)));
        assert_eq!(to_workspace_path(".lab/run/grading/test_a.py", "tests/grading"), "tests/grading/test_a.py");
    }

    #[test]
    fn a_syntax_error_is_located_in_the_learners_file_and_its_traceback_keeps_only_workspace_frames() {
        let xml = include_str!("../../tests/fixtures/runner-output/pytest-syntax-error.xml");
        let results = rollup(junit::parse(xml).unwrap(), std::path::Path::new("/tmp/rec/ws"), "tests/grading");
        let first = &results[0];
        assert_eq!((first.file.as_deref(), first.line), (Some("src/ws/broken.py"), Some(1)));
        assert_eq!(
            first.message,
            "  File \"src/ws/broken.py\", line 1\n    x = (\n        ^\nSyntaxError: '(' was never closed"
        );
        assert!(!first.output.contains("site-packages") && !first.output.contains("pluggy"), "{}", first.output);
        assert!(first.output.contains("(19 frames of pytest and libraries left out)"), "{}", first.output);
        assert!(first.output.contains("File \"tests/grading/test_greet.py\", line 5, in test_greets_by_name"));
        assert!(first.output.contains("File \"src/ws/greet.py\", line 5, in greet"));
        assert!(first.output.ends_with("SyntaxError: '(' was never closed"), "{}", first.output);
    }

    #[test]
    fn a_failure_in_a_shared_grading_helper_is_located_at_the_tests_own_line() {
        let xml = include_str!("../../tests/fixtures/runner-output/pytest-helper.xml");
        let results = rollup(junit::parse(xml).unwrap(), std::path::Path::new("/tmp/rec2/ws"), "tests/grading");
        let at = |name: &str| {
            let r = results.iter().find(|r| r.name == name).unwrap();
            (r.file.clone().unwrap(), r.line.unwrap())
        };
        // Three tests fail inside `expect_status`: each is shown at its own call, not the helper's.
        assert_eq!(at("test_reads_an_order"), ("tests/grading/test_orders.py".into(), 17));
        assert_eq!(at("test_reads_an_unknown_order"), ("tests/grading/test_orders.py".into(), 21));
        // A crash in the learner's code is shown there.
        assert_eq!(at("test_creates_an_order"), ("src/shop/orders.py".into(), 3));
        assert_eq!(at("test_retry_after_is_whole_seconds"), ("tests/grading/test_orders.py".into(), 34));
    }
}
