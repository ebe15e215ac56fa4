//! table, data_model, failure_modes and tradeoff_table rules.

use super::common::*;

const DM: &str = "kind = \"data_model\"\nfile = \"doc.md\"\nsection = \"Data model\"";

#[test]
fn data_model_preset_passes_and_needs_three_rows() {
    let doc = "## Data model\n\n| Entity | Partition key | Datastore |\n| --- | --- | --- |\n| Trip | trip_id | MySQL |\n| Trace | trip_id, at | Cassandra |\n| Offer | offer_id | Kafka |\n";
    assert_pass(&one(DM, &[("doc.md", doc)]));
    let doc = "## Data model\n\n| Entity | Key | Datastore |\n| --- | --- | --- |\n| Trip | trip_id | MySQL |\n| ? | ? | ? |\n";
    let o = one(DM, &[("doc.md", doc)]);
    assert_fail(&o, &["has 1 filled rows; it needs at least 3"]);
    assert_eq!(o.line, Some(3));
}

#[test]
fn data_model_missing_column_and_empty_cell() {
    let doc = "## Data model\n\n| Entity | Key |\n| --- | --- |\n| Trip | trip_id |\n";
    let o = one(DM, &[("doc.md", doc)]);
    assert_fail(&o, &["lacks the column(s) Datastore", "Entity | Key | Datastore"]);
    let doc = "## Data model\n\n| Entity | Key | Store |\n| --- | --- | --- |\n| Trip | trip_id | MySQL |\n| Trace | — | Cassandra |\n| Offer | offer_id | TBD |\n";
    let o = one(DM, &[("doc.md", doc)]);
    assert_fail(&o, &["row \"Trace\": column \"Key\" is empty", "row \"Offer\": column \"Datastore\" is empty"]);
    assert_eq!(o.line, Some(6));
    let o = one(DM, &[("doc.md", "## Data model\n\nprose only\n")]);
    assert_fail(&o, &["has no table", "Entity | Key | Datastore"]);
}

const FM: &str = r#"kind = "failure_modes"
file = "doc.md"
section = "Failure modes"
min_rows = 2
required_rows = [{ label = "a data-loss case", any = ["data loss", "corrupt"] }]"#;

#[test]
fn failure_modes_required_cases() {
    let head = "## Failure modes\n\n| Component | Failure | Detection | Mitigation |\n| --- | --- | --- | --- |\n";
    let ok = format!("{head}| DB | primary lost, data loss of 1 s | replica lag | semi-sync |\n| Cache | down | errors | fallback |\n");
    assert_pass(&one(FM, &[("doc.md", &ok)]));
    let bad = format!("{head}| DB | slow | p99 | scale |\n| Cache | down | errors | fallback |\n");
    assert_fail(&one(FM, &[("doc.md", &bad)]), &["no row covers a data-loss case", "data loss, corrupt"]);
}

const GENERIC: &str = r#"kind = "table"
file = "doc.md"
section = "Analysis"
columns = [
  { name = "Scenario" },
  { name = "Response measure", aliases = ["Measure"], check = "number" },
  { name = "Rating", check = "rating" },
  { name = "Mitigation", check = "link" },
  { name = "Notes", check = "any" },
]"#;

#[test]
fn generic_table_checks_numbers_ratings_and_links() {
    let head = "## Analysis\n\n## Other\n\n## Analysis 2\n\n";
    let _ = head;
    let ok = "## Analysis\n\n| Scenario | Measure | Rating | Mitigation | Notes |\n| --- | --- | --- | --- | --- |\n| Peak | p95 under 2 s | (H, M) | [ADR](adr.md) | |\n| Loss | within 5 minutes | High/Low | [here](#analysis) | x |\n";
    assert_pass(&one(GENERIC, &[("doc.md", ok), ("adr.md", "# A\n")]));
    let bad = "## Analysis\n\n| Scenario | Response measure | Rating | Mitigation | Notes |\n| --- | --- | --- | --- | --- |\n| Peak | fast enough | HH | see ADR | |\n| Loss | 5 min | (H, M) | [gone](missing.md) | |\n";
    let o = one(GENERIC, &[("doc.md", bad)]);
    assert_fail(
        &o,
        &[
            "row \"Peak\": column \"Response measure\" needs a number",
            "needs an (importance, difficulty) rating like (H, M), not \"HH\"",
            "column \"Mitigation\" needs a link",
            "link target missing.md does not exist",
        ],
    );
}

const TT: &str = "kind = \"tradeoff_table\"\nfile = \"doc.md\"\nsection = \"Trade-offs\"";

fn tt(rows: &str) -> String {
    format!("## Trade-offs\n\n| Option | Latency | Cost | Ops | Decision |\n| --- | --- | --- | --- | --- |\n{rows}")
}

#[test]
fn tradeoff_passes_with_one_chosen() {
    let doc = tt("| H3 ✅ chosen | good | low | easy | |\n| S2 | good | low | ok | not chosen |\n");
    assert_pass(&one(TT, &[("doc.md", &doc)]));
}

