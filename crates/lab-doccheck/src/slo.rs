//! The `slo` rule: service-level objectives whose error budgets agree with their targets and
//! windows, read from SLO tables or from one-line SLOs in prose, in the forms engineers write
//! them (availability and latency targets, fixed and calendar windows, budgets as a share or as
//! time). The parsed SLOs are exposed for cross-checks with other sections.

use crate::markdown::{Doc, Range, Table};
use crate::problem::Problem;
use crate::spec::SloSpec;
use crate::text::{
    fmt_duration, fmt_num, parse_duration, parse_number, parse_percent, quantities, starts_with_percent,
};
use crate::titles::{self, doc_section};
use crate::workspace::Workspace;

const DAY: f64 = 86_400.0;

/// The period an SLO is measured over, with every length it may have: one for "30 days", 28 to
/// 31 days for a calendar month (a budget computed with any of them is right).
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) text: String,
    pub(crate) lengths: Vec<f64>,
}

/// An error budget as written: a share of requests or time ("0.1%"), or time ("43.2 min").
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Budget {
    Share(f64),
    Time(f64),
}

/// One SLO as read from a table row or a line of prose.
#[derive(Debug, Clone)]
pub(crate) struct Slo {
    pub(crate) name: String,
    /// The objective in percent (99.9 for 99.9%, 99 for p99).
    pub(crate) target: f64,
    /// For a latency SLO, the threshold in seconds ("p99 under 300 ms" is 0.3).
    pub(crate) threshold: Option<f64>,
    pub(crate) window: Window,
    /// Every form the budget is written in; each must match.
    pub(crate) budget: Vec<Budget>,
}

/// A candidate SLO: parsed, or why it could not be.
#[derive(Debug, Clone)]
pub(crate) struct Read {
    pub(crate) line: u32,
    pub(crate) slo: Result<Slo, String>,
}

const NINES: &[(&str, f64)] = &[("two", 2.0), ("three", 3.0), ("four", 4.0), ("five", 5.0), ("six", 6.0)];

/// "three nines" is 99.9%, "three and a half nines" 99.95%.
fn nines(text: &str) -> Option<f64> {
    let t = text.to_lowercase();
    let words: Vec<&str> = t.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let at = words.iter().position(|w| *w == "nines")?;
    let before = &words[..at];
    let half = before.ends_with(&["and", "a", "half"]);
    let count_word = if half { before.len().checked_sub(4)? } else { at.checked_sub(1)? };
    let n = NINES.iter().find(|(w, _)| *w == words[count_word]).map(|(_, n)| *n)?;
    let missing = 10f64.powf(2.0 - n);
    Some(if half { 100.0 - missing / 2.0 } else { 100.0 - missing })
}

/// A percentile written as `p99`, `P99.9` or `99th percentile`, in percent.
fn percentile(text: &str) -> Option<f64> {
    for w in text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ':' | ';' | '`' | '*')) {
        let w = w.trim_end_matches(['.']);
        if let Some(n) = w.strip_prefix(['p', 'P']) {
            if n.starts_with(|c: char| c.is_ascii_digit()) {
                if let Ok(v) = n.parse::<f64>() {
                    if v > 0.0 && v < 100.0 {
                        return Some(v);
                    }
                }
            }
        }
    }
    let lower = text.to_lowercase();
    quantities(&lower)
        .into_iter()
        .find(|q| matches!(q.unit.as_str(), "th" | "st" | "nd" | "rd") && lower[q.at..].contains("percentile"))
        .map(|q| q.value)
        .filter(|v| *v > 0.0 && *v < 100.0)
}

/// Words right before a number that make it a latency threshold, not a window.
const COMPARATORS: &[&str] = &["<", "≤", "<=", "under", "below", "within", "than", "most", ">", "≥", ">=", "above"];

/// Is the quantity at byte `at` a threshold ("< 300 ms", "p99 2 s", "within 2 s")?
fn is_threshold(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end();
    let prev = before.rsplit(char::is_whitespace).next().unwrap_or("");
    COMPARATORS.iter().any(|c| before.ends_with(c)) || percentile(prev).is_some()
}

