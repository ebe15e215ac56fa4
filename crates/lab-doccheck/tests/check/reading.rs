//! Reading documents: only regular files inside the workspace, within the size cap, as UTF-8
//! (a byte-order mark dropped); everything else fails the rules that read it, with a message
//! naming the path and saying what to do, and is never skipped in silence.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::common::*;
use lab_doccheck::{check, parse_rules, Finding};

const SECTIONS: &str = r#"kind = "sections"
file = "docs/design.md"
sections = [{ title = "Goals" }]"#;

const ADR: &str = r#"kind = "adr"
dir = "docs/adr"
min_count = 1"#;

const LINKS: &str = r#"kind = "links"
files = ["docs/design.md"]"#;

const GOOD_ADR: &str = "---\nstatus: accepted\n---\n\n# 1. Use X\n\n## Context\n\nWhy we looked.\n\n## Decision\n\nWe will use X.\n\n## Consequences\n\n- Bad, because we now operate X ourselves.\n";

/// Runs one rule (a `[[rule]]` body without id) over an already prepared folder.
fn one_in(root: &Path, rule: &str) -> Finding {
    let rules = parse_rules(&format!("format_version = 1\n[[rule]]\nid = \"r\"\n{rule}\n")).unwrap();
    check(&rules, root).remove(0)
}

#[test]
fn symlinked_adr_fails_and_names_the_link() {
    let ws = workspace(&[("docs/adr/0001-a.md", GOOD_ADR), ("notes/0002.md", GOOD_ADR)]);
    assert_pass(&one_in(&ws.root, ADR));
    // a link to a file inside the workspace is refused too: what is graded must be committed
    symlink(ws.root.join("notes/0002.md"), ws.root.join("docs/adr/0002-b.md")).unwrap();
    let o = one_in(&ws.root, ADR);
    assert_fail(
        &o,
        &["docs/adr/0002-b.md is a symbolic link", "reads only regular files inside the workspace", "replace the link"],
    );
    assert_eq!(o.file.as_deref(), Some("docs/adr/0002-b.md"));
}

#[test]
fn symlink_to_outside_the_workspace_is_not_followed() {
    let outside = workspace(&[("design.md", "# D\n\n## Goals\n\nShip it.\n")]);
    let ws = workspace(&[]);
    std::fs::create_dir_all(ws.root.join("docs")).unwrap();
    symlink(outside.root.join("design.md"), ws.root.join("docs/design.md")).unwrap();
    assert_fail(&one_in(&ws.root, SECTIONS), &["docs/design.md is a symbolic link"]);
    // a linked folder on the way is named, not the file
    let ws2 = workspace(&[]);
    symlink(&outside.root, ws2.root.join("docs")).unwrap();
    assert_fail(
        &one_in(&ws2.root, SECTIONS),
        &["docs/design.md is inside docs, which is a symbolic link", "replace the link with the folder"],
    );
}

#[test]
fn named_pipe_fails_without_blocking() {
    let ws = workspace(&[]);
    std::fs::create_dir_all(ws.root.join("docs")).unwrap();
    let made = std::process::Command::new("mkfifo").arg(ws.root.join("docs/design.md")).status().unwrap();
    assert!(made.success());
    // opening a pipe with no writer would block forever; the checker must refuse it first
    assert_fail(&one_in(&ws.root, SECTIONS), &["docs/design.md is not a regular file", "replace it"]);
}

#[test]
fn links_to_symlinks_are_broken_links() {
    let ws = workspace(&[
        ("docs/design.md", "# D\n\n[a](adr/0001-a.md) [b](adr/0002-b.md#context) [folder](adr/)\n"),
        ("docs/adr/0001-a.md", GOOD_ADR),
    ]);
    assert_fail(&one_in(&ws.root, LINKS), &["does not exist (looked for docs/adr/0002-b.md)"]);
    symlink(ws.root.join("docs/adr/0001-a.md"), ws.root.join("docs/adr/0002-b.md")).unwrap();
    let o = one_in(&ws.root, LINKS);
    assert_fail(&o, &["link target adr/0002-b.md#context", "is a symbolic link"]);
    assert!(!o.message.contains("0001-a.md"), "only the link is at fault: {}", o.message);
}

#[test]
fn size_cap_refuses_with_the_limit_but_grades_5_mb() {
    let body = "Plain prose about goals that goes on. ".repeat(5_000_000 / 38 + 1);
    let big = format!("# D\n\n## Goals\n\n{body}\n");
    assert!(big.len() >= 5_000_000);
    assert_pass(&one(SECTIONS, &[("docs/design.md", &big)]));
    let huge = format!("# D\n\n## Goals\n\n{}", "x".repeat(8 * 1024 * 1024));
    let o = one(SECTIONS, &[("docs/design.md", &huge)]);
    assert_fail(&o, &["docs/design.md is 8.0 MiB, over the checker's limit of 8 MiB per document", "split it"]);
    assert_eq!(o.file.as_deref(), Some("docs/design.md"));
}

#[test]
fn byte_order_mark_is_dropped() {
    let bom = format!("\u{feff}{GOOD_ADR}");
    assert_pass(&one(ADR, &[("docs/adr/0001-a.md", &bom)]));
    let bom_heading = "\u{feff}## Goals\n\nShip the thing.\n";
    assert_pass(&one(SECTIONS, &[("docs/design.md", bom_heading)]));
    // the mark moves no line: a problem on line 2 is still reported on line 2
    let bad = format!("\u{feff}{}", GOOD_ADR.replace("accepted", "maybe"));
    let o = one(ADR, &[("docs/adr/0001-a.md", &bad)]);
    assert_fail(&o, &["status \"maybe\""]);
    assert_eq!(o.line, Some(2));
}

#[test]
fn invalid_utf8_names_offset_and_line() {
    let ws = workspace(&[]);
    std::fs::create_dir_all(ws.root.join("docs")).unwrap();
    std::fs::write(ws.root.join("docs/design.md"), b"# D\n\n## Goals\n\ncaf\xe9 au lait\n").unwrap();
    let o = one_in(&ws.root, SECTIONS);
    assert_fail(&o, &["docs/design.md is not valid UTF-8 text", "offset 18 (line 5)", "save the file as UTF-8"]);
    let utf16: Vec<u8> = [0xFF, 0xFE].into_iter().chain("# D".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    std::fs::write(ws.root.join("docs/design.md"), utf16).unwrap();
    assert_fail(&one_in(&ws.root, SECTIONS), &["docs/design.md is UTF-16 text, not UTF-8", "save it as UTF-8"]);
}

#[test]
fn folder_where_a_document_is_expected() {
    let ws = workspace(&[("docs/design.md/x.md", "# x")]);
    assert_fail(&one_in(&ws.root, SECTIONS), &["docs/design.md is a folder"]);
    let ws2 = workspace(&[("docs", "not a folder")]);
    assert_fail(&one_in(&ws2.root, SECTIONS), &["docs/design.md does not exist"]);
}
