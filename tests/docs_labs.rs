//! The docs track end to end: a document lab scaffolded, half filled, and graded by the built-in
//! checker with file, line and reason.

mod common;

use std::fs;
use std::path::Path;

use common::lab;
use predicates::prelude::*;
use predicates::str::contains;

#[test]
fn a_half_filled_design_doc_shows_which_rules_fail_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    lab(dir.path()).args(["new", "design-doc", "ws", "--no-git"]).assert().success();
    let root = dir.path().join("ws");
    lab(&root).arg("check").assert().code(1).stdout(contains("0/21 tests"));
    // The reference document, with one arithmetic slip in the capacity block.
    common::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/design-doc/docs/solution"), &root);
    let design = root.join("docs/design.md");
    let text = fs::read_to_string(&design).unwrap();
    fs::write(&design, text.replace("average_qps = 451_273", "average_qps = 405_000")).unwrap();
    let out = lab(&root).args(["check", "--json"]).assert().code(1).get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let failing: Vec<&serde_json::Value> =
        doc["tests"].as_array().unwrap().iter().filter(|t| t["status"] != "pass").collect();
    assert_eq!(failing.len(), 1, "{failing:#?}");
    assert_eq!(failing[0]["name"], "numbers-capacity-block");
    assert_eq!(failing[0]["file"], "docs/design.md");
    assert!(failing[0]["line"].as_u64().unwrap() > 1);
    assert!(failing[0]["message"].as_str().unwrap().contains("405,000"), "{}", failing[0]["message"]);
    lab(&root)
        .arg("check")
        .assert()
        .code(1)
        .stdout(contains("✗ numbers-capacity-block docs/design.md:").and(contains("20/21 tests")));
}

#[test]
fn a_malformed_rules_file_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let labs = dir.path().join("labs");
    common::copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/design-doc"), &labs.join("design-doc"));
    fs::write(
        labs.join("design-doc/docs/grading/rules.toml"),
        "format_version = 1\n[[rule]]\nid = \"x\"\nkind = \"no-such-kind\"\n",
    )
    .unwrap();
    lab(dir.path()).args(["new", "design-doc", "ws", "--no-git", "--labs-dir"]).arg(&labs).assert().success();
    lab(&dir.path().join("ws"))
        .arg("check")
        .assert()
        .code(2)
        .stdout(contains("rules.toml is malformed").and(contains("Nothing was graded")));
}
