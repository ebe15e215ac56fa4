//! `lab progress`, `lab status` and `lab report`: how far a learner has come, in one workspace,
//! across a folder of workspaces, and on the workspace README's front page.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::{open_at, Opened, Outcome};
use crate::output::{paint, stdout as out, BOLD, DIM, GREEN, RED, YELLOW};
use crate::progress::{chart, Progress};
use crate::report::truncate;

const CHART_WIDTH: usize = 60;
const CHART_HEIGHT: usize = 4;
/// How deep `lab status` looks for workspaces below its folder.
const STATUS_DEPTH: usize = 6;
/// Folders `lab status` never descends into.
const NOT_PORTFOLIO: &[&str] = &[".git", ".venv", "venv", "node_modules", "target", "__pycache__", ".lab"];
pub const REPORT_START: &str = "<!-- lab:progress -->";
pub const REPORT_END: &str = "<!-- /lab:progress -->";

/// The date part of an RFC 3339 time.
fn day(time: &str) -> &str {
    time.get(..10).unwrap_or(time)
}

pub fn progress(opened: &Opened, as_json: bool) -> Result<Outcome> {
    let lab = opened.lab()?;
    let p = opened.progress()?;
    if as_json {
        let doc = ProgressDocument {
            lab: &lab.def.id,
            track: &opened.manifest.track,
            checks: p.checks,
            passed: p.passed,
            total: p.total,
            percent: p.percent(),
            last_checked: p.last_checked.as_deref(),
            stages: &p.stages,
            points: &p.points,
            regressions: &p.regressions,
            unverified: p.unverified,
        };
        writeln!(out(), "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Outcome::Success);
    }
    let mut o = out();
    if p.unverified > 0 {
        writeln!(o, "{} {}", paint(YELLOW, "note:"), unverified_note(p.unverified))?;
    }
    if p.checks == 0 {
        writeln!(o, "No checks yet: run `lab check` to record your first.")?;
        return Ok(Outcome::Success);
    }
    writeln!(
        o,
        "{} {}",
        paint(BOLD, &lab.def.id),
        paint(DIM, format!("({} track) · {} checks since {}", opened.manifest.track, p.checks, day(&p.points[0].time)))
    )?;
    writeln!(o, "\n{}", paint(BOLD, "Stages"))?;
    for (i, s) in p.stages.iter().enumerate() {
        let (mark, style) = crate::report::stage_mark(s.done, s.passed);
        let when = match (&s.first_done, s.done) {
            (Some(t), true) => format!("done {}", day(t)),
            (Some(t), false) => format!("first done {}, not passing now", day(t)),
            _ => String::new(),
        };
        writeln!(
            o,
            "  {} {:<2} {:<40} {:>3}/{:<3} {}",
            paint(style, mark),
            i + 1,
            truncate(&s.title, 40),
            s.passed,
            s.total,
            paint(DIM, when)
        )?;
    }
    writeln!(
        o,
        "\n{} {}",
        paint(BOLD, "Tests passing per check"),
        paint(DIM, format!("(last {} of {})", p.points.len().min(CHART_WIDTH), p.checks))
    )?;
    for row in chart(&p.points, CHART_WIDTH, CHART_HEIGHT) {
        writeln!(o, "  │{}", paint(GREEN, row))?;
    }
    writeln!(o, "  └{}", "─".repeat(p.points.len().min(CHART_WIDTH)))?;
    writeln!(o, "  now {}/{} ({}%)", p.passed, p.total, p.percent())?;
    if !p.regressions.is_empty() {
        writeln!(o, "\n{}", paint(BOLD, "Regressions"))?;
        for r in &p.regressions {
            let fixed = match &r.fixed_at {
                Some(t) => paint(GREEN, format!("fixed {t}")),
                None => paint(RED, "still failing"),
            };
            writeln!(o, "  {}  broke {}, {fixed}", r.test, r.at)?;
        }
    }
    Ok(Outcome::Success)
}

/// `lab progress --json`.
#[derive(Serialize)]
struct ProgressDocument<'a> {
    lab: &'a str,
    track: &'a str,
    checks: usize,
    passed: usize,
    total: usize,
    percent: usize,
    last_checked: Option<&'a str>,
    stages: &'a [crate::progress::StageProgress],
    points: &'a [crate::progress::Point],
    regressions: &'a [crate::progress::Regression],
    unverified: usize,
}

