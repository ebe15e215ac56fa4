//! `lab setup` and `lab check`: find the workspace, prepare its runner, grade it with the
//! pristine suite, record the run, report.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{given_on_command_line, open, Outcome};
use crate::catalog::RunnerKind;
use crate::cli::Check as CheckArgs;
use crate::grading::{check_workspace, Request};
use crate::output;
use crate::process;
use crate::report;
use crate::results::Check;
use crate::results::EarlyStage;
use crate::runner::{self, python};
use crate::spinner::Spinner;
use crate::status::Status;

pub fn setup(labs_dirs: &[PathBuf], quiet: bool) -> Result<Outcome> {
    let opened = open(labs_dirs)?;
    let lab = opened.lab()?;
    // The programs the lab declares, checked before anything is installed: a missing one that
    // grading needs stops setup with the fix; a missing optional one is a note.
    let needs = opened.catalog.prerequisites(lab, &opened.manifest.track)?;
    if needs.runner == RunnerKind::Cargo && !process::on_path("cargo") {
        anyhow::bail!("{NO_CARGO}");
    }
    // Every missing program gets its own line, so one run of setup tells all there is to do.
    let mut missing = Vec::new();
    for tool in needs.tools.iter().filter(|t| !present(t)) {
        let or_env = tool.or_env.as_ref().map(|v| format!("; or set {v}")).unwrap_or_default();
        if tool.optional {
            if !quiet {
                crate::say!("note: {} is not on PATH ({}{or_env}): grading works without it", tool.tool, tool.note);
            }
        } else {
            missing.push(format!("  {}: {}{or_env}", tool.tool, tool.note));
        }
    }
    if !missing.is_empty() {
        anyhow::bail!(
            "this lab needs programs that are not on this machine:\n{}\ninstall or start them and run `lab setup` again",
            missing.join("\n")
        );
    }
    runner::setup(
        lab,
        &opened.manifest.track,
        &opened.manifest.vars,
        &opened.root,
        python::Install::AsDeclared,
        quiet,
    )?;
    if !quiet {
        writeln!(output::stdout(), "Ready: run `lab check`.")?;
    }
    Ok(Outcome::Success)
}

/// A declared program is there: on PATH, in one of its `also_in` folders, or stood for by its
/// `or_env` variable (a server elsewhere).
fn present(tool: &crate::catalog::ToolDef) -> bool {
    tool.or_env.as_ref().is_some_and(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
        || process::find_program(&tool.tool, &tool.also_in).is_some()
}

pub fn check(labs_dirs: &[PathBuf], args: CheckArgs, quiet: bool) -> Result<Outcome> {
    let opened = open(labs_dirs)?;
    if args.strict
        && opened.manifest.labs_dir.is_some()
        && !given_on_command_line(opened.manifest.labs_dir.as_deref(), labs_dirs)
    {
        anyhow::bail!(
            "lab check --strict grades a custom lab only from a labs folder named on the command line; this workspace's manifest names {}: pass it with --labs-dir if you trust it",
            opened.manifest.labs_dir.as_deref().unwrap_or(Path::new("")).display()
        );
    }
    let lab = opened.lab()?;
    if let Some(stage) = &args.stage {
        lab.def.stage(stage)?;
    }
    if args.watch {
        return super::watch::watch(&opened, lab, &args, quiet);
    }
    let spinner = (!args.json && !quiet && std::io::stderr().is_terminal()).then(|| {
        let label = match lab.def.track(&opened.manifest.track) {
            Ok(t) => format!("grading with {}", t.runner),
            Err(_) => "grading".into(),
        };
        Spinner::start(label, None)
    });
    let shown_early = std::cell::Cell::new(false);
    let show_early = |early: &EarlyStage| {
        let print = || {
            let _ = report::print_early(early);
            shown_early.set(true);
        };
        match &spinner {
            Some(s) => s.pause_for(print, "grading the other stages".into()),
            None => print(),
        }
    };
    // The current stage first, unless asked for one stage or for one document.
    let early = args.stage.is_none() && !args.json && !quiet;
    let request = Request {
        stage: args.stage.as_deref(),
        timeout: args.timeout,
        strict: args.strict,
        early: early.then_some(&show_early as &dyn Fn(&EarlyStage)),
    };
    let check = check_workspace(lab, &opened.root, &opened.manifest, &request);
    drop(spinner);
    let check = match check {
        Err(e) if e.is::<process::Interrupted>() && shown_early.get() => {
            crate::say!("{NOT_GRADED_AFTER_EARLY}");
            return Err(e);
        }
        check => check?,
    };
    if shown_early.get() && !args.json {
        writeln!(output::stdout())?;
    }
    print(&check, &args, quiet)?;
    Ok(outcome(&check))
}

const NO_CARGO: &str =
    "cargo is not on PATH, and this track is graded with it: install Rust (https://rustup.rs) and run `lab setup` again";

/// Said when Ctrl-C ends a check after the current stage's result was shown.
const NOT_GRADED_AFTER_EARLY: &str = "Stopped: the other stages were not graded, and this check was not recorded (the history keeps only full runs). Run `lab check` again for the full report.";

fn outcome(check: &Check) -> Outcome {
    match check.graded.status {
        Status::Pass => Outcome::Success,
        Status::Fail => Outcome::Failed,
        Status::Error => Outcome::Error,
    }
}

pub(super) fn print(check: &Check, args: &CheckArgs, quiet: bool) -> Result<()> {
    if args.json {
        let text = serde_json::to_string_pretty(&report::json_document(check))?;
        writeln!(output::stdout(), "{text}")?;
    } else if quiet {
        report::print_summary(check)?;
    } else {
        report::print_human(check, args.verbose)?;
    }
    Ok(())
}
