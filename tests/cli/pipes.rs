//! A reader that stops early (`lab ... | head -c1`, quitting a pager) is a normal end: every
//! command that prints exits 0 with nothing on stderr when its stdout is a closed pipe.

use crate::harness::{Lab, Workspace};

/// Runs `lab` into a closed pipe and requires a quiet exit 0.
#[track_caller]
fn ends_quietly(lab: Lab, what: &str) {
    let (code, stderr) = lab.into_closed_pipe();
    assert_eq!(code, Some(0), "`lab {what}` into a closed pipe: exit {code:?}, stderr:\n{stderr}");
    for bad in ["error", "panicked", "Broken pipe", "broken pipe"] {
        assert!(!stderr.contains(bad), "`lab {what}` into a closed pipe said {bad:?}:\n{stderr}");
    }
}

#[test]
fn catalog_and_help_commands_end_quietly() {
    let ws = Workspace::new();
    for args in [
        &["list"][..],
        &["show", "rate-limiter"],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["man"],
        &["--help"],
        &["--version"],
        &["dev", "check-tests", "design-doc"],
    ] {
        ends_quietly(ws.lab(args), &args.join(" "));
    }
}

#[test]
fn writing_commands_end_quietly_and_still_write() {
    let ws = Workspace::with_fixtures();
    ends_quietly(ws.lab(["new", "hello", "made", "--no-git"]), "new");
    assert!(ws.exists("made/.lab/workspace.toml"), "lab new wrote its workspace before printing");
    ends_quietly(ws.lab(["new", "hello", "planned", "--dry-run"]), "new --dry-run");
    ends_quietly(ws.lab(["dev", "new", "fresh-lab"]), "dev new");
    assert!(ws.exists("fresh-lab/lab.toml"));
    ends_quietly(ws.lab(["dev", "solve", "hello", "solved"]), "dev solve");
    assert!(ws.exists("solved/.lab/workspace.toml"));
}

#[test]
fn workspace_commands_end_quietly() {
    let ws = Workspace::hello().with_pytest();
    for args in [
        &["check"][..],
        &["check", "--json"],
        &["check", "--quiet"],
        &["todo"],
        &["todo", "--json"],
        &["hint"],
        &["progress"],
        &["progress", "--json"],
        &["status"],
        &["status", "--json"],
        &["report"],
    ] {
        ends_quietly(ws.lab(args), &args.join(" "));
    }
    ws.write("src/ws/greet.py", "edited\n");
    ends_quietly(ws.lab(["reset", "src/ws/greet.py", "--yes"]), "reset");
    assert!(!ws.read("src/ws/greet.py").starts_with("edited"), "reset restored the file before printing");
}

#[test]
fn setup_ends_quietly() {
    // A docs workspace: its setup has nothing to install, and still says it is ready.
    let ws = Workspace::new();
    ws.lab(["new", "design-doc", "doc", "--no-git"]).succeeds();
    ws.lab(["setup"]).in_dir("doc").succeeds().stdout_has("Ready: run `lab check`.");
    ends_quietly(ws.lab(["setup"]).in_dir("doc"), "setup");
}

#[test]
fn validate_ends_quietly() {
    ends_quietly(Workspace::with_fixtures().with_pytest().lab(["validate", "hello", "--track", "python"]), "validate");
}
