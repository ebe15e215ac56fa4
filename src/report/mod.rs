//! What the user reads: the human check report with colour when the terminal allows it, and
//! the JSON results document (docs/check-results.md).

use std::io::Write;

use crate::output::{paint, stdout as out, terminal_width, BOLD, DIM, GREEN, RED, YELLOW};
use crate::results::{Check, EarlyStage, GradedTest};
use crate::runner::mermaid::{Checked, Diagrams};
use crate::status::{Reason, Status};
use crate::workspace::Change;

mod failures;
mod json;

pub use failures::{brief, failures, Failure};
pub use json::{json_document, JsonResults, JsonTest};

/// Distinct failures listed for the first unfinished stage; the rest are counted.
const MAX_FAILURES_SHOWN: usize = 5;
/// A stage title's column in the stage table, when the terminal is wide enough.
const TITLE_WIDTH: usize = 40;
/// Columns of a stage row besides its title: mark, number, counts and "← you are here".
const STAGE_ROW_RESERVED: usize = 31;
const MIN_TITLE_WIDTH: usize = 12;
const BAR_WIDTH: usize = 30;
/// Names listed on a "newly passing" or "regressed" line before it is summarised.
const MAX_NAMES_SHOWN: usize = 4;

pub fn print_human(check: &Check, verbose: bool) -> std::io::Result<()> {
    let mut o = out();
    let width = terminal_width();
    let g = &check.graded;
    writeln!(
        o,
        "{} {} {}",
        paint(BOLD, &check.lab),
        paint(DIM, format!("({} track, lab v{})", check.track, check.lab_version)),
        paint(DIM, format!("· {}", duration(std::time::Duration::from_millis(check.elapsed_ms as u64))))
    )?;
    if let Some(note) = &check.version_note {
        writeln!(o, "{}", paint(YELLOW, note))?;
    }
    for m in &check.modified {
        let what = match m.change {
            Change::Modified => "modified",
            Change::Deleted => "deleted",
            Change::Added => "added",
            Change::Outdated => "from an older version of the lab, untouched",
        };
        writeln!(o, "{} {}: {what}; the pristine suite was graded", paint(YELLOW, "note:"), m.path)?;
    }
    for f in &check.integrity {
        writeln!(o, "{} {}: {}", paint(YELLOW, "integrity warning:"), f.path, f.message)?;
    }
    if let Some(line) = check.diagrams.as_ref().and_then(diagrams_line) {
        writeln!(o, "{line}")?;
    }
    if let Some(message) = &g.message {
        writeln!(o, "\n{} {message}", paint(RED, "error:"))?;
        writeln!(o, "{}", indent(check.runner_output.trim_end(), "  "))?;
        writeln!(o, "\nNothing was graded: fix the error above and run `lab check` again.")?;
        return Ok(());
    }
    writeln!(o)?;
    let first_open = g.stages.iter().position(|s| !s.done);
    let title_width = TITLE_WIDTH.min(width.saturating_sub(STAGE_ROW_RESERVED)).max(MIN_TITLE_WIDTH);
    for (i, stage) in g.stages.iter().enumerate() {
        let (mark, style) = stage_mark(stage.done, stage.passed);
        let here = if Some(i) == first_open { paint(BOLD, "  ← you are here") } else { String::new() };
        writeln!(
            o,
            "  {} {:<2} {:<title_width$} {:>3}/{:<3}{here}",
            paint(style, mark),
            i + 1,
            truncate(&stage.title, title_width),
            stage.passed,
            stage.total
        )?;
    }
    for test in &g.undeclared {
        writeln!(o, "{} the runner reported `{test}`, which lab.toml does not declare", paint(YELLOW, "note:"))?;
    }
    let mut first_failure = None;
    if let Some(i) = first_open {
        let stage = &g.stages[i];
        let failing: Vec<_> = g.tests.iter().filter(|t| t.stage == stage.id && t.status != Status::Pass).collect();
        writeln!(o, "\n{} {}: {} to go", paint(BOLD, format!("Stage {}", i + 1)), stage.title, failing.len())?;
        let groups = failures(failing.iter().copied());
        first_failure = groups.first().map(|f| f.first);
        let shown = if verbose { groups.len() } else { MAX_FAILURES_SHOWN };
        for failure in groups.iter().take(shown) {
            print_failure(&mut o, failure, verbose, width)?;
        }
        let hidden: usize = groups.iter().skip(shown).map(|f| 1 + f.more.len()).sum();
        if hidden > 0 {
            writeln!(o, "  … and {hidden} more failing {} (--verbose shows all)", tests_word(hidden))?;
        }
    }
    let c = &g.counts;
    let filled = (c.passed * BAR_WIDTH).checked_div(c.total).unwrap_or(0);
    let percent = (c.passed * 100).checked_div(c.total).unwrap_or(0);
    writeln!(
        o,
        "\n  {}{} {}/{} tests ({percent}%)",
        paint(GREEN, "█".repeat(filled)),
        paint(DIM, "░".repeat(BAR_WIDTH - filled)),
        c.passed,
        c.total
    )?;
    if !check.newly_passing.is_empty() {
        writeln!(o, "  {} {}", paint(GREEN, "newly passing:"), names(&check.newly_passing, verbose))?;
    }
    if !check.regressed.is_empty() {
        writeln!(o, "  {} {}", paint(RED, "regressed:"), names(&check.regressed, verbose))?;
    }
    if !check.first_check && check.newly_passing.is_empty() && check.regressed.is_empty() {
        writeln!(o, "  {}", paint(DIM, "no change since the last check"))?;
    }
    if g.status == Status::Pass {
        writeln!(o, "\n{} every stage is done.", paint(GREEN, "All green:"))?;
    } else if let Some(todo) = &check.next_todo {
        let place = format!("{}:{}", todo.path, todo.line);
        writeln!(o, "\n{}", next_line(&place, &format!("TODO(lab:{}) {}", todo.stage, todo.text), width))?;
    } else if let Some(test) = first_failure {
        // No marker of this stage is left in the learner's code: the failure is the pointer.
        let place = place(test);
        let reason = brief(&test.message, 1).into_iter().next().unwrap_or_default();
        writeln!(o, "\n{}", next_line(&place, &format!("make {} pass: {reason}", test.name), width))?;
    }
    if verbose {
        if let Some(stage) = first_open.map(|i| &g.stages[i]) {
            let others: Vec<&str> = g.tests.iter().filter(|t| t.stage != stage.id).map(|t| t.name.as_str()).collect();
            let shown = stage_output(&check.runner_output, &others);
            if !shown.trim().is_empty() {
                writeln!(o, "\n{}\n{}", paint(DIM, RUNNER_OUTPUT_LABEL), indent(shown.trim_end(), "  "))?;
            }
        }
    }
    Ok(())
}

