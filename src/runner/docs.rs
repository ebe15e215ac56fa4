//! The docs runner: the built-in document checker, run in process on the pristine rules file,
//! then the real Mermaid parser over the diagrams the mermaid rules read, when it is installed.

use std::fs;
use std::time::Instant;

use anyhow::{Context, Result};
use lab_doccheck::Status;

use super::{mermaid, Early, Outcome, Run, Spec, TestResult};
use crate::workspace::SUITE_DIR;

/// The rules file every docs grading suite holds at its root.
pub const RULES_FILE: &str = "rules.toml";

pub fn run(spec: &Spec) -> Result<Run> {
    let started = Instant::now();
    let path = spec.root.join(SUITE_DIR).join(RULES_FILE);
    let rules = fs::read_to_string(&path)
        .with_context(|| format!("the grading suite has no {RULES_FILE} ({})", path.display()))?;
    let mut run =
        Run { results: Vec::new(), error: None, output: String::new(), elapsed: started.elapsed(), diagrams: None };
    match lab_doccheck::parse_rules(&rules) {
        Ok(rules) => {
            run.results = lab_doccheck::check(&rules, spec.root)
                .into_iter()
                .map(|f| TestResult {
                    name: f.rule_id,
                    outcome: match f.status {
                        Status::Pass => Outcome::Pass,
                        Status::Fail => Outcome::Fail,
                    },
                    message: f.message,
                    output: String::new(),
                    file: f.file,
                    line: f.line,
                })
                .collect();
            let blocks = lab_doccheck::mermaid_blocks(&rules, spec.root);
            // The current stage's verdicts are final now unless the Mermaid parser still has a
            // say in one of them.
            let mut early = Early::new(spec.first.as_ref());
            if let Some(first) = early.waiting() {
                if !blocks.iter().any(|b| first.contains(&b.rule_id)) {
                    let results: Vec<TestResult> =
                        run.results.iter().filter(|r| first.contains(&r.name)).cloned().collect();
                    early.report(&results);
                }
            }
            match mermaid::parse(spec.root, &blocks, spec.timeout) {
                Ok(parsed) => {
                    mermaid::apply(&mut run.results, &parsed.rejections);
                    run.diagrams = Some(parsed.diagrams);
                }
                // Node crashed or timed out: no verdict, so nothing this run found counts.
                Err(err) => {
                    run.error = Some(format!("the Mermaid diagrams could not be parsed: {err:#}"));
                    run.results.clear();
                }
            }
        }
        Err(err) => run.error = Some(format!("the grading suite's {RULES_FILE} is malformed: {err}")),
    }
    run.elapsed = started.elapsed();
    Ok(run)
}
