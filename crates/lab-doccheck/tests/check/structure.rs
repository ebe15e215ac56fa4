//! sections, word_floor, list_items, no_placeholders and links rules.

use super::common::*;

const SECTIONS: &str = r#"kind = "sections"
file = "doc.md"
sections = [
  { title = "Context and scope", aliases = ["Background"] },
  { title = "Goals" },
  { title = "Appendix", non_empty = false },
]"#;

#[test]
fn sections_pass_with_aliases_numbering_and_empty_allowed() {
    let doc = "# T\n\n## 1. Background\n\nWhy.\n\n## 2. Goals:\n\n- one\n\n## Appendix\n";
    assert_pass(&one(SECTIONS, &[("doc.md", doc)]));
}

#[test]
fn sections_missing_names_aliases() {
    let o = one(SECTIONS, &[("doc.md", "## Goals\n\nx\n## Appendix\n")]);
    assert_fail(&o, &["missing section \"Context and scope\"", "also accepted: \"Background\""]);
    assert_eq!(o.file.as_deref(), Some("doc.md"));
}

#[test]
fn sections_empty_points_at_heading_line() {
    let doc = "## Context and scope\n\n<!-- TODO(lab:x): write -->\n\n## Goals\n\ny\n\n## Appendix\n";
    let o = one(SECTIONS, &[("doc.md", doc)]);
    assert_fail(&o, &["section \"Context and scope\" is empty"]);
    assert_eq!(o.line, Some(1));
}

#[test]
fn missing_file_is_a_failed_rule_not_an_error() {
    let o = one(SECTIONS, &[]);
    assert_fail(&o, &["doc.md does not exist"]);
    let o = one(SECTIONS, &[("doc.md/x", "")]);
    assert_fail(&o, &["is a folder"]);
}

