//! consistency rules: capacity values quoted in prose and tables, and quantities restated in
//! another unit.

use super::common::*;

const RULE: &str = r#"kind = "consistency"
file = "doc.md"
section = "Capacity"
mentions = { replication_factor = ["replicas", "replication factor", "copies"], daily_active_users = ["daily active users", "DAU"], storage_per_year_tb = ["storage per year", "a year of storage"], cache_hit_ratio = ["hit ratio"] }"#;

fn doc(block: &str, prose: &str) -> String {
    format!(
        "# D\n\n## Capacity\n\n```capacity\n{block}```\n\n{prose}\n\n## Design\n\nElsewhere 7 replicas of a cache.\n"
    )
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
    assert_eq!(o.line, Some(12));
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
        "Streams need 166.7 Tbps at the peak, or 20.8 TB/s.",
        "Against 27 EB delivered a month (900 PB a day) the fee is small.",
        "Latency is 200 ms and availability 99.9% (three nines).",
    ] {
        assert_pass(&one(UNITS_ONLY, &[("doc.md", good)]));
    }
    let o = one(UNITS_ONLY, &[("doc.md", "Uploads peak at 45 MB/s (45 Mbps).")]);
    assert_fail(&o, &["45 MB/s is not 45 Mbps (it is 360 Mbps)", "a byte is 8 bits"]);
    let o = one(UNITS_ONLY, &[("doc.md", "Streams need 166.7 Tbps at the peak, or 166.7 TB/s.")]);
    assert_fail(&o, &["166.7 Tbps is not 166.7 TB/s"]);
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

const TARGETS: &str =
    "kind = \"consistency\"\nfile = \"doc.md\"\nrequirements = \"Non-functional requirements\"\nobjectives = \"SLOs\"";

fn nfr_slo(nfr: &str, slo_rows: &str) -> String {
    format!(
        "# D\n\n## Non-functional requirements\n\n{nfr}\n\n## SLOs\n\n| SLI | Target | Window | Budget |\n| --- | --- | --- | --- |\n{slo_rows}\n"
    )
}

const NFR: &str = "- **Latency:** first offer p50 under 800 ms, p99 under 2 s.\n- **Availability:** the ride API is available 99.95% of the time per 30 days.";
const ROWS: &str = "| Ride API availability (non-5xx) | 99.95% | 30 days | 21.6 minutes |\n| First offer within 2 s | 99.9% of requests | 28 days | 0.1% of requests |";

#[test]
fn slos_hold_the_system_to_its_requirements() {
    assert_pass(&one(TARGETS, &[("doc.md", &nfr_slo(NFR, ROWS))]));
    let looser = ROWS.replace("| 99.95% | 30 days | 21.6 minutes", "| 99.9% | 30 days | 43.2 minutes");
    assert_fail(
        &one(TARGETS, &[("doc.md", &nfr_slo(NFR, &looser))]),
        &["the requirements ask for 99.95% availability but the strictest availability SLO is 99.9%"],
    );
    let fewer = ROWS.replace("99.9% of requests", "95% of requests");
    let o = one(TARGETS, &[("doc.md", &nfr_slo(NFR, &fewer))]);
    assert_fail(&o, &["this SLO promises 2 s to 95% of requests, but the requirements ask it of 99% (p99)"]);
    let slower = ROWS.replace("First offer within 2 s", "First offer within 5 s");
    assert_fail(
        &one(TARGETS, &[("doc.md", &nfr_slo(NFR, &slower))]),
        &["the requirements set tail latency (p99 under 2 s) but no SLO measures it"],
    );
    let vague = nfr_slo("- The system should be fast and reliable.", ROWS);
    assert_fail(&one(TARGETS, &[("doc.md", &vague)]), &["the requirements state no availability or latency target"]);
}

#[test]
fn agreement_with_an_unfilled_block_proves_nothing() {
    let unfilled = doc(&BLOCK.replace("replication_factor = 3", "replication_factor = ?"), "Three replicas.");
    let o = one(RULE, &[("doc.md", &unfilled)]);
    assert_fail(&o, &["the capacity block has no value for `replication_factor`: fill it in"]);
    let missing = doc(&BLOCK.replace("cache_hit_ratio = 0.95\n", ""), "Three replicas.");
    assert_fail(&one(RULE, &[("doc.md", &missing)]), &["no value for `cache_hit_ratio`"]);
}

#[test]
fn a_number_in_another_unit_is_not_read_as_a_unitless_value() {
    let prose = "The hit ratio drives origin egress: at 170 Tbps of peak egress each point matters.";
    assert_pass(&one(RULE, &[("doc.md", &doc(BLOCK, prose))]));
    let alert = "| Cache hit ratio falling | Hit ratio below 90% for 10 minutes | Page |";
    assert_pass(&one(
        RULE,
        &[("doc.md", &doc(BLOCK, &format!("| Alert | When | Action |\n| --- | --- | --- |\n{alert}\n")))],
    ));
}

#[test]
fn a_share_of_calls_that_succeed_is_an_availability_target() {
    let nfr = "- **Availability:** 99.9% of play starts succeed over any 28 days, and the API answers 99.99% of calls without a server error.";
    let rows = "| API availability (non-5xx) | 99.99% | 30 days | 4.32 minutes |";
    assert_pass(&one(TARGETS, &[("doc.md", &nfr_slo(nfr, rows))]));
    let looser = rows.replace("99.99% | 30 days | 4.32", "99.9% | 30 days | 43.2");
    assert_fail(
        &one(TARGETS, &[("doc.md", &nfr_slo(nfr, &looser))]),
        &["ask for 99.99% availability but the strictest availability SLO is 99.9%"],
    );
}

#[test]
fn a_percentage_is_exact_however_few_its_digits() {
    let prose = "At a 95% hit ratio the origin still serves a lot.";
    assert_fail(
        &one(RULE, &[("doc.md", &doc(BLOCK.replace("0.95", "0.99").as_str(), prose))]),
        &["gives 95 for hit ratio"],
    );
}

#[test]
fn figures_for_a_part_of_the_system_or_outside_the_estimate_are_not_the_block_values() {
    let prose = "City 1 has 11k DAU. The busiest shard keeps 2 replicas of its index.";
    assert_pass(&one(RULE, &[("doc.md", &doc(BLOCK, prose))]));
}

#[test]
fn budgets_in_minutes_are_not_thresholds_and_each_clause_measures_its_own_thing() {
    let nfr =
        "- **Continuity:** 99.99% of trip-state API calls succeed (no 5xx), and 99.999% of accepted trips are kept.";
    let line = "- Post-message availability: 99.99% of calls answered without a 5xx per calendar month, error budget 4.32 min.";
    let doc = format!("# D\n\n## Non-functional requirements\n\n{nfr}\n\n## SLOs\n\n{line}\n");
    assert_pass(&one(TARGETS, &[("doc.md", &doc)]));
    let looser = doc.replace("99.99% of calls", "99.9% of calls");
    assert_fail(
        &one(TARGETS, &[("doc.md", &looser)]),
        &["ask for 99.99% availability but the strictest availability SLO is 99.9%"],
    );
}