/// Above the runner's own output under --verbose, which keeps only what concerns the graded
/// stage: every failure section is shown per test above, and other stages' tests are left out.
const RUNNER_OUTPUT_LABEL: &str = "runner output (failure sections and other stages' tests left out):";

/// "Next:", the place and the text on one line when they fit, else the place on its own line;
/// the text wraps under itself.
fn next_line(place: &str, text: &str, width: usize) -> String {
    let room = width.saturating_sub(NEXT_INDENT.len());
    let head = place.chars().count() + 2;
    let mut lines = if place.is_empty() {
        wrap(text, room)
    } else if head + text.split_whitespace().next().map_or(0, |w| w.chars().count()) <= room {
        // The text's first line starts after the place: wrap it as if the place were a word.
        let mut lines = wrap(&format!("{} {text}", "x".repeat(head - 1)), room);
        lines[0] = format!("{place}  {}", lines[0][head..].trim_start());
        lines
    } else {
        std::iter::once(place.to_string()).chain(wrap(text, room)).collect()
    };
    if lines.len() > MAX_NEXT_LINES {
        lines.truncate(MAX_NEXT_LINES);
        lines.push("…".into());
    }
    format!("{} {}", paint(BOLD, "Next:"), lines.join(&format!("\n{NEXT_INDENT}")))
}

const NEXT_INDENT: &str = "      ";

/// Lines "Next:" takes at most; `lab todo` shows the whole marker.
const MAX_NEXT_LINES: usize = 4;

