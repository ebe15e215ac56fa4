//! `lab list` and `lab show`.

mod common;

use common::{fixtures, lab};
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn list_groups_labs_by_roadmap_module_with_tracks_difficulty_and_hours() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path())
        .args(["list", "--labs-dir"])
        .arg(fixtures())
        .assert()
        .success()
        .stdout(contains("Fixtures\n  hello").and(contains("[python, rust] beginner, ~1 h")));
}

#[test]
fn lab_path_adds_labs_like_labs_dir() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path()).arg("list").env("LAB_PATH", fixtures()).assert().success().stdout(contains("Hello, graded"));
}

#[test]
fn show_prints_summary_output_stages_options_and_tracks() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path()).args(["show", "hello", "--labs-dir"]).arg(fixtures()).assert().success().stdout(
        contains("A two-stage fixture lab")
            .and(contains("serves: A lab the engine's own tests"))
            .and(contains("1. Greet [greet, 2 tests]"))
            .and(contains("--set greeting=hello|hi  (default hello)"))
            .and(contains("python (pytest), default; rust (cargo)")),
    );
}

#[test]
fn an_unknown_lab_suggests_the_nearest_one_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path())
        .args(["show", "helo", "--labs-dir"])
        .arg(fixtures())
        .assert()
        .code(2)
        .stderr(contains("unknown lab `helo`: did you mean `hello`?"));
}

#[test]
fn a_broken_lab_toml_is_named_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("labs/broken");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("lab.toml"), "format_version = 1\nid = \"broken\"\n").unwrap();
    lab(dir.path())
        .args(["list", "--labs-dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("labs/broken/lab.toml").and(contains("does not parse")));
}

#[test]
fn a_symlink_out_of_the_lab_folder_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mine");
    common::copy_dir(&fixtures(), &root);
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "outside").unwrap();
    std::os::unix::fs::symlink(&secret, root.join("labs/hello/python/starter/leak.txt")).unwrap();
    let target = dir.path().join("ws");
    lab(dir.path())
        .args(["new", "hello"])
        .arg(&target)
        .args(["--no-git", "--labs-dir"])
        .arg(&root)
        .assert()
        .code(2)
        .stderr(contains("symlink points outside the lab folder"));
    assert!(!target.exists());
}
