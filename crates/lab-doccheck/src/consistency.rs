//! Numbers that must agree across a document: a capacity value quoted in prose or a table equals
//! the block's value (in whatever unit it is quoted), and a quantity restated in another unit
//! ("45 MB/s (360 Mbps)", "800 M/day, about 9,300/s") converts correctly, bits against bytes and
//! per day against per second.

use std::collections::HashMap;

use crate::markdown::Doc;
use crate::numbers::{find_block, Block};
use crate::problem::Problem;
use crate::spec::ConsistencySpec;
use crate::text::{fmt_num, quantities, Quantity};
use crate::workspace::Workspace;

/// What a unit measures, with its factor to the base unit of that dimension (bytes, bytes per
/// second, events per second, seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dim {
    Bytes,
    BytesPerSecond,
    PerSecond,
    Seconds,
}

const SECONDS_PER: &[(&str, f64)] = &[
    ("s", 1.0),
    ("sec", 1.0),
    ("second", 1.0),
    ("min", 60.0),
    ("minute", 60.0),
    ("h", 3600.0),
    ("hr", 3600.0),
    ("hour", 3600.0),
    ("d", 86_400.0),
    ("day", 86_400.0),
    ("month", 2_592_000.0),
    ("mo", 2_592_000.0),
    ("year", 31_536_000.0),
    ("yr", 31_536_000.0),
];

fn seconds_per(word: &str) -> Option<f64> {
    let w = word.trim().to_lowercase();
    let w = w.strip_suffix('s').filter(|x| !x.is_empty() && *x != "m").unwrap_or(&w);
    SECONDS_PER.iter().find(|(n, _)| *n == w).map(|(_, f)| *f)
}

/// Bytes in a data-size unit. Case matters where it means bits against bytes (Mb, MB).
fn bytes_in(unit: &str) -> Option<f64> {
    let prefixes = [("", 1.0), ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18)];
    match unit {
        "B" | "byte" | "bytes" => return Some(1.0),
        "bit" | "bits" => return Some(0.125),
        _ => {}
    }
    for (p, f) in prefixes.iter().filter(|(p, _)| !p.is_empty()) {
        let Some(rest) = unit.strip_prefix(p) else { continue };
        return match rest {
            "B" => Some(*f),
            "iB" => Some(1024f64.powi(exponent(*f))),
            "b" | "bit" | "bits" => Some(f / 8.0),
            _ => None,
        };
    }
    None
}

fn exponent(f: f64) -> i32 {
    (f.log10() / 3.0).round() as i32
}

/// The dimension and factor of a unit as written after a number.
fn unit_dim(unit: &str) -> Option<(Dim, f64)> {
    let u = unit.trim_end_matches(['.', ',', ')', ';', ':']);
    if u.is_empty() {
        return None;
    }
    let lower = u.to_lowercase();
    if ["qps", "rps", "tps", "ops"].contains(&lower.as_str()) {
        return Some((Dim::PerSecond, 1.0));
    }
    // Bit rates: Mbps, Gbit/s.
    if let Some(stem) = u.strip_suffix("ps") {
        if let Some(b) = bytes_in(stem).filter(|_| stem.ends_with('b') || stem.ends_with("bit")) {
            return Some((Dim::BytesPerSecond, b));
        }
    }
    if let Some((num, den)) = u.split_once('/') {
        let per = seconds_per(den)?;
        return match bytes_in(num) {
            Some(b) => Some((Dim::BytesPerSecond, b / per)),
            // "req/s", "writes/day", "/s": events per time.
            None => Some((Dim::PerSecond, 1.0 / per)),
        };
    }
    if let Some(b) = bytes_in(u) {
        return Some((Dim::Bytes, b));
    }
    match lower.as_str() {
        "ms" => Some((Dim::Seconds, 0.001)),
        _ => seconds_per(&lower).filter(|_| lower.len() > 1).map(|f| (Dim::Seconds, f)),
    }
}

