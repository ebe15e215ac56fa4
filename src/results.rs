//! A run's results graded against the lab: every declared test gets a status (a test that did
//! not run fails), stages are tallied, and the change since the previous check is worked out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::LabDef;
use crate::runner::{Outcome, Run};
use crate::status::{Reason, Status};
use crate::workspace::{HistoryEntry, Modification, Todo};

#[derive(Debug, Clone)]
pub struct GradedTest {
    pub name: String,
    pub status: Status,
    /// Why it did not pass; None when it passed.
    pub reason: Option<Reason>,
    pub message: String,
    pub output: String,
    /// 1-based stage number (Exercism's task id).
    pub task_id: usize,
    pub stage: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StageResult {
    pub id: String,
    pub title: String,
    pub passed: usize,
    pub total: usize,
    pub done: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub total: usize,
}

#[derive(Debug, Clone)]
pub struct Graded {
    pub status: Status,
    pub message: Option<String>,
    pub tests: Vec<GradedTest>,
    pub stages: Vec<StageResult>,
    pub counts: Counts,
    /// Tests the runner reported that lab.toml does not declare (a lab author's mistake).
    pub undeclared: Vec<String>,
}

/// Grades a run. `only_stage` limits the grading to one stage.
pub fn grade(def: &LabDef, track: &str, run: &Run, only_stage: Option<&str>) -> Graded {
    let mut reported: BTreeMap<&str, &crate::runner::TestResult> =
        run.results.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut tests = Vec::new();
    let mut stages = Vec::new();
    for (index, stage) in def.stages.iter().enumerate() {
        if only_stage.is_some_and(|s| s != stage.id) {
            for name in stage.tests.get(track).into_iter().flatten() {
                reported.remove(name.as_str());
            }
            continue;
        }
        let mut passed = 0;
        let names = stage.tests.get(track).map(Vec::as_slice).unwrap_or_default();
        for name in names {
            let test = match (&run.error, reported.remove(name.as_str())) {
                (Some(_), _) => GradedTest {
                    status: Status::Error,
                    reason: Some(Reason::RunnerError),
                    message: "not graded: the runner failed (see the message above)".into(),
                    ..blank(name, index, &stage.id)
                },
                (None, None) => GradedTest {
                    status: Status::Fail,
                    reason: Some(Reason::NotRun),
                    message: "not run: the runner did not report this test".into(),
                    ..blank(name, index, &stage.id)
                },
                (None, Some(r)) => GradedTest {
                    status: match r.outcome {
                        Outcome::Pass => Status::Pass,
                        Outcome::Error => Status::Error,
                        Outcome::Fail | Outcome::Skipped => Status::Fail,
                    },
                    reason: match r.outcome {
                        Outcome::Pass => None,
                        Outcome::Skipped => Some(Reason::Skipped),
                        Outcome::Fail => Some(Reason::Failed),
                        Outcome::Error => Some(Reason::Errored),
                    },
                    message: if r.outcome == Outcome::Skipped && !r.message.starts_with("skipped") {
                        format!("skipped: {}", r.message)
                    } else {
                        r.message.clone()
                    },
                    output: r.output.clone(),
                    file: r.file.clone(),
                    line: r.line,
                    ..blank(name, index, &stage.id)
                },
            };
            passed += usize::from(test.status == Status::Pass);
            tests.push(test);
        }
        stages.push(StageResult {
            id: stage.id.clone(),
            title: stage.title.clone(),
            passed,
            total: names.len(),
            done: passed == names.len(),
        });
    }
    let counts = Counts {
        passed: tests.iter().filter(|t| t.status == Status::Pass).count(),
        failed: tests.iter().filter(|t| t.status == Status::Fail).count(),
        errors: tests.iter().filter(|t| t.status == Status::Error).count(),
        total: tests.len(),
    };
    let status = if run.error.is_some() {
        Status::Error
    } else if counts.passed == counts.total {
        Status::Pass
    } else {
        Status::Fail
    };
    Graded {
        status,
        message: run.error.clone(),
        tests,
        stages,
        counts,
        undeclared: if run.error.is_some() { Vec::new() } else { reported.keys().map(|k| k.to_string()).collect() },
    }
}

fn blank(name: &str, index: usize, stage: &str) -> GradedTest {
    GradedTest {
        name: name.to_string(),
        status: Status::Fail,
        reason: None,
        message: String::new(),
        output: String::new(),
        task_id: index + 1,
        stage: stage.to_string(),
        file: None,
        line: None,
    }
}

/// Tests that pass now but did not last time, and the other way round. Only tests graded in
/// both checks are compared.
pub fn changes_since(previous: Option<&HistoryEntry>, graded: &Graded) -> (Vec<String>, Vec<String>) {
    let Some(previous) = previous else { return (Vec::new(), Vec::new()) };
    let mut newly_passing = Vec::new();
    let mut regressed = Vec::new();
    for test in &graded.tests {
        let Some(before) = previous.tests.get(&test.name) else { continue };
        let was = before.is_pass();
        let is = test.status.is_pass();
        if is && !was {
            newly_passing.push(test.name.clone());
        } else if was && !is {
            regressed.push(test.name.clone());
        }
    }
    (newly_passing, regressed)
}

/// The TODO marker to work on next: the first one of the first stage not yet done that is in
/// the learner's code. None when that stage has none left there, and the report names that
/// stage's first failure instead: a marker of a later stage, or one in the learner's own tests,
/// would point away from what fails.
pub fn next_todo<'a>(graded: &Graded, todos: &'a [Todo]) -> Option<&'a Todo> {
    let stage = graded.stages.iter().find(|s| !s.done)?;
    todos.iter().find(|t| t.stage == stage.id && !in_learners_tests(&t.path))
}

