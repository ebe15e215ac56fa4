//! ADR rules: a folder of architecture decision records, each with a valid status, non-empty
//! context, decision and consequences, at least one negative consequence, and a link to it
//! from the main document(s).

use crate::markdown::Doc;
use crate::problem::Problem;
use crate::spec::AdrSpec;
use crate::text::{normalize_title, word_count};
use crate::workspace::{wildcard, Workspace};

const STATUSES: &[&str] = &["proposed", "accepted", "rejected", "deprecated", "superseded"];
const NEGATIVE: &[&str] = &[
    "bad",
    "negative",
    "negatives",
    "con",
    "cons",
    "downside",
    "downsides",
    "drawback",
    "drawbacks",
    "cost",
    "costs",
    "risk",
    "risks",
    "worse",
];

/// The ADR's status word and the line it sits on: front matter `status:`, a Status section,
/// or a `Status: ...` line.
fn status(doc: &Doc) -> Option<(String, u32)> {
    if let Some(f) = doc.front_value("status") {
        return Some((f.value.clone(), f.line));
    }
    if let Some((r, h)) = doc.section(&["Status".to_string()]) {
        let first = doc
            .prose_in(r)
            .map(|p| (p.text.clone(), p.offset))
            .chain(doc.items_in(r).map(|i| (i.text.clone(), i.offset)))
            .min_by_key(|(_, o)| *o);
        return Some(match first {
            Some((t, o)) => (t, doc.line(o)),
            None => (String::new(), doc.line(h.offset)),
        });
    }
    doc.prose.iter().find_map(|p| {
        let t = p.text.trim_start_matches('*').trim_start();
        let rest = t.strip_prefix("Status")?.trim_start_matches('*');
        let rest = rest.strip_prefix(':')?.trim_start_matches('*');
        Some((rest.trim().to_string(), doc.line(p.offset)))
    })
}

fn first_word(s: &str) -> String {
    normalize_title(s).split_whitespace().next().unwrap_or("").to_string()
}

/// Does the Consequences section name at least one negative consequence? Either a line that
/// starts with a negative marker and says something ("Bad, because ..."), or a label
/// ("Negative:" / "### Drawbacks") followed by a substantive line.
fn has_negative(doc: &Doc, markers: &[String]) -> bool {
    let Some((r, h)) = doc.section(&["Consequences".to_string()]) else {
        return false;
    };
    let mut entries: Vec<(usize, String, bool)> =
        doc.headings_in(r).filter(|x| x.offset != h.offset).map(|x| (x.offset, x.text.clone(), true)).collect();
    entries.extend(doc.prose_in(r).map(|p| (p.offset, p.text.clone(), false)));
    entries.extend(doc.items_in(r).map(|i| (i.offset, i.text.clone(), false)));
    entries.sort_by_key(|e| e.0);
    let mut label = false;
    for (_, text, heading) in entries {
        let neg = markers.contains(&first_word(&text));
        if neg && !heading && word_count(&text) >= 4 {
            return true;
        }
        if neg {
            label = true;
        } else if heading {
            label = false;
        } else if label && word_count(&text) >= 3 {
            return true;
        }
    }
    false
}

pub(crate) fn rule(spec: &AdrSpec, ws: &mut Workspace) -> Vec<Problem> {
    let statuses: Vec<String> =
        spec.statuses.clone().unwrap_or_else(|| STATUSES.iter().map(|s| s.to_string()).collect());
    let markers: Vec<String> =
        spec.negative_markers.clone().unwrap_or_else(|| NEGATIVE.iter().map(|s| s.to_string()).collect());
    let files: Vec<String> = ws
        .list(&spec.dir)
        .into_iter()
        .filter(|n| n.ends_with(".md"))
        .filter(|n| !spec.exclude.iter().any(|e| wildcard(e, n)))
        .map(|n| format!("{}/{n}", spec.dir.trim_end_matches('/')))
        .collect();
    let mut out = Vec::new();
    if files.len() < spec.min_count {
        out.push(Problem::in_file(
            &spec.dir,
            format!(
                "{} holds {} decision records; write at least {} (copy the template to a new numbered file)",
                spec.dir,
                files.len(),
                spec.min_count
            ),
        ));
    }
    // links from the main document(s), resolved to workspace paths
    let mut linked: Vec<String> = Vec::new();
    for from in &spec.referenced_from {
        match ws.doc(from) {
            Ok(d) => {
                for l in &d.links {
                    if let Some(Ok(t)) = ws.resolve(&d.path, &l.dest) {
                        linked.push(t.path);
                    }
                }
            }
            Err(f) => out.push(f),
        }
    }
    for file in &files {
        let doc = match ws.doc(file) {
            Ok(d) => d,
            Err(f) => {
                out.push(f);
                continue;
            }
        };
        match status(&doc) {
            None => {
                out.push(Problem::at(file, 1, "no status: add `status: accepted` front matter or a \"Status\" section"))
            }
            Some((s, line)) => {
                let w = first_word(&s);
                if !statuses.contains(&w) {
                    out.push(Problem::at(
                        file,
                        line,
                        format!("status \"{}\" is not one of {}", s.trim(), statuses.join(", ")),
                    ));
                }
            }
        }
        for (name, aliases) in [
            ("Context", &["Context", "Context and problem statement", "Problem"][..]),
            ("Decision", &["Decision", "Decision outcome"][..]),
            ("Consequences", &["Consequences"][..]),
        ] {
            let names: Vec<String> = aliases.iter().map(|s| s.to_string()).collect();
            match doc.find_heading(&names) {
                None => out.push(Problem::in_file(file, format!("no \"{name}\" section: add it as a heading"))),
                Some(i) if !doc.has_content(doc.section_range(i)) => out.push(Problem::at(
                    file,
                    doc.line(doc.headings[i].offset),
                    format!("section \"{name}\" is empty: write it"),
                )),
                _ => {}
            }
        }
        if doc.find_heading(&["Consequences".to_string()]).is_some() && !has_negative(&doc, &markers) {
            let line =
                doc.find_heading(&["Consequences".to_string()]).map(|i| doc.line(doc.headings[i].offset)).unwrap_or(1);
            out.push(Problem::at(
                file,
                line,
                "no negative consequence: every decision costs something; list at least one under \"Negative\" (or start a line with \"Bad, because ...\")",
            ));
        }
        if !spec.referenced_from.is_empty() && !linked.contains(file) {
            out.push(Problem::in_file(
                file,
                format!(
                    "this ADR is not linked from {}: link it where the decision is discussed",
                    spec.referenced_from.join(" or ")
                ),
            ));
        }
    }
    out
}
