//! Table rules: a generic "table with these columns" rule (cells non-empty, numeric, H/M/L
//! ratings or resolving links; required row cases), its presets for data models and failure
//! modes, and trade-off tables (options x criteria with exactly one chosen option).

use crate::markdown::{Cell, Doc, Table};
use crate::problem::Problem;
use crate::spec::{CellCheck, ColumnSpec, TablePreset, TableSpec, TradeoffSpec};
use crate::text::{normalize_title, quantities};
use crate::titles::doc_section;
use crate::workspace::Workspace;

fn col(name: &str, aliases: &[&str]) -> ColumnSpec {
    ColumnSpec {
        name: name.into(),
        aliases: aliases.iter().map(|s| s.to_string()).collect(),
        check: CellCheck::Nonempty,
    }
}

fn preset_columns(p: TablePreset) -> Vec<ColumnSpec> {
    match p {
        TablePreset::Plain => Vec::new(),
        TablePreset::DataModel => vec![
            col("Entity", &["table", "collection", "record", "aggregate"]),
            col("Key", &["keys", "primary key", "partition key", "pk", "key s"]),
            col("Datastore", &["store", "database", "storage", "db"]),
        ],
        TablePreset::FailureModes => vec![
            col("Component", &["dependency", "part", "service"]),
            col("Failure", &["failure mode", "what fails", "fault"]),
            col("Detection", &["detected by", "signal", "alert", "how detected"]),
            col("Mitigation", &["response", "recovery", "remediation"]),
        ],
    }
}

fn default_min_rows(p: TablePreset) -> usize {
    match p {
        TablePreset::Plain => 1,
        TablePreset::DataModel => 3,
        TablePreset::FailureModes => 5,
    }
}

/// Does a header cell name this column? Whole-word match of any alias.
fn header_is(header: &str, c: &ColumnSpec) -> bool {
    let h = format!(" {} ", normalize_title(header));
    c.names().iter().any(|n| {
        let n = normalize_title(n);
        !n.is_empty() && h.contains(&format!(" {n} "))
    })
}

/// Maps each wanted column to a header index (distinct), or None when absent.
fn map_columns(t: &Table, cols: &[ColumnSpec]) -> Vec<Option<usize>> {
    let mut taken = Vec::new();
    cols.iter()
        .map(|c| {
            // an exact header ("Response") wins over one that merely contains the name
            // ("Response measure"), whatever the column order
            let exact = |h: &str| {
                let h = normalize_title(h);
                c.names().iter().any(|n| normalize_title(n) == h)
            };
            let i =
                t.header.iter().enumerate().position(|(i, h)| !taken.contains(&i) && exact(&h.text)).or_else(|| {
                    t.header.iter().enumerate().position(|(i, h)| !taken.contains(&i) && header_is(&h.text, c))
                });
            if let Some(i) = i {
                taken.push(i);
            }
            i
        })
        .collect()
}

/// Cell text that still means "nothing written yet".
pub(crate) fn blank(s: &str) -> bool {
    let t = s.trim().trim_matches('*').trim();
    t.is_empty() || matches!(t, "-" | "—" | "–" | "?" | "..." | "…" | "TBD" | "TODO" | "tbd" | "todo")
}

/// An ATAM-style (importance, difficulty) rating: "(H, M)", "H/M", "High, Low".
fn is_rating(s: &str) -> bool {
    let toks: Vec<String> =
        s.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(|t| t.to_lowercase()).collect();
    toks.len() == 2 && toks.iter().all(|t| matches!(t.as_str(), "h" | "m" | "l" | "high" | "medium" | "med" | "low"))
}

fn row_line(doc: &Doc, t: &Table, ri: usize) -> u32 {
    doc.line(t.row_offsets.get(ri).copied().unwrap_or(t.offset))
}

fn row_name(row: &[Cell]) -> String {
    let n = row.first().map(|c| c.text.as_str()).unwrap_or("");
    let short: String = n.chars().take(40).collect();
    if short.is_empty() {
        "(unnamed)".into()
    } else {
        short
    }
}

