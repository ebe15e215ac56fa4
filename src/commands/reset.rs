//! `lab reset <PATH>`: put one starter file back as the lab wrote it, keeping the learner's
//! version in `.lab/backup/` first.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{Opened, Outcome};
use crate::output;
use crate::scaffold;
use crate::workspace;

pub fn reset(opened: &Opened, path: &Path, yes: bool) -> Result<Outcome> {
    let lab = opened.lab()?;
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let rel = workspace_relative(&opened.root, &cwd.join(path))?;
    if rel.starts_with(".lab/") || rel.starts_with(".git/") {
        bail!("`{rel}` belongs to lab or git, not to the starter; `lab reset` restores starter files only");
    }
    let files = scaffold::compose(&opened.catalog, lab, &opened.manifest.track, &opened.manifest.vars)?;
    let Some(starter) = files.iter().find(|f| f.path == rel) else {
        bail!("`{rel}` is not a file the `{}` starter writes, so there is nothing to restore; `lab todo` lists where the work goes", lab.def.id);
    };
    let target = opened.root.join(&rel);
    let current = fs::read(&target).ok();
    if current.as_deref() == Some(starter.contents.as_slice()) {
        writeln!(output::stdout(), "{rel} is already as the starter wrote it; nothing changed.")?;
        return Ok(Outcome::Success);
    }
    let stamp = workspace::now_rfc3339().replace(':', "-");
    let backup = opened.root.join(".lab/backup").join(&stamp).join(&rel);
    if !yes {
        if !std::io::stdin().is_terminal() {
            bail!("`lab reset` asks before overwriting {rel}; pass --yes to restore it without a prompt");
        }
        crate::say_inline!(
            "Restore {rel} to the starter version? Your version is kept in .lab/backup/{stamp}/. [y/N] "
        );
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).context("cannot read the answer")?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            writeln!(output::stdout(), "Nothing changed.")?;
            return Ok(Outcome::Success);
        }
    }
    if let Some(mine) = &current {
        fs::create_dir_all(backup.parent().expect("a backup path has a parent"))
            .with_context(|| format!("cannot create {}", backup.display()))?;
        fs::write(&backup, mine).with_context(|| format!("cannot write {}", backup.display()))?;
    }
    scaffold::write_files(&opened.root, std::slice::from_ref(starter))?;
    match current {
        Some(_) => writeln!(output::stdout(), "Restored {rel}; your version is in .lab/backup/{stamp}/{rel}")?,
        None => writeln!(output::stdout(), "Restored {rel} (it was missing).")?,
    }
    Ok(Outcome::Success)
}

/// `abs` relative to the workspace root, '/'-separated; an error if it lies outside.
fn workspace_relative(root: &Path, abs: &Path) -> Result<String> {
    // Resolve `..` lexically: the file itself may not exist any more.
    let mut clean = PathBuf::new();
    for part in abs.components() {
        match part {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let parent = clean.parent().and_then(|p| p.canonicalize().ok());
    let resolved = match (parent, clean.file_name()) {
        (Some(p), Some(name)) => p.join(name),
        _ => clean.clone(),
    };
    match resolved.strip_prefix(&root) {
        Ok(rel) if !rel.as_os_str().is_empty() => Ok(rel.to_string_lossy().replace('\\', "/")),
        _ => bail!(
            "{} is outside the workspace {}; `lab reset` only restores files inside it",
            abs.display(),
            root.display()
        ),
    }
}
