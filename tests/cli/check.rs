//! `lab check`: grading with the pristine suite, honest failures, history, JSON, the timeout,
//! Ctrl-C and --watch.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::{running_in_group, snapshot, wait_for, Workspace, PATIENCE};

#[test]
fn the_starter_fails_every_stage_and_points_at_the_first_todo() {
    Workspace::hello()
        .with_pytest()
        .lab(["check"])
        .fails_with(1)
        .stdout_has("0/2    ← you are here")
        .stdout_has("Stage 1 Greet: 2 to go")
        .stdout_has("✗ test_greets_by_name tests/grading/test_greet.py:5")
        .stdout_has("0/4 tests (0%)")
        .stdout_has("Next: src/ws/greet.py:5  TODO(lab:greet)");
}

#[test]
fn it_works_from_a_subfolder_and_the_solution_passes_with_exit_0() {
    let ws = Workspace::hello().with_pytest();
    ws.solve();
    ws.lab(["check"]).in_dir("src/ws").succeeds().stdout_has("4/4 tests (100%)").stdout_has("All green");
}

#[test]
fn json_is_a_superset_of_exercism_results_v3() {
    let doc = Workspace::hello().with_pytest().lab(["check", "--json"]).fails_with(1).json();
    assert_eq!(doc["version"], 3);
    assert_eq!(doc["status"], "fail");
    assert_eq!(doc["lab"], "hello");
    assert_eq!(doc["track"], "python");
    assert_eq!(doc["lab_version"], "1.2.0");
    let tests = doc["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 4);
    assert_eq!(tests[0]["name"], "test_greets_by_name");
    assert_eq!(tests[0]["status"], "fail");
    assert_eq!(tests[0]["reason"], "failed");
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
    let ws = Workspace::hello().with_pytest();
    ws.lab(["check"]).fails_with(1);
    // Fix the greeting only: stage 1 passes now.
    ws.replace("src/ws/greet.py", "    return GREETING\n", "    return f\"{GREETING}, {name.strip()}!\"\n");
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    assert_eq!(doc["newly_passing"], serde_json::json!(["test_greets_by_name", "test_greeting_is_stripped"]));
    assert_eq!(doc["stages"][0]["done"], true);
    assert_eq!(doc["next_todo"]["stage"], "count");
    // Break it again: a regression.
    ws.replace("src/ws/greet.py", "name.strip()", "name");
    ws.lab(["check"]).fails_with(1).stdout_has("regressed: test_greeting_is_stripped");
    let lines: Vec<serde_json::Value> =
        ws.read(".lab/history.jsonl").lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines.iter().map(|l| l["passed"].as_u64().unwrap()).collect::<Vec<_>>(), [0, 2, 1]);
    assert_eq!(lines[0]["format_version"], 1);
}

#[test]
fn check_writes_nothing_outside_dot_lab() {
    let ws = Workspace::hello().with_pytest();
    let before = snapshot(ws.path());
    ws.lab(["check"]).fails_with(1);
    assert_eq!(snapshot(ws.path()), before);
    assert!(!ws.exists("src/ws/__pycache__"));
}

#[test]
fn an_edited_grading_suite_is_reported_and_the_pristine_one_is_graded() {
    let ws = Workspace::hello().with_pytest();
    // "Fix" the tests instead of the code: every assertion made vacuous.
    ws.replace("tests/grading/test_greet.py", "assert ", "assert True or ");
    ws.write("tests/grading/conftest.py", "");
    ws.lab(["check"])
        .fails_with(1)
        .stdout_has("tests/grading/test_greet.py: modified; the pristine suite was graded")
        .stdout_has("tests/grading/conftest.py: added")
        .stdout_has("0/4 tests");
    fs::remove_file(ws.join("tests/grading/test_greet.py")).unwrap();
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    assert!(doc["modified"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["path"] == "tests/grading/test_greet.py" && m["change"] == "deleted"));
    assert_eq!(doc["counts"]["total"], 4, "a deleted suite file is still graded");
}