/// Seconds per unit, and the lengths a calendar unit can have.
fn unit_lengths(unit: &str) -> Option<Vec<f64>> {
    let u = unit.to_lowercase();
    let u = u.split('/').next().unwrap_or("");
    Some(match u {
        "s" | "sec" | "secs" | "second" | "seconds" => vec![1.0],
        "m" | "min" | "mins" | "minute" | "minutes" => vec![60.0],
        "h" | "hr" | "hrs" | "hour" | "hours" | "hourly" => vec![3600.0],
        "d" | "day" | "days" | "daily" => vec![DAY],
        "w" | "wk" | "wks" | "week" | "weeks" | "weekly" => vec![7.0 * DAY],
        // a month is 28 to 31 days; "a month is 30 days" is the common convention
        "mo" | "month" | "months" | "monthly" => (28..=31).map(|d| d as f64 * DAY).collect(),
        "quarter" | "quarters" | "quarterly" => (89..=92).map(|d| d as f64 * DAY).collect(),
        "y" | "yr" | "year" | "years" | "yearly" | "annual" | "annually" => vec![365.0 * DAY, 366.0 * DAY],
        _ => return None,
    })
}

/// The window in text: the longest duration that is not a latency threshold ("rolling 30
/// days", "28d", "30-day"), else a calendar word ("calendar month", "quarter", "weekly").
fn window_in(text: &str, skip_thresholds: bool) -> Option<Window> {
    let spaced = text.replace('-', " ");
    let mut best: Option<Vec<f64>> = None;
    for q in quantities(&spaced) {
        if q.magnitude.is_some() || q.value <= 0.0 || (skip_thresholds && is_threshold(&spaced, q.at)) {
            continue;
        }
        if let Some(l) = unit_lengths(&q.unit) {
            let l: Vec<f64> = l.iter().map(|x| x * q.value).collect();
            if best.as_ref().is_none_or(|b| l[0] > b[0]) {
                best = Some(l);
            }
        }
    }
    if best.is_none() {
        // words only, split so that "monthly-ish" is not "monthly"
        for w in text.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
            if let Some(l) = unit_lengths(w).filter(|_| w.chars().all(char::is_alphabetic) && w.len() > 2) {
                if best.as_ref().is_none_or(|b| l[0] > b[0]) {
                    best = Some(l);
                }
            }
        }
    }
    best.map(|lengths| Window { text: text.trim().to_string(), lengths })
}

/// The objective in percent and, for a latency SLO, its threshold. An explicit percentage wins
/// ("p99 < 300 ms for 99.9% of minutes" is 99.9%); then "N nines"; then a percentile.
fn target_in(text: &str) -> Option<(f64, Option<f64>)> {
    let explicit = parse_percent(text).filter(|p| *p > 0.0 && *p < 100.0);
    let pct = explicit.or_else(|| nines(text)).or_else(|| percentile(text))?;
    let threshold = quantities(text)
        .into_iter()
        .filter(|q| q.magnitude.is_none() && is_threshold(text, q.at))
        .find_map(|q| unit_lengths(&q.unit).or_else(|| (q.unit == "ms").then(|| vec![0.001])).map(|l| l[0] * q.value));
    Some((pct, threshold))
}

/// Every budget form in text: percentages, "1 in 1,000" shares, and one duration.
fn budgets_in(text: &str) -> Vec<Budget> {
    let qs = quantities(text);
    let mut out: Vec<Budget> = Vec::new();
    for (i, q) in qs.iter().enumerate() {
        if q.unit.starts_with('%') && q.magnitude.is_none() {
            out.push(Budget::Share(q.value));
        } else if q.unit == "in" {
            if let Some(of) = qs.get(i + 1).filter(|n| n.value > 0.0) {
                out.push(Budget::Share(100.0 * q.value / of.value));
            }
        }
    }
    if let Some(secs) = parse_duration(&without_counts(text)) {
        // list the forms in the order written, so a mismatch is reported on the one read first
        if starts_with_percent(text) {
            out.push(Budget::Time(secs));
        } else {
            out.insert(0, Budget::Time(secs));
        }
    }
    out
}

/// The text with counts like "840M" or "1.2B" blanked: in a budget they are request counts,
/// and the duration parser would read a glued "M" as minutes.
fn without_counts(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|tok| {
            let core = tok.trim_end().trim_end_matches([')', ',', '.', ';', ':']).trim_start_matches(['(', '~', '≈']);
            let count = core
                .strip_suffix(['M', 'B', 'K', 'T'])
                .or_else(|| core.strip_suffix("bn"))
                .is_some_and(|n| parse_number(n).is_some());
            if count {
                " ".repeat(tok.len())
            } else {
                tok.to_string()
            }
        })
        .collect()
}