#[test]
fn tradeoff_failures() {
    let o = one(TT, &[("doc.md", &tt("| H3 | good | low | easy | |\n| S2 | good | low | ok | |\n"))]);
    assert_fail(&o, &["has 0 complete trade-off tables", "no option is marked as chosen"]);
    let o = one(TT, &[("doc.md", &tt("| H3 | good | low | easy | chosen |\n| S2 | good | low | ok | ✅ |\n"))]);
    assert_fail(&o, &["2 options are marked as chosen (H3, S2): mark exactly one"]);
    let o = one(TT, &[("doc.md", &tt("| H3 | good | | easy | ✅ |\n"))]);
    assert_fail(&o, &["compares 1 options; compare at least 2", "column \"Cost\" is empty"]);
    let doc = "## Trade-offs\n\n| Option | Cost | Verdict |\n| --- | --- | --- |\n| A | low | ✅ |\n| B | high | |\n";
    assert_fail(&one(TT, &[("doc.md", doc)]), &["has 1 criteria columns; use at least 3"]);
    let two = "kind = \"tradeoff_table\"\nfile = \"doc.md\"\nsection = \"Trade-offs\"\nmin_tables = 2";
    let doc = tt("| H3 ✅ | good | low | easy | |\n| S2 | good | low | ok | |\n");
    assert_fail(&one(two, &[("doc.md", &doc)]), &["has 1 complete trade-off tables", "it needs 2"]);
}

#[test]
fn failure_modes_preset_needs_five_rows_and_columns() {
    let rule = "kind = \"failure_modes\"\nfile = \"doc.md\"\nsection = \"Failure modes\"";
    let head = "## Failure modes\n\n| Component | Failure mode | Detected by | Recovery |\n| --- | --- | --- | --- |\n";
    let rows: String = (1..=5).map(|i| format!("| C{i} | fails | alert {i} | failover |\n")).collect();
    assert_pass(&one(rule, &[("doc.md", &format!("{head}{rows}"))]));
    let o = one(rule, &[("doc.md", &format!("{head}| C | fails | alert | failover |\n"))]);
    assert_fail(&o, &["has 1 filled rows; it needs at least 5"]);
    let o = one(rule, &[("doc.md", "## Failure modes\n\n| What | How |\n| - | - |\n| a | b |\n")]);
    assert_fail(&o, &["lacks the column(s) Component, Failure, Detection, Mitigation"]);
}

const CRITERIA: &str = "| Latency | low | medium |\n| Cost | high | low |\n| Operability | managed | self-run |\n";

#[test]
fn tradeoff_transposed_tables_pass_with_a_marked_column_or_a_decision_row() {
    let doc = format!("## Trade-offs\n\n| Criterion | Kafka ✅ | RabbitMQ |\n| --- | --- | --- |\n{CRITERIA}");
    assert_pass(&one(TT, &[("doc.md", &doc)]));
    let doc = format!(
        "## Trade-offs\n\n| | Kafka | RabbitMQ |\n| --- | --- | --- |\n{CRITERIA}| Decision | chosen | rejected |\n"
    );
    assert_pass(&one(TT, &[("doc.md", &doc)]));
    // no tell-tale first header: the marker on a header cell says options are columns
    let doc = format!("## Trade-offs\n\n| Queue | Kafka (recommended) | RabbitMQ |\n| --- | --- | --- |\n{CRITERIA}");
    assert_pass(&one(TT, &[("doc.md", &doc)]));
}

#[test]
fn tradeoff_transposed_without_a_marker_fails_with_an_example() {
    let doc = format!("## Trade-offs\n\n| Criterion | Kafka | RabbitMQ |\n| --- | --- | --- |\n{CRITERIA}");
    let o = one(TT, &[("doc.md", &doc)]);
    assert_fail(&o, &["no option is marked as chosen", "`| Criterion | Kafka ✅ | RabbitMQ |`", "Decision: Kafka"]);
    let doc = "## Trade-offs\n\n| Criterion | Kafka ✅ | RabbitMQ |\n| --- | --- | --- |\n| Latency | low | |\n| Cost | high | low |\n| Ops | managed | self-run |\n";
    assert_fail(&one(TT, &[("doc.md", doc)]), &["option \"RabbitMQ\": criterion \"Latency\" is empty"]);
}

fn opts(names: [&str; 2], verdict_head: &str, verdicts: [&str; 2]) -> String {
    format!(
        "## Trade-offs\n\n| Option | Latency | Cost | Ops | {verdict_head} |\n| --- | --- | --- | --- | --- |\n| {} | low | high | easy | {} |\n| {} | mid | low | hard | {} |\n",
        names[0], verdicts[0], names[1], verdicts[1]
    )
}

#[test]
fn tradeoff_common_chosen_markers() {
    for (names, head, verdicts) in [
        (["Kafka (recommended)", "RabbitMQ"], "Notes", ["", ""]),
        (["Kafka ✓", "RabbitMQ"], "Notes", ["", ""]),
        (["Kafka", "RabbitMQ"], "Chosen", ["yes", "no"]),
        (["Kafka", "RabbitMQ"], "Decision", ["Adopt", "Rejected: no replay"]),
        (["Kafka", "RabbitMQ"], "Notes", ["selected for replay", "not recommended at this scale"]),
        (["Kafka", "RabbitMQ"], "Verdict", ["✔", ""]),
    ] {
        let doc = opts(names, head, verdicts);
        assert_pass(&one(TT, &[("doc.md", &doc)]));
    }
}

