//! Plain-text helpers shared by the rule families: title normalisation, word counts, number and
//! unit tokens, durations and percentages. No Markdown knowledge here.

/// Lower-case, punctuation to spaces, collapsed whitespace, leading section numbers dropped
/// ("3.2 Capacity Estimates:" -> "capacity estimates"), so aliases match however a learner
/// numbers or punctuates headings.
pub(crate) fn normalize_title(s: &str) -> String {
    let cleaned: String = s.to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let skip = words.iter().take_while(|w| w.chars().all(|c| c.is_ascii_digit())).count();
    words[skip..].join(" ")
}

/// Words of prose: whitespace-separated tokens holding at least one letter or digit.
pub(crate) fn word_count(s: &str) -> usize {
    s.split_whitespace().filter(|w| w.chars().any(|c| c.is_alphanumeric())).count()
}

/// A number as written in a document: digits with optional `,` or `_` grouping, one decimal
/// point and an exponent. Returns None for anything else.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let cleaned: String = s.chars().filter(|c| *c != ',' && *c != '_').collect();
    if cleaned.is_empty() || !cleaned.chars().next()?.is_ascii_digit() && !cleaned.starts_with('-') {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A quantity found in text: the number and the unit word written right after it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantity {
    pub(crate) value: f64,
    /// The unit as written, e.g. "ms", "GB/day", "%", "" when none.
    pub(crate) unit: String,
    /// A magnitude suffix glued to the number (k, M, B), already applied to `value`.
    pub(crate) magnitude: Option<char>,
    /// Byte offset in the scanned string.
    pub(crate) at: usize,
}

fn magnitude_of(s: &str) -> Option<(char, f64)> {
    match s {
        "k" | "K" => Some(('k', 1e3)),
        "M" => Some(('M', 1e6)),
        "B" | "bn" => Some(('B', 1e9)),
        "T" => Some(('T', 1e12)),
        _ => None,
    }
}

/// Scans text for numbers and the unit that follows each (glued, "200ms", or after one space,
/// "200 ms"). A glued magnitude ("20M DAU") multiplies the value and the next word is the unit;
/// a glued letter that is also a unit ("5m") is kept as the unit and the caller decides.
pub(crate) fn quantities(s: &str) -> Vec<Quantity> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let prev_ok = i == 0 || {
            let p = chars[i - 1].1;
            !p.is_alphanumeric() && p != '_' && p != '.'
        };
        if !(c.is_ascii_digit() && prev_ok) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len()
            && (chars[j].1.is_ascii_digit()
                || ((chars[j].1 == ',' || chars[j].1 == '_' || chars[j].1 == '.')
                    && j + 1 < chars.len()
                    && chars[j + 1].1.is_ascii_digit()))
        {
            j += 1;
        }
        let end_num = if j < chars.len() { chars[j].0 } else { s.len() };
        let Some(mut value) = parse_number(&s[at..end_num]) else {
            i = j.max(i + 1);
            continue;
        };
        // glued token
        let mut k = j;
        while k < chars.len() && !chars[k].1.is_whitespace() {
            k += 1;
        }
        let end_glued = if k < chars.len() { chars[k].0 } else { s.len() };
        let glued = trim_unit(&s[end_num..end_glued]);
        let mut magnitude = None;
        let mut unit = glued.to_string();
        let mut next = k;
        if let Some((m, f)) = magnitude_of(glued) {
            // "20M users": the glued letter is a magnitude when another word follows.
            let (w, after) = next_word(s, &chars, k);
            if !w.is_empty() && w.chars().next().is_some_and(|c| c.is_alphabetic()) {
                magnitude = Some(m);
                value *= f;
                unit = w;
                next = after;
            }
        } else if glued.is_empty() {
            let (w, after) = next_word(s, &chars, k);
            if w.chars().next().is_some_and(|c| c.is_alphabetic() || c == '%' || c == '×') {
                unit = w;
                next = after;
            }
        }
        // "170 million members": a magnitude word scales the value; the unit is the next word
        if let Some(f) = magnitude_word(&unit) {
            let (w, after) = next_word(s, &chars, next);
            value *= f;
            magnitude = Some('w');
            unit = if w.chars().next().is_some_and(|c| c.is_alphabetic()) {
                next = after;
                w
            } else {
                String::new()
            };
        }
        out.push(Quantity { value, unit, magnitude, at });
        i = next.max(j).max(i + 1);
    }
    out
}

fn magnitude_word(w: &str) -> Option<f64> {
    match w.to_lowercase().as_str() {
        "thousand" => Some(1e3),
        "million" | "millions" => Some(1e6),
        "billion" | "billions" => Some(1e9),
        "trillion" => Some(1e12),
        _ => None,
    }
}

fn next_word(s: &str, chars: &[(usize, char)], from: usize) -> (String, usize) {
    let mut a = from;
    // exactly one run of spaces (not a newline paragraph break)
    while a < chars.len() && chars[a].1 == ' ' {
        a += 1;
    }
    if a == from && from < chars.len() {
        return (String::new(), from);
    }
    let mut b = a;
    while b < chars.len() && !chars[b].1.is_whitespace() {
        b += 1;
    }
    let start = if a < chars.len() { chars[a].0 } else { s.len() };
    let end = if b < chars.len() { chars[b].0 } else { s.len() };
    (trim_unit(&s[start..end]).to_string(), b)
}

fn trim_unit(s: &str) -> &str {
    s.trim_end_matches(['.', ',', ';', ':', ')', ']', '*', '|']).trim_start_matches(['*', '('])
}