#[test]
fn a_learners_conftest_cannot_change_the_grading() {
    let ws = Workspace::hello().with_pytest();
    // A root conftest that turns every failure into a pass if it were loaded.
    ws.write(
        "conftest.py",
        "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    out = yield\n    out.get_result().outcome = 'passed'\n",
    );
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn a_crashing_runner_is_an_error_and_nothing_passes() {
    let ws = Workspace::hello().with_pytest();
    ws.solve();
    ws.write("src/ws/greet.py", format!("import os\nos._exit(7)\n{}", ws.read("src/ws/greet.py")));
    let doc = ws.lab(["check", "--json"]).fails_with(2).json();
    assert_eq!(doc["status"], "error");
    assert_eq!(doc["counts"]["passed"], 0);
    assert!(doc["tests"].as_array().unwrap().iter().all(|t| t["status"] == "error"));
    assert!(doc["tests"].as_array().unwrap().iter().all(|t| t["reason"] == "runner_error"));
    assert!(doc["message"].as_str().unwrap().contains("pytest"), "{}", doc["message"]);
}

#[test]
fn a_syntax_error_in_the_learners_code_is_an_error_with_the_output_shown() {
    let ws = Workspace::hello().with_pytest();
    ws.write("src/ws/greet.py", "def greet(:\n");
    ws.lab(["check"])
        .fails_with(2)
        .stdout_has("error: the grading suite could not be collected")
        .stdout_has("SyntaxError")
        .stdout_has("Nothing was graded");
}

/// Replaces the body of `greet` with `body`, indented by the caller: learner's code that the
/// first grading test runs.
fn greet_does(ws: &Workspace, body: &str) {
    ws.replace("src/ws/greet.py", "    return GREETING\n", body);
}

/// Python that writes `pid pgid` of the runner (plus `extra`) to `path` in one step, so a test
/// polling for the file never reads half of it.
fn announce(path: &Path, extra: &str) -> String {
    let tmp = format!("{}.tmp", path.display());
    format!(
        "    import os\n    with open({tmp:?}, 'w') as f:\n        f.write(f'{{os.getpid()}} {{os.getpgid(0)}}{extra}')\n    os.rename({tmp:?}, {:?})\n",
        path.display().to_string()
    )
}

/// The numbers a fixture wrote with [`announce`], once the file exists.
fn announced(path: &Path) -> Vec<i32> {
    wait_for(&format!("{} to appear", path.display()), PATIENCE, || path.exists());
    fs::read_to_string(path).unwrap().split_whitespace().map(|n| n.parse().unwrap()).collect()
}

#[test]
fn a_hanging_suite_is_stopped_at_the_timeout() {
    let ws = Workspace::hello().with_pytest();
    greet_does(&ws, "    import time\n    time.sleep(120)\n");
    let started = Instant::now();
    ws.lab(["check", "--timeout", "2"]).fails_with(2).stdout_has("did not finish within 2 s");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn a_workspace_without_a_venv_says_to_run_lab_setup() {
    Workspace::hello()
        .lab(["check"])
        .fails_with(2)
        .stderr_has("this workspace is not set up")
        .stderr_has("Run `lab setup`");
}

#[test]
fn a_missing_interpreter_is_named() {
    Workspace::hello()
        .lab(["check"])
        .env("LAB_PYTHON", "/nonexistent/python3")
        .fails_with(2)
        .stderr_has("cannot run `/nonexistent/python3 -I -S .lab/run/guard.py .lab/run/grading");
}

#[test]
fn outside_a_workspace_check_says_how_to_start_one() {
    Workspace::new().lab(["check"]).fails_with(2).stderr_has("not inside a lab workspace").stderr_has("lab new <lab>");
}

#[test]
fn a_corrupt_manifest_says_how_to_restore_it() {
    let ws = Workspace::hello();
    ws.write(".lab/workspace.toml", "format_version = \"one\"\n");
    ws.lab(["check"]).fails_with(2).stderr_has("is corrupt").stderr_has("git checkout -- .lab/workspace.toml");
}

#[test]
fn stage_limits_the_grading_and_unknown_stages_are_refused() {
    let ws = Workspace::hello().with_pytest();
    let doc = ws.lab(["check", "--json", "--stage", "count"]).fails_with(1).json();
    assert_eq!(doc["counts"]["total"], 2);
    assert_eq!(doc["stages"].as_array().unwrap().len(), 1);
    assert_eq!(doc["undeclared"], serde_json::json!([]));
    // Only the stage's tests ran: the runner's output names no test of the other stage.
    let junit = ws.read(".lab/run/junit.xml");
    assert!(junit.contains("test_counts_words") && !junit.contains("test_greets_by_name"), "{junit}");
    ws.lab(["check", "--stage", "nope"]).fails_with(2).stderr_has("has no stage `nope`: its stages: greet, count");
    ws.lab(["check", "--stage", "gret"])
        .fails_with(2)
        .stderr_has("has no stage `gret`: did you mean `greet`? its stages");
}

#[test]
fn the_rust_track_is_graded_with_cargo() {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    assert_eq!(doc["counts"]["total"], 4);
    assert_eq!(doc["counts"]["passed"], 0);
    assert_eq!(doc["tests"][0]["file"], "grading/tests/grading.rs");
    assert!(!ws.exists("target"), "grading builds under .lab/ only");
}

#[test]
fn ctrl_c_sigterm_and_sighup_kill_the_runner_and_everything_it_started() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let ws = Workspace::hello().with_pytest();
        let ready = ws.scratch("ready");
        let survived = ws.scratch("survived");
        // The learner's code starts a grandchild that would leave a marker if it outlived lab,
        // says that it is running, and hangs.
        greet_does(
            &ws,
            &format!(
                "    import subprocess, time\n    child = subprocess.Popen(['sh', '-c', 'sleep 5; touch {}'])\n{}    time.sleep(120)\n",
                survived.display(),
                announce(&ready, " {child.pid}")
            ),
        );
        let lab = ws.lab(["check"]).spawn();
        let [runner, pgid, grandchild] = announced(&ready)[..] else { panic!("expected `pid pgid child`") };
        // The signal arrives while the runner and the grandchild are running, in one process group.
        let group = running_in_group(pgid);
        assert!(group.contains(&runner) && group.contains(&grandchild), "{group:?} lacks {runner} or {grandchild}");
        if sig == libc::SIGINT {
            // A second check meanwhile is refused rather than clearing the running one's folder.
            ws.lab(["check"]).fails_with(2).stderr_has("another `lab check` is running in this workspace");
        }
        lab.signal(sig);
        let (status, _, stderr) = lab.finish(Duration::from_secs(5));
        assert_eq!(status.code(), Some(130), "signal {sig}: {stderr}");
        // Nothing of the group runs on, so the grandchild can never leave its marker.
        wait_for("the runner's process group to be gone", Duration::from_secs(5), || running_in_group(pgid).is_empty());
        assert!(!survived.exists(), "a process the runner started outlived signal {sig}");
    }
}

