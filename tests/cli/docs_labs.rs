//! The docs track end to end: a document lab scaffolded, half filled, and graded by the built-in
//! checker with file, line and reason.

use std::fs;

use crate::harness::{copy_dir, repo, Workspace};

#[test]
fn a_half_filled_design_doc_shows_which_rules_fail_where_and_why() {
    let ws = Workspace::new();
    ws.lab(["new", "design-doc", "ws", "--no-git"]).succeeds();
    ws.lab(["check"]).in_dir("ws").fails_with(1).stdout_has("0/25 tests");
    // The reference document, with one arithmetic slip in the capacity block.
    copy_dir(&repo().join("labs/design-doc/docs/solution"), &ws.join("ws"));
    ws.replace("ws/docs/design.md", "average_qps = 451_273", "average_qps = 405_000");
    let doc = ws.lab(["check", "--json"]).in_dir("ws").fails_with(1).json();
    let failing: Vec<&serde_json::Value> =
        doc["tests"].as_array().unwrap().iter().filter(|t| t["status"] != "pass").collect();
    assert_eq!(failing.len(), 1, "{failing:#?}");
    assert_eq!(failing[0]["name"], "numbers-capacity-block");
    assert_eq!(failing[0]["file"], "docs/design.md");
    assert!(failing[0]["line"].as_u64().unwrap() > 1);
    assert!(failing[0]["message"].as_str().unwrap().contains("405,000"), "{}", failing[0]["message"]);
    ws.lab(["check"])
        .in_dir("ws")
        .fails_with(1)
        .stdout_has("✗ numbers-capacity-block docs/design.md:")
        .stdout_has("24/25 tests");
}

#[test]
fn a_malformed_rules_file_is_an_error_not_a_pass() {
    let ws = Workspace::new();
    let labs = ws.scratch("labs");
    copy_dir(&repo().join("labs/design-doc"), &labs.join("design-doc"));
    fs::write(
        labs.join("design-doc/docs/grading/rules.toml.hbs"),
        "format_version = 1\n[[rule]]\nid = \"x\"\nkind = \"no-such-kind\"\n",
    )
    .unwrap();
    ws.lab(["new", "design-doc", "ws", "--no-git", "--labs-dir"]).arg(&labs).succeeds();
    ws.lab(["check"]).in_dir("ws").fails_with(2).stdout_has("rules.toml is malformed").stdout_has("Nothing was graded");
}

#[test]
fn a_document_labs_report_states_checks_passed_not_a_grade() {
    let ws = Workspace::new();
    ws.lab(["new", "design-doc", "ws", "--no-git"]).succeeds();
    ws.lab(["check"]).in_dir("ws").fails_with(1);
    ws.lab(["report"]).in_dir("ws").succeeds();
    let readme = ws.read("ws/README.md");
    let section = &readme[readme.find("<!-- lab:progress -->").expect("a progress section")..];
    assert!(section.contains("0/25 automated document checks passed"), "{section}");
    assert!(
        !section.contains("tests passing") && !section.contains('%'),
        "no percentage that reads as a grade: {section}"
    );
    assert!(section.contains("whether the design is good is a reviewer's judgement") && section.contains("REVIEW.md"));
}