/// Where the budget starts in a line: after "error budget" or "budget:"; None when the line
/// does not state one (or is about burn rates, which are not budgets).
fn budget_at(text: &str) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("burn") {
        return None;
    }
    let mut from = 0;
    while let Some(i) = lower[from..].find("budget") {
        let at = from + i;
        let end = at + "budget".len();
        let after = lower[end..].trim_start();
        let named = lower[..at].trim_end().ends_with("error")
            || after.starts_with([':', '=', '≈', '~', '('])
            || ["is ", "of ", "allows "].iter().any(|w| after.starts_with(w))
            || after.starts_with(|c: char| c.is_ascii_digit());
        if named {
            return Some((at, end));
        }
        from = end;
    }
    None
}

fn col(t: &Table, names: &[&str], taken: &[usize], from: usize) -> Option<usize> {
    (from..t.header.len()).find(|i| !taken.contains(i) && names.iter().any(|n| titles::mentions(&t.header[*i].text, n)))
}

const TARGET_EXAMPLE: &str = "write it like 99.9%, `99% of requests under 300 ms`, `p99 < 300 ms` or three nines";
const WINDOW_EXAMPLE: &str = "write it like 30 days, 28d, rolling 4 weeks or calendar month";

fn short(s: &str) -> String {
    s.chars().take(48).collect()
}

/// Assembles one SLO from its pieces of text, or says which piece is missing.
fn assemble(
    name: &str,
    target: &str,
    fallback_target: &str,
    window: Option<Window>,
    window_text: &str,
    budget: &str,
) -> Result<Slo, String> {
    let name = short(name);
    let Some((pct, threshold)) = target_in(target)
        .or_else(|| percentile(fallback_target).map(|p| (p, target_in(&format!("p{p} {target}")).and_then(|t| t.1))))
    else {
        return Err(format!(
            "SLO \"{name}\": target \"{}\" has no percentage below 100%; {TARGET_EXAMPLE}, so the budget can be derived from it",
            target.trim()
        ));
    };
    let Some(window) = window else {
        return Err(format!(
            "SLO \"{name}\": window \"{}\" is not a duration; {WINDOW_EXAMPLE}: a target means nothing without the period it is measured over",
            window_text.trim()
        ));
    };
    let forms = budgets_in(budget);
    if forms.is_empty() {
        let what = if budget.trim().is_empty() {
            "no error budget".to_string()
        } else {
            format!("error budget \"{}\"", budget.trim())
        };
        let lacks =
            if budget.trim().is_empty() { "" } else { " is neither a duration (43.2 minutes) nor a percentage (0.1%)" };
        return Err(format!(
            "SLO \"{name}\": {what}{lacks}; state it as a share (0.1% of requests) or as time (43.2 min over 30 days): the budget is what the team may spend on failures before reliability work comes first"
        ));
    }
    Ok(Slo { name, target: pct, threshold, window, budget: forms })
}

/// The SLOs of one table, when it has a target column; rows without a budget column may state
/// the budget (and the window) in any other cell.
fn from_table(doc: &Doc, t: &Table) -> Option<Vec<Read>> {
    let b = col(t, &["error budget", "budget", "allowance"], &[], 1);
    let taken: Vec<usize> = b.into_iter().collect();
    let tg = col(t, &["target", "objective", "goal", "slo"], &taken, 1)?;
    let mut taken2 = taken.clone();
    taken2.push(tg);
    let w = col(t, &["window", "period", "over", "measured over", "time window"], &taken2, 1);
    let mut out = Vec::new();
    for (ri, row) in t.rows.iter().enumerate() {
        if row.iter().all(|c| c.text.trim().is_empty()) {
            continue;
        }
        let line = doc.line(t.row_offsets.get(ri).copied().unwrap_or(t.offset));
        let cell = |i: usize| row.get(i).map(|c| c.text.as_str()).unwrap_or("");
        let others: Vec<usize> =
            (1..row.len().max(t.header.len())).filter(|i| Some(*i) != b && *i != tg && Some(*i) != w).collect();
        let (window, window_text) = match w {
            Some(w) => (window_in(cell(w), false), cell(w).to_string()),
            None => {
                let found = std::iter::once(tg).chain(others.iter().copied()).find_map(|i| window_in(cell(i), true));
                (found, String::new())
            }
        };
        let budget = match b {
            Some(b) => cell(b).to_string(),
            None => {
                let in_target = budget_at(cell(tg)).map(|(_, e)| cell(tg)[e..].to_string());
                in_target
                    .or_else(|| {
                        others.iter().map(|&i| cell(i)).find(|c| !budgets_in(c).is_empty()).map(|c| {
                            match budget_at(c) {
                                Some((_, e)) => c[e..].to_string(),
                                None => c.to_string(),
                            }
                        })
                    })
                    .unwrap_or_default()
            }
        };
        let target_text = match budget_at(cell(tg)) {
            Some((at, _)) => &cell(tg)[..at],
            None => cell(tg),
        };
        out.push(Read { line, slo: assemble(cell(0), target_text, cell(0), window, &window_text, &budget) });
    }
    Some(out)
}

