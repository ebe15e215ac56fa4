//! The learner's workspace as the rules see it: documents loaded once and cached (only regular
//! files inside the root, within a size cap, as UTF-8), simple `*` globs, link resolution, and
//! the shared "missing file / missing section" problems.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::markdown::Doc;
use crate::problem::Problem;

/// Documents larger than this are refused rather than parsed. Real design documents and ADRs
/// are tens of kilobytes (the design-doc lab's reference solution is 23 KB); the cap only bounds
/// memory and time against generated or pasted-in bulk. It sits well above 5 MB, a size every
/// rule grades in well under a second (benches/doccheck-large.sh), so no plausible document is
/// refused, and a document at the cap still grades in about two seconds per rule.
pub(crate) const MAX_BYTES: u64 = 8 * 1024 * 1024;

pub(crate) struct Workspace {
    root: PathBuf,
    cache: HashMap<String, Result<Rc<Doc>, String>>,
    /// What `entry` found per path: link checks ask about the same targets over and over.
    entries: HashMap<String, Result<Kind, Refused>>,
}

/// Why a path cannot be read; a missing path is told apart because link checks word it
/// differently.
#[derive(Debug, Clone)]
enum Refused {
    Missing(String),
    Other(String),
}

impl Refused {
    fn message(self) -> String {
        match self {
            Refused::Missing(m) | Refused::Other(m) => m,
        }
    }
}

/// What a workspace path is, once it is known to be inside the root and reached without links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Folder,
}

/// Where an internal link points.
pub(crate) struct Target {
    pub(crate) path: String,
    pub(crate) anchor: Option<String>,
}

impl Workspace {
    pub(crate) fn new(root: &Path) -> Workspace {
        Workspace { root: root.to_path_buf(), cache: HashMap::new(), entries: HashMap::new() }
    }

    pub(crate) fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Is `rel` a regular file or a folder inside the root, reached without following a
    /// symbolic link? Anything else is a message naming the path and saying what to do.
    /// A link anywhere on the way is refused, not followed: it may point outside the workspace,
    /// and grading must read what is committed, not what the grading machine happens to hold.
    fn entry(&mut self, rel: &str) -> Result<Kind, Refused> {
        if let Some(known) = self.entries.get(rel) {
            return known.clone();
        }
        let found = self.probe(rel);
        self.entries.insert(rel.to_string(), found.clone());
        found
    }

