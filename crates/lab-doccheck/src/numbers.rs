//! Number rules: numbers with units in a section, and the structured capacity block whose derived
//! values are recomputed from its inputs. (SLOs and their error budgets live in `slo`.)

use std::collections::HashMap;

use crate::formula::Expr;
use crate::markdown::{Doc, Range};
use crate::problem::Problem;
use crate::spec::{CapacitySpec, UnitsSpec};
use crate::text::{fmt_num, parse_number, quantities, unit_matches};
use crate::titles::{doc_section, section};
use crate::workspace::Workspace;

const DEFAULT_UNITS: &[&str] = &[
    "QPS",
    "RPS",
    "TPS",
    "req/s",
    "ms",
    "s",
    "sec",
    "seconds",
    "minutes",
    "min",
    "hours",
    "h",
    "days",
    "KB",
    "MB",
    "GB",
    "TB",
    "PB",
    "EB",
    "KiB",
    "MiB",
    "GiB",
    "TiB",
    "PiB",
    "bytes",
    "Kbps",
    "Mbps",
    "Gbps",
    "Tbps",
    "DAU",
    "MAU",
    "users",
    "requests",
    "messages",
    "events",
    "%",
    "x",
    "×",
    "nodes",
    "servers",
    "instances",
    "cores",
    "vCPU",
    "connections",
    "writes",
    "reads",
    "rides",
    "trips",
    "streams",
    "titles",
    "drivers",
    "riders",
    "members",
    "regions",
    "hours/day",
];

/// Text a number rule reads in a range: prose, list items and table cells, not code.
fn section_text(doc: &Doc, r: Range) -> Vec<String> {
    let mut out: Vec<String> = doc.prose_in(r).map(|p| p.text.clone()).collect();
    out.extend(doc.items_in(r).map(|i| i.text.clone()));
    for t in doc.tables_in(r) {
        for row in std::iter::once(&t.header).chain(t.rows.iter()) {
            out.extend(row.iter().map(|c| c.text.clone()));
        }
    }
    out
}

pub(crate) fn units(spec: &UnitsSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let line = doc.line(h.offset);
    let units: Vec<String> = match &spec.units {
        Some(u) => u.clone(),
        None => DEFAULT_UNITS.iter().map(|s| s.to_string()).collect(),
    };
    // prose mentions repeat across prose and list items; count each distinct quantity once
    let mut found: Vec<(f64, String)> = Vec::new();
    for t in section_text(&doc, r) {
        for q in quantities(&t) {
            // a unit named in require_units counts even when the default list lacks it
            let known = units.iter().any(|u| unit_matches(&q.unit, u))
                || spec.require_units.iter().flatten().any(|u| unit_matches(&q.unit, u));
            if known && !found.iter().any(|(v, u)| *v == q.value && *u == q.unit) {
                found.push((q.value, q.unit));
            }
        }
    }
    let mut out = Vec::new();
    if found.len() < spec.min_count {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "section \"{}\" has {} numbers with units; give at least {} (e.g. 9,300 QPS, 120 ms, 4.2 TB/year)",
                h.text,
                found.len(),
                spec.min_count
            ),
        ));
    }
    for group in &spec.require_units {
        if !found.iter().any(|(_, u)| group.iter().any(|g| unit_matches(u, g))) {
            out.push(Problem::at(
                &doc.path,
                line,
                format!("section \"{}\" states no number in {}: add one", h.text, group.join(" / ")),
            ));
        }
    }
    out
}

/// Parsed `name = number` lines of a capacity block, with their lines.
/// A block's `name = number` values with their lines, and the learner's own derived lines:
/// `name = number  # = formula`, each a (name, formula text, line).
pub(crate) struct Block {
    pub(crate) values: HashMap<String, (f64, u32)>,
    pub(crate) formulas: Vec<(String, String, u32)>,
}

