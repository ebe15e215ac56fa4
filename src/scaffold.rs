//! Rendering a lab into place: project names, template variables, strict Handlebars rendering of
//! layered template trees, and the all-or-nothing write of a new workspace.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, ensure, Context, Result};
use handlebars::Handlebars;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::catalog::{check_relative, Catalog, FileTree, Lab};

/// Words that cannot name a Python package or a Rust crate.
const KEYWORDS: &[&str] = &[
    // Python
    "false",
    "none",
    "true",
    "and",
    "as",
    "assert",
    "async",
    "await",
    "break",
    "class",
    "continue",
    "def",
    "del",
    "elif",
    "else",
    "except",
    "finally",
    "for",
    "from",
    "global",
    "if",
    "import",
    "in",
    "is",
    "lambda",
    "nonlocal",
    "not",
    "or",
    "pass",
    "raise",
    "return",
    "try",
    "while",
    "with",
    "yield",
    // Rust (strict and reserved), plus names cargo refuses
    "abstract",
    "become",
    "box",
    "const",
    "crate",
    "do",
    "dyn",
    "enum",
    "extern",
    "final",
    "fn",
    "impl",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "gen",
    "test",
    "core",
    "std",
    "alloc",
    "proc_macro",
];

/// Everything a workspace's templates were rendered with; recorded in `.lab/workspace.toml` so
/// the pristine grading suite can be rendered again exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vars {
    pub project_name: String,
    pub package_name: String,
    pub dist_name: String,
    pub author: String,
    pub author_email: String,
    pub year: i32,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Checks a project name and derives the package and distribution names from it.
/// Returns (package_name, dist_name).
pub fn derive_names(project: &str) -> Result<(String, String)> {
    const WHAT: &str = "project names use ASCII letters, digits, '-' and '_', and start with a letter";
    ensure!(!project.is_empty(), "the project name is empty; {WHAT}");
    if let Some(c) = project.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
        bail!("`{project}` is not a valid project name: {c:?} is not allowed; {WHAT}");
    }
    ensure!(
        project.starts_with(|c: char| c.is_ascii_alphabetic()),
        "`{project}` is not a valid project name: it must start with a letter; {WHAT}"
    );
    let package = project.to_ascii_lowercase().replace('-', "_");
    ensure!(
        !KEYWORDS.contains(&package.as_str()),
        "`{project}` is not a valid project name: `{package}` is a Python or Rust keyword or reserved name"
    );
    // PEP 503: runs of '-', '_' and '.' collapse to one '-'.
    let mut dist = String::new();
    for c in project.to_ascii_lowercase().chars() {
        if c == '-' || c == '_' {
            if !dist.ends_with('-') {
                dist.push('-');
            }
        } else {
            dist.push(c);
        }
    }
    Ok((package, dist))
}

/// Resolves `--set key=value` pairs against the lab's options; unset options take their default.
pub fn resolve_options(lab: &Lab, sets: &[(String, String)]) -> Result<BTreeMap<String, String>> {
    let mut chosen: BTreeMap<String, String> =
        lab.def.options.iter().map(|o| (o.name.clone(), o.default.clone())).collect();
    for (key, value) in sets {
        let option = lab.def.option(key).ok_or_else(|| {
            let known: Vec<&str> = lab.def.options.iter().map(|o| o.name.as_str()).collect();
            if known.is_empty() {
                anyhow!("lab `{}` has no options; remove --set {key}={value}", lab.def.id)
            } else {
                anyhow!("lab `{}` has no option `{key}`; its options: {}", lab.def.id, known.join(", "))
            }
        })?;
        ensure!(
            option.choices.contains(value),
            "`{value}` is not a choice for option `{key}`; choose one of: {}",
            option.choices.join(", ")
        );
        chosen.insert(key.clone(), value.clone());
    }
    Ok(chosen)
}

