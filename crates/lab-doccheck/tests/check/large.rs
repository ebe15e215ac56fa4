//! Large and pathological documents: grading stays linear. A generated 5 MB design document
//! (realistic sections, tables, lists, code blocks and links) and inputs built to hit
//! super-linear paths (one huge line, deep nesting, 100k headings, huge tables, many anchors)
//! go through every rule kind. Debug builds get loose bounds that still catch quadratic
//! behaviour; `benches/doccheck-large.sh` runs the release-mode check of under a second per rule.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use super::common::*;
use lab_doccheck::{check, parse_rules, Finding, Status};

/// The design-doc lab's rules (our own copy, so the lab's file can change shape freely), plus
/// one rule of each kind the lab does not use (`table` with links and ratings).
pub(crate) const RULES: &str = r#"format_version = 1

[[rule]]
id = "structure-sections"
kind = "sections"
file = "docs/design.md"
sections = [
  { title = "Context and scope", aliases = ["Context", "Background"] },
  { title = "Goals and non-goals", aliases = ["Goals"] },
  { title = "Non-goals", aliases = ["Out of scope"] },
  { title = "Requirements" },
  { title = "Capacity estimates", aliases = ["Capacity"], non_empty = false },
  { title = "Service-level objectives", aliases = ["SLOs"], non_empty = false },
  { title = "High-level design", aliases = ["Architecture"], non_empty = false },
  { title = "Critical flow", aliases = ["Key flow"], non_empty = false },
  { title = "API", aliases = ["APIs"], non_empty = false },
  { title = "Data model", aliases = ["Storage"], non_empty = false },
  { title = "Alternatives and trade-offs", aliases = ["Trade-offs"], non_empty = false },
  { title = "Failure modes", aliases = ["Reliability"], non_empty = false },
  { title = "Decisions", aliases = ["ADRs"], non_empty = false },
  { title = "Cross-cutting concerns", aliases = ["Security and privacy"], non_empty = false },
]

[[rule]]
id = "structure-context-prose"
kind = "word_floor"
file = "docs/design.md"
section = ["Context and scope", "Context"]
min_words = 150

[[rule]]
id = "structure-goals"
kind = "list_items"
file = "docs/design.md"
section = ["Goals"]
min_items = 3
min_words = 4

[[rule]]
id = "structure-no-placeholders"
kind = "no_placeholders"
files = ["docs/design.md", "docs/adr/*.md"]
exclude = ["template.md"]

[[rule]]
id = "numbers-capacity-block"
kind = "capacity"
file = "docs/design.md"
section = ["Capacity estimates", "Capacity"]
inputs = ["daily_active_users", "requests_per_user_per_day", "peak_to_average"]
derived = [
  { name = "average_qps", formula = "daily_active_users * requests_per_user_per_day / 86400" },
  { name = "peak_qps", formula = "average_qps * peak_to_average" },
]

[[rule]]
id = "numbers-capacity-units"
kind = "numbers_with_units"
file = "docs/design.md"
section = ["Capacity estimates", "Capacity"]
min_count = 8
require_units = [["QPS", "RPS"], ["GB", "TB"], ["DAU", "users"]]

[[rule]]
id = "numbers-slos"
kind = "slo"
file = "docs/design.md"
section = ["Service-level objectives", "SLOs"]
min_slos = 2

[[rule]]
id = "artifacts-flowchart"
kind = "mermaid"
file = "docs/design.md"
section = ["High-level design", "Architecture"]
kinds = ["flowchart"]
min_nodes = 3
min_edges = 2

[[rule]]
id = "artifacts-sequence"
kind = "mermaid"
file = "docs/design.md"
section = ["Critical flow", "Key flow"]
kinds = ["sequence"]

[[rule]]
id = "artifacts-components"
kind = "components"
file = "docs/design.md"
section = ["High-level design", "Architecture"]

[[rule]]
id = "numbers-consistent"
kind = "consistency"
file = "docs/design.md"
section = ["Capacity estimates"]
mentions = { daily_active_users = ["DAU", "daily active users"], peak_qps = ["QPS at peak"] }
requirements = ["Requirements"]
objectives = ["Service-level objectives"]

[[rule]]
id = "artifacts-hld-prose"
kind = "word_floor"
file = "docs/design.md"
section = ["High-level design", "Architecture"]
min_words = 200