#[test]
fn a_torn_history_line_does_not_spoil_the_next_entry() {
    let ws = Workspace::hello().with_pytest();
    ws.lab(["check"]).fails_with(1);
    let whole = ws.read(".lab/history.jsonl");
    // A crash mid-write leaves half a line without its newline.
    ws.write(".lab/history.jsonl", format!("{whole}{}", &whole[..whole.len() / 2]));
    ws.lab(["check"]).fails_with(1);
    let lines: Vec<serde_json::Value> =
        ws.read(".lab/history.jsonl").lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(lines.len(), 2, "the entry after the torn line is whole and readable");
}

#[test]
fn watch_rechecks_on_change_says_what_changed_and_stops_on_ctrl_c() {
    let ws = Workspace::hello().with_pytest();
    let lab = ws.lab(["check", "--watch"]).spawn();
    lab.wait_for_stdout("Watching for changes", 1);
    ws.solve();
    // The save grades the stage the learner is on; it went green, so every stage is graded.
    lab.wait_for_stdout("Watching for changes", 2);
    let text = lab.stdout();
    assert!(text.contains("Grading every stage (first check)"), "{text}");
    assert!(text.contains("Grading stage 1 (Greet) only, after a change to src/ws/greet.py"), "{text}");
    assert!(text.contains("Grading every stage (Greet went green)"), "{text}");
    assert!(text.contains("Stage 1 (Greet) is done, and with it every stage."), "{text}");
    assert!(text.contains("0/4 tests") && text.contains("4/4 tests"), "{text}");
    assert!(text.contains("newly passing: test_counts_words, test_counts_nothing"), "{text}");
    assert!(!text.contains('\u{1b}'), "no escape codes in a pipe");
    lab.interrupt();
    let (status, _, stderr) = lab.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "Ctrl-C is an interruption: {stderr}");
    assert!(stderr.contains("Stopped watching."), "{stderr}");
    assert_eq!(ws.read(".lab/history.jsonl").lines().count(), 3, "one run per plan, not one per poll");
}

