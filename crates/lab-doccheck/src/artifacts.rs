//! API rules: endpoints named as `METHOD /path` (in headings, prose, tables or an http code
//! block), each followed by an example payload that is valid JSON.

use std::collections::BTreeMap;

use crate::json;
use crate::problem::Problem;
use crate::spec::ApiSpec;
use crate::titles::doc_section;
use crate::workspace::Workspace;

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

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

enum Item {
    Endpoint(String, String),
    Payload(Result<(), (usize, String)>),
}

#[derive(Default)]
struct Seen {
    line: u32,
    payload: bool,
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

pub(crate) fn api(spec: &ApiSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let mut items: Vec<(usize, u32, Item)> = Vec::new();
    let push_text = |offset: usize, text: &str, items: &mut Vec<(usize, u32, Item)>| {
        for (m, p) in endpoints_in(text) {
            items.push((offset, doc.line(offset), Item::Endpoint(m, p)));
        }
    };
    for hd in doc.headings_in(r) {
        push_text(hd.offset, &hd.text, &mut items);
    }
    for p in doc.prose_in(r) {
        push_text(p.offset, &p.text, &mut items);
    }
    for t in doc.tables_in(r) {
        for (ri, row) in t.rows.iter().enumerate() {
            let off = t.row_offsets.get(ri).copied().unwrap_or(t.offset);
            for c in row {
                push_text(off, &c.text, &mut items);
            }
        }
    }
    for c in doc.codes_in(r) {
        let first = c.content.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let eps = endpoints_in(first);
        if let Some((m, p)) = eps.into_iter().next() {
            items.push((c.offset, c.content_line, Item::Endpoint(m, p)));
            if let Some(body) = http_body(&c.content) {
                let skipped = c.content.lines().take_while(|l| !l.trim().is_empty()).count() + 1;
                let res = json::validate(&body).map_err(|(l, m)| (l + skipped, m));
                items.push((c.offset + 1, c.content_line, Item::Payload(res)));
            }
        } else if c.lang == "json" || (c.lang.is_empty() && c.content.trim_start().starts_with(['{', '['])) {
            items.push((c.offset, c.content_line, Item::Payload(json::validate(&c.content))));
        }
    }
    items.sort_by_key(|(o, _, _)| *o);

    let mut out = Vec::new();
    let mut seen: BTreeMap<(String, String), Seen> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for (_, line, item) in items {
        match item {
            Item::Endpoint(m, p) => {
                let key = (m, p);
                if !seen.contains_key(&key) {
                    order.push(key.clone());
                    seen.insert(key.clone(), Seen { line, payload: false });
                }
                current = Some(key);
            }
            Item::Payload(Ok(())) => {
                if let Some(s) = current.as_ref().and_then(|k| seen.get_mut(k)) {
                    s.payload = true;
                }
            }
            Item::Payload(Err((l, m))) => {
                out.push(Problem::at(&doc.path, line + l as u32 - 1, format!("example payload is not valid JSON: {m}")))
            }
        }
    }
    let complete = seen.values().filter(|s| s.payload).count();
    for key in &order {
        let s = &seen[key];
        if !s.payload {
            out.push(Problem::at(
                &doc.path,
                s.line,
                format!("endpoint {} {} has no example payload: add a ```json block after it", key.0, key.1),
            ));
        }
    }
    if complete < spec.min_endpoints {
        out.insert(
            0,
            Problem::at(
                &doc.path,
                doc.line(h.offset),
                format!(
                    "section \"{}\" documents {complete} endpoints with method, path and a JSON example; document at least {} (e.g. `POST /v1/rides` then a ```json block)",
                    h.text, spec.min_endpoints
                ),
            ),
        );
    }
    out
}