#[test]
fn tradeoff_marks_in_criteria_cells_or_negated_do_not_count() {
    // ✓ and ✗ rate criteria here; they do not pick an option
    let doc = "## Trade-offs\n\n| Option | Replay | Ordering | Managed |\n| --- | --- | --- | --- |\n| Kafka | ✓ | ✓ | ✗ |\n| RabbitMQ | ✗ | ✓ | ✓ |\n";
    assert_fail(&one(TT, &[("doc.md", doc)]), &["no option is marked as chosen"]);
    let doc = opts(["Kafka", "RabbitMQ"], "Decision", ["not chosen", "not recommended"]);
    assert_fail(&one(TT, &[("doc.md", &doc)]), &["no option is marked as chosen"]);
}

#[test]
fn tradeoff_decision_line_under_the_table() {
    let table = opts(["Kafka on MSK", "RabbitMQ"], "Notes", ["", ""]);
    assert_pass(&one(TT, &[("doc.md", &format!("{table}\n**Decision:** Kafka on MSK, for replay.\n"))]));
    assert_pass(&one(TT, &[("doc.md", &format!("{table}\nWe chose Kafka because consumers replay.\n"))]));
    // naming both options, or a line after the next heading, decides nothing
    let o = one(TT, &[("doc.md", &format!("{table}\nDecision: Kafka on MSK or RabbitMQ, later.\n"))]);
    assert_fail(&o, &["no option is marked as chosen"]);
    let o = one(TT, &[("doc.md", &format!("{table}\n## Next\n\nDecision: Kafka on MSK.\n"))]);
    assert_fail(&o, &["no option is marked as chosen"]);
}

const FM_LOSS: &str = r#"kind = "failure_modes"
file = "doc.md"
section = "Failure modes"
min_rows = 2
required_rows = [
  { label = "a dependency outage", any = ["outage", "unavailable"] },
  { label = "a data-loss case", any = ["data loss", "lost"] },
]"#;

#[test]
fn failure_modes_scenario_tables_and_recovery_objectives() {
    let doc = "## Failure modes\n\n| Failure scenario | Impact | Detection / alerting | Recovery |\n| --- | --- | --- | --- |\n| Primary database fails over | writes pause | replica promotion event | RPO 60 s, promote the replica |\n| Cache cluster | reads slow down | p99 alert | RTO 5 min, rebuild from the database |\n";
    assert_pass(&one(FM_LOSS, &[("doc.md", doc)]));
    let doc = "## Failure modes\n\n| Component | Impact | Monitoring | Response |\n| --- | --- | --- | --- |\n| Kafka | outage of the event bus | lag alert | buffer at producers |\n| MySQL | data lost after failover | reconciliation | RPO 0 with semi-sync |\n";
    assert_pass(&one(FM_LOSS, &[("doc.md", doc)]));
}

#[test]
fn failure_modes_recovery_time_is_not_data_loss() {
    let doc = "## Failure modes\n\n| Failure scenario | Impact | Alerting | Mitigation |\n| --- | --- | --- | --- |\n| Region outage | all users | health checks | RTO 5 min |\n| Cache down | slow reads | p99 alert | warm standby |\n";
    let o = one(FM_LOSS, &[("doc.md", doc)]);
    assert_fail(&o, &["no row covers a data-loss case"]);
    assert!(!o.message.contains("dependency outage"), "{}", o.message);
}

#[test]
fn tradeoff_transposed_problems_point_at_the_criterion_row() {
    let doc = "## Trade-offs\n\n| Criterion | Kafka ✅ | RabbitMQ |\n| --- | --- | --- |\n| Latency | low | mid |\n| Cost | high | |\n| Ops | managed | self-run |\n";
    let o = one(TT, &[("doc.md", doc)]);
    assert_fail(&o, &["(line 6): option \"RabbitMQ\": criterion \"Cost\" is empty"]);
    let doc = "## Trade-offs\n\n| Criterion | Kafka | RabbitMQ |\n| --- | --- | --- |\n| Latency | low | mid |\n| Cost | high | low |\n| Ops | managed | self-run |\n";
    assert_fail(&one(TT, &[("doc.md", doc)]), &["a Decision row with `yes`"]);
}

#[test]
fn odd_tradeoff_text_never_panics() {
    let doc = "## Trade-offs\n\n| | ✅ | ✅ |\n| - | - | - |\n| Decision | ✅ | |\n| É | un-chosen | not |\n\nDecision:\n\n| Option | ü |\n| - | - |\n| ✅ | ✅ |\n\nWe chose \n";
    let o = one(TT, &[("doc.md", doc)]);
    assert!(o.status == lab_doccheck::Status::Fail && !o.message.is_empty());
}
