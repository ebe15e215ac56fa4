//! Cross-references a reviewer checks between a design's parts: every component the flowcharts
//! draw is explained in the text, and every component a table names (a component table, a
//! failure-mode table) is one the diagrams draw.

use std::collections::{HashMap, HashSet};

use crate::adr::summarize;
use crate::markdown::{Doc, Table};
use crate::mermaid::{flowchart_graph, Graph};
use crate::problem::Problem;
use crate::spec::{ComponentsSpec, DecisionsSpec, TradeoffSpec};
use crate::tables::{tradeoffs, Tradeoff};
use crate::text::normalize_title;
use crate::titles::section;
use crate::workspace::{wildcard, Workspace};

/// Words that name a kind of part rather than the part: "Dispatch service" is described when the
/// text talks about dispatch.
const GENERIC: &[&str] = &[
    "service",
    "services",
    "svc",
    "server",
    "servers",
    "api",
    "app",
    "application",
    "cluster",
    "db",
    "database",
    "store",
    "stores",
    "storage",
    "worker",
    "workers",
    "the",
    "a",
    "an",
    "of",
    "for",
    "and",
    "to",
    "layer",
    "system",
    "component",
    "node",
    "nodes",
    "instance",
    "instances",
    "tier",
    "module",
    "backend",
    "frontend",
];

/// Components compared with the text, at most.
const MAX_COMPONENTS: usize = 300;

/// Failure domains a failure-mode table may name without a box of their own.
const SCOPES: &[&str] =
    &["region", "zone", "az", "datacent", "data", "network", "dns", "provider", "cloud", "power", "site", "internet"];

/// The words that identify a component: lower-case, parentheticals dropped, generic words
/// dropped (all words when every word is generic, as in "API" or "Database").
fn key_words(label: &str) -> Vec<String> {
    // "Trips: MySQL, sharded by trip id" names "Trips"; the rest describes it.
    let label = label.split([':', ',']).next().unwrap_or(label);
    let mut plain = String::new();
    let mut depth = 0;
    for c in label.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<String> = normalize_title(&plain).split_whitespace().map(stem).collect();
    let key: Vec<String> = words.iter().filter(|w| !GENERIC.contains(&w.as_str())).cloned().collect();
    if key.is_empty() {
        words
    } else {
        key
    }
}

/// A crude English stem, so "packaging" and "packaged", "encryption" and "encrypted" meet.
fn stem(word: &str) -> String {
    const SUFFIXES: &[&str] = &["ations", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ed", "es", "s"];
    for suffix in SUFFIXES {
        if let Some(base) = word.strip_suffix(suffix) {
            if base.chars().count() >= 3 {
                return base.to_string();
            }
        }
    }
    word.to_string()
}

/// Does a text (already split into stemmed words) name the component: every key word starts a
/// word of it ("trip" matches "trips")?
fn names(words: &[&str], key: &[String]) -> bool {
    !key.is_empty() && key.iter().all(|k| words.iter().any(|w| w.starts_with(k.as_str())))
}

/// Is some paragraph holding every key stem?
fn described_in(index: &HashMap<&str, HashSet<usize>>, key: &[String]) -> bool {
    let mut postings: Vec<&HashSet<usize>> = Vec::new();
    for k in key {
        match index.get(k.as_str()) {
            Some(p) => postings.push(p),
            None => return false,
        }
    }
    postings.sort_by_key(|p| p.len());
    match postings.split_first() {
        Some((rarest, rest)) => rarest.iter().any(|i| rest.iter().all(|p| p.contains(i))),
        None => false,
    }
}

/// Paragraphs, list items and table rows, each as stemmed words.
fn paragraphs(doc: &Doc) -> Vec<Vec<String>> {
    let mut texts: Vec<String> = Vec::new();
    texts.extend(doc.prose.iter().map(|p| p.text.clone()));
    texts.extend(doc.items.iter().map(|i| i.text.clone()));
    for t in &doc.tables {
        for row in &t.rows {
            texts.push(row.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" "));
        }
    }
    texts
        .iter()
        .map(|s| normalize_title(s).split_whitespace().map(stem).collect())
        .filter(|w: &Vec<String>| !w.is_empty())
        .collect()
}

/// A table whose first column names components, and how to call it in messages.
fn component_column(t: &Table) -> Option<&'static str> {
    let first = normalize_title(&t.header.first()?.text);
    let header: Vec<String> = t.header.iter().map(|c| normalize_title(&c.text)).collect();
    let is_part = ["component", "components", "service", "services", "building block", "container", "element"]
        .contains(&first.as_str());
    if !is_part {
        return None;
    }
    if header.iter().any(|h| h.contains("failure") || h.contains("detection") || h.contains("mitigation")) {
        Some("failure-mode table")
    } else {
        Some("component table")
    }
}

