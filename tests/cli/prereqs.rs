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