/// The data every template sees.
pub fn context(lab: &Lab, track: &str, vars: &Vars) -> serde_json::Value {
    let d = &lab.def;
    json!({
        "project_name": vars.project_name,
        "package_name": vars.package_name,
        "dist_name": vars.dist_name,
        "author": vars.author,
        "author_email": vars.author_email,
        "year": vars.year,
        "track": track,
        "options": vars.options,
        "lab": {
            "id": d.id, "title": d.title, "version": d.version, "summary": d.summary,
            "difficulty": d.difficulty.to_string(), "hours": d.hours,
            "module": d.roadmap.module, "output": d.roadmap.output,
        },
    })
}

/// One file ready to write.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub path: String,
    pub contents: Vec<u8>,
}

/// Limits that keep a lab's templates from exhausting the stack, memory or time of the machine
/// that renders them (a lab folder can come from anyone).
const MAX_TEMPLATE_BYTES: usize = 1 << 20;
const MAX_BLOCK_DEPTH: usize = 32;

/// Refuses templates that could render without bound: too large, nested too deep, or using
/// partials (which can recurse or expand exponentially). Labs need none of these.
pub fn check_template(text: &str) -> Result<()> {
    ensure!(
        text.len() <= MAX_TEMPLATE_BYTES,
        "it is {} bytes; templates are limited to {MAX_TEMPLATE_BYTES} bytes (ship large files without the .hbs suffix)",
        text.len()
    );
    let mut depth = 0usize;
    for (at, _) in text.match_indices("{{") {
        let tag = text[at + 2..].trim_start_matches(['~', '{']);
        if tag.starts_with('>') || tag.starts_with("#>") || tag.starts_with("#*inline") {
            bail!("it uses a partial (`{{{{>` or `{{{{#*inline`); lab templates may not, since partials can recurse without bound");
        }
        if tag.starts_with('#') {
            depth += 1;
            ensure!(depth <= MAX_BLOCK_DEPTH, "its blocks nest deeper than {MAX_BLOCK_DEPTH} levels");
        } else if tag.starts_with('/') {
            depth = depth.saturating_sub(1);
        }
    }
    Ok(())
}

pub struct Renderer {
    hb: Handlebars<'static>,
    ctx: serde_json::Value,
}

impl Renderer {
    pub fn new(ctx: serde_json::Value) -> Renderer {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.register_escape_fn(handlebars::no_escape);
        Renderer { hb, ctx }
    }

    /// Renders one template string, such as a path that carries variables.
    pub fn string(&self, template: &str) -> Result<String> {
        self.hb.render_template(template, &self.ctx).map_err(|e| anyhow!("`{template}` does not render: {e}"))
    }

    /// Renders a tree: `*.hbs` files through Handlebars (suffix dropped), others byte for byte;
    /// names with `{{` are rendered too. `origin` names the tree in errors.
    pub fn tree(&self, tree: &FileTree, origin: &str) -> Result<Vec<Rendered>> {
        tree.files
            .iter()
            .map(|file| {
                let mut path = if file.path.contains("{{") {
                    self.hb
                        .render_template(&file.path, &self.ctx)
                        .with_context(|| format!("{origin}/{}: file name does not render", file.path))?
                } else {
                    file.path.clone()
                };
                check_relative(&path).with_context(|| format!("{origin}/{}: rendered path", file.path))?;
                let contents = if let Some(stripped) = path.strip_suffix(".hbs") {
                    path = stripped.to_string();
                    let text = std::str::from_utf8(&file.contents)
                        .with_context(|| format!("{origin}/{}: a .hbs template must be UTF-8", file.path))?;
                    check_template(text).with_context(|| format!("{origin}/{}: template refused", file.path))?;
                    self.hb
                        .render_template(text, &self.ctx)
                        .map_err(|e| anyhow!("{e}"))
                        .with_context(|| format!("{origin}/{}: template does not render", file.path))?
                        .into_bytes()
                } else {
                    file.contents.to_vec()
                };
                Ok(Rendered { path, contents })
            })
            .collect()
    }
}