pub(crate) fn parse_block(doc: &Doc, content: &str, first_line: u32) -> (Block, Vec<Problem>) {
    let mut values = HashMap::new();
    let mut formulas = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        let line = first_line + i as u32;
        let comment = raw.split_once('#').map(|(_, c)| c.trim()).unwrap_or("");
        if let Some(formula) = comment.strip_prefix('=') {
            let name = raw.split(['=', ':']).next().unwrap_or("").trim();
            formulas.push((name.to_string(), formula.trim().to_string(), line));
        }
        let text = raw.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let Some((name, value)) = text.split_once('=').or_else(|| text.split_once(':')) else {
            problems.push(Problem::at(
                &doc.path,
                line,
                format!("capacity block line \"{text}\" is not `name = number`"),
            ));
            continue;
        };
        let name = name.trim();
        let value_word = value.split_whitespace().next().unwrap_or("");
        match parse_number(value_word) {
            Some(v) => {
                values.insert(name.to_string(), (v, line));
            }
            None => problems.push(Problem::at(
                &doc.path,
                line,
                format!(
                    "capacity value `{name}` is \"{}\": write a number (digits, optionally grouped with _ or ,)",
                    value.trim()
                ),
            )),
        }
    }
    (Block { values, formulas }, problems)
}

/// The capacity block of a rule's section, parsed; or the problem that there is none.
pub(crate) fn find_block(
    doc: &Doc,
    section_names: Option<&crate::spec::Names>,
    lang: &str,
) -> Result<(Block, Vec<Problem>, u32), Problem> {
    let r = match section_names {
        None => doc.whole(),
        Some(n) => section(doc, n)?.0,
    };
    let lang = lang.to_lowercase();
    let Some(block) = doc.codes_in(r).find(|c| c.lang == lang) else {
        let line = match section_names {
            Some(n) => section(doc, n).map(|(_, h)| doc.line(h.offset)).unwrap_or(1),
            None => 1,
        };
        return Err(Problem::at(
            &doc.path,
            line,
            format!(
                "no ```{lang} block found{}: add one with `name = number` lines",
                section_names.map(|n| format!(" in section \"{}\"", n.shown())).unwrap_or_default()
            ),
        ));
    };
    let (parsed, problems) = parse_block(doc, &block.content, block.content_line);
    Ok((parsed, problems, block.content_line.saturating_sub(1).max(1)))
}

pub(crate) fn capacity(spec: &CapacitySpec, exprs: &[Expr], ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let (block, mut out, block_line) = match find_block(&doc, spec.section.as_ref(), &spec.block) {
        Ok(b) => b,
        Err(f) => return vec![f],
    };
    let values = &block.values;
    for name in &spec.inputs {
        match values.get(name) {
            None if !out.iter().any(|f| f.message.contains(&format!("`{name}`"))) => out.push(Problem::at(
                &doc.path,
                block_line,
                format!("the capacity block has no `{name} = ...` line: add it"),
            )),
            Some((v, line)) if *v <= 0.0 => out.push(Problem::at(
                &doc.path,
                *line,
                format!("capacity input `{name}` is {}, it must be positive", fmt_num(*v)),
            )),
            _ => {}
        }
    }
    if !out.is_empty() {
        return out;
    }
    let vars: HashMap<String, f64> = values.iter().map(|(k, (v, _))| (k.clone(), *v)).collect();
    // The same values with every derived line replaced by its correct value, in order: a value
    // right from the true inputs is not blamed for an earlier line's mistake.
    let mut chained = vars.clone();
    for (d, e) in spec.derived.iter().zip(exprs) {
        if let Ok(v) = e.eval(&chained) {
            chained.insert(d.name.clone(), v);
        }
    }
    for (d, e) in spec.derived.iter().zip(exprs) {
        let Some((stated, line)) = values.get(&d.name) else {
            out.push(Problem::at(
                &doc.path,
                block_line,
                format!("the capacity block has no `{} = ...` line (it should equal {}): add it", d.name, d.formula),
            ));
            continue;
        };
        let computed = match e.eval(&vars) {
            Ok(v) => v,
            Err(missing) => {
                out.push(Problem::at(
                    &doc.path,
                    *line,
                    format!("`{}` should equal {}, but the block has no `{missing}` line: add it", d.name, d.formula),
                ));
                continue;
            }
        };
        if !computed.is_finite() {
            out.push(Problem::at(
                &doc.path,
                *line,
                format!("`{}` = {} cannot be computed (division by zero?)", d.name, d.formula),
            ));
            continue;
        }
        let tol = d.tolerance.unwrap_or(spec.tolerance);
        let close = |want: f64| (stated - want).abs() <= tol * want.abs().max(1e-9);
        let right_by_chain = chained.get(&d.name).is_some_and(|v| close(*v));
        if !close(computed) && !right_by_chain {
            out.push(Problem::at(
                &doc.path,
                *line,
                format!(
                    "`{}` is {} but {} gives {} (tolerance ±{}%): fix the arithmetic or the inputs",
                    d.name,
                    fmt_num(*stated),
                    d.formula,
                    fmt_num(computed),
                    fmt_num(tol * 100.0)
                ),
            ));
        }
    }
    out.extend(learner_formulas(&doc.path, &block, spec.tolerance));
    out.extend(bounds(&doc.path, &block, spec));
    out
}

