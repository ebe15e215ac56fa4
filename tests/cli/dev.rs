//! `lab dev`: the authoring commands.

use crate::harness::Workspace;

#[test]
fn a_new_lab_skeleton_validates_on_its_first_run_on_both_tracks() {
    let ws = Workspace::new().with_pytest();
    ws.lab(["dev", "new", "cache-aside", "--track", "python", "--track", "rust"])
        .succeeds()
        .stdout_has("Created lab cache-aside in cache-aside")
        .stdout_has("lab validate --labs-dir . cache-aside");
    assert_eq!(ws.entries("cache-aside"), ["lab.toml", "python", "rust"]);
    assert_eq!(ws.entries("cache-aside/python"), ["grading", "mutants", "solution", "starter"]);
    let validated = ws.lab(["--labs-dir", ".", "validate", "cache-aside"]).succeeds();
    for track in ["python", "rust"] {
        for row in [
            "starter fails every stage",
            "solution passes every test",
            "reported tests are exactly the declared ones",
            "grading strength: mutants caught",
        ] {
            let line = format!("ok   cache-aside      {track:<8} {row}");
            assert!(validated.stdout().contains(&line), "missing `{line}` in:\n{}", validated.stdout());
        }
    }
    validated.stdout_has("2/2 mutants caught").stdout_has("All labs valid.");
    ws.lab(["--labs-dir", ".", "dev", "check-tests", "cache-aside"])
        .succeeds()
        .stdout_has("cache-aside (python): 2 tests, declared and defined alike")
        .stdout_has("cache-aside (rust): 2 tests, declared and defined alike");
}

#[test]
fn a_new_lab_goes_under_labs_when_the_folder_has_one() {
    let ws = Workspace::new();
    ws.write("labs/.keep", "");
    ws.lab(["dev", "new", "queue-lab", "--quiet"]).succeeds().stdout_is("");
    assert_eq!(ws.entries("labs/queue-lab"), ["lab.toml", "python"]);
}

#[test]
fn a_bad_id_or_a_folder_in_use_is_refused_and_nothing_is_written() {
    let ws = Workspace::new();
    ws.lab(["dev", "new", "Bad_Id"]).fails_with(2).stderr_has("is not a lab id");
    assert!(ws.entries(".").is_empty(), "nothing written for a bad id");
    ws.write("taken/notes.md", "mine\n");
    ws.lab(["dev", "new", "fine", "--dir", "taken"]).fails_with(2).stderr_has("not empty");
    assert_eq!(ws.entries("taken"), ["notes.md"]);
}

#[test]
fn check_tests_names_what_is_declared_but_not_defined_and_the_reverse() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    ws.lab(["dev", "check-tests", "hello"])
        .succeeds()
        .stdout_has("ok   hello (python): 4 tests, declared and defined alike")
        .stdout_has("ok   hello (rust): 4 tests, declared and defined alike");
    ws.replace(labs.join("labs/hello/lab.toml"), "\"test_counts_nothing\"]", "\"test_counts_none\"]");
    ws.replace(labs.join("labs/hello/rust/grading/tests/grading.rs.hbs"), "fn counts_nothing()", "fn counts_zero()");
    ws.lab(["dev", "check-tests", "hello"])
        .fails_with(1)
        .stdout_has("DIFF hello (python): 4 declared, 4 defined")
        .stdout_has("declared in lab.toml, not defined by the suite: test_counts_none")
        .stdout_has("defined by the suite, declared by no stage: test_counts_nothing")
        .stdout_has("declared in lab.toml, not defined by the suite: counts_nothing")
        .stdout_has("defined by the suite, declared by no stage: counts_zero");
}

#[test]
fn a_test_name_defined_twice_is_refused() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    // A second test binary with a test of the same name: libtest reports both as `greets_by_name`.
    std::fs::write(labs.join("labs/hello/rust/grading/tests/again.rs"), "#[test]\nfn greets_by_name() {}\n").unwrap();
    ws.lab(["dev", "check-tests", "hello"])
        .fails_with(1)
        .stdout_has("DIFF hello (rust)")
        .stdout_has("defined more than once in the suite: greets_by_name");
    ws.lab(["validate", "hello", "--track", "rust"])
        .fails_with(1)
        .stdout_has("FAIL hello            rust     test names are unique in the suite");
}

#[test]
fn solve_writes_a_workspace_that_passes_its_grading() {
    let ws = Workspace::with_fixtures().with_pytest();
    ws.lab(["dev", "solve", "hello", "solved"]).succeeds().stdout_has("with its reference solution");
    ws.lab(["check", "--quiet"]).in_dir("solved").succeeds().stdout_is("hello: pass (4/4 tests, 2/2 stages)\n");
    ws.lab(["dev", "solve", "hello", "solved"]).fails_with(2).stderr_has("not empty");
}

#[test]
fn solve_with_an_option_writes_that_choice_and_its_solution() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    ws.write(
        labs.join("labs/hello/python/solutions/greeting=hi/NOTES.md"),
        "Only the greeting=hi solution has this file.\n",
    );
    let ws = ws.with_pytest();
    ws.lab(["dev", "solve", "hello", "solved", "--set", "greeting=hi"]).succeeds();
    assert!(ws.read("solved/src/hello/greet.py").contains("GREETING = \"hi\""));
    assert!(ws.exists("solved/NOTES.md"), "the variant's own solution folder was laid over");
    ws.lab(["dev", "solve", "hello", "plain"]).succeeds();
    assert!(!ws.exists("plain/NOTES.md"), "the default choice keeps solution/");
    ws.lab(["dev", "solve", "hello", "bad", "--set", "greeting=hey"])
        .fails_with(2)
        .stderr_has("`hey` is not a choice for option `greeting`");
    assert!(!ws.exists("bad"));
}
