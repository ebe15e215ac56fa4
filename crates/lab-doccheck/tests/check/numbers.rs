//! numbers_with_units, capacity and slo rules.

use super::common::*;

const UNITS: &str = r#"kind = "numbers_with_units"
file = "doc.md"
section = "Capacity"
min_count = 3
require_units = [["QPS", "RPS"], ["TB", "GB"]]"#;

#[test]
fn units_pass_in_prose_lists_and_tables() {
    let doc =
        "## Capacity\n\n20M DAU make 9,259 QPS.\n\n- 4.2 TB/year of traces\n\n| a | b |\n| - | - |\n| p99 | 120 ms |\n";
    assert_pass(&one(UNITS, &[("doc.md", doc)]));
}

#[test]
fn units_fail_too_few_and_missing_group_and_ignore_code() {
    let doc = "## Capacity\n\nAbout 20M DAU.\n\n```\n9000 QPS 4 TB\n```\n";
    let o = one(UNITS, &[("doc.md", doc)]);
    assert_fail(&o, &["has 1 numbers with units; give at least 3", "no number in QPS / RPS", "no number in TB / GB"]);
    assert_eq!(o.line, Some(1));
}

const CAP: &str = r#"kind = "capacity"
file = "doc.md"
section = "Capacity"
inputs = ["dau", "req_per_user"]
derived = [
  { name = "avg_qps", formula = "dau * req_per_user / 86400" },
  { name = "peak_qps", formula = "avg_qps * 3", tolerance = 0.01 },
]"#;

fn cap_doc(block: &str) -> String {
    format!("# T\n\n## Capacity\n\n```capacity\n{block}```\n")
}

#[test]
fn capacity_passes_within_tolerance() {
    let doc = cap_doc("# inputs\ndau = 20_000_000\nreq_per_user = 40  # per day\navg_qps = 9,300\npeak_qps = 27_790\n");
    assert_pass(&one(CAP, &[("doc.md", &doc)]));
}

#[test]
fn capacity_wrong_arithmetic_names_formula_value_and_line() {
    let doc = cap_doc("dau = 20_000_000\nreq_per_user = 40\navg_qps = 5000\npeak_qps = 27_778\n");
    let o = one(CAP, &[("doc.md", &doc)]);
    assert_fail(&o, &["`avg_qps` is 5,000 but dau * req_per_user / 86400 gives 9,259.26", "±5%"]);
    assert_eq!(o.line, Some(8));
    // peak_qps is right from the true inputs, so one mistake is reported once
    assert!(!o.message.contains("peak_qps"), "{}", o.message);
    // a mistake carried forward consistently is also reported once
    let doc = cap_doc("dau = 20_000_000\nreq_per_user = 40\navg_qps = 5000\npeak_qps = 15000\n");
    let o = one(CAP, &[("doc.md", &doc)]);
    assert!(!o.message.contains("peak_qps"), "{}", o.message);
    // a value wrong both ways is reported with the formula over the written values
    let doc = cap_doc("dau = 20_000_000\nreq_per_user = 40\navg_qps = 9259\npeak_qps = 20000\n");
    let o = one(CAP, &[("doc.md", &doc)]);
    assert_fail(&o, &["`peak_qps` is 20,000 but avg_qps * 3 gives 27,777 (tolerance ±1%)"]);
    assert_eq!(o.line, Some(9));
}

#[test]
fn capacity_unfilled_and_missing_values() {
    let doc = cap_doc("dau = ?\navg_qps = 1\n");
    let o = one(CAP, &[("doc.md", &doc)]);
    assert_fail(&o, &["capacity value `dau` is \"?\"", "no `req_per_user = ...` line"]);
    assert_eq!(o.line, Some(6));
    let doc = cap_doc("dau = 0\nreq_per_user = 5\n");
    assert_fail(&one(CAP, &[("doc.md", &doc)]), &["`dau` is 0, it must be positive"]);
    let doc = cap_doc("dau = 10\nreq_per_user = 5\nthis line is prose\n");
    assert_fail(&one(CAP, &[("doc.md", &doc)]), &["is not `name = number`"]);
    let doc = cap_doc("dau = 10\nreq_per_user = 5\navg_qps = 0.0006\n");
    assert_fail(&one(CAP, &[("doc.md", &doc)]), &["no `peak_qps = ...` line"]);
}

#[test]
fn capacity_missing_block_section_and_variables() {
    let o = one(CAP, &[("doc.md", "## Capacity\n\n```\ndau = 1\n```\n")]);
    assert_fail(&o, &["no ```capacity block found in section \"Capacity\""]);
    let o = one(CAP, &[("doc.md", "# none\n")]);
    assert_fail(&o, &["no section titled \"Capacity\""]);
    let rule = "kind = \"capacity\"\nfile = \"doc.md\"\nderived = [{ name = \"x\", formula = \"y / z\" }]";
    let doc = cap_doc("x = 1\ny = 1\n");
    assert_fail(&one(rule, &[("doc.md", &doc)]), &["the block has no `z` line"]);
    let doc = cap_doc("x = 1\ny = 1\nz = 0\n");
    assert_fail(&one(rule, &[("doc.md", &doc)]), &["cannot be computed"]);
}

