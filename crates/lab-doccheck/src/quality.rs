//! Signals that text is filler rather than writing: leftover placeholders in any case, across line
//! breaks and invisible characters, and prose that repeats itself, uses few distinct words, is
//! made of non-words or one-letter tokens, or is a keyword list rather than sentences. Plain text
//! in, findings out; no Markdown knowledge here.

use std::collections::HashMap;

use crate::text::floor_boundary;

/// The placeholders every document is scanned for, written lower-case with single spaces.
pub(crate) const DEFAULT_PLACEHOLDERS: &[&str] = &[
    "todo",
    "tbd",
    "tba",
    "tbc",
    "fixme",
    "xxx",
    "lorem ipsum",
    "lorem",
    "ipsum dolor",
    "dolor sit amet",
    "fill me in",
    "fill this in",
    "fill in here",
    "to be determined",
    "to be decided",
    "to be defined",
    "to be written",
    "to be completed",
    "coming soon",
    "your text here",
    "text goes here",
    "text here",
    "write here",
    "add here",
    "describe here",
    "insert here",
    "details here",
];

/// Words that may follow "todo" in real prose about to-do lists.
const TODO_NOUNS: &[&str] = &["list", "lists", "app", "apps", "item", "items", "application"];

/// Prompts that, right after `[` or `<`, make a bracketed template slot. Verbs that also name
/// real components ("[Fill planner]", "[Write path]") are left out.
const SLOT_PROMPTS: &[&str] = &["insert ", "describe ", "enter ", "your ", "fill in", "fill me", "fill this"];

/// Characters that render as nothing: a placeholder split by them still reads as one word.
pub(crate) fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{034F}')
}

/// Text prepared for matching: lower-case, invisible characters dropped, every run of
/// whitespace (line breaks included) one space; `map[i]` is the source offset of byte `i`.
pub(crate) struct Folded {
    pub(crate) text: String,
    pub(crate) map: Vec<usize>,
    /// Source offset just past the last piece pushed.
    last_end: usize,
}

impl Folded {
    pub(crate) fn new() -> Folded {
        Folded { text: String::new(), map: Vec::new(), last_end: 0 }
    }