/// Lines the learner derived themselves (`name = number  # = formula`) are recomputed like the
/// rules' own: a capacity model may size what its system needs beyond the fixed formulas.
fn learner_formulas(path: &str, block: &Block, tolerance: f64) -> Vec<Problem> {
    let vars: HashMap<String, f64> = block.values.iter().map(|(k, (v, _))| (k.clone(), *v)).collect();
    let mut out = Vec::new();
    for (name, formula, line) in &block.formulas {
        let Some((stated, _)) = block.values.get(name) else { continue };
        let computed = match Expr::parse(formula) {
            Ok(e) => e.eval(&vars),
            Err(e) => {
                out.push(Problem::at(
                    path,
                    *line,
                    format!("the formula after `# =` for `{name}` does not parse ({e}): use names of this block, numbers, + - * / and parentheses"),
                ));
                continue;
            }
        };
        match computed {
            Ok(v) if v.is_finite() && (stated - v).abs() <= tolerance * v.abs().max(1e-9) => {}
            Ok(v) => out.push(Problem::at(
                path,
                *line,
                format!(
                    "`{name}` is {} but its formula {formula} gives {}: fix the arithmetic or the inputs",
                    fmt_num(*stated),
                    fmt_num(v)
                ),
            )),
            Err(missing) => out.push(Problem::at(
                path,
                *line,
                format!("the formula for `{name}` uses `{missing}`, which the block does not define: add it"),
            )),
        }
    }
    out
}

/// Values outside what the lab calls plausible (more users than people, peak below average).
fn bounds(path: &str, block: &Block, spec: &CapacitySpec) -> Vec<Problem> {
    let mut out = Vec::new();
    for (name, bound) in &spec.bounds {
        let Some((v, line)) = block.values.get(name) else { continue };
        let (min, max, why) = bound.range();
        let why = if why.is_empty() { String::new() } else { format!(" ({why})") };
        if let Some(m) = min.filter(|m| v < m) {
            out.push(Problem::at(
                path,
                *line,
                format!(
                    "`{name}` is {}, below the plausible minimum {}{why}: check the input",
                    fmt_num(*v),
                    fmt_num(m)
                ),
            ));
        }
        if let Some(m) = max.filter(|m| v > m) {
            out.push(Problem::at(
                path,
                *line,
                format!(
                    "`{name}` is {}, above the plausible maximum {}{why}: check the input",
                    fmt_num(*v),
                    fmt_num(m)
                ),
            ));
        }
    }
    out
}
