//! `lab new`: what it writes, and what it refuses.

mod common;

use std::fs;

use common::{lab, lab_fixture};
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn new_writes_the_starter_grading_suite_and_manifest_and_prints_next_steps() {
    let dir = tempfile::tempdir().unwrap();
    lab_fixture(dir.path())
        .args(["new", "hello", "My-Greeter", "--no-git"])
        .assert()
        .success()
        .stdout(contains("Created My-Greeter").and(contains("lab setup")).and(contains("lab check")));
    let root = dir.path().join("My-Greeter");
    let greet = fs::read_to_string(root.join("src/my_greeter/greet.py")).unwrap();
    assert!(greet.contains("GREETING = \"hello\"") && greet.contains("TODO(lab:greet)"), "{greet}");
    let pyproject = fs::read_to_string(root.join("pyproject.toml")).unwrap();
    assert!(pyproject.contains("name = \"my-greeter\""), "{pyproject}");
    assert!(root.join("tests/grading/test_greet.py").is_file());
    assert!(!root.join("src/my_greeter/greet.py.hbs").exists());
    let manifest: toml::Table = toml::from_str(&fs::read_to_string(root.join(".lab/workspace.toml")).unwrap()).unwrap();
    assert_eq!(manifest["format_version"].as_integer(), Some(1));
    assert_eq!(manifest["lab"].as_str(), Some("hello"));
    assert_eq!(manifest["lab_version"].as_str(), Some("1.2.0"));
    assert_eq!(manifest["track"].as_str(), Some("python"));
    assert_eq!(manifest["tool_version"].as_str(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(manifest["vars"]["package_name"].as_str(), Some("my_greeter"));
    let files = manifest["grading"]["files"].as_table().unwrap();
    let expected = sha256(&fs::read(root.join("tests/grading/test_greet.py")).unwrap());
    assert_eq!(files["tests/grading/test_greet.py"].as_str(), Some(expected.as_str()));
    // Nothing but the workspace was written beside it.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn options_tracks_and_names_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    lab_fixture(dir.path())
        .args(["new", "hello", "ws", "--no-git", "--set", "greeting=hi", "--track", "rust", "--name", "greeter"])
        .assert()
        .success();
    let lib = fs::read_to_string(dir.path().join("ws/src/lib.rs")).unwrap();
    assert!(lib.contains("GREETING: &str = \"hi\""), "{lib}");
    let cargo = fs::read_to_string(dir.path().join("ws/Cargo.toml")).unwrap();
    assert!(cargo.contains("name = \"greeter\""), "{cargo}");
}

#[test]
fn dry_run_lists_the_files_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    lab_fixture(dir.path())
        .args(["new", "hello", "ws", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("src/ws/greet.py").and(contains(".lab/workspace.toml")).and(contains("Nothing was written")));
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_non_empty_target_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ws");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("notes.md"), "mine").unwrap();
    lab_fixture(dir.path()).args(["new", "hello", "ws"]).assert().code(2).stderr(contains("is not empty"));
    assert_eq!(fs::read_dir(&target).unwrap().count(), 1);
    assert_eq!(fs::read_to_string(target.join("notes.md")).unwrap(), "mine");
}

#[test]
fn an_empty_target_folder_is_filled() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("ws")).unwrap();
    lab_fixture(dir.path()).args(["new", "hello", "ws", "--no-git"]).assert().success();
    assert!(dir.path().join("ws/.lab/workspace.toml").is_file());
}

#[test]
fn bad_input_exits_2_with_advice_and_writes_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["new", "hello", "ws", "--set", "greeting=yo"],
            "`yo` is not a choice for option `greeting`; choose one of: hello, hi",
        ),
        (&["new", "hello", "ws", "--set", "color=red"], "has no option `color`; its options: greeting"),
        (&["new", "hello", "ws", "--set", "greeting"], "--set takes KEY=VALUE"),
        (&["new", "hello", "ws", "--track", "go"], "has no track `go`; its tracks: python, rust"),
        (&["new", "hello", "1st-try"], "must start with a letter"),
        (&["new", "hello", "ws", "--name", "class"], "keyword"),
        (&["new", "hello", "my app"], "pass --name NAME"),
        (&["new", "hallo", "ws"], "did you mean `hello`?"),
    ];
    for (args, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        lab_fixture(dir.path()).args(*args).assert().code(2).stderr(contains(*message));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "{args:?} wrote something");
    }
}

#[test]
fn new_makes_a_git_repository_with_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    lab_fixture(dir.path())
        .args(["new", "hello", "ws"])
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .assert()
        .success();
    let log = std::process::Command::new("git")
        .args(["log", "--format=%s"])
        .current_dir(dir.path().join("ws"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout).trim(), "Start the hello lab (v1.2.0)");
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(dir.path().join("ws"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "", "everything is committed");
}

#[test]
fn inside_a_git_work_tree_no_nested_repository_is_made() {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new("git").args(["init", "-q"]).current_dir(dir.path()).status().unwrap();
    lab_fixture(dir.path()).args(["new", "hello", "ws"]).assert().success().stdout(contains("inside a git work tree"));
    assert!(!dir.path().join("ws/.git").exists());
}

#[test]
fn without_labs_dir_the_fixture_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path()).args(["new", "hello", "ws"]).assert().code(2).stderr(contains("unknown lab `hello`"));
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
