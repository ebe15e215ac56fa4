//! mermaid and api_endpoints rules.

use super::common::*;

const MM: &str = "kind = \"mermaid\"\nfile = \"doc.md\"\nkinds = [\"flowchart\", \"sequence\"]";

fn mm(blocks: &[&str]) -> String {
    let mut s = String::from("# D\n\n");
    for b in blocks {
        s.push_str(&format!("```mermaid\n{b}\n```\n\n"));
    }
    s
}

const FLOW: &str = "flowchart LR\n  %% comment\n  A[Rider app] -->|HTTPS (a > b]| B(API)\n  B --> Q>queue]\n  subgraph Core\n    B --> C[(DB: trips)]\n  end\n  classDef hot fill:#f96";
const SEQ: &str = "sequenceDiagram\n  participant R as Rider\n  R->>API: POST /v1/rides\n  alt ok\n    API-->>R: 201\n  else busy\n    API--xR: 503\n  end\n  Note over R,API: retries with the same key\n  loop every 4 s\n    R-)API: ping\n  end";

#[test]
fn mermaid_pass_with_both_kinds_and_config_front_matter() {
    let graph = format!("---\ntitle: x\n---\n{FLOW}");
    assert_pass(&one(MM, &[("doc.md", &mm(&[&graph, SEQ]))]));
}

#[test]
fn mermaid_missing_kind() {
    let o = one(MM, &[("doc.md", &mm(&[FLOW]))]);
    assert_fail(&o, &["no Mermaid sequence diagram", "starts with `sequenceDiagram`"]);
}

#[test]
fn mermaid_flowchart_syntax_errors_point_at_lines() {
    let bad = "flowchart XY\n  A[open --> B\n  subgraph S\n  B --> C";
    let o = one(MM, &[("doc.md", &mm(&[bad, SEQ]))]);
    assert_fail(&o, &["direction \"XY\" is not one of", "unclosed '['", "1 `subgraph` without a closing `end`"]);
    assert_eq!(o.line, Some(4));
    let o = one(MM, &[("doc.md", &mm(&["graph TD\n  A\n  end", SEQ]))]);
    assert_fail(&o, &["`end` without a matching `subgraph`", "has no edges"]);
    let o = one(MM, &[("doc.md", &mm(&["flowchart LR\n  A[\"unclosed] --> B", SEQ]))]);
    assert_fail(&o, &["unclosed '\"'"]);
}

#[test]
fn mermaid_sequence_syntax_errors() {
    let bad = "sequenceDiagram\n  A->>B hello\n  loop forever\n  A->>B: x\n  else\n  this is prose";
    let o = one(MM, &[("doc.md", &mm(&[FLOW, bad]))]);
    assert_fail(&o, &["needs ': text' after the receiver", "neither a message", "have no `end`"]);
    let o = one(MM, &[("doc.md", &mm(&[FLOW, "sequenceDiagram\n  end\n  else"]))]);
    assert_fail(&o, &["`end` without an opening", "`else` outside", "has no messages"]);
}

#[test]
fn mermaid_unknown_type_empty_block_and_section() {
    let o = one(MM, &[("doc.md", &mm(&["flowhcart LR\n A-->B", ""]))]);
    assert_fail(&o, &["\"flowhcart\" is not a Mermaid diagram type", "the mermaid block is empty"]);
    let rule = "kind = \"mermaid\"\nfile = \"doc.md\"\nsection = \"Design\"\nkinds = [\"flowchart\"]";
    let doc = format!("## Other\n\n```mermaid\n{FLOW}\n```\n\n## Design\n\ntext\n");
    assert_fail(&one(rule, &[("doc.md", &doc)]), &["no Mermaid flowchart diagram in section \"Design\""]);
    let doc = "## Design\n\n```mermaid\nerDiagram\n  A ||--o{ B : has\n```\n```mermaid\ngraph LR\n A-->B\n```\n";
    assert_pass(&one(rule, &[("doc.md", doc)]));
    let doc =
        "## Design\n\n```mermaid\nclassDiagram\n  class Trip {\n    +id\n  }\n```\n```mermaid\ngraph LR\n A-->B\n```\n";
    assert_pass(&one(rule, &[("doc.md", doc)]));
    let doc =
        "## Design\n\n```mermaid\nclassDiagram\n  class Trip {\n    +id\n```\n```mermaid\ngraph LR\n A-->B\n```\n";
    assert_fail(&one(rule, &[("doc.md", doc)]), &["unbalanced brackets or quotes in this class diagram"]);
}

const API: &str = "kind = \"api_endpoints\"\nfile = \"doc.md\"\nsection = \"API\"\nmin_endpoints = 2";

#[test]
fn api_pass_with_json_blocks_and_http_blocks() {
    let doc = "## API\n\n### `POST /v1/rides`\n\n```json\n{\"pickup\": {\"lat\": 1.5}}\n```\n\n```http\nGET /v1/trips/{id}\nAccept: application/json\n\n{\"status\": \"ACCEPTED\"}\n```\n";
    assert_pass(&one(API, &[("doc.md", doc)]));
}

#[test]
fn api_endpoint_without_payload_and_too_few() {
    let doc = "## API\n\nUse `POST /v1/rides` to request.\n\n| Method | Path |\n| --- | --- |\n| GET /v1/trips/{id} | read |\n";
    let o = one(API, &[("doc.md", doc)]);
    assert_fail(
        &o,
        &[
            "documents 0 endpoints with method, path and a JSON example; document at least 2",
            "endpoint POST /v1/rides has no example payload",
            "endpoint GET /v1/trips/{id} has no example payload",
        ],
    );
}

#[test]
fn api_invalid_json_points_at_line() {
    let doc = "## API\n\nPOST /v1/a\n\n```json\n{\n  \"a\": 1,\n}\n```\n\nGET /v1/b\n\n```json\n[]\n```\n";
    let o = one(API, &[("doc.md", doc)]);
    assert_fail(&o, &["(line 8): example payload is not valid JSON", "trailing comma"]);
    assert_eq!(o.line, Some(1));
}
