//! `lab setup`: a venv with the workspace's dev dependencies, then a check that runs in it.
//! Needs python3 and access to the package registry, like a learner's first setup.

mod common;

use common::{fixtures, lab, new_fixture};
use predicates::str::contains;

#[test]
fn setup_makes_a_venv_that_check_then_uses() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    lab(&root).args(["setup", "--labs-dir"]).arg(fixtures()).assert().success().stdout(contains("Ready"));
    assert!(root.join(".venv/bin/python").is_file());
    lab(&root).args(["check", "--labs-dir"]).arg(fixtures()).assert().code(1).stdout(contains("0/4 tests"));
}

#[test]
fn lab_venv_puts_the_venv_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let root = new_fixture(dir.path(), "ws", &[]);
    let venv = dir.path().join("shared-venv");
    lab(&root).args(["setup", "--labs-dir"]).arg(fixtures()).env("LAB_VENV", &venv).assert().success();
    assert!(venv.join("bin/python").is_file());
    assert!(!root.join(".venv").exists());
    lab(&root)
        .args(["check", "--labs-dir"])
        .arg(fixtures())
        .env("LAB_VENV", &venv)
        .assert()
        .code(1)
        .stdout(contains("0/4 tests"));
}

#[test]
fn setup_outside_a_workspace_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path()).arg("setup").assert().code(2).stderr(contains("not inside a lab workspace"));
}
