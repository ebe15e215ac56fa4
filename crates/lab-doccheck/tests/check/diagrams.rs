//! mermaid size floors and the components rule: diagrams that show enough, and components the
//! prose explains.

use super::common::*;

const SIZED: &str = "kind = \"mermaid\"\nfile = \"doc.md\"\nkinds = [\"flowchart\", \"sequence\"]\nmin_nodes = 4\nmin_edges = 3\nmin_participants = 3\nmin_messages = 4";

fn diagrams(flow: &str, seq: &str) -> String {
    format!("# D\n\n```mermaid\nflowchart LR\n{flow}\n```\n\n```mermaid\nsequenceDiagram\n{seq}\n```\n")
}

#[test]
fn a_two_token_flowchart_is_not_an_architecture() {
    let seq = "A->>B: x\nB->>C: y\nC-->>B: z\nB-->>A: w";
    let o = one(SIZED, &[("doc.md", &diagrams("A-->B", seq))]);
    assert_fail(&o, &["the flowchart draws 2 components and 1 edges; draw at least 4 and 3"]);
    let flow = "App --> GW[Gateway] --> S[Service]\nS --> DB[(Store)]";
    assert_pass(&one(SIZED, &[("doc.md", &diagrams(flow, seq))]));
    let o = one(SIZED, &[("doc.md", &diagrams(flow, "A->>B: x"))]);
    assert_fail(&o, &["the sequence diagram has 2 participants and 1 messages; show at least 3 and 4"]);
}

const COMPONENTS: &str = "kind = \"components\"\nfile = \"doc.md\"\nsection = \"Architecture\"\nignore = [\"Client\"]";

fn design(text: &str, table: &str) -> String {
    format!(
        "# D\n\n## Architecture\n\n```mermaid\nflowchart LR\n  C[Client] --> GW[API gateway]\n  GW --> D[Dispatch service]\n  D --> G[(Geo index)]\n  D --> T[(Trips: MySQL, sharded by trip id)]\n```\n\n{text}\n\n{table}\n"
    )
}

const EXPLAINED: &str = "The API gateway terminates TLS and authenticates riders. Dispatching is done by the \
    dispatch service, which reads nearby drivers from the geo index. Trips are stored in MySQL.";

#[test]
fn every_drawn_component_is_explained_in_the_text() {
    assert_pass(&one(COMPONENTS, &[("doc.md", &design(EXPLAINED, ""))]));
    let o = one(COMPONENTS, &[("doc.md", &design("The API gateway terminates TLS.", ""))]);
    assert_fail(&o, &["the diagram draws \"Dispatch service\", \"Geo index\", \"Trips: MySQL, sharded by trip id\" that the text never explains"]);
    assert_eq!(o.line, Some(6));
}

#[test]
fn tables_name_only_components_the_diagram_draws() {
    let table = "| Component | Responsibility |\n| --- | --- |\n| Dispatch service | matches riders |\n| Payments | charges |\n";
    let o = one(COMPONENTS, &[("doc.md", &design(EXPLAINED, table))]);
    assert_fail(&o, &["the component table names \"Payments\", which no flowchart draws"]);
    let failures = "| Component | Failure | Detection | Mitigation |\n| --- | --- | --- | --- |\n\
        | Geo index replica | stale | lag alert | rebuild |\n| Region | lost | probes | fail over |\n\
        | Billing ledger | corrupt | audit | restore |\n";
    let o = one(COMPONENTS, &[("doc.md", &design(EXPLAINED, failures))]);
    assert_fail(&o, &["the failure-mode table names \"Billing ledger\", which no flowchart draws"]);
    assert!(!o.message.contains("Region") && !o.message.contains("Geo index replica"), "{}", o.message);
}

const DECISIONS: &str =
    "kind = \"decisions\"\nfile = \"doc.md\"\nsection = \"Trade-offs\"\ndir = \"adr\"\nexclude = [\"template.md\"]";

const TRADEOFF: &str = "# D\n\n## Trade-offs\n\n| Option | Latency | Cost | Operations |\n| --- | --- | --- | --- |\n\
    | Batched matching ✅ chosen | +2 s | low | one solver |\n| Greedy nearest driver | none | low | simple |\n";