[[rule]]
id = "artifacts-api"
kind = "api_endpoints"
file = "docs/design.md"
section = ["API", "APIs"]
min_endpoints = 3

[[rule]]
id = "artifacts-data-model"
kind = "data_model"
file = "docs/design.md"
section = ["Data model", "Storage"]
min_rows = 3
columns = [
  { name = "Entity", aliases = ["Table"] },
  { name = "Fields", aliases = ["Attributes"] },
  { name = "Key", aliases = ["Primary key", "Partition key"] },
  { name = "Datastore", aliases = ["Store", "Database"] },
]

[[rule]]
id = "reasoning-tradeoffs"
kind = "tradeoff_table"
file = "docs/design.md"
section = ["Alternatives and trade-offs", "Trade-offs"]
min_tables = 2

[[rule]]
id = "reasoning-failure-modes"
kind = "failure_modes"
file = "docs/design.md"
section = ["Failure modes", "Reliability"]
min_rows = 5
required_rows = [
  { label = "a dependency outage", any = ["outage", "unavailable"] },
  { label = "a data-loss case", any = ["data loss", "lost"] },
]

[[rule]]
id = "reasoning-risks"
kind = "table"
file = "docs/design.md"
section = ["Failure modes", "Reliability"]
columns = [
  { name = "Component" },
  { name = "Rating", check = "rating" },
  { name = "Mitigation", check = "link" },
]

[[rule]]
id = "reasoning-adrs"
kind = "adr"
dir = "docs/adr"
exclude = ["template.md"]
min_count = 3
referenced_from = ["docs/design.md"]

[[rule]]
id = "reasoning-cross-cutting"
kind = "word_floor"
file = "docs/design.md"
section = ["Cross-cutting concerns", "Security and privacy"]
min_words = 120

[[rule]]
id = "reasoning-links"
kind = "links"
files = ["docs/design.md", "docs/adr/*.md"]
exclude = ["template.md"]
min_links = 3
"#;

const ADR_1: &str = "---\nstatus: accepted\n---\n\n# 0001. Index supply by H3 cell\n\n## Context\n\nDispatch asks which idle drivers are near a pickup thousands of times a second.\n\n## Decision\n\nWe will key the in-memory supply index by H3 cell at resolution 9.\n\n## Consequences\n\n- Good, because ring searches step evenly in distance.\n- Bad, because hexagons do not nest, so roll-ups are approximate.\n";
const ADR_2: &str = "# 0002. Batch matching every two seconds\n\n## Status\n\nAccepted\n\n## Context\n\nGreedy nearest-driver matching wastes drivers in dense areas at peak.\n\n## Decision\n\nWe will collect requests per city for two seconds and solve one assignment.\n\n## Consequences\n\nRiders wait up to two extra seconds before the first offer, which is a real cost at quiet hours.\n\n### Negative\n\n- The first offer is delayed by up to two seconds.\n";
const ADR_3: &str = "---\nstatus: proposed\n---\n\n# 0003. One dispatch writer per city\n\n## Context\n\nTwo processes matching the same city race on whether a driver is free.\n\n## Decision\n\nWe will run exactly one dispatch primary per city with a warm standby.\n\n## Consequences\n\n### Negative\n\n- A very large city cannot be split across processes without a redesign.\n";

