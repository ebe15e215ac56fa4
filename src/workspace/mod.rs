//! A learner's workspace: the `.lab/workspace.toml` manifest, `.lab/history.jsonl` (in
//! `history.rs`), the integrity of the editable grading suite, and the TODO markers still left in
//! the code.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::Lab;
use crate::scaffold::{Rendered, Vars};

mod history;

pub use history::{
    append_history, latest_history, read_history, History, HistoryEntry, HISTORY, HISTORY_FORMAT_VERSION,
};

pub const MANIFEST: &str = ".lab/workspace.toml";
/// Where `lab check` writes the pristine suite and the runner's raw results.
pub const RUN_DIR: &str = ".lab/run";
/// The one place the pristine grading suite is run from: inside RUN_DIR. (The learner's
/// editable copy lives where the manifest's `[grading] dir` says.)
pub const SUITE_DIR: &str = ".lab/run/grading";
/// The manifest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Folders that hold no learner's work: skipped when scanning for TODO markers.
const NOT_WORK: &[&str] = &[
    ".lab",
    ".git",
    ".venv",
    "venv",
    "target",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "dist",
    "build",
];

/// `.lab/workspace.toml`: documented field by field in docs/workspace.md.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    pub lab: String,
    pub lab_version: String,
    pub track: String,
    pub tool_version: String,
    /// The labs folder the lab came from, when it is not built in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labs_dir: Option<PathBuf>,
    pub vars: Vars,
    pub grading: GradingRecord,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradingRecord {
    /// The editable copy's folder, relative to the workspace root.
    pub dir: String,
    /// sha256 of every grading file as written, keyed by its path in the workspace.
    pub files: BTreeMap<String, String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Manifest {
    pub fn load(root: &Path) -> Result<Manifest> {
        let path = root.join(MANIFEST);
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is corrupt: {}\nRestore it with `git checkout -- {MANIFEST}`, or start a fresh workspace with `lab new`",
                path.display(),
                e.message()
            )
        })?;
        if manifest.format_version > FORMAT_VERSION {
            bail!(
                "{} has format_version {}, newer than this lab understands ({FORMAT_VERSION}); update lab",
                path.display(),
                manifest.format_version
            );
        }
        Ok(manifest)
    }

    /// The manifest is committed with the learner's work, so anything in it that reaches the
    /// pristine suite is checked as `lab new` checks it: the names must be the ones the project
    /// name gives, the options must be the lab's own choices, and free text must not be able to
    /// break out of a template. Nothing else the repository says may change what is graded.
    pub fn check_vars(&self, lab: &Lab) -> Result<()> {
        let v = &self.vars;
        lab.def.track(&self.track)?;
        let (package, dist) = crate::scaffold::derive_names(&v.project_name).map_err(|e| e.context(EDITED))?;
        ensure!(
            v.package_name == package && v.dist_name == dist,
            "{EDITED}: project `{}` gives package `{package}` and distribution `{dist}`, not `{}` and `{}`",
            v.project_name,
            v.package_name,
            v.dist_name
        );
        for (name, value) in &v.options {
            let option = lab
                .def
                .option(name)
                .ok_or_else(|| anyhow::anyhow!("{EDITED}: lab `{}` has no option `{name}`", lab.def.id))?;
            ensure!(option.choices.contains(value), "{EDITED}: `{value}` is not a choice for option `{name}`");
        }
        for (field, text) in [("author", &v.author), ("author_email", &v.author_email)] {
            ensure!(
                !text.chars().any(|c| c.is_control() || "\"\\`{}$".contains(c)),
                "{EDITED}: `{field}` holds a character templates cannot take safely (a quote, backslash, brace, backtick, `$` or a control character)"
            );
        }
        Ok(())
    }

    /// A labs folder recorded in the manifest is used only when it is an absolute path outside
    /// the repository that holds the workspace: a repository cannot bring its own grader.
    pub fn check_labs_dir(&self, root: &Path) -> Result<()> {
        let Some(dir) = &self.labs_dir else { return Ok(()) };
        ensure!(
            dir.is_absolute(),
            "{EDITED}: its labs folder `{}` is not an absolute path. {LABS_DIR_ADVICE}",
            dir.display()
        );
        let repo = root.ancestors().find(|d| d.join(".git").exists()).unwrap_or(root);
        let resolved = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        let repo = repo.canonicalize().unwrap_or_else(|_| repo.to_path_buf());
        ensure!(
            !resolved.starts_with(&repo),
            "{EDITED}: its labs folder {} is inside the repository ({}), so the repository would supply its own grading suite. {LABS_DIR_ADVICE}",
            dir.display(),
            repo.display()
        );
        Ok(())
    }

    pub fn to_toml(&self) -> Result<String> {
        Ok(format!(
            "# Written by `lab new`; `lab check` reads it. Fields: docs/workspace.md\n{}",
            toml::to_string(self).context("cannot encode the workspace manifest")?
        ))
    }
}

