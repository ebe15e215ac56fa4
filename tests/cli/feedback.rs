//! Fast feedback: `lab check` grades the stage the learner is on first and shows it while the
//! rest run; `lab check --watch` re-grades that stage on each save.

use std::time::{Duration, Instant};

use crate::harness::{venv, wait_for, Workspace, PATIENCE};

/// Solves the first stage of the hello lab only.
fn finish_greet(ws: &Workspace) {
    ws.replace("src/ws/greet.py", "    return GREETING\n", "    return f\"{GREETING}, {name.strip()}!\"\n");
}

#[test]
fn check_shows_the_current_stage_before_the_full_report() {
    let ws = Workspace::hello().with_pytest();
    let ran = ws.lab(["check"]).fails_with(1);
    let out = ran.stdout();
    let early = out.find("✗ Stage 1 Greet: 0/2 passing").unwrap_or_else(|| panic!("no early result:\n{out}"));
    let full = out.find("hello (python track").expect("the full report");
    assert!(early < full, "{out}");
    assert!(
        out[early..full].contains("✗ test_greets_by_name AssertionError: assert 'hello' == 'hello, Ada!'"),
        "{out}"
    );
    assert!(out[early..full].contains("Grading the other stage…"), "{out}");
    // The full report is the same as ever.
    assert!(out[full..].contains("Stage 1 Greet: 2 to go"), "{out}");
}

#[test]
fn the_current_stage_is_the_first_unfinished_one_and_its_tests_run_first() {
    let ws = Workspace::hello().with_pytest();
    ws.lab(["check"]).fails_with(1);
    finish_greet(&ws);
    // The stage the learner was on at the last check comes first: here, the news that it is done.
    ws.lab(["check"]).fails_with(1).stdout_has("✓ Stage 1 Greet: 2/2 passing");
    ws.lab(["check"])
        .fails_with(1)
        .stdout_has("✗ Stage 2 Count: 0/2 passing")
        .stdout_lacks("Stage 1 Greet: 2/2 passing");
    // The guarded channel lists reports in the order the tests ran: the count stage's come first
    // although its tests are defined last.
    let log = ws.read(".lab/run/guarded.log");
    let ran: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"report\"") && l.contains("\"when\":\"call\""))
        .map(|l| l.split("\"test\":\"").nth(1).and_then(|t| t.split('"').next()).unwrap())
        .collect();
    assert_eq!(ran.len(), 4, "{log}");
    assert!(ran[0].ends_with("::test_counts_words") && ran[1].ends_with("::test_counts_nothing"), "{ran:?}");
    // Once everything passes there is nothing to show early.
    ws.solve();
    ws.lab(["check"]).succeeds().stdout_has("✓ Stage 2 Count: 2/2 passing").stdout_has("All green");
    ws.lab(["check"]).succeeds().stdout_lacks("passing ·").stdout_lacks("Grading the other");
}

#[test]
fn json_quiet_and_one_stage_print_no_early_result() {
    let ws = Workspace::hello().with_pytest();
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    assert_eq!(doc["counts"]["total"], 4);
    ws.lab(["check", "-q"]).fails_with(1).stdout_is("hello: fail (0/4 tests, 0/2 stages)\n");
    ws.lab(["check", "--stage", "count"]).fails_with(1).stdout_lacks("Grading the other");
}

#[test]
fn ctrl_c_after_the_current_stage_records_nothing_and_says_so() {
    let ws = Workspace::hello().with_pytest();
    // The count stage hangs; the greet stage (the current one) finishes at once.
    ws.replace("src/ws/greet.py", "    return -1\n", "    import time\n    time.sleep(120)\n    return -1\n");
    let lab = ws.lab(["check"]).spawn();
    lab.wait_for_stdout("Grading the other stage…", 1);
    assert!(lab.stdout().contains("✗ Stage 1 Greet: 0/2 passing"), "{}", lab.stdout());
    lab.interrupt();
    let (status, stdout, stderr) = lab.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Stopped: the other stages were not graded, and this check was not recorded"), "{stderr}");
    assert!(!stdout.contains("tests ("), "no full report: {stdout}");
    assert!(!ws.exists(".lab/history.jsonl"), "a stopped check is not in the history");
}

