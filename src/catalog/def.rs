//! What lab.toml says: the lab, its options, tracks, prerequisites and stages, parsed and
//! checked (docs/lab-format.md).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use anyhow::{anyhow, bail, ensure, Context, Result};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The lab.toml format this build reads.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabDef {
    pub format_version: u32,
    pub id: String,
    pub title: String,
    pub summary: String,
    pub version: String,
    pub difficulty: Difficulty,
    pub hours: u32,
    pub roadmap: Roadmap,
    #[serde(default)]
    pub options: Vec<OptionDef>,
    pub tracks: IndexMap<String, TrackDef>,
    pub stages: Vec<StageDef>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    Beginner,
    Intermediate,
    Advanced,
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Difficulty::Beginner => "beginner",
            Difficulty::Intermediate => "intermediate",
            Difficulty::Advanced => "advanced",
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Roadmap {
    pub module: String,
    pub output: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OptionDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub choices: Vec<String>,
    pub default: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrackDef {
    pub runner: RunnerKind,
    #[serde(default)]
    pub scaffolds: Vec<String>,
    pub grading_dir: String,
    #[serde(default)]
    pub setup: Vec<String>,
    #[serde(default)]
    pub may_pass_on_starter: Vec<String>,
    /// pytest plugins the grading suite needs (`-p NAME`); installed plugins are not autoloaded.
    #[serde(default)]
    pub pytest_plugins: Vec<String>,
    /// Programs the track needs or can use beyond its runner's own (`lab show` lists them).
    #[serde(default)]
    pub prerequisites: Vec<ToolDef>,
    /// The ecosystem's own linters, which `lab validate --lint` runs on the rendered starter and
    /// solution.
    #[serde(default)]
    pub lint: Vec<LintDef>,
}

/// One linter a track's generated repository must satisfy (docs/lab-format.md, "Linters").
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LintDef {
    /// Shown in the results, e.g. `ruff check`.
    pub name: String,
    /// The command, run in the workspace's root. An argument `{files}` stands for the files that
    /// `files` matches.
    pub run: Vec<String>,
    /// Globs of workspace files (gitignore syntax, relative to the root) that replace `{files}`.
    /// On the starter, a file holding a TODO(lab:...) marker is the learner's to change and is
    /// left out.
    #[serde(default)]
    pub files: Vec<String>,
    /// PyPI requirements (pinned, e.g. `ruff==0.14.6`) installed into a tools venv whose `bin`
    /// folder comes first on PATH.
    #[serde(default)]
    pub pypi: Vec<String>,
    /// Run with the workspace's own venv on PATH too (a type checker needs the project's
    /// dependencies).
    #[serde(default)]
    pub project_env: bool,
    /// Which rendered trees it must pass on.
    #[serde(default = "LintDef::both_trees")]
    pub on: Vec<Tree>,
}

impl LintDef {
    fn both_trees() -> Vec<Tree> {
        vec![Tree::Starter, Tree::Solution]
    }
}

/// A rendered workspace a lint runs on.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Tree {
    Starter,
    Solution,
}

impl Tree {
    pub fn as_str(self) -> &'static str {
        match self {
            Tree::Starter => "starter",
            Tree::Solution => "solution",
        }
    }
}

/// A program a track needs or can use, as lab.toml declares it (docs/lab-format.md).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ToolDef {
    /// The program's name on PATH, e.g. `promtool`.
    pub tool: String,
    /// Grading works without it: a stand-in takes its place, or the checks that need it are
    /// skipped (and a skip never counts as a pass).
    #[serde(default)]
    pub optional: bool,
    /// What it is for, or what happens without it, in a few words; for a server, the command
    /// that installs or starts it.
    pub note: String,
    /// Folders searched after PATH, `*` allowed in a component: where a package puts a program
    /// off PATH (Debian's PostgreSQL: `/usr/lib/postgresql/*/bin`).
    #[serde(default)]
    pub also_in: Vec<String>,
    /// An environment variable that stands for the program when set: the address of a server
    /// running elsewhere (`DATABASE_URL`), so the program need not be on this machine.
    #[serde(default)]
    pub or_env: Option<String>,
}

/// What a track needs on the learner's machine: what its starter says (pyproject.toml's
/// `requires-python`, Cargo.toml's `rust-version`) and the programs lab.toml declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prerequisites<'a> {
    pub runner: RunnerKind,
    /// The version specifier as the starter writes it, e.g. `>=3.11`.
    pub requires_python: Option<String>,
    /// The oldest Rust the starter builds with, e.g. `1.88`.
    pub rust_version: Option<String>,
    pub tools: &'a [ToolDef],
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunnerKind {
    Pytest,
    Cargo,
    Docs,
}

impl fmt::Display for RunnerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunnerKind::Pytest => "pytest",
            RunnerKind::Cargo => "cargo",
            RunnerKind::Docs => "docs",
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StageDef {
    pub id: String,
    pub title: String,
    pub goal: String,
    #[serde(default)]
    pub hints: Vec<String>,
    #[serde(default)]
    pub tests: BTreeMap<String, Vec<String>>,
}

impl LabDef {
    /// The track a learner gets without `--track`: the first one lab.toml lists.
    pub fn default_track(&self) -> &str {
        self.tracks.keys().next().map(String::as_str).unwrap_or_default()
    }

    pub fn track(&self, id: &str) -> Result<&TrackDef> {
        self.tracks.get(id).ok_or_else(|| {
            let known: Vec<&str> = self.tracks.keys().map(String::as_str).collect();
            anyhow!("lab `{}` has no track `{id}`; its tracks: {}", self.id, known.join(", "))
        })
    }