const EDITED: &str = "the workspace manifest (.lab/workspace.toml) does not hold what `lab new` wrote";
const LABS_DIR_ADVICE: &str =
    "Pass the labs folder with --labs-dir, or restore the manifest with `git checkout -- .lab/workspace.toml`.";

/// Written as `.lab/.gitignore`: the pristine suite and runner output are rebuilt by every check.
const LAB_GITIGNORE: &str = "# Rebuilt by every `lab check`.\nrun/\ntarget/\nbackup/\ncheck.lock\n";

/// What `create` wrote.
pub struct Created {
    pub files: usize,
}

/// Writes a complete workspace at `target` (which must be new or empty): the rendered files,
/// `.lab/workspace.toml` and `.lab/.gitignore`, all or nothing.
pub fn create(lab: &Lab, track: &str, vars: &Vars, files: &[Rendered], target: &Path) -> Result<Created> {
    let tdef = lab.def.track(track)?;
    let grading_prefix = format!("{}/", tdef.grading_dir);
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        lab: lab.def.id.clone(),
        lab_version: lab.def.version.clone(),
        track: track.to_string(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        labs_dir: match &lab.source {
            crate::catalog::Source::Embedded => None,
            crate::catalog::Source::Dir { root, .. } => Some(root.canonicalize().unwrap_or_else(|_| root.clone())),
        },
        vars: vars.clone(),
        grading: GradingRecord {
            dir: tdef.grading_dir.clone(),
            files: files
                .iter()
                .filter(|f| f.path.starts_with(&grading_prefix))
                .map(|f| (f.path.clone(), sha256_hex(&f.contents)))
                .collect(),
        },
    };
    let manifest_text = manifest.to_toml()?;
    crate::scaffold::write_atomically(target, |dir| {
        crate::scaffold::write_files(dir, files)?;
        crate::scaffold::write_files(
            dir,
            &[
                Rendered { path: MANIFEST.into(), contents: manifest_text.into_bytes() },
                Rendered { path: ".lab/.gitignore".into(), contents: LAB_GITIGNORE.as_bytes().to_vec() },
            ],
        )
    })?;
    Ok(Created { files: files.len() + 2 })
}

/// The workspace root: the nearest folder at or above `start` with a `.lab/workspace.toml`.
pub fn find_root(start: &Path) -> Result<PathBuf> {
    let start = start.canonicalize().with_context(|| format!("cannot resolve {}", start.display()))?;
    for dir in start.ancestors() {
        if dir.join(MANIFEST).is_file() {
            return Ok(dir.to_path_buf());
        }
    }
    bail!(
        "not inside a lab workspace: no {MANIFEST} in {} or any folder above it; run `lab new <lab>` to start one, or cd into one",
        start.display()
    )
}

/// How the learner's copy of a grading file differs from the pristine one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The learner changed it since `lab new` wrote it.
    Modified,
    Deleted,
    Added,
    /// Untouched since `lab new`, but the lab's suite has changed since (an upgraded lab).
    Outdated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Modification {
    pub path: String,
    pub change: Change,
}