pub(crate) fn table(spec: &TableSpec, preset: TablePreset, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let cols = spec.columns.clone().unwrap_or_else(|| preset_columns(preset));
    let min_rows = spec.min_rows.unwrap_or_else(|| default_min_rows(preset));
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    let hline = doc.line(h.offset);
    let tables: Vec<&Table> = doc.tables_in(r).collect();
    let best = tables
        .iter()
        .map(|t| (*t, map_columns(t, &cols)))
        .max_by_key(|(_, m)| m.iter().filter(|x| x.is_some()).count());
    let Some((t, mapping)) = best else {
        return vec![Problem::at(
            &doc.path,
            hline,
            format!("section \"{}\" has no table: add one with the columns {}", h.text, names.join(" | ")),
        )];
    };
    let missing: Vec<&str> =
        cols.iter().zip(&mapping).filter(|(_, m)| m.is_none()).map(|(c, _)| c.name.as_str()).collect();
    if !missing.is_empty() {
        return vec![Problem::at(
            &doc.path,
            doc.line(t.offset),
            format!(
                "the table in section \"{}\" lacks the column(s) {}: its header needs {}",
                h.text,
                missing.join(", "),
                names.join(" | ")
            ),
        )];
    }
    let mut out = Vec::new();
    let rows: Vec<(usize, &Vec<Cell>)> =
        t.rows.iter().enumerate().filter(|(_, r)| !r.iter().all(|c| blank(&c.text))).collect();
    if rows.len() < min_rows {
        out.push(Problem::at(
            &doc.path,
            doc.line(t.offset),
            format!("the table in section \"{}\" has {} filled rows; it needs at least {min_rows}", h.text, rows.len()),
        ));
    }
    for &(ri, row) in &rows {
        let line = row_line(&doc, t, ri);
        for (c, m) in cols.iter().zip(&mapping) {
            let cell = m.and_then(|i| row.get(i)).cloned().unwrap_or_default();
            let problem = match c.check {
                CellCheck::Any => None,
                _ if blank(&cell.text) && c.check != CellCheck::Link => Some(format!("column \"{}\" is empty", c.name)),
                CellCheck::Nonempty => None,
                CellCheck::Number => quantities(&cell.text)
                    .is_empty()
                    .then(|| format!("column \"{}\" needs a number (\"{}\")", c.name, cell.text)),
                CellCheck::Rating => (!is_rating(&cell.text)).then(|| {
                    format!(
                        "column \"{}\" needs an (importance, difficulty) rating like (H, M), not \"{}\"",
                        c.name, cell.text
                    )
                }),
                CellCheck::Link => {
                    if cell.links.is_empty() {
                        Some(format!("column \"{}\" needs a link to the mitigation or ADR", c.name))
                    } else {
                        cell.links
                            .iter()
                            .find_map(|l| ws.broken(&doc.path, l))
                            .map(|m| format!("column \"{}\": {m}", c.name))
                    }
                }
            };
            if let Some(p) = problem {
                out.push(Problem::at(&doc.path, line, format!("row \"{}\": {p}", row_name(row))));
            }
        }
    }
    for case in &spec.required_rows {
        let hit = rows.iter().any(|(_, row)| {
            let text = row.iter().map(|c| c.text.to_lowercase()).collect::<Vec<_>>().join(" ");
            case.any.iter().any(|w| text.contains(&w.to_lowercase()))
        });
        if !hit {
            out.push(Problem::at(
                &doc.path,
                doc.line(t.offset),
                format!("no row covers {} (a row mentioning one of: {})", case.label, case.any.join(", ")),
            ));
        }
    }
    out
}

const NOT_CRITERIA: &[&str] = &["chosen", "decision", "verdict", "selected", "outcome", "notes", "choice", "result"];
const DEFAULT_MARKERS: &[&str] = &["chosen", "✅", "✔", "✓", "selected"];

fn is_chosen(row: &[Cell], markers: &[String]) -> bool {
    let text = row.iter().map(|c| c.text.to_lowercase()).collect::<Vec<_>>().join(" | ");
    let text = text.replace("not chosen", "").replace("not selected", "").replace("unchosen", "");
    markers.iter().any(|m| text.contains(&m.to_lowercase()))
}

/// Problems with one candidate trade-off table; empty when it qualifies.
fn tradeoff_problems(doc: &Doc, t: &Table, spec: &TradeoffSpec, markers: &[String]) -> Vec<Problem> {
    let mut out = Vec::new();
    let line = doc.line(t.offset);
    // columns that compare (not the option name, not a verdict or notes column)
    let is_criterion = |h: &Cell| {
        let n = normalize_title(&h.text);
        !n.is_empty() && !NOT_CRITERIA.iter().any(|x| n == *x)
    };
    let criteria = t.header.iter().skip(1).filter(|h| is_criterion(h)).count();
    let rows: Vec<(usize, &Vec<Cell>)> =
        t.rows.iter().enumerate().filter(|(_, r)| r.first().is_some_and(|c| !blank(&c.text))).collect();
    if rows.len() < spec.min_options {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "trade-off table compares {} options; compare at least {} (one row each)",
                rows.len(),
                spec.min_options
            ),
        ));
    }
    if criteria < spec.min_criteria {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "trade-off table has {criteria} criteria columns; use at least {} (e.g. latency, cost, operability)",
                spec.min_criteria
            ),
        ));
    }
    for &(ri, row) in &rows {
        for (ci, h) in t.header.iter().enumerate() {
            // a verdict column may be empty for rejected options; options and criteria may not
            if (ci == 0 || is_criterion(h)) && row.get(ci).is_none_or(|c| blank(&c.text)) {
                out.push(Problem::at(
                    &doc.path,
                    row_line(doc, t, ri),
                    format!("trade-off row \"{}\": column \"{}\" is empty", row_name(row), h.text),
                ));
            }
        }
    }
    let chosen = rows.iter().filter(|(_, r)| is_chosen(r, markers)).count();
    if chosen == 0 {
        out.push(Problem::at(
            &doc.path,
            line,
            "no option is marked as chosen: mark exactly one row with ✅ or \"(chosen)\"".to_string(),
        ));
    } else if chosen > 1 {
        out.push(Problem::at(&doc.path, line, format!("{chosen} options are marked as chosen: mark exactly one")));
    }
    out
}

pub(crate) fn tradeoff(spec: &TradeoffSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let markers: Vec<String> =
        spec.chosen_markers.clone().unwrap_or_else(|| DEFAULT_MARKERS.iter().map(|s| s.to_string()).collect());
    let mut good = 0;
    let mut problems = Vec::new();
    for t in doc.tables_in(r) {
        let p = tradeoff_problems(&doc, t, spec, &markers);
        if p.is_empty() {
            good += 1;
        } else {
            problems.extend(p);
        }
    }
    if good >= spec.min_tables {
        return Vec::new();
    }
    problems.insert(
        0,
        Problem::at(
            &doc.path,
            doc.line(h.offset),
            format!(
                "section \"{}\" has {good} complete trade-off tables (>= {} options x >= {} criteria, one marked chosen); it needs {}",
                h.text, spec.min_options, spec.min_criteria, spec.min_tables
            ),
        ),
    );
    problems
}
