//! `lab check`: grading with the pristine suite, honest failures, history, JSON.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use common::{lab, lab_fixture, new_fixture, snapshot, solve};
use predicates::prelude::*;
use predicates::str::contains;

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).expect("lab check --json prints one JSON document")
}

#[test]
fn the_starter_fails_every_stage_and_points_at_the_first_todo() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    lab_fixture(&root).arg("check").assert().code(1).stdout(
        contains("0/2    ← you are here")
            .and(contains("Stage 1 Greet: 2 to go"))
            .and(contains("✗ test_greets_by_name tests/grading/test_greet.py:5"))
            .and(contains("0/4 tests (0%)"))
            .and(contains("Next: src/ws/greet.py:5  TODO(lab:greet)")),
    );
}

#[test]
fn it_works_from_a_subfolder_and_the_solution_passes_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    solve(&root, "ws");
    lab_fixture(&root.join("src/ws"))
        .arg("check")
        .assert()
        .success()
        .stdout(contains("4/4 tests (100%)").and(contains("All green")));
}

#[test]
fn json_is_a_superset_of_exercism_results_v3() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let out = lab_fixture(&root).args(["check", "--json"]).assert().code(1).get_output().stdout.clone();
    let doc = json(&out);
    assert_eq!(doc["version"], 3);
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["lab"], "hello");
    assert_eq!(doc["track"], "python");
    assert_eq!(doc["lab_version"], "1.2.0");
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 4);
    assert_eq!(tests[0]["name"], "test_greets_by_name");
    assert_eq!(tests[0]["status"], "fail");
    assert_eq!(tests[0]["task_id"], 1);
    assert_eq!(tests[2]["task_id"], 2);
    assert!(tests[0]["message"].as_str().unwrap().contains("assert 'hello' == 'hello, Ada!'"));
    assert_eq!(doc["stages"][0]["id"], "greet");
    assert_eq!(doc["stages"][0]["passed"], 0);
    assert_eq!(doc["counts"]["total"], 4);
    assert_eq!(doc["next_todo"]["stage"], "greet");
}

#[test]
fn history_records_each_run_and_the_report_shows_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    lab_fixture(&root).arg("check").assert().code(1);
    // Fix the greeting only: stage 1 passes now.
    let path = root.join("src/ws/greet.py");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("    return GREETING\n", "    return f\"{GREETING}, {name.strip()}!\"\n");
    fs::write(&path, text).unwrap();
    let out = lab_fixture(&root).args(["check", "--json"]).assert().code(1).get_output().stdout.clone();
    let doc = json(&out);
    assert_eq!(doc["newly_passing"], serde_json::json!(["test_greets_by_name", "test_greeting_is_stripped"]));
    assert_eq!(doc["stages"][0]["done"], true);
    assert_eq!(doc["next_todo"]["stage"], "count");
    // Break it again: a regression.
    fs::write(&path, fs::read_to_string(&path).unwrap().replace("name.strip()", "name")).unwrap();
    lab_fixture(&root).arg("check").assert().code(1).stdout(contains("regressed: test_greeting_is_stripped"));
    let history = fs::read_to_string(root.join(".lab/history.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = history.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines.iter().map(|l| l["passed"].as_u64().unwrap()).collect::<Vec<_>>(), [0, 2, 1]);
    assert_eq!(lines[0]["format_version"], 1);
}

#[test]
fn check_writes_nothing_outside_dot_lab() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let before = snapshot(&root);
    lab_fixture(&root).arg("check").assert().code(1);
    assert_eq!(snapshot(&root), before);
    assert!(!root.join("src/ws/__pycache__").exists());
}

#[test]
fn an_edited_grading_suite_is_reported_and_the_pristine_one_is_graded() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let suite = root.join("tests/grading/test_greet.py");
    // "Fix" the tests instead of the code: every assertion made vacuous.
    fs::write(&suite, fs::read_to_string(&suite).unwrap().replace("assert ", "assert True or ")).unwrap();
    fs::write(root.join("tests/grading/conftest.py"), "").unwrap();
    lab_fixture(&root).arg("check").assert().code(1).stdout(
        contains("tests/grading/test_greet.py: modified; the pristine suite was graded")
            .and(contains("tests/grading/conftest.py: added"))
            .and(contains("0/4 tests")),
    );
    fs::remove_file(&suite).unwrap();
    let out = lab_fixture(&root).args(["check", "--json"]).assert().code(1).get_output().stdout.clone();
    let doc = json(&out);
    assert!(doc["modified"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["path"] == "tests/grading/test_greet.py" && m["change"] == "deleted"));
    assert_eq!(doc["counts"]["total"], 4, "a deleted suite file is still graded");
}

#[test]
fn a_learners_conftest_cannot_change_the_grading() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    // A root conftest that turns every failure into a pass if it were loaded.
    fs::write(
        root.join("conftest.py"),
        "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    out = yield\n    out.get_result().outcome = 'passed'\n",
    )
    .unwrap();
    lab_fixture(&root).arg("check").assert().code(1).stdout(contains("0/4 tests"));
}

#[test]
fn a_crashing_runner_is_an_error_and_nothing_passes() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    solve(&root, "ws");
    let path = root.join("src/ws/greet.py");
    fs::write(&path, format!("import os\nos._exit(7)\n{}", fs::read_to_string(&path).unwrap())).unwrap();
    let out = lab_fixture(&root).args(["check", "--json"]).assert().code(2).get_output().stdout.clone();
    let doc = json(&out);
    assert_eq!(doc["status"], "error");
    assert_eq!(doc["counts"]["passed"], 0);
    assert!(doc["tests"].as_array().unwrap().iter().all(|t| t["status"] == "error"));
    assert!(doc["message"].as_str().unwrap().contains("pytest"), "{}", doc["message"]);
}