/// The fixed head of the generated design: every graded section, each passing its rule.
fn head() -> Vec<(&'static str, String)> {
    // Distinct sentences: prose that repeats itself fails the filler check.
    let context: String = (1..=5)
        .map(|k| {
            format!(
                "Riders in region {k} ask for a trip through the API gateway and expect a driver within seconds. \
                 Drivers of region {k} report where they are every few seconds and receive offers they can accept. \
                 Dispatch for region {k} sits between the two: it knows where idle drivers are right now and decides \
                 which driver is offered which trip, keeping trips in MySQL and trace points in Cassandra; push sends offers to drivers. "
            )
        })
        .collect();
    vec![
        ("Context and scope", format!("{context}\n\nSee [the capacity section](#capacity-estimates).\n")),
        (
            "Goals and non-goals",
            "### Goals\n\n- A rider is offered a driver within two seconds.\n- Matching uses road ETA for the final choice.\n- One failed city affects only that city.\n".into(),
        ),
        ("Non-goals", "- Pricing and surge multipliers stay outside dispatch.\n- Shared rides wait for a later design.\n".into()),
        (
            "Requirements",
            "Riders request, track and cancel trips; drivers go online and accept offers. The request API is \
             available 99.95% of the time, and the first offer arrives with p99 under 2 s.\n"
                .into(),
        ),
        (
            "Capacity estimates",
            "```capacity\ndaily_active_users = 35_000_000\nrequests_per_user_per_day = 1_114\npeak_to_average = 3\naverage_qps = 451_273\npeak_qps = 1_353_819\n```\n\n\
             We plan for 35M DAU, 451,273 QPS on average and 1,353,819 QPS at peak, 690 GB per day \
             and 755 TB per year, 375,000 writes per second, 120 ms p50 and 2 s p99.\n"
                .into(),
        ),
        (
            "Service-level objectives",
            "| SLI | Target | Window | Error budget |\n| --- | --- | --- | --- |\n\
             | Request API availability | 99.95% | 30 days | 21.6 minutes |\n\
             | First offer within 2 s | 99.9% of requests | 28 days | 0.1% of requests |\n"
                .into(),
        ),
        (
            "High-level design",
            format!("```mermaid\nflowchart LR\n  R[Rider app] -->|HTTPS| GW[API gateway]\n  GW --> DS[Dispatch]\n  DS --> DB[(MySQL)]\n  DS --> CS[(Cassandra)]\n  DS --> P[Push]\n```\n\n{}\n", context),
        ),
        ("Critical flow", "```mermaid\nsequenceDiagram\n  Rider->>API: POST /v1/rides\n  API-->>Rider: 201 Created\n```\n".into()),
        (
            "API",
            "POST /v1/rides\n\n```json\n{\"pickup\": [52.5, 13.4]}\n```\n\nGET /v1/rides/{id}\n\n```json\n{\"state\": \"OFFERED\"}\n```\n\n\
             DELETE /v1/rides/{id}\n\n```json\n{\"reason\": \"rider\"}\n```\n"
                .into(),
        ),
        (
            "Data model",
            "| Entity | Fields | Key | Datastore |\n| --- | --- | --- | --- |\n| Trip | state, version | trip_id | MySQL |\n\
             | Offer | trip, driver, expiry | offer_id | Redis |\n| Trace point | lat, lng, ts | (trip_id, ts) | Cassandra |\n"
                .into(),
        ),
        ("Alternatives and trade-offs", String::new()),
        (
            "Failure modes",
            "| Component | Failure | Detection | Mitigation | Rating |\n| --- | --- | --- | --- | --- |\n\
             | Kafka | broker outage | consumer lag alert | [fail over](#decisions) | (H, M) |\n\
             | MySQL | primary unavailable | health check | [promote replica](#decisions) | (H, H) |\n\
             | Cassandra | trace points lost | write error rate | [replay](#decisions) | (M, L) |\n\
             | Push | connections dropped | reconnect rate | [poll](#decisions) | (M, M) |\n\
             | Dispatch | shard crash | heartbeat | [standby](#decisions) | (H, M) |\n"
                .into(),
        ),
        (
            "Decisions",
            "[ADR 1](adr/0001-h3.md), [ADR 2](adr/0002-batching.md) and [ADR 3](adr/0003-writer.md#decision).\n".into(),
        ),
        ("Cross-cutting concerns", context.clone()),
    ]
}

