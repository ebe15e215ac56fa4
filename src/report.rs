//! What the user reads: the human check report with colour when the terminal allows it, and
//! the JSON results document (docs/check-results.md).

use std::io::Write;

use serde::Serialize;

use crate::output::{paint, stdout as out, BOLD, DIM, GREEN, RED, YELLOW};
use crate::results::{Check, Counts, EarlyStage, StageResult};
use crate::runner::mermaid::{Checked, Diagrams};
use crate::status::{Reason, Status};
use crate::workspace::{Change, Modification, Todo};

/// Failing tests listed in full for the first unfinished stage; the rest are counted.
const MAX_FAILURES_SHOWN: usize = 5;
const BAR_WIDTH: usize = 30;
/// Names listed on a "newly passing" or "regressed" line before it is summarised.
const MAX_NAMES_SHOWN: usize = 4;

pub fn print_human(check: &Check, verbose: bool) -> std::io::Result<()> {
    let mut o = out();
    let g = &check.graded;
    writeln!(
        o,
        "{} {} {}",
        paint(BOLD, &check.lab),
        paint(DIM, format!("({} track, lab v{})", check.track, check.lab_version)),
        paint(DIM, format!("· {} ms", check.elapsed_ms))
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
    for (i, stage) in g.stages.iter().enumerate() {
        let (mark, style) = if stage.done {
            ("✓", GREEN)
        } else if stage.passed > 0 {
            ("◐", YELLOW)
        } else {
            ("·", DIM)
        };
        let here = if Some(i) == first_open { paint(BOLD, "  ← you are here") } else { String::new() };
        writeln!(
            o,
            "  {} {:<2} {:<40} {:>3}/{:<3}{here}",
            paint(style, mark),
            i + 1,
            truncate(&stage.title, 40),
            stage.passed,
            stage.total
        )?;
    }
    for test in &g.undeclared {
        writeln!(o, "{} the runner reported `{test}`, which lab.toml does not declare", paint(YELLOW, "note:"))?;
    }
    if let Some(i) = first_open {
        let stage = &g.stages[i];
        let failing: Vec<_> = g.tests.iter().filter(|t| t.stage == stage.id && t.status != Status::Pass).collect();
        writeln!(o, "\n{} {}: {} to go", paint(BOLD, format!("Stage {}", i + 1)), stage.title, failing.len())?;
        for test in failing.iter().take(if verbose { usize::MAX } else { MAX_FAILURES_SHOWN }) {
            let place = match (&test.file, test.line) {
                (Some(f), Some(l)) => format!("{f}:{l}"),
                (Some(f), None) => f.clone(),
                _ => String::new(),
            };
            writeln!(o, "  {} {} {}", paint(RED, "✗"), test.name, paint(DIM, place))?;
            let message = if verbose { test.message.clone() } else { first_lines(&test.message, 3) };
            if !message.is_empty() {
                writeln!(o, "{}", indent(&message, "      "))?;
            }
            if verbose && !test.output.is_empty() {
                writeln!(o, "{}", indent(&test.output, "      | "))?;
            }
        }
        if !verbose && failing.len() > MAX_FAILURES_SHOWN {
            writeln!(o, "  … and {} more (--verbose shows all)", failing.len() - MAX_FAILURES_SHOWN)?;
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
        writeln!(o, "\n{} {}:{}  TODO(lab:{}) {}", paint(BOLD, "Next:"), todo.path, todo.line, todo.stage, todo.text)?;
    }
    if verbose {
        writeln!(o, "\n{}\n{}", paint(DIM, "runner output:"), indent(check.runner_output.trim_end(), "  "))?;
    }
    Ok(())
}

/// The current stage's result, shown while the other stages are still being graded: a line for
/// the stage and a line for each of its first failures, with the reason.
pub fn print_early(early: &EarlyStage) -> std::io::Result<()> {
    let mut o = out();
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
    let failing: Vec<_> = early.graded.tests.iter().filter(|t| t.status != Status::Pass).collect();
    for test in failing.iter().take(MAX_FAILURES_SHOWN) {
        let reason = first_lines(&test.message, 1);
        let reason = reason.lines().next().unwrap_or_default();
        writeln!(o, "  {} {} {}", paint(RED, "✗"), test.name, paint(DIM, truncate(reason, 100)))?;
    }
    if failing.len() > MAX_FAILURES_SHOWN {
        writeln!(o, "  … and {} more", failing.len() - MAX_FAILURES_SHOWN)?;
    }
    match early.others {
        0 => {}
        1 => writeln!(o, "{}", paint(DIM, "Grading the other stage…"))?,
        n => writeln!(o, "{}", paint(DIM, format!("Grading the other {n} stages…")))?,
    }
    o.flush()
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

/// The JSON results document (docs/check-results.md): a superset of Exercism's test-runner
/// results v3.
#[derive(Debug, Serialize)]
pub struct JsonResults<'a> {
    pub version: u32,
    pub status: Status,
    pub message: Option<&'a str>,
    pub tests: Vec<JsonTest<'a>>,
    pub lab: &'a str,
    pub track: &'a str,
    pub lab_version: &'a str,
    pub tool_version: &'static str,
    pub stages: &'a [StageResult],
    pub counts: &'a Counts,
    pub modified: &'a [Modification],
    pub integrity: &'a [crate::integrity::Finding],
    /// Docs tracks: how the Mermaid diagrams were checked; null for other tracks.
    pub diagrams: Option<&'a Diagrams>,
    pub newly_passing: &'a [String],
    pub regressed: &'a [String],
    pub undeclared: &'a [String],
    pub next_todo: Option<&'a Todo>,
    pub runner_output: Option<&'a str>,
    pub elapsed_ms: u128,
    pub runner_ms: u128,
}

#[derive(Debug, Serialize)]
pub struct JsonTest<'a> {
    pub name: &'a str,
    pub status: Status,
    pub reason: Option<Reason>,
    pub message: Option<&'a str>,
    pub output: Option<&'a str>,
    pub task_id: usize,
    pub stage: &'a str,
    pub skipped: bool,
    pub file: Option<&'a str>,
    pub line: Option<u32>,
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

pub fn json_document(check: &Check) -> JsonResults<'_> {
    let g = &check.graded;
    JsonResults {
        version: 3,
        status: g.status,
        message: g.message.as_deref(),
        tests: g
            .tests
            .iter()
            .map(|t| JsonTest {
                name: &t.name,
                status: t.status,
                reason: t.reason,
                message: non_empty(&t.message),
                output: non_empty(&t.output),
                task_id: t.task_id,
                stage: &t.stage,
                skipped: t.reason == Some(Reason::Skipped),
                file: t.file.as_deref(),
                line: t.line,
            })
            .collect(),
        lab: &check.lab,
        track: &check.track,
        lab_version: &check.lab_version,
        tool_version: env!("CARGO_PKG_VERSION"),
        stages: &g.stages,
        counts: &g.counts,
        modified: &check.modified,
        integrity: &check.integrity,
        diagrams: check.diagrams.as_ref(),
        newly_passing: &check.newly_passing,
        regressed: &check.regressed,
        undeclared: &g.undeclared,
        next_todo: check.next_todo.as_ref(),
        runner_output: g.message.is_some().then_some(check.runner_output.as_str()),
        elapsed_ms: check.elapsed_ms,
        runner_ms: check.runner_ms,
    }
}

/// Test names for one line: all of them with --verbose, else the first few and a count.
fn names(list: &[String], verbose: bool) -> String {
    if verbose || list.len() <= MAX_NAMES_SHOWN {
        list.join(", ")
    } else {
        format!("{}, … {} in all (--verbose lists them)", list[..MAX_NAMES_SHOWN].join(", "), list.len())
    }
}

pub fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
}

/// The first `n` non-blank lines, with "…" when there were more.
fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut s = lines.iter().take(n).copied().collect::<Vec<_>>().join("\n");
    if lines.len() > n {
        s.push_str("\n…");
    }
    s
}

pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
