//! The JSON results document of a check (docs/check-results.md): a superset of Exercism's
//! test-runner results v3, derived with serde.

use serde::Serialize;

use crate::results::{Check, Counts, StageResult};
use crate::runner::mermaid::Diagrams;
use crate::status::{Reason, Status};
use crate::workspace::{Modification, Todo};

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
