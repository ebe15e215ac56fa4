//! Documents written to probe the document checker, each graded through `lab check` like a
//! learner's: good documents in the formats people really write must pass every stage, and
//! adversarial ones (filler, keyword stuffing, another system's copy, numbers that disagree,
//! absurd inputs) must fail at least one. Each case is a TOML file under
//! tests/fixtures/doc-cases/{good,adversarial}/<lab>/ describing how it is made from the lab's
//! starter or reference solution:
//!
//! ```toml
//! description = "why this document must pass (or fail)"
//! system = "whatsapp"        # the option chosen with `lab new --set system=...` (default: the lab's)
//! base = "solution"          # start from the reference solution (default) or "starter"
//! solution_of = "uber"       # lay another choice's reference solution instead
//! [[edit]]                   # exact text, found exactly once, replaced
//! file = "docs/design.md"
//! find = "..."
//! replace = "..."
//! [[write]]                  # a whole file written (new or replaced)
//! file = "docs/adr/0001-x.md"
//! text = "..."
//! [[remove]]
//! file = "docs/adr/0003-y.md"
//! [[clear]]                  # every file of a folder but the template removed
//! dir = "docs/adr"
//! [[section]]                # a section's body (up to the next heading as high) replaced
//! file = "docs/design.md"
//! heading = "Context and scope"
//! text = "..."
//! [[block]]                  # the nth (from 0) fenced block of a language replaced
//! file = "docs/design.md"
//! lang = "mermaid"
//! nth = 0
//! text = "flowchart LR\nA --> B\n"
//! ```
//!
//! `crlf = true` saves every Markdown file with Windows line endings.
//!
//! An adversarial case may name `catches = ["rule-id", ...]`: one of those tests must fail, so
//! the document is caught for the reason it was written for, not by accident.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::harness::{copy_dir, repo, Workspace};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    system: Option<String>,
    #[serde(default = "solution")]
    base: String,
    solution_of: Option<String>,
    #[serde(default)]
    edit: Vec<Edit>,
    #[serde(default)]
    write: Vec<Write>,
    #[serde(default)]
    remove: Vec<Remove>,
    #[serde(default)]
    clear: Vec<Clear>,
    #[serde(default)]
    section: Vec<Section>,
    #[serde(default)]
    block: Vec<Block>,
    #[serde(default)]
    catches: Vec<String>,
    /// Save every Markdown file with CRLF line endings, as some editors do.
    #[serde(default)]
    crlf: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Clear {
    dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    file: String,
    heading: String,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    file: String,
    lang: String,
    nth: usize,
    text: String,
}

/// Replaces the body of the section headed `heading` (up to the next heading of the same or a
/// higher level).
fn replace_section(text: &str, heading: &str, body: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let level = |l: &str| l.chars().take_while(|c| *c == '#').count();
    let start = lines.iter().position(|l| level(l) > 0 && l.trim_start_matches('#').trim() == heading)?;
    let own = level(lines[start]);
    let mut fenced = false;
    let mut end = lines.len();
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if l.starts_with("```") {
            fenced = !fenced;
        }
        if !fenced && level(l) > 0 && level(l) <= own {
            end = i;
            break;
        }
    }
    let mut out: Vec<String> = lines[..=start].iter().map(|l| l.to_string()).collect();
    out.push(String::new());
    out.push(body.trim_end().to_string());
    out.push(String::new());
    out.extend(lines[end..].iter().map(|l| l.to_string()));
    Some(out.join("\n") + "\n")
}

/// Replaces the contents of the nth fenced block whose info string starts with `lang`.
fn replace_block(text: &str, lang: &str, nth: usize, body: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut seen = 0;
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_start().strip_prefix("```").is_some_and(|info| info.trim().starts_with(lang)) {
            let close = i + 1 + lines[i + 1..].iter().position(|l| l.trim_start().starts_with("```"))?;
            if seen == nth {
                let mut out: Vec<String> = lines[..=i].iter().map(|l| l.to_string()).collect();
                out.push(body.trim_end().to_string());
                out.extend(lines[close..].iter().map(|l| l.to_string()));
                return Some(out.join("\n") + "\n");
            }
            seen += 1;
            i = close;
        }
        i += 1;
    }
    None
}

