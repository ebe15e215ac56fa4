//! The learner's everyday commands: hint, todo, progress, status, report, reset, completions,
//! man, --quiet, and output that stays plain in a pipe.

use crate::harness::{files_under, Workspace};

#[test]
fn hint_reveals_one_tier_at_a_time_and_remembers() {
    let ws = Workspace::hello();
    ws.lab(["hint"])
        .succeeds()
        .stdout_has("Stage 1 Greet")
        .stdout_has("Hint 1/2: Read the option")
        .stdout_has("1 more tier")
        .stdout_lacks("Hint 2/2");
    ws.lab(["hint"]).succeeds().stdout_has("Hint 2/2: Use an f-string.").stdout_has("the last hint");
    assert!(ws.read(".lab/hints.toml").contains("greet = 2"));
    ws.lab(["hint", "count"]).succeeds().stdout_has("Stage 2 Count").stdout_has("Hint 1/1");
    ws.lab(["hint", "nope"]).fails_with(2).stderr_has("has no stage `nope`: its stages: greet, count");
    ws.lab(["hint", "cont"]).fails_with(2).stderr_has("did you mean `count`?");
}

#[test]
fn hint_follows_the_first_unfinished_stage_and_all_shows_every_tier() {
    let ws = Workspace::hello().with_pytest();
    ws.replace("src/ws/greet.py", "    return GREETING\n", "    return f\"{GREETING}, {name.strip()}!\"\n");
    ws.lab(["check"]).fails_with(1);
    ws.lab(["hint", "--all"]).succeeds().stdout_has("Stage 2 Count").stdout_has("Hint 1/1");
    ws.solve();
    ws.lab(["check"]).succeeds();
    ws.lab(["hint"]).succeeds().stdout_has("Every stage is done");
}

#[test]
fn todo_lists_markers_by_stage_and_respects_gitignore() {
    let ws = Workspace::hello();
    ws.write("scratch/notes.py", "# TODO(lab:count): ignored scratch\n");
    ws.write(".gitignore", ws.read(".gitignore") + "scratch/\n");
    ws.write("extra.py", "# TODO(lab:count): also count tabs\n");
    ws.lab(["todo"])
        .succeeds()
        .stdout_has("greet")
        .stdout_has("src/ws/greet.py:5")
        .stdout_has("extra.py:1  also count tabs")
        .stdout_lacks("scratch");
    let doc = ws.lab(["todo", "--json", "--stage", "count"]).succeeds().json();
    assert_eq!(doc["total"], 2);
    assert_eq!(doc["stages"][0]["id"], "count");
    assert_eq!(doc["stages"][0]["todos"][0]["path"], "extra.py");
    ws.lab(["todo", "--stage", "x"]).fails_with(2).stderr_has("has no stage `x`");
}

#[test]
fn progress_shows_completion_dates_chart_and_regressions() {
    let ws = Workspace::hello().with_pytest();
    ws.lab(["progress"]).succeeds().stdout_has("No checks yet");
    ws.lab(["check"]).fails_with(1);
    ws.solve();
    ws.lab(["check"]).succeeds();
    ws.replace("src/ws/greet.py", "len(text.split())", "len(text.split(' '))");
    ws.lab(["check"]).fails_with(1);
    ws.lab(["progress"])
        .succeeds()
        .stdout_has("3 checks")
        .stdout_has("done 20")
        .stdout_has("first done")
        .stdout_has("test_counts_nothing  broke")
        .stdout_has("still failing");
    let doc = ws.lab(["progress", "--json"]).succeeds().json();
    assert_eq!(doc["checks"], 3);
    assert_eq!(
        doc["points"].as_array().unwrap().iter().map(|p| p["passed"].as_u64().unwrap()).collect::<Vec<_>>(),
        [0, 4, 3]
    );
    assert_eq!(doc["stages"][0]["done"], true);
    assert!(doc["stages"][1]["first_done"].is_string());
    assert_eq!(doc["regressions"][0]["test"], "test_counts_nothing");
    assert!(doc["regressions"][0]["fixed_at"].is_null());
}

#[test]
fn status_lists_every_workspace_under_a_folder() {
    let ws = Workspace::with_fixtures().with_pytest();
    ws.lab(["new", "hello", "alpha", "--no-git"]).succeeds();
    std::fs::create_dir(ws.join("nested")).unwrap();
    ws.lab(["new", "hello", "beta", "--no-git", "--track", "rust"]).in_dir("nested").succeeds();
    ws.solve_in("alpha");
    ws.lab(["check"]).in_dir("alpha").succeeds();
    ws.lab(["status"])
        .succeeds()
        .stdout_has("alpha")
        .stdout_has("2/2  100%")
        .stdout_has("nested/beta")
        .stdout_has("never");
    let doc = ws.lab(["status", "--json"]).succeeds().json();
    assert_eq!(doc.as_array().unwrap().len(), 2);
    assert_eq!(doc[0]["percent"], 100);
    assert_eq!(doc[1]["track"], "rust");
    ws.lab(["status", "no-such-dir"]).fails_with(2).stderr_has("is not a folder");
}

