//! Structure rules: required sections (found by `titles`, non-empty), prose word floors that
//! ignore code and count only the description cells of tables, list-item counts, leftover
//! placeholders, and internal links and anchors.

use std::collections::BTreeSet;

use crate::markdown::{Doc, Range};
use crate::problem::Problem;
use crate::quality::{self, Folded, DEFAULT_PLACEHOLDERS};
use crate::spec::{LinksSpec, ListItemsSpec, PlaceholdersSpec, SectionsSpec, WordFloorSpec};
use crate::text::{ceil_boundary, word_count};
use crate::titles::{self, doc_section, section};
use crate::workspace::{wildcard, Workspace};

/// Table columns whose cells describe things in sentences. A component table's
/// "Responsibility" column is how many engineers write a design's prose, so its cells count
/// towards a word floor; name, technology and number columns do not.
const DESCRIPTIVE: &[&str] = &[
    "description",
    "responsibility",
    "purpose",
    "role",
    "what it does",
    "details",
    "explanation",
    "rationale",
    "why",
    "summary",
    "notes",
];

/// A description cell counts only when it is a phrase, not a label ("yes", "Go").
const MIN_CELL_WORDS: usize = 3;

fn prose_words(doc: &Doc, r: Range) -> usize {
    doc.prose_in(r).map(|p| word_count(&p.text)).sum()
}

/// Words in the description columns of the tables in a range.
/// The description cells of the range's tables that count as prose (phrases, not labels).
fn description_cells(doc: &Doc, r: Range) -> Vec<&str> {
    let mut out = Vec::new();
    for t in doc.tables_in(r) {
        let cols: Vec<usize> = t
            .header
            .iter()
            .enumerate()
            .filter(|(_, h)| DESCRIPTIVE.iter().any(|d| titles::mentions(&h.text, d)))
            .map(|(i, _)| i)
            .collect();
        for row in &t.rows {
            for &i in &cols {
                if let Some(c) = row.get(i).filter(|c| word_count(&c.text) >= MIN_CELL_WORDS) {
                    out.push(c.text.as_str());
                }
            }
        }
    }
    out
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
    let names: Vec<Vec<String>> = spec.sections.iter().map(|r| r.names()).collect();
    // A heading one section names exactly is that section's: another section may not claim it
    // through a looser match, so one "Architecture decisions" heading cannot pass both
    // "Decisions" and "Architecture".
    let exact: Vec<Option<usize>> =
        names.iter().map(|n| titles::find(&doc, n, &[]).filter(|(_, t)| t.is_exact()).map(|(i, _)| i)).collect();
    let mut out = Vec::new();
    for (k, req) in spec.sections.iter().enumerate() {
        let found = exact[k].or_else(|| {
            let claimed: Vec<usize> =
                exact.iter().enumerate().filter(|(j, _)| *j != k).filter_map(|(_, e)| *e).collect();
            titles::find(&doc, &names[k], &claimed).map(|(i, _)| i)
        });
        match found {
            None => out.push(Problem::in_file(&doc.path, titles::missing("missing section", &names[k]))),
            Some(i) => {
                let r = doc.section_range(i);
                if req.non_empty && !doc.has_content(r) {
                    out.push(Problem::at(
                        &doc.path,
                        doc.line(doc.headings[i].offset),
                        format!(
                            "section \"{}\" is empty (a heading and comments only): write it; the grader needs prose, a list, a table or a code block under the heading",
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
    let prose = prose_words(&doc, r);
    let cells = description_cells(&doc, r);
    let described: usize = cells.iter().map(|c| word_count(c)).sum();
    let n = prose + described;
    if n >= spec.min_words {
        // A floor met with filler is not met: the words must read as writing.
        let text: Vec<&str> = doc.prose_in(r).map(|p| p.text.as_str()).chain(cells.iter().copied()).collect();
        return match quality::filler(&text.join("\n")) {
            Some(why) => vec![Problem::at(&doc.path, line, format!("{what} does not read as prose: {why}"))],
            None => Vec::new(),
        };
    }
    let tables =
        if described > 0 { format!(", {described} of them from table description cells") } else { String::new() };
    vec![Problem::at(
        &doc.path,
        line,
        format!(
            "{what} has {n} words of prose{tables}; write at least {}: explain in sentences what the parts do and why, \
             e.g. \"The dispatch service batches requests for 2 s because ...\" (code blocks, comments and table cells \
             other than a Description or Responsibility column do not count)",
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
            "section \"{}\" has {n} list items of at least {} words; list at least {} (one '- ' line each, e.g. \
             `- No surge pricing: the pricing team owns it`) so each point can be reviewed on its own",
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
            spec.sections.iter().filter_map(|n| section(&doc, n).ok().map(|(r, _)| r)).collect()
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
                let end = ceil_boundary(&doc.src, hit.end);
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
