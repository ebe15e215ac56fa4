//! One check of a workspace end to end: render the pristine suite, compare the learner's copy,
//! run the suite, grade the run against the lab, work out what changed, record it in the
//! history. Commands (`check`, `validate`) call this; it writes only under `.lab/`.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::catalog::{Lab, LabDef};
use crate::integrity;
use crate::results::{self, Check, EarlyStage};
use crate::runner;
use crate::scaffold;
use crate::workspace::{self, HistoryEntry, Manifest};

const REFUSED_ADVICE: &str = "These files can change what the grading reports (docs/grading-integrity.md). Remove them, or move the code out of them, and check again.";

/// What one check is asked to do.
pub struct Request<'a> {
    /// Grade only this stage.
    pub stage: Option<&'a str>,
    pub timeout: Duration,
    /// Refuse a workspace with any integrity finding, not only the blocking ones.
    pub strict: bool,
    /// Told the current stage's result the moment it is known, while the other stages are
    /// still being graded (a full check only).
    pub early: Option<&'a dyn Fn(&EarlyStage)>,
}

impl Request<'_> {
    pub fn full(timeout: Duration) -> Request<'static> {
        Request { stage: None, timeout, strict: false, early: None }
    }
}

/// Grades a workspace (or one stage of it) and appends the run to its history.
pub fn check_workspace(lab: &Lab, root: &Path, manifest: &Manifest, request: &Request) -> Result<Check> {
    let Request { stage, timeout, strict, .. } = *request;
    let started = Instant::now();
    let _lock = workspace::lock_checks(root)?;
    let integrity = integrity::scan(root);
    let refused: Vec<&integrity::Finding> = integrity.iter().filter(|f| f.blocking || strict).collect();
    if !refused.is_empty() {
        let list: Vec<String> = refused.iter().map(|f| format!("  {}: {}", f.path, f.message)).collect();
        anyhow::bail!(
            "{} refuses to grade this workspace:\n{}\n{REFUSED_ADVICE}",
            if strict { "lab check --strict" } else { "lab check" },
            list.join("\n")
        );
    }
    let track = manifest.track.as_str();
    let tdef = lab.def.track(track)?;
    let pristine = scaffold::grading(lab, track, &manifest.vars)?;
    let modified = workspace::grading_changes(root, &manifest.grading, &pristine);
    let only = stage.map(|id| lab.def.stages.iter().find(|s| s.id == id).and_then(|s| s.tests.get(track)));
    let previous = workspace::latest_history(root, manifest);
    let current = match (stage, request.early) {
        (None, Some(_)) => current_stage(&lab.def, track, previous.as_ref()),
        _ => None,
    };
    let early_done = |results: &[runner::TestResult]| {
        let (Some((index, id)), Some(tell)) = (current, request.early) else { return };
        let run = runner::Run {
            results: results.to_vec(),
            error: None,
            output: String::new(),
            elapsed: started.elapsed(),
            diagrams: None,
        };
        tell(&EarlyStage {
            number: index + 1,
            graded: results::grade(&lab.def, track, &run, Some(id)),
            elapsed: started.elapsed(),
            others: lab.def.stages.len() - 1,
        });
    };
    let first_tests = current.and_then(|(index, _)| lab.def.stages[index].tests.get(track));
    let run = runner::run(&runner::Spec {
        root,
        runner: tdef.runner,
        suite: &pristine,
        grading_dir: &manifest.grading.dir,
        timeout,
        only: only.flatten().map(Vec::as_slice),
        plugins: &tdef.pytest_plugins,
        first: first_tests.map(|tests| runner::First { tests, done: &early_done }),
    })?;
    let graded = results::grade(&lab.def, track, &run, stage);
    let (newly_passing, regressed) = results::changes_since(previous.as_ref(), &graded);
    let todos = workspace::todos(root, &manifest.grading.dir);
    let next_todo = results::next_todo(&graded, &todos).cloned();
    workspace::append_history(
        root,
        manifest,
        &HistoryEntry {
            format_version: workspace::HISTORY_FORMAT_VERSION,
            time: workspace::now_rfc3339(),
            lab_version: lab.def.version.clone(),
            status: graded.status,
            passed: graded.counts.passed,
            total: graded.counts.total,
            tests: graded.tests.iter().map(|t| (t.name.clone(), t.status)).collect(),
            stage: stage.map(str::to_string),
            mac: None,
        },
    )?;
    let version_note = (manifest.lab_version != lab.def.version).then(|| {
        format!(
            "note: this workspace was made from lab version {}; it was graded with version {}",
            manifest.lab_version, lab.def.version
        )
    });
    Ok(Check {
        lab: lab.def.id.clone(),
        track: track.to_string(),
        lab_version: lab.def.version.clone(),
        graded,
        modified,
        newly_passing,
        regressed,
        next_todo,
        first_check: previous.is_none(),
        runner_output: run.output.clone(),
        elapsed_ms: started.elapsed().as_millis(),
        runner_ms: run.elapsed.as_millis(),
        version_note,
        integrity,
        diagrams: run.diagrams.clone(),
    })
}

/// The stage the learner is on: the first one whose tests did not all pass at the last check
/// (the first stage before any check); None when everything passed last time.
fn current_stage<'a>(def: &'a LabDef, track: &str, previous: Option<&HistoryEntry>) -> Option<(usize, &'a str)> {
    def.stages.iter().enumerate().find_map(|(index, stage)| {
        let tests = stage.tests.get(track)?;
        let done = previous.is_some_and(|p| tests.iter().all(|t| p.tests.get(t).is_some_and(|s| s.is_pass())));
        (!done && !tests.is_empty()).then_some((index, stage.id.as_str()))
    })
}
