//! The `slo` rule: SLO tables whose error budgets must match their targets and windows.

use crate::markdown::Table;
use crate::problem::Problem;
use crate::spec::SloSpec;
use crate::text::{fmt_duration, fmt_num, normalize_title, parse_duration, parse_percent, starts_with_percent};
use crate::titles::doc_section;
use crate::workspace::Workspace;

fn has_words(header: &str, alias: &str) -> bool {
    let h = format!(" {} ", normalize_title(header));
    let a = normalize_title(alias);
    !a.is_empty() && h.contains(&format!(" {a} "))
}

fn column(t: &Table, aliases: &[&str], taken: &[usize]) -> Option<usize> {
    t.header.iter().enumerate().position(|(i, c)| !taken.contains(&i) && aliases.iter().any(|a| has_words(&c.text, a)))
}

pub(crate) fn rule(spec: &SloSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let h = &h;
    let mut out = Vec::new();
    let mut complete = 0;
    let mut saw_table = false;
    for t in doc.tables_in(r) {
        let Some(b) = column(t, &["error budget", "budget"], &[]) else {
            continue;
        };
        let Some(tg) = column(t, &["target", "objective", "goal"], &[b]) else {
            continue;
        };
        let Some(w) = column(t, &["window", "period", "over"], &[b, tg]) else {
            continue;
        };
        saw_table = true;
        for (ri, row) in t.rows.iter().enumerate() {
            let line = doc.line(t.row_offsets.get(ri).copied().unwrap_or(t.offset));
            let cell = |i: usize| row.get(i).map(|c| c.text.as_str()).unwrap_or("");
            if row.iter().all(|c| c.text.is_empty()) {
                continue;
            }
            let name: String = cell(0).chars().take(48).collect();
            let Some(target) = parse_percent(cell(tg)).filter(|p| *p > 0.0 && *p < 100.0) else {
                out.push(Problem::at(
                    &doc.path,
                    line,
                    format!(
                        "SLO \"{name}\": target \"{}\" has no percentage below 100%; write it like 99.9%",
                        cell(tg)
                    ),
                ));
                continue;
            };
            let Some(window) = parse_duration(cell(w)) else {
                out.push(Problem::at(
                    &doc.path,
                    line,
                    format!("SLO \"{name}\": window \"{}\" is not a duration; write it like 30 days or 28d", cell(w)),
                ));
                continue;
            };
            let budget_text = cell(b);
            let allowed_frac = 1.0 - target / 100.0;
            let ok = if starts_with_percent(budget_text) {
                let p = parse_percent(budget_text).unwrap_or(-1.0);
                let expected = 100.0 - target;
                if (p - expected).abs() > spec.tolerance * expected {
                    out.push(Problem::at(
                        &doc.path,
                        line,
                        format!(
                            "SLO \"{name}\": error budget {}% does not match target {}%, which leaves {}%",
                            fmt_num(p),
                            fmt_num(target),
                            fmt_num(expected)
                        ),
                    ));
                    false
                } else {
                    true
                }
            } else if let Some(secs) = parse_duration(budget_text) {
                let expected = allowed_frac * window;
                if (secs - expected).abs() > spec.tolerance * expected {
                    out.push(Problem::at(&doc.path, line, format!(
                        "SLO \"{name}\": error budget {} does not match {}% over {}, which allows {}: fix the budget, the target or the window",
                        fmt_duration(secs), fmt_num(target), fmt_duration(window), fmt_duration(expected))));
                    false
                } else {
                    true
                }
            } else {
                out.push(Problem::at(&doc.path, line, format!(
                    "SLO \"{name}\": error budget \"{budget_text}\" is neither a duration (43.2 minutes) nor a percentage (0.1%)")));
                false
            };
            if ok {
                complete += 1;
            }
        }
    }
    if !saw_table {
        out.insert(
            0,
            Problem::at(
                &doc.path,
                doc.line(h.offset),
                format!(
            "section \"{}\" has no SLO table: add a table with columns for the target, the window and the error budget",
            h.text),
            ),
        );
    } else if complete < spec.min_slos {
        out.insert(0, Problem::at(&doc.path, doc.line(h.offset), format!(
            "section \"{}\" has {complete} complete SLOs (numeric target, window and a matching error budget); write at least {}",
            h.text, spec.min_slos)));
    }
    out
}