/// One failure of the graded stage: the test, where, the reason (its exception line always in
/// view), the tests it stands for and, with --verbose, the traceback and output.
fn print_failure(o: &mut impl Write, failure: &Failure, verbose: bool, width: usize) -> std::io::Result<()> {
    let test = failure.first;
    let place = place(test);
    // The location goes on its own line rather than wrapping mid-path.
    if place.is_empty() {
        writeln!(o, "  {} {}", paint(RED, "✗"), test.name)?;
    } else if 4 + test.name.chars().count() + 1 + place.chars().count() <= width {
        writeln!(o, "  {} {} {}", paint(RED, "✗"), test.name, paint(DIM, place))?;
    } else {
        writeln!(o, "  {} {}\n    {}", paint(RED, "✗"), test.name, paint(DIM, place))?;
    }
    let message: Vec<String> =
        if verbose { test.message.lines().map(str::to_string).collect() } else { brief(&test.message, MESSAGE_LINES) };
    for line in &message {
        for part in wrap(line, width.saturating_sub(6)) {
            writeln!(o, "      {part}")?;
        }
    }
    if !failure.more.is_empty() {
        let n = failure.more.len();
        let names: Vec<String> = failure.more.iter().map(|t| t.name.clone()).collect();
        let text = format!("and {n} more {} the same way: {}", fail_word(n), names_of(&names, verbose));
        for part in wrap(&text, width.saturating_sub(6)) {
            writeln!(o, "      {}", paint(DIM, part))?;
        }
    }
    if verbose && !test.output.is_empty() {
        writeln!(o, "{}", indent(&test.output, "      | "))?;
    }
    Ok(())
}

/// Lines of a failure's message shown without --verbose.
const MESSAGE_LINES: usize = 3;

fn tests_word(n: usize) -> &'static str {
    if n == 1 {
        "test"
    } else {
        "tests"
    }
}

fn fail_word(n: usize) -> &'static str {
    if n == 1 {
        "test fails"
    } else {
        "tests fail"
    }
}

/// `file:line`, the file alone, or nothing.
fn place(test: &GradedTest) -> String {
    match (&test.file, test.line) {
        (Some(f), Some(l)) => format!("{f}:{l}"),
        (Some(f), None) => f.clone(),
        _ => String::new(),
    }
}

/// The current stage's result, shown while the other stages are still being graded: a line for
/// the stage and a line for each of its first failures, with the reason.
pub fn print_early(early: &EarlyStage) -> std::io::Result<()> {
    let mut o = out();
    let width = terminal_width();
    let Some(stage) = early.graded.stages.first() else { return Ok(()) };
    let (mark, style) = if stage.done { ("✓", GREEN) } else { ("✗", RED) };
    writeln!(
        o,
        "{} {} {}: {}/{} passing {}",
        paint(style, mark),
        paint(BOLD, format!("Stage {}", early.number)),
        stage.title,
        stage.passed,
        stage.total,
        paint(DIM, format!("· {}", duration(early.elapsed)))
    )?;
    let groups = failures(early.graded.tests.iter().filter(|t| t.status != Status::Pass));
    for failure in groups.iter().take(MAX_FAILURES_SHOWN) {
        let test = failure.first;
        let reason = brief(&test.message, 1).into_iter().next().unwrap_or_default();
        let more = match failure.more.len() {
            0 => String::new(),
            n => format!(" (and {n} more)"),
        };
        let room = width.saturating_sub(5 + test.name.chars().count() + more.chars().count()).max(MIN_REASON_WIDTH);
        writeln!(
            o,
            "  {} {} {}",
            paint(RED, "✗"),
            test.name,
            paint(DIM, format!("{}{more}", truncate(&reason, room)))
        )?;
    }
    let hidden: usize = groups.iter().skip(MAX_FAILURES_SHOWN).map(|f| 1 + f.more.len()).sum();
    if hidden > 0 {
        writeln!(o, "  … and {hidden} more")?;
    }
    match early.others {
        0 => {}
        1 => writeln!(o, "{}", paint(DIM, "Grading the other stage…"))?,
        n => writeln!(o, "{}", paint(DIM, format!("Grading the other {n} stages…")))?,
    }
    o.flush()
}

/// A reason on an early line is cut no shorter than this, even on a narrow terminal.
const MIN_REASON_WIDTH: usize = 20;

/// A stage's mark in a table: done, started, or not started.
pub fn stage_mark(done: bool, passed: usize) -> (&'static str, anstyle::Style) {
    if done {
        ("✓", GREEN)
    } else if passed > 0 {
        ("◐", YELLOW)
    } else {
        ("·", DIM)
    }
}

/// Milliseconds under a second, else seconds to a tenth.
fn duration(d: std::time::Duration) -> String {
    match d.as_millis() {
        ms @ 0..=999 => format!("{ms} ms"),
        _ => format!("{:.1} s", d.as_secs_f64()),
    }
}

