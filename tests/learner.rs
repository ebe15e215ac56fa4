//! The learner's everyday commands: hint, todo, progress, status, report, reset, completions,
//! man, --quiet, and output that stays plain in a pipe.

mod common;

use std::fs;

use common::{lab, lab_fixture, new_fixture, solve};
use predicates::prelude::*;
use predicates::str::contains;

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap()
}

#[test]
fn hint_reveals_one_tier_at_a_time_and_remembers() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    lab_fixture(&root).arg("hint").assert().success().stdout(
        contains("Stage 1 Greet")
            .and(contains("Hint 1/2: Read the option"))
            .and(contains("1 more tier"))
            .and(contains("Hint 2/2").not()),
    );
    lab_fixture(&root)
        .arg("hint")
        .assert()
        .success()
        .stdout(contains("Hint 2/2: Use an f-string.").and(contains("the last hint")));
    assert!(fs::read_to_string(root.join(".lab/hints.toml")).unwrap().contains("greet = 2"));
    lab_fixture(&root)
        .args(["hint", "count"])
        .assert()
        .success()
        .stdout(contains("Stage 2 Count").and(contains("Hint 1/1")));
    lab_fixture(&root)
        .args(["hint", "nope"])
        .assert()
        .code(2)
        .stderr(contains("has no stage `nope`; its stages: greet, count"));
}

#[test]
fn hint_follows_the_first_unfinished_stage_and_all_shows_every_tier() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let path = root.join("src/ws/greet.py");
    fs::write(
        &path,
        fs::read_to_string(&path)
            .unwrap()
            .replace("    return GREETING\n", "    return f\"{GREETING}, {name.strip()}!\"\n"),
    )
    .unwrap();
    lab_fixture(&root).arg("check").assert().code(1);
    lab_fixture(&root)
        .args(["hint", "--all"])
        .assert()
        .success()
        .stdout(contains("Stage 2 Count").and(contains("Hint 1/1")));
    solve(&root, "ws");
    lab_fixture(&root).arg("check").assert().success();
    lab_fixture(&root).arg("hint").assert().success().stdout(contains("Every stage is done"));
}

#[test]
fn todo_lists_markers_by_stage_and_respects_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    fs::create_dir_all(root.join("scratch")).unwrap();
    fs::write(root.join("scratch/notes.py"), "# TODO(lab:count): ignored scratch\n").unwrap();
    fs::write(root.join(".gitignore"), fs::read_to_string(root.join(".gitignore")).unwrap() + "scratch/\n").unwrap();
    fs::write(root.join("extra.py"), "# TODO(lab:count): also count tabs\n").unwrap();
    lab_fixture(&root).arg("todo").assert().success().stdout(
        contains("greet")
            .and(contains("src/ws/greet.py:5"))
            .and(contains("extra.py:1  also count tabs"))
            .and(contains("scratch").not()),
    );
    let out =
        lab_fixture(&root).args(["todo", "--json", "--stage", "count"]).assert().success().get_output().stdout.clone();
    let doc = json(&out);
    assert_eq!(doc["total"], 2);
    assert_eq!(doc["stages"][0]["id"], "count");
    assert_eq!(doc["stages"][0]["todos"][0]["path"], "extra.py");
    lab_fixture(&root).args(["todo", "--stage", "x"]).assert().code(2).stderr(contains("has no stage `x`"));
}

#[test]
fn progress_shows_completion_dates_chart_and_regressions() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    lab_fixture(&root).arg("progress").assert().success().stdout(contains("No checks yet"));
    lab_fixture(&root).arg("check").assert().code(1);
    solve(&root, "ws");
    lab_fixture(&root).arg("check").assert().success();
    let path = root.join("src/ws/greet.py");
    fs::write(&path, fs::read_to_string(&path).unwrap().replace("len(text.split())", "len(text.split(' '))")).unwrap();
    lab_fixture(&root).arg("check").assert().code(1);
    lab_fixture(&root).arg("progress").assert().success().stdout(
        contains("3 checks")
            .and(contains("done 20"))
            .and(contains("first done"))
            .and(contains("test_counts_nothing  broke"))
            .and(contains("still failing")),
    );
    let doc = json(&lab_fixture(&root).args(["progress", "--json"]).assert().success().get_output().stdout);
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
    let dir = tempfile::tempdir().unwrap();
    let a = new_fixture(dir.path(), "alpha", &[]);
    fs::create_dir(dir.path().join("nested")).unwrap();
    new_fixture(&dir.path().join("nested"), "beta", &["--track", "rust"]);
    solve(&a, "alpha");
    lab_fixture(&a).arg("check").assert().success();
    lab_fixture(dir.path())
        .arg("status")
        .assert()
        .success()
        .stdout(contains("alpha").and(contains("2/2  100%")).and(contains("nested/beta")).and(contains("never")));
    let doc = json(&lab_fixture(dir.path()).args(["status", "--json"]).assert().success().get_output().stdout);
    assert_eq!(doc.as_array().unwrap().len(), 2);
    assert_eq!(doc[0]["percent"], 100);
    assert_eq!(doc[1]["track"], "rust");
    lab(dir.path()).args(["status", "no-such-dir"]).assert().code(2).stderr(contains("is not a folder"));
}

