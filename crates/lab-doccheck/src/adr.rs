//! ADR rules: a folder of architecture decision records, each with a valid status, a context, a
//! decision and consequences that include at least one negative one, and a link to it from the
//! main document(s). The published formats are all read: MADR 4.0, 3.x, 2.x and minimal,
//! Nygard's original, Tyree-Akerman, and Y-statements (as a paragraph, list or table).

use crate::markdown::{Doc, Range};
use crate::problem::Problem;
use crate::spec::AdrSpec;
use crate::text::{normalize_title, word_count};
use crate::workspace::{wildcard, Workspace};

/// Real statuses: MADR's and Nygard's, plus Tyree-Akerman's `pending`, `decided`, `approved`.
const STATUSES: &[&str] =
    &["proposed", "accepted", "rejected", "deprecated", "superseded", "pending", "decided", "approved"];
const NEGATIVE: &[&str] = &[
    "bad",
    "negative",
    "negatives",
    "con",
    "cons",
    "downside",
    "downsides",
    "drawback",
    "drawbacks",
    "cost",
    "costs",
    "risk",
    "risks",
    "worse",
];
/// Words that open a line stating an upside: such a line is never read as the negative one,
/// whatever words it uses ("Good, because we no longer need cron").
const POSITIVE: &[&str] =
    &["good", "positive", "positives", "pro", "pros", "benefit", "benefits", "upside", "upsides", "advantage"];
/// Phrases that make a sentence of prose consequences a negative one (Nygard writes
/// consequences as prose, without Good/Bad labels).
const CUES: &[&str] = &[
    "cost",
    "costs",
    "costly",
    "expensive",
    "risk",
    "risks",
    "risky",
    "downside",
    "drawback",
    "disadvantage",
    "harder",
    "difficult",
    "slower",
    "more complex",
    "complexity",
    "overhead",
    "burden",
    "penalty",
    "worse",
    "lose",
    "loses",
    "lost",
    "loss",
    "lock-in",
    "locked in",
    "cannot",
    "can no longer",
    "at the expense of",
    "trade-off",
    "sacrifice",
    "accept that",
    "accepting that",
    "have to",
    "must now",
    "unfortunately",
    "however",
    "limitation",
    "debt",
    "single point of failure",
    "learning curve",
];

/// Heading titles (compared after `normalize_title` and singular forms) of each part.
const CONTEXT: &[&str] = &[
    "context",
    "context and problem statement",
    "context and problem",
    "problem statement",
    "problem",
    "issue",
    "background",
    "motivation",
];
const DECISION: &[&str] = &["decision", "decision outcome", "outcome", "chosen option", "resolution"];
const CONSEQUENCES: &[&str] = &[
    "consequence",
    "implication",
    "positive consequence",
    "negative consequence",
    "good consequence",
    "bad consequence",
];
/// Headings that start like a part's title but are another part ("Decision drivers").
const NOT_A_PART: &[&str] = &["driver", "maker", "criterion", "criteria", "record", "log", "date"];

/// What another module needs from one ADR: where it is, what it decided and where that stands.
#[derive(Debug, Clone)]
pub(crate) struct AdrSummary {
    pub(crate) path: String,
    /// The first top-level heading (or front matter `title`).
    pub(crate) title: Option<String>,
    /// The status as written (`Superseded by 0004`) and its line.
    pub(crate) status: Option<(String, u32)>,
    /// The decision as written: the Decision section's own text (before any subsection), or
    /// a Y-statement's "we decided for ..." clause.
    pub(crate) decision_text: Option<String>,
}

/// One part of an ADR as found: its heading (when it has one) and its text.
struct Part {
    heading: Option<(String, u32)>,
    text: String,
}

impl Part {
    fn said(&self) -> bool {
        word_count(&self.text) > 0
    }
}

/// The parts the rule checks in one ADR.
struct Parts {
    context: Option<Part>,
    decision: Option<Part>,
    consequences: Option<Part>,
    negative: bool,
}

