//! `lab list` and `lab show`.

use std::fs;

use crate::harness::{copy_dir, fixture_labs, Workspace};

#[test]
fn list_groups_labs_by_roadmap_module_with_tracks_difficulty_and_hours() {
    Workspace::new()
        .lab(["list", "--labs-dir"])
        .arg(fixture_labs())
        .succeeds()
        .stdout_has("Fixtures\n  hello")
        .stdout_has("[python, rust] beginner, ~1 h");
}

#[test]
fn lab_path_adds_labs_like_labs_dir() {
    Workspace::new().lab(["list"]).env("LAB_PATH", fixture_labs()).succeeds().stdout_has("Hello, graded");
}

#[test]
fn without_labs_dir_or_lab_path_the_fixture_lab_is_not_listed() {
    Workspace::new().lab(["list"]).succeeds().stdout_lacks("Hello, graded");
}

#[test]
fn show_prints_summary_output_stages_options_and_tracks() {
    Workspace::new()
        .lab(["show", "hello", "--labs-dir"])
        .arg(fixture_labs())
        .succeeds()
        .stdout_has("A two-stage fixture lab")
        .stdout_has("serves: A lab the engine's own tests")
        .stdout_has("1. Greet [greet, 2 tests]")
        .stdout_has("--set greeting=hello|hi  (default hello)")
        .stdout_has("python (pytest), default; rust (cargo)");
}

#[test]
fn an_unknown_lab_suggests_the_nearest_one_and_exits_2() {
    Workspace::with_fixtures()
        .lab(["show", "helo"])
        .fails_with(2)
        .stderr_has("unknown lab `helo`: did you mean `hello`?");
}

#[test]
fn a_broken_lab_toml_is_named_with_its_path() {
    let ws = Workspace::new();
    ws.write("labs/broken/lab.toml", "format_version = 1\nid = \"broken\"\n");
    ws.lab(["list", "--labs-dir"])
        .arg(ws.path())
        .fails_with(2)
        .stderr_has("labs/broken/lab.toml")
        .stderr_has("does not parse");
}

#[test]
fn a_symlink_out_of_the_lab_folder_is_rejected() {
    let ws = Workspace::new();
    let mine = ws.scratch("mine");
    copy_dir(&fixture_labs(), &mine);
    let secret = ws.scratch("secret.txt");
    fs::write(&secret, "outside").unwrap();
    std::os::unix::fs::symlink(&secret, mine.join("labs/hello/python/starter/leak.txt")).unwrap();
    ws.lab(["new", "hello", "ws", "--no-git", "--labs-dir"])
        .arg(&mine)
        .fails_with(2)
        .stderr_has("symlink points outside the lab folder");
    assert!(!ws.exists("ws"));
}