fn adr(status: &str, decision: &str) -> String {
    format!("---\nstatus: {status}\n---\n\n# 0002. How riders are matched\n\n## Context\n\nGreedy nearest driver matching wastes drivers at peak; batched matching waits.\n\n## Decision\n\n{decision}\n\n## Consequences\n\n- Bad, because riders wait up to two seconds longer.\n")
}

#[test]
fn adrs_agree_with_the_option_the_trade_off_table_chose() {
    let good = adr("accepted", "We match in batches every two seconds per city (batched matching).");
    assert_pass(&one(DECISIONS, &[("doc.md", TRADEOFF), ("adr/0002-matching.md", &good)]));
    let opposite = adr("accepted", "We offer each request to the greedy nearest driver at once.");
    let o = one(DECISIONS, &[("doc.md", TRADEOFF), ("adr/0002-matching.md", &opposite)]);
    assert_fail(
        &o,
        &[
            "this ADR decides for \"Greedy nearest driver\", but the design's trade-off table",
            "marks \"Batched matching\" as chosen",
        ],
    );
    let rejected = adr("rejected", "We match in batches every two seconds per city (batched matching).");
    let o = one(DECISIONS, &[("doc.md", TRADEOFF), ("adr/0002-matching.md", &rejected)]);
    assert_fail(&o, &["its status is \"rejected\"", "must be accepted"]);
    let unrelated = adr("proposed", "We store trips in MySQL.").replace(
        "Greedy nearest driver matching wastes drivers at peak; batched matching waits.",
        "Trips need a store.",
    );
    // An ADR about something else is not held to the table; but some ADR must take it up.
    assert_pass(&one(
        DECISIONS,
        &[("doc.md", TRADEOFF), ("adr/0002-matching.md", &good), ("adr/0003-store.md", &unrelated)],
    ));
    let o = one(DECISIONS, &[("doc.md", TRADEOFF), ("adr/0003-store.md", &unrelated)]);
    assert_fail(&o, &["no ADR in adr takes up a decision the trade-off tables make"]);
    let unmarked = TRADEOFF.replace(" ✅ chosen", "");
    assert_fail(
        &one(DECISIONS, &[("doc.md", &unmarked), ("adr/0002-matching.md", &good)]),
        &["no trade-off table marks a chosen option"],
    );
}

#[test]
fn mermaid_blocks_lists_what_each_mermaid_rule_reads_with_file_and_line() {
    let rules = lab_doccheck::parse_rules(
        "format_version = 1\n\
         [[rule]]\nid = \"arch\"\nkind = \"mermaid\"\nfile = \"doc.md\"\nsection = \"Architecture\"\nkinds = [\"flowchart\"]\n\
         [[rule]]\nid = \"words\"\nkind = \"word_floor\"\nfile = \"other.md\"\nmin_words = 1\n\
         [[rule]]\nid = \"all\"\nkind = \"mermaid\"\nfile = \"doc.md\"\nkinds = []\n\
         [[rule]]\nid = \"gone\"\nkind = \"mermaid\"\nfile = \"missing.md\"\nkinds = [\"sequence\"]\n",
    )
    .unwrap();
    let doc = "# D\n\n```mermaid\nsequenceDiagram\nA->>B: x\n```\n\n## Architecture\n\n```mermaid\nflowchart LR\nA-->B\n```\n\n```python\nx = 1\n```\n";
    let ws = workspace(&[("doc.md", doc), ("other.md", "```mermaid\nflowchart LR\nA-->B\n```\n")]);
    let listed: Vec<(String, String, u32, String)> = lab_doccheck::mermaid_blocks(&rules, &ws.root)
        .into_iter()
        .map(|b| (b.rule_id, b.file, b.line, b.text))
        .collect();
    let own = |rule: &str, line: u32, text: &str| (rule.to_string(), "doc.md".to_string(), line, text.to_string());
    assert_eq!(
        listed,
        [
            own("arch", 11, "flowchart LR\nA-->B\n"),
            own("all", 4, "sequenceDiagram\nA->>B: x\n"),
            own("all", 11, "flowchart LR\nA-->B\n"),
        ],
        "the section rule reads its section only; other kinds' files and missing files give nothing"
    );
}
