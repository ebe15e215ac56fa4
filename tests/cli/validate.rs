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

#[test]
fn every_mutant_of_the_fixture_lab_is_caught() {
    Workspace::with_fixtures()
        .with_pytest()
        .lab(["validate", "hello"])
        .succeeds()
        .stdout_has("ok   hello            python   grading strength: mutants caught")
        .stdout_has("2/2 mutants caught")
        .stdout_has("ok   hello            rust     grading strength: mutants caught")
        .stdout_has("1/1 mutants caught");
}

#[test]
fn a_mutant_no_test_catches_fails_validation_and_the_solution_is_put_back() {
    let ws = broken(|ws, lab| {
        // Equivalent to the solution: every test still passes, so the suite cannot catch it.
        ws.write(
            lab.join("python/mutants/equivalent.toml"),
            "format_version = 1\nstage = \"count\"\ndescription = \"counts words by a regular expression\"\n\n\
             [[edit]]\nfile = \"src/{{package_name}}/greet.py\"\nfind = \"len(text.split())\"\n\
             replace = \"len(__import__('re').findall(r'\\\\S+', text))\"\n",
        );
        ws.write(
            lab.join("python/mutants/missing-text.toml"),
            "format_version = 1\nstage = \"greet\"\ndescription = \"d\"\n\n\
             [[edit]]\nfile = \"src/{{package_name}}/greet.py\"\nfind = \"not in the file\"\nreplace = \"x\"\n",
        );
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("FAIL hello            python   grading strength: mutants caught")
        .stdout_has("2/4 mutants caught")
        .stdout_has("`equivalent` (count) survived: every test of the stage passed. Wrong: counts words by a regular expression")
        .stdout_has("`missing-text` does not apply")
        .stdout_has("occurs 0 times");
}

#[test]
fn a_malformed_mutant_names_its_file() {
    let ws = broken(|ws, lab| {
        ws.write(lab.join("python/mutants/bad.toml"), "format_version = 1\nstage = \"nope\"\ndescription = \"d\"\n[[edit]]\nfile = \"a\"\nfind = \"b\"\nreplace = \"c\"\n")
    });
    validate_python(&ws).fails_with(1).stdout_has("bad.toml: stage `nope` is not a stage of lab `hello`");
}

#[test]
fn a_test_skipped_for_a_missing_tool_is_never_valid_unless_allowed() {
    let ws = broken(|ws, lab| {
        ws.replace(
            lab.join("python/grading/test_greet.py.hbs"),
            "def test_counts_nothing():\n",
            "def test_counts_nothing():\n    import pytest\n    pytest.skip(\"frobtool not installed: apt-get install frobtool\")\n",
        )
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("SKIP hello            python   solution passes every test")
        .stdout_has("3 of 4 tests pass; 1 could not run here")
        .stdout_has("frobtool not installed")
        // The one test that catches this mutant is the skipped one: unproven, not caught.
        .stdout_has("SKIP hello            python   grading strength: mutants caught")
        .stdout_has("`splits-on-space`: only skipped tests could catch it (test_counts_nothing)")
        // The solution row of each option variant (greeting=hello, greeting=hi) and the mutants row.
        .stdout_has("SKIP hello            python   solution passes every test (greeting=hi)")
        .stdout_has("Valid except 3 check(s) that could not run here");
    validate_python(&ws)
        .arg("--allow-missing-tools")
        .succeeds()
        .stdout_has("SKIP hello            python   solution passes every test")
        .stdout_lacks("All labs valid.");
}

#[test]
fn a_code_track_without_mutants_is_not_valid() {
    let ws = broken(|_, lab| {
        std::fs::remove_dir_all(lab.join("python/mutants")).unwrap();
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("FAIL hello            python   grading strength: mutants caught")
        .stdout_has("no mutants: add known-wrong implementations under python/mutants/");
}

#[test]
fn every_choice_of_every_option_is_graded_starter_and_solution() {
    Workspace::with_fixtures()
        .with_pytest()
        .lab(["validate", "hello", "--track", "python"])
        .succeeds()
        .stdout_has("ok   hello            python   starter fails every stage (greeting=hi)")
        .stdout_has("ok   hello            python   solution passes every test (greeting=hi)");
}

#[test]
fn a_choice_with_its_own_solution_folder_is_graded_with_that_solution() {
    let ws = broken(|ws, lab| {
        // The solution for greeting=hi forgets the option: the default passes, the variant fails.
        ws.write(
            lab.join("python/solutions/greeting=hi/src/{{package_name}}/greet.py"),
            "def greet(name: str) -> str:\n    return f\"hello, {name.strip()}!\"\n\n\n\
             def count_words(text: str) -> int:\n    return len(text.split())\n",
        )
    });
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("ok   hello            python   solution passes every test\n")
        .stdout_has("FAIL hello            python   solution passes every test (greeting=hi)")
        .stdout_has("test_greets_by_name");
}

#[test]
fn a_solution_folder_naming_no_choice_is_refused() {
    let ws = broken(|ws, lab| ws.write(lab.join("python/solutions/greeting=hey/NOTES.md"), "x\n"));
    validate_python(&ws)
        .fails_with(1)
        .stdout_has("FAIL hello            python   templates render strictly")
        .stdout_has("`hey` is not a choice of option `greeting` (choices: hello, hi)");
}

#[test]
fn a_mutant_of_one_choice_is_graded_on_that_choice_only() {
    let ws = broken(|ws, lab| {
        ws.write(
            lab.join("python/mutants/hi-says-hello.toml"),
            "format_version = 1\nstage = \"greet\"\ndescription = \"the greeting ignores the option\"\n\
             options = { greeting = \"hi\" }\n\n\
             [[edit]]\nfile = \"src/{{package_name}}/greet.py\"\nfind = \"GREETING = \\\"hi\\\"\"\n\
             replace = \"GREETING = \\\"hello\\\"\"\n",
        )
    });
    // On the default variant the edit could not even apply; it is graded where it belongs.
    validate_python(&ws)
        .succeeds()
        .stdout_has("ok   hello            python   grading strength: mutants caught\n       2/2 mutants caught")
        .stdout_has(
            "ok   hello            python   grading strength: mutants caught (greeting=hi)\n       1/1 mutants caught",
        );
}

#[test]
fn lint_runs_the_declared_linters_on_the_rendered_starter_and_solution() {
    Workspace::with_fixtures()
        .lab(["validate", "hello", "--lint"])
        .succeeds()
        // The starter's greet.py holds the learner's TODO markers: only __init__.py is linted there.
        .stdout_has("ok   hello            python   lint (compiles, starter)\n       1 file(s)")
        .stdout_has("ok   hello            python   lint (no print, solution)\n       2 file(s)")
        .stdout_has("ok   hello            rust     lint (rustfmt, solution)")
        .stdout_lacks("solution passes every test")
        .stdout_has("All labs valid.");
}

#[test]
fn a_lint_finding_fails_except_in_the_files_the_starter_asks_the_learner_to_change() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    let lab = labs.join("labs/hello");
    let starter = lab.join("python/starter/src/{{package_name}}");
    ws.replace(starter.join("greet.py.hbs"), "    return -1\n", "    print(text)\n    return -1\n");
    let validate = || ws.lab(["validate", "hello", "--track", "python", "--lint"]);
    validate().succeeds().stdout_has("ok   hello            python   lint (no print, starter)");
    std::fs::write(starter.join("__init__.py"), "print(\"loaded\")\n").unwrap();
    validate()
        .fails_with(1)
        .stdout_has("FAIL hello            python   lint (no print, starter)")
        .stdout_has("__init__.py:1:print(\"loaded\")")
        .stdout_has("ok   hello            python   lint (compiles, starter)");
}

#[test]
fn a_linter_missing_here_is_skipped_never_passed_and_a_code_track_must_declare_some() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    let lab = labs.join("labs/hello");
    ws.replace(lab.join("lab.toml"), "run = [\"cargo\", \"fmt\", \"--check\"]", "run = [\"lab-no-such-linter\"]");
    ws.lab(["validate", "hello", "--track", "rust", "--lint"])
        .fails_with(1)
        .stdout_has("SKIP hello            rust     lint (rustfmt, solution)")
        .stdout_has("skipped: lab-no-such-linter not found on PATH");
    let text = std::fs::read_to_string(lab.join("lab.toml")).unwrap();
    let cut = text.find("[[tracks.rust.lint]]").unwrap();
    let end = text[cut..].find("\n\n").map_or(text.len(), |e| cut + e);
    std::fs::write(lab.join("lab.toml"), format!("{}{}", &text[..cut], &text[end..])).unwrap();
    ws.lab(["validate", "hello", "--track", "rust", "--lint"])
        .fails_with(1)
        .stdout_has("FAIL hello            rust     linters declared")
        .stdout_has("a code track must declare its ecosystem's linters");
}