#[test]
fn enter_in_watch_grades_every_stage() {
    let ws = Workspace::hello().with_pytest();
    let mut lab = ws.lab(["check", "--watch", "--stage", "count"]).spawn_typing();
    lab.wait_for_stdout("Watching for changes", 1);
    assert!(lab.stdout().contains("Grading stage 2 (Count) only"), "{}", lab.stdout());
    lab.type_line("");
    lab.wait_for_stdout("Watching for changes", 2);
    assert!(lab.stdout().contains("Grading every stage (asked for)"), "{}", lab.stdout());
    assert!(lab.stdout().contains("0/4 tests"), "{}", lab.stdout());
    // A line starting with q ends the watch as a normal stop.
    lab.type_line("q");
    let (status, _, stderr) = lab.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn on_a_terminal_single_keys_show_a_hint_move_to_the_next_stage_and_quit() {
    let ws = Workspace::hello().with_pytest();
    let mut lab = ws.lab(["check", "--watch"]).in_terminal().spawn_typing();
    lab.wait_for_stdout("Watching for changes", 1);
    // No Enter: the terminal hands each key over as it is pressed.
    lab.type_keys("h");
    lab.wait_for_stdout("Hint 1/2:", 1);
    lab.type_keys("n");
    lab.wait_for_stdout("Watching for changes", 2);
    assert!(lab.stdout().contains("Grading stage 2 (Count) only"), "{}", lab.stdout());
    lab.type_keys("q");
    let (status, stdout, _) = lab.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("\u{1b}[2J"), "the screen is redrawn on a terminal");
}

#[test]
fn watch_grades_every_stage_when_a_test_of_the_stage_regresses() {
    let ws = Workspace::hello().with_pytest();
    ws.replace("src/ws/greet.py", "return -1", "return 0");
    let lab = ws.lab(["check", "--watch", "--stage", "count"]).spawn();
    lab.wait_for_stdout("Watching for changes", 1);
    ws.replace("src/ws/greet.py", "return 0", "return -1");
    lab.wait_for_stdout("Watching for changes", 2);
    let text = lab.stdout();
    assert!(text.contains("Grading stage 2 (Count) only, after a change to src/ws/greet.py"), "{text}");
    assert!(text.contains("Grading every stage (test_counts_nothing passed before and fails now)"), "{text}");
    lab.interrupt();
    lab.finish(Duration::from_secs(10));
}

#[test]
fn on_a_terminal_the_watch_lays_its_report_out_again_when_the_width_changes() {
    let ws = Workspace::hello().with_pytest();
    let lab = ws.lab(["check", "--watch"]).in_tmux(100);
    lab.wait_for_screen("Watching for changes");
    let wide = lab.screen();
    assert!(wide.contains("✗ test_greets_by_name tests/grading/test_greet.py:5"), "{wide}");
    // Too narrow for a test's name and its place on one line: the place moves under the name.
    lab.resize(40);
    wait_for("the report redrawn at 40 columns", PATIENCE, || {
        lab.screen().lines().any(|l| l.trim() == "tests/grading/test_greet.py:5")
    });
    assert!(lab.screen().lines().all(|l| l.chars().count() <= 40), "{}", lab.screen());
}

#[test]
fn watch_says_when_a_stage_is_done_and_what_comes_next() {
    let ws = Workspace::hello().with_pytest();
    let lab = ws.lab(["check", "--watch"]).spawn();
    lab.wait_for_stdout("Watching for changes", 1);
    ws.replace("src/ws/greet.py", "    return GREETING\n", "    return f\"{GREETING}, {name.strip()}!\"\n");
    lab.wait_for_stdout("Watching for changes", 2);
    let text = lab.stdout();
    assert!(
        text.contains(
            "Stage 1 (Greet) is done. Next, stage 2 (Count): count_words(text) counts whitespace-separated words."
        ),
        "{text}"
    );
    assert!(text.contains("`lab todo --stage count` lists its TODO markers"), "{text}");
    lab.interrupt();
    lab.finish(Duration::from_secs(10));
}

