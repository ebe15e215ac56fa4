//! What `lab check` and `lab todo` show: one line per distinct failure with its exception in
//! view, "Next:" pointing at work that is left, --verbose kept to the graded stage, and lines
//! that fit the terminal.

use crate::harness::Workspace;

/// Learner code whose first stage imports a module with a syntax error: every test of the
/// stage fails on the same line.
const BROKEN_GREET: &str = "GREETING = \"hello\"\n\n\ndef greet(name: str) -> str:\n    from . import broken\n    return broken.greet(name)\n\n\ndef count_words(text: str) -> int:\n    # TODO(lab:count): count whitespace-separated words\n    return -1\n";

#[test]
fn a_syntax_error_every_test_of_the_stage_meets_is_shown_once_with_its_exception_line() {
    let ws = Workspace::hello().with_pytest();
    ws.write("src/ws/greet.py", BROKEN_GREET);
    ws.write("src/ws/broken.py", "def greet(name):\n    return (\n        name,\n\n\ndef other():\n    pass\n");
    let out = ws.lab(["check"]).fails_with(1).stdout();
    let (early, full) = out.split_at(out.find("hello (python track").expect("the full report"));
    assert!(early.contains("✗ test_greets_by_name SyntaxError: '(' was never closed (and 1 more)"), "{out}");
    let stage = &full[full.find("Stage 1 Greet: 2 to go").expect("the stage")..];
    assert_eq!(stage.matches("✗ ").count(), 1, "{out}");
    assert!(
        stage.contains("✗ test_greets_by_name src/ws/broken.py:2\n      SyntaxError: '(' was never closed"),
        "{out}"
    );
    assert!(stage.contains("and 1 more test fails the same way: test_greeting_is_stripped"), "{out}");
}

#[test]
fn next_names_the_stages_first_failure_once_no_marker_of_it_is_left_in_the_learners_code() {
    let ws = Workspace::hello().with_pytest();
    ws.replace(
        "src/ws/greet.py",
        "    # TODO(lab:greet): return \"<greeting>, <name>!\" with the name stripped of spaces\n",
        "",
    );
    // The learner's own tests may mention the stage in a string: that is not work left.
    ws.write(
        "tests/test_mine.py",
        "import pytest\n\npending = pytest.mark.xfail(raises=NotImplementedError, reason=\"TODO(lab:greet)\")\n",
    );
    let out = ws.lab(["check"]).fails_with(1).stdout_lacks("TODO(lab:count)").stdout_lacks("test_mine").stdout();
    let next = out[out.find("Next:").expect("a Next line")..].split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        next,
        "Next: tests/grading/test_greet.py:5 make test_greets_by_name pass: AssertionError: assert 'hello' == 'hello, Ada!'"
    );
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    assert_eq!(doc["next_todo"], serde_json::Value::Null);
}

#[test]
fn verbose_shows_the_graded_stage_with_tracebacks_trimmed_to_the_workspace() {
    let ws = Workspace::hello().with_pytest();
    let out = ws.lab(["check", "--verbose"]).fails_with(1).stdout();
    assert!(out.contains("File \"tests/grading/test_greet.py\", line 5, in test_greets_by_name"), "{out}");
    assert!(out.contains("frames of pytest and libraries left out"), "{out}");
    for noise in ["site-packages", "pluggy", "test_counts_words", "_____ test_greets_by_name"] {
        assert!(!out.contains(noise), "{noise} in:\n{out}");
    }
    assert!(out.lines().count() < 60, "{out}");
    let doc = ws.lab(["check", "--json"]).fails_with(1).json();
    let output = doc["tests"][0]["output"].as_str().expect("the failure's traceback");
    assert!(output.starts_with("Traceback (most recent call last):") && !output.contains("site-packages"), "{output}");
}

#[test]
fn at_60_columns_lines_fit_and_break_between_words() {
    let ws = Workspace::hello().with_pytest();
    let out = ws.lab(["check"]).env("COLUMNS", "60").fails_with(1).stdout();
    for line in out.lines() {
        assert!(line.chars().count() <= 60, "{line:?} is wider than 60 columns:\n{out}");
    }
    let words = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(
            "Next: src/ws/greet.py:5 TODO(lab:greet) return \"<greeting>, <name>!\" with the name stripped of spaces"
        ),
        "{out}"
    );
    assert!(out.contains("Next: src/ws/greet.py:5  TODO(lab:greet)"), "{out}");
}

#[test]
fn todo_keeps_a_multi_line_comment_whole_and_skips_markers_in_strings() {
    let ws = Workspace::hello();
    ws.write(
        "src/ws/words.py",
        "def split(text):\n    # TODO(lab:count): split on any run of whitespace,\n    #   tabs and newlines included.\n    raise NotImplementedError(\"TODO(lab:count): split\")\n\n\ndef join(words):\n    pass  # TODO(lab:count)\n",
    );
    ws.lab(["todo", "--stage", "count"])
        .succeeds()
        .stdout_has("src/ws/words.py:2  split on any run of whitespace, tabs and newlines included.")
        .stdout_has("src/ws/words.py:8  in join()")
        .stdout_lacks("split\")");
    let doc = ws.lab(["todo", "--json", "--stage", "count"]).succeeds().json();
    assert_eq!(doc["total"], 3);
    let narrow = ws.lab(["todo"]).env("COLUMNS", "40").succeeds().stdout();
    assert!(narrow.lines().all(|l| l.chars().count() <= 40), "{narrow}");
}