/// One realistic chunk for a section, numbered so headings and anchors stay unique.
fn chunk(section: &str, i: usize) -> String {
    let mut s = String::new();
    match section {
        "Context and scope" => {
            let _ = write!(
                s,
                "### Background note {i}\n\nCity {i} runs **dispatch** on its own shard; see [note {i}](#background-note-{i}) \
                 and the [high-level design](#high-level-design). Peaks in city {i} arrive on Friday evenings.\n\n\
                 > A reviewer asked why city {i} is separate.\n> Isolation: a slow city {i} must not slow the others.\n\n"
            );
        }
        "Goals and non-goals" => {
            let _ = write!(
                s,
                "- Goal {i}: offer a driver within {} ms in city {i}.\n  - nested detail for goal {i}\n",
                800 + i % 100
            );
        }
        "Requirements" => {
            let _ = writeln!(s, "{i}. Riders in city {i} can cancel before assignment without a fee.");
        }
        "Capacity estimates" => {
            let _ = write!(
                s,
                "City {i} has {}k DAU, {} QPS at peak and stores {} GB per day.\n\n| Traffic | Per day |\n| --- | --- |\n| Location updates {i} | {}M |\n\n",
                i % 900 + 10,
                i * 3 % 7000,
                i % 50 + 1,
                i % 90 + 1
            );
        }
        "Service-level objectives" => {
            let _ = write!(
                s,
                "| SLI | Target | Window | Error budget |\n| --- | --- | --- | --- |\n| City {i} offers | 99.9% | 30 days | 43.2 minutes |\n\n"
            );
        }
        "High-level design" => {
            let _ = write!(
                s,
                "### Component {i}\n\nComponent {i}, the supply {i} service, consumes `driver-locations` from Kafka and keeps the cells of city {i} in memory; it \
                 restarts by replaying thirty seconds of the topic.\n\n```mermaid\nflowchart LR\n  K{i}[(Kafka)] --> S{i}[Supply {i}]\n  S{i} -->|candidates| D{i}[Dispatch]\n```\n\n"
            );
        }
        "Critical flow" => {
            let _ = write!(
                s,
                "```mermaid\nsequenceDiagram\n  Rider->>API: request {i}\n  alt driver found\n    API->>Driver: offer {i}\n  else none\n    API-->>Rider: retry\n  end\n```\n\n"
            );
        }
        "API" => {
            let _ = write!(
                s,
                "### POST /v1/cities/{i}/pause\n\nPauses dispatch in a zone of city {i}.\n\n```json\n{{\"zone\": \"airport-{i}\", \"until\": \"2026-01-01T00:00:00Z\", \"reasons\": [\"event\", \"closure\"]}}\n```\n\n"
            );
        }
        "Data model" => {
            let _ = write!(
                s,
                "| Entity | Fields | Key | Datastore |\n| --- | --- | --- | --- |\n| Zone {i} | polygon, state | zone_id | MySQL |\n\
                 | Pause {i} | zone, until | pause_id | MySQL |\n| Event {i} | kind, ts | (zone_id, ts) | Kafka |\n\n"
            );
        }
        "Alternatives and trade-offs" => {
            let _ = write!(
                s,
                "### Decision {i}\n\n| Option | Latency | Cost | Operability | Verdict |\n| --- | --- | --- | --- | --- |\n\
                 | Batched {i} | 2 s extra | low | good | ✅ chosen |\n| Greedy {i} | none | high | good | not chosen |\n\n"
            );
        }
        "Failure modes" => {
            let _ = writeln!(
                s,
                "- Failure note {i}: the shard of city {i} fails over in 10 s; see [decisions](#decisions)."
            );
        }
        "Decisions" => {
            let _ = writeln!(
                s,
                "- Decision {i} follows [ADR 1](adr/0001-h3.md#context) and [component {i}](#component-{i})."
            );
        }
        _ => {
            // Varied sentences, as a real section has: a template repeated thousands of times
            // reads as filler to the prose check.
            const TOPICS: &[&str] = &[
                "trace points older than 90 days are deleted and every access is logged",
                "operators reach production only through audited, short-lived credentials",
                "payment tokens never leave the vault, so dispatch holds no card data",
                "each city's data stays in the region its regulator names",
                "riders may export or erase their history from the app within a month",
                "service-to-service calls use mutual TLS with certificates rotated daily",
                "alerts page the owning team first and escalate after fifteen minutes",
                "cost reports break spending down by city, team and storage tier",
            ];
            let _ = write!(s, "Paragraph {i}: {}.\n\n", TOPICS[i % TOPICS.len()]);
        }
    }
    s
}

/// A design document of about `bytes` bytes that passes every rule in [`RULES`].
pub(crate) fn design(bytes: usize) -> String {
    let mut sections = head();
    let mut total: usize = sections.iter().map(|(t, b)| t.len() + b.len() + 6).sum();
    let mut i = 0;
    while total < bytes {
        i += 1;
        for (title, body) in sections.iter_mut() {
            let c = chunk(title, i);
            total += c.len() + 1;
            body.push('\n');
            body.push_str(&c);
        }
    }
    let mut out = String::from("# Design: ride-hailing dispatch\n\n");
    for (title, body) in sections {
        let _ = write!(out, "## {title}\n\n{body}\n");
    }
    out
}

