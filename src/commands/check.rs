//! `lab setup` and `lab check`: find the workspace, prepare its runner, grade it with the
//! pristine suite, record the run, report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use super::Outcome;
use crate::catalog::{Catalog, Lab, RunnerKind};
use crate::cli::Check as CheckArgs;
use crate::report;
use crate::results::{self, Check, Status};
use crate::runner::{self, python};
use crate::scaffold;
use crate::workspace::{self, HistoryEntry, Manifest};

/// The workspace at or above the current folder, its manifest and its lab.
struct Opened {
    root: PathBuf,
    manifest: Manifest,
    catalog: Catalog,
}

fn open(labs_dirs: &[PathBuf]) -> Result<Opened> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let root = workspace::find_root(&cwd)?;
    let manifest = Manifest::load(&root)?;
    let mut dirs = labs_dirs.to_vec();
    if let Some(dir) = &manifest.labs_dir {
        if dir.is_dir() && !dirs.contains(dir) {
            dirs.push(dir.clone());
        }
    }
    let catalog = Catalog::load(&dirs)?;
    Ok(Opened { root, manifest, catalog })
}

fn lab_of(opened: &Opened) -> Result<&Lab> {
    let m = &opened.manifest;
    opened.catalog.get(&m.lab).map_err(|e| match &m.labs_dir {
        Some(dir) => anyhow!(
            "this workspace's lab `{}` came from {}, which is gone: pass --labs-dir with the folder that holds it",
            m.lab,
            dir.display()
        ),
        None => e.context(format!("this workspace was made by lab {}", m.tool_version)),
    })
}

pub fn setup(labs_dirs: &[PathBuf]) -> Result<Outcome> {
    let opened = open(labs_dirs)?;
    let lab = lab_of(&opened)?;
    setup_workspace(lab, &opened.manifest.track, &opened.root, python::Install::AsDeclared, false)?;
    println!("Ready: run `lab check`.");
    Ok(Outcome::Success)
}

/// Prepares a workspace's runner: for pytest tracks a venv with the declared dependencies.
pub fn setup_workspace(lab: &Lab, track: &str, root: &Path, install: python::Install, quiet: bool) -> Result<()> {
    let tdef = lab.def.track(track)?;
    match tdef.runner {
        RunnerKind::Pytest => {
            python::setup(root, &tdef.setup, install, quiet)?;
        }
        RunnerKind::Cargo | RunnerKind::Docs => {}
    }
    Ok(())
}

pub fn check(labs_dirs: &[PathBuf], args: CheckArgs) -> Result<Outcome> {
    let opened = open(labs_dirs)?;
    let lab = lab_of(&opened)?;
    if let Some(stage) = &args.stage {
        if !lab.def.stages.iter().any(|s| &s.id == stage) {
            let ids: Vec<&str> = lab.def.stages.iter().map(|s| s.id.as_str()).collect();
            anyhow::bail!("lab `{}` has no stage `{stage}`; its stages: {}", lab.def.id, ids.join(", "));
        }
    }
    let check = check_workspace(lab, &opened.root, &opened.manifest, args.stage.as_deref(), args.timeout)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report::json_document(&check))?);
    } else {
        report::print_human(&check, args.verbose)?;
    }
    Ok(match check.graded.status {
        Status::Pass => Outcome::Success,
        Status::Fail => Outcome::Failed,
        Status::Error => Outcome::Error,
    })
}

/// Grades a workspace and appends the run to its history. Writes only under `.lab/`.
pub fn check_workspace(
    lab: &Lab,
    root: &Path,
    manifest: &Manifest,
    stage: Option<&str>,
    timeout: Duration,
) -> Result<Check> {
    let started = Instant::now();
    let track = manifest.track.as_str();
    let tdef = lab.def.track(track)?;
    let pristine = scaffold::grading(lab, track, &manifest.vars)?;
    let modified = workspace::grading_changes(root, &tdef.grading_dir, &pristine);
    let run = runner::run(&runner::Spec {
        root,
        runner: tdef.runner,
        suite: &pristine,
        grading_dir: &tdef.grading_dir,
        timeout,
    })?;
    let graded = results::grade(&lab.def, track, &run, stage);
    let previous = workspace::last_history(root);
    let (newly_passing, regressed) = results::changes_since(previous.as_ref(), &graded);
    let todos = workspace::todos(root, &tdef.grading_dir);
    let next_todo = results::next_todo(&graded, &todos).cloned();
    workspace::append_history(
        root,
        &HistoryEntry {
            format_version: workspace::HISTORY_FORMAT_VERSION,
            time: workspace::now_rfc3339(),
            lab_version: lab.def.version.clone(),
            status: graded.status.as_str().to_string(),
            passed: graded.counts.passed,
            total: graded.counts.total,
            tests: graded.tests.iter().map(|t| (t.name.clone(), t.status.as_str().to_string())).collect(),
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
        title: lab.def.title.clone(),
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
    })
}
