//! `lab validate` on the fixture lab and on a lab broken in each way it must catch.

mod common;

use std::fs;
use std::path::Path;

use common::{fixtures, lab, python};
use predicates::prelude::*;
use predicates::str::contains;

/// A copy of the fixture labs that a test may break.
fn fixture_copy(dir: &Path) -> std::path::PathBuf {
    let root = dir.join("labs-copy");
    common::copy_dir(&fixtures(), &root);
    root
}

fn validate(dir: &Path, labs: &Path) -> assert_cmd::assert::Assert {
    lab(dir)
        .args(["validate", "hello", "--track", "python", "--labs-dir"])
        .arg(labs)
        .env("LAB_PYTHON", python())
        .assert()
}

#[test]
fn the_fixture_lab_is_valid_on_both_tracks() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path())
        .args(["validate", "hello", "--labs-dir"])
        .arg(fixtures())
        .env("LAB_PYTHON", python())
        .assert()
        .success()
        .stdout(
            contains("ok   hello            python   solution passes every test")
                .and(contains("ok   hello            rust     solution passes every test"))
                .and(contains("All labs valid.")),
        );
}

#[test]
fn a_solution_that_fails_a_test_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let labs = fixture_copy(dir.path());
    let sol = labs.join("labs/hello/python/solution/src/{{package_name}}/greet.py.hbs");
    fs::write(&sol, fs::read_to_string(&sol).unwrap().replace("name.strip()", "name")).unwrap();
    validate(dir.path(), &labs).code(1).stdout(
        contains("FAIL hello            python   solution passes every test")
            .and(contains("test_greeting_is_stripped")),
    );
}

#[test]
fn a_starter_that_already_passes_a_stage_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let labs = fixture_copy(dir.path());
    let starter = labs.join("labs/hello/python/starter/src/{{package_name}}/greet.py.hbs");
    fs::write(
        &starter,
        fs::read_to_string(&starter).unwrap().replace("    return -1\n", "    return len(text.split())\n"),
    )
    .unwrap();
    validate(dir.path(), &labs).code(1).stdout(
        contains("FAIL hello            python   starter fails every stage")
            .and(contains("stage `count` passes on the starter"))
            .and(contains("`test_counts_words` passes on the starter")),
    );
}

#[test]
fn undeclared_and_unreported_tests_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let labs = fixture_copy(dir.path());
    let toml = labs.join("labs/hello/lab.toml");
    fs::write(&toml, fs::read_to_string(&toml).unwrap().replace("\"test_counts_nothing\"]", "\"test_counts_none\"]"))
        .unwrap();
    validate(dir.path(), &labs).code(1).stdout(
        contains("reported `test_counts_nothing`, which lab.toml does not declare")
            .and(contains("`test_counts_none` is declared but the runner never reported it")),
    );
}

#[test]
fn a_stage_without_a_todo_marker_or_hints_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let labs = fixture_copy(dir.path());
    let starter = labs.join("labs/hello/python/starter/src/{{package_name}}/greet.py.hbs");
    fs::write(&starter, fs::read_to_string(&starter).unwrap().replace("TODO(lab:count)", "TODO")).unwrap();
    let toml = labs.join("labs/hello/lab.toml");
    fs::write(
        &toml,
        fs::read_to_string(&toml)
            .unwrap()
            .replace("hints = [\"str.split() with no argument splits on any whitespace.\"]", "hints = []"),
    )
    .unwrap();
    validate(dir.path(), &labs).code(1).stdout(
        contains("stage `count` has no TODO(lab:count) marker in the starter")
            .and(contains("stage `count` has no hints")),
    );
}

#[test]
fn a_template_with_a_missing_variable_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let labs = fixture_copy(dir.path());
    fs::write(
        labs.join("labs/hello/python/starter/NOTES.md.hbs"),
        "{{#if (eq options.greeting \"hi\")}}{{no_such_var}}{{/if}}\n",
    )
    .unwrap();
    validate(dir.path(), &labs)
        .code(1)
        .stdout(contains("FAIL hello            python   templates render strictly").and(contains("NOTES.md.hbs")));
}