fn adr_files() -> Vec<(&'static str, &'static str)> {
    vec![("docs/adr/0001-h3.md", ADR_1), ("docs/adr/0002-batching.md", ADR_2), ("docs/adr/0003-writer.md", ADR_3)]
}

/// The rules file cut into one rules file per rule, so each can be timed on its own.
fn single_rules() -> Vec<(String, String)> {
    RULES
        .split("[[rule]]")
        .skip(1)
        .map(|body| {
            let id = body.lines().find_map(|l| l.strip_prefix("id = ")).unwrap_or("?").trim_matches('"').to_string();
            (id, format!("format_version = 1\n[[rule]]{body}"))
        })
        .collect()
}

fn grade(design: &str) -> (Vec<Finding>, Duration) {
    let mut files = adr_files();
    files.push(("docs/design.md", design));
    let ws = workspace(&files);
    let rules = parse_rules(RULES).unwrap();
    let t = Instant::now();
    let out = check(&rules, &ws.root);
    (out, t.elapsed())
}

#[test]
fn generated_design_passes_every_rule() {
    // the timing tests below mean something only if the big document exercises every rule
    // fully rather than stopping at a missing section
    let (out, _) = grade(&design(200_000));
    for f in &out {
        assert!(f.status == Status::Pass, "{} failed on the generated design: {}", f.rule_id, f.message);
    }
}

/// Grades `design` with each rule on its own (so each pays for reading the document, as it
/// would alone), prints `name<TAB>rule<TAB>seconds` lines for the bench script, and returns
/// the slowest rule's time.
fn report(name: &str, design: &str) -> Duration {
    let mut files = adr_files();
    files.push(("docs/design.md", design));
    let ws = workspace(&files);
    let mut worst = Duration::ZERO;
    for (id, text) in single_rules() {
        let rules = parse_rules(&text).unwrap();
        let t = Instant::now();
        let _ = check(&rules, &ws.root);
        let took = t.elapsed();
        println!("{name}\t{id}\t{:.3}", took.as_secs_f64());
        worst = worst.max(took);
    }
    worst
}

// Debug builds are several times slower than release and CI shares two cores with other
// tests, so these bounds sit far above the measured times (about 3 s for the 5 MB design, at
// most 2 s per pathological input); what they guard against took minutes (100k headings with
// anchor links: 54 s in release before anchors were indexed).
const DEBUG_BOUND: Duration = Duration::from_secs(40);

#[test]
fn five_mb_design_grades_within_a_loose_bound() {
    let d = design(5_000_000);
    let (out, took) = grade(&d);
    for f in &out {
        assert!(f.status == Status::Pass, "{} failed on the 5 MB design: {}", f.rule_id, f.message);
    }
    assert!(took < DEBUG_BOUND, "grading a 5 MB design took {took:?}");
}

#[test]
fn pathological_inputs_grade_within_a_loose_bound() {
    let kinds = single_rules().len();
    for (name, d) in pathological(500_000) {
        let (out, took) = grade(&d);
        assert_eq!(out.len(), kinds, "{name}");
        assert!(out.iter().all(|f| f.status == Status::Pass || !f.message.is_empty()), "{name}: silent failure");
        assert!(took < DEBUG_BOUND, "{name} took {took:?}");
    }
}

#[test]
#[ignore = "timing: run in release by benches/doccheck-large.sh"]
fn every_rule_under_a_second_on_5mb() {
    let d = design(5_000_000);
    let mut worst = report("design-5mb", &d);
    // the adr rule reads every record in full: a 5 MB one, half design, half a decision with
    // 50,000 consequence subsections
    let consequences = "### Consequences\n\n- Bad, because it costs more.\n\n".repeat(50_000);
    let big_adr = format!("{}\n## Decision\n\nWe will shard by city.\n\n{consequences}", design(2_500_000));
    let mut files = adr_files();
    files.extend([("docs/design.md", d.as_str()), ("docs/adr/0004-big.md", big_adr.as_str())]);
    let ws = workspace(&files);
    let (_, adr_rule) = single_rules().into_iter().find(|(id, _)| id == "reasoning-adrs").unwrap();
    let t = Instant::now();
    let _ = check(&parse_rules(&adr_rule).unwrap(), &ws.root);
    println!("adr-5mb\treasoning-adrs\t{:.3}", t.elapsed().as_secs_f64());
    worst = worst.max(t.elapsed());
    assert!(worst < Duration::from_secs(1), "slowest rule took {worst:?}");
}

