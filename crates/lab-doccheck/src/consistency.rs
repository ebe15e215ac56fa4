//! Numbers that must agree across a document: a capacity value quoted in prose or a table equals
//! the block's value (in whatever unit it is quoted), and a quantity restated in another unit
//! ("45 MB/s (360 Mbps)", "800 M/day, about 9,300/s") converts correctly, bits against bytes and
//! per day against per second.

use std::collections::HashMap;

use crate::markdown::{Doc, Range};
use crate::numbers::{find_block, Block};
use crate::problem::Problem;
use crate::spec::ConsistencySpec;
use crate::text::{ceil_boundary, floor_boundary, fmt_num, quantities, Quantity};
use crate::titles::section;
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
        "s" => Some((Dim::Seconds, 1.0)),
        "h" => Some((Dim::Seconds, 3600.0)),
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
    // "95%" or "3 replicas" are exact however few their digits; a round figure is large
    // ("9,300"), scaled ("21M", "1.2 PB" against TB) or ends in zeros ("40,000").
    let large = q.magnitude.is_some() || q.value >= 1000.0 || digits.trim_start_matches('0').ends_with("00");
    significant.len() <= 2 && large && !q.unit.starts_with('%')
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

/// Words that, before a mention in its sentence, make it about a part of the system.
const SCOPES: &[&str] = &[
    "city",
    "cities",
    "shard",
    "shards",
    "region",
    "regions",
    "zone",
    "cluster",
    "host",
    "server",
    "node",
    "partition",
    "tenant",
    "country",
    "market",
    "largest",
    "busiest",
    "smallest",
];

/// How far a quoted number may sit from the words that name it.
const NEAR: usize = 40;

/// The pieces inside a range (all of them without one), borrowed.
fn within(pieces: &[Piece], range: Option<Range>) -> Vec<&Piece> {
    pieces.iter().filter(|p| range.is_none_or(|r| r.contains(p.offset))).collect()
}

pub(crate) fn rule(spec: &ConsistencySpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let mut out = Vec::new();
    let pieces = pieces(&doc);
    if !spec.mentions.is_empty() {
        match find_block(&doc, spec.section.as_ref(), &spec.block) {
            Ok((block, problems, line)) => {
                // Quoted figures are compared where the estimate is made: the block's section.
                let range = spec.section.as_ref().and_then(|n| section(&doc, n).ok()).map(|(r, _)| r);
                let pieces = within(&pieces, range);
                // Agreement with a block that is not filled in proves nothing.
                let missing: Vec<&String> = spec.mentions.keys().filter(|n| !block.values.contains_key(*n)).collect();
                if !problems.is_empty() || !missing.is_empty() {
                    let names: Vec<String> = missing.iter().map(|n| format!("`{n}`")).collect();
                    let what = if names.is_empty() {
                        "values that are not numbers".to_string()
                    } else {
                        format!("no value for {}", names.join(", "))
                    };
                    out.push(Problem::at(
                        &doc.path,
                        line,
                        format!("the capacity block has {what}: fill it in, then the text is checked against it"),
                    ));
                } else {
                    out.extend(mentions(&doc, &pieces, &block, spec));
                }
            }
            Err(p) => out.push(p),
        }
    }
    if spec.restatements {
        out.extend(restatements(&doc, &within(&pieces, None), spec.tolerance));
    }
    if let (Some(req), Some(obj)) = (&spec.requirements, &spec.objectives) {
        match (section(&doc, req), section(&doc, obj)) {
            (Ok((rr, rh)), Ok((or, _))) => {
                out.extend(targets_agree(
                    &doc,
                    &within(&pieces, Some(rr)),
                    &within(&pieces, Some(or)),
                    doc.line(rh.offset),
                ));
            }
            (Err(p), _) | (_, Err(p)) => out.push(p),
        }
    }
    out.sort_by_key(|p| p.line);
    out
}