/// Compares the workspace's editable grading suite with the pristine one (`pristine` paths are
/// relative to the suite's root, the returned ones to the workspace root). The hashes recorded
/// at `lab new` tell a learner's edit from a copy that is merely older than the lab.
pub fn grading_changes(root: &Path, record: &GradingRecord, pristine: &[Rendered]) -> Vec<Modification> {
    let grading_dir = record.dir.as_str();
    let as_written = |rel: &str, bytes: &[u8]| record.files.get(rel).is_some_and(|hash| *hash == sha256_hex(bytes));
    let mut out = Vec::new();
    for file in pristine {
        let rel = format!("{grading_dir}/{}", file.path);
        match fs::read(root.join(&rel)) {
            Ok(bytes) if bytes == file.contents => {}
            Ok(bytes) => {
                let change = if as_written(&rel, &bytes) { Change::Outdated } else { Change::Modified };
                out.push(Modification { path: rel, change });
            }
            Err(_) => out.push(Modification { path: rel, change: Change::Deleted }),
        }
    }
    let known: Vec<String> = pristine.iter().map(|f| f.path.clone()).collect();
    for rel in work_files(&root.join(grading_dir)) {
        if !known.contains(&rel) && !rel.ends_with(".pyc") {
            let path = format!("{grading_dir}/{rel}");
            // A file an older lab wrote and the learner left alone is not the learner's addition.
            let old = fs::read(root.join(&path)).is_ok_and(|bytes| as_written(&path, &bytes));
            let change = if old { Change::Outdated } else { Change::Added };
            out.push(Modification { path, change });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Held while a check runs in this workspace; released when dropped (or when lab dies).
pub struct CheckLock {
    _file: fs::File,
}

const LOCK: &str = ".lab/check.lock";

/// Takes the workspace's check lock, or says that another check holds it: two checks at once
/// would clear each other's run folder.
pub fn lock_checks(root: &Path) -> Result<CheckLock> {
    let path = root.join(LOCK);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    if !try_flock(&file) {
        bail!("another `lab check` is running in this workspace (it holds {LOCK}); wait for it to finish, or stop it, and check again");
    }
    Ok(CheckLock { _file: file })
}

#[allow(unsafe_code)] // flock(2) has no safe wrapper in std at this crate's rust-version
fn try_flock(file: &fs::File) -> bool {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows; the lock ends when the file closes.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// A `TODO(lab:<stage>)` marker left in the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Todo {
    pub stage: String,
    pub path: String,
    pub line: usize,
    pub text: String,
}

/// The learner's files: everything under `root` that .gitignore (and .git/info/exclude) does not
/// exclude, without `.lab/`, `.git/`, venvs and build output; '/'-separated and sorted.
pub fn work_files(root: &Path) -> Vec<String> {
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .parents(false)
        .filter_entry(|e| !NOT_WORK.contains(&e.file_name().to_string_lossy().as_ref()))
        .build();
    let mut files: Vec<String> = walker
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .filter_map(|e| e.path().strip_prefix(root).ok().map(|p| p.to_string_lossy().replace('\\', "/")))
        .collect();
    files.sort();
    files
}

/// Every TODO marker outside the grading suite, `.lab/` and ignored files, in path and line order.
pub fn todos(root: &Path, grading_dir: &str) -> Vec<Todo> {
    let files = work_files(root);
    let mut out = Vec::new();
    let grading_prefix = format!("{grading_dir}/");
    for rel in files.iter().filter(|f| !f.starts_with(&grading_prefix)) {
        let Ok(bytes) = fs::read(root.join(rel)) else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        out.extend(scan_todos(text, rel));
    }
    out
}

/// The `TODO(lab:<stage>)` markers of one file, read as comments: a marker in a line comment
/// (`#`, `//`, `--`, `;`), a block comment (`<!-- -->`, `/* */`) or at the start of a line of
/// prose (Markdown, a docstring), with the lines of the comment that continue it. A marker
/// inside a string literal, such as a placeholder's `NotImplementedError("TODO(lab:x): f")`,
/// repeats the comment above it and is not one; in a file format without comments (JSON) a
/// string is the only place a marker can be, and counts.
pub fn scan_todos(text: &str, path: &str) -> Vec<Todo> {
    let lines: Vec<&str> = text.lines().collect();
    let commentless = COMMENTLESS.iter().any(|ext| path.ends_with(ext));
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(at) = line.find(MARK) else { continue };
        let rest = &line[at + MARK.len()..];
        let Some(end) = rest.find(')') else { continue };
        let stage = rest[..end].trim().to_string();
        // Prose about the syntax, such as `TODO(lab:<stage>)` in a README, is not a marker.
        if !crate::catalog::is_slug(&stage) {
            continue;
        }
        let Some(kind) = comment_kind(&line[..at], commentless) else { continue };
        let first = rest[end + 1..].trim_start_matches([':', ' ', '-']);
        let first = match kind {
            Comment::Block(close) => first.split(close).next().unwrap_or_default(),
            Comment::Json => first.split('"').next().unwrap_or_default(),
            _ => first,
        };
        let mut parts = vec![first.trim().to_string()];
        parts.extend(continuation(&lines[n + 1..], kind, line));
        parts.retain(|p| !p.is_empty());
        let mut text = parts.join(" ");
        if text.is_empty() {
            // `pass  # TODO(lab:x)` says where, not what: name the function it is in.
            text = enclosing_function(&lines[..n]).map(|f| format!("in {f}()")).unwrap_or_default();
        }
        out.push(Todo { stage, path: path.to_string(), line: n + 1, text });
    }
    out
}

const MARK: &str = "TODO(lab:";
/// File formats without comments, where a marker is written in a string.
const COMMENTLESS: &[&str] = &[".json", ".json.hbs"];
/// A marker's continuation lines taken at most: a comment longer than this is prose to read in
/// the file.
const MAX_CONTINUATION: usize = 12;
/// Line starts that end a marker written as prose: a docstring's end, a heading, a list item,
/// a fence or a table.
const PROSE_ENDS: &[&str] = &["\"\"\"", "'''", "#", "- ", "* ", "```", "|"];

/// Where a marker was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comment<'a> {
    /// After a line-comment opener, which starts at this column.
    Line(&'a str, usize),
    /// In a block comment, which ends at this closer.
    Block(&'static str),
    /// At the start of a line of prose, indented this much.
    Prose(usize),
    /// In a string of a file without comments.
    Json,
}

/// What the text before a marker on its line makes of it; None for code or a string literal.
fn comment_kind(before: &str, commentless: bool) -> Option<Comment<'_>> {
    let trimmed = before.trim_end();
    if trimmed.trim_start().is_empty() {
        return Some(Comment::Prose(before.len()));
    }
    if commentless {
        return trimmed.ends_with('"').then_some(Comment::Json);
    }
    for (open, close) in [("<!--", "-->"), ("/*", "*/")] {
        if trimmed.ends_with(open) {
            return Some(Comment::Block(close));
        }
    }
    for open in ["//", "#", "--", ";", "*"] {
        let Some(code) = trimmed.strip_suffix(open) else { continue };
        // `*`, `;` and `--` open a comment only alone on their line (a block comment's middle
        // lines, ini files, SQL); `#` and `//` may follow code.
        let alone = code.trim().is_empty();
        let after_code = matches!(open, "//" | "#") && code.ends_with(' ');
        if alone || after_code {
            return Some(Comment::Line(open, code.len()));
        }
    }
    None
}

/// The lines after a marker's line that belong to its comment, each trimmed; stops at a blank
/// line or the next marker.
fn continuation(after: &[&str], kind: Comment, marker_line: &str) -> Vec<String> {
    let mut parts = Vec::new();
    if let Comment::Block(close) = kind {
        if marker_line.contains(close) {
            return parts;
        }
    }
    for line in after.iter().take(MAX_CONTINUATION) {
        if line.trim().is_empty() || line.contains(MARK) {
            break;
        }
        let (body, last) = match kind {
            Comment::Line(open, column) => {
                // The same opener at the same column; the text after it may be indented more.
                let Some(body) = line.get(column..).and_then(|l| l.strip_prefix(open)) else { break };
                if !line[..column].trim().is_empty() || body.trim().is_empty() {
                    break;
                }
                (body, false)
            }
            Comment::Block(close) => match line.split_once(close) {
                Some((body, _)) => (body, true),
                None => (*line, false),
            },
            Comment::Prose(indent) => {
                let trimmed = line.trim();
                let indented = line.len() - line.trim_start().len() >= indent;
                if !indented || PROSE_ENDS.iter().any(|p| trimmed.starts_with(p)) {
                    break;
                }
                match trimmed.split_once("\"\"\"") {
                    Some((body, _)) => (body, true),
                    None => (trimmed, false),
                }
            }
            Comment::Json => break,
        };
        parts.push(body.trim().to_string());
        if last {
            break;
        }
    }
    parts
}

/// The name of the function or method the line after `before` is in, by the nearest definition
/// above it (Python's `def`, Rust's `fn`).
fn enclosing_function(before: &[&str]) -> Option<String> {
    before.iter().rev().find_map(|line| {
        let code = line.trim_start();
        let code = code.strip_prefix("pub ").unwrap_or(code);
        let code = code.strip_prefix("async ").unwrap_or(code);
        let rest = code.strip_prefix("def ").or_else(|| code.strip_prefix("fn "))?;
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        (!name.is_empty()).then_some(name)
    })
}

/// Now as RFC 3339 UTC, to the second.
pub fn now_rfc3339() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", t / 3600, t % 3600 / 60, t % 60)
}

pub fn current_year() -> i32 {
    now_rfc3339()[..4].parse().unwrap_or(1970)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// `.lab/hints.toml`: how many hint tiers of each stage the learner has seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HintState {
    pub format_version: u32,
    #[serde(default)]
    pub revealed: BTreeMap<String, usize>,
}

pub const HINTS: &str = ".lab/hints.toml";

impl HintState {
    /// A missing or unreadable file means no hint was revealed yet.
    pub fn load(root: &Path) -> HintState {
        fs::read_to_string(root.join(HINTS)).ok().and_then(|t| toml::from_str(&t).ok()).unwrap_or_default()
    }

    pub fn save(&self, root: &Path) -> Result<()> {
        let state = HintState { format_version: FORMAT_VERSION, revealed: self.revealed.clone() };
        let text = toml::to_string(&state).context("cannot encode the hint state")?;
        let path = root.join(HINTS);
        fs::write(&path, format!("# Hint tiers revealed by `lab hint`, per stage.\n{text}"))
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right_around_leap_years() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
    }

    #[test]
    fn todo_markers_are_found_with_stage_line_and_text() {
        let text =
            "a\n    # TODO(lab:algorithms): implement the bucket\nx = 1  // TODO(lab:http) - headers\n// TODO(lab:\nsee TODO(lab:<stage>) markers\n";
        let found = scan_todos(text, "src/a.py");
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].stage.as_str(), found[0].line, found[0].text.as_str()),
            ("algorithms", 2, "implement the bucket")
        );
        assert_eq!((found[1].stage.as_str(), found[1].line, found[1].text.as_str()), ("http", 3, "headers"));
    }

    fn found(text: &str, path: &str) -> Vec<(usize, String)> {
        scan_todos(text, path).into_iter().map(|t| (t.line, t.text)).collect()
    }

    #[test]
    fn a_marker_in_a_string_literal_is_not_a_second_marker() {
        let text = "    def hit(self, key):\n        # TODO(lab:algorithms): refill by elapsed * rate, then\n        # take `cost` tokens if there are enough.\n        raise NotImplementedError(\"TODO(lab:algorithms): TokenBucket.hit\")\n";
        assert_eq!(
            found(text, "src/r.py"),
            [(2, "refill by elapsed * rate, then take `cost` tokens if there are enough.".into())]
        );
        let xfail = "pending = pytest.mark.xfail(raises=NotImplementedError, reason=\"TODO(lab:algorithms)\")\n";
        assert_eq!(found(xfail, "tests/test_algorithms.py"), []);
        let rust = "    todo!(\"TODO(lab:http-contract): policy_field\")\n";
        assert_eq!(found(rust, "src/http.rs"), []);
        let json = "  \"description\": \"TODO(lab:observability): RED panels per service.\"\n";
        assert_eq!(found(json, "grafana/services.json"), [(1, "RED panels per service.".into())]);
    }

    #[test]
    fn a_multi_line_comment_is_kept_whole_up_to_a_blank_line_or_the_next_marker() {
        let rust = "    // TODO(lab:http-contract): for paths under LIMITED_PREFIX, ask the limiter,\n    // add the RateLimit fields.\n    // TODO(lab:distributed): when the limiter is down,\n    //   answer as the README says.\n    let _ = state;\n";
        assert_eq!(
            found(rust, "src/h.rs"),
            [
                (1, "for paths under LIMITED_PREFIX, ask the limiter, add the RateLimit fields.".into()),
                (3, "when the limiter is down, answer as the README says.".into())
            ]
        );
        let html = "<!-- TODO(lab:structure): Who uses this system\nand for what? -->\nText\n";
        assert_eq!(found(html, "docs/design.md"), [(1, "Who uses this system and for what?".into())]);
        let docstring = "\"\"\"Three services.\n\nTODO(lab:services): start with users/app.py, then\ncommon/web.py. README, stage 1, says why.\n\"\"\"\n";
        assert_eq!(
            found(docstring, "src/p/__init__.py"),
            [(3, "start with users/app.py, then common/web.py. README, stage 1, says why.".into())]
        );
        // A comment after code ends with its line: the next comment line is not at its column.
        let trailing = "x = 1  # TODO(lab:a): this\n# unrelated\n";
        assert_eq!(found(trailing, "a.py"), [(1, "this".into())]);
    }

    #[test]
    fn an_empty_marker_names_the_function_it_is_in() {
        let text =
            "class M:\n    def observe_request(self, method: str) -> None:\n        pass  # TODO(lab:observability)\n";
        assert_eq!(found(text, "src/o.py"), [(3, "in observe_request()".into())]);
    }

    #[test]
    fn grading_changes_reports_modified_deleted_and_added_files() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join("tests/grading");
        fs::create_dir_all(&g).unwrap();
        fs::write(g.join("a.py"), "same").unwrap();
        fs::write(g.join("b.py"), "edited").unwrap();
        fs::write(g.join("extra.py"), "new").unwrap();
        let pristine = vec![
            Rendered { path: "a.py".into(), contents: b"same".to_vec() },
            Rendered { path: "b.py".into(), contents: b"original".to_vec() },
            Rendered { path: "c.py".into(), contents: b"gone".to_vec() },
        ];
        let record = GradingRecord { dir: "tests/grading".into(), files: BTreeMap::new() };
        let changes = grading_changes(dir.path(), &record, &pristine);
        let got: Vec<(&str, Change)> = changes.iter().map(|m| (m.path.as_str(), m.change)).collect();
        assert_eq!(
            got,
            [
                ("tests/grading/b.py", Change::Modified),
                ("tests/grading/c.py", Change::Deleted),
                ("tests/grading/extra.py", Change::Added)
            ]
        );
    }

    #[test]
    fn a_copy_left_as_written_is_outdated_not_modified_when_the_lab_changed() {
        let dir = tempfile::tempdir().unwrap();
        let g = dir.path().join("tests/grading");
        fs::create_dir_all(&g).unwrap();
        fs::write(g.join("a.py"), "old suite").unwrap();
        fs::write(g.join("b.py"), "learner's edit").unwrap();
        fs::write(g.join("gone.py"), "dropped by the new lab").unwrap();
        let record = GradingRecord {
            dir: "tests/grading".into(),
            files: [
                ("tests/grading/a.py".to_string(), sha256_hex(b"old suite")),
                ("tests/grading/b.py".to_string(), sha256_hex(b"old suite b")),
                ("tests/grading/gone.py".to_string(), sha256_hex(b"dropped by the new lab")),
            ]
            .into_iter()
            .collect(),
        };
        let pristine = vec![
            Rendered { path: "a.py".into(), contents: b"new suite".to_vec() },
            Rendered { path: "b.py".into(), contents: b"new suite b".to_vec() },
        ];
        let got: Vec<(String, Change)> =
            grading_changes(dir.path(), &record, &pristine).into_iter().map(|m| (m.path, m.change)).collect();
        assert_eq!(
            got,
            [
                ("tests/grading/a.py".to_string(), Change::Outdated),
                ("tests/grading/b.py".to_string(), Change::Modified),
                ("tests/grading/gone.py".to_string(), Change::Outdated),
            ]
        );
    }
}