/// One workspace in `lab status --json`.
#[derive(Serialize)]
struct StatusRow<'a> {
    path: &'a str,
    lab: &'a str,
    track: &'a str,
    stages_done: Option<usize>,
    stages: Option<usize>,
    passed: Option<usize>,
    total: Option<usize>,
    percent: Option<usize>,
    last_checked: Option<&'a str>,
    unverified: Option<usize>,
    problem: Option<&'a str>,
}

struct Row {
    path: String,
    lab: String,
    track: String,
    progress: Option<Progress>,
    problem: Option<String>,
}

pub fn status(labs_dirs: &[PathBuf], dir: &Path, as_json: bool) -> Result<Outcome> {
    if !dir.is_dir() {
        bail!("{} is not a folder; `lab status [DIR]` looks for lab workspaces under DIR", dir.display());
    }
    let mut found = Vec::new();
    find_workspaces(dir, STATUS_DEPTH, &mut found);
    found.sort();
    let rows: Vec<Row> = found
        .iter()
        .map(|root| {
            let path = root.strip_prefix(dir).unwrap_or(root).to_string_lossy().to_string();
            let path = if path.is_empty() { ".".to_string() } else { path };
            match open_at(root, labs_dirs) {
                Ok(opened) => {
                    let m = &opened.manifest;
                    let (progress, problem) = match opened.progress() {
                        Ok(p) => (Some(p), None),
                        Err(e) => (None, Some(format!("{e:#}"))),
                    };
                    Row { path, lab: m.lab.clone(), track: m.track.clone(), progress, problem }
                }
                Err(e) => {
                    Row { path, lab: "?".into(), track: "?".into(), progress: None, problem: Some(format!("{e:#}")) }
                }
            }
        })
        .collect();
    if as_json {
        let doc: Vec<StatusRow> = rows
            .iter()
            .map(|r| {
                let p = r.progress.as_ref();
                StatusRow {
                    path: &r.path,
                    lab: &r.lab,
                    track: &r.track,
                    stages_done: p.map(Progress::stages_done),
                    stages: p.map(|p| p.stages.len()),
                    passed: p.map(|p| p.passed),
                    total: p.map(|p| p.total),
                    percent: p.map(Progress::percent),
                    last_checked: p.and_then(|p| p.last_checked.as_deref()),
                    unverified: p.map(|p| p.unverified),
                    problem: r.problem.as_deref(),
                }
            })
            .collect();
        writeln!(out(), "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Outcome::Success);
    }
    let mut o = out();
    if rows.is_empty() {
        writeln!(o, "No lab workspaces under {}.", dir.display())?;
        return Ok(Outcome::Success);
    }
    let width = rows.iter().map(|r| r.path.chars().count()).max().unwrap_or(4).clamp(4, 40);
    writeln!(
        o,
        "{}",
        paint(
            BOLD,
            format!("{:<width$}  {:<16} {:<7} {:>7} {:>5}  LAST CHECKED", "PATH", "LAB", "TRACK", "STAGES", "DONE")
        )
    )?;
    for r in &rows {
        let (stages, pct, last) = match &r.progress {
            Some(p) => (
                format!("{}/{}", p.stages_done(), p.stages.len()),
                format!("{}%", p.percent()),
                p.last_checked
                    .as_deref()
                    .map(|t| t.replace('T', " ").trim_end_matches('Z').to_string())
                    .unwrap_or_else(|| "never".into()),
            ),
            None => ("?".into(), "?".into(), paint(RED, r.problem.as_deref().unwrap_or("unreadable"))),
        };
        writeln!(
            o,
            "{:<width$}  {:<16} {:<7} {:>7} {:>5}  {last}",
            truncate(&r.path, width),
            truncate(&r.lab, 16),
            r.track,
            stages,
            pct
        )?;
    }
    for r in rows.iter().filter(|r| r.progress.as_ref().is_some_and(|p| p.unverified > 0)) {
        let n = r.progress.as_ref().map_or(0, |p| p.unverified);
        writeln!(o, "{} {}: {}", paint(YELLOW, "note:"), r.path, unverified_note(n))?;
    }
    Ok(Outcome::Success)
}

fn find_workspaces(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if dir.join(crate::workspace::MANIFEST).is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    if depth == 0 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if entry.file_type().is_ok_and(|t| t.is_dir()) && !NOT_PORTFOLIO.contains(&name.to_string_lossy().as_ref()) {
            find_workspaces(&entry.path(), depth - 1, out);
        }
    }
}

