//! Table rules: a generic "table with these columns" rule (cells non-empty, numeric, H/M/L
//! ratings or resolving links; required row cases), its presets for data models and failure
//! modes, and trade-off tables (options x criteria either way round, exactly one chosen).

use crate::markdown::{Cell, Doc, Range, Table};
use crate::problem::Problem;
use crate::spec::{Case, CellCheck, ColumnSpec, TablePreset, TableSpec, TradeoffSpec};
use crate::text::{normalize_title, quantities};
use crate::titles::{self, doc_section};
use crate::words;
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
            col("Component", &["dependency", "part", "service", "system", "subsystem", "resource"]),
            col(
                "Failure",
                &["failure mode", "what fails", "fault", "failure scenario", "scenario", "event", "impact", "symptom"],
            ),
            col(
                "Detection",
                &["detected by", "signal", "alert", "how detected", "alerting", "monitoring", "alarm", "observability"],
            ),
            col("Mitigation", &["response", "recovery", "remediation", "handling", "fallback", "action", "runbook"]),
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

/// Does a header cell name this column? Whole-word match of any alias, singular or plural.
/// A header cell, read once: its normalised text (padded for whole-word search) and its key.
struct Header {
    norm: String,
    padded: String,
    key: titles::Key,
}

impl Header {
    fn new(text: &str) -> Header {
        let norm = normalize_title(text);
        Header { padded: format!(" {norm} "), norm, key: titles::Key::new(text) }
    }
}

/// A wanted column's names, read once.
struct Wanted {
    norms: Vec<String>,
    keys: Vec<titles::Key>,
}

fn header_is(h: &Header, w: &Wanted) -> bool {
    w.norms
        .iter()
        .zip(&w.keys)
        .any(|(k, key)| !k.is_empty() && (h.padded.contains(&format!(" {k} ")) || titles::key_mentions(&h.key, key)))
}