/// Inputs shaped to hit super-linear paths, each about `bytes` long, named for reports.
pub(crate) fn pathological(bytes: usize) -> Vec<(&'static str, String)> {
    let fill = |unit: &str| unit.repeat(bytes / unit.len().max(1));
    let heads = head();
    let skeleton: String = heads.iter().map(|(t, _)| format!("## {t}\n\nText.\n\n")).collect();
    vec![
        ("one-line", fill("word 12 ms [a](#x) `c` *e* ")),
        ("one-line-no-spaces", fill("x")),
        ("nested-lists", fill("- a\n  ").to_string()),
        ("nested-quotes", fill("> ")),
        ("quote-lists", fill("> - ")),
        ("open-brackets", fill("[")),
        ("open-emphasis", fill("*a _b ")),
        ("backticks", fill("`` ` ")),
        (
            "headings-100k",
            (0..100_000).map(|i| format!("## Heading {i}\n\n[h](#heading-{})\n\n", (i * 7919) % 100_000)).collect(),
        ),
        ("same-heading", fill("## Decisions\n\n")),
        (
            "huge-table",
            format!(
                "## Data model\n\n| Entity | Fields | Key | Datastore |\n|---|---|---|---|\n{}",
                fill("| Trip | a, b | id | [x](#data-model) |\n")
            ),
        ),
        (
            "wide-table",
            format!(
                "## Failure modes\n\n{}|\n{}|\n{}|\n",
                "| Component ".repeat(bytes / 36),
                "|---".repeat(bytes / 36),
                "| x ".repeat(bytes / 36)
            ),
        ),
        (
            "links-anchors",
            format!(
                "{skeleton}{}",
                fill("[a](#decisions) [b](adr/0001-h3.md#context) [c](missing.md#x) [d](https://e.org)\n")
            ),
        ),
        (
            "one-section-prose",
            format!("## Capacity estimates\n\n{}", fill("We serve 12 QPS at 40 ms for 7 users and 3 GB.\n")),
        ),
        ("list-items", format!("## Goals\n\n{}", fill("- a goal with several words in it\n"))),
        (
            "capacity-block",
            format!("## Capacity estimates\n\n```capacity\n{}```\n", fill("daily_active_users = 1_000 # note\n")),
        ),
        (
            "mermaid-block",
            format!(
                "## High-level design\n\n```mermaid\nflowchart LR\n{}```\n",
                fill("  A[a] --> B((b)) -.-> C{{c}}\n")
            ),
        ),
        (
            "sequence-block",
            format!("## Critical flow\n\n```mermaid\nsequenceDiagram\n{}```\n", fill("  loop again\n  A->>B: hi\n")),
        ),
        (
            "json-block",
            format!("## API\n\nPOST /v1/x\n\n```json\n[{}0]\n```\n", fill("{\"a\": [1, 2.5e3, \"s\\\"\"]}, ")),
        ),
        ("endpoints", format!("## API\n\n{}", fill("GET /v1/a POST /v1/b\n\n"))),
        ("placeholders", fill("TODO TBD FIXME XXX lorem ipsum ")),
        ("html", fill("<div>x</div> <!-- c --> ")),
        ("crlf", fill("## Goals\r\n\r\n- a goal with four words\r\n")),
        ("front-matter-open", format!("---\n{}", fill("status: accepted\n"))),
    ]
}

#[test]
#[ignore = "timing: run in release by benches/doccheck-large.sh"]
fn every_rule_under_a_second_on_pathological_inputs() {
    // DOCCHECK_LARGE_ONLY=name runs one input, for profiling
    let only = std::env::var("DOCCHECK_LARGE_ONLY").ok().filter(|o| !o.is_empty());
    let mut slow = Vec::new();
    for (name, d) in pathological(5_000_000) {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let worst = report(name, &d);
        if worst >= Duration::from_secs(1) {
            slow.push(format!("{name}: {worst:?}"));
        }
    }
    assert!(slow.is_empty(), "slow inputs: {slow:?}");
}