const SLO: &str = "kind = \"slo\"\nfile = \"doc.md\"\nsection = \"SLOs\"\nmin_slos = 2";

fn slo_doc(rows: &str) -> String {
    format!("## SLOs\n\n| SLI | Target | Window | Error budget |\n| --- | --- | --- | --- |\n{rows}")
}

#[test]
fn slo_pass_with_duration_and_percent_budgets() {
    let doc = slo_doc("| API availability | 99.9% | 30 days | 43.2 minutes |\n| Fast match | 99% of requests | 28d | 1% of requests |\n| Fresh | 99.95% | 4 weeks | 20 min 10 s |\n");
    assert_pass(&one(SLO, &[("doc.md", &doc)]));
}

#[test]
fn slo_budget_mismatch_is_explained() {
    let doc = slo_doc("| API | 99.9% | 30 days | 1 hour |\n| B | 99% | 7 days | 0.5% |\n");
    let o = one(SLO, &[("doc.md", &doc)]);
    assert_fail(
        &o,
        &[
            "has 0 complete SLOs",
            "error budget 1 hour does not match 99.9% over 30 days, which allows 43.2 minutes",
            "error budget 0.5% does not match target 99%, which leaves 1%",
        ],
    );
    assert!(o.message.contains("line 5"));
}

#[test]
fn slo_unparseable_cells_and_missing_table() {
    let doc =
        slo_doc("| A | high | 30 days | 1 h |\n| B | 99.9% | monthly-ish | 1 h |\n| C | 99.9% | 30 days | a bit |\n");
    let o = one(SLO, &[("doc.md", &doc)]);
    assert_fail(
        &o,
        &["target \"high\" has no percentage", "window \"monthly-ish\" is not a duration", "neither a duration"],
    );
    let o = one(SLO, &[("doc.md", "## SLOs\n\n| a | b |\n| - | - |\n| 1 | 2 |\n")]);
    assert_fail(&o, &["has no SLO table", "target, the window and the error budget"]);
}

#[test]
fn units_missing_section_and_magnitude_words() {
    let o = one(UNITS, &[("doc.md", "# none\n")]);
    assert_fail(&o, &["no section titled \"Capacity\""]);
    let doc = "## Capacity\n\n3 million users send 2 billion requests: 23,148 RPS on average, 1.2 GB per hour.\n";
    assert_pass(&one(UNITS, &[("doc.md", doc)]));
}

#[test]
fn capacity_values_outside_the_plausible_bounds_fail_with_the_reason() {
    let rule = format!(
        "{CAP}\nbounds = {{ dau = {{ min = 1e6, max = 8.2e9, why = \"a large-scale system, at most everyone alive\" }}, peak_qps = [1, 1e9] }}"
    );
    let ok = cap_doc("dau = 20_000_000\nreq_per_user = 10\navg_qps = 2314.8\npeak_qps = 6944.4\n");
    assert_pass(&one(&rule, &[("doc.md", &ok)]));
    let absurd = cap_doc("dau = 80_000_000_000\nreq_per_user = 1\navg_qps = 925925.9\npeak_qps = 2777777.8\n");
    let o = one(&rule, &[("doc.md", &absurd)]);
    assert_fail(&o, &["`dau` is 80,000,000,000, above the plausible maximum 8,200,000,000 (a large-scale system, at most everyone alive)"]);
    let tiny = cap_doc("dau = 1\nreq_per_user = 1\navg_qps = 0.0000116\npeak_qps = 0.0000347\n");
    assert_fail(&one(&rule, &[("doc.md", &tiny)]), &["below the plausible minimum 1,000,000"]);
    let bad = format!("{CAP}\nbounds = {{ dua = [1, 2] }}");
    assert!(lab_doccheck::parse_rules(&format!("format_version = 1\n[[rule]]\nid = \"r\"\n{bad}\n"))
        .unwrap_err()
        .to_string()
        .contains("bounds name `dua`"));
}

#[test]
fn capacity_lines_the_learner_derives_are_recomputed() {
    let ok = cap_doc(
        "dau = 20_000_000\nreq_per_user = 10\navg_qps = 2314.8\npeak_qps = 6944.4\n\
         offline_backlog_gb = 400   # = dau * 0.1 * 200 / 1000000\n",
    );
    assert_pass(&one(CAP, &[("doc.md", &ok)]));
    let wrong = ok.replace("offline_backlog_gb = 400", "offline_backlog_gb = 40");
    let o = one(CAP, &[("doc.md", &wrong)]);
    assert_fail(&o, &["`offline_backlog_gb` is 40 but its formula dau * 0.1 * 200 / 1000000 gives 400"]);
    let unknown = ok.replace("dau * 0.1", "daily_users * 0.1");
    assert_fail(&one(CAP, &[("doc.md", &unknown)]), &["uses `daily_users`, which the block does not define"]);
}