/// Everything `lab new` writes for a lab and track, except `.lab/`: the scaffold layers, the
/// starter over them, and the grading suite in its grading_dir. Later layers win on a path.
pub fn compose(catalog: &Catalog, lab: &Lab, track: &str, vars: &Vars) -> Result<Vec<Rendered>> {
    let tdef = lab.def.track(track)?;
    let renderer = Renderer::new(context(lab, track, vars));
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for name in &tdef.scaffolds {
        for f in renderer.tree(&catalog.scaffold(name)?, &format!("scaffolds/{name}"))? {
            files.insert(f.path, f.contents);
        }
    }
    for f in renderer.tree(&lab.starter(track)?, &format!("{}/{track}/starter", lab.def.id))? {
        files.insert(f.path, f.contents);
    }
    for f in grading(lab, track, vars)? {
        files.insert(format!("{}/{}", tdef.grading_dir, f.path), f.contents);
    }
    Ok(files.into_iter().map(|(path, contents)| Rendered { path, contents }).collect())
}

/// The grading suite rendered for a workspace, with paths relative to the suite's root.
pub fn grading(lab: &Lab, track: &str, vars: &Vars) -> Result<Vec<Rendered>> {
    let renderer = Renderer::new(context(lab, track, vars));
    let tree = lab.grading(track)?;
    ensure!(!tree.files.is_empty(), "lab `{}` track `{track}` has no grading suite", lab.def.id);
    renderer.tree(&tree, &format!("{}/{track}/grading", lab.def.id))
}

/// The reference solution rendered for a workspace.
pub fn solution(lab: &Lab, track: &str, vars: &Vars) -> Result<Vec<Rendered>> {
    let renderer = Renderer::new(context(lab, track, vars));
    let (tree, sub) = lab.solution(track, &vars.options)?;
    renderer.tree(&tree, &format!("{}/{sub}", lab.def.id))
}

/// Writes files under `root`, creating folders.
pub fn write_files(root: &Path, files: &[Rendered]) -> Result<()> {
    for f in files {
        let path = root.join(&f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, &f.contents).with_context(|| format!("cannot write {}", path.display()))?;
        if is_executable(&f.path, &f.contents) {
            set_executable(&path)?;
        }
    }
    Ok(())
}

/// Scripts keep working after scaffolding: a shebang or a `.sh` name makes a file executable.
fn is_executable(path: &str, contents: &[u8]) -> bool {
    contents.starts_with(b"#!") || path.ends_with(".sh")
}

fn set_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = fs::metadata(path).with_context(|| format!("cannot stat {}", path.display()))?.permissions();
    perms.set_mode(perms.mode() | 0o111);
    fs::set_permissions(path, perms).with_context(|| format!("cannot chmod {}", path.display()))
}

/// Refuses a target that exists and is not an empty folder.
pub fn check_target(target: &Path) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    ensure!(target.is_dir(), "{} exists and is not a folder; choose another DIR", target.display());
    let mut entries = fs::read_dir(target).with_context(|| format!("cannot read {}", target.display()))?;
    ensure!(
        entries.next().is_none(),
        "{} is not empty; lab new only writes into a new or empty folder, so nothing was touched",
        target.display()
    );
    Ok(())
}

