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
            "documents 1 complete interface operations; document at least 2",
            "`POST /v1/rides` followed by a ```json block",
            "endpoint POST /v1/rides has no example payload",
        ],
    );
    // a GET sends no body: it is complete without an example
    assert!(!o.message.contains("GET /v1/trips/{id} has no example"), "{}", o.message);
}

#[test]
fn api_invalid_json_points_at_line() {
    let doc = "## API\n\nPOST /v1/a\n\n```json\n{\n  \"a\": 1,\n}\n```\n\nGET /v1/b\n\n```json\n[]\n```\n";
    let o = one(API, &[("doc.md", doc)]);
    assert_fail(&o, &["(line 8): example payload is not valid JSON", "trailing comma"]);
    assert_eq!(o.line, Some(1));
}

const API3: &str = "kind = \"api_endpoints\"\nfile = \"doc.md\"\nsection = \"API\"\nmin_endpoints = 3";

#[test]
fn api_bodyless_methods_need_no_example_but_the_section_needs_one() {
    let doc = "## API\n\n`POST /v1/messages`: send.\n\n```json\n{\"to\": \"u1\", \"text\": \"hi\"}\n```\n\n`DELETE /v1/messages/{id}`: unsend.\n\n| Method | Path | Purpose |\n| --- | --- | --- |\n| GET | `/v1/chats/{id}/messages` | history |\n| HEAD | /v1/media/{id} | size |\n";
    assert_pass(&one(API3, &[("doc.md", doc)]));
    // a request-less endpoint with a response example counts as well
    let doc = "## API\n\nGET /v1/a\n\n```json\n{\"id\": 1}\n```\n\nDELETE /v1/a/{id}\n\nOPTIONS /v1/a\n";
    assert_pass(&one(API3, &[("doc.md", doc)]));
    let doc = "## API\n\nGET /v1/a\n\nDELETE /v1/a/{id}\n\nHEAD /v1/a\n";
    let o = one(API3, &[("doc.md", doc)]);
    assert_fail(&o, &["section \"API\" shows no example payload: add a ```json block after one operation"]);
}

#[test]
fn api_messages_in_headings_with_json_examples() {
    let doc = "## Client-server protocol\n\nOne WebSocket per device.\n\n### `send_message` (client -> server)\n\n```json\n{\"type\": \"send_message\", \"to\": \"u1\", \"text\": \"hi\"}\n```\n\n### `message_ack` (server → client)\n\n```json\n{\"type\": \"message_ack\", \"id\": \"m1\"}\n```\n\n### `typing` event\n\n```json\n{\"type\": \"typing\", \"chat\": \"c1\"}\n```\n";
    let rule = "kind = \"api_endpoints\"\nfile = \"doc.md\"\nsection = [\"API\"]\nmin_endpoints = 3";
    // "Client-server protocol" is a built-in synonym of "API"
    assert_pass(&one(rule, &[("doc.md", doc)]));
    let doc = "## API\n\n### `send_message` (client -> server)\n\nSends a message.\n\n### `message_ack` (server -> client)\n\n```json\n{\"id\": \"m1\"}\n```\n";
    let o = one(API, &[("doc.md", doc)]);
    assert_fail(&o, &["message send_message has no example payload", "{\"type\": \"send_message\", ...}"]);
    assert_eq!(o.line, Some(1));
    assert!(o.message.contains("line 3"), "{}", o.message);
}

#[test]
fn api_message_tables_with_examples_by_type_or_in_a_cell() {
    let doc = "## API\n\n| Message | Direction | Purpose |\n| --- | --- | --- |\n| `send` | client -> server | send a message |\n| `ack` | server -> client | confirm storage |\n| `receipt` | server -> client | delivered or read |\n\n```json\n{\"type\": \"ack\", \"id\": \"m1\"}\n```\n\n```json\n{\"type\": \"send\", \"text\": \"hi\"}\n```\n\n```json\n{\"type\": \"receipt\", \"state\": \"read\"}\n```\n";
    assert_pass(&one(API3, &[("doc.md", doc)]));
    let doc = "## API\n\n| Event | Payload |\n| --- | --- |\n| `join` | `{\"room\": \"r1\"}` |\n| `leave` | `{\"room\": \"r1\"}` |\n| `say` | `{\"room\": r1}` |\n";
    let o = one(API3, &[("doc.md", doc)]);
    assert_fail(
        &o,
        &[
            "documents 2 complete interface operations",
            "example payload is not valid JSON",
            "message say has no example",
        ],
    );
}

#[test]
fn api_grpc_rpcs_with_protobuf_text_examples() {
    let doc = "## API\n\n```proto\nservice Chat {\n  rpc SendMessage(SendRequest) returns (SendReply);\n  rpc GetHistory(HistoryRequest) returns (HistoryReply);\n  rpc Subscribe(SubscribeRequest) returns (stream Event);\n}\n```\n\n### SendMessage\n\n```textproto\nchat_id: \"c1\"\nbody { text: \"hi\" }\n```\n\n### GetHistory\n\n```json\n{\"chat_id\": \"c1\", \"limit\": 50}\n```\n\n`Subscribe` request:\n\n```pbtxt\nchat_ids: [\"c1\", \"c2\"]\n```\n";
    assert_pass(&one(API3, &[("doc.md", doc)]));
    let doc = "## API\n\n```proto\nservice Chat {\n  rpc SendMessage(SendRequest) returns (SendReply);\n  rpc Subscribe(SubscribeRequest) returns (stream Event);\n}\n```\n\n### SendMessage\n\n```textproto\nchat_id: \"c1\n```\n";
    let o = one(API, &[("doc.md", doc)]);
    assert_fail(
        &o,
        &[
            "documents 0 complete interface operations",
            "example payload is not valid protobuf text: unterminated string",
            "rpc SendMessage has no example payload",
            "rpc Subscribe has no example payload",
        ],
    );
    assert!(o.message.contains("(line 6): rpc Subscribe"), "{}", o.message);
}

#[test]
fn odd_api_text_never_panics() {
    let doc = "## API\n\n### `\n\n### ``\n\n### `é_ü` (→)\n\n- `` → ``\n\n```proto\nrpc \nrpc (x)\nrpc É(x)\n```\n\n```textproto\n}}}\n'é\n<[\n```\n\n| Message | Example |\n| - | - |\n| `` | `{` |\n| é | [ |\n\n```json\n{\"type\": \"\n```\n";
    let o = one(API, &[("doc.md", doc)]);
    assert!(o.status == lab_doccheck::Status::Fail && !o.message.is_empty());
}