/// Parses an ADR of any supported format into its summary.
pub(crate) fn summarize(doc: &Doc) -> AdrSummary {
    let titles = titles(doc);
    summary_of(doc, &titles, &parts(doc, &titles, &owned(NEGATIVE)))
}

fn summary_of(doc: &Doc, titles: &[String], parts: &Parts) -> AdrSummary {
    let title = doc
        .headings
        .iter()
        .find(|h| h.level == 1)
        .map(|h| h.text.clone())
        .or_else(|| doc.front_value("title").map(|f| f.value.clone()));
    let decision_text = parts.decision.as_ref().filter(|d| d.said()).map(|d| d.text.clone());
    AdrSummary { path: doc.path.clone(), title, status: status(doc, titles), decision_text }
}

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// `normalize_title` with every word in the singular, so "Consequences" finds "consequence".
fn singular(s: &str) -> String {
    singular_words(&normalize_title(s))
}

/// Every heading's title through `singular`, computed once per ADR (from the normalised title
/// the heading already holds) rather than once per lookup.
fn titles(doc: &Doc) -> Vec<String> {
    doc.headings.iter().map(|h| singular_words(&h.norm)).collect()
}

fn singular_words(normalized: &str) -> String {
    normalized
        .split(' ')
        .map(|w| {
            if w.len() > 4 && w.ends_with("ies") {
                format!("{}y", &w[..w.len() - 3])
            } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") {
                w[..w.len() - 1].to_string()
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Indices of headings titled like one of `names`: exact titles, or a title followed by more
/// words ("Decision (2026)") unless those make it another part ("Decision drivers").
fn headings_named(titles: &[String], names: &[&str]) -> Vec<usize> {
    let names: Vec<String> = names.iter().map(|n| singular(n)).collect();
    titles
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            names.iter().any(|n| {
                *t == n
                    || t.strip_prefix(n.as_str())
                        .and_then(|r| r.strip_prefix(' '))
                        .is_some_and(|rest| !NOT_A_PART.contains(&rest.split(' ').next().unwrap_or("")))
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// Prose (paragraphs and list items) and tables, one text each, in document order, minus what
/// lies in `skip`.
fn texts_in(doc: &Doc, r: Range, skip: &[Range]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = doc.prose_in(r).map(|p| (p.offset, p.text.clone())).collect();
    for t in doc.tables_in(r) {
        let cells = std::iter::once(&t.header).chain(t.rows.iter()).flatten();
        out.push((t.offset, cells.map(|c| c.text.as_str()).collect::<Vec<_>>().join(" ")));
    }
    out.retain(|(o, _)| !covered(skip, *o));
    out.sort_by_key(|(o, _)| *o);
    out
}

/// Is `offset` inside one of `ranges` (from `merged`)? A binary search, so a decision with many
/// consequence subsections stays cheap to read.
fn covered(ranges: &[Range], offset: usize) -> bool {
    let i = ranges.partition_point(|r| r.start <= offset);
    i > 0 && ranges[i - 1].contains(offset)
}

/// Sections' ranges sorted by start with nested ones folded into their parents.
fn merged(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

fn join(texts: &[(usize, String)]) -> String {
    texts.iter().map(|(_, t)| t.trim()).filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n")
}

fn heading_of(doc: &Doc, i: usize) -> (String, u32) {
    (doc.headings[i].text.clone(), doc.line(doc.headings[i].offset))
}

/// The ADR's status and its line: front matter `status:`, a Status section, or a
/// `Status: ...` line (MADR 2's `* Status: accepted` bullet, `**Status:** Accepted`), or a
/// table row whose first cell is Status.
fn status(doc: &Doc, titles: &[String]) -> Option<(String, u32)> {
    if let Some(f) = doc.front_value("status") {
        return Some((f.value.clone(), f.line));
    }
    if let Some(&i) = headings_named(titles, &["status"]).first() {
        let r = doc.section_range(i);
        return Some(match texts_in(doc, r, &[]).into_iter().next() {
            Some((o, t)) => (t, doc.line(o)),
            None => (String::new(), doc.line(doc.headings[i].offset)),
        });
    }
    let labelled = |t: &str| -> Option<String> {
        let t = t.trim_start_matches(['*', '_', ' ']);
        let rest = t.get(..6).filter(|s| s.eq_ignore_ascii_case("status"))?;
        let rest = t[rest.len()..].trim_start_matches(['*', '_']);
        let rest = rest.strip_prefix(':')?.trim_start_matches(['*', '_']);
        Some(rest.trim().to_string())
    };
    if let Some((s, o)) = doc.prose.iter().find_map(|p| labelled(&p.text).map(|s| (s, p.offset))) {
        return Some((s, doc.line(o)));
    }
    doc.tables.iter().find_map(|t| {
        let rows = std::iter::once(&t.header).chain(t.rows.iter()).enumerate();
        rows.into_iter().find_map(|(ri, row)| {
            let first = row.first()?;
            if normalize_title(&first.text) != "status" {
                return None;
            }
            let line = if ri == 0 { t.offset } else { t.row_offsets.get(ri - 1).copied().unwrap_or(t.offset) };
            Some((row.get(1).map(|c| c.text.clone()).unwrap_or_default(), doc.line(line)))
        })
    })
}

/// The first word of a status, lower-case, or why the status is not one.
fn status_word(s: &str) -> Result<String, &'static str> {
    // MADR's templates list every status between bars: an unedited one is not a decision
    if s.contains('|') {
        return Err("it is still the template's list of choices: keep the one that holds");
    }
    Ok(normalize_title(s).split(' ').next().unwrap_or("").to_string())
}

fn first_word(s: &str) -> String {
    normalize_title(s).split(' ').next().unwrap_or("").to_string()
}

/// Is `phrase` in `text` (already lower-case) as whole words?
fn has_phrase(text: &str, phrase: &str) -> bool {
    find_phrase(text, phrase, 0).is_some()
}

/// Where `phrase` first occurs as whole words in `text` at or after byte `from`.
fn find_phrase(text: &str, phrase: &str, from: usize) -> Option<usize> {
    let word = |c: char| c.is_alphanumeric();
    text.get(from..)?.match_indices(phrase).map(|(at, _)| from + at).find(|&at| {
        let before = text[..at].chars().next_back().is_none_or(|c| !word(c));
        let after = text[at + phrase.len()..].chars().next().is_none_or(|c| !word(c));
        before && after
    })
}

/// A Y-statement's clauses: "In the context of <use case>, facing <concern>, we decided for
/// <option> and neglected <others>, to achieve <quality>, accepting that <downside>".
struct YStatement {
    context: String,
    decision: String,
    achieve: String,
    accepting: String,
}

const Y_MARKS: &[&[&str]] = &[
    &["in the context of"],
    &["facing"],
    &["we decided for", "we decided on", "we decided to", "we decided", "decided for", "we chose"],
    &["and neglected", "and against", "neglecting"],
    &["to achieve", "in order to achieve", "to meet"],
    &["accepting that", "accepting"],
    &["because"],
];

fn y_statement_in(text: &str) -> Option<YStatement> {
    // ASCII lower-casing keeps byte offsets, so clauses can be cut from the original text
    let lower = text.to_ascii_lowercase();
    if !has_phrase(&lower, Y_MARKS[0][0]) {
        return None;
    }
    let mut found: Vec<(usize, usize, usize)> = Vec::new(); // (mark, start, end)
    let mut pos = 0;
    for (m, alternatives) in Y_MARKS.iter().enumerate() {
        let hit = alternatives
            .iter()
            .filter_map(|a| find_phrase(&lower, a, pos).map(|at| (at, at + a.len())))
            .min_by_key(|(start, end)| (*start, usize::MAX - end));
        if let Some((start, end)) = hit {
            found.push((m, start, end));
            pos = end;
        }
    }
    let clause = |m: usize| -> String {
        let Some(i) = found.iter().position(|f| f.0 == m) else {
            return String::new();
        };
        let end = found.get(i + 1).map_or(text.len(), |f| f.1);
        text[found[i].2..end].trim().trim_matches([',', '.', ';', ':', ' ']).to_string()
    };
    if !found.iter().any(|f| f.0 == 0) || !found.iter().any(|f| f.0 == 2) {
        return None;
    }
    let context = [clause(0), clause(1)].join(" ").trim().to_string();
    Some(YStatement { context, decision: clause(2), achieve: clause(4), accepting: clause(5) })
}

/// The first Y-statement in the document: in a paragraph, a list read as one sentence, or a
/// table read row by row.
fn y_statement(doc: &Doc) -> Option<YStatement> {
    let items = doc.items.iter().map(|i| i.text.as_str()).collect::<Vec<_>>().join(" ");
    doc.prose
        .iter()
        .map(|p| p.text.clone())
        .chain(std::iter::once(items))
        .chain(doc.tables.iter().map(|t| {
            let cells = std::iter::once(&t.header).chain(t.rows.iter()).flatten();
            cells.map(|c| c.text.as_str()).collect::<Vec<_>>().join(" ")
        }))
        .find_map(|text| y_statement_in(&text))
}

/// Does one consequence line state a downside? It opens with a negative marker ("Bad, because
/// ...") or, unless it opens with a positive one, uses a negative phrase ("this costs ...").
fn negative_line(text: &str, markers: &[String]) -> bool {
    let first = first_word(text);
    if markers.contains(&first) {
        return word_count(text) >= 4;
    }
    if POSITIVE.contains(&first.as_str()) || word_count(text) < 4 {
        return false;
    }
    let lower = text.to_lowercase();
    CUES.iter().any(|c| has_phrase(&lower, c))
}

/// Is a negative consequence stated in these consequence sections? A negative line, or a
/// line under a negative label (a heading such as "Negative consequences" or "### Drawbacks",
/// or a "Downsides:" paragraph).
fn has_negative(doc: &Doc, titles: &[String], sections: &[usize], markers: &[String]) -> bool {
    for &i in sections {
        let r = doc.section_range(i);
        let own_label = titles[i].split(' ').any(|w| markers.contains(&w.to_string()) || w == "negative");
        let mut entries: Vec<(usize, String, bool)> = doc
            .headings_in(r)
            .filter(|x| x.offset != doc.headings[i].offset)
            .map(|x| (x.offset, x.text.clone(), true))
            .collect();
        entries.extend(texts_in(doc, r, &[]).into_iter().map(|(o, t)| (o, t, false)));
        entries.sort_by_key(|e| e.0);
        let mut label = own_label;
        for (_, text, heading) in entries {
            if heading {
                label = markers.contains(&first_word(&text));
                continue;
            }
            if negative_line(&text, markers) || (label && word_count(&text) >= 3) {
                return true;
            }
            if markers.contains(&first_word(&text)) {
                label = true;
            }
        }
    }
    false
}

fn parts(doc: &Doc, titles: &[String], markers: &[String]) -> Parts {
    let y = y_statement(doc);
    let consequence_idx = headings_named(titles, CONSEQUENCES);
    let consequence_ranges: Vec<Range> = consequence_idx.iter().map(|&i| doc.section_range(i)).collect();

    let context = headings_named(titles, CONTEXT)
        .first()
        .map(|&i| Part { heading: Some(heading_of(doc, i)), text: join(&texts_in(doc, doc.section_range(i), &[])) });
    // the decision is the Decision section's text outside its consequence subsections (MADR
    // nests "### Consequences" under "## Decision Outcome")
    let decision = headings_named(titles, DECISION).first().map(|&i| Part {
        heading: Some(heading_of(doc, i)),
        text: join(&texts_in(doc, doc.section_range(i), &merged(consequence_ranges.clone()))),
    });
    let consequences = (!consequence_idx.is_empty()).then(|| Part {
        heading: Some(heading_of(doc, consequence_idx[0])),
        text: consequence_ranges.iter().map(|r| join(&texts_in(doc, *r, &[]))).collect::<Vec<_>>().join("\n"),
    });
    let mut negative = has_negative(doc, titles, &consequence_idx, markers);

    // a Y-statement stands in for whatever parts the headings do not give
    let (context, decision, consequences) = match &y {
        Some(y) => {
            negative |= word_count(&y.accepting) >= 2;
            let part = |text: &str| Some(Part { heading: None, text: text.to_string() });
            let both = [y.achieve.as_str(), y.accepting.as_str()].join(" ");
            (
                context.filter(Part::said).or_else(|| part(&y.context)),
                decision.filter(Part::said).or_else(|| part(&y.decision)),
                consequences.filter(Part::said).or_else(|| part(both.trim())),
            )
        }
        None => (context, decision, consequences),
    };
    Parts { context, decision, consequences, negative }
}

/// Problems with one part: missing (with an example of the form and why it matters) or empty.
fn part_problems(file: &str, part: &Option<Part>, name: &str, missing: &str, out: &mut Vec<Problem>) {
    match part {
        None => out.push(Problem::in_file(file, format!("no \"{name}\" section: {missing}"))),
        Some(p) if !p.said() => match &p.heading {
            Some((text, line)) => out.push(Problem::at(file, *line, format!("section \"{text}\" is empty: {missing}"))),
            None => out.push(Problem::in_file(file, format!("the Y-statement has no {name} clause: {missing}"))),
        },
        _ => {}
    }
}

pub(crate) fn rule(spec: &AdrSpec, ws: &mut Workspace) -> Vec<Problem> {
    let statuses: Vec<String> = spec.statuses.clone().unwrap_or_else(|| owned(STATUSES));
    let markers: Vec<String> = spec.negative_markers.clone().unwrap_or_else(|| owned(NEGATIVE));
    let files: Vec<String> = ws
        .list(&spec.dir)
        .into_iter()
        .filter(|n| n.ends_with(".md"))
        .filter(|n| !spec.exclude.iter().any(|e| wildcard(e, n)))
        .map(|n| format!("{}/{n}", spec.dir.trim_end_matches('/')))
        .collect();
    let mut out = Vec::new();
    if files.len() < spec.min_count {
        out.push(Problem::in_file(
            &spec.dir,
            format!(
                "{} holds {} decision records; write at least {} (copy the template to a new numbered file)",
                spec.dir,
                files.len(),
                spec.min_count
            ),
        ));
    }
    // links from the main document(s), resolved to workspace paths
    let mut linked: Vec<String> = Vec::new();
    for from in &spec.referenced_from {
        match ws.doc(from) {
            Ok(d) => {
                for l in &d.links {
                    if let Some(Ok(t)) = ws.resolve(&d.path, &l.dest) {
                        linked.push(t.path);
                    }
                }
            }
            Err(f) => out.push(f),
        }
    }
    for file in &files {
        let doc = match ws.doc(file) {
            Ok(d) => d,
            Err(f) => {
                out.push(f);
                continue;
            }
        };
        let titles = titles(&doc);
        let a = parts(&doc, &titles, &markers);
        let summary = summary_of(&doc, &titles, &a);
        let file = &summary.path;
        match &summary.status {
            None => out.push(Problem::at(
                file,
                1,
                "no status: readers must know whether this decision holds; add front matter `status: accepted`, \
                 a \"## Status\" section saying \"Accepted\", or a line `Status: Accepted`",
            )),
            Some((s, line)) => {
                let word = status_word(s);
                if word.as_ref().map_or(true, |w| !statuses.contains(w)) {
                    let why = word.err().unwrap_or("a status says whether the decision holds");
                    out.push(Problem::at(
                        file,
                        *line,
                        format!(
                            "status \"{}\" is not one of {} ({why}): a record must say where its decision stands, \
                             e.g. `Status: Accepted` or `Status: Superseded by 0004`",
                            s.trim(),
                            statuses.join(", ")
                        ),
                    ));
                }
            }
        }
        part_problems(
            file,
            &a.context,
            "Context",
            "say what forces made a decision necessary, e.g. \"## Context\" (or \"Context and problem statement\", \
             \"Issue\") with \"Checkout times out at peak because ...\"",
            &mut out,
        );
        if summary.decision_text.is_none() {
            part_problems(
                file,
                &a.decision,
                "Decision",
                "a record must say what was decided, e.g. \"## Decision\" with \"We will ...\", or MADR's \
             \"## Decision Outcome\" with `Chosen option: \"X\", because ...` before any subsection",
                &mut out,
            );
        }
        part_problems(
            file,
            &a.consequences,
            "Consequences",
            "say what becomes easier and what becomes harder, e.g. \"## Consequences\" (MADR: \"### Consequences\" \
             under Decision Outcome; Tyree-Akerman: \"Implications\") with \"- Bad, because we now run a Kafka cluster\"",
            &mut out,
        );
        if a.consequences.as_ref().is_some_and(Part::said) && !a.negative {
            let line = a.consequences.as_ref().and_then(|c| c.heading.as_ref()).map_or(1, |h| h.1);
            out.push(Problem::at(
                file,
                line,
                "no negative consequence: every decision costs something, and a record that lists none hides the \
                 trade-off; add one, e.g. \"- Bad, because ...\", a \"### Negative\" list, a sentence such as \
                 \"This costs us ...\", or a Y-statement's \"accepting that ...\"",
            ));
        }
        if !spec.referenced_from.is_empty() && !linked.contains(file) {
            let what = summary.title.as_deref().map(|t| format!(" (\"{t}\")")).unwrap_or_default();
            out.push(Problem::in_file(
                file,
                format!(
                    "this ADR{what} is not linked from {}: link it where the decision is discussed",
                    spec.referenced_from.join(" or ")
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_madr_and_y_statement() {
        let madr = Doc::parse(
            "a.md",
            "---\nstatus: accepted\n---\n# Use Postgres\n\n## Decision Drivers\n\n- cost\n\n## Decision Outcome\n\n\
             Chosen option: \"Postgres\", because we know it.\n\n### Consequences\n\n- Bad, because we run it.\n",
        );
        let s = summarize(&madr);
        assert_eq!(s.title.as_deref(), Some("Use Postgres"));
        assert_eq!(s.status, Some(("accepted".to_string(), 2)));
        assert_eq!(s.decision_text.as_deref(), Some("Chosen option: \"Postgres\", because we know it."));
        let y = Doc::parse(
            "y.md",
            "# Queue\n\nStatus: proposed\n\nIn the context of order intake, facing bursts, we decided for Kafka and \
             neglected RabbitMQ, to achieve smooth ingest, accepting that we operate a cluster.\n",
        );
        let s = summarize(&y);
        assert_eq!(s.decision_text.as_deref(), Some("Kafka"));
        assert_eq!(s.status.map(|s| s.0), Some("proposed".to_string()));
    }

    #[test]
    fn titles_match_in_any_case_and_number() {
        let doc =
            Doc::parse("a.md", "## Decision drivers\n\n## 3. IMPLICATIONS\n\n## Decisions\n\n## Outcome (2026)\n");
        assert_eq!(headings_named(&titles(&doc), DECISION), vec![2, 3]);
        assert_eq!(headings_named(&titles(&doc), CONSEQUENCES), vec![1]);
    }

    #[test]
    fn y_statement_marks_are_whole_words() {
        // "interfacing" holds "facing" and "accepting" may open an ordinary clause
        let y = y_statement_in(
            "In the context of interfacing with billing, we decided for a queue, to achieve decoupling, \
             accepting that retries can reorder invoices.",
        )
        .unwrap();
        assert_eq!(y.context, "interfacing with billing");
        assert_eq!(y.decision, "a queue");
        assert_eq!(y.accepting, "retries can reorder invoices");
        assert!(y_statement_in("In contexts of doubt we decided nothing.").is_none());
    }

    #[test]
    fn negative_lines() {
        let m = owned(NEGATIVE);
        assert!(negative_line("Bad, because it costs more", &m));
        assert!(negative_line("The team must learn Kafka, which is harder to operate.", &m));
        assert!(!negative_line("Good, because we no longer lose events", &m));
        assert!(!negative_line("Deployments become faster and simpler.", &m));
        assert!(!negative_line("It costs", &m));
    }
}
