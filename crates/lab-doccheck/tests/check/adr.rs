//! adr rule.

use super::common::*;
use lab_doccheck::Status;

const ADR: &str = r#"kind = "adr"
dir = "docs/adr"
exclude = ["template.md"]
min_count = 2
referenced_from = ["docs/design.md"]"#;

const GOOD_FRONT: &str = "---\nstatus: accepted\ndate: 2026-01-01\n---\n\n# 1. Use X\n\n## Context\n\nWhy.\n\n## Decision\n\nWe will.\n\n## Consequences\n\n### Negative\n\n- We must operate X ourselves.\n";
const GOOD_MADR: &str = "# 2. Use Y\n\n## Status\n\nSuperseded by 0003\n\n## Context and problem statement\n\nWhy.\n\n## Decision outcome\n\nChosen option: Y, because.\n\n### Consequences\n\n- Good, because it is fast.\n- Bad, because it costs more per month.\n";
const DESIGN: &str = "# D\n\n[one](adr/0001-x.md) and [two](./adr/0002-y.md#context-and-problem-statement)\n";

fn files<'a>(a: &'a str, b: &'a str, design: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("docs/adr/0001-x.md", a),
        ("docs/adr/0002-y.md", b),
        ("docs/adr/template.md", "# template, no status"),
        ("docs/design.md", design),
    ]
}

#[test]
fn adr_pass_nygard_and_madr_styles() {
    assert_pass(&one(ADR, &files(GOOD_FRONT, GOOD_MADR, DESIGN)));
}

#[test]
fn adr_too_few_and_unlinked() {
    let o = one(ADR, &[("docs/adr/0001-x.md", GOOD_FRONT), ("docs/design.md", "# D\n")]);
    assert_fail(&o, &["docs/adr holds 1 decision records; write at least 2", "not linked from docs/design.md"]);
    assert_eq!(o.file.as_deref(), Some("docs/adr"));
}

#[test]
fn adr_status_problems() {
    let bad = GOOD_FRONT.replace("status: accepted", "status: maybe");
    let o = one(ADR, &files(&bad, GOOD_MADR, DESIGN));
    assert_fail(&o, &["status \"maybe\" is not one of proposed, accepted"]);
    assert_eq!((o.file.as_deref(), o.line), (Some("docs/adr/0001-x.md"), Some(2)));
    let none = GOOD_FRONT.replace("status: accepted\n", "");
    assert_fail(&one(ADR, &files(&none, GOOD_MADR, DESIGN)), &["no status"]);
    let inline = GOOD_FRONT.replace("status: accepted\n", "") + "\n**Status:** Rejected\n";
    assert_pass(&one(ADR, &files(&inline, GOOD_MADR, DESIGN)));
}

#[test]
fn adr_sections_and_negative_consequence() {
    let no_ctx = GOOD_FRONT.replace("## Context\n\nWhy.\n\n", "");
    assert_fail(&one(ADR, &files(&no_ctx, GOOD_MADR, DESIGN)), &["no \"Context\" section"]);
    let empty = GOOD_FRONT.replace("We will.", "<!-- later -->");
    assert_fail(&one(ADR, &files(&empty, GOOD_MADR, DESIGN)), &["section \"Decision\" is empty"]);
    let rosy = GOOD_MADR.replace("- Bad, because it costs more per month.\n", "");
    let o = one(ADR, &files(GOOD_FRONT, &rosy, DESIGN));
    assert_fail(&o, &["no negative consequence", "Bad, because"]);
    assert_eq!(o.file.as_deref(), Some("docs/adr/0002-y.md"));
    let empty_neg = GOOD_FRONT.replace("- We must operate X ourselves.\n", "");
    assert_fail(&one(ADR, &files(&empty_neg, GOOD_MADR, DESIGN)), &["section \"Consequences\" is empty"]);
    let upbeat = GOOD_FRONT.replace("### Negative\n\n- We must operate X ourselves.", "- Good, because it is fast.");
    assert_fail(&one(ADR, &files(&upbeat, GOOD_MADR, DESIGN)), &["no negative consequence"]);
    let label = GOOD_FRONT.replace("### Negative\n\n", "Downsides:\n\n");
    assert_pass(&one(ADR, &files(&label, GOOD_MADR, DESIGN)));
}

#[test]
fn adr_missing_referencing_document() {
    let o = one(ADR, &files(GOOD_FRONT, GOOD_MADR, DESIGN)[..3]);
    assert_fail(&o, &["docs/design.md does not exist"]);
}

#[test]
fn adr_front_matter_with_crlf_and_unicode() {
    let crlf = GOOD_FRONT.replace("date: 2026-01-01", "deciders: Zoë, Łukasz").replace('\n', "\r\n");
    assert_pass(&one(ADR, &files(&crlf, GOOD_MADR, DESIGN)));
    let bad = crlf.replace("status: accepted", "status: done");
    let o = one(ADR, &files(&bad, GOOD_MADR, DESIGN));
    assert_fail(&o, &["status \"done\""]);
    assert_eq!(o.line, Some(2));
}

// ---------------------------------------------------------------- the ADR corpus
//
// tests/corpus/adr/good/ holds one ADR per published format (MADR 4.0, 3.x, 2.x and minimal,
// Nygard, Tyree-Akerman, Y-statements as prose and as a table); bad/ holds ADRs that lack
// something, each ending with `<!-- expect: a | b -->`: fragments its failure message must hold.

const ONE_ADR: &str = r#"kind = "adr"
dir = "docs/adr"
min_count = 1"#;

fn corpus(kind: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/adr").join(kind);
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn corpus_good_adrs_pass_in_every_format() {
    let good = corpus("good");
    assert!(good.len() >= 8, "the good corpus is missing files");
    for (name, text) in &good {
        let o = one(ONE_ADR, &[(&format!("docs/adr/{name}"), text)]);
        assert!(o.status == Status::Pass, "{name} should pass: {}", o.message);
    }
}

#[test]
fn corpus_bad_adrs_fail_naming_what_is_missing() {
    let bad = corpus("bad");
    assert!(bad.len() >= 7, "the bad corpus is missing files");
    for (name, text) in &bad {
        let expect = text
            .rsplit_once("<!-- expect:")
            .map(|(_, e)| e.trim_end().trim_end_matches("-->"))
            .unwrap_or_else(|| panic!("{name} has no <!-- expect: ... --> line"));
        let o = one(ONE_ADR, &[(&format!("docs/adr/{name}"), text)]);
        assert!(o.status == Status::Fail, "{name} should fail");
        assert_eq!(o.file.as_deref(), Some(format!("docs/adr/{name}").as_str()));
        for fragment in expect.split(" | ").map(str::trim) {
            assert!(o.message.contains(fragment), "{name}: message {:?} lacks {fragment:?}", o.message);
        }
    }
}
