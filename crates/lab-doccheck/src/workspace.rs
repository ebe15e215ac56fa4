//! The learner's workspace as the rules see it: documents loaded once and cached, simple `*`
//! globs, link resolution, and the shared "missing file / missing section" problems.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::markdown::Doc;
use crate::problem::Problem;

/// Documents larger than this are refused rather than parsed: nobody writes a 4 MB design doc,
/// and grading must stay fast.
const MAX_BYTES: u64 = 4 * 1024 * 1024;

pub(crate) struct Workspace {
    root: PathBuf,
    cache: HashMap<String, Result<Rc<Doc>, String>>,
}

/// Where an internal link points.
pub(crate) struct Target {
    pub(crate) path: String,
    pub(crate) anchor: Option<String>,
}

impl Workspace {
    pub(crate) fn new(root: &Path) -> Workspace {
        Workspace { root: root.to_path_buf(), cache: HashMap::new() }
    }

    pub(crate) fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn exists(&self, rel: &str) -> bool {
        self.abs(rel).exists()
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

    fn load(&self, rel: &str) -> Result<Rc<Doc>, String> {
        let path = self.abs(rel);
        let meta = std::fs::metadata(&path)
            .map_err(|_| format!("{rel} does not exist: create it (or restore it from the starter)"))?;
        if meta.is_dir() {
            return Err(format!("{rel} is a folder, but a Markdown file is expected"));
        }
        if meta.len() > MAX_BYTES {
            return Err(format!("{rel} is larger than 4 MB; the checker does not read it"));
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{rel} cannot be read: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{rel} is not UTF-8 text: save it as UTF-8"))?;
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

    /// File names (not folders) in a workspace folder, sorted; empty when it does not exist.
    pub(crate) fn list(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.abs(dir))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
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
        if !self.exists(&target.path) {
            return Some(format!("link target {dest} does not exist (looked for {})", target.path));
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