#[test]
fn report_writes_only_between_the_markers() {
    let ws = Workspace::hello().with_pytest();
    let before = ws.read("README.md");
    ws.lab(["report"]).succeeds().stdout_has("added at the end");
    let once = ws.read("README.md");
    assert!(once.starts_with(&before), "the README's own text is kept");
    assert!(once.contains("| 1. Greet | 0/2 | – |"), "{once}");
    // Text after the section survives a refresh; the section is replaced, not repeated.
    ws.write("README.md", format!("{once}\n## My notes\n"));
    ws.solve();
    ws.lab(["check"]).succeeds();
    ws.lab(["report"]).succeeds().stdout_has("refreshed");
    let twice = ws.read("README.md");
    assert_eq!(twice.matches("<!-- lab:progress -->").count(), 1);
    assert!(twice.contains("4/4 tests passing (100%)") && twice.ends_with("## My notes\n"), "{twice}");
    ws.write("README.md", "<!-- lab:progress -->\nno end marker\n");
    ws.lab(["report"]).fails_with(2).stderr_has("broken progress section");
}

#[test]
fn reset_restores_a_starter_file_and_keeps_a_backup() {
    let ws = Workspace::hello();
    let starter = ws.read("src/ws/greet.py");
    ws.write("src/ws/greet.py", "my broken attempt\n");
    // Without a terminal there is no prompt to answer: --yes is required.
    ws.lab(["reset", "src/ws/greet.py"]).fails_with(2).stderr_has("pass --yes");
    assert_eq!(ws.read("src/ws/greet.py"), "my broken attempt\n");
    ws.lab(["reset", "ws/greet.py", "--yes"]).in_dir("src").succeeds().stdout_has(".lab/backup/");
    assert_eq!(ws.read("src/ws/greet.py"), starter);
    let backups = files_under(&ws.join(".lab/backup"));
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(ws.read(&backups[0]), "my broken attempt\n");
    ws.lab(["reset", "../outside.txt", "--yes"]).fails_with(2).stderr_has("outside the workspace");
    ws.lab(["reset", "notes.md", "--yes"]).fails_with(2).stderr_has("not a file the `hello` starter writes");
    ws.lab(["reset", "src/ws/greet.py", "--yes"]).succeeds().stdout_has("already as the starter wrote it");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let ws = Workspace::new();
    ws.lab(["completions", "bash"]).succeeds().stdout_has("_lab()").stdout_has("validate");
    ws.lab(["completions", "zsh"]).succeeds().stdout_has("#compdef lab");
    ws.lab(["completions", "tcsh"]).fails_with(2);
    ws.lab(["man"]).succeeds().stdout_has(".TH lab").stdout_has("check");
}

#[test]
fn quiet_prints_one_line_for_check_and_nothing_for_new() {
    let ws = Workspace::with_fixtures().with_pytest();
    ws.lab(["new", "hello", "ws", "--no-git", "--quiet"]).succeeds().stdout_is("");
    ws.lab(["check", "-q"]).in_dir("ws").fails_with(1).stdout_is("hello: fail (0/4 tests, 0/2 stages)\n");
}

#[test]
fn reports_in_a_pipe_have_no_escape_codes_even_with_color_auto() {
    let ws = Workspace::hello().with_pytest();
    let auto = ws.lab(["check"]).env_remove("NO_COLOR").fails_with(1);
    assert!(!auto.stdout().contains('\u{1b}') && !auto.stderr().contains('\u{1b}'), "escape codes in a pipe");
    let forced = ws.lab(["check", "--color", "always"]).env_remove("NO_COLOR").fails_with(1);
    assert!(forced.stdout().contains('\u{1b}'), "--color always colours even in a pipe");
}

#[test]
fn workspace_commands_outside_a_workspace_exit_2_with_advice() {
    let ws = Workspace::new();
    for args in [&["hint"][..], &["todo"], &["progress"], &["report"], &["reset", "x.py", "--yes"]] {
        ws.lab(args).fails_with(2).stderr_has("not inside a lab workspace").stderr_has("lab new <lab>");
    }
    assert!(ws.entries(".").is_empty(), "nothing was written: {:?}", ws.entries("."));
}
