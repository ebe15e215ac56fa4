//! API rules: the interface operations of an API section, each with the example it needs. An
//! operation is an HTTP endpoint (`METHOD /path`, also as Method and Path table columns), a
//! message of a messaging protocol (a WebSocket, MQTT or similar message named in a heading, a
//! list item or a message table), or a gRPC `rpc` in a proto block. Endpoints whose method takes
//! a body, messages and RPCs need an example payload (JSON, or protobuf text for messages and
//! RPCs); GET, DELETE, HEAD and OPTIONS are complete as written.

use std::collections::BTreeMap;

use crate::json;
use crate::markdown::{Doc, Table};
use crate::problem::Problem;
use crate::spec::ApiSpec;
use crate::titles::{self, doc_section};
use crate::words;
use crate::workspace::Workspace;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// Methods whose requests carry no body: the method and path say everything about them.
const BODYLESS: &[&str] = &["GET", "DELETE", "HEAD", "OPTIONS"];
/// Marks of a message's direction in a heading or list item: "`send_message` (client -> server)".
const DIRECTIONS: &[&str] = &[
    "->",
    "→",
    "<-",
    "←",
    "=>",
    "⇒",
    "↔",
    "⇄",
    "client to server",
    "server to client",
    "c2s",
    "s2c",
    "publish",
    "subscribe",
];
/// Words that make a heading opening with a code span a message ("`ack` event").
const MESSAGE_WORDS: &[&str] =
    &["message", "event", "frame", "command", "request", "response", "notification", "push", "rpc", "call"];
/// Headers of a message table's name column, and of its example column.
const MESSAGE_COLUMNS: &[&str] = &["message", "message type", "event", "frame", "command", "rpc", "operation", "topic"];
const EXAMPLE_COLUMNS: &[&str] = &["example", "payload", "body", "sample"];
/// Fences that hold protobuf text-format examples.
const TEXT_PROTO: &[&str] = &["textproto", "pbtxt", "prototext", "txtpb", "protobuf-text", "proto-text"];
/// Fences whose `rpc` lines declare gRPC operations.
const PROTO: &[&str] = &["proto", "protobuf", "proto3", "grpc"];
/// JSON fields whose string value names the message an example is ({"type": "send_message"}).
const TYPE_FIELDS: &[&str] = &["type", "op", "event", "action", "method", "cmd", "command", "kind", "name"];

