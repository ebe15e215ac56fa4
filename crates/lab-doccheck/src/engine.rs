//! Running parsed rules over a folder: each rule is handed to its kind's check, and the problems
//! it finds are folded into the rule's one graded finding.

use std::path::Path;

use crate::finding::{Finding, Status};
use crate::problem::Problem;
use crate::rules::{Rule, Rules, Spec};
use crate::workspace::Workspace;
use crate::{adr, artifacts, consistency, mermaid, numbers, slo, structure, tables, xref};

/// How many problems one finding spells out; the rest are counted, so a message stays readable.
const SHOWN: usize = 4;

/// The ```mermaid blocks each mermaid rule reads, in rule order; a block two rules read is
/// listed for each.
pub(crate) fn mermaid_blocks(rules: &Rules, root: &Path) -> Vec<mermaid::MermaidBlock> {
    let mut ws = Workspace::new(root);
    rules
        .iter()
        .flat_map(|r| match &r.spec {
            Spec::Mermaid(s) => mermaid::blocks(&r.id, s, &mut ws),
            _ => Vec::new(),
        })
        .collect()
}

/// One finding per rule, in the rules file's order.
pub(crate) fn run(rules: &Rules, root: &Path) -> Vec<Finding> {
    let mut ws = Workspace::new(root);
    rules.iter().map(|r| run_rule(r, &mut ws)).collect()
}

fn run_rule(rule: &Rule, ws: &mut Workspace) -> Finding {
    let problems = match &rule.spec {
        Spec::Sections(s) => structure::sections(s, ws),
        Spec::WordFloor(s) => structure::word_floor(s, ws),
        Spec::ListItems(s) => structure::list_items(s, ws),
        Spec::Placeholders(s) => structure::placeholders(s, ws),
        Spec::Links(s) => structure::links(s, ws),
        Spec::Units(s) => numbers::units(s, ws),
        Spec::Capacity(s, exprs) => numbers::capacity(s, exprs, ws),
        Spec::Consistency(s) => consistency::rule(s, ws),
        Spec::Components(s) => xref::rule(s, ws),
        Spec::Decisions(s) => xref::decisions(s, ws),
        Spec::Slo(s) => slo::rule(s, ws),
        Spec::Mermaid(s) => mermaid::rule(s, ws),
        Spec::Api(s) => artifacts::api(s, ws),
        Spec::Table(s, preset) => tables::table(s, *preset, ws),
        Spec::Tradeoff(s) => tables::tradeoff(s, ws),
        Spec::Adr(s) => adr::rule(s, ws),
    };
    fold(&rule.id, problems)
}

fn fold(id: &str, problems: Vec<Problem>) -> Finding {
    let Some(first) = problems.first() else {
        return Finding {
            rule_id: id.to_string(),
            status: Status::Pass,
            message: String::new(),
            file: None,
            line: None,
        };
    };
    let mut message = first.message.clone();
    for p in problems.iter().skip(1).take(SHOWN - 1) {
        let place = match (&p.file, p.line) {
            (Some(file), Some(line)) if Some(file) == first.file.as_ref() => format!("line {line}"),
            (Some(file), Some(line)) => format!("{file}:{line}"),
            (Some(file), None) => file.clone(),
            _ => String::new(),
        };
        if place.is_empty() {
            message.push_str(&format!("\nalso: {}", p.message));
        } else {
            message.push_str(&format!("\nalso ({place}): {}", p.message));
        }
    }
    if problems.len() > SHOWN {
        message.push_str(&format!("\n... and {} more", problems.len() - SHOWN));
    }
    Finding { rule_id: id.to_string(), status: Status::Fail, message, file: first.file.clone(), line: first.line }
}