/// Top-level folders where starters keep the learner's own tests.
const LEARNERS_TESTS: &[&str] = &["tests/", "test/"];

fn in_learners_tests(path: &str) -> bool {
    LEARNERS_TESTS.iter().any(|dir| path.starts_with(dir))
}

/// The stage the learner is on, graded ahead of the rest.
pub struct EarlyStage {
    /// 1-based.
    pub number: usize,
    /// That stage alone; its tests carry no locations or output yet.
    pub graded: Graded,
    /// Since the check began.
    pub elapsed: std::time::Duration,
    /// How many stages are still being graded.
    pub others: usize,
}

/// Everything a report shows about one check.
#[derive(Debug, Clone)]
pub struct Check {
    pub lab: String,
    pub track: String,
    pub lab_version: String,
    pub graded: Graded,
    pub modified: Vec<Modification>,
    pub newly_passing: Vec<String>,
    pub regressed: Vec<String>,
    pub next_todo: Option<Todo>,
    pub first_check: bool,
    pub runner_output: String,
    pub elapsed_ms: u128,
    /// The part of elapsed_ms the runner itself took.
    pub runner_ms: u128,
    /// Set when the lab in this binary is newer or older than the one the workspace was made from.
    pub version_note: Option<String>,
    /// Files that could influence grading, found before the run (none of them blocking).
    pub integrity: Vec<crate::integrity::Finding>,
    /// Docs tracks: whether the Mermaid diagrams were parsed or only scanned.
    pub diagrams: Option<crate::runner::mermaid::Diagrams>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graded(done: &[bool]) -> Graded {
        Graded {
            status: Status::Fail,
            message: None,
            tests: Vec::new(),
            stages: done
                .iter()
                .enumerate()
                .map(|(i, &done)| StageResult {
                    id: format!("s{}", i + 1),
                    title: String::new(),
                    passed: 0,
                    total: 1,
                    done,
                })
                .collect(),
            counts: Counts { passed: 0, failed: 0, errors: 0, total: 0 },
            undeclared: Vec::new(),
        }
    }

    fn todo(stage: &str, path: &str) -> Todo {
        Todo { stage: stage.into(), path: path.into(), line: 1, text: String::new() }
    }

    #[test]
    fn next_is_a_marker_of_the_first_open_stage_in_the_learners_code_or_nothing() {
        let todos = [
            todo("s1", "src/a.py"),
            todo("s2", "tests/test_algorithms.py"),
            todo("s2", "src/b.py"),
            todo("s3", "src/c.py"),
        ];
        assert_eq!(next_todo(&graded(&[false, false]), &todos).map(|t| t.path.as_str()), Some("src/a.py"));
        assert_eq!(next_todo(&graded(&[true, false]), &todos).map(|t| t.path.as_str()), Some("src/b.py"));
        // Stage 2's only marker left is in the learner's own tests; stage 3's is not its business.
        let left = [todo("s2", "tests/test_algorithms.py"), todo("s3", "src/c.py")];
        assert_eq!(next_todo(&graded(&[true, false, false]), &left), None);
        assert_eq!(next_todo(&graded(&[true, true]), &todos), None);
    }
}