#[test]
fn a_syntax_error_in_the_learners_code_is_an_error_with_the_output_shown() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    fs::write(root.join("src/ws/greet.py"), "def greet(:\n").unwrap();
    lab_fixture(&root).arg("check").assert().code(2).stdout(
        contains("error: the grading suite could not be collected")
            .and(contains("SyntaxError"))
            .and(contains("Nothing was graded")),
    );
}

#[test]
fn a_hanging_suite_is_stopped_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let path = root.join("src/ws/greet.py");
    fs::write(
        &path,
        fs::read_to_string(&path).unwrap().replace("    return GREETING\n", "    import time\n    time.sleep(120)\n"),
    )
    .unwrap();
    let started = Instant::now();
    lab_fixture(&root).args(["check", "--timeout", "2"]).assert().code(2).stdout(contains("did not finish within 2 s"));
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn a_workspace_without_a_venv_says_to_run_lab_setup() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    lab(&root)
        .args(["check", "--labs-dir"])
        .arg(common::fixtures())
        .assert()
        .code(2)
        .stderr(contains("this workspace is not set up").and(contains("Run `lab setup`")));
}

#[test]
fn a_missing_interpreter_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    lab_fixture(&root)
        .arg("check")
        .env("LAB_PYTHON", "/nonexistent/python3")
        .assert()
        .code(2)
        .stderr(contains("cannot run `/nonexistent/python3 -m pytest"));
}

#[test]
fn outside_a_workspace_check_says_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path())
        .arg("check")
        .assert()
        .code(2)
        .stderr(contains("not inside a lab workspace").and(contains("lab new <lab>")));
}

#[test]
fn a_corrupt_manifest_says_how_to_restore_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    fs::write(root.join(".lab/workspace.toml"), "format_version = \"one\"\n").unwrap();
    lab_fixture(&root)
        .arg("check")
        .assert()
        .code(2)
        .stderr(contains("is corrupt").and(contains("git checkout -- .lab/workspace.toml")));
}

#[test]
fn stage_limits_the_grading_and_unknown_stages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let out =
        lab_fixture(&root).args(["check", "--json", "--stage", "count"]).assert().code(1).get_output().stdout.clone();
    let doc = json(&out);
    assert_eq!(doc["counts"]["total"], 2);
    assert_eq!(doc["stages"].as_array().unwrap().len(), 1);
    assert_eq!(doc["undeclared"], serde_json::json!([]));
    lab_fixture(&root)
        .args(["check", "--stage", "nope"])
        .assert()
        .code(2)
        .stderr(contains("has no stage `nope`; its stages: greet, count"));
}

#[test]
fn the_rust_track_is_graded_with_cargo() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &["--track", "rust"]);
    let out = lab_fixture(&root).args(["check", "--json"]).assert().code(1).get_output().stdout.clone();
    let doc = json(&out);
    assert_eq!(doc["counts"]["total"], 4);
    assert_eq!(doc["counts"]["passed"], 0);
    assert_eq!(doc["tests"][0]["file"], "grading/tests/grading.rs");
    assert!(!root.join("target").exists(), "grading builds under .lab/ only");
}

#[test]
fn ctrl_c_kills_the_runner_and_everything_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let marker = dir.path().join("survived");
    // The learner's code starts a grandchild that would leave a marker if it outlived lab.
    let path = root.join("src/ws/greet.py");
    let hang = format!(
        "    import subprocess, time\n    subprocess.Popen(['sh', '-c', 'sleep 3; touch {}'])\n    time.sleep(120)\n",
        marker.display()
    );
    fs::write(&path, fs::read_to_string(&path).unwrap().replace("    return GREETING\n", &hang)).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lab"))
        .args(["check", "--labs-dir"])
        .arg(common::fixtures())
        .current_dir(&root)
        .env("LAB_PYTHON", common::python())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: sends SIGINT to the child we spawned, as Ctrl-C in a terminal would.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(started.elapsed() < Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(3500));
    assert!(!marker.exists(), "a process the runner started outlived Ctrl-C");
}

#[test]
fn watch_rechecks_on_change_says_what_changed_and_stops_on_ctrl_c() {
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lab"))
        .args(["check", "--watch", "--labs-dir"])
        .arg(common::fixtures())
        .current_dir(&root)
        .env("LAB_PYTHON", common::python())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let seen = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let wait_for = |needle: &str, count: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.lock().unwrap().matches(needle).count() < count {
            assert!(Instant::now() < deadline, "never saw {needle:?} x{count} in:\n{}", seen.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("Watching for changes", 1);
    solve(&root, "ws");
    wait_for("Watching for changes", 2);
    let text = seen.lock().unwrap().clone();
    assert!(text.contains("0/4 tests") && text.contains("4/4 tests"), "{text}");
    assert!(
        text.contains(
            "newly passing: test_greets_by_name, test_greeting_is_stripped, test_counts_words, test_counts_nothing"
        ),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no escape codes in a pipe");
    // SAFETY: SIGINT to our own child, as Ctrl-C would send.
    #[allow(unsafe_code)]
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("Stopped watching."), "{err}");
    let history = fs::read_to_string(root.join(".lab/history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2, "one check per change, not one per poll");
}