/// `METHOD /path` pairs in a line of text.
fn endpoints_in(text: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for pair in words.windows(2) {
        let m = pair[0].trim_matches(|c: char| matches!(c, '`' | '*' | '(' | '[' | '"'));
        let p = pair[1].trim_matches(|c: char| matches!(c, '`' | '*' | ')' | ']' | ',' | ':' | ';' | '"' | '.'));
        if METHODS.contains(&m) && p.starts_with('/') {
            out.push((m.to_string(), p.to_string()));
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Endpoint { body: bool },
    Message,
    Rpc,
}

impl Kind {
    fn needs_example(self) -> bool {
        !matches!(self, Kind::Endpoint { body: false })
    }
}

fn endpoint(m: &str, p: &str) -> (String, Kind) {
    (format!("{m} {p}"), Kind::Endpoint { body: !BODYLESS.contains(&m) })
}

enum Item {
    /// An operation declared (or, for endpoints, mentioned): later examples are its own.
    Op(String, Kind),
    /// A known message or RPC named again, so the examples after it are its own.
    Mention(String),
    /// An example: valid or why not, the message it names in a type field, and the operation it
    /// belongs to when its place says so (a table's example cell).
    Example { res: Result<(), (usize, String)>, names: Option<String>, owner: Option<String>, proto: bool },
}

/// Body of an http-style block: after the first blank line, up to a response status line.
fn http_body(content: &str) -> Option<String> {
    let mut lines = content.lines().skip_while(|l| !l.trim().is_empty());
    let body: Vec<&str> = lines.by_ref().skip(1).take_while(|l| !l.trim_start().starts_with("HTTP/")).collect();
    let body = body.join("\n");
    if body.trim().is_empty() {
        None
    } else {
        Some(body)
    }
}

/// The string value of the first type-like field of a JSON text: {"type": "send_message"}.
fn type_field(json: &str) -> Option<String> {
    for f in TYPE_FIELDS {
        let key = format!("\"{f}\"");
        if let Some(at) = json.find(&key) {
            let rest = json[at + key.len()..].trim_start().strip_prefix(':')?.trim_start();
            let value = rest.strip_prefix('"')?;
            return value.split('"').next().map(str::to_string);
        }
    }
    None
}

/// A light check of protobuf text format: quotes closed per line, brackets balanced, and every
/// statement a `name: value` or `name {`. Err names the 1-based line and the problem.
fn validate_text_proto(s: &str) -> Result<(), (usize, String)> {
    let mut stack: Vec<char> = Vec::new();
    let mut fields = 0;
    for (i, raw) in s.lines().enumerate() {
        let mut line = String::new();
        let mut quote: Option<char> = None;
        for c in raw.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '#' => break,
                None => line.push(c),
            }
        }
        if quote.is_some() {
            return Err((i + 1, "unterminated string".into()));
        }
        for c in line.chars() {
            match c {
                '{' | '<' | '[' => stack.push(c),
                '}' | '>' | ']' => {
                    let open = match c {
                        '}' => '{',
                        '>' => '<',
                        _ => '[',
                    };
                    if stack.pop() != Some(open) {
                        return Err((i + 1, format!("'{c}' closes nothing")));
                    }
                }
                _ => {}
            }
        }
        let t = line.trim().trim_start_matches(['}', '>', ']', ',', ';']).trim();
        if t.is_empty() {
            continue;
        }
        let name: String =
            t.chars().take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')).collect();
        let after = t[name.len()..].trim_start();
        if name.is_empty() || !(after.starts_with(':') || after.starts_with('{') || after.starts_with('<')) {
            if stack.last() == Some(&'[') {
                continue;
            }
            return Err((i + 1, "expected `field: value` or `field {`".into()));
        }
        fields += 1;
    }
    if let Some(open) = stack.last() {
        return Err((s.lines().count().max(1), format!("'{open}' is never closed")));
    }
    if fields == 0 {
        return Err((1, "no fields".into()));
    }
    Ok(())
}

/// The raw first line of the source at an offset (headings and list items keep their code
/// spans there, which the parsed text loses).
fn raw_line(doc: &Doc, offset: usize) -> &str {
    doc.src.get(offset..).and_then(|s| s.lines().next()).unwrap_or("")
}

fn identifier(s: &str) -> Option<String> {
    let id: String =
        s.trim().chars().take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '/')).collect();
    let id = id.trim_end_matches([':', '.', '/']).to_string();
    (id.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')).then_some(id)
}

/// Does an identifier look like a message name rather than a word (`send_message`,
/// `chat.send`, `SendMessage`)?
fn code_like(id: &str) -> bool {
    id.contains(['_', '.', '/'])
        || id.chars().zip(id.chars().skip(1)).any(|(a, b)| a.is_lowercase() && b.is_uppercase())
}

/// The message a heading or list item declares: "`send_message` (client -> server)", or a line
/// with a direction marker.
fn message_in(raw: &str) -> Option<String> {
    let t = raw
        .trim_start()
        .trim_start_matches(['#', '-', '*', '+', ' '])
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ')');
    let t = t.trim_start().trim_start_matches("**").trim_start();
    let lower = t.to_lowercase();
    let directed = DIRECTIONS.iter().any(|d| lower.contains(d));
    if let Some(rest) = t.strip_prefix('`') {
        let span = rest.split('`').next().unwrap_or("");
        if !endpoints_in(span).is_empty() || span.starts_with('/') {
            return None;
        }
        let id = identifier(span)?;
        let worded = MESSAGE_WORDS.iter().any(|w| words::has(&lower, w));
        return (directed || worded || code_like(&id)).then_some(id);
    }
    // without a code span only a name that reads as code counts: "Messages (client -> server)"
    // heads a group of messages, "SendMessage (client -> server)" is one
    if directed {
        return identifier(t.split_whitespace().next().unwrap_or("")).filter(|id| code_like(id));
    }
    None
}

