//! Known-wrong implementations laid over a solved workspace and taken off again: how
//! `lab validate` proves that a grading suite catches plausible wrong work, not only missing work.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::catalog::MutantDef;
use crate::results::Graded;
use crate::scaffold::Renderer;
use crate::status::{Reason, Status};

/// A mutant's edits, applied; `restore` puts every touched file back byte for byte.
#[must_use = "a mutant stays applied until restore is called"]
pub struct Applied {
    originals: Vec<(PathBuf, Vec<u8>)>,
}

impl Applied {
    pub fn restore(self) -> Result<()> {
        for (path, bytes) in &self.originals {
            fs::write(path, bytes).with_context(|| format!("cannot restore {}", path.display()))?;
        }
        Ok(())
    }
}

/// Applies a mutant's edits under `root`. Each `find` must occur exactly once in its file as it
/// stands (after earlier edits); otherwise nothing stays changed and the error names the edit.
pub fn apply(root: &Path, mutant: &MutantDef, renderer: &Renderer) -> Result<Applied> {
    let mut applied = Applied { originals: Vec::new() };
    for (i, edit) in mutant.edits.iter().enumerate() {
        let result = (|| -> Result<()> {
            let rel = renderer.string(&edit.file)?;
            crate::catalog::check_relative(&rel)?;
            let path = root.join(&rel);
            let text =
                fs::read_to_string(&path).with_context(|| format!("cannot read {rel} in the solved workspace"))?;
            let found = text.matches(edit.find.as_str()).count();
            if found != 1 {
                bail!("its `find` text occurs {found} times in {rel}; it must occur exactly once");
            }
            if !applied.originals.iter().any(|(p, _)| *p == path) {
                applied.originals.push((path.clone(), text.clone().into_bytes()));
            }
            fs::write(&path, text.replacen(edit.find.as_str(), &edit.replace, 1))
                .with_context(|| format!("cannot write {}", path.display()))
        })();
        if let Err(e) = result {
            applied.restore()?;
            return Err(e.context(format!("mutant `{}`, edit {} ({})", mutant.name, i + 1, edit.file)));
        }
    }
    Ok(applied)
}

/// What grading a mutant showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A test of its stage failed or errored: the suite bites.
    Caught { by: Vec<String> },
    /// Every test of its stage that ran passed: the wrong work would get a green check.
    Survived,
    /// Nothing of its stage failed except tests skipped for a missing tool: unproven here.
    Unproven { skipped: Vec<String> },
    /// The runner itself failed (a build error, a crash): a mutant must still run.
    Crashed { message: String },
}

/// Classifies the grading of a mutant's stage.
pub fn verdict(graded: &Graded, stage: &str) -> Verdict {
    if graded.status == Status::Error {
        return Verdict::Crashed { message: graded.message.clone().unwrap_or_default() };
    }
    let of_stage = || graded.tests.iter().filter(|t| t.stage == stage);
    let by: Vec<String> = of_stage()
        .filter(|t| matches!(t.reason, Some(Reason::Failed | Reason::Errored | Reason::NotRun)))
        .map(|t| t.name.clone())
        .collect();
    if !by.is_empty() {
        return Verdict::Caught { by };
    }
    let skipped: Vec<String> =
        of_stage().filter(|t| t.reason == Some(Reason::Skipped)).map(|t| t.name.clone()).collect();
    if skipped.is_empty() {
        Verdict::Survived
    } else {
        Verdict::Unproven { skipped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::EditDef;

    fn mutant(edits: &[(&str, &str, &str)]) -> MutantDef {
        MutantDef {
            format_version: 1,
            name: "m".into(),
            stage: "s".into(),
            description: "d".into(),
            options: Default::default(),
            edits: edits
                .iter()
                .map(|(f, a, b)| EditDef { file: f.to_string(), find: a.to_string(), replace: b.to_string() })
                .collect(),
        }
    }

    #[test]
    fn edits_apply_in_order_and_restore_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src/pkg")).unwrap();
        fs::write(dir.path().join("src/pkg/a.py"), "x = a + b\ny = 1\n").unwrap();
        let r = Renderer::new(serde_json::json!({"package_name": "pkg"}));
        let m = mutant(&[("src/{{package_name}}/a.py", "a + b", "a - b"), ("src/pkg/a.py", "y = 1", "y = 2")]);
        let applied = apply(dir.path(), &m, &r).unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("src/pkg/a.py")).unwrap(), "x = a - b\ny = 2\n");
        applied.restore().unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("src/pkg/a.py")).unwrap(), "x = a + b\ny = 1\n");
    }

    #[test]
    fn an_ambiguous_or_missing_find_is_an_error_and_leaves_nothing_changed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.py"), "a + b\na + b\nz\n").unwrap();
        let r = Renderer::new(serde_json::json!({}));
        let err = apply(dir.path(), &mutant(&[("a.py", "z", "w"), ("a.py", "a + b", "a - b")]), &r).err().unwrap();
        assert!(format!("{err:#}").contains("occurs 2 times"), "{err:#}");
        assert_eq!(fs::read_to_string(dir.path().join("a.py")).unwrap(), "a + b\na + b\nz\n");
        let err = apply(dir.path(), &mutant(&[("a.py", "nowhere", "x")]), &r).err().unwrap();
        assert!(format!("{err:#}").contains("occurs 0 times"), "{err:#}");
        assert!(apply(dir.path(), &mutant(&[("../a.py", "z", "w")]), &r).is_err());
    }
}