/// The unit a capacity value's name implies by its suffix (`storage_per_year_tb`,
/// `egress_tbps`, `peak_qps`, `timeout_seconds`), if any.
fn name_dim(name: &str) -> Option<(Dim, f64)> {
    let last = name.rsplit('_').next().unwrap_or(name);
    match last {
        "qps" | "rps" => return Some((Dim::PerSecond, 1.0)),
        "second" if name.ends_with("per_second") => return Some((Dim::PerSecond, 1.0)),
        "bytes" => return Some((Dim::Bytes, 1.0)),
        "ms" => return Some((Dim::Seconds, 0.001)),
        "seconds" => return Some((Dim::Seconds, 1.0)),
        _ => {}
    }
    let upper = match last {
        "kb" | "mb" | "gb" | "tb" | "pb" => last.to_uppercase(),
        "kbps" | "mbps" | "gbps" | "tbps" => format!("{}bps", last[..1].to_uppercase()),
        _ => return None,
    };
    unit_dim(&upper)
}

/// Spelled-out small numbers, as prose writes replica counts and the like.
fn word_number(w: &str) -> Option<f64> {
    let n = match w.to_lowercase().trim_matches(|c: char| !c.is_alphabetic()) {
        "one" | "single" => 1.0,
        "two" | "twice" => 2.0,
        "three" => 3.0,
        "four" => 4.0,
        "five" => 5.0,
        "six" => 6.0,
        "seven" => 7.0,
        "eight" => 8.0,
        "nine" => 9.0,
        "ten" => 10.0,
        "eleven" => 11.0,
        "twelve" => 12.0,
        _ => return None,
    };
    Some(n)
}

/// A number written with two significant digits or fewer ("10k", "1.2 PB", "9,300") is rounded
/// on purpose and gets a wider allowance than an exact figure.
fn looks_rounded(text: &str, q: &Quantity) -> bool {
    let written: String =
        text[q.at..].chars().take_while(|c| c.is_ascii_digit() || matches!(c, ',' | '_' | '.')).collect();
    let digits: String = written.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0');
    significant.len() <= 2
}

const ROUNDED_ALLOWANCE: f64 = 0.15;

fn agrees(stated: f64, want: f64, tolerance: f64, rounded: bool) -> bool {
    let tol = if rounded { tolerance.max(ROUNDED_ALLOWANCE) } else { tolerance };
    (stated - want).abs() <= tol * want.abs().max(1e-12)
}

/// A unit of text a reader takes in at once, with the source offset used for its line.
struct Piece {
    text: String,
    offset: usize,
}

/// Prose paragraphs, list items and table rows (cells joined by " | "), split into sentences.
fn pieces(doc: &Doc) -> Vec<Piece> {
    let mut raw: Vec<(String, usize)> = Vec::new();
    raw.extend(doc.prose.iter().map(|p| (p.text.clone(), p.offset)));
    raw.extend(doc.items.iter().map(|i| (i.text.clone(), i.offset)));
    for t in &doc.tables {
        for (row, off) in t.rows.iter().zip(&t.row_offsets) {
            // A table row reads with its header: "| Replication | 3 |" under "| Setting | Value |".
            let cells: Vec<&str> = row.iter().map(|c| c.text.as_str()).collect();
            raw.push((cells.join(" | "), *off));
        }
    }
    let mut out = Vec::new();
    for (text, offset) in raw {
        let mut start = 0;
        let b = text.as_bytes();
        for i in 0..b.len() {
            // A period ends a sentence only when a space or the end follows (not 99.9 or e.g).
            let end =
                matches!(b[i], b';' | b'!' | b'?' | b'\n') || (b[i] == b'.' && (i + 1 == b.len() || b[i + 1] == b' '));
            if end {
                out.push(Piece { text: text[start..i].to_string(), offset });
                start = i + 1;
            }
        }
        if start < text.len() {
            out.push(Piece { text: text[start..].to_string(), offset });
        }
    }
    out
}

/// How far a quoted number may sit from the words that name it.
const NEAR: usize = 40;