#[test]
fn report_writes_only_between_the_markers() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let readme = root.join("README.md");
    let before = fs::read_to_string(&readme).unwrap();
    lab_fixture(&root).arg("report").assert().success().stdout(contains("added at the end"));
    let once = fs::read_to_string(&readme).unwrap();
    assert!(once.starts_with(&before), "the README's own text is kept");
    assert!(once.contains("| 1. Greet | 0/2 | – |"), "{once}");
    // Text after the section survives a refresh; the section is replaced, not repeated.
    fs::write(&readme, format!("{once}\n## My notes\n")).unwrap();
    solve(&root, "ws");
    lab_fixture(&root).arg("check").assert().success();
    lab_fixture(&root).arg("report").assert().success().stdout(contains("refreshed"));
    let twice = fs::read_to_string(&readme).unwrap();
    assert_eq!(twice.matches("<!-- lab:progress -->").count(), 1);
    assert!(twice.contains("4/4 tests passing (100%)") && twice.ends_with("## My notes\n"), "{twice}");
    fs::write(&readme, "<!-- lab:progress -->\nno end marker\n").unwrap();
    lab_fixture(&root).arg("report").assert().code(2).stderr(contains("broken progress section"));
}

#[test]
fn reset_restores_a_starter_file_and_keeps_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let path = root.join("src/ws/greet.py");
    let starter = fs::read_to_string(&path).unwrap();
    fs::write(&path, "my broken attempt\n").unwrap();
    // Without a terminal there is no prompt to answer: --yes is required.
    lab_fixture(&root).args(["reset", "src/ws/greet.py"]).assert().code(2).stderr(contains("pass --yes"));
    assert_eq!(fs::read_to_string(&path).unwrap(), "my broken attempt\n");
    lab_fixture(&root.join("src"))
        .args(["reset", "ws/greet.py", "--yes"])
        .assert()
        .success()
        .stdout(contains(".lab/backup/"));
    assert_eq!(fs::read_to_string(&path).unwrap(), starter);
    let backups: Vec<_> = walk(&root.join(".lab/backup"));
    assert_eq!(backups.len(), 1);
    assert_eq!(fs::read_to_string(&backups[0]).unwrap(), "my broken attempt\n");
    lab_fixture(&root)
        .args(["reset", "../outside.txt", "--yes"])
        .assert()
        .code(2)
        .stderr(contains("outside the workspace"));
    lab_fixture(&root)
        .args(["reset", "notes.md", "--yes"])
        .assert()
        .code(2)
        .stderr(contains("not a file the `hello` starter writes"));
    lab_fixture(&root)
        .args(["reset", "src/ws/greet.py", "--yes"])
        .assert()
        .success()
        .stdout(contains("already as the starter wrote it"));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path())
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(contains("_lab()").and(contains("validate")));
    lab(dir.path()).args(["completions", "zsh"]).assert().success().stdout(contains("#compdef lab"));
    lab(dir.path()).args(["completions", "tcsh"]).assert().code(2);
    lab(dir.path()).arg("man").assert().success().stdout(contains(".TH lab").and(contains("check")));
}

#[test]
fn quiet_prints_one_line_for_check_and_nothing_for_new() {
    let dir = tempfile::tempdir().unwrap();
    lab_fixture(dir.path()).args(["new", "hello", "ws", "--no-git", "--quiet"]).assert().success().stdout("");
    let root = dir.path().join("ws");
    lab_fixture(&root).args(["check", "-q"]).assert().code(1).stdout("hello: fail (0/4 tests, 0/2 stages)\n");
}

#[test]
fn reports_in_a_pipe_have_no_escape_codes_even_with_color_auto() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let mut cmd = lab_fixture(&root);
    cmd.env_remove("NO_COLOR").arg("check");
    let out = cmd.assert().code(1).get_output().clone();
    assert!(!out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b), "escape codes in a pipe");
    let forced = lab_fixture(&root)
        .env_remove("NO_COLOR")
        .args(["check", "--color", "always"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    assert!(forced.contains(&0x1b), "--color always colours even in a pipe");
}

#[test]
fn workspace_commands_outside_a_workspace_exit_2_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["hint"][..], &["todo"], &["progress"], &["report"], &["reset", "x.py", "--yes"]] {
        lab(dir.path())
            .args(args)
            .assert()
            .code(2)
            .stderr(contains("not inside a lab workspace").and(contains("lab new <lab>")));
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was written");
}