pub fn report(opened: &Opened, quiet: bool) -> Result<Outcome> {
    let lab = opened.lab()?;
    let p = opened.progress()?;
    let docs = lab.def.track(&opened.manifest.track).is_ok_and(|t| t.runner == crate::catalog::RunnerKind::Docs);
    let section = progress_section(&lab.def.title, &lab.def.id, &lab.def.version, &opened.manifest.track, docs, &p);
    let path = opened.root.join("README.md");
    let old = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let new = splice(&old, &section)?;
    if new != old {
        fs::write(&path, &new).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !quiet && p.unverified > 0 {
        writeln!(out(), "{} {}", paint(YELLOW, "note:"), unverified_note(p.unverified))?;
    }
    if !quiet {
        writeln!(
            out(),
            "README.md: progress section {} ({}/{} tests, {} of {} stages).",
            if old.contains(REPORT_START) { "refreshed" } else { "added at the end" },
            p.passed,
            p.total,
            p.stages_done(),
            p.stages.len()
        )?;
    }
    Ok(Outcome::Success)
}

/// Under a document lab's progress: what the checks prove and what they cannot.
const DOCS_REPORT_NOTE: &str = "The checks prove the document complete and internally consistent (sections, \
arithmetic, units, SLO budgets, diagrams, cross-references, ADRs); whether the design is good is a reviewer's \
judgement, not a score. REVIEW.md is the rubric for that review.";

/// Said wherever history is shown and some of it was left out.
fn unverified_note(n: usize) -> String {
    format!(
        "{n} line{} of .lab/history.jsonl could not be verified (edited, written by something other than lab, or recorded on another machine) and {} not counted; run `lab check` for a grade made here",
        if n == 1 { "" } else { "s" },
        if n == 1 { "is" } else { "are" }
    )
}

fn progress_section(title: &str, id: &str, version: &str, track: &str, docs: bool, p: &Progress) -> String {
    let mut s = format!("{REPORT_START}\n## Progress\n\n");
    // A document's checks prove it complete and consistent, not good: no percentage that reads
    // as a grade, and a pointer to the human review.
    let result = if docs {
        format!("{}/{} automated document checks passed", p.passed, p.total)
    } else {
        format!("{}/{} tests passing ({}%)", p.passed, p.total, p.percent())
    };
    s.push_str(&format!(
        "**{title}** (`{id}` lab v{version}, {track} track): {result}, {} of {} stages done",
        p.stages_done(),
        p.stages.len()
    ));
    match &p.last_checked {
        Some(t) => s.push_str(&format!("; last checked {}.\n\n", day(t))),
        None => s.push_str("; not checked yet.\n\n"),
    }
    s.push_str("| Stage | Tests | Completed |\n| --- | --- | --- |\n");
    for (i, st) in p.stages.iter().enumerate() {
        let done = match (&st.first_done, st.done) {
            (Some(t), true) => day(t).to_string(),
            (Some(t), false) => format!("{} (failing now)", day(t)),
            _ => "–".to_string(),
        };
        s.push_str(&format!("| {}. {} | {}/{} | {done} |\n", i + 1, st.title, st.passed, st.total));
    }
    if docs {
        s.push_str(&format!("\n{DOCS_REPORT_NOTE}\n"));
    }
    s.push_str(&format!("\n<sub>Written by `lab report` from `.lab/history.jsonl`.</sub>\n{REPORT_END}"));
    s
}

/// Replaces what lies between the markers (markers included), or appends the section.
fn splice(old: &str, section: &str) -> Result<String> {
    match (old.find(REPORT_START), old.find(REPORT_END)) {
        (Some(start), Some(end)) if end > start => {
            Ok(format!("{}{section}{}", &old[..start], &old[end + REPORT_END.len()..]))
        }
        (None, None) => {
            let sep = if old.is_empty() || old.ends_with("\n\n") {
                ""
            } else if old.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            Ok(format!("{old}{sep}{section}\n"))
        }
        _ => bail!("README.md has a broken progress section: it needs `{REPORT_START}` followed by `{REPORT_END}`; fix or remove the markers"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_between_the_markers() {
        let old = format!("# Me\n\nintro\n\n{REPORT_START}\nold\n{REPORT_END}\n\n## After\n");
        let new = splice(&old, &format!("{REPORT_START}\nnew\n{REPORT_END}")).unwrap();
        assert_eq!(new, format!("# Me\n\nintro\n\n{REPORT_START}\nnew\n{REPORT_END}\n\n## After\n"));
        assert_eq!(splice("# Me\n", "S").unwrap(), "# Me\n\nS\n");
        assert_eq!(splice("", "S").unwrap(), "S\n");
        assert!(splice(&format!("{REPORT_END}\n{REPORT_START}"), "S").is_err());
        assert!(splice(&format!("x {REPORT_START} y"), "S").is_err());
    }
}