/// Each place the document names a capacity value next to a number: some number there must be
/// the block's value, converted to the unit it is written in.
fn mentions(doc: &Doc, pieces: &[&Piece], block: &Block, spec: &ConsistencySpec) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut reported: HashMap<&str, usize> = HashMap::new();
    for (name, phrases) in &spec.mentions {
        let Some((want, _)) = block.values.get(name) else { continue };
        let want_dim = name_dim(name);
        for piece in pieces {
            // ASCII lower-casing keeps byte offsets those of the text.
            let lower = piece.text.to_ascii_lowercase();
            for phrase in phrases {
                let p = phrase.to_ascii_lowercase();
                for (at, _) in lower.match_indices(&p) {
                    let end = at + p.len();
                    // "min.insync.replicas" is a setting's name, not a mention of replicas.
                    let joined = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-');
                    let whole = !lower[..at].chars().next_back().is_some_and(joined)
                        && !lower[end..].chars().next().is_some_and(char::is_alphanumeric);
                    // "City 1 has 11k DAU", "the busiest shard takes 9,000 writes": a part of
                    // the system, not the whole the block sizes.
                    let scoped = lower[..at].split(|c: char| !c.is_ascii_alphanumeric()).any(|w| SCOPES.contains(&w));
                    if !whole || scoped {
                        continue;
                    }
                    // Only numbers that could be this value: the same dimension when the name
                    // says its unit, no unit of measure when it does not.
                    // Only the text around the phrase is read, so long paragraphs stay linear.
                    let (from, to) = (
                        floor_boundary(&piece.text, at.saturating_sub(NEAR + 30)),
                        ceil_boundary(&piece.text, end + NEAR + 30),
                    );
                    let near: Vec<(f64, bool)> = candidates(&piece.text[from..to], at - from, end - from)
                        .into_iter()
                        .filter_map(|(v, dim, rounded)| match (want_dim, dim) {
                            (Some((wd, wf)), Some((d, f))) if wd == d => Some((v * f / wf, rounded)),
                            (Some(_), Some(_)) | (None, Some(_)) => None,
                            _ => Some((v, rounded)),
                        })
                        .collect();
                    if near.is_empty() {
                        continue;
                    }
                    let fits = near.iter().any(|(v, rounded)| {
                        // A ratio quoted as a percentage agrees on its complement too: a 95%
                        // hit ratio is five times the misses of 99%.
                        let as_ratio = *want < 1.0
                            && agrees(v / 100.0, *want, spec.tolerance, *rounded)
                            && agrees(1.0 - v / 100.0, 1.0 - *want, spec.tolerance, *rounded);
                        agrees(*v, *want, spec.tolerance, *rounded) || as_ratio
                    });
                    let count = reported.entry(name).or_default();
                    if !fits && *count < 2 {
                        *count += 1;
                        let said: Vec<String> = near.iter().map(|(v, _)| fmt_num(*v)).collect();
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

const AVAILABILITY_WORDS: &[&str] =
    &["availab", "uptime", "5xx", "success rate", "succeed", "successful", "server error", "error-free"];

/// The clause of `lower` holding byte `at`: between ", and", ", but", ", while", ";" or a full
/// stop on either side.
fn clause_at(lower: &str, at: usize) -> &str {
    const CUTS: &[&str] = &[", and ", ", but ", ", while ", "; ", ". "];
    let from = floor_boundary(lower, at.saturating_sub(200));
    let to = ceil_boundary(lower, at + 200);
    let start = CUTS.iter().filter_map(|c| lower[from..at].rfind(c).map(|i| from + i + c.len())).max().unwrap_or(from);
    let end = CUTS.iter().filter_map(|c| lower[at..to].find(c).map(|i| at + i)).min().unwrap_or(to);
    &lower[start..end]
}

/// Is the number at `at` a budget: "budget", "allowance" or "downtime" just before it?
fn budget_before(lower: &str, at: usize) -> bool {
    let before = &lower[floor_boundary(lower, at.saturating_sub(24))..at];
    ["budget", "allowance", "allows", "downtime"].iter().any(|w| before.contains(w))
}

/// A short stretch of text from `at`: what a phrase about the number there can reach.
fn window_of(s: &str, at: usize) -> &str {
    &s[at..ceil_boundary(s, at + 40)]
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
            // "alert when the hit ratio falls below 98.5%": a threshold, not the planned value.
            let before = text[floor_boundary(text, q.at.saturating_sub(12))..q.at].trim_end().to_lowercase();
            if ["below", "above", "under", "over", "<", ">", "<=", ">=", "≤", "≥", "exceeds", "than"]
                .iter()
                .any(|w| before.ends_with(w))
            {
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
fn restatements(doc: &Doc, pieces: &[&Piece], tolerance: f64) -> Vec<Problem> {
    let mut out = Vec::new();
    for piece in pieces {
        let qs = quantities(&piece.text);
        for pair in qs.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let near_a = &piece.text[a.at..ceil_boundary(&piece.text, a.at + 64)];
            let a_end = a.at + near_a.find([' ', '(']).unwrap_or(near_a.len());
            let a_end = a_end.max(a.at + 1);
            let unit_end = near_a.find(&a.unit).map(|i| a.at + i + a.unit.len()).unwrap_or(a_end);
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
            // "166.7 Tbps at the peak, or 20.8 TB/s": a short qualifier may come before the join.
            // Not when the qualifier is a period ("27 EB a month (900 PB a day)"): that is a rate.
            let periodic = ["day", "month", "year", "hour", "week", "second"].iter().any(|w| gap.contains(w));
            let qualified = !periodic && gap.chars().count() <= 24 && [" or", ", or"].iter().any(|j| gap.ends_with(j));
            if !joins.contains(&gap.as_str()) && !qualified {
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

/// Targets a section states: availability percentages and (percentile, seconds) latency pairs.
#[derive(Debug, Default)]
struct Targets {
    availability: Vec<(f64, usize)>,
    latency: Vec<(f64, f64, usize)>,
}

fn targets(pieces: &[&Piece]) -> Targets {
    let mut t = Targets::default();
    for piece in pieces {
        let lower = piece.text.to_ascii_lowercase();
        let qs = quantities(&piece.text);
        let mut percentiles: Vec<(usize, f64)> = Vec::new();
        // "p99", "p99.9" tokens.
        for (at, _) in lower.match_indices('p') {
            let before = lower[..at].chars().next_back();
            if before.is_some_and(char::is_alphanumeric) {
                continue;
            }
            let digits: String = lower[at + 1..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            if let Some(v) = digits.trim_end_matches('.').parse::<f64>().ok().filter(|v| *v > 0.0 && *v < 100.0) {
                percentiles.push((at, v));
            }
        }
        let times: Vec<(usize, f64)> = qs
            .iter()
            .filter_map(|q| match unit_dim(&q.unit) {
                // A latency threshold: not an SLO window (days), nor a budget of bad minutes
                // ("error budget 4.32 min", "allows 21.6 minutes of downtime").
                Some((Dim::Seconds, f)) if q.value * f <= 60.0 && !budget_before(&lower, q.at) => {
                    Some((q.at, q.value * f))
                }
                _ => None,
            })
            .collect();
        // "99.9% of requests (within 2 s)" is a percentile when the sentence sets a latency
        // threshold; without one, "99.99% of calls succeed" is an availability target.
        let mut shares: Vec<(usize, f64)> = Vec::new();
        for q in qs.iter().filter(|q| q.unit.starts_with('%')) {
            let rest = window_of(&lower, q.at).split_once(' ').map(|(_, r)| r).unwrap_or("");
            if rest.starts_with("of ") && !rest.starts_with("of the time") {
                if times.is_empty() {
                    shares.push((q.at, q.value));
                } else {
                    percentiles.push((q.at, q.value));
                }
            }
        }
        // A budget ("0.1% of requests") is not a percentile.
        percentiles.retain(|(_, p)| *p >= 50.0);
        if !percentiles.is_empty() && !times.is_empty() {
            percentiles.sort_by_key(|(at, _)| *at);
            for (i, (at, p)) in percentiles.iter().enumerate() {
                // The threshold after the percentile ("p99 under 2 s"), else the one before it
                // ("within 2 s | 99.9% of requests").
                let next_p = percentiles.get(i + 1).map(|(a, _)| *a).unwrap_or(usize::MAX);
                let secs = times
                    .iter()
                    .find(|(ta, _)| ta > at && *ta < next_p)
                    .or_else(|| times.iter().rev().find(|(ta, _)| ta < at));
                if let Some((_, s)) = secs {
                    t.latency.push((*p, *s, piece.offset));
                }
            }
        }
        for q in qs.iter().filter(|q| q.unit.starts_with('%') && q.value >= 90.0 && q.value < 100.0) {
            // The clause around the number says what it measures: "99.99% of calls succeed (no
            // 5xx), and 99.999% of trips are kept" sets one availability target, not two.
            let clause = clause_at(&lower, q.at);
            if AVAILABILITY_WORDS.iter().any(|w| clause.contains(w)) {
                let after = window_of(&lower, q.at).split(' ').nth(1).unwrap_or("");
                let is_share = shares.iter().any(|(at, _)| *at == q.at);
                if after != "of" || is_share || window_of(&lower, q.at).contains("of the time") {
                    t.availability.push((q.value, piece.offset));
                }
            }
        }
    }
    t
}

/// The SLOs must meet what the requirements ask: the strictest availability requirement has an
/// SLO at least as strict, some tail-latency requirement is measured by an SLO, and no SLO
/// promises the same threshold to fewer requests than the requirement.
fn targets_agree(doc: &Doc, req: &[&Piece], obj: &[&Piece], req_line: u32) -> Vec<Problem> {
    let (r, o) = (targets(req), targets(obj));
    let mut out = Vec::new();
    if let Some((want, off)) = r.availability.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0)) {
        let best = o.availability.iter().map(|(v, _)| *v).fold(f64::NAN, f64::max);
        if best.is_nan() || best + 1e-9 < want {
            let said = if best.is_nan() {
                "no SLO targets availability".to_string()
            } else {
                // Percentages as written: 99.999 is not "100".
                format!("the strictest availability SLO is {best}%")
            };
            out.push(Problem::at(&doc.path, doc.line(off), format!("the requirements ask for {want}% availability but {said}: an SLO must hold the system to what it promises")));
        }
    }
    let tail: Vec<&(f64, f64, usize)> = r.latency.iter().filter(|(p, _, _)| *p >= 90.0).collect();
    if !tail.is_empty()
        && !tail.iter().any(|(p, s, _)| o.latency.iter().any(|(op, os, _)| op + 1e-9 >= *p && *os <= s + 1e-9))
    {
        let (p, s, off) = tail[0];
        out.push(Problem::at(&doc.path, doc.line(*off), format!("the requirements set tail latency (p{} under {} s) but no SLO measures it at that percentile and threshold or stricter: add a latency SLO (e.g. \"99% of requests within {} s\")", fmt_num(*p), fmt_num(*s), fmt_num(*s))));
    }
    for (p, s, _) in &tail {
        for (op, os, off) in &o.latency {
            if (os - s).abs() < 1e-9 && op + 1e-9 < *p {
                out.push(Problem::at(&doc.path, doc.line(*off), format!("this SLO promises {} s to {}% of requests, but the requirements ask it of {}% (p{}): make them agree", fmt_num(*os), fmt_num(*op), fmt_num(*p), fmt_num(*p))));
            }
        }
    }
    if out.is_empty() && r.availability.is_empty() && r.latency.is_empty() {
        return vec![Problem::at(&doc.path, req_line, "the requirements state no availability or latency target to hold the SLOs to: state them with numbers (e.g. \"99.95% available per 30 days\", \"p99 under 300 ms\")".to_string())];
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
