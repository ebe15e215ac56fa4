//! `lab list` and `lab show`: the catalog as a learner browses it.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;

use super::Outcome;
use crate::catalog::{Catalog, Prerequisites, RunnerKind};
use crate::output::{paint, stdout as out, BOLD, DIM};

pub fn list(catalog: &Catalog) -> Result<Outcome> {
    let mut o = out();
    if catalog.labs.is_empty() {
        writeln!(o, "No labs found.")?;
        return Ok(Outcome::Success);
    }
    let mut modules: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for lab in &catalog.labs {
        modules.entry(lab.def.roadmap.module.as_str()).or_default().push(lab);
    }
    let width = catalog.labs.iter().map(|l| l.def.id.len()).max().unwrap_or(0);
    for (module, labs) in modules {
        writeln!(o, "{}", paint(BOLD, module))?;
        for lab in labs {
            let d = &lab.def;
            let tracks: Vec<&str> = d.tracks.keys().map(String::as_str).collect();
            writeln!(
                o,
                "  {:<width$}  {}  {}",
                d.id,
                d.title,
                paint(DIM, format!("[{}] {}, ~{} h", tracks.join(", "), d.difficulty, d.hours)),
            )?;
        }
        writeln!(o)?;
    }
    writeln!(o, "`lab show <lab>` for details; `lab new <lab>` to start one.")?;
    Ok(Outcome::Success)
}

pub fn show(catalog: &Catalog, id: &str) -> Result<Outcome> {
    let lab = catalog.get(id)?;
    let d = &lab.def;
    let mut o = out();
    writeln!(o, "{} {}", paint(BOLD, &d.title), paint(DIM, format!("({} v{})", d.id, d.version)))?;
    writeln!(o, "\n{}\n", d.summary.trim())?;
    writeln!(o, "{} {}", paint(BOLD, "Roadmap:"), d.roadmap.module)?;
    writeln!(o, "  serves: {}", d.roadmap.output)?;
    writeln!(o, "{} {}, about {} hours", paint(BOLD, "Difficulty:"), d.difficulty, d.hours)?;
    let tracks: Vec<String> = d
        .tracks
        .iter()
        .enumerate()
        .map(|(i, (id, t))| format!("{id} ({}){}", t.runner, if i == 0 { ", default" } else { "" }))
        .collect();
    writeln!(o, "{} {}", paint(BOLD, "Tracks:"), tracks.join("; "))?;
    writeln!(o, "{}", paint(BOLD, "Prerequisites:"))?;
    for track in d.tracks.keys() {
        writeln!(o, "  {track}: {}", prerequisites_line(&catalog.prerequisites(lab, track)?))?;
    }
    if !d.options.is_empty() {
        writeln!(o, "{}", paint(BOLD, "Options:"))?;
        for opt in &d.options {
            writeln!(
                o,
                "  --set {}={}  (default {}) {}",
                opt.name,
                opt.choices.join("|"),
                opt.default,
                opt.description
            )?;
        }
    }
    writeln!(o, "\n{}", paint(BOLD, "Stages:"))?;
    for (i, stage) in d.stages.iter().enumerate() {
        let count: usize = stage.tests.values().map(Vec::len).max().unwrap_or(0);
        writeln!(o, "  {}. {} {}", i + 1, stage.title, paint(DIM, format!("[{}, {count} tests]", stage.id)))?;
        writeln!(o, "     {}", stage.goal.trim())?;
    }
    writeln!(o, "\nStart it: lab new {}", d.id)?;
    Ok(Outcome::Success)
}

/// The Node.js the docs runner's Mermaid parser needs (runner/mermaid.rs checks the same).
const MERMAID_NODE: &str = "Node.js 20+ with npm, for the Mermaid parser (else diagrams are checked structurally)";

/// One track's prerequisites in a line: what its runner needs, then the programs lab.toml
/// declares, the optional ones last.
fn prerequisites_line(p: &Prerequisites) -> String {
    let mut required = vec![match p.runner {
        RunnerKind::Pytest => match p.requires_python.as_deref() {
            Some(spec) => match spec.strip_prefix(">=").filter(|v| !v.contains([',', '<', '>', '=', '!', '~'])) {
                Some(oldest) => format!("Python {}+ with venv", oldest.trim()),
                None => format!("Python {spec} with venv"),
            },
            None => "Python 3 with venv".to_string(),
        },
        RunnerKind::Cargo => match p.rust_version.as_deref() {
            Some(version) => format!("cargo (Rust {version}+)"),
            None => "cargo".to_string(),
        },
        RunnerKind::Docs => "nothing beyond lab".to_string(),
    }];
    let mut optional = Vec::new();
    if p.runner == RunnerKind::Docs {
        optional.push(MERMAID_NODE.to_string());
    }
    for tool in p.tools {
        let or_env = tool.or_env.as_ref().map(|v| format!(", or {v} set")).unwrap_or_default();
        let text = format!("{}{or_env} ({})", tool.tool, tool.note.trim());
        if tool.optional {
            optional.push(text)
        } else {
            required.push(text)
        }
    }
    if !optional.is_empty() {
        required.push(format!("optional: {}", optional.join(", ")));
    }
    required.join("; ")
}
