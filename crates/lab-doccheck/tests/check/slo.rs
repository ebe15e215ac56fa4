//! slo rule: the target, window and budget forms it accepts, and the near misses it refuses.

use super::common::*;

const SLO: &str = "kind = \"slo\"\nfile = \"doc.md\"\nsection = \"SLOs\"\nmin_slos = 1";

fn table(rows: &str) -> String {
    format!("## SLOs\n\n| SLI | Target | Window | Error budget |\n| --- | --- | --- | --- |\n{rows}")
}

#[test]
fn calendar_and_spelled_out_windows() {
    // a calendar month has 28 to 31 days: a budget computed with any of them is right
    let doc = table(
        "| A | 99.9% | calendar month | 40.3 min |\n| B | 99.9% | month | 43.2 min |\n| C | 99.9% | calendar month | 44.6 min |\n\
         | D | 99.9% | rolling 30 days | 43.2 min |\n| E | 99.9% | 30-day | 43.2 min |\n| F | 99% | 28 d | 6.72 hours |\n\
         | G | 99.9% | week | 10.08 min |\n| H | 99% | quarter | 21.6 hours |\n",
    );
    assert_pass(&one(SLO, &[("doc.md", &doc)]));
}

#[test]
fn calendar_month_budget_fitting_no_month_length_fails() {
    let o = one(SLO, &[("doc.md", &table("| API | 99.9% | calendar month | 1 hour |\n"))]);
    assert_fail(
        &o,
        &[
            "error budget 1 hour does not match 99.9% over calendar month (28 days to 31 days)",
            "which allows 40.32 minutes to 44.64 minutes",
            "budget = (100% - target) x window",
        ],
    );
    assert_eq!(o.line, Some(1));
    assert!(o.message.contains("line 5"), "{}", o.message);
}

#[test]
fn latency_and_nines_targets() {
    let doc = table(
        "| Send latency | p99 under 2 s | 30 days | 1% of requests |\n\
         | Read latency | 99% of requests < 300 ms | 28 d | 6.72 hours |\n\
         | Search | p95 ≤ 200 ms | 7 days | 5% of searches (8.4 hours) |\n\
         | API | three nines | 30 days | 0.1% |\n\
         | p99 fan-out time | < 500 ms | 30 days | 1% |\n",
    );
    assert_pass(&one(SLO, &[("doc.md", &doc)]));
}

#[test]
fn latency_slo_with_a_wrong_budget_fails_and_explains() {
    let o = one(SLO, &[("doc.md", &table("| Send latency | p99 under 2 s | 30 days | 0.1% of requests |\n"))]);
    assert_fail(
        &o,
        &[
            "SLO \"Send latency\": error budget 0.1% does not match target 99%, which leaves 1% of requests over 2 s",
            "the share of requests allowed over the threshold",
        ],
    );
    let o = one(SLO, &[("doc.md", &table("| Send latency | p99 under 2 s | 30 days | 43.2 min |\n"))]);
    assert_fail(&o, &["error budget 43.2 minutes does not match 99% over 30 days, which allows 7.2 hours"]);
}

#[test]
fn budgets_in_another_cell_or_in_prose_lines() {
    let doc = "## SLOs\n\n| SLI | Target | Window | Notes |\n| --- | --- | --- | --- |\n| API | 99.9% | 30 days | error budget 43.2 min per month of 30 days |\n";
    assert_pass(&one(SLO, &[("doc.md", doc)]));
    let doc =
        "## SLOs\n\n| SLI | Objective |\n| --- | --- |\n| API | 99.9% over 30 days (budget: 0.1%, about 43 min) |\n";
    assert_pass(&one(SLO, &[("doc.md", doc)]));
    let two = "kind = \"slo\"\nfile = \"doc.md\"\nsection = \"SLOs\"\nmin_slos = 2";
    let doc = "## SLOs\n\n- Availability: 99.9% of requests succeed over a rolling 30 days; error budget 43.2 min.\n\
               - Send latency: p99 under 300 ms over a calendar month, error budget: 1% of messages.\n\
               - Alert when the monthly budget burns 2% in 1 hour.\n";
    assert_pass(&one(two, &[("doc.md", doc)]));
}

#[test]
fn prose_slo_with_a_wrong_budget_points_at_its_line() {
    let doc = "## SLOs\n\nIntro.\n\n- Availability: 99.9% over 30 days, error budget 4.32 min\n";
    let o = one(SLO, &[("doc.md", doc)]);
    assert_fail(&o, &["SLO \"Availability\": error budget 4.32 minutes does not match 99.9% over 30 days"]);
    assert!(o.message.contains("line 5"), "{}", o.message);
}

#[test]
fn budgets_that_cannot_be_checked_fail_with_an_example() {
    let o = one(SLO, &[("doc.md", &table("| API | 99.9% | 30 days | 50,000 failed requests |\n"))]);
    assert_fail(&o, &["neither a duration (43.2 minutes) nor a percentage (0.1%)", "0.1% of requests"]);
    let doc = "## SLOs\n\n| SLI | Target | Window |\n| --- | --- | --- |\n| API | 99.9% | 30 days |\n";
    assert_fail(&one(SLO, &[("doc.md", doc)]), &["SLO \"API\": no error budget", "43.2 min over 30 days"]);
    let doc = "## SLOs\n\nWe aim for high availability and a small error budget.\n";
    let o = one(SLO, &[("doc.md", doc)]);
    assert_fail(&o, &["has no SLO table", "`| Availability | 99.9% | 30 days | 43.2 min |`", "error budget 43.2 min`"]);
}

#[test]
fn odd_slo_text_never_panics() {
    let rows = [
        "| É | p | ü | ∞ |",
        "| 99.9% | nines | -month- | budget budget |",
        "| x | p99.9.9 < | 1e400 days | 840M 1.2B 3T |",
        "| ß | three and a half | calendar | 1 in 0 |",
        "| ǅ | 99% under ≤ ms | ‐30 days | 0% (0 s) |",
    ];
    let doc = table(&rows.join("\n"));
    let prose = "## SLOs\n\n- é: 99.9% budget\n- error budget: p99 ≤ 2 s budget\n- ü 99% ü budget 1 in\n";
    for d in [doc.as_str(), prose] {
        let o = one(SLO, &[("doc.md", d)]);
        assert!(!o.message.is_empty() || o.status == lab_doccheck::Status::Pass);
    }
}