/// `rpc Name(Request) returns (Response)` lines of a proto block: (0-based line, name).
fn rpcs_in(content: &str) -> Vec<(usize, String)> {
    content
        .lines()
        .enumerate()
        .filter_map(|(i, l)| l.trim().strip_prefix("rpc ").map(|rest| (i, rest)))
        .filter_map(|(i, rest)| identifier(rest.split('(').next().unwrap_or("")).map(|n| (i, n)))
        .collect()
}

fn column(t: &Table, names: &[&str]) -> Option<usize> {
    t.header.iter().position(|h| names.iter().any(|n| titles::mentions(&h.text, n)))
}

/// Operations declared by a table: `METHOD /path` in a cell, Method and Path columns, or a
/// message column (with its example column, if any).
fn table_items(doc: &Doc, t: &Table, items: &mut Vec<(usize, u32, Item)>) {
    let method = column(t, &["method", "verb"]);
    let path = column(t, &["path", "endpoint", "url", "uri", "route", "resource"]);
    let message = if method.is_some() { None } else { column(t, MESSAGE_COLUMNS) };
    let example = column(t, EXAMPLE_COLUMNS);
    for (ri, row) in t.rows.iter().enumerate() {
        let off = t.row_offsets.get(ri).copied().unwrap_or(t.offset);
        let line = doc.line(off);
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map(|c| c.text.trim()).unwrap_or("");
        let mut key = None;
        for c in row {
            for (m, p) in endpoints_in(&c.text) {
                let (k, kind) = endpoint(&m, &p);
                items.push((off, line, Item::Op(k.clone(), kind)));
                key = Some(k);
            }
        }
        let m = cell(method).trim_matches(['`', '*']).to_uppercase();
        let p = cell(path).trim_matches(['`', '*']);
        if key.is_none() && METHODS.contains(&m.as_str()) && p.starts_with('/') {
            let (k, kind) = endpoint(&m, p.split_whitespace().next().unwrap_or(p));
            items.push((off, line, Item::Op(k.clone(), kind)));
            key = Some(k);
        }
        if key.is_none() {
            if let Some(id) = identifier(cell(message).trim_matches(['`', '*'])) {
                items.push((off, line, Item::Op(id.clone(), Kind::Message)));
                key = Some(id);
            }
        }
        let ex = cell(example);
        if key.is_some() && ex.starts_with(['{', '[']) {
            let names = type_field(ex);
            items.push((off + 1, line, Item::Example { res: json::validate(ex), names, owner: key, proto: false }));
        }
    }
}

struct Seen {
    line: u32,
    kind: Kind,
    example: bool,
}

