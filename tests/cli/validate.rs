//! `lab validate` on the fixture lab and on a lab broken in each way it must catch.

use std::path::Path;

use crate::harness::{Lab, Workspace};

/// A workspace whose labs are a copy of the fixture labs, with the `hello` lab edited by `breaks`.
fn broken(breaks: impl FnOnce(&Workspace, &Path)) -> Workspace {
    let (ws, labs) = Workspace::with_fixtures_copy();
    breaks(&ws, &labs.join("labs/hello"));
    ws.with_pytest()
}

fn validate_python(ws: &Workspace) -> Lab {
    ws.lab(["validate", "hello", "--track", "python"])
}

#[test]
fn the_fixture_lab_is_valid_on_both_tracks() {
    Workspace::with_fixtures()
        .with_pytest()
        .lab(["validate", "hello"])
        .succeeds()
        .stdout_has("ok   hello            python   solution passes every test")
        .stdout_has("ok   hello            rust     solution passes every test")
        .stdout_has("All labs valid.");
}

#[test]
fn a_solution_that_fails_a_test_is_caught() {
    let ws = broken(|ws, lab| {
        ws.replace(lab.join("python/solution/src/{{package_name}}/greet.py.hbs"), "name.strip()", "name")
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("FAIL hello            python   solution passes every test")
        .stdout_has("test_greeting_is_stripped");
}

#[test]
fn a_starter_that_already_passes_a_stage_is_caught() {
    let ws = broken(|ws, lab| {
        ws.replace(
            lab.join("python/starter/src/{{package_name}}/greet.py.hbs"),
            "    return -1\n",
            "    return len(text.split())\n",
        )
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("FAIL hello            python   starter fails every stage")
        .stdout_has("stage `count` passes on the starter")
        .stdout_has("`test_counts_words` passes on the starter");
}

#[test]
fn undeclared_and_unreported_tests_are_caught() {
    let ws = broken(|ws, lab| ws.replace(lab.join("lab.toml"), "\"test_counts_nothing\"]", "\"test_counts_none\"]"));
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("reported `test_counts_nothing`, which lab.toml does not declare")
        .stdout_has("`test_counts_none` is declared but the runner never reported it");
}

#[test]
fn a_stage_without_a_todo_marker_or_hints_is_caught() {
    let ws = broken(|ws, lab| {
        ws.replace(lab.join("python/starter/src/{{package_name}}/greet.py.hbs"), "TODO(lab:count)", "TODO");
        ws.replace(
            lab.join("lab.toml"),
            "hints = [\"str.split() with no argument splits on any whitespace.\"]",
            "hints = []",
        );
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("stage `count` has no TODO(lab:count) marker in the starter")
        .stdout_has("stage `count` has no hints");
}

#[test]
fn a_template_with_a_missing_variable_is_caught() {
    let ws = broken(|ws, lab| {
        ws.write(
            lab.join("python/starter/NOTES.md.hbs"),
            "{{#if (eq options.greeting \"hi\")}}{{no_such_var}}{{/if}}\n",
        )
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("FAIL hello            python   templates render strictly")
        .stdout_has("NOTES.md.hbs");
}
