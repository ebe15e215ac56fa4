//! A lab's known-wrong implementations (`<track>/mutants/<name>.toml`), parsed and checked.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use serde::Deserialize;

use super::*;

/// A known-wrong implementation (`<track>/mutants/<name>.toml`): edits to the reference solution
/// that a good grading suite catches. Documented in docs/lab-format.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutantDef {
    pub format_version: u32,
    /// The file name without `.toml`.
    #[serde(skip)]
    pub name: String,
    /// The stage whose tests must catch it.
    pub stage: String,
    /// What is wrong, as a reviewer would say it.
    pub description: String,
    /// The option choices of the solution it edits; empty means the defaults.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(rename = "edit")]
    pub edits: Vec<EditDef>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditDef {
    /// The file in the solved workspace; may carry template variables (`src/{{package_name}}/x.py`).
    pub file: String,
    /// Text that occurs exactly once in that file.
    pub find: String,
    pub replace: String,
}

pub(super) fn parse_mutant(path: &Path, lab: &LabDef) -> Result<MutantDef> {
    let text = fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut m: MutantDef =
        toml::from_str(&text).map_err(|e| anyhow!("{}: not a mutant definition: {}", path.display(), e.message()))?;
    m.name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let at = || path.display();
    ensure!(m.format_version == 1, "{}: format_version must be 1", at());
    ensure!(
        lab.stages.iter().any(|s| s.id == m.stage),
        "{}: stage `{}` is not a stage of lab `{}`",
        at(),
        m.stage,
        lab.id
    );
    ensure!(!m.description.trim().is_empty(), "{}: say what is wrong in `description`", at());
    for (k, v) in &m.options {
        let option =
            lab.option(k).ok_or_else(|| anyhow!("{}: `{k}` in `options` is not an option of the lab", at()))?;
        ensure!(option.choices.contains(v), "{}: `{v}` is not a choice of option `{k}`", at());
    }
    ensure!(!m.edits.is_empty(), "{}: a mutant needs at least one [[edit]]", at());
    for e in &m.edits {
        ensure!(!e.find.is_empty(), "{}: an edit of {} has an empty `find`", at(), e.file);
        ensure!(e.find != e.replace, "{}: an edit of {} replaces text with itself", at(), e.file);
    }
    Ok(m)
}
