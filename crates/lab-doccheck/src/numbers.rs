//! Number rules: numbers with units in a section, and the structured capacity block whose derived
//! values are recomputed from its inputs. (SLOs and their error budgets live in `slo`.)

use std::collections::HashMap;

use crate::formula::Expr;
use crate::markdown::{Doc, Range};
use crate::problem::Problem;
use crate::spec::{CapacitySpec, UnitsSpec};
use crate::text::{fmt_num, parse_number, quantities, unit_matches};
use crate::workspace::{doc_section, section, Workspace};

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
fn parse_block(doc: &Doc, content: &str, first_line: u32) -> (HashMap<String, (f64, u32)>, Vec<Problem>) {
    let mut values = HashMap::new();
    let mut problems = Vec::new();
    for (i, raw) in content.lines().enumerate() {
        let line = first_line + i as u32;
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
    (values, problems)
}

pub(crate) fn capacity(spec: &CapacitySpec, exprs: &[Expr], ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let r = match &spec.section {
        None => doc.whole(),
        Some(n) => match section(&doc, n) {
            Ok((r, _)) => r,
            Err(f) => return vec![f],
        },
    };
    let lang = spec.block.to_lowercase();
    let Some(block) = doc.codes_in(r).find(|c| c.lang == lang) else {
        let line = match &spec.section {
            Some(n) => section(&doc, n).map(|(_, h)| doc.line(h.offset)).unwrap_or(1),
            None => 1,
        };
        return vec![Problem::at(
            &doc.path,
            line,
            format!(
                "no ```{} block found{}: add one with `name = number` lines",
                spec.block,
                spec.section.as_ref().map(|n| format!(" in section \"{}\"", n.shown())).unwrap_or_default()
            ),
        )];
    };
    let (values, mut out) = parse_block(&doc, &block.content, block.content_line);
    let block_line = block.content_line.saturating_sub(1).max(1);
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
    out
}