/// A one-line SLO in prose or a list: "Availability: 99.9% over 30 days, error budget 43.2 min".
/// A line is one only when it states a target before its error budget.
fn from_line(text: &str) -> Option<Result<Slo, String>> {
    let (at, end) = budget_at(text)?;
    let before = &text[..at];
    target_in(before)?;
    let name = match before.split_once(':') {
        Some((n, _)) if n.split_whitespace().count() <= 8 => n.trim(),
        _ => before.trim(),
    };
    let window = window_in(before, true).or_else(|| window_in(&text[end..], true));
    Some(assemble(name, before, before, window, before, &text[end..]))
}

/// Every SLO candidate in a range, and whether it holds an SLO table.
pub(crate) fn slos(doc: &Doc, r: Range) -> (Vec<Read>, bool) {
    let mut out = Vec::new();
    let mut table = false;
    for t in doc.tables_in(r) {
        if let Some(rows) = from_table(doc, t) {
            table = true;
            out.extend(rows);
        }
    }
    for p in doc.prose_in(r) {
        // a paragraph may hold several one-line SLOs; sentences end at ". ", not at "99.9"
        for sentence in p.text.split_inclusive(". ") {
            if let Some(slo) = from_line(sentence) {
                out.push(Read { line: doc.line(p.offset), slo });
            }
        }
    }
    out.sort_by_key(|r| r.line);
    (out, table)
}

fn share_text(slo: &Slo, pct: f64) -> String {
    match slo.threshold {
        Some(th) => format!("{}% of requests over {}", fmt_num(pct), fmt_duration(th).replace(" seconds", " s")),
        None => format!("{}%", fmt_num(pct)),
    }
}

fn window_text(w: &Window) -> String {
    match w.lengths.as_slice() {
        [one] => fmt_duration(*one),
        [first, .., last] => format!("{} ({} to {})", w.text, fmt_duration(*first), fmt_duration(*last)),
        [] => w.text.clone(),
    }
}

/// Why a budget does not follow from its target and window, if it does not.
fn budget_problem(slo: &Slo, tolerance: f64) -> Option<String> {
    let allowed = 100.0 - slo.target;
    let close = |got: f64, want: f64| (got - want).abs() <= tolerance * want;
    let latency = if slo.threshold.is_some() {
        " (for a latency SLO the budget is the share of requests allowed over the threshold, or that share of the window when counted as bad minutes)"
    } else {
        ""
    };
    for b in &slo.budget {
        match *b {
            Budget::Share(p) if !close(p, allowed) => {
                return Some(format!(
                    "SLO \"{}\": error budget {}% does not match target {}%, which leaves {}{latency}",
                    slo.name,
                    fmt_num(p),
                    fmt_num(slo.target),
                    share_text(slo, allowed)
                ));
            }
            Budget::Time(secs) if !slo.window.lengths.iter().any(|w| close(secs, allowed / 100.0 * w)) => {
                let expected: Vec<f64> = slo.window.lengths.iter().map(|w| allowed / 100.0 * w).collect();
                let allows = match expected.as_slice() {
                    [one] => fmt_duration(*one),
                    [first, .., last] => format!("{} to {}", fmt_duration(*first), fmt_duration(*last)),
                    [] => String::new(),
                };
                return Some(format!(
                    "SLO \"{}\": error budget {} does not match {}% over {}, which allows {allows}: fix the budget, the target or the window (budget = (100% - target) x window){latency}",
                    slo.name,
                    fmt_duration(secs),
                    fmt_num(slo.target),
                    window_text(&slo.window)
                ));
            }
            _ => {}
        }
    }
    None
}

