//! A section title reduced to comparable words (lower-case stems, hyphen glue, leading numbers
//! dropped) and the word-level comparisons on it. Below both the Markdown model, which keeps the
//! keys of its headings, and the title matching that uses them.

/// Words before a name that turn it into its opposite ("non-goals" is not "goals").
pub(crate) const NEGATIONS: &[&str] = &["non", "no", "not", "without", "anti"];

/// A title reduced to comparable words: lower-case stems, plus which words were glued to the
/// previous one by a hyphen (so "trade-offs" and "tradeoffs" compare equal, and "goals" is not
/// found inside "non-goals").
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    words: Vec<String>,
    hyphened: Vec<bool>,
    /// The words joined, made once: every comparison starts with it.
    joined_all: String,
}

impl Key {
    pub(crate) fn new(title: &str) -> Key {
        let mut words: Vec<String> = Vec::new();
        let mut hyphened = Vec::new();
        let mut cur = String::new();
        let mut glue = false;
        let chars: Vec<char> = title.to_lowercase().chars().collect();
        let flush = |cur: &mut String, glue: bool, words: &mut Vec<String>, hyphened: &mut Vec<bool>| {
            if !cur.is_empty() {
                words.push(stem(cur));
                hyphened.push(glue && !words.is_empty());
                cur.clear();
            }
        };
        for (i, &c) in chars.iter().enumerate() {
            let next_alnum = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
            if c.is_alphanumeric() {
                cur.push(c);
            } else if (c == '\'' || c == '’') && !cur.is_empty() && next_alnum {
                // "what's" is one word
            } else if c == '-' && !cur.is_empty() && next_alnum {
                flush(&mut cur, glue, &mut words, &mut hyphened);
                glue = true;
                continue;
            } else {
                flush(&mut cur, glue, &mut words, &mut hyphened);
                if c == '&' || c == '+' {
                    words.push("and".into());
                    hyphened.push(false);
                }
            }
            if !c.is_alphanumeric() {
                glue = false;
            }
        }
        flush(&mut cur, glue, &mut words, &mut hyphened);
        // leading section numbers ("3.", "3.1", "iv.") are not part of the title
        let skip = words.iter().take_while(|w| w.chars().all(|c| c.is_ascii_digit())).count();
        if skip < words.len() {
            words.drain(..skip);
            hyphened.drain(..skip);
        }
        if let Some(first) = hyphened.first_mut() {
            *first = false;
        }
        let joined_all = words.concat();
        Key { words, hyphened, joined_all }
    }

    pub(crate) fn joined_range(&self, from: usize, to: usize) -> String {
        self.words[from..to].concat()
    }

    pub(crate) fn whole(&self) -> &str {
        &self.joined_all
    }

    /// The title's words joined: equal for titles that match exactly.
    pub(crate) fn joined(&self) -> &str {
        &self.joined_all
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Equal after joining the words: "Service level objectives" is "Service-level objectives".
    pub(crate) fn same(&self, other: &Key) -> bool {
        !self.is_empty() && self.whole() == other.whole()
    }

    /// This title starts with `name` and goes on ("Capacity estimates (2026)" for "Capacity
    /// estimates"), breaking between whole words.
    pub(crate) fn starts_with(&self, name: &Key) -> bool {
        let n = name.whole();
        // The joined words must start with it at all before word boundaries are worth checking.
        if n.is_empty() || !self.whole().starts_with(n) {
            return false;
        }
        (1..self.words.len()).any(|k| !self.hyphened[k] && self.joined_range(0, k) == n)
    }

    /// This title holds `name` as whole words after its start ("Public API" for "API"), not
    /// negated ("Non-functional requirements" does not hold "Requirements").
    pub(crate) fn contains(&self, name: &Key) -> bool {
        let n = name.whole();
        if n.is_empty() || !self.whole().contains(n) {
            return false;
        }
        for i in 1..self.words.len() {
            if self.hyphened[i] || self.negated_before(i) {
                continue;
            }
            for j in i + 1..=self.words.len() {
                if (j == self.words.len() || !self.hyphened[j]) && self.joined_range(i, j) == n {
                    return true;
                }
            }
        }
        false
    }

    /// Is word `i` preceded by a negation ("Non goals", "No goals")? Hyphenated compounds
    /// ("non-goals") never match inside, and "Non-functional requirements" is refused through
    /// its synonym group instead, so "Non-blocking API" still holds "API".
    pub(crate) fn negated_before(&self, i: usize) -> bool {
        NEGATIONS.contains(&self.words[i - 1].as_str())
    }
}

/// A word's singular: enough English for section titles ("flows", "estimates", "APIs",
/// "policies", "approaches"), applied the same way to headings and names.
fn stem(w: &str) -> String {
    match w {
        "caches" => return "cache".into(),
        "indices" | "indexes" => return "index".into(),
        "analyses" => return "analysis".into(),
        "criteria" => return "criterion".into(),
        "statuses" => return "status".into(),
        _ => {}
    }
    let n = w.chars().count();
    if n <= 3 {
        return w.to_string();
    }
    if let Some(s) = w.strip_suffix("ies").filter(|_| n > 4) {
        return format!("{s}y");
    }
    for suffix in ["sses", "ches", "shes", "xes", "zes"] {
        if w.ends_with(suffix) {
            return w[..w.len() - 2].to_string();
        }
    }
    // "analysis", "status" are singular; "APIs", "KPIs" are not
    if w.ends_with("ss") || w.ends_with("us") || (w.ends_with("is") && n > 4) {
        return w.to_string();
    }
    w.strip_suffix('s').unwrap_or(w).to_string()
}