fn solution() -> String {
    "solution".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    file: String,
    find: String,
    replace: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Write {
    file: String,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Remove {
    file: String,
}

/// Every case file of one kind: (lab, case name, path).
fn cases(kind: &str) -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    let root = repo().join("tests/fixtures/doc-cases").join(kind);
    for lab in fs::read_dir(&root).unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display())) {
        let lab = lab.unwrap().path();
        for case in fs::read_dir(&lab).unwrap() {
            let path = case.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let name = path.file_stem().unwrap().to_string_lossy().to_string();
                out.push((lab.file_name().unwrap().to_string_lossy().to_string(), name, path));
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no {kind} cases under {}", root.display());
    out
}

/// Builds the case's workspace and grades it; returns the check's exit code and JSON report.
fn grade(ws: &Workspace, lab: &str, name: &str, path: &Path) -> (i32, serde_json::Value, Case) {
    let case: Case = toml::from_str(&fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: not a case: {e}", path.display()));
    assert!(!case.description.trim().is_empty(), "{name}: say why in `description`");
    let set: Vec<String> = case.system.iter().map(|s| format!("system={s}")).collect();
    let mut new = ws.lab(["new", lab, name, "--no-git"]);
    for s in &set {
        new = new.args(["--set", s]);
    }
    new.succeeds();
    let target = ws.join(name);
    match case.base.as_str() {
        "starter" => {}
        "solution" => {
            let solved = format!("{name}-solved");
            let mut solve = ws.lab(["dev", "solve", lab, &solved]);
            if let Some(s) = case.solution_of.as_ref().or(case.system.as_ref()) {
                solve = solve.args(["--set", &format!("system={s}")]);
            }
            solve.succeeds();
            copy_dir(&ws.join(&solved).join("docs"), &target.join("docs"));
        }
        other => panic!("{name}: base must be \"solution\" or \"starter\", not {other:?}"),
    }
    for e in &case.edit {
        let file = target.join(&e.file);
        let text = fs::read_to_string(&file).unwrap_or_else(|err| panic!("{name}: cannot read {}: {err}", e.file));
        assert_eq!(
            text.matches(&e.find).count(),
            1,
            "{name}: the text to find must occur once in {}: {:?}",
            e.file,
            e.find
        );
        fs::write(&file, text.replace(&e.find, &e.replace)).unwrap();
    }
    for w in &case.write {
        let file = target.join(&w.file);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, &w.text).unwrap();
    }
    for r in &case.remove {
        fs::remove_file(target.join(&r.file)).unwrap_or_else(|e| panic!("{name}: cannot remove {}: {e}", r.file));
    }
    for c in &case.clear {
        for entry in fs::read_dir(target.join(&c.dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != "template.md") {
                fs::remove_file(path).unwrap();
            }
        }
    }
    for sct in &case.section {
        let file = target.join(&sct.file);
        let text = fs::read_to_string(&file).unwrap();
        let new = replace_section(&text, &sct.heading, &sct.text)
            .unwrap_or_else(|| panic!("{name}: no heading {:?} in {}", sct.heading, sct.file));
        fs::write(&file, new).unwrap();
    }
    for b in &case.block {
        let file = target.join(&b.file);
        let text = fs::read_to_string(&file).unwrap();
        let new = replace_block(&text, &b.lang, b.nth, &b.text)
            .unwrap_or_else(|| panic!("{name}: no {} block #{} in {}", b.lang, b.nth, b.file));
        fs::write(&file, new).unwrap();
    }
    if case.crlf {
        for path in markdown_files(&target.join("docs")) {
            let text = fs::read_to_string(&path).unwrap();
            fs::write(&path, text.replace("\r\n", "\n").replace('\n', "\r\n")).unwrap();
        }
    }
    let (code, stdout) = ws.lab(["check", "--json"]).in_dir(name).exits();
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{name}: lab check --json printed no JSON ({e}): {stdout}"));
    (code, json, case)
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    out
}

fn failing_tests(json: &serde_json::Value) -> Vec<String> {
    json["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] != "pass")
        .map(|t| {
            format!(
                "{}: {}",
                t["name"].as_str().unwrap_or(""),
                t["message"].as_str().unwrap_or("").lines().next().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn good_documents_in_the_formats_people_write_pass_every_stage() {
    let ws = Workspace::new();
    let mut wrong = Vec::new();
    for (lab, name, path) in cases("good") {
        let (code, json, case) = grade(&ws, &lab, &name, &path);
        assert!(case.catches.is_empty(), "{name}: `catches` is for adversarial cases");
        if code != 0 {
            wrong.push(format!(
                "{lab}/{name} ({}) failed:\n  {}",
                case.description.trim(),
                failing_tests(&json).join("\n  ")
            ));
        }
    }
    assert!(wrong.is_empty(), "good documents that did not pass:\n{}", wrong.join("\n"));
}

#[test]
fn adversarial_documents_fail_at_least_one_stage() {
    let ws = Workspace::new();
    let mut wrong = Vec::new();
    for (lab, name, path) in cases("adversarial") {
        let (code, json, case) = grade(&ws, &lab, &name, &path);
        let stages_failing = json["stages"].as_array().unwrap().iter().filter(|s| s["done"] != true).count();
        let failing = failing_tests(&json);
        let caught_as_meant = case.catches.is_empty()
            || case.catches.iter().any(|id| failing.iter().any(|f| f.starts_with(&format!("{id}:"))));
        if code != 1 || stages_failing == 0 || !caught_as_meant {
            wrong.push(format!(
                "{lab}/{name} ({}) exited {code} with {stages_failing} stages failing; it should fail one of {:?}; failing:\n  {}",
                case.description.trim(),
                case.catches,
                failing.join("\n  ")
            ));
        }
    }
    assert!(wrong.is_empty(), "adversarial documents that were not caught:\n{}", wrong.join("\n"));
}