pub(crate) fn rule(spec: &SloSpec, ws: &mut Workspace) -> Vec<Problem> {
    let (doc, r, h) = match doc_section(ws, &spec.file, &spec.section) {
        Ok(x) => x,
        Err(f) => return vec![f],
    };
    let (reads, table) = slos(&doc, r);
    let mut out = Vec::new();
    let mut complete = 0;
    for read in &reads {
        let problem = match &read.slo {
            Ok(slo) => budget_problem(slo, spec.tolerance),
            Err(m) => Some(m.clone()),
        };
        match problem {
            None => complete += 1,
            Some(m) => out.push(Problem::at(&doc.path, read.line, m)),
        }
    }
    let hline = doc.line(h.offset);
    if !table && reads.is_empty() {
        out.insert(
            0,
            Problem::at(
                &doc.path,
                hline,
                format!(
                    "section \"{}\" has no SLO table: add a table with columns for the target, the window and the error budget, e.g. `| Availability | 99.9% | 30 days | 43.2 min |`, or a line `- Availability: 99.9% over 30 days, error budget 43.2 min`; a target without its window and budget cannot be acted on",
                    h.text
                ),
            ),
        );
    } else if complete < spec.min_slos {
        out.insert(
            0,
            Problem::at(
                &doc.path,
                hline,
                format!(
                    "section \"{}\" has {complete} complete SLOs (numeric target, window and a matching error budget); write at least {}, e.g. `| API availability | 99.9% | 30 days | 43.2 min |`",
                    h.text, spec.min_slos
                ),
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_in_the_forms_people_write() {
        assert_eq!(target_in("99.9%"), Some((99.9, None)));
        assert_eq!(target_in("three nines"), Some((99.9, None)));
        assert_eq!(target_in("three and a half nines").map(|t| (t.0 * 100.0).round()), Some(9995.0));
        assert_eq!(target_in("p99 under 2 s"), Some((99.0, Some(2.0))));
        assert_eq!(target_in("p95 ≤ 200 ms"), Some((95.0, Some(0.2))));
        assert_eq!(target_in("99% of requests < 300 ms"), Some((99.0, Some(0.3))));
        assert_eq!(target_in("99th percentile below 1 s"), Some((99.0, Some(1.0))));
        assert_eq!(target_in("p99 < 300 ms for 99.9% of minutes").map(|t| t.0), Some(99.9));
        assert_eq!(target_in("high"), None);
        assert_eq!(target_in("100%"), None);
    }

    #[test]
    fn windows_fixed_and_calendar() {
        let days = |t: &str| window_in(t, true).map(|w| w.lengths.iter().map(|l| l / DAY).collect::<Vec<_>>());
        assert_eq!(days("30 days"), Some(vec![30.0]));
        assert_eq!(days("28 d"), Some(vec![28.0]));
        assert_eq!(days("rolling 30 days"), Some(vec![30.0]));
        assert_eq!(days("30-day"), Some(vec![30.0]));
        assert_eq!(days("week"), Some(vec![7.0]));
        assert_eq!(days("calendar month"), Some(vec![28.0, 29.0, 30.0, 31.0]));
        assert_eq!(days("quarter").map(|v| v.len()), Some(4));
        assert_eq!(days("p99 under 2 s over 28 days"), Some(vec![28.0]));
        assert_eq!(days("monthly-ish"), None);
        assert_eq!(days("soon"), None);
    }

    #[test]
    fn budgets_as_share_time_or_both() {
        assert_eq!(budgets_in("0.1% of requests"), vec![Budget::Share(0.1)]);
        assert_eq!(budgets_in("43.2 min"), vec![Budget::Time(43.2 * 60.0)]);
        assert_eq!(budgets_in("0.1% (43.2 min)"), vec![Budget::Share(0.1), Budget::Time(43.2 * 60.0)]);
        assert_eq!(budgets_in("43.2 min (0.1%)"), vec![Budget::Time(43.2 * 60.0), Budget::Share(0.1)]);
        assert_eq!(budgets_in("1 in 1,000 requests"), vec![Budget::Share(0.1)]);
        assert!(budgets_in("a bit").is_empty());
        // "840M" is a count of requests, not 840 minutes
        assert_eq!(budgets_in("0.1% of requests (about 840,000 of 840M)"), vec![Budget::Share(0.1)]);
        assert_eq!(budgets_in("43 min 12 s of 1.2B requests"), vec![Budget::Time(43.0 * 60.0 + 12.0)]);
    }

    #[test]
    fn budget_phrases_in_lines() {
        assert!(budget_at("99.9% over 30 days, error budget 43.2 min").is_some());
        assert!(budget_at("99.9% over 30 days (budget: 43.2 min)").is_some());
        assert!(budget_at("alert when the monthly budget burns fast at 2%").is_none());
        assert!(budget_at("our budget process").is_none());
    }
}