    /// Appends `src` (which starts at source offset `base`); a piece that does not continue the
    /// previous one in the source is separated from it by a space.
    pub(crate) fn push(&mut self, src: &str, base: usize) {
        let adjacent = base == self.last_end;
        self.last_end = base + src.len();
        if !adjacent && !self.text.is_empty() && !self.text.ends_with(' ') {
            self.text.push(' ');
            self.map.push(base);
        }
        for (i, c) in src.char_indices() {
            if invisible(c) {
                continue;
            }
            if c.is_whitespace() {
                if !self.text.ends_with(' ') {
                    self.text.push(' ');
                    self.map.push(base + i);
                }
                continue;
            }
            for l in c.to_lowercase() {
                let before = self.text.len();
                self.text.push(l);
                self.map.extend(std::iter::repeat_n(base + i, self.text.len() - before));
            }
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A placeholder found: its source span and the pattern that matched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hit {
    pub(crate) offset: usize,
    /// Source offset just past the hit's last character.
    pub(crate) end: usize,
    pub(crate) what: String,
}

/// A hit while scanning: where it starts and ends in the folded text.
struct Found {
    at: usize,
    end: usize,
    what: String,
}

/// Placeholders in folded text: each pattern as whole words (case, line breaks and invisible
/// characters ignored), runs of three or more `?`, bracketed prompts such as `[insert ...]` or
/// `<describe ...>`, and leftover `{{ }}` template variables.
pub(crate) fn placeholders(f: &Folded, patterns: &[String]) -> Vec<Hit> {
    let t = &f.text;
    let mut hits: Vec<Found> = Vec::new();
    for p in patterns {
        let p = fold_pattern(p);
        if p.is_empty() {
            continue;
        }
        let mut from = 0;
        while let Some(pos) = t[from..].find(&p) {
            let at = from + pos;
            let end = at + p.len();
            from = at + p.len().max(1);
            let before_ok = !p.starts_with(is_word_char) || !t[..at].chars().next_back().is_some_and(is_word_char);
            let after_ok = !p.ends_with(is_word_char) || !t[end..].chars().next().is_some_and(is_word_char);
            if !(before_ok && after_ok) {
                continue;
            }
            if p == "todo" {
                let next: String = t[end..].trim_start().chars().take_while(|c| c.is_alphabetic()).collect();
                if TODO_NOUNS.contains(&next.as_str()) {
                    continue;
                }
            }
            hits.push(Found { at, end, what: p.clone() });
        }
    }
    for (at, _) in t.match_indices("???") {
        if at == 0 || !t[..at].ends_with('?') {
            hits.push(Found { at, end: at + 3, what: "???".into() });
        }
    }
    for (at, open) in t.match_indices(['[', '<']) {
        let rest = &t[at + open.len()..];
        let close = if open == "[" { ']' } else { '>' };
        // Look a short way ahead only: a document of nothing but brackets stays linear.
        let closed_soon = rest[..floor_boundary(rest, 81)].contains(close);
        if let Some(prompt) = SLOT_PROMPTS.iter().find(|p| rest.starts_with(*p)).filter(|_| closed_soon) {
            let word = prompt.trim_end();
            hits.push(Found { at, end: at + 1 + word.len(), what: format!("{open}{word} ...{close}") });
        }
    }
    for (at, _) in t.match_indices("{{") {
        if t[at..floor_boundary(t, at + 62)].contains("}}") {
            hits.push(Found { at, end: at + 2, what: "{{ }}".into() });
        }
    }
    // Longest first at each place, then drop hits inside an earlier one: "lorem ipsum dolor" is
    // one placeholder, not three.
    hits.sort_by(|a, b| a.at.cmp(&b.at).then(b.end.cmp(&a.end)));
    let mut out: Vec<Hit> = Vec::new();
    let mut covered = 0;
    for h in hits {
        if h.at < covered {
            continue;
        }
        covered = h.end;
        let last = f.map[h.end - 1];
        out.push(Hit { offset: f.map[h.at], end: last + 1, what: h.what });
    }
    out
}

fn fold_pattern(p: &str) -> String {
    let mut f = Folded::new();
    f.push(p.trim(), 0);
    f.text.trim().to_string()
}

/// English function words: real sentences are full of them, keyword lists have almost none.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "with", "from", "into", "over", "under", "and", "or",
    "but", "if", "then", "than", "so", "because", "while", "when", "where", "which", "who", "that", "this", "these",
    "those", "it", "its", "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does", "not",
    "no", "as", "per", "each", "every", "all", "any", "can", "will", "would", "should", "must", "may", "we", "our",
    "they", "their", "them", "one", "only", "also", "more", "most", "less", "after", "before", "until", "about",
    "between", "through", "without", "within", "there", "what", "how", "why", "us", "you", "your", "he", "she", "his",
    "her", "both", "either", "neither", "same", "other", "such",
];

/// Below this many words the signals are too noisy to judge.
const MIN_WORDS_TO_JUDGE: usize = 40;
/// Moving-window type-token ratio: real prose keeps most of every 40 words distinct.
const MATTR_WINDOW: usize = 40;
const MIN_MATTR: f64 = 0.45;
const MIN_FUNCTION_SHARE: f64 = 0.15;
const MAX_NONWORD_SHARE: f64 = 0.10;
const MAX_ONE_LETTER_SHARE: f64 = 0.10;
const MAX_REPEATED_SHARE: f64 = 0.30;

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .map(|w| w.trim_matches(['\'', '-']).to_lowercase())
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect()
}

/// A lower-case alphabetic token that no English word looks like: no vowel (y counts) in four or
/// more letters, the same letter three times running, or six consonants in a row.
fn non_word(w: &str) -> bool {
    if w.len() < 4 || !w.chars().all(|c| c.is_ascii_lowercase()) {
        return false;
    }
    let vowel = |c: char| "aeiouy".contains(c);
    if !w.chars().any(vowel) {
        return true;
    }
    let b = w.as_bytes();
    if b.windows(3).any(|x| x[0] == x[1] && x[1] == x[2]) {
        return true;
    }
    let mut run = 0;
    for c in w.chars() {
        run = if vowel(c) { 0 } else { run + 1 };
        if run >= 6 {
            return true;
        }
    }
    false
}

fn mattr(words: &[String]) -> f64 {
    if words.len() <= MATTR_WINDOW {
        let distinct: std::collections::HashSet<&String> = words.iter().collect();
        return distinct.len() as f64 / words.len().max(1) as f64;
    }
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for w in &words[..MATTR_WINDOW] {
        *counts.entry(w).or_default() += 1;
    }
    let mut total = counts.len() as f64;
    let windows = words.len() - MATTR_WINDOW + 1;
    for i in 1..windows {
        let out = words[i - 1].as_str();
        if let Some(n) = counts.get_mut(out) {
            *n -= 1;
            if *n == 0 {
                counts.remove(out);
            }
        }
        *counts.entry(words[i + MATTR_WINDOW - 1].as_str()).or_default() += 1;
        total += counts.len() as f64;
    }
    total / (windows as f64 * MATTR_WINDOW as f64)
}

/// Share of words in sentences that occur more than once (after the first occurrence).
fn repeated_share(text: &str, total_words: usize) -> f64 {
    let mut seen = std::collections::HashSet::new();
    let mut repeated = 0;
    for sentence in text.split(['.', '!', '?', '\n']) {
        let words = tokens(sentence);
        if words.len() < 3 {
            continue;
        }
        if !seen.insert(words.join(" ")) {
            repeated += words.len();
        }
    }
    repeated as f64 / total_words.max(1) as f64
}

/// Why `text` reads as filler rather than prose, or None when it reads as writing (or is too
/// short to judge). The reason is phrased for the learner.
pub(crate) fn filler(text: &str) -> Option<String> {
    let words = tokens(text);
    if words.len() < MIN_WORDS_TO_JUDGE {
        return None;
    }
    let n = words.len() as f64;
    let repeated = repeated_share(text, words.len());
    if repeated > MAX_REPEATED_SHARE {
        return Some(format!(
            "{:.0}% of its words are in sentences it has already said: say each thing once",
            repeated * 100.0
        ));
    }
    let odd: Vec<&String> = words.iter().filter(|w| non_word(w)).collect();
    if odd.len() as f64 / n > MAX_NONWORD_SHARE {
        let examples: Vec<&str> = odd.iter().take(3).map(|w| w.as_str()).collect();
        return Some(format!(
            "{} of its {} words are not words (e.g. {}): write sentences a reviewer can read",
            odd.len(),
            words.len(),
            examples.join(", ")
        ));
    }
    let one_letter = words.iter().filter(|w| w.chars().count() == 1 && w.as_str() != "a" && w.as_str() != "i").count();
    if one_letter as f64 / n > MAX_ONE_LETTER_SHARE {
        return Some(format!("{one_letter} of its {} words are single letters: write whole words", words.len()));
    }
    let variety = mattr(&words);
    if variety < MIN_MATTR {
        return Some(format!(
            "it uses few distinct words ({:.0}% distinct in any {MATTR_WINDOW}-word stretch; prose has over {:.0}%): explain, do not repeat",
            variety * 100.0,
            MIN_MATTR * 100.0
        ));
    }
    let function = words.iter().filter(|w| FUNCTION_WORDS.contains(&w.as_str())).count() as f64 / n;
    if function < MIN_FUNCTION_SHARE {
        return Some(format!(
            "it reads as a list of keywords, not sentences ({:.0}% of its words are words like \"the\", \"of\", \"because\"; prose has over {:.0}%)",
            function * 100.0,
            MIN_FUNCTION_SHARE * 100.0
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &str) -> Vec<String> {
        let mut f = Folded::new();
        f.push(s, 0);
        let patterns: Vec<String> = DEFAULT_PLACEHOLDERS.iter().map(|p| p.to_string()).collect();
        placeholders(&f, &patterns).into_iter().map(|h| h.what).collect()
    }

    #[test]
    fn placeholders_in_any_case_across_lines_and_invisible_characters() {
        assert_eq!(scan("todo: write this"), ["todo"]);
        assert_eq!(scan("Capacity is TBD."), ["tbd"]);
        assert_eq!(scan("Lorem\n  ipsum dolor"), ["lorem ipsum"]);
        assert_eq!(scan("Lo\u{200B}rem ipsum"), ["lorem ipsum"]);
        assert_eq!(scan("FILL ME IN"), ["fill me in"]);
        assert_eq!(scan("Latency: ???"), ["???"]);
        assert_eq!(scan("Owner: [insert team name]"), ["[insert ...]"]);
        assert_eq!(scan("the <describe the flow> part"), ["<describe ...>"]);
        assert_eq!(scan("Hello {{ system }}"), ["{{ }}"]);
        assert_eq!(scan("to be\ndetermined"), ["to be determined"]);
    }

    #[test]
    fn real_prose_is_not_a_placeholder() {
        assert!(scan("a todo list app keeps items; the mastodon and todos are fine").is_empty());
        assert!(scan("[add-on](x.md) and <address> and [your](link) are not prompts").is_empty());
        assert!(scan("FILL[Fill planner] --> W[Write path] and [Add to cart]").is_empty());
        assert!(scan("Is it? Really?").is_empty());
    }

    #[test]
    fn offsets_point_into_the_source() {
        let mut f = Folded::new();
        f.push("Intro.\n\nTB\u{200B}D later", 100);
        let hits = placeholders(&f, &["tbd".to_string()]);
        assert_eq!(hits, [Hit { offset: 108, end: 114, what: "tbd".into() }]);
    }

    const PROSE: &str = "Riders open the app and ask for a trip. The dispatch service looks up the nearby \
        drivers in the geo index, ranks them by estimated time of arrival and offers the trip to the best one. \
        If that driver does not accept within ten seconds, the offer moves to the next driver. We keep the \
        offer state in a single city shard so that two dispatchers never offer one driver two trips.";

    #[test]
    fn real_prose_is_not_filler() {
        assert_eq!(filler(PROSE), None);
    }

    #[test]
    fn filler_is_named_for_what_it_is() {
        let repeated = "The system is scalable and it is reliable for all users. ".repeat(8);
        assert!(filler(&repeated).unwrap().contains("already said"));
        let mash = "qwrtp zxcvbn sdfghj klmnb the of ".repeat(8);
        assert!(filler(&mash).unwrap().contains("not words"));
        let letters = "a b c d e f g h the system of the users is ok ".repeat(5);
        assert!(filler(&letters).unwrap().contains("single letters"));
        let keywords = "scalable microservices kafka redis sharding replication consistency availability \
            latency throughput partitioning caching kubernetes terraform observability resilience failover \
            idempotency backpressure streaming analytics geo index dispatch matching pricing surge payments \
            notifications gateway websocket protocol buffers grpc postgres cassandra dynamodb s3 cdn edge \
            regions zones";
        assert!(filler(keywords).unwrap().contains("keywords"));
        let few = "design system design system scalable design system scalable the design of the system ".repeat(4);
        assert!(filler(&few).unwrap().contains("distinct"));
        assert_eq!(filler("too short to judge"), None);
    }
}
