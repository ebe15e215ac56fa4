//! Mermaid diagrams in docs workspaces: parsed by the real parser when `lab setup` could install
//! it, scanned structurally (and said so) when not; a parser that breaks is an error, never a
//! pass, and an install that fails leaves nothing that looks installed.
//!
//! The tests that need the real parser share one install under target/tmp (npm ci, some 10 s on
//! first use); where it cannot be had they print "skipped: …", and fail under LAB_REQUIRE_TOOLS=1.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{copy_dir, mermaid, repo, Workspace};

/// `lab new <lab> ws` with its reference solution laid over it; commands then run in `ws`.
fn solved(lab: &str) -> Workspace {
    let ws = Workspace::new();
    ws.lab(["new", lab, "ws", "--no-git"]).succeeds();
    copy_dir(&repo().join("labs").join(lab).join("docs/solution"), &ws.join("ws"));
    ws
}

fn failing(doc: &Value) -> Vec<&Value> {
    doc["tests"].as_array().expect("tests").iter().filter(|t| t["status"] != "pass").collect()
}

/// The 1-based line of the first line holding `text`.
fn line_of(ws: &Workspace, rel: &str, text: &str) -> u64 {
    let doc = ws.read(rel);
    doc.lines().position(|l| l.contains(text)).unwrap_or_else(|| panic!("{rel} has no {text:?}")) as u64 + 1
}

/// A folder holding only executable scripts, to put first (or alone) on PATH or name in LAB_NODE.
fn bin(ws: &Workspace, scripts: &[(&str, &str)]) -> PathBuf {
    let dir = ws.scratch("bin");
    fs::create_dir_all(&dir).unwrap();
    for (name, body) in scripts {
        let path = dir.join(name);
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::process::Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    }
    dir
}

#[test]
fn without_node_setup_and_check_say_the_diagrams_are_only_scanned() {
    let ws = solved("design-doc");
    let empty = bin(&ws, &[]);
    let setup = ws.lab(["setup"]).in_dir("ws").env("PATH", &empty).succeeds();
    assert!(setup.stderr().contains("checked structurally only, not parsed"), "{}", setup.stderr());
    assert!(!ws.exists("ws/.lab/mermaid"));
    ws.lab(["check"])
        .in_dir("ws")
        .env("PATH", &empty)
        .succeeds()
        .stdout_has("note: 2 Mermaid diagrams were checked structurally, not parsed")
        .stdout_has("25/25 tests");
    let doc = ws.lab(["check", "--json"]).in_dir("ws").env("PATH", &empty).succeeds().json();
    assert_eq!(doc["status"], "pass");
    assert_eq!(doc["diagrams"]["checked"], "structural");
    assert_eq!(doc["diagrams"]["count"], 2);
    assert_eq!(doc["diagrams"]["parser"], Value::Null);
    assert!(doc["diagrams"]["note"].as_str().unwrap().contains("`lab setup` installs it"), "{}", doc["diagrams"]);
}

#[test]
fn a_failed_or_interrupted_install_leaves_nothing_that_looks_installed() {
    let ws = solved("design-doc");
    let ready = ws.scratch("npm-started");
    // A node new enough, and an npm beside it that fails, then one that hangs mid-download.
    let node =
        bin(&ws, &[("node", "echo v20.11.1"), ("npm", "echo 'npm error network ETIMEDOUT' >&2; exit 1")]).join("node");
    // What a setup killed outright left: its process (no such pid) is gone.
    ws.write("ws/.lab/.mermaid.partial-999999999/node_modules/x.js", "");
    ws.lab(["setup"])
        .in_dir("ws")
        .env("LAB_NODE", &node)
        .fails_with(2)
        .stderr_has("npm error network ETIMEDOUT")
        .stderr_has("installing the Mermaid parser failed; nothing was left half-installed");
    assert_eq!(
        ws.entries("ws/.lab").iter().filter(|e| e.contains("mermaid")).count(),
        0,
        "{:?}",
        ws.entries("ws/.lab")
    );
    bin(&ws, &[("npm", &format!("touch {}; sleep 60", ready.display()))]);
    let setup = ws.lab(["setup"]).in_dir("ws").env("LAB_NODE", &node).spawn();
    crate::harness::wait_for("npm to start", crate::harness::PATIENCE, || ready.exists());
    setup.signal(libc::SIGTERM);
    let (status, _, stderr) = setup.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert_eq!(
        ws.entries("ws/.lab").iter().filter(|e| e.contains("mermaid")).count(),
        0,
        "{:?}",
        ws.entries("ws/.lab")
    );
    ws.lab(["check", "--json"])
        .in_dir("ws")
        .env("LAB_NODE", &node)
        .succeeds()
        .stdout_has("\"checked\": \"structural\"");
}

