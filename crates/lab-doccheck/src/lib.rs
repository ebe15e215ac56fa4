//! The built-in document checker: grades Markdown design documents against a TOML rules file.
//! Each rule is one graded test; its outcome names the file and line to look at and says what to
//! do. The rules file format is documented in docs/doc-rules.md.

mod adr;
mod artifacts;
mod formula;
mod json;
mod markdown;
mod mermaid;
mod numbers;
mod problem;
mod rules;
mod spec;
mod structure;
mod tables;
mod text;
mod workspace;

#[cfg(test)]
mod tests;

use std::path::Path;

use problem::Problem;
use rules::Spec;
use workspace::Workspace;

/// One graded rule's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleOutcome {
    /// The rule id from the rules file; this is the graded test name.
    pub id: String,
    pub passed: bool,
    /// Empty when passed; otherwise says what is wrong and what to do.
    pub message: String,
    /// Path relative to the workspace root, '/'-separated.
    pub file: Option<String>,
    /// 1-based.
    pub line: Option<u32>,
}

/// Parse the rules file (TOML text) and check the documents under `root`.
/// Err only for a malformed rules file (message names the problem and the rule); a missing or
/// malformed *document* is a failed rule with a message, never an Err and never a panic.
pub fn check(rules_toml: &str, root: &Path) -> anyhow::Result<Vec<RuleOutcome>> {
    let rules = rules::parse(rules_toml)?;
    let mut ws = Workspace::new(root);
    Ok(rules.iter().map(|r| run_rule(r, &mut ws)).collect())
}

/// How many problems one outcome spells out; the rest are counted, so a message stays readable.
const SHOWN: usize = 4;

fn fold(id: &str, problems: Vec<Problem>) -> RuleOutcome {
    let Some(first) = problems.first() else {
        return RuleOutcome { id: id.to_string(), passed: true, message: String::new(), file: None, line: None };
    };
    let mut message = first.message.clone();
    for f in problems.iter().skip(1).take(SHOWN - 1) {
        let place = match (&f.file, f.line) {
            (Some(file), Some(line)) if Some(file) == first.file.as_ref() => format!("line {line}"),
            (Some(file), Some(line)) => format!("{file}:{line}"),
            (Some(file), None) => file.clone(),
            _ => String::new(),
        };
        if place.is_empty() {
            message.push_str(&format!("\nalso: {}", f.message));
        } else {
            message.push_str(&format!("\nalso ({place}): {}", f.message));
        }
    }
    if problems.len() > SHOWN {
        message.push_str(&format!("\n... and {} more", problems.len() - SHOWN));
    }
    RuleOutcome { id: id.to_string(), passed: false, message, file: first.file.clone(), line: first.line }
}

fn run_rule(rule: &rules::Rule, ws: &mut Workspace) -> RuleOutcome {
    let problems = match &rule.spec {
        Spec::Sections(s) => structure::sections(s, ws),
        Spec::WordFloor(s) => structure::word_floor(s, ws),
        Spec::ListItems(s) => structure::list_items(s, ws),
        Spec::Placeholders(s) => structure::placeholders(s, ws),
        Spec::Links(s) => structure::links(s, ws),
        Spec::Units(s) => numbers::units(s, ws),
        Spec::Capacity(s, exprs) => numbers::capacity(s, exprs, ws),
        Spec::Slo(s) => numbers::slo(s, ws),
        Spec::Mermaid(s) => mermaid::rule(s, ws),
        Spec::Api(s) => artifacts::api(s, ws),
        Spec::Table(s, preset) => tables::table(s, *preset, ws),
        Spec::Tradeoff(s) => tables::tradeoff(s, ws),
        Spec::Adr(s) => adr::rule(s, ws),
    };
    fold(&rule.id, problems)
}