#[test]
fn non_utf8_file_fails_cleanly() {
    let ws = workspace(&[]);
    std::fs::write(ws.root.join("doc.md"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let rules = format!("format_version = 1\n[[rule]]\nid = \"r\"\n{SECTIONS}\n");
    let o = &lab_doccheck::check(&lab_doccheck::parse_rules(&rules).unwrap(), &ws.root)[0];
    assert_fail(o, &["not UTF-8"]);
}

const FLOOR: &str = "kind = \"word_floor\"\nfile = \"doc.md\"\nsection = [\"Context\"]\nmin_words = 5";

#[test]
fn word_floor_counts_prose_only() {
    let ok = "## Context\n\nOne two three four five.\n";
    assert_pass(&one(FLOOR, &[("doc.md", ok)]));
    let padded = "## Context\n\nOne two.\n\n```\nmany words in code do not count\n```\n\n| a b c | d e f |\n| --- | --- |\n| g h i | j k l |\n\n<!-- nor comments here -->\n";
    let o = one(FLOOR, &[("doc.md", padded)]);
    assert_fail(&o, &["section \"Context\" has 2 words of prose", "at least 5"]);
    assert_eq!(o.line, Some(1));
}

#[test]
fn word_floor_lists_count_and_missing_section_fails() {
    let list = "## Context\n\n- one two three\n- four five six\n";
    assert_pass(&one(FLOOR, &[("doc.md", list)]));
    let o = one(FLOOR, &[("doc.md", "## Other\n\nwords words words words words\n")]);
    assert_fail(&o, &["has no section titled \"Context\"", "add it as a heading"]);
}

#[test]
fn word_floor_whole_document() {
    let rule = "kind = \"word_floor\"\nfile = \"doc.md\"\nmin_words = 3";
    assert_pass(&one(rule, &[("doc.md", "a b c")]));
    assert_fail(&one(rule, &[("doc.md", "a b")]), &["doc.md has 2 words"]);
}

const LIST: &str = "kind = \"list_items\"\nfile = \"doc.md\"\nsection = \"Non-goals\"\nmin_items = 2\nmin_words = 3";

#[test]
fn list_items_counts_substantive_items() {
    let ok = "## Non-goals\n\n- no pricing in this design\n- no shared rides here\n";
    assert_pass(&one(LIST, &[("doc.md", ok)]));
    let short = "## Non-goals\n\n- pricing\n- no shared rides here\n";
    let o = one(LIST, &[("doc.md", short)]);
    assert_fail(&o, &["has 1 list items of at least 3 words", "list at least 2"]);
}

const PH: &str = "kind = \"no_placeholders\"\nfiles = [\"doc.md\", \"adr/*.md\"]\nexclude = [\"template.md\"]";

#[test]
fn placeholders_found_with_lines_in_comments_code_and_prose() {
    let doc = "# T\n\nfine\n\n<!-- TODO(lab:x): fill -->\n\nLorem ipsum dolor.\n\n```\nFIXME later\n```\n";
    let o = one(PH, &[("doc.md", doc)]);
    assert_fail(&o, &["leftover placeholder \"TODO\"", "\"Lorem ipsum\"", "FIXME"]);
    assert_eq!(o.line, Some(5));
    assert!(o.message.contains("line 7"));
}

#[test]
fn placeholders_pass_lowercase_todo_and_excluded_template() {
    let doc = "A to-do list and a todo app are features, not leftovers. TODOS is a word.\n";
    let files = [("doc.md", doc), ("adr/template.md", "TBD"), ("adr/0001-x.md", "done")];
    assert_pass(&one(PH, &files));
    let files = [("doc.md", doc), ("adr/0002-y.md", "status TBD")];
    let o = one(PH, &files);
    assert_fail(&o, &["\"TBD\""]);
    assert_eq!(o.file.as_deref(), Some("adr/0002-y.md"));
}

#[test]
fn placeholders_restricted_to_sections_and_extra_patterns() {
    let rule =
        "kind = \"no_placeholders\"\nfiles = [\"doc.md\"]\nsections = [\"Scope\"]\nextra_patterns = [\"<describe\"]";
    let doc = "## Scope\n\nDone.\n\n## Later\n\nTODO: later stage\n";
    assert_pass(&one(rule, &[("doc.md", doc)]));
    let doc = "## Scope\n\nHere: <describe the users>\n\n## Later\n\nTODO\n";
    let o = one(rule, &[("doc.md", doc)]);
    assert_fail(&o, &["\"<describe\""]);
    assert!(!o.message.contains("TODO"));
}

const LINKS: &str = "kind = \"links\"\nfiles = [\"docs/design.md\", \"docs/adr/*.md\"]\nmin_links = 2";

#[test]
fn links_resolve_files_and_anchors() {
    let design = "# D\n\n## Capacity estimates\n\nSee [ADR](adr/0001-a.md#context), [cap](#capacity-estimates), [web](https://example.com) and [mail](mailto:a@b.c).\n";
    let adr = "# A\n\n## Context\n\nBack to [design](../design.md#capacity-estimates).\n";
    assert_pass(&one(LINKS, &[("docs/design.md", design), ("docs/adr/0001-a.md", adr)]));
}

#[test]
fn links_report_broken_targets_anchors_and_escapes() {
    let design = "# D\n\n[a](adr/0009-missing.md) [b](#nowhere) [c](../../etc/passwd) [d](adr/0001-a.md#nope)\n";
    let adr = "# A\n";
    let o = one(LINKS, &[("docs/design.md", design), ("docs/adr/0001-a.md", adr)]);
    assert_fail(
        &o,
        &[
            "broken link: link target adr/0009-missing.md does not exist",
            "has no heading with the anchor #nowhere",
            "points outside the repository",
            "#nope",
        ],
    );
    assert_eq!(o.line, Some(3));
}

#[test]
fn links_minimum_and_duplicate_heading_slugs() {
    let o = one(LINKS, &[("docs/design.md", "# D\n\nno links, [web](http://x.org)\n")]);
    assert_fail(&o, &["found 0 internal links", "at least 2"]);
    let dup = "# D\n\n## Notes\n\n## Notes\n\n[one](#notes) [two](#notes-1)\n";
    assert_pass(&one(LINKS, &[("docs/design.md", dup)]));
}

#[test]
fn list_items_missing_section_and_nested_items() {
    let o = one(LIST, &[("doc.md", "## Goals\n\n- a b c d\n")]);
    assert_fail(&o, &["no section titled \"Non-goals\""]);
    let nested = "## Non-goals\n\n1. first item has words\n   - nested item has words\n";
    assert_pass(&one(LIST, &[("doc.md", nested)]));
    // an exact title wins over an earlier heading that only starts with it
    let doc = "## Non-goals and risks\n\n## Non-goals\n\n- one two three\n- four five six\n";
    assert_pass(&one(LIST, &[("doc.md", doc)]));
}

#[test]
fn placeholders_in_any_case_split_over_lines_or_hidden_by_invisible_characters() {
    for (doc, shown) in [
        ("Context: todo: explain who uses it.\n", "todo"),
        ("Capacity is tbd for now.\n", "tbd"),
        ("We will Lorem\nipsum the rest.\n", "Lorem ipsum"),
        ("The store is T\u{200B}B\u{200B}D.\n", "TBD"),
        ("FILL ME IN\n", "FILL ME IN"),
        ("Owner: [insert team name]\n", "[insert"),
        ("Peak load: ??? QPS\n", "???"),
        ("Budget to be\ndetermined later.\n", "to be determined"),
    ] {
        let o = one(PH, &[("doc.md", doc)]);
        assert_fail(&o, &[&format!("leftover placeholder \"{shown}")]);
    }
}

const FILLER_FLOOR: &str = "kind = \"word_floor\"\nfile = \"doc.md\"\nsection = [\"Context\"]\nmin_words = 40";

#[test]
fn a_word_floor_met_with_filler_is_not_met() {
    let keywords = "scalable microservices kafka redis sharding replication consistency availability latency \
        throughput partitioning caching kubernetes terraform observability resilience failover idempotency \
        backpressure streaming analytics geo index dispatch matching pricing surge payments notifications \
        gateway websocket protocol buffers grpc postgres cassandra dynamodb cdn edge regions zones";
    let o = one(FILLER_FLOOR, &[("doc.md", &format!("## Context\n\n{keywords}\n"))]);
    assert_fail(&o, &["section \"Context\" does not read as prose", "list of keywords"]);
    let repeated = "The platform is scalable and reliable for every one of our users. ".repeat(6);
    let o = one(FILLER_FLOOR, &[("doc.md", &format!("## Context\n\n{repeated}\n"))]);
    assert_fail(&o, &["already said"]);
    let prose = "Riders open the app and ask for a trip. The dispatch service looks up nearby drivers in the \
        geo index, ranks them by estimated time of arrival and offers the trip to the best one. If that driver \
        does not accept within ten seconds, the offer moves to the next driver, and the rider sees the new \
        estimate at once.";
    assert_pass(&one(FILLER_FLOOR, &[("doc.md", &format!("## Context\n\n{prose}\n"))]));
}

const DESIGN_SECTIONS: &str = r#"kind = "sections"
file = "doc.md"
sections = [
  { title = "Goals" },
  { title = "Non-goals" },
  { title = "Capacity estimates", aliases = ["Capacity"] },
  { title = "Critical flow", aliases = ["Key flow"] },
  { title = "API" },
  { title = "Alternatives and trade-offs" },
]"#;

fn headed(titles: &[&str]) -> String {
    titles.iter().map(|t| format!("## {t}\n\nWritten.\n\n")).collect()
}

#[test]
fn sections_accept_plurals_synonyms_numbering_and_ampersands() {
    let doc =
        headed(&["1. Goals", "2. Non-Goals", "3. Estimates", "3.1 Key flows", "4 APIs", "5. Alternatives & Tradeoffs"]);
    assert_pass(&one(DESIGN_SECTIONS, &[("doc.md", &doc)]));
    // contained as whole words, and a synonym under another wording
    let doc = headed(&[
        "Design goals",
        "Out of scope",
        "Back-of-the-envelope estimates",
        "Request flow",
        "Public API",
        "Alternatives considered",
    ]);
    assert_pass(&one(DESIGN_SECTIONS, &[("doc.md", &doc)]));
}

#[test]
fn sections_refuse_near_misses() {
    // "Non-goals" is not "Goals", "Rapid" does not hold "API", "Cost estimates" is not capacity
    let doc = headed(&["Non-goals", "Rapid growth", "Cost estimates", "Key flow", "Trade-offs"]);
    let o = one(DESIGN_SECTIONS, &[("doc.md", &doc)]);
    assert_fail(
        &o,
        &["missing section \"Goals\"", "missing section \"API\"", "missing section \"Capacity estimates\""],
    );
    assert!(o.message.contains("e.g. `## Goals`"), "{}", o.message);
    assert!(!o.message.contains("Non-goals\""), "{}", o.message);
}

#[test]
fn sections_one_heading_serves_one_section() {
    // "Architecture" is an alias of the design, but this heading is the decisions section
    let rule = r#"kind = "sections"
file = "doc.md"
sections = [{ title = "High-level design", aliases = ["Architecture"] }, { title = "Architecture decisions" }]"#;
    let o = one(rule, &[("doc.md", &headed(&["Architecture decisions"]))]);
    assert_fail(&o, &["missing section \"High-level design\""]);
    assert_pass(&one(rule, &[("doc.md", &headed(&["Architecture decisions", "System architecture"]))]));
}

#[test]
fn section_lookup_of_other_rules_is_tolerant_too() {
    let rule = "kind = \"list_items\"\nfile = \"doc.md\"\nsection = [\"Key flow\"]\nmin_items = 1";
    assert_pass(&one(rule, &[("doc.md", "## 4. Key Flows\n\n- a rider requests a trip\n")]));
    let rule = "kind = \"no_placeholders\"\nfiles = [\"doc.md\"]\nsections = [\"Capacity estimates\"]";
    let o = one(rule, &[("doc.md", "## Estimates\n\nTBD\n\n## Other\n\nTBD\n")]);
    assert_fail(&o, &["\"TBD\""]);
    assert_eq!(o.line, Some(3));
    assert!(!o.message.contains("line 7"), "{}", o.message);
}

const HLD: &str = "kind = \"word_floor\"\nfile = \"doc.md\"\nsection = \"High-level design\"\nmin_words = 15";

#[test]
fn word_floor_counts_description_cells_of_component_tables() {
    let doc = "## High-level design\n\nThree services.\n\n| Component | Responsibilities | Tech |\n| --- | --- | --- |\n| Gateway | terminates TLS and routes each request to its service | Envoy |\n| Dispatch | batches ride requests per city every two seconds | Go |\n";
    assert_pass(&one(HLD, &[("doc.md", doc)]));
}

#[test]
fn word_floor_ignores_label_cells_and_other_columns() {
    // names, technologies and one-word descriptions are not prose
    let doc = "## High-level design\n\nThree services.\n\n| Component | Description | Runs on |\n| --- | --- | --- |\n| Gateway | Envoy | runs on Kubernetes in three zones with autoscaling |\n| Dispatch | Go | runs on Kubernetes in three zones with autoscaling |\n";
    let o = one(HLD, &[("doc.md", doc)]);
    assert_fail(&o, &["has 2 words of prose; write at least 15", "Responsibility column"]);
    let doc = "## High-level design\n\nThree services.\n\n| Component | Role |\n| --- | --- |\n| Gateway | terminates TLS and routes |\n";
    let o = one(HLD, &[("doc.md", doc)]);
    assert_fail(&o, &["has 6 words of prose, 4 of them from table description cells"]);
}