pub(crate) fn rule(spec: &ComponentsSpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let (r, line) = match &spec.section {
        None => (doc.whole(), 1),
        Some(n) => match section(&doc, n) {
            Ok((r, h)) => (r, doc.line(h.offset)),
            Err(f) => return vec![f],
        },
    };
    let mut graph = Graph::default();
    let mut first_line = line;
    for block in doc.codes_in(r).filter(|c| c.lang == "mermaid") {
        if !block.content.trim_start().starts_with("flowchart") && !block.content.trim_start().starts_with("graph") {
            continue;
        }
        let g = flowchart_graph(&block.content);
        if graph.nodes.is_empty() {
            first_line = block.content_line;
        }
        for (id, label) in g.nodes {
            // A design draws tens of components; past a few hundred a diagram is not one a
            // reader follows, and comparing each with the text would grow without bound.
            if graph.nodes.len() < MAX_COMPONENTS && !graph.nodes.iter().any(|(i, l)| *i == id || *l == label) {
                graph.nodes.push((id, label));
            }
        }
        graph.groups.extend(g.groups);
    }
    if graph.nodes.is_empty() {
        return vec![Problem::at(
            &doc.path,
            line,
            "no flowchart to cross-check: draw the components first".to_string(),
        )];
    }
    let ignored: Vec<Vec<String>> = spec.ignore.iter().map(|i| key_words(i)).collect();
    let text = paragraphs(&doc);
    // stem -> the paragraphs holding it, so each component is looked up, not searched for.
    let mut index: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (i, words) in text.iter().enumerate() {
        for w in words {
            index.entry(w.as_str()).or_default().insert(i);
        }
    }
    let mut out = Vec::new();
    let mut undescribed = Vec::new();
    for (_, label) in &graph.nodes {
        let key = key_words(label);
        if ignored.contains(&key) {
            continue;
        }
        let described = described_in(&index, &key);
        if !described {
            undescribed.push(label.clone());
        }
    }
    if !undescribed.is_empty() {
        out.push(Problem::at(
            &doc.path,
            first_line,
            format!(
                "the diagram draws {} that the text never explains: say what each does and why it is there",
                quote_list(&undescribed)
            ),
        ));
    }
    let drawn: Vec<Vec<String>> = graph
        .nodes
        .iter()
        .map(|(id, l)| [key_words(l), key_words(id)].concat())
        .chain(graph.groups.iter().map(|g| key_words(g)))
        .collect();
    for t in &doc.tables {
        let Some(kind) = component_column(t) else { continue };
        for (row, off) in t.rows.iter().zip(&t.row_offsets) {
            let Some(cell) = row.first().map(|c| c.text.trim()).filter(|c| !c.is_empty()) else { continue };
            let key = key_words(cell);
            if ignored.contains(&key) {
                continue;
            }
            // A failure row may scope or qualify its component ("Dispatch shard for a city",
            // "Region"): one word naming a drawn part, or a failure domain, is enough there.
            let is_drawn = if kind == "failure-mode table" {
                key.iter().any(|k| SCOPES.iter().any(|s| stem(s) == *k))
                    || drawn.iter().any(|d| {
                        key.iter().any(|k| d.iter().any(|w| w.starts_with(k.as_str()) || k.starts_with(w.as_str())))
                    })
            } else {
                drawn.iter().any(|d| names(&d.iter().map(String::as_str).collect::<Vec<_>>(), &key))
            };
            if !is_drawn {
                out.push(Problem::at(
                    &doc.path,
                    doc.line(*off),
                    format!("the {kind} names \"{cell}\", which no flowchart draws: draw it, or name the component as the diagram does"),
                ));
            }
        }
    }
    out
}