/// How the Mermaid diagrams were checked, when there were any: a note when they were only
/// scanned, since a diagram that passed the scan may still be one Mermaid cannot draw.
fn diagrams_line(d: &Diagrams) -> Option<String> {
    let n = match d.count {
        0 => return None,
        1 => "1 Mermaid diagram was".to_string(),
        n => format!("{n} Mermaid diagrams were"),
    };
    Some(match d.checked {
        Checked::Parsed => {
            paint(DIM, format!("{n} parsed with {}", d.parser.as_deref().unwrap_or("the Mermaid parser")))
        }
        Checked::Structural => format!(
            "{} {n} checked structurally, not parsed: {}",
            paint(YELLOW, "note:"),
            d.note.as_deref().unwrap_or("the Mermaid parser did not run")
        ),
    })
}

/// `--quiet`: one line.
pub fn print_summary(check: &Check) -> std::io::Result<()> {
    let g = &check.graded;
    let done = g.stages.iter().filter(|s| s.done).count();
    writeln!(
        out(),
        "{}: {} ({}/{} tests, {done}/{} stages)",
        check.lab,
        g.status.as_str(),
        g.counts.passed,
        g.counts.total,
        g.stages.len()
    )
}

/// Test names for one line: all of them with --verbose, else the first few and a count.
fn names(list: &[String], verbose: bool) -> String {
    if verbose || list.len() <= MAX_NAMES_SHOWN {
        list.join(", ")
    } else {
        format!("{}, … {} in all (--verbose lists them)", list[..MAX_NAMES_SHOWN].join(", "), list.len())
    }
}

/// Names for a line: all of them with --verbose, else the first few and a count.
fn names_of(list: &[String], verbose: bool) -> String {
    if verbose || list.len() <= MAX_NAMES_SHOWN {
        list.join(", ")
    } else {
        format!("{}, …", list[..MAX_NAMES_SHOWN].join(", "))
    }
}

/// What --verbose shows of the runner's own output: failure sections (each graded stage's
/// failure is shown with its traceback above) and lines about other stages' tests left out.
/// Reads pytest's (`____ name ____`) and libtest's (`---- name stdout ----`) sections.
fn stage_output(output: &str, others: &[&str]) -> String {
    let mut kept = Vec::new();
    let mut in_section = false;
    for line in output.lines() {
        let pytest_header = line.starts_with("___") && line.ends_with("___") && line.trim_matches('_').trim() != "";
        let libtest_header = line.starts_with("---- ") && line.ends_with(" stdout ----");
        if pytest_header || libtest_header {
            in_section = true;
            continue;
        }
        if in_section {
            // A section runs to the next header, pytest's next `====` banner or libtest's list.
            if line.starts_with("===") || line == "failures:" || line.starts_with("test result: ") {
                in_section = false;
            } else {
                continue;
            }
        }
        let names_other = line.split_whitespace().any(|word| {
            others.iter().any(|name| {
                let base = word.split('[').next().unwrap_or(word).trim_end_matches(':');
                base == *name || base.ends_with(&format!("::{name}"))
            })
        });
        if !names_other {
            kept.push(line);
        }
    }
    kept.join("\n")
}

pub fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
}

/// Words of `text` in lines of at most `width` characters, each line keeping the first line's
/// indentation; a word longer than a line stays whole on its own line rather than being cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let indent: String = text.chars().take_while(|c| *c == ' ').collect();
    let room = width.saturating_sub(indent.len()).max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > room {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines
}

/// At most `max` characters, cut after a whole word with "…"; a first word longer than that is
/// the one thing cut inside.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    let whole = match s.chars().nth(cut.chars().count()) {
        Some(' ') => cut.trim_end(),
        _ => cut.rfind(' ').map_or(cut.as_str(), |space| cut[..space].trim_end()),
    };
    format!("{}…", if whole.is_empty() { cut.as_str() } else { whole })
}

#[cfg(test)]
mod tests {
    use super::failures::exception_line;
    use super::*;

    fn failing(name: &str, message: &str, place: Option<(&str, u32)>) -> GradedTest {
        GradedTest {
            name: name.into(),
            status: Status::Fail,
            reason: Some(Reason::Failed),
            message: message.into(),
            output: String::new(),
            task_id: 1,
            stage: "algorithms".into(),
            file: place.map(|p| p.0.to_string()),
            line: place.map(|p| p.1),
        }
    }

