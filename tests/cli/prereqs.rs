//! What a learner needs before the first check, and what they are told when it is missing:
//! `lab show` lists each track's prerequisites, `lab setup` refuses an interpreter too old for
//! the workspace or one that cannot make a venv (in one line, writing nothing), shows the
//! installer's own error, and leaves nothing half-installed; every `--json` command prints a
//! JSON document even when it fails.

use crate::harness::Workspace;

#[test]
fn check_json_in_a_workspace_that_is_not_set_up_prints_an_error_document() {
    let ws = Workspace::hello();
    let ran = ws.lab(["check", "--json"]).fails_with(2).stderr_has("this workspace is not set up");
    let doc = ran.json();
    assert_eq!(doc["version"], 3, "{doc}");
    assert_eq!(doc["status"], "error", "{doc}");
    let message = doc["message"].as_str().expect("a message");
    assert!(message.contains("this workspace is not set up") && message.contains("lab setup"), "{message}");
}

#[test]
fn every_json_command_outside_a_workspace_prints_an_error_document() {
    let ws = Workspace::new();
    for command in [&["todo", "--json"][..], &["progress", "--json"], &["check", "--json"]] {
        let ran = ws.lab(command).fails_with(2);
        let doc = ran.json();
        assert_eq!(doc["status"], "error", "{command:?}: {doc}");
        assert!(
            doc["message"].as_str().is_some_and(|m| m.contains("not inside a lab workspace")),
            "{command:?}: {doc}"
        );
    }
    let missing = ws.join("no-such-folder");
    let doc = ws.lab(["status", "--json"]).arg(&missing).fails_with(2).json();
    assert_eq!(doc["status"], "error", "{doc}");
    assert!(doc.get("version").is_none(), "only lab check's documents carry a version: {doc}");
}

#[test]
fn without_json_an_error_goes_to_stderr_only() {
    Workspace::new().lab(["todo"]).fails_with(2).stdout_is("").stderr_has("not inside a lab workspace");
}

#[test]
fn show_lists_each_tracks_prerequisites_from_the_starter_and_lab_toml() {
    let ws = Workspace::new();
    ws.lab(["show", "rate-limiter"])
        .succeeds()
        .stdout_has(
            "Prerequisites:\n  python: Python 3.11+ with venv; optional: redis-server (to grade against a real Redis",
        )
        .stdout_has("  rust: cargo (Rust 1.88+); optional: redis-server (");
    ws.lab(["show", "microservices"]).succeeds().stdout_has("optional: promtool (for the alert-rule tests");
    ws.lab(["show", "design-doc"]).succeeds().stdout_has("docs: nothing beyond lab; optional: Node.js 20+ with npm");
    // The fixture's scaffold allows Python 3.9 and its rust starter names no rust-version.
    ws.lab(["show", "hello", "--labs-dir"])
        .arg(crate::harness::fixture_labs())
        .succeeds()
        .stdout_has("  python: Python 3.9+ with venv\n  rust: cargo\n");
}