/// Maps each wanted column to a header index (distinct), or None when absent. Headers and names
/// are normalised once, so a table with very many columns stays linear per wanted column.
fn map_columns(t: &Table, cols: &[ColumnSpec]) -> Vec<Option<usize>> {
    let headers: Vec<Header> = t.header.iter().map(|h| Header::new(&h.text)).collect();
    let mut taken = Vec::new();
    cols.iter()
        .map(|c| {
            let names = c.names();
            let w = Wanted {
                norms: names.iter().map(|n| normalize_title(n)).collect(),
                keys: names.iter().map(|n| titles::Key::new(n)).collect(),
            };
            // an exact header ("Response") wins over one that merely contains the name
            // ("Response measure"), whatever the column order
            let i = headers
                .iter()
                .enumerate()
                .position(|(i, h)| !taken.contains(&i) && w.norms.contains(&h.norm))
                .or_else(|| headers.iter().enumerate().position(|(i, h)| !taken.contains(&i) && header_is(h, &w)));
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

/// A row stating a recovery point objective ("RPO 60 s", "RPO 0") says how much data a failure
/// loses, so it covers a data-loss case; a recovery time objective ("RTO 5 min") says how long
/// the part is down, so it covers an outage case.
fn recovery_objective_covers(case: &Case, row: &str) -> bool {
    // What the case is about comes from its label ("a dependency outage", "a data-loss case"):
    // an outage case that also accepts the words "region loss" is still not a loss case.
    let label = case.label.to_lowercase();
    let about = |words: &[&str]| {
        if ["loss", "lost", "lose", "outage", "unavailab", "down"].iter().any(|x| label.contains(x)) {
            words.iter().any(|x| label.contains(x))
        } else {
            case.any.iter().any(|w| words.iter().any(|x| w.to_lowercase().contains(x)))
        }
    };
    let says = |abbrev: &str, long: &str| words::has(row, abbrev) || row.contains(long);
    (about(&["loss", "lost", "lose"]) && says("rpo", "recovery point"))
        || (about(&["outage", "unavailable", "down"]) && says("rto", "recovery time"))
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
            format!(
                "section \"{}\" has no table: add one with the columns {} (a header row `| {} |`, then one row per entry), so every entry is checked the same way",
                h.text,
                names.join(" | "),
                names.join(" | ")
            ),
        )];
    };
    let mut mapping = mapping;
    // "| Failure scenario | Impact | Detection | Mitigation |" names the component inside the
    // scenario ("Kafka broker lost"), so the failure column stands in for a missing component one.
    if preset == TablePreset::FailureModes && spec.columns.is_none() && mapping[0].is_none() {
        mapping[0] = mapping[1];
    }
    let missing: Vec<&str> =
        cols.iter().zip(&mapping).filter(|(_, m)| m.is_none()).map(|(c, _)| c.name.as_str()).collect();
    if !missing.is_empty() {
        return vec![Problem::at(
            &doc.path,
            doc.line(t.offset),
            format!(
                "the table in section \"{}\" lacks the column(s) {}: its header needs {} (the grader finds each column by its header; common synonyms are accepted)",
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
                || (preset == TablePreset::FailureModes && recovery_objective_covers(case, &text))
        });
        if !hit {
            out.push(Problem::at(
                &doc.path,
                doc.line(t.offset),
                format!(
                    "no row covers {} (a row mentioning one of: {}): the review asks for it because a design is judged by its worst day",
                    case.label,
                    case.any.join(", ")
                ),
            ));
        }
    }
    out
}

/// Column (or, transposed, row) labels that hold the verdict rather than a criterion.
const VERDICT: &[&str] = &[
    "chosen",
    "decision",
    "verdict",
    "selected",
    "outcome",
    "choice",
    "result",
    "recommendation",
    "recommended",
    "pick",
];
/// Labels of free-text columns that are neither criteria nor verdicts.
const NOTES: &[&str] = &["notes", "comments", "remarks"];
/// First header cells that announce criteria as rows and options as columns.
const CRITERIA_HEAD: &[&str] = &[
    "criterion",
    "criteria",
    "dimension",
    "aspect",
    "factor",
    "attribute",
    "quality",
    "concern",
    "property",
    "consideration",
    "metric",
    "feature",
    "characteristic",
    "requirement",
];
/// First header cells that announce options as rows.
const OPTION_HEAD: &[&str] =
    &["option", "alternative", "approach", "candidate", "choice", "design", "solution", "technology", "strategy"];
/// Marks on an option's name (or in its verdict or notes cell) that say "this one". Words match
/// whole and not after a negation ("not chosen"); parenthesised forms match as written.
const DEFAULT_MARKERS: &[&str] = &[
    "chosen",
    "selected",
    "recommended",
    "preferred",
    "picked",
    "our choice",
    "we pick",
    "(decision)",
    "✅",
    "✔",
    "✓",
    "☑",
];
/// First words of a verdict cell that mean yes; any other word ("rejected", "no") means no.
const AFFIRMATIVE: &[&str] = &["yes", "y", "accepted", "accept", "adopted", "adopt", "winner"];
/// Openings of a line under the table that names the decision ("Decision: H3").
const DECISION_LINES: &[&str] = &[
    "chosen:",
    "decision:",
    "choice:",
    "selected:",
    "recommendation:",
    "verdict:",
    "our choice:",
    "we chose",
    "we choose",
    "we pick",
    "we picked",
    "we select",
    "we selected",
    "we go with",
    "we went with",
];
const NEGATIONS: &[&str] = &["not", "no", "never", "isn't", "wasn't", "un"];

fn label_in(text: &str, labels: &[&str]) -> bool {
    let k = titles::Key::new(text);
    labels.iter().any(|l| k.same(&titles::Key::new(l)))
}

/// Does `text` carry one of the markers, not negated?
fn marked(text: &str, markers: &[String]) -> bool {
    let lower = text.to_lowercase();
    markers.iter().any(|m| {
        let m = m.to_lowercase();
        if m.is_empty() {
            return false;
        }
        if !m.chars().next().is_some_and(char::is_alphanumeric) {
            return lower.contains(&m);
        }
        words::find(&lower, &m).into_iter().any(|at| {
            let before = lower[..at].trim_end_matches(['-', ' ']);
            let prev = before.rsplit(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("");
            !NEGATIONS.contains(&prev) && set_apart(&lower, at, at + m.len())
        })
    })
}

/// A marker word is a verdict only when set apart from the option's description: the whole
/// cell or its first word, in brackets or emphasis, or closing the cell after a separator
/// ("B — recommended", "B, chosen"). "Several CDNs, picked per member by DNS" describes an option; it picks nothing.
fn set_apart(text: &str, at: usize, end: usize) -> bool {
    let before = text[..at].trim_end();
    let after = text[end..].trim_start();
    let closes = after.starts_with([')', ']', '*', '_']);
    let ends =
        after.trim_start_matches([')', ']', '*', '_', '.', '!', ' ']).is_empty() || after.starts_with([':', '—', '–']);
    let opens = before.is_empty() || before.ends_with(['(', '[', '—', '–', '-', ':', ',', '*', '_', ';']);
    // A cell that starts with the verdict ("Selected for replay") states it.
    before.is_empty() || closes || (ends && opens)
}

/// A verdict cell says yes: an affirmative first word, or a marker.
fn affirmative(text: &str, markers: &[String]) -> bool {
    let first: String = text
        .trim_start_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .take_while(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    AFFIRMATIVE.contains(&first.as_str()) || marked(text, markers)
}

/// An option's name without its markers: "H3 hexagons ✅ (chosen)" is "H3 hexagons".
fn option_name(text: &str, markers: &[String]) -> String {
    let mut name = text.to_string();
    for m in markers.iter().map(|m| m.as_str()).chain(["(", ")", "*"]) {
        name = name.replace(m, " ");
        name = name.replace(&m.to_uppercase(), " ").replace(&capitalised(m), " ");
    }
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    name.trim_matches(|c: char| !c.is_alphanumeric()).to_string()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// One option as read from either orientation.
struct Opt {
    name: String,
    /// Its cell per criterion, in criterion order, with the line of the cell's row.
    values: Vec<(String, u32)>,
    chosen: bool,
}

/// A trade-off table as the rule reads it: its options, criteria and the options marked chosen.
/// `chosen()` names the decision (for cross-checks against the ADRs) when exactly one is marked.
#[derive(Debug, Clone)]
pub(crate) struct Tradeoff {
    /// Line of the table's header.
    pub(crate) line: u32,
    /// Options as compared, markers stripped.
    pub(crate) options: Vec<String>,
    /// Options marked as chosen; a complete table marks exactly one.
    pub(crate) marked: Vec<String>,
    /// What keeps the table from counting; empty when it is complete.
    pub(crate) problems: Vec<Problem>,
}

impl Tradeoff {
    /// The chosen option's name, when exactly one is marked.
    pub(crate) fn chosen(&self) -> Option<&str> {
        match self.marked.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// Reads a table as options x criteria, options as rows (`transposed` false) or as columns.
fn read(doc: &Doc, t: &Table, transposed: bool, markers: &[String]) -> (Vec<Opt>, Vec<String>) {
    let is_criterion = |label: &str| !blank(label) && !label_in(label, VERDICT) && !label_in(label, NOTES);
    if !transposed {
        let crit: Vec<usize> = (1..t.header.len()).filter(|&i| is_criterion(&t.header[i].text)).collect();
        let verdicts: Vec<usize> = (1..t.header.len()).filter(|&i| label_in(&t.header[i].text, VERDICT)).collect();
        let notes: Vec<usize> = (1..t.header.len()).filter(|&i| label_in(&t.header[i].text, NOTES)).collect();
        let criteria = crit.iter().map(|&i| t.header[i].text.clone()).collect();
        let opts = t
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.first().is_some_and(|c| !blank(&c.text)))
            .map(|(ri, r)| {
                let cell = |i: usize| r.get(i).map(|c| c.text.clone()).unwrap_or_default();
                let chosen = marked(&cell(0), markers)
                    || verdicts.iter().any(|&i| affirmative(&cell(i), markers))
                    || notes.iter().any(|&i| marked(&cell(i), markers));
                Opt {
                    name: option_name(&cell(0), markers),
                    values: crit.iter().map(|&i| (cell(i), row_line(doc, t, ri))).collect(),
                    chosen,
                }
            })
            .collect();
        return (opts, criteria);
    }
    let first = |r: &Vec<Cell>| r.first().map(|c| c.text.clone()).unwrap_or_default();
    let crit_rows: Vec<(usize, &Vec<Cell>)> =
        t.rows.iter().enumerate().filter(|(_, r)| is_criterion(&first(r))).collect();
    let verdict_rows: Vec<&Vec<Cell>> = t.rows.iter().filter(|r| label_in(&first(r), VERDICT)).collect();
    let note_rows: Vec<&Vec<Cell>> = t.rows.iter().filter(|r| label_in(&first(r), NOTES)).collect();
    let criteria = crit_rows.iter().map(|(_, r)| first(r)).collect();
    let opts = (1..t.header.len())
        .filter(|&i| is_criterion(&t.header[i].text))
        .map(|i| {
            let cell = |r: &Vec<Cell>| r.get(i).map(|c| c.text.clone()).unwrap_or_default();
            let head = &t.header[i].text;
            let chosen = marked(head, markers)
                || verdict_rows.iter().any(|r| affirmative(&cell(r), markers))
                || note_rows.iter().any(|r| marked(&cell(r), markers));
            Opt {
                name: option_name(head, markers),
                values: crit_rows.iter().map(|(ri, r)| (cell(r), row_line(doc, t, *ri))).collect(),
                chosen,
            }
        })
        .collect();
    (opts, criteria)
}

/// Criteria as rows: announced by the first header cell ("Criterion", or empty), or by a
/// verdict row, or by a marker on a header cell rather than on a row.
fn looks_transposed(t: &Table, markers: &[String]) -> bool {
    let head = t.header.first().map(|c| c.text.as_str()).unwrap_or("");
    if label_in(head, OPTION_HEAD) {
        return false;
    }
    if blank(head) || label_in(head, CRITERIA_HEAD) {
        return true;
    }
    let first = |r: &Vec<Cell>| r.first().map(|c| c.text.clone()).unwrap_or_default();
    t.rows.iter().any(|r| label_in(&first(r), VERDICT))
        || (t.header.iter().skip(1).any(|h| marked(&h.text, markers))
            && !t.rows.iter().any(|r| marked(&first(r), markers)))
}

/// The option a line under the table names after "Decision:" or "We chose", if exactly one.
fn decision_line(doc: &Doc, t: &Table, r: Range, opts: &[Opt]) -> Option<usize> {
    let next_table = doc.tables.iter().map(|o| o.offset).filter(|&o| o > t.offset).min().unwrap_or(usize::MAX);
    let next_heading = doc.headings.iter().map(|h| h.offset).filter(|&o| o > t.offset).min().unwrap_or(usize::MAX);
    let limit = next_table.min(next_heading).min(r.end);
    let p = doc.prose_in(r).find(|p| p.offset > t.offset && p.offset < limit)?;
    let text = p.text.trim_start_matches(|c: char| !c.is_alphanumeric()).to_lowercase().replace('*', "");
    let lead = DECISION_LINES.iter().find(|l| text.starts_with(*l))?;
    let rest = &text[lead.len()..];
    let clause = rest.split(['.', ';', '\n']).next().unwrap_or(rest);
    let clause = clause.split(" because").next().unwrap_or(clause);
    let names = |o: &Opt| -> bool {
        let full = words::has(clause, &o.name.to_lowercase());
        // "We chose H3" names "H3 hexagons" when no other option starts with "H3"
        let head = o.name.split_whitespace().next().unwrap_or("").to_lowercase();
        let unique =
            opts.iter().filter(|x| x.name.to_lowercase().split_whitespace().next() == Some(&head)).count() == 1;
        full || (unique && head.chars().count() >= 2 && words::has(clause, &head))
    };
    let hits: Vec<usize> = (0..opts.len()).filter(|&i| !opts[i].name.is_empty() && names(&opts[i])).collect();
    match hits.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Reads one candidate table, in the orientation it looks like or, when only the other one
/// makes it complete, in that one.
fn read_tradeoff(doc: &Doc, t: &Table, r: Range, spec: &TradeoffSpec, markers: &[String]) -> Tradeoff {
    let guess = looks_transposed(t, markers);
    let first = assess(doc, t, r, spec, markers, guess);
    if first.problems.is_empty() {
        return first;
    }
    let other = assess(doc, t, r, spec, markers, !guess);
    if other.problems.is_empty() {
        other
    } else {
        first
    }
}

fn assess(doc: &Doc, t: &Table, r: Range, spec: &TradeoffSpec, markers: &[String], transposed: bool) -> Tradeoff {
    let (mut opts, criteria) = read(doc, t, transposed, markers);
    let line = doc.line(t.offset);
    let mut out = Vec::new();
    let (each, crit_kind) = if transposed { ("column", "rows") } else { ("row", "columns") };
    if opts.len() < spec.min_options {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "trade-off table compares {} options; compare at least {} (one {each} each): a decision needs a real alternative",
                opts.len(),
                spec.min_options
            ),
        ));
    }
    if criteria.len() < spec.min_criteria {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "trade-off table has {} criteria {crit_kind}; use at least {} (e.g. latency, cost, operability) so the options are weighed on more than one axis",
                criteria.len(),
                spec.min_criteria
            ),
        ));
    }
    for o in &opts {
        for (c, (v, vline)) in criteria.iter().zip(&o.values) {
            if blank(v) {
                let short: String = o.name.chars().take(40).collect();
                let what = if transposed {
                    format!("option \"{short}\": criterion")
                } else {
                    format!("trade-off row \"{short}\": column")
                };
                out.push(Problem::at(&doc.path, *vline, format!("{what} \"{c}\" is empty")));
            }
        }
    }
    if !opts.iter().any(|o| o.chosen) {
        if let Some(i) = decision_line(doc, t, r, &opts) {
            opts[i].chosen = true;
        }
    }
    let marked: Vec<String> = opts.iter().filter(|o| o.chosen).map(|o| o.name.clone()).collect();
    if marked.is_empty() {
        let (example, verdict) = if transposed {
            ("`| Criterion | Kafka ✅ | RabbitMQ |`", "a Decision row with `yes`")
        } else {
            ("`| Kafka ✅ chosen | ... |`", "a Decision column with `yes`")
        };
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "no option is marked as chosen: mark exactly one, e.g. {example}, {verdict}, or a line under the table `Decision: Kafka`; a comparison without a verdict leaves the reader to guess"
            ),
        ));
    } else if marked.len() > 1 {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "{} options are marked as chosen ({}): mark exactly one, so the table records one decision",
                marked.len(),
                marked.join(", ")
            ),
        ));
    }
    Tradeoff { line, options: opts.into_iter().map(|o| o.name).collect(), marked, problems: out }
}