/// A parser folder that passes for installed (the files lab writes and the ready mark) without
/// npm: for tests of what check does when node misbehaves.
fn fake_install(dir: &Path) {
    fs::create_dir_all(dir.join("node_modules")).unwrap();
    for file in ["package.json", "package-lock.json", "parse.mjs"] {
        fs::copy(repo().join("src/runner/mermaid").join(file), dir.join(file)).unwrap();
    }
    fs::write(dir.join("lab-ready"), "mermaid 11.17.2\n").unwrap();
}

#[test]
fn a_node_that_crashes_hangs_or_answers_nonsense_is_an_error_of_the_check_never_a_pass() {
    let ws = solved("design-doc");
    fake_install(&ws.join("ws/.lab/mermaid"));
    let dir = bin(
        &ws,
        &[
            ("crash", "echo 'FATAL ERROR: heap out of memory' >&2; exit 134"),
            ("hang", "sleep 60"),
            ("babble", "echo hello"),
        ],
    );
    let doc = ws.lab(["check", "--json"]).in_dir("ws").env("LAB_NODE", dir.join("crash")).fails_with(2).json();
    assert_eq!(doc["status"], "error");
    let message = doc["message"].as_str().unwrap();
    assert!(
        message.contains("the Mermaid diagrams could not be parsed") && message.contains("exit code 134"),
        "{message}"
    );
    assert!(message.contains("heap out of memory"), "the command's output is shown: {message}");
    assert!(failing(&doc).iter().all(|t| t["status"] == "error"), "nothing counts as passed");
    ws.lab(["check", "--timeout", "2"])
        .in_dir("ws")
        .env("LAB_NODE", dir.join("hang"))
        .fails_with(2)
        .stdout_has("timed out after 2 s")
        .stdout_has("Nothing was graded");
    ws.lab(["check"])
        .in_dir("ws")
        .env("LAB_NODE", dir.join("babble"))
        .fails_with(2)
        .stdout_has("answered unexpectedly");
    ws.lab(["check"]).in_dir("ws").env("PATH", &dir).fails_with(2).stdout_has("but `node` is not on PATH to run it");
}

#[test]
fn the_real_parser_fails_the_rule_that_read_a_diagram_it_rejects_at_the_diagrams_line() {
    let Some(parser) = mermaid::parser_or_skip("the_real_parser_fails_the_rule_that_read_a_diagram_it_rejects") else {
        return;
    };
    let ws = solved("design-doc");
    let doc = ws.lab(["check", "--json"]).in_dir("ws").env("LAB_MERMAID", &parser).succeeds().json();
    assert_eq!(
        doc["diagrams"],
        serde_json::json!({"checked": "parsed", "count": 2, "parser": "mermaid 11.17.2", "rejected": 0, "note": null})
    );
    // Both pass the structural scan; Mermaid refuses both.
    ws.replace("ws/docs/design.md", "R[Rider app] -->|HTTPS|", "R[Rider app] -->>|HTTPS|");
    ws.replace("ws/docs/design.md", "R->>T: POST /v1/rides", "R->>>T: POST /v1/rides");
    let doc = ws.lab(["check", "--json"]).in_dir("ws").env("LAB_MERMAID", &parser).fails_with(1).json();
    let failed = failing(&doc);
    let names: Vec<&str> = failed.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["artifacts-flowchart", "artifacts-sequence"], "{failed:#?}");
    assert_eq!(failed[0]["file"], "docs/design.md");
    assert_eq!(failed[0]["line"], line_of(&ws, "ws/docs/design.md", "-->>|HTTPS|"));
    assert_eq!(failed[1]["line"], line_of(&ws, "ws/docs/design.md", "R->>>T"));
    let message = failed[0]["message"].as_str().unwrap();
    assert!(message.starts_with("the Mermaid parser (mermaid 11.17.2) rejects this diagram: Expecting "), "{message}");
    assert!(message.contains("got 'TAGEND'") && message.contains("-->>|HTTPS|"), "{message}");
    assert_eq!(doc["diagrams"]["rejected"], 2);
    ws.lab(["check"])
        .in_dir("ws")
        .env("LAB_MERMAID", &parser)
        .fails_with(1)
        .stdout_has("2 Mermaid diagrams were parsed with mermaid 11.17.2")
        .stdout_has("✗ artifacts-flowchart docs/design.md:");
}

#[test]
fn the_real_parser_accepts_the_reference_solutions() {
    let Some(parser) = mermaid::parser_or_skip("the_real_parser_accepts_the_reference_solutions") else {
        return;
    };
    for lab in ["design-doc", "capstone"] {
        let ws = solved(lab);
        let doc = ws.lab(["check", "--json"]).in_dir("ws").env("LAB_MERMAID", &parser).succeeds().json();
        assert_eq!(doc["diagrams"]["checked"], "parsed", "{lab}");
        assert_eq!(doc["diagrams"]["rejected"], 0, "{lab}");
        assert!(doc["diagrams"]["count"].as_u64().unwrap() >= 2, "{lab}: {}", doc["diagrams"]);
    }
}
