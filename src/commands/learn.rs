//! `lab hint` and `lab todo`: what to do next, one tier of help at a time.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use super::{Opened, Outcome};
use crate::catalog::{LabDef, StageDef};
use crate::output::{paint, stdout as out, terminal_width, BOLD, DIM};
use crate::report::wrap;
use crate::workspace::{self, HintState};

fn stage<'a>(def: &'a LabDef, id: &str) -> Result<&'a StageDef> {
    def.stage(id)
}

pub fn hint(opened: &Opened, stage_id: Option<&str>, all: bool) -> Result<Outcome> {
    let lab = opened.lab()?;
    let mut o = out();
    let stage = match stage_id {
        Some(id) => stage(&lab.def, id)?,
        None => match opened.progress()?.current_stage() {
            Some(current) => stage(&lab.def, &current.id)?,
            None => {
                writeln!(o, "Every stage is done. `lab hint STAGE` shows the hints of any stage.")?;
                return Ok(Outcome::Success);
            }
        },
    };
    let number = lab.def.stages.iter().position(|s| s.id == stage.id).unwrap_or(0) + 1;
    writeln!(o, "{} {}: {}", paint(BOLD, format!("Stage {number}")), stage.title, stage.goal.trim())?;
    if stage.hints.is_empty() {
        writeln!(o, "This stage has no hints.")?;
        return Ok(Outcome::Success);
    }
    let mut state = HintState::load(&opened.root);
    let seen = state.revealed.get(&stage.id).copied().unwrap_or(0);
    let upto = if all { stage.hints.len() } else { (seen + 1).min(stage.hints.len()) };
    for (i, text) in stage.hints.iter().enumerate().take(upto) {
        let label = format!("Hint {}/{}:", i + 1, stage.hints.len());
        writeln!(o, "\n{} {}", if i + 1 == upto { paint(BOLD, label) } else { paint(DIM, label) }, text.trim())?;
    }
    let left = stage.hints.len() - upto;
    if left > 0 {
        writeln!(
            o,
            "\n{left} more {}: run `lab hint` again, or `lab hint --all`.",
            if left == 1 { "tier" } else { "tiers" }
        )?;
    } else {
        writeln!(o, "\nThat was the last hint for this stage.")?;
    }
    state.revealed.insert(stage.id.clone(), upto.max(seen));
    state.save(&opened.root)?;
    Ok(Outcome::Success)
}

pub fn todo(opened: &Opened, only: Option<&str>, as_json: bool) -> Result<Outcome> {
    let lab = opened.lab()?;
    if let Some(id) = only {
        stage(&lab.def, id)?;
    }
    let todos = workspace::todos(&opened.root, &opened.manifest.grading.dir);
    let mut groups: Vec<(String, String, Vec<&workspace::Todo>)> = lab
        .def
        .stages
        .iter()
        .map(|s| (s.id.clone(), s.title.clone(), todos.iter().filter(|t| t.stage == s.id).collect()))
        .collect();
    let mut strays: Vec<&str> =
        todos.iter().map(|t| t.stage.as_str()).filter(|s| !groups.iter().any(|g| g.0 == *s)).collect();
    strays.dedup();
    for id in strays {
        groups.push((
            id.to_string(),
            "(not a stage of this lab)".into(),
            todos.iter().filter(|t| t.stage == id).collect(),
        ));
    }
    groups.retain(|g| only.is_none_or(|s| s == g.0) && !g.2.is_empty());
    let total: usize = groups.iter().map(|g| g.2.len()).sum();
    if as_json {
        let doc = TodoDocument {
            total,
            stages: groups
                .iter()
                .map(|(id, title, items)| TodoStage {
                    id,
                    title,
                    todos: items.iter().map(|t| TodoItem { path: &t.path, line: t.line, text: &t.text }).collect(),
                })
                .collect(),
        };
        writeln!(out(), "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(Outcome::Success);
    }
    let mut o = out();
    if total == 0 {
        writeln!(o, "No TODO(lab:…) markers left{}.", only.map(|s| format!(" in stage `{s}`")).unwrap_or_default())?;
        return Ok(Outcome::Success);
    }
    let width = terminal_width();
    for (id, title, items) in &groups {
        writeln!(o, "{} {}", paint(BOLD, id), paint(DIM, format!("{title} · {}", items.len())))?;
        for t in items {
            writeln!(o, "{}", todo_lines(&format!("{}:{}", t.path, t.line), &t.text, width))?;
        }
    }
    Ok(Outcome::Success)
}

/// Where a marker's text continues, under its `file:line`.
const TODO_INDENT: &str = "      ";

/// One marker for `lab todo`: `file:line` and its whole text, wrapped at word boundaries; the
/// text starts on the next line when not even its first word fits beside the location.
fn todo_lines(place: &str, text: &str, width: usize) -> String {
    let head = format!("  {place}  ");
    let room = width.saturating_sub(TODO_INDENT.len());
    let first_word = text.split_whitespace().next().map_or(0, |w| w.chars().count());
    if text.is_empty() {
        return format!("  {place}");
    }
    if head.chars().count() + first_word > width {
        return format!("  {place}\n{TODO_INDENT}{}", wrap(text, room).join(&format!("\n{TODO_INDENT}")));
    }
    // The first line has less room (the location is on it); the rest wrap under the indent.
    let first_room = width - head.chars().count();
    let mut words = text.split_whitespace().peekable();
    let mut first = String::new();
    while let Some(word) = words.peek() {
        let len = first.chars().count();
        if len > 0 && len + 1 + word.chars().count() > first_room {
            break;
        }
        if len > 0 {
            first.push(' ');
        }
        first.push_str(word);
        words.next();
    }
    let rest: Vec<&str> = words.collect();
    let mut out = format!("{head}{first}");
    if !rest.is_empty() {
        for line in wrap(&rest.join(" "), room) {
            out.push_str(&format!("\n{TODO_INDENT}{line}"));
        }
    }
    out
}

/// `lab todo --json`.
#[derive(Serialize)]
struct TodoDocument<'a> {
    total: usize,
    stages: Vec<TodoStage<'a>>,
}

#[derive(Serialize)]
struct TodoStage<'a> {
    id: &'a str,
    title: &'a str,
    todos: Vec<TodoItem<'a>>,
}

#[derive(Serialize)]
struct TodoItem<'a> {
    path: &'a str,
    line: usize,
    text: &'a str,
}