pub(crate) fn api(spec: &ApiSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let mut items: Vec<(usize, u32, Item)> = Vec::new();
    let push_endpoints = |offset: usize, text: &str, items: &mut Vec<(usize, u32, Item)>| {
        for (m, p) in endpoints_in(text) {
            let (k, kind) = endpoint(&m, &p);
            items.push((offset, doc.line(offset), Item::Op(k, kind)));
        }
    };
    for hd in doc.headings_in(r).filter(|hd| hd.offset > r.start) {
        push_endpoints(hd.offset, &hd.text, &mut items);
        if endpoints_in(&hd.text).is_empty() {
            if let Some(id) = message_in(raw_line(&doc, hd.offset)) {
                items.push((hd.offset, doc.line(hd.offset), Item::Op(id, Kind::Message)));
            }
        }
    }
    for it in doc.items_in(r) {
        let raw = raw_line(&doc, it.offset);
        if endpoints_in(&it.text).is_empty() && DIRECTIONS.iter().any(|d| raw.to_lowercase().contains(d)) {
            if let Some(id) = message_in(raw) {
                items.push((it.offset, doc.line(it.offset), Item::Op(id, Kind::Message)));
            }
        }
    }
    for p in doc.prose_in(r) {
        push_endpoints(p.offset, &p.text, &mut items);
    }
    for t in doc.tables_in(r) {
        table_items(&doc, t, &mut items);
    }
    for c in doc.codes_in(r) {
        let first = c.content.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let rpcs = rpcs_in(&c.content);
        if let Some((m, p)) = endpoints_in(first).into_iter().next() {
            let (k, kind) = endpoint(&m, &p);
            items.push((c.offset, c.content_line, Item::Op(k, kind)));
            if let Some(body) = http_body(&c.content) {
                let skipped = c.content.lines().take_while(|l| !l.trim().is_empty()).count() + 1;
                let res = json::validate(&body).map_err(|(l, m)| (l + skipped, m));
                let names = type_field(&body);
                items.push((c.offset + 1, c.content_line, Item::Example { res, names, owner: None, proto: false }));
            }
        } else if PROTO.contains(&c.lang.as_str()) || !rpcs.is_empty() {
            for (i, name) in rpcs {
                items.push((c.offset + i, c.content_line + i as u32, Item::Op(name, Kind::Rpc)));
            }
        } else if TEXT_PROTO.contains(&c.lang.as_str()) {
            let res = validate_text_proto(&c.content);
            items.push((c.offset, c.content_line, Item::Example { res, names: None, owner: None, proto: true }));
        } else if c.lang == "json" || (c.lang.is_empty() && c.content.trim_start().starts_with(['{', '['])) {
            let names = type_field(&c.content);
            let res = json::validate(&c.content);
            items.push((c.offset, c.content_line, Item::Example { res, names, owner: None, proto: false }));
        }
    }
    // every operation, in the order first declared
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    items.sort_by_key(|(o, _, _)| *o);
    for (_, line, item) in &items {
        if let Item::Op(key, kind) = item {
            if !seen.contains_key(key) {
                order.push(key.clone());
                seen.insert(key.clone(), Seen { line: *line, kind: *kind, example: false });
            }
        }
    }
    // A message or RPC named again owns the examples after it: in a heading, or at the start of
    // a short line ("`send_message` example:"), not in passing in a sentence.
    let named: Vec<&String> = order.iter().filter(|k| matches!(seen[*k].kind, Kind::Message | Kind::Rpc)).collect();
    let heads = doc.headings_in(r).map(|hd| (hd.offset, hd.text.as_str(), true));
    let lines =
        doc.prose_in(r).filter(|p| p.text.split_whitespace().count() <= 12).map(|p| (p.offset, p.text.as_str(), false));
    for (off, text, heading) in heads.chain(lines) {
        let lead = text.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
        let at_start = |n: &str| words::has(&lead, n) || (text.trim_end().ends_with(':') && words::has(text, n));
        if let Some(n) = named.iter().find(|n| if heading { words::has(text, n) } else { at_start(n) }) {
            items.push((off, doc.line(off), Item::Mention((*n).clone())));
        }
    }
    // declarations sort before mentions at the same place
    items.sort_by_key(|(o, _, i)| (*o, matches!(i, Item::Mention(_))));

    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut examples = 0;
    for (_, line, item) in items {
        match item {
            Item::Op(key, _) | Item::Mention(key) => current = Some(key),
            Item::Example { res: Ok(()), names, owner, .. } => {
                examples += 1;
                // {"type": "send_message"} belongs to send_message wherever it stands
                let by_type = names.and_then(|n| order.iter().find(|k| k.eq_ignore_ascii_case(&n)).cloned());
                let key = owner.or(by_type).or_else(|| current.clone());
                if let Some(s) = key.as_ref().and_then(|k| seen.get_mut(k)) {
                    s.example = true;
                }
            }
            Item::Example { res: Err((l, m)), proto, .. } => {
                let what = if proto { "protobuf text" } else { "JSON" };
                out.push(Problem::at(
                    &doc.path,
                    line + l as u32 - 1,
                    format!("example payload is not valid {what}: {m}"),
                ))
            }
        }
    }
    let complete = seen.values().filter(|s| s.example || !s.kind.needs_example()).count();
    for key in &order {
        let s = &seen[key];
        if s.example || !s.kind.needs_example() {
            continue;
        }
        let msg = match s.kind {
            Kind::Endpoint { .. } => format!(
                "endpoint {key} has no example payload: add a ```json block after it with the request body (a method that sends a body needs one, so readers see its shape)"
            ),
            Kind::Rpc => format!(
                "rpc {key} has no example payload: add a ```json or ```textproto block after it (or under a heading naming it) with a request message"
            ),
            Kind::Message => format!(
                "message {key} has no example payload: add a ```json block after it, e.g. {{\"type\": \"{key}\", ...}}, so readers see what goes over the wire"
            ),
        };
        out.push(Problem::at(&doc.path, s.line, msg));
    }
    let hline = doc.line(h.offset);
    if complete < spec.min_endpoints {
        out.insert(
            0,
            Problem::at(
                &doc.path,
                hline,
                format!(
                    "section \"{}\" documents {complete} complete interface operations; document at least {}: an endpoint such as `POST /v1/rides` followed by a ```json block (GET, DELETE, HEAD and OPTIONS need none), a message such as `send_message` (client -> server) followed by its JSON, or a gRPC `rpc SendMessage(...)` in a ```proto block followed by an example",
                    h.text, spec.min_endpoints
                ),
            ),
        );
    } else if examples == 0 && spec.min_endpoints > 0 {
        out.push(Problem::at(
            &doc.path,
            hline,
            format!(
                "section \"{}\" shows no example payload: add a ```json block after one operation (a request body, or the response of a GET), so readers see the data's shape",
                h.text
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_named_by_code_spans_directions_or_message_words() {
        assert_eq!(message_in("### `send_message` (client -> server)").as_deref(), Some("send_message"));
        assert_eq!(message_in("### `ack` event").as_deref(), Some("ack"));
        assert_eq!(message_in("- `chat.send` (client → server): sends").as_deref(), Some("chat.send"));
        assert_eq!(message_in("### SendMessage (client to server)").as_deref(), Some("SendMessage"));
        assert_eq!(message_in("### `Idempotency-Key` header"), None);
        assert_eq!(message_in("### `POST /v1/rides`"), None);
        assert_eq!(message_in("### Versioning"), None);
    }

    #[test]
    fn rpcs_and_type_fields() {
        let proto = "service Chat {\n  rpc SendMessage(SendRequest) returns (SendReply);\n  rpc Stream(stream Ack) returns (stream Event) {}\n}";
        assert_eq!(rpcs_in(proto), vec![(1, "SendMessage".to_string()), (2, "Stream".to_string())]);
        assert_eq!(type_field(r#"{"type": "send_message", "to": "u1"}"#).as_deref(), Some("send_message"));
        assert_eq!(type_field(r#"{"to": "u1"}"#), None);
    }

    #[test]
    fn protobuf_text_examples() {
        assert!(validate_text_proto("to: \"u1\"\nbody { text: \"hi # not a comment\" }\nids: [1, 2]").is_ok());
        assert!(validate_text_proto("# comment\nmsg <\n  a: 1\n>").is_ok());
        assert_eq!(validate_text_proto("to: \"u1\nx: 1").unwrap_err().0, 1);
        assert_eq!(validate_text_proto("body {\n  text: 1\n").unwrap_err().1, "'{' is never closed");
        assert_eq!(validate_text_proto("a: 1\njust words").unwrap_err().0, 2);
        assert!(validate_text_proto("").is_err());
    }
}
