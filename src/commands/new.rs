//! `lab new`: resolve the lab, track, options and names, render everything, and move the new
//! workspace into place in one step; then `git init` and the first commit.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Outcome;
use crate::catalog::{Catalog, Lab};
use crate::cli::New;
use crate::output::{paint, stdout as out, BOLD, DIM, YELLOW};
use crate::process::Cmd;
use crate::scaffold::{self, Vars};
use crate::workspace::{self, MANIFEST};

/// A workspace inside another: `lab check` in it would find the inner one, and the outer one's
/// checks would grade the inner one's files as the learner's.
const NESTED: &str = "a lab workspace inside another one confuses which one `lab check` grades: choose a folder outside it (e.g. `lab new <lab> ../<name>`)";

fn refuse_nesting(target: &Path) -> Result<()> {
    let absolute = std::path::absolute(target).with_context(|| format!("cannot resolve {}", target.display()))?;
    let Some(parent) = absolute.ancestors().skip(1).find(|a| a.is_dir()) else { return Ok(()) };
    match workspace::find_root(parent) {
        Ok(outer) => {
            anyhow::bail!("{} would be inside the lab workspace at {}: {NESTED}", target.display(), outer.display())
        }
        Err(_) => Ok(()),
    }
}

pub fn new(catalog: &Catalog, args: New, quiet: bool) -> Result<Outcome> {
    // Ctrl-C, SIGTERM and SIGHUP set a flag from here on, so the command can leave all or nothing.
    crate::process::watch_interrupts();
    let lab = catalog.get(&args.lab)?;
    let track = args.track.clone().unwrap_or_else(|| lab.def.default_track().to_string());
    lab.def.track(&track)?;
    let options = scaffold::resolve_options(lab, &args.set)?;
    let target = args.dir.clone().unwrap_or_else(|| PathBuf::from(&lab.def.id));
    let project = match &args.name {
        Some(name) => name.clone(),
        None => folder_name(&target)?,
    };
    let (package_name, dist_name) = scaffold::derive_names(&project).map_err(|e| match &args.name {
        Some(_) => e,
        None => e.context(format!(
            "the project name comes from the folder `{}`: pass --name NAME to choose another",
            target.display()
        )),
    })?;
    scaffold::check_target(&target)?;
    refuse_nesting(&target)?;
    let (author, author_email) = git_identity();
    let vars = Vars {
        project_name: project,
        package_name,
        dist_name,
        author: author.unwrap_or_else(|| "Your Name".into()),
        author_email: author_email.unwrap_or_else(|| "you@example.com".into()),
        year: workspace::current_year(),
        options,
    };
    let files = scaffold::compose(catalog, lab, &track, &vars)?;
    let mut o = out();
    if args.dry_run {
        writeln!(o, "Would write {} files to {}:", files.len() + 2, target.display())?;
        for f in &files {
            writeln!(o, "  {} {}", f.path, paint(DIM, format!("({} bytes)", f.contents.len())))?;
        }
        writeln!(o, "  {MANIFEST}\n  .lab/.gitignore")?;
        writeln!(o, "Nothing was written (--dry-run).")?;
        return Ok(Outcome::Success);
    }
    let existed = target.is_dir();
    let created = workspace::create(lab, &track, &vars, &files, &target)?;
    let git_note = if args.git { init_git(&target, lab) } else { None };
    if crate::process::interrupted() {
        // All or nothing: what this command wrote goes, and so does a half-made repository.
        scaffold::remove_written(&target, existed);
        return Err(crate::process::Interrupted.into());
    }
    if quiet {
        return Ok(Outcome::Success);
    }
    writeln!(
        o,
        "Created {} in {} {}",
        paint(BOLD, &vars.project_name),
        target.display(),
        paint(DIM, format!("(lab {} v{}, {track} track, {} files)", lab.def.id, lab.def.version, created.files))
    )?;
    if let Some(note) = git_note {
        writeln!(o, "{} {note}", paint(YELLOW, "note:"))?;
    }
    let runner = lab.def.track(&track)?.runner;
    let lab_cmd = lab_command();
    writeln!(o, "\nNext:\n  cd {}", target.display())?;
    let setup = match runner {
        crate::catalog::RunnerKind::Pytest => "a .venv with the dev dependencies",
        crate::catalog::RunnerKind::Docs => "optional, needs Node.js: the real Mermaid parser for the diagrams",
        crate::catalog::RunnerKind::Cargo => "builds the grading suite and its dependencies, once (minutes)",
    };
    writeln!(o, "  {lab_cmd} setup        # {setup}")?;
    writeln!(o, "  {lab_cmd} check        # grade it: every stage starts unfinished")?;
    writeln!(o, "  README.md has the brief; look for TODO(lab:{}) to begin.", lab.def.stages[0].id)?;
    Ok(Outcome::Success)
}

/// How to run this lab from the new workspace: `lab` when that is what PATH finds, else this
/// binary's path (run from a build folder, say, with `cargo run`).
fn lab_command() -> String {
    let Ok(me) = std::env::current_exe().and_then(|p| p.canonicalize()) else { return "lab".into() };
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .find_map(|dir| dir.join("lab").canonicalize().ok());
    if on_path.as_deref() == Some(me.as_path()) {
        "lab".into()
    } else {
        let path = me.display().to_string();
        if path.contains([' ', '\'', '"']) {
            format!("'{}'", path.replace('\'', "'\\''"))
        } else {
            path
        }
    }
}

/// The folder's own name, also for `.` (the current folder).
fn folder_name(target: &Path) -> Result<String> {
    let name = match target.file_name() {
        Some(n) if target.components().next_back().is_some_and(|c| matches!(c, std::path::Component::Normal(_))) => {
            n.to_string_lossy().to_string()
        }
        _ => {
            let abs = std::env::current_dir().context("cannot read the current folder")?.join(target);
            let abs = abs.canonicalize().unwrap_or(abs);
            abs.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
        }
    };
    Ok(name)
}

fn git_identity() -> (Option<String>, Option<String>) {
    let get = |key: &str| {
        Cmd::new("git")
            .args(["config", "--get", key])
            .run()
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    (get("user.name"), get("user.email"))
}

/// `git init` and one commit, unless git is missing or the folder is already inside a work tree.
/// Returns a note for the user when something was skipped; git trouble never fails `lab new`.
fn init_git(target: &Path, lab: &Lab) -> Option<String> {
    let parent = target.canonicalize().ok()?.parent()?.to_path_buf();
    let inside = Cmd::new("git").args(["rev-parse", "--is-inside-work-tree"]).cwd(&parent).run();
    match inside {
        Err(_) => return Some("git is not installed: no repository was made".into()),
        Ok(o) if o.success() && o.stdout.trim() == "true" => {
            return Some("the folder is inside a git work tree already: no new repository was made".into())
        }
        Ok(_) => {}
    }
    if let Err(e) = Cmd::new("git").args(["init", "-q"]).cwd(target).run_ok() {
        return Some(format!("git init failed: {e:#}"));
    }
    if let Err(e) = Cmd::new("git").args(["add", "-A"]).cwd(target).run_ok() {
        return Some(format!("git add failed: {e:#}"));
    }
    let message = format!("Start the {} lab (v{})", lab.def.id, lab.def.version);
    // No hook runs: neither one a template might carry nor one the user's git config names.
    match Cmd::new("git")
        .args(["-c", "core.hooksPath=/dev/null", "commit", "-q", "--no-verify", "-m", &message])
        .cwd(target)
        .run()
    {
        Ok(o) if o.success() => None,
        _ => Some("made a git repository but no commit (set git config user.name and user.email, then commit)".into()),
    }
}