/// Every trade-off table in a range, read with the default chosen-markers unless given.
pub(crate) fn tradeoffs(doc: &Doc, r: Range, spec: &TradeoffSpec) -> Vec<Tradeoff> {
    let markers: Vec<String> =
        spec.chosen_markers.clone().unwrap_or_else(|| DEFAULT_MARKERS.iter().map(|s| s.to_string()).collect());
    doc.tables_in(r).map(|t| read_tradeoff(doc, t, r, spec, &markers)).collect()
}

pub(crate) fn tradeoff(spec: &TradeoffSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let mut good = 0;
    let mut problems = Vec::new();
    for t in tradeoffs(&doc, r, spec) {
        if t.problems.is_empty() && t.chosen().is_some() {
            good += 1;
        } else {
            problems.extend(t.problems);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TradeoffSpec {
        TradeoffSpec {
            file: "d.md".into(),
            section: crate::spec::Names::One("T".into()),
            min_options: 2,
            min_criteria: 2,
            min_tables: 1,
            chosen_markers: None,
        }
    }

    fn read_all(src: &str) -> Vec<Tradeoff> {
        let doc = Doc::parse("d.md", src);
        tradeoffs(&doc, doc.whole(), &spec())
    }

    #[test]
    fn chosen_option_is_exposed_per_table_in_either_orientation() {
        let src = "| Option | Cost | Ops |\n| --- | --- | --- |\n| **H3** ✅ chosen | low | easy |\n| S2 | low | ok |\n\n\
                   | Criterion | Batched | Greedy |\n| --- | --- | --- |\n| ETA | best | worst |\n| Latency | 2 s | 300 ms |\n| Decision | yes | |\n";
        let t = read_all(src);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].chosen(), Some("H3"));
        assert_eq!(t[0].options, vec!["H3", "S2"]);
        assert_eq!(t[0].line, 1);
        assert_eq!(t[1].chosen(), Some("Batched"));
        assert!(t[1].problems.is_empty());
    }

    #[test]
    fn no_or_several_marks_expose_no_choice() {
        let t = read_all("| Option | Cost | Ops |\n| --- | --- | --- |\n| A ✅ | low | easy |\n| B ✅ | low | ok |\n");
        assert_eq!(t[0].chosen(), None);
        assert_eq!(t[0].marked, vec!["A", "B"]);
        let t = read_all("| Option | Cost | Ops |\n| --- | --- | --- |\n| A | low | easy |\n| B | low | ok |\n");
        assert_eq!(t[0].chosen(), None);
    }

    #[test]
    fn markers_are_whole_words_and_not_negated() {
        let m: Vec<String> = DEFAULT_MARKERS.iter().map(|s| s.to_string()).collect();
        assert!(marked("H3 (chosen)", &m));
        assert!(marked("Recommended", &m));
        assert!(!marked("not chosen", &m));
        assert!(!marked("un-chosen", &m));
        assert!(!marked("preselected cache", &m));
        assert!(marked("Option B — recommended", &m));
        assert!(marked("**Chosen**", &m));
        assert!(marked("Batched matching, chosen", &m));
        assert!(!marked("Several commercial CDNs, picked per member by DNS", &m));
        assert!(affirmative("Yes, for replay", &m));
        assert!(!affirmative("no", &m));
    }
}
