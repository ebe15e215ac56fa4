//! Structure rules: required sections (with aliases, non-empty), prose word floors that ignore
//! code and tables, list-item counts, leftover placeholders, and internal links and anchors.

use std::collections::BTreeSet;

use crate::markdown::{Doc, Range};
use crate::problem::Problem;
use crate::quality::{self, Folded, DEFAULT_PLACEHOLDERS};
use crate::spec::{LinksSpec, ListItemsSpec, PlaceholdersSpec, SectionsSpec, WordFloorSpec};
use crate::text::word_count;
use crate::workspace::{doc_section, quoted, section, wildcard, Workspace};

fn prose_words(doc: &Doc, r: Range) -> usize {
    doc.prose_in(r).map(|p| word_count(&p.text)).sum()
}

/// Expands globs and drops files whose name matches an `exclude` pattern.
fn expand(ws: &Workspace, files: &[String], exclude: &[String]) -> Vec<String> {
    files
        .iter()
        .flat_map(|f| ws.glob(f))
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            !exclude.iter().any(|e| wildcard(e, name) || e == f)
        })
        .collect()
}

pub(crate) fn sections(spec: &SectionsSpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let mut out = Vec::new();
    for req in &spec.sections {
        let names = req.names();
        match doc.find_heading(&names) {
            None => {
                let also =
                    if names.len() > 1 { format!(" (also accepted: {})", quoted(&names[1..])) } else { String::new() };
                out.push(Problem::in_file(
                    &doc.path,
                    format!("missing section \"{}\"{also}: add it as a heading", req.title),
                ));
            }
            Some(i) => {
                let r = doc.section_range(i);
                if req.non_empty && !doc.has_content(r) {
                    out.push(Problem::at(
                        &doc.path,
                        doc.line(doc.headings[i].offset),
                        format!(
                            "section \"{}\" is empty (a heading and comments only): write it",
                            doc.headings[i].text
                        ),
                    ));
                }
            }
        }
    }
    out
}

pub(crate) fn word_floor(spec: &WordFloorSpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let (r, line, what) = match &spec.section {
        None => (doc.whole(), 1, doc.path.clone()),
        Some(names) => match section(&doc, names) {
            Ok((r, h)) => (r, doc.line(h.offset), format!("section \"{}\"", h.text)),
            Err(f) => return vec![f],
        },
    };
    let n = prose_words(&doc, r);
    if n >= spec.min_words {
        // A floor met with filler is not met: the words must read as writing.
        let text: Vec<&str> = doc.prose_in(r).map(|p| p.text.as_str()).collect();
        return match quality::filler(&text.join("\n")) {
            Some(why) => vec![Problem::at(&doc.path, line, format!("{what} does not read as prose: {why}"))],
            None => Vec::new(),
        };
    }
    vec![Problem::at(
        &doc.path,
        line,
        format!(
            "{what} has {n} words of prose; write at least {} (code blocks, tables and comments do not count)",
            spec.min_words
        ),
    )]
}

pub(crate) fn list_items(spec: &ListItemsSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let n = doc.items_in(r).filter(|i| word_count(&i.text) >= spec.min_words).count();
    if n >= spec.min_items {
        return Vec::new();
    }
    vec![Problem::at(
        &doc.path,
        doc.line(h.offset),
        format!(
            "section \"{}\" has {n} list items of at least {} words; list at least {} (one '- ' line each)",
            h.text, spec.min_words, spec.min_items
        ),
    )]
}

pub(crate) fn placeholders(spec: &PlaceholdersSpec, ws: &mut Workspace) -> Vec<Problem> {
    let mut patterns: Vec<String> = match &spec.patterns {
        Some(p) => p.clone(),
        None => DEFAULT_PLACEHOLDERS.iter().map(|s| s.to_string()).collect(),
    };
    patterns.extend(spec.extra_patterns.iter().cloned());
    let mut out = Vec::new();
    let files = expand(ws, &spec.files, &spec.exclude);
    for file in files {
        let doc = match ws.doc(&file) {
            Ok(d) => d,
            Err(f) => {
                out.push(f);
                continue;
            }
        };
        let ranges: Vec<Range> = if spec.sections.is_empty() {
            vec![doc.whole()]
        } else {
            spec.sections.iter().filter_map(|n| doc.section(&n.list()).map(|(r, _)| r)).collect()
        };
        // One folded text per file, so a placeholder split over a line break is still seen.
        let mut folded = Folded::new();
        for &(start, end) in &doc.spans {
            if let (true, Some(slice)) = (ranges.iter().any(|r| r.contains(start)), doc.src.get(start..end)) {
                folded.push(slice, start);
            }
        }
        let mut seen = BTreeSet::new();
        for hit in quality::placeholders(&folded, &patterns) {
            if seen.insert(hit.offset) {
                // Quote it as written; the end may fall inside a multi-byte character.
                let mut end = hit.end.min(doc.src.len());
                while !doc.src.is_char_boundary(end) {
                    end += 1;
                }
                let written: String =
                    doc.src.get(hit.offset..end).unwrap_or(&hit.what).split_whitespace().collect::<Vec<_>>().join(" ");
                let written: String = written.chars().filter(|c| !quality::invisible(*c)).collect();
                out.push(Problem::at(
                    &doc.path,
                    doc.line(hit.offset),
                    format!("leftover placeholder \"{written}\": replace it with your own text (or delete the prompt)"),
                ));
            }
        }
    }
    out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out
}

pub(crate) fn links(spec: &LinksSpec, ws: &mut Workspace) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut internal = 0;
    let files = expand(ws, &spec.files, &spec.exclude);
    let first = files.first().cloned();
    for file in files {
        let doc = match ws.doc(&file) {
            Ok(d) => d,
            Err(f) => {
                out.push(f);
                continue;
            }
        };
        for link in &doc.links {
            if ws.resolve(&doc.path, &link.dest).is_none() {
                continue;
            }
            internal += 1;
            if let Some(msg) = ws.broken(&doc.path, &link.dest) {
                out.push(Problem::at(&doc.path, doc.line(link.offset), format!("broken link: {msg}")));
            }
        }
    }
    if internal < spec.min_links {
        let f = first.unwrap_or_default();
        out.insert(
            0,
            Problem::in_file(
                &f,
                format!(
                    "found {internal} internal links; a reviewed document links at least {} (its ADRs, its own sections)",
                    spec.min_links
                ),
            ),
        );
    }
    out
}