    fn probe(&self, rel: &str) -> Result<Kind, Refused> {
        let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
        if parts.is_empty() || parts.contains(&"..") {
            return Err(Refused::Other(format!("{rel} is not a path inside the workspace")));
        }
        let mut path = self.root.clone();
        for (i, part) in parts.iter().enumerate() {
            path.push(part);
            let shown = parts[..=i].join("/");
            let last = i + 1 == parts.len();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                return Err(Refused::Missing(format!(
                    "{rel} does not exist: create it (or restore it from the starter)"
                )));
            };
            let t = meta.file_type();
            if t.is_symlink() {
                return Err(Refused::Other(if last {
                    format!(
                        "{rel} is a symbolic link; the checker reads only regular files inside the workspace: \
                         replace the link with the file itself"
                    )
                } else {
                    format!(
                        "{rel} is inside {shown}, which is a symbolic link; the checker reads only regular files \
                         inside the workspace: replace the link with the folder itself"
                    )
                }));
            }
            if t.is_dir() {
                continue;
            }
            if !t.is_file() {
                return Err(Refused::Other(format!(
                    "{shown} is not a regular file (a named pipe, socket or device); the checker reads only \
                     regular files: replace it with a Markdown file"
                )));
            }
            if !last {
                return Err(Refused::Missing(format!("{rel} does not exist: {shown} is a file, not a folder")));
            }
            return Ok(Kind::File);
        }
        Ok(Kind::Folder)
    }

    /// Loads and parses a document; a missing or unreadable file is a problem, not an error.
    pub(crate) fn doc(&mut self, rel: &str) -> Result<Rc<Doc>, Problem> {
        if !self.cache.contains_key(rel) {
            let loaded = self.load(rel);
            self.cache.insert(rel.to_string(), loaded);
        }
        match &self.cache[rel] {
            Ok(d) => Ok(d.clone()),
            Err(m) => Err(Problem::in_file(rel, m.clone())),
        }
    }

    fn load(&mut self, rel: &str) -> Result<Rc<Doc>, String> {
        if self.entry(rel).map_err(Refused::message)? == Kind::Folder {
            return Err(format!("{rel} is a folder, but a Markdown file is expected"));
        }
        let too_big = |size: String| {
            format!(
                "{rel} is {size}, over the checker's limit of {} MiB per document: split it, or remove \
                 generated or pasted-in bulk",
                MAX_BYTES >> 20
            )
        };
        let mut file = std::fs::File::open(self.abs(rel)).map_err(|e| format!("{rel} cannot be read: {e}"))?;
        let len = file.metadata().map_err(|e| format!("{rel} cannot be read: {e}"))?.len();
        if len > MAX_BYTES {
            return Err(too_big(format!("{:.1} MiB", len as f64 / (1024.0 * 1024.0))));
        }
        // read at most one byte past the cap, in case the file grew since it was measured
        let mut bytes = Vec::with_capacity(len as usize);
        file.by_ref().take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("{rel} cannot be read: {e}"))?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(too_big("more than that".into()));
        }
        let text = String::from_utf8(bytes).map_err(|e| not_utf8(rel, e.as_bytes(), e.utf8_error().valid_up_to()))?;
        Ok(Rc::new(Doc::parse(rel, &text)))
    }

    /// Expands a pattern whose last component may hold `*` (e.g. `docs/adr/*.md`); other
    /// patterns are returned as they are (a missing file then fails where it is read).
    pub(crate) fn glob(&self, pattern: &str) -> Vec<String> {
        let (dir, name) = match pattern.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", pattern),
        };
        if !name.contains('*') {
            return vec![pattern.to_string()];
        }
        let mut out: Vec<String> =
            self.list(dir).into_iter().filter(|n| wildcard(name, n)).map(|n| join(dir, &n)).collect();
        out.sort();
        out
    }

    /// Names of everything but folders in a workspace folder, sorted; empty when it does not
    /// exist. Symbolic links and other non-regular files are listed on purpose: reading them
    /// fails with a message, where leaving them out would hide them from the learner.
    pub(crate) fn list(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.abs(dir))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.file_type().map(|t| !t.is_dir()).unwrap_or(false))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Resolves a link written in `from` (a workspace-relative file). None for external links
    /// (with a scheme such as https: or mailto:); Err when it climbs out of the workspace.
    pub(crate) fn resolve(&self, from: &str, dest: &str) -> Option<Result<Target, String>> {
        let dest = dest.trim();
        if dest.is_empty() {
            return Some(Err("the link has an empty target".into()));
        }
        let scheme = dest
            .split_once(':')
            .map(|(s, _)| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .unwrap_or(false);
        if scheme || dest.starts_with("//") {
            return None;
        }
        let (path, anchor) = match dest.split_once('#') {
            Some((p, a)) => (p, Some(percent_decode(a))),
            None => (dest, None),
        };
        let path = path.split('?').next().unwrap_or("");
        if path.is_empty() {
            return Some(Ok(Target { path: from.to_string(), anchor }));
        }
        let base: Vec<&str> = if path.starts_with('/') {
            Vec::new()
        } else {
            let mut b: Vec<&str> = from.split('/').collect();
            b.pop();
            b
        };
        let decoded = percent_decode(path);
        let mut parts: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        for comp in decoded.split('/') {
            match comp {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Some(Err(format!("{dest} points outside the repository")));
                    }
                }
                c => parts.push(c.to_string()),
            }
        }
        Some(Ok(Target { path: parts.join("/"), anchor }))
    }

    /// Checks that an internal link resolves: the file exists and, for Markdown targets, the
    /// anchor names a heading. Returns a message when it does not.
    pub(crate) fn broken(&mut self, from: &str, dest: &str) -> Option<String> {
        let target = match self.resolve(from, dest)? {
            Ok(t) => t,
            Err(m) => return Some(m),
        };
        match self.entry(&target.path) {
            Ok(_) => {}
            Err(Refused::Missing(_)) => {
                return Some(format!("link target {dest} does not exist (looked for {})", target.path))
            }
            Err(Refused::Other(m)) => return Some(format!("link target {dest}: {m}")),
        }
        let anchor = target.anchor.filter(|a| !a.is_empty())?;
        if !target.path.ends_with(".md") {
            return None;
        }
        match self.doc(&target.path) {
            Ok(d) if d.has_slug(&anchor) => None,
            Ok(_) => Some(format!("link {dest}: {} has no heading with the anchor #{anchor}", target.path)),
            Err(f) => Some(f.message),
        }
    }
}

/// The message for a document that is not UTF-8: where the first bad byte is, and what to do.
fn not_utf8(rel: &str, bytes: &[u8], at: usize) -> String {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return format!("{rel} is UTF-16 text, not UTF-8: save it as UTF-8");
    }
    let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    format!("{rel} is not valid UTF-8 text: the byte at offset {at} (line {line}) is not UTF-8; save the file as UTF-8")
}

pub(crate) fn quoted(items: &[String]) -> String {
    items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ")
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `*` matches any run of characters; everything else literally.
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // both digits must be ASCII hex, so slicing cannot split a UTF-8 character
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