fn quote_list(items: &[String]) -> String {
    let shown: Vec<String> = items.iter().take(5).map(|i| format!("\"{i}\"")).collect();
    let more = if items.len() > 5 { format!(" and {} more", items.len() - 5) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// Statuses under which a decision holds.
const IN_FORCE: &[&str] = &["accepted", "approved", "decided", "adopted"];

/// Stems of a text's words, for "does it name this option" questions.
fn stems(text: &str) -> HashSet<String> {
    normalize_title(text).split_whitespace().map(stem).collect()
}

/// How much of an option's name a text uses: the share of its identifying words present.
fn named_share(option: &str, words: &HashSet<String>) -> f64 {
    let key = key_words(option);
    if key.is_empty() {
        return 0.0;
    }
    key.iter().filter(|k| words.contains(k.as_str())).count() as f64 / key.len() as f64
}

/// Every ADR that takes up a trade-off table's decision (it names two of its options, or its
/// decision names one) must be in force and decide for the option the table marks chosen.
pub(crate) fn decisions(spec: &DecisionsSpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let r = match section(&doc, &spec.section) {
        Ok((r, _)) => r,
        Err(f) => return vec![f],
    };
    let tspec = TradeoffSpec {
        file: spec.file.clone(),
        section: spec.section.clone(),
        min_options: 2,
        min_criteria: 1,
        min_tables: 1,
        chosen_markers: None,
    };
    let tables: Vec<Tradeoff> = tradeoffs(&doc, r, &tspec).into_iter().filter(|t| t.chosen().is_some()).collect();
    let files: Vec<String> = ws
        .list(&spec.dir)
        .into_iter()
        .filter(|n| n.ends_with(".md") && !spec.exclude.iter().any(|e| wildcard(e, n)))
        .map(|n| format!("{}/{n}", spec.dir.trim_end_matches('/')))
        .collect();
    let mut out = Vec::new();
    if tables.is_empty() {
        return vec![Problem::at(
            &doc.path,
            doc.line(r.start),
            "no trade-off table marks a chosen option, so there is no decision to hold the ADRs to: mark one option chosen in each table".to_string(),
        )];
    }
    let mut taken_up = 0;
    for file in files {
        let Ok(adr) = ws.doc(&file) else { continue };
        let summary = summarize(&adr);
        let all = stems(&adr.src);
        let decision = stems(&summary.decision_text.clone().or(summary.title.clone()).unwrap_or_default());
        for t in &tables {
            let Some(chosen) = t.chosen() else { continue };
            let about = t.options.iter().filter(|o| named_share(o, &all) >= 0.5).count() >= 2
                || t.options.iter().any(|o| named_share(o, &decision) >= 0.5);
            if !about {
                continue;
            }
            taken_up += 1;
            let status = summary.status.as_ref().map(|(s, _)| s.to_lowercase()).unwrap_or_default();
            let first = status.split_whitespace().next().unwrap_or("").trim_matches(|c: char| !c.is_alphabetic());
            if !IN_FORCE.contains(&first) {
                let line = summary.status.as_ref().map(|(_, l)| *l).unwrap_or(1);
                out.push(Problem::at(
                    &adr.path,
                    line,
                    format!(
                        "this ADR records the decision the design's trade-off table makes (\"{chosen}\"), but its status is \"{}\": the design rests on it, so it must be accepted (or the design must change)",
                        if status.is_empty() { "missing" } else { status.as_str() }
                    ),
                ));
            }
            let (best, best_share) = t
                .options
                .iter()
                .map(|o| (o.as_str(), named_share(o, &decision)))
                .fold(("", 0.0), |acc, x| if x.1 > acc.1 { x } else { acc });
            let chosen_share = named_share(chosen, &decision);
            // "H3 rather than S2" names both and decides for the chosen one; a decision that
            // names another option and never the chosen one contradicts the table.
            if best_share >= 0.5 && best != chosen && chosen_share == 0.0 {
                out.push(Problem::at(
                    &adr.path,
                    1,
                    format!(
                        "this ADR decides for \"{best}\", but the design's trade-off table (line {}) marks \"{chosen}\" as chosen: make the record and the design agree",
                        t.line
                    ),
                ));
            }
        }
    }
    if taken_up == 0 {
        out.push(Problem::in_file(
            &spec.dir,
            format!(
                "no ADR in {} takes up a decision the trade-off tables make: record each in an ADR that names the options it weighed and the one chosen",
                spec.dir
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_words_drop_kinds_and_parentheticals() {
        assert_eq!(key_words("Dispatch service"), ["dispatch"]);
        assert_eq!(key_words("Trip store (PostgreSQL)"), ["trip"]);
        assert_eq!(key_words("Trips: MySQL, sharded by trip id"), ["trip"]);
        assert_eq!(key_words("API"), ["api"]);
        assert_eq!(key_words("Geo index"), ["geo", "index"]);
        assert_eq!(key_words("Packaging and encryption"), ["packag", "encrypt"]);
        assert_eq!(stem("packaged"), "packag");
    }
}