    const SYNTAX: &str = "  File \"src/ws/broken.py\", line 1\n    x = (\n        ^\nSyntaxError: '(' was never closed";

    #[test]
    fn one_crash_shared_by_many_tests_is_one_failure_shown_first() {
        let tests = [
            failing("test_a", "NotImplementedError: TODO(lab:algorithms): TokenBucket.hit", Some(("src/r.py", 73))),
            failing("test_b", "AssertionError: assert 1 == 2", Some(("tests/grading/t.py", 9))),
            failing("test_c", SYNTAX, Some(("src/ws/broken.py", 1))),
            failing("test_d", SYNTAX, Some(("src/ws/broken.py", 1))),
            failing("test_e", "AssertionError: Retry-After must be whole seconds\nassert 1.5 == 1", None),
            failing("test_f", "NotImplementedError: TODO(lab:algorithms): TokenBucket.hit", Some(("src/r.py", 73))),
            failing("test_g", "AssertionError: assert 1 == 2", Some(("tests/grading/t.py", 14))),
        ];
        let groups = failures(tests.iter());
        let shown: Vec<(&str, usize)> = groups.iter().map(|f| (f.first.name.as_str(), f.more.len())).collect();
        // The syntax error first, then the message that names the property, then bare
        // assertions (one per place), then the placeholder every unfinished test raises.
        assert_eq!(shown, [("test_c", 1), ("test_e", 0), ("test_b", 0), ("test_g", 0), ("test_a", 1)]);
    }

    #[test]
    fn the_exception_line_is_never_trimmed_away() {
        assert_eq!(
            brief(SYNTAX, 3),
            ["SyntaxError: '(' was never closed", "  File \"src/ws/broken.py\", line 1", "    x = (", "…"]
        );
        assert_eq!(brief(SYNTAX, 1), ["SyntaxError: '(' was never closed", "…"]);
        assert_eq!(
            brief("AssertionError: assert 'a' == 'b'\n  - b\n  + a\n  more", 3)[0],
            "AssertionError: assert 'a' == 'b'"
        );
        assert_eq!(brief("one\ntwo", 3), ["one", "two"]);
        assert_eq!(
            exception_line("_pytest.outcomes.Failed: DID NOT RAISE"),
            Some("_pytest.outcomes.Failed: DID NOT RAISE")
        );
        assert_eq!(exception_line("assertion `left == right` failed\n  left: 2"), None);
    }

    #[test]
    fn lines_wrap_and_titles_cut_at_word_boundaries() {
        assert_eq!(wrap("the quick brown fox jumps", 10), ["the quick", "brown fox", "jumps"]);
        assert_eq!(wrap("  - indented text here", 12), ["  - indented", "  text here"]);
        assert_eq!(wrap("tests/grading/test_algorithms.py:120 x", 10), ["tests/grading/test_algorithms.py:120", "x"]);
        assert_eq!(truncate("Distributed limiting with Redis", 20), "Distributed…");
        assert_eq!(truncate("Distributed limiting", 20), "Distributed limiting");
        assert_eq!(truncate("Supercalifragilistic", 8), "Superca…");
    }

    #[test]
    fn verbose_runner_output_leaves_out_failure_sections_and_other_stages() {
        let output = include_str!("../../tests/fixtures/runner-output/pytest-syntax-error.txt");
        let shown = stage_output(output, &["test_counts_words", "test_counts_nothing"]);
        assert!(!shown.contains("site-packages") && !shown.contains("Traceback"), "{shown}");
        assert!(!shown.contains("test_counts_words"), "{shown}");
        assert!(shown.contains("FAILED .lab/run/grading/test_greet.py::test_greets_by_name"), "{shown}");
        assert!(shown.contains("4 failed in"), "{shown}");
        assert!(shown.lines().count() < 10, "{shown}");
        let libtest = include_str!("../../tests/fixtures/runner-output/libtest-mixed.txt");
        let shown = stage_output(libtest, &["tests::passes", "tests::fails_eq"]);
        assert!(!shown.contains("tests::passes") && !shown.contains("fails_eq"), "{shown}");
        assert!(shown.contains("test token_bucket_refill ... FAILED"), "{shown}");
        assert!(!shown.contains("panicked"), "{shown}");
    }
}