/// Does `written` (a unit as found) match `unit` (from the rules)? Case-insensitive; a compound
/// like "GB/day" or "req/s" matches on its whole text or on its part before '/'.
pub(crate) fn unit_matches(written: &str, unit: &str) -> bool {
    let w = written.to_lowercase();
    let u = unit.to_lowercase();
    if w == u {
        return true;
    }
    w.split('/').next() == Some(u.as_str()) && w.contains('/')
}

/// Seconds in a duration unit word, if it is one.
fn duration_unit(u: &str) -> Option<f64> {
    let u = u.to_lowercase();
    let u = u.trim_end_matches('s');
    Some(match u {
        "" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hr" | "hour" => 3600.0,
        "d" | "day" => 86_400.0,
        "w" | "wk" | "week" => 7.0 * 86_400.0,
        "month" | "mo" => 30.0 * 86_400.0,
        "quarter" => 90.0 * 86_400.0,
        "ms" | "millisecond" => 0.001,
        _ => return None,
    })
}

/// First duration in text, in seconds: "30 days", "28d", "43 min 12 s", "43.2 minutes".
/// Consecutive number-unit pairs are summed ("43m 12s").
pub(crate) fn parse_duration(s: &str) -> Option<f64> {
    let qs = quantities(&s.replace('-', " "));
    let mut total: Option<f64> = None;
    let mut last_end: Option<usize> = None;
    for q in qs {
        let unit = q.unit.split('/').next().unwrap_or("");
        let secs = if q.magnitude.is_some() {
            None
        } else if q.unit.eq_ignore_ascii_case("s") && q.unit.len() == 1 {
            Some(1.0)
        } else {
            duration_unit(unit).filter(|_| !unit.is_empty())
        };
        match (secs, total) {
            (Some(f), None) => {
                total = Some(q.value * f);
                last_end = Some(q.at);
            }
            (Some(f), Some(t)) => {
                // only glue pairs that sit close together ("43 min 12 s")
                if last_end.is_some_and(|e| q.at - e <= 12) {
                    total = Some(t + q.value * f);
                    last_end = Some(q.at);
                } else {
                    break;
                }
            }
            (None, Some(_)) => break,
            (None, None) => {}
        }
    }
    total
}

/// First percentage in text ("99.9%", "99.95 %").
pub(crate) fn parse_percent(s: &str) -> Option<f64> {
    quantities(s).into_iter().find(|q| q.unit.starts_with('%') && q.magnitude.is_none()).map(|q| q.value)
}

/// Is the first quantity in the text a percentage (rather than a duration)?
pub(crate) fn starts_with_percent(s: &str) -> bool {
    quantities(s).first().is_some_and(|q| q.unit.starts_with('%'))
}

/// `i` moved back to the nearest character boundary of `s` (and into it).
pub(crate) fn floor_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `i` moved on to the nearest character boundary of `s` (and into it).
pub(crate) fn ceil_boundary(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// Formats a number for messages: grouped thousands, at most 2 decimals.
pub(crate) fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let rounded = (v * 100.0).round() / 100.0;
    let int = rounded.trunc().abs() as u128;
    let frac = ((rounded.abs() - rounded.abs().trunc()) * 100.0).round() as u64;
    let digits = int.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if rounded < 0.0 { "-" } else { "" };
    if frac == 0 {
        format!("{sign}{grouped}")
    } else if frac.is_multiple_of(10) {
        format!("{sign}{grouped}.{}", frac / 10)
    } else {
        format!("{sign}{grouped}.{frac:02}")
    }
}

/// Formats seconds as a readable duration for messages.
pub(crate) fn fmt_duration(secs: f64) -> String {
    let (v, unit) = if secs >= 86_400.0 {
        (secs / 86_400.0, "day")
    } else if secs >= 3600.0 {
        (secs / 3600.0, "hour")
    } else if secs >= 60.0 {
        (secs / 60.0, "minute")
    } else {
        (secs, "second")
    };
    let n = fmt_num(v);
    if n == "1" {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_normalise() {
        assert_eq!(normalize_title("3.2 Capacity Estimates:"), "capacity estimates");
        assert_eq!(normalize_title("Goals & Non-Goals"), "goals non goals");
        assert_eq!(normalize_title(""), "");
    }

    #[test]
    fn quantities_and_units() {
        let q = quantities("20M DAU, 200ms p99 and 3.5 TB/day at 9,259 QPS");
        assert_eq!(q[0].value, 20e6);
        assert_eq!(q[0].unit, "DAU");
        assert_eq!(q[1].unit, "ms");
        assert_eq!(q[2].unit, "TB/day");
        assert_eq!(q[3].value, 9259.0);
        let m = quantities("170 million members, 17 million.");
        assert_eq!(m[0].value, 170e6);
        assert_eq!(m[0].unit, "members");
        assert_eq!(m[1].unit, "");
        assert!(unit_matches("TB/day", "TB"));
        assert!(unit_matches("qps", "QPS"));
    }

    #[test]
    fn durations_and_percents() {
        assert_eq!(parse_duration("30 days"), Some(30.0 * 86_400.0));
        assert_eq!(parse_duration("28d rolling"), Some(28.0 * 86_400.0));
        assert_eq!(parse_duration("43 min 12 s"), Some(43.0 * 60.0 + 12.0));
        assert_eq!(parse_duration("43.2 minutes"), Some(43.2 * 60.0));
        assert_eq!(parse_duration("30-day rolling"), Some(30.0 * 86_400.0));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_percent("99.9% of requests"), Some(99.9));
        assert!(starts_with_percent("0.1% of requests"));
        assert!(!starts_with_percent("43 min"));
    }

    #[test]
    fn words_and_numbers() {
        assert_eq!(word_count("a b | -- c"), 3);
        assert_eq!(fmt_num(9259.259), "9,259.26");
        assert_eq!(fmt_num(1000.0), "1,000");
    }
}