/// Writes a whole workspace: everything is rendered into a temporary folder, then moved into
/// place, so an error or interruption leaves no `target` or a complete one. A new `target` is
/// staged beside it and renamed in one step; an existing empty one (such as `.`, the folder a
/// shell may be in) is staged inside it and filled entry by entry, undone on failure. Ctrl-C,
/// SIGTERM or SIGHUP while writing removes the staging folder; one a SIGKILL left behind is removed
/// by the next `lab new` in that folder.
pub fn write_atomically(target: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    crate::process::watch_interrupts();
    let existed = target.is_dir();
    let stage_in = if existed {
        target.to_path_buf()
    } else {
        match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    fs::create_dir_all(&stage_in).with_context(|| format!("cannot create {}", stage_in.display()))?;
    remove_stale_staging(&stage_in);
    let staging = tempfile::Builder::new()
        .prefix(&format!("{STAGING_PREFIX}{}-", std::process::id()))
        .tempdir_in(&stage_in)
        .with_context(|| format!("cannot create a temporary folder in {}", stage_in.display()))?;
    write(staging.path())?;
    if crate::process::interrupted() {
        return Err(crate::process::Interrupted.into());
    }
    if existed {
        let mut moved = Vec::new();
        let entries =
            fs::read_dir(staging.path()).with_context(|| format!("cannot read {}", staging.path().display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", staging.path().display()))?;
            let to = target.join(entry.file_name());
            if let Err(err) = fs::rename(entry.path(), &to) {
                moved.iter().for_each(remove_path);
                return Err(err).with_context(|| format!("cannot move the new workspace into {}", target.display()));
            }
            moved.push(to);
        }
        return Ok(());
    }
    let staged = staging.keep();
    if let Err(err) = fs::rename(&staged, target) {
        let _ = fs::remove_dir_all(&staged);
        return Err(err).with_context(|| format!("cannot move the new workspace into {}", target.display()));
    }
    Ok(())
}

const STAGING_PREFIX: &str = ".lab-new-";

fn remove_path(path: &PathBuf) {
    let _ = if path.is_dir() { fs::remove_dir_all(path) } else { fs::remove_file(path) };
}

/// Undoes `write_atomically`: removes the folder it made, or everything in the empty one it
/// filled (`existed`).
pub fn remove_written(target: &Path, existed: bool) {
    if !existed {
        let _ = fs::remove_dir_all(target);
        return;
    }
    for entry in fs::read_dir(target).into_iter().flatten().flatten() {
        remove_path(&entry.path());
    }
}

/// Staging folders whose `lab new` is gone (named `.lab-new-<pid>-...`; the pid is not running).
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(STAGING_PREFIX).and_then(|rest| rest.split('-').next()?.parse::<i32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() as i32 && !alive(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[allow(unsafe_code)] // kill(pid, 0) has no safe wrapper in std
fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_like_pep_503_and_cargo() {
        assert_eq!(derive_names("Rate-Limiter").unwrap(), ("rate_limiter".into(), "rate-limiter".into()));
        assert_eq!(derive_names("my__app").unwrap(), ("my__app".into(), "my-app".into()));
        assert_eq!(derive_names("a1").unwrap(), ("a1".into(), "a1".into()));
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        for (name, why) in [
            ("1app", "start with a letter"),
            ("my app", "' ' is not allowed"),
            ("café", "'é' is not allowed"),
            ("class", "keyword"),
            ("Self", "keyword"),
            ("", "empty"),
        ] {
            let err = derive_names(name).unwrap_err().to_string();
            assert!(err.contains(why), "{name}: {err}");
        }
    }

    #[test]
    fn strict_rendering_rejects_missing_variables_and_leaves_other_files_alone() {
        let r = Renderer::new(json!({"package_name": "pkg"}));
        let tree = FileTree {
            files: vec![
                crate::catalog::TreeFile {
                    path: "src/{{package_name}}/a.py.hbs".into(),
                    contents: b"x = '{{package_name}}'".to_vec().into(),
                },
                crate::catalog::TreeFile {
                    path: "ci.yml".into(),
                    contents: b"${{ github.sha }} {{missing}}".to_vec().into(),
                },
            ],
        };
        let out = r.tree(&tree, "t").unwrap();
        assert_eq!(out[0].path, "src/pkg/a.py");
        assert_eq!(out[0].contents, b"x = 'pkg'");
        assert_eq!(out[1].contents, b"${{ github.sha }} {{missing}}");
        let bad = FileTree {
            files: vec![crate::catalog::TreeFile { path: "a.hbs".into(), contents: b"{{nope}}".to_vec().into() }],
        };
        assert!(format!("{:#}", r.tree(&bad, "t").unwrap_err()).contains("t/a.hbs"));
        let escape = FileTree {
            files: vec![crate::catalog::TreeFile {
                path: "{{package_name}}/../../x".into(),
                contents: b"".to_vec().into(),
            }],
        };
        assert!(r.tree(&escape, "t").is_err());
    }
}
