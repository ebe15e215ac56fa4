//! consistency rules: capacity values quoted in prose and tables, and quantities restated in
//! another unit.

use super::common::*;

const RULE: &str = r#"kind = "consistency"
file = "doc.md"
section = "Capacity"
mentions = { replication_factor = ["replicas", "replication factor", "copies"], daily_active_users = ["daily active users", "DAU"], storage_per_year_tb = ["storage per year", "a year of storage"], cache_hit_ratio = ["hit ratio"] }"#;

fn doc(block: &str, prose: &str) -> String {
    format!("# D\n\n## Capacity\n\n```capacity\n{block}```\n\n## Design\n\n{prose}\n")
}

const BLOCK: &str =
    "daily_active_users = 20_000_000\nreplication_factor = 3\nstorage_per_year_tb = 1200\ncache_hit_ratio = 0.95\n";

#[test]
fn quoted_values_that_match_the_block_pass_in_any_unit_and_spelling() {
    let prose = "Every message is written to three replicas in two zones. We plan for 20M daily active \
        users. A year of storage is 1.2 PB before compression, and the edge keeps a 95% hit ratio.\n\n\
        | Setting | Value |\n| --- | --- |\n| Replication factor | 3 |\n| DAU | 20,000,000 |\n";
    assert_pass(&one(RULE, &[("doc.md", &doc(BLOCK, prose))]));
}

#[test]
fn prose_that_disagrees_with_the_block_fails_naming_both() {
    let o = one(
        RULE,
        &[(
            "doc.md",
            &doc(&BLOCK.replace("replication_factor = 3", "replication_factor = 1"), "Each write goes to 3 replicas."),
        )],
    );
    assert_fail(&o, &["\"Each write goes to 3 replicas\" gives 3 for replicas", "`replication_factor = 1`"]);
    assert_eq!(o.line, Some(14));
    let table = "| Setting | Value |\n| --- | --- |\n| DAU | 200M |\n";
    assert_fail(
        &one(RULE, &[("doc.md", &doc(BLOCK, table))]),
        &["gives 200,000,000 or 200 for DAU", "`daily_active_users = 20,000,000`"],
    );
    let units = "A year of storage is 12 PB.";
    assert_fail(&one(RULE, &[("doc.md", &doc(BLOCK, units))]), &["`storage_per_year_tb = 1,200`"]);
    // Rounded figures get a wider allowance, exact ones do not.
    assert_pass(&one(RULE, &[("doc.md", &doc(BLOCK, "We size for about 21M daily active users."))]));
    assert_fail(
        &one(RULE, &[("doc.md", &doc(BLOCK, "We size for 21,730,000 daily active users."))]),
        &["daily active users"],
    );
}

const UNITS_ONLY: &str = "kind = \"consistency\"\nfile = \"doc.md\"";

#[test]
fn restated_quantities_must_convert() {
    for good in [
        "Uploads peak at 45 MB/s (360 Mbps).",
        "Ingest is 3.5 TB/day (about 40 MB/s).",
        "We deliver 800M messages/day (9,259/s).",
        "Egress is 2 Tbps = 250 GB/s at peak.",
        "Latency is 200 ms and availability 99.9% (three nines).",
    ] {
        assert_pass(&one(UNITS_ONLY, &[("doc.md", good)]));
    }
    let o = one(UNITS_ONLY, &[("doc.md", "Uploads peak at 45 MB/s (45 Mbps).")]);
    assert_fail(&o, &["45 MB/s is not 45 Mbps (it is 360 Mbps)", "a byte is 8 bits"]);
    let o = one(UNITS_ONLY, &[("doc.md", "We deliver 800M messages/day (92,590/s).")]);
    assert_fail(&o, &["is not 92,590 /s", "86,400 seconds"]);
}

#[test]
fn a_rule_that_names_no_block_values_still_checks_units_and_bad_rules_are_refused() {
    let err = lab_doccheck::parse_rules(
        "format_version = 1\n[[rule]]\nid = \"r\"\nkind = \"consistency\"\nfile = \"d.md\"\nmentions = { x = [] }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("mentions of `x`"), "{err}");
}