pub(crate) fn rule(spec: &ConsistencySpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let mut out = Vec::new();
    let pieces = pieces(&doc);
    if !spec.mentions.is_empty() {
        match find_block(&doc, spec.section.as_ref(), &spec.block) {
            Ok((block, _, _)) => out.extend(mentions(&doc, &pieces, &block, spec)),
            Err(p) => out.push(p),
        }
    }
    if spec.restatements {
        out.extend(restatements(&doc, &pieces, spec.tolerance));
    }
    out.sort_by_key(|p| p.line);
    out
}

/// Each place the document names a capacity value next to a number: some number there must be
/// the block's value, converted to the unit it is written in.
fn mentions(doc: &Doc, pieces: &[Piece], block: &Block, spec: &ConsistencySpec) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut reported: HashMap<&str, usize> = HashMap::new();
    for (name, phrases) in &spec.mentions {
        let Some((want, _)) = block.values.get(name) else { continue };
        let want_dim = name_dim(name);
        for piece in pieces {
            let lower = piece.text.to_lowercase();
            for phrase in phrases {
                let p = phrase.to_lowercase();
                for (at, _) in lower.match_indices(&p) {
                    let end = at + p.len();
                    // "min.insync.replicas" is a setting's name, not a mention of replicas.
                    let joined = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-');
                    let whole = !lower[..at].chars().next_back().is_some_and(joined)
                        && !lower[end..].chars().next().is_some_and(char::is_alphanumeric);
                    if !whole {
                        continue;
                    }
                    let near = candidates(&piece.text, at, end);
                    if near.is_empty() {
                        continue;
                    }
                    let fits = near.iter().any(|(v, dim, rounded)| {
                        let v = match (want_dim, dim) {
                            (Some((wd, wf)), Some((d, f))) if wd == *d => v * f / wf,
                            (_, Some((Dim::Seconds, _))) if want_dim.is_none() => return false,
                            _ => *v,
                        };
                        agrees(v, *want, spec.tolerance, *rounded)
                            || (*want <= 1.0 && agrees(v / 100.0, *want, spec.tolerance, *rounded))
                    });
                    let count = reported.entry(name).or_default();
                    if !fits && *count < 2 {
                        *count += 1;
                        let said: Vec<String> = near.iter().map(|(v, _, _)| fmt_num(*v)).collect();
                        out.push(Problem::at(
                            &doc.path,
                            doc.line(piece.offset),
                            format!(
                                "\"{}\" gives {} for {phrase} but the capacity block has `{name} = {}`: make the prose and the block agree",
                                clip(piece.text.trim()),
                                said.join(" or "),
                                fmt_num(*want)
                            ),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// A number near a phrase: its value, the dimension of its unit, and whether it looks rounded.
type Candidate = (f64, Option<(Dim, f64)>, bool);

/// Numbers within reach of a phrase at `at..end`.
fn candidates(text: &str, at: usize, end: usize) -> Vec<Candidate> {
    let mut out = Vec::new();
    for q in quantities(text) {
        let q_end = q.at + text[q.at..].find(' ').unwrap_or(text.len() - q.at);
        let distance = if q.at >= end { q.at - end } else { at.saturating_sub(q_end) };
        if distance <= NEAR && !(q.at >= at && q.at < end) {
            // A year or a section number is not a quantity.
            if (1900.0..2100.0).contains(&q.value) && q.value.fract() == 0.0 && q.unit.is_empty() {
                continue;
            }
            let rounded = looks_rounded(text, &q);
            // "200M" at the end of a cell: the letter is a magnitude, not a unit.
            let magnitude = match q.unit.as_str() {
                "k" | "K" => Some(1e3),
                "M" | "m" => Some(1e6),
                "B" | "bn" => Some(1e9),
                "T" => Some(1e12),
                _ => None,
            };
            if let Some(f) = magnitude {
                out.push((q.value * f, None, rounded));
            }
            out.push((q.value, unit_dim(&q.unit), rounded));
        }
    }
    for (i, w) in text.split(' ').scan(0usize, |pos, w| {
        let start = *pos;
        *pos += w.len() + 1;
        Some((start, w))
    }) {
        if let Some(v) = word_number(w) {
            let distance = if i >= end { i - end } else { at.saturating_sub(i + w.len()) };
            if distance <= NEAR {
                out.push((v, None, true));
            }
        }
    }
    out
}

/// "A (B)", "A = B", "A, or B", "A, about B": the second restates the first in another unit of
/// the same dimension and must convert to it.
fn restatements(doc: &Doc, pieces: &[Piece], tolerance: f64) -> Vec<Problem> {
    let mut out = Vec::new();
    for piece in pieces {
        let qs = quantities(&piece.text);
        for pair in qs.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let a_end = a.at + piece.text[a.at..].find([' ', '(']).unwrap_or(piece.text.len() - a.at);
            let a_end = a_end.max(a.at + 1);
            let unit_end = piece.text[a.at..].find(&a.unit).map(|i| a.at + i + a.unit.len()).unwrap_or(a_end);
            let Some(gap) = piece.text.get(unit_end.max(a_end).min(b.at)..b.at) else { continue };
            let gap = gap.trim().to_lowercase();
            let joins = [
                "(",
                "=",
                "≈",
                "~",
                "(~",
                "(≈",
                "(about",
                "(roughly",
                "i.e.",
                ", i.e.",
                ", about",
                ", roughly",
                "or about",
                "(or",
                "or",
            ];
            if !joins.contains(&gap.as_str()) {
                continue;
            }
            let (Some((da, fa)), Some((db, fb))) = (unit_dim(&a.unit), unit_dim(&b.unit)) else { continue };
            if da != db || (fa == fb && a.unit == b.unit) {
                continue;
            }
            let (va, vb) = (a.value * fa, b.value * fb);
            let rounded = looks_rounded(&piece.text, a) || looks_rounded(&piece.text, b);
            if !agrees(vb, va, tolerance, rounded) {
                out.push(Problem::at(
                    &doc.path,
                    doc.line(piece.offset),
                    format!(
                        "{} {} is not {} {} (it is {} {}): {}",
                        fmt_num(a.value),
                        a.unit,
                        fmt_num(b.value),
                        b.unit,
                        fmt_num(va / fb),
                        b.unit,
                        hint(da)
                    ),
                ));
            }
        }
    }
    out
}

fn hint(d: Dim) -> &'static str {
    match d {
        Dim::Bytes | Dim::BytesPerSecond => "a byte is 8 bits (MB/s x 8 = Mbps) and each prefix is 1,000",
        Dim::PerSecond => "a day has 86,400 seconds",
        Dim::Seconds => "check the conversion",
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= 90 {
        return s.to_string();
    }
    let cut: String = s.chars().take(87).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_know_bits_from_bytes_and_days_from_seconds() {
        assert_eq!(unit_dim("MB/s"), Some((Dim::BytesPerSecond, 1e6)));
        assert_eq!(unit_dim("Mbps"), Some((Dim::BytesPerSecond, 1e6 / 8.0)));
        assert_eq!(unit_dim("Gbit/s"), Some((Dim::BytesPerSecond, 1e9 / 8.0)));
        assert_eq!(unit_dim("TB/day"), Some((Dim::BytesPerSecond, 1e12 / 86_400.0)));
        assert_eq!(unit_dim("PB"), Some((Dim::Bytes, 1e15)));
        assert_eq!(unit_dim("writes/day"), Some((Dim::PerSecond, 1.0 / 86_400.0)));
        assert_eq!(unit_dim("QPS"), Some((Dim::PerSecond, 1.0)));
        assert_eq!(unit_dim("ms"), Some((Dim::Seconds, 0.001)));
        assert_eq!(unit_dim("users"), None);
        assert_eq!(name_dim("storage_per_year_tb"), Some((Dim::Bytes, 1e12)));
        assert_eq!(name_dim("average_egress_tbps"), Some((Dim::BytesPerSecond, 1e12 / 8.0)));
        assert_eq!(name_dim("peak_qps"), Some((Dim::PerSecond, 1.0)));
        assert_eq!(name_dim("replication_factor"), None);
    }
}