    pub fn option(&self, name: &str) -> Option<&OptionDef> {
        self.options.iter().find(|o| o.name == name)
    }

    /// A stage by id; the error names the closest id (a typo) and lists them all.
    pub fn stage(&self, id: &str) -> Result<&StageDef> {
        self.stages.iter().find(|s| s.id == id).ok_or_else(|| {
            let ids: Vec<&str> = self.stages.iter().map(|s| s.id.as_str()).collect();
            let close = closest(id, ids.iter().copied()).map(|c| format!("did you mean `{c}`? ")).unwrap_or_default();
            anyhow!("lab `{}` has no stage `{id}`: {close}its stages: {}", self.id, ids.join(", "))
        })
    }
}

/// The candidate most like `word`, if any is like it at all.
pub(super) fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Parses and checks one lab.toml; `folder` is the lab's folder name, which the id must match.
pub fn parse_lab(text: &str, folder: &str) -> Result<LabDef> {
    let def: LabDef = toml::from_str(text).context("lab.toml does not parse")?;
    check_lab(&def, folder)?;
    Ok(def)
}

fn check_lab(def: &LabDef, folder: &str) -> Result<()> {
    ensure!(
        def.format_version == FORMAT_VERSION,
        "format_version {} is not supported (this lab reads {FORMAT_VERSION}); update lab",
        def.format_version
    );
    ensure!(is_slug(&def.id), "id `{}` must be lower-case letters, digits and '-'", def.id);
    ensure!(def.id == folder, "id `{}` must match its folder name `{folder}`", def.id);
    for (field, value) in [("title", &def.title), ("summary", &def.summary), ("version", &def.version)] {
        ensure!(!value.trim().is_empty(), "`{field}` is empty");
    }
    let mut names = BTreeSet::new();
    for option in &def.options {
        ensure!(is_identifier(&option.name), "option name `{}` must be a lower-case identifier", option.name);
        ensure!(names.insert(&option.name), "option `{}` is declared twice", option.name);
        ensure!(!option.choices.is_empty(), "option `{}` has no choices", option.name);
        for choice in &option.choices {
            ensure!(
                is_slug(choice),
                "option `{}`: choice `{choice}` must be lower-case letters, digits and '-'",
                option.name
            );
        }
        ensure!(
            option.choices.contains(&option.default),
            "option `{}`: default `{}` is not one of its choices",
            option.name,
            option.default
        );
    }
    ensure!(!def.tracks.is_empty(), "no [tracks.<id>] table: a lab needs at least one track");
    ensure!(!def.stages.is_empty(), "no [[stages]]: a lab needs at least one stage");
    let mut stage_ids = BTreeSet::new();
    for stage in &def.stages {
        ensure!(is_slug(&stage.id), "stage id `{}` must be lower-case letters, digits and '-'", stage.id);
        ensure!(stage_ids.insert(&stage.id), "stage `{}` is declared twice", stage.id);
        for track in stage.tests.keys() {
            ensure!(def.tracks.contains_key(track), "stage `{}` lists tests for unknown track `{track}`", stage.id);
        }
    }
    for (track, tdef) in &def.tracks {
        ensure!(is_slug(track), "track id `{track}` must be lower-case letters, digits and '-'");
        check_relative(&tdef.grading_dir).with_context(|| format!("track `{track}`: grading_dir"))?;
        let mut seen = BTreeSet::new();
        for stage in &def.stages {
            let tests = stage.tests.get(track).map(Vec::as_slice).unwrap_or_default();
            ensure!(!tests.is_empty(), "stage `{}` declares no tests for track `{track}`", stage.id);
            for test in tests {
                ensure!(seen.insert(test.as_str()), "track `{track}`: test `{test}` is declared twice");
            }
        }
        for tool in &tdef.prerequisites {
            ensure!(
                !tool.tool.is_empty() && !tool.tool.contains(['/', ' ']),
                "track `{track}`: prerequisite `{}` must be a program's name as found on PATH",
                tool.tool
            );
            ensure!(!tool.note.trim().is_empty(), "track `{track}`: say what `{}` is for in its `note`", tool.tool);
            for dir in &tool.also_in {
                ensure!(
                    Path::new(dir).is_absolute() && !dir.split('/').any(|c| c == ".."),
                    "track `{track}`: `also_in` of `{}` must list absolute folders, without `..`: `{dir}`",
                    tool.tool
                );
            }
            if let Some(var) = &tool.or_env {
                ensure!(
                    !var.is_empty() && var.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                    "track `{track}`: `or_env` of `{}` must be an environment variable's name, e.g. DATABASE_URL",
                    tool.tool
                );
            }
        }
        for test in &tdef.may_pass_on_starter {
            ensure!(
                seen.contains(test.as_str()),
                "track `{track}`: may_pass_on_starter names undeclared test `{test}`"
            );
        }
    }
    Ok(())
}

/// Lower-case ASCII letters, digits and '-', starting with a letter.
pub fn is_slug(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A '/'-separated relative path that stays inside its root.
pub fn check_relative(path: &str) -> Result<()> {
    if path.is_empty() || path.starts_with('/') || path.contains('\\') || Path::new(path).is_absolute() {
        bail!("`{path}` must be a relative path");
    }
    for part in path.split('/') {
        ensure!(!matches!(part, "" | "." | ".."), "`{path}` must not contain empty, `.` or `..` parts");
        // A template that writes into .git could install hooks that run at the first commit.
        ensure!(part != ".git", "`{path}` must not write into `.git`");
    }
    Ok(())
}