#[test]
fn watch_shows_the_current_stage_within_about_two_seconds_of_a_save() {
    let ws = Workspace::new().scaffold("rate-limiter", "rl");
    venv::install_dependencies_of(ws.path());
    let ws = ws.with_pytest();
    let lab = ws.lab(["check", "--watch"]).spawn();
    lab.wait_for_stdout("Watching for changes", 1);
    // A save in the file that holds the first stage's TODOs.
    let saved = Instant::now();
    ws.replace("src/rl/ratelimit.py", "from __future__", "# a learner's note\nfrom __future__");
    let mut shown = None;
    wait_for("the stage's result after the save", PATIENCE, || {
        let out = lab.stdout();
        let ready = out.matches("Watching for changes").count() >= 2;
        if ready && shown.is_none() {
            shown = Some(saved.elapsed());
        }
        ready
    });
    let took = shown.expect("a result was shown");
    let out = lab.stdout();
    assert!(out.contains("Grading stage 1 (Algorithm core) only, after a change to src/rl/ratelimit.py"), "{out}");
    assert!(out.contains("Stage 1 Algorithm core: 17 to go"), "{out}");
    // Written past the test harness's capture: the figure the issue asks for.
    let figure = format!("\nwatch: the current stage's result showed {} ms after the save\n", took.as_millis());
    let _ = std::io::Write::write_all(&mut std::io::stderr(), figure.as_bytes());
    // About two seconds on a quiet machine; the bound leaves room for a loaded CI machine.
    assert!(took < Duration::from_secs(8), "{took:?}");
    lab.interrupt();
    lab.finish(Duration::from_secs(20));
}

#[test]
fn rust_setup_builds_the_suite_so_the_first_check_compiles_only_the_learners_crate() {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    ws.lab(["setup"])
        .succeeds()
        .stderr_has("note: lab-fixture-tool is not on PATH (a stand-in is used without it): grading works without it")
        .stderr_has("Building the grading suite and its dependencies")
        .stderr_has("Built 2 crates in");
    // Nothing changed since setup: nothing compiles, and the suite's lock file is kept.
    let first = ws.lab(["check", "--verbose"]).fails_with(1).stdout();
    assert!(!first.contains("Compiling"), "{first}");
    assert!(ws.exists(".lab/run/grading/Cargo.lock"));
    // A change to the learner's crate compiles that crate and the suite that tests it, no more.
    ws.replace("src/lib.rs", "pub fn", "// a learner's note\npub fn");
    let second = ws.lab(["check", "--verbose"]).fails_with(1).stdout();
    let compiled: Vec<&str> = second.lines().filter_map(|l| l.trim().strip_prefix("Compiling ")).collect();
    assert_eq!(compiled.len(), 2, "{second}");
    assert!(compiled[0].starts_with("ws v") && compiled[1].starts_with("grading v"), "{compiled:?}");
}

#[test]
fn a_document_lab_shows_its_current_stage_before_the_diagrams_are_parsed() {
    let ws = Workspace::new().scaffold("design-doc", "dd");
    let out = ws.lab(["check"]).fails_with(1).stdout();
    let early = out.find("✗ Stage 1 ").unwrap_or_else(|| panic!("no early result:\n{out}"));
    assert!(early < out.find("design-doc (docs track").expect("the full report"), "{out}");
    assert!(out[early..].lines().next().unwrap().ends_with(" ms"), "{out}");
}

#[test]
fn rust_setup_without_cargo_says_how_to_get_it_and_writes_nothing() {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    let before = crate::harness::snapshot(ws.path());
    ws.lab(["setup"])
        .env("PATH", "/usr/bin:/bin")
        .fails_with(2)
        .stderr_has("cargo is not on PATH")
        .stderr_has("https://rustup.rs");
    assert_eq!(crate::harness::snapshot(ws.path()), before);
}

#[test]
fn compiling_does_not_count_against_the_grading_timeout() {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    // A build that takes longer than the whole grading timeout.
    ws.write("build.rs", "fn main() { std::thread::sleep(std::time::Duration::from_secs(4)); }\n");
    ws.lab(["check", "--timeout", "2"]).fails_with(1).stdout_has("0/4 tests");
    // A test that hangs still meets the timeout, counted from the first test binary's start.
    ws.replace("src/lib.rs", "    text.len()\n", "    loop { std::hint::black_box(text); }\n");
    ws.lab(["check", "--timeout", "2"]).fails_with(2).stdout_has("did not finish within 2 s of its first test");
}

#[test]
fn a_one_stage_check_runs_only_that_stages_tests() {
    let ws = Workspace::hello().with_pytest();
    ws.lab(["check", "--stage", "count"]).fails_with(1).stdout_has("0/2 tests");
    let log = ws.read(".lab/run/guarded.log");
    let ran: Vec<&str> = log.lines().filter(|l| l.contains("\"when\":\"call\"")).collect();
    assert_eq!(ran.len(), 2, "{log}");
    assert!(ran.iter().all(|l| l.contains("test_counts_")), "{log}");
}

#[test]
fn on_a_terminal_the_spinner_leaves_no_frame_behind() {
    let ws = Workspace::hello().with_pytest();
    let (_, screen, _) = ws.lab(["check"]).in_terminal().spawn().finish(Duration::from_secs(60));
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let last_frame = screen.rfind(FRAMES).unwrap_or_else(|| panic!("no spinner on a terminal:\n{screen:?}"));
    let after = &screen[last_frame..];
    // The spinner's line is overwritten with spaces and the cursor sent back before the report.
    let erased = after.find("\r                ").unwrap_or_else(|| panic!("the last frame stays:\n{after:?}"));
    let report = after.find("hello (python track").expect("the report");
    assert!(erased < report, "{after:?}");
}