#[test]
fn watch_grades_every_stage_when_a_save_touches_a_finished_stage() {
    let ws = Workspace::hello().with_pytest();
    ws.replace("src/ws/greet.py", "    return GREETING\n", "    return f\"{GREETING}, {name.strip()}!\"\n");
    let lab = ws.lab(["check", "--watch"]).spawn();
    lab.wait_for_stdout("Watching for changes", 1);
    // greet.py holds the finished greet stage's work as well as the count stage's.
    ws.replace("src/ws/greet.py", "return -1", "return -2");
    lab.wait_for_stdout("Watching for changes", 2);
    let text = lab.stdout();
    assert!(
        text.contains(
            "Grading every stage (a finished stage may have broken: src/ws/greet.py holds work of stage `greet`)"
        ),
        "{text}"
    );
    // A file no stage's markers are in is graded with the stage the learner is on.
    ws.write("src/ws/helpers.py", "X = 1\n");
    lab.wait_for_stdout("Watching for changes", 3);
    assert!(
        lab.stdout().contains("Grading stage 2 (Count) only, after a change to src/ws/helpers.py"),
        "{}",
        lab.stdout()
    );
    lab.interrupt();
    lab.finish(Duration::from_secs(10));
}

#[test]
fn a_suite_copy_an_upgraded_lab_left_behind_is_outdated_not_an_edit() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    let ws = ws.scaffold_hello("ws", &[]).with_pytest();
    // The lab's suite changes after the workspace was made; the learner's copy is untouched.
    ws.replace(labs.join("labs/hello/python/grading/test_greet.py.hbs"), "== 4", "== 4, \"four words\"");
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    assert_eq!(doc["modified"], serde_json::json!([{"path": "tests/grading/test_greet.py", "change": "outdated"}]));
    ws.lab(["check"])
        .fails_with(1)
        .stdout_has("tests/grading/test_greet.py: from an older version of the lab, untouched");
    // Once the learner edits it, it is theirs.
    ws.replace("tests/grading/test_greet.py", "def test_counts_nothing", "def test_counts_none");
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    assert_eq!(doc["modified"][0]["change"], "modified");
}

#[test]
fn history_lines_are_typed_statuses() {
    let ws = Workspace::hello().with_pytest();
    ws.lab(["check"]).fails_with(1);
    let line: serde_json::Value = serde_json::from_str(ws.read(".lab/history.jsonl").lines().next().unwrap()).unwrap();
    assert_eq!(line["status"], "fail");
    assert_eq!(line["tests"]["test_greets_by_name"], "fail");
    // A line with a status outside the vocabulary is not read as progress.
    ws.write(
        ".lab/history.jsonl",
        "{\"format_version\":1,\"time\":\"2026-01-01T00:00:00Z\",\"lab_version\":\"1.2.0\",\"status\":\"passed\",\"passed\":4,\"total\":4,\"tests\":{\"test_greets_by_name\":\"passed\"}}\n",
    );
    ws.lab(["progress"]).succeeds().stdout_has("No checks yet");
}

#[test]
fn a_suite_that_prints_without_bound_keeps_lab_small() {
    let ws = Workspace::hello().with_pytest();
    // 64 MiB from every test that calls greet, straight to the file descriptor.
    greet_does(&ws, "    import os\n    os.write(1, b'x' * (64 << 20))\n    return GREETING\n");
    let lab = ws.lab(["check", "--json"]).spawn();
    let status = format!("/proc/{}/status", lab.pid());
    let mut peak_kib = 0u64;
    while let Ok(text) = fs::read_to_string(&status) {
        let hwm =
            text.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next()?.parse().ok());
        peak_kib = peak_kib.max(hwm.unwrap_or(0));
        if text.lines().any(|l| l.starts_with("State:") && l.contains("zombie")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, stdout, _) = lab.finish(PATIENCE);
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(peak_kib < 64 * 1024, "lab peaked at {} MiB", peak_kib / 1024);
    assert!(stdout.contains("characters of output were not kept"), "the trimming is said");
}
