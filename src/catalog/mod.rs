//! Lab definitions: lab.toml parsed and checked, and the template trees behind each lab and
//! scaffold, from the binary or from an instructor's folder.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, ensure, Context, Result};
use include_dir::{include_dir, Dir};

mod def;
mod mutant;

pub use def::*;
pub use mutant::*;

static EMBEDDED_LABS: Dir<'static> = include_dir!("$OUT_DIR/embedded/labs");
static EMBEDDED_SCAFFOLDS: Dir<'static> = include_dir!("$OUT_DIR/embedded/scaffolds");

/// Caches a lab author's own runs leave in a lab folder; never part of a template.
const SKIPPED_NAMES: &[&str] = &["__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".venv", "target"];
/// Where a lab's files come from.
#[derive(Debug, Clone)]
pub enum Source {
    Embedded,
    /// A lab folder on disk, and the `--labs-dir` it was found through.
    Dir {
        lab: PathBuf,
        root: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct Lab {
    pub def: LabDef,
    pub source: Source,
}

impl Lab {
    pub fn starter(&self, track: &str) -> Result<FileTree> {
        self.tree(&format!("{track}/starter"))
    }

    pub fn grading(&self, track: &str) -> Result<FileTree> {
        self.tree(&format!("{track}/grading"))
    }

    /// The reference solution for the chosen options: never embedded, so it comes from the lab's
    /// folder on disk or, for a built-in lab, from the source tree this binary was built from.
    /// A folder `<track>/solutions/<name>=<choice>[,<name>=<choice>...]/` serves the options it
    /// names (the one naming the most wins); `<track>/solution/` serves every other choice.
    /// Returns the tree and its folder, relative to the lab, for error messages.
    pub fn solution(&self, track: &str, options: &BTreeMap<String, String>) -> Result<(FileTree, String)> {
        let lab_dir = match &self.source {
            Source::Dir { lab, .. } => lab.clone(),
            Source::Embedded => source_tree_labs().join(&self.def.id),
        };
        let mut best: Option<(usize, String)> = None;
        for (name, pairs) in self.solution_variants(&lab_dir.join(track).join("solutions"))? {
            let fits = pairs.iter().all(|(k, v)| options.get(k) == Some(v));
            if fits && best.as_ref().is_none_or(|(n, _)| pairs.len() > *n) {
                best = Some((pairs.len(), name));
            }
        }
        let sub = match best {
            Some((_, name)) => format!("{track}/solutions/{name}"),
            None => format!("{track}/solution"),
        };
        let dir = lab_dir.join(&sub);
        ensure!(
            dir.is_dir(),
            "no reference solution for lab `{}` track `{track}` at {}: validate built-in labs from a checkout of lab, or pass --labs-dir",
            self.def.id,
            dir.display()
        );
        Ok((FileTree::from_dir(&dir, &dir)?, sub))
    }

    /// The folders under `<track>/solutions/`, each with the option choices its name selects.
    /// A name that is not `option=choice` pairs of this lab is an error, so a typo cannot leave a
    /// variant silently graded against the default solution.
    fn solution_variants(&self, dir: &Path) -> Result<Vec<SolutionVariant>> {
        let Ok(entries) = fs::read_dir(dir) else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if !entry.path().is_dir() {
                continue;
            }
            let mut pairs = Vec::new();
            for pair in name.split(',') {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    anyhow!(
                        "{}: name a solution variant `option=choice` (e.g. system=whatsapp)",
                        entry.path().display()
                    )
                })?;
                let option = self.def.option(k).ok_or_else(|| {
                    anyhow!("{}: `{k}` is not an option of lab `{}`", entry.path().display(), self.def.id)
                })?;
                ensure!(
                    option.choices.iter().any(|c| c == v),
                    "{}: `{v}` is not a choice of option `{k}` (choices: {})",
                    entry.path().display(),
                    option.choices.join(", ")
                );
                pairs.push((k.to_string(), v.to_string()));
            }
            out.push((name, pairs));
        }
        out.sort();
        Ok(out)
    }

    /// The known-wrong implementations of a track (`<track>/mutants/*.toml`), by file name.
    /// Like the solution they are never embedded; a track without the folder has none.
    pub fn mutants(&self, track: &str) -> Result<Vec<MutantDef>> {
        let dir = match &self.source {
            Source::Dir { lab, .. } => lab.join(track).join("mutants"),
            Source::Embedded => source_tree_labs().join(&self.def.id).join(track).join("mutants"),
        };
        let Ok(entries) = fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut paths: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "toml")).collect();
        paths.sort();
        paths.iter().map(|path| parse_mutant(path, &self.def)).collect()
    }

    fn tree(&self, sub: &str) -> Result<FileTree> {
        match &self.source {
            Source::Embedded => {
                let dir = EMBEDDED_LABS.get_dir(format!("{}/{sub}", self.def.id));
                Ok(dir.map(|d| FileTree::from_embedded(d, &format!("{}/{sub}/", self.def.id))).unwrap_or_default())
            }
            Source::Dir { lab, .. } => {
                let dir = lab.join(sub);
                if dir.is_dir() {
                    FileTree::from_dir(&dir, lab)
                } else {
                    Ok(FileTree::default())
                }
            }
        }
    }
}

/// A folder under `<track>/solutions/`: its name and the (option, choice) pairs it serves.
type SolutionVariant = (String, Vec<(String, String)>);

/// Where built-in labs' reference solutions live: the source tree of this build.
pub fn source_tree_labs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs")
}

/// A set of files with '/'-separated relative paths, sorted by path.
#[derive(Debug, Clone, Default)]
pub struct FileTree {
    pub files: Vec<TreeFile>,
}

#[derive(Debug, Clone)]
pub struct TreeFile {
    pub path: String,
    pub contents: Cow<'static, [u8]>,
}

impl FileTree {
    fn from_embedded(dir: &'static Dir<'static>, prefix: &str) -> FileTree {
        let mut files = Vec::new();
        collect_embedded(dir, prefix, &mut files);
        files.sort_by(|a, b| a.path.cmp(&b.path));
        FileTree { files }
    }

    /// Reads a folder. Symlinks are followed only while their target stays inside `boundary`.
    pub fn from_dir(dir: &Path, boundary: &Path) -> Result<FileTree> {
        let boundary = boundary.canonicalize().with_context(|| format!("cannot resolve {}", boundary.display()))?;
        let mut files = Vec::new();
        read_dir_into(dir, "", &boundary, &mut files)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(FileTree { files })
    }
}

fn collect_embedded(dir: &'static Dir<'static>, prefix: &str, out: &mut Vec<TreeFile>) {
    for file in dir.files() {
        let full = file.path().to_string_lossy().replace('\\', "/");
        let path = full.strip_prefix(prefix).unwrap_or(&full).to_string();
        out.push(TreeFile { path, contents: Cow::Borrowed(file.contents()) });
    }
    for sub in dir.dirs() {
        collect_embedded(sub, prefix, out);
    }
}

fn read_dir_into(dir: &Path, rel: &str, boundary: &Path, out: &mut Vec<TreeFile>) -> Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_str().ok_or_else(|| anyhow!("{}: file names in a lab must be UTF-8", path.display()))?;
        if SKIPPED_NAMES.contains(&name) {
            continue;
        }
        let file_type = entry.file_type().with_context(|| format!("cannot stat {}", path.display()))?;
        if file_type.is_symlink() {
            let target = path.canonicalize().with_context(|| format!("{}: broken symlink", path.display()))?;
            ensure!(
                target.starts_with(boundary),
                "{}: symlink points outside the lab folder ({}); copy the file in instead",
                path.display(),
                target.display()
            );
        }
        let child = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
        if path.is_dir() {
            read_dir_into(&path, &child, boundary, out)?;
        } else {
            let contents = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            out.push(TreeFile { path: child, contents: Cow::Owned(contents) });
        }
    }
    Ok(())
}

/// All labs a command can see, and the scaffold layers they compose.
pub struct Catalog {
    pub labs: Vec<Lab>,
    scaffold_dirs: Vec<PathBuf>,
}

impl Catalog {
    /// The built-in labs plus those in `extra` folders (an instructor's lab replaces a built-in
    /// one with the same id).
    pub fn load(extra: &[PathBuf]) -> Result<Catalog> {
        let mut labs = Vec::new();
        for dir in EMBEDDED_LABS.dirs() {
            let Some(file) = dir.get_file(dir.path().join("lab.toml")) else { continue };
            let id = dir.path().to_string_lossy().to_string();
            let text = std::str::from_utf8(file.contents()).context("lab.toml is not UTF-8")?;
            let def = parse_lab(text, &id).with_context(|| format!("built-in lab `{id}`"))?;
            labs.push(Lab { def, source: Source::Embedded });
        }
        let mut scaffold_dirs = Vec::new();
        for root in extra {
            let (labs_dir, scaffolds) = if root.join("labs").is_dir() {
                (root.join("labs"), Some(root.join("scaffolds")))
            } else {
                (root.clone(), None)
            };
            ensure!(labs_dir.is_dir(), "labs folder {} does not exist", labs_dir.display());
            if let Some(s) = scaffolds.filter(|s| s.is_dir()) {
                scaffold_dirs.push(s);
            }
            let mut entries: Vec<PathBuf> = fs::read_dir(&labs_dir)
                .with_context(|| format!("cannot read {}", labs_dir.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("lab.toml").is_file())
                .collect();
            entries.sort();
            for lab_dir in entries {
                let id = lab_dir.file_name().unwrap_or_default().to_string_lossy().to_string();
                let path = lab_dir.join("lab.toml");
                let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
                let def = parse_lab(&text, &id).with_context(|| format!("in {}", path.display()))?;
                labs.retain(|l: &Lab| l.def.id != def.id);
                let root = root.canonicalize().unwrap_or_else(|_| root.clone());
                labs.push(Lab { def, source: Source::Dir { lab: lab_dir, root } });
            }
        }
        labs.sort_by(|a, b| a.def.id.cmp(&b.def.id));
        let catalog = Catalog { labs, scaffold_dirs };
        for lab in &catalog.labs {
            for (track, def) in &lab.def.tracks {
                for name in &def.scaffolds {
                    ensure!(
                        catalog.has_scaffold(name),
                        "lab `{}` track `{track}` composes scaffold `{name}`, which does not exist",
                        lab.def.id
                    );
                }
            }
        }
        Ok(catalog)
    }

    pub fn get(&self, id: &str) -> Result<&Lab> {
        if let Some(lab) = self.labs.iter().find(|l| l.def.id == id) {
            return Ok(lab);
        }
        let hint = match closest(id, self.labs.iter().map(|l| l.def.id.as_str())) {
            Some(name) => format!("did you mean `{name}`?"),
            None => "`lab list` shows every lab".to_string(),
        };
        Err(anyhow!("unknown lab `{id}`: {hint}"))
    }

    fn has_scaffold(&self, name: &str) -> bool {
        self.scaffold_dirs.iter().any(|d| d.join(name).is_dir()) || EMBEDDED_SCAFFOLDS.get_dir(name).is_some()
    }

    /// A track's prerequisites: read from the files the learner's workspace starts with (the
    /// last layer that writes the file wins, as when scaffolding) and declared in lab.toml.
    pub fn prerequisites<'a>(&self, lab: &'a Lab, track: &str) -> Result<Prerequisites<'a>> {
        let tdef = lab.def.track(track)?;
        let mut layers = Vec::new();
        for name in &tdef.scaffolds {
            layers.push(self.scaffold(name)?);
        }
        layers.push(lab.starter(track)?);
        let last_file = |name: &str| {
            let hbs = format!("{name}.hbs");
            layers.iter().rev().find_map(|layer| {
                let file = layer.files.iter().find(|f| f.path == name || f.path == hbs)?;
                Some(String::from_utf8_lossy(&file.contents).into_owned())
            })
        };
        let requires_python = match tdef.runner {
            RunnerKind::Pytest => {
                last_file("pyproject.toml").and_then(|t| toml_string(&t, "project", "requires-python"))
            }
            _ => None,
        };
        let rust_version = match tdef.runner {
            RunnerKind::Cargo => last_file("Cargo.toml").and_then(|t| toml_string(&t, "package", "rust-version")),
            _ => None,
        };
        Ok(Prerequisites { runner: tdef.runner, requires_python, rust_version, tools: &tdef.prerequisites })
    }

    pub fn scaffold(&self, name: &str) -> Result<FileTree> {
        for dir in &self.scaffold_dirs {
            let path = dir.join(name);
            if path.is_dir() {
                return FileTree::from_dir(&path, &path);
            }
        }
        let dir = EMBEDDED_SCAFFOLDS.get_dir(name).ok_or_else(|| anyhow!("scaffold `{name}` does not exist"))?;
        Ok(FileTree::from_embedded(dir, &format!("{name}/")))
    }
}

/// The string `key = "value"` in `[section]` of a TOML file that may be a Handlebars template
/// (and so need not parse as TOML): read line by line.
fn toml_string(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[') {
            current = header.trim_end_matches(']').trim().to_string();
            continue;
        }
        if current != section {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else { continue };
        if k.trim() != key {
            continue;
        }
        let v = v.trim();
        let quote = v.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let inner = &v[1..];
        return inner.find(quote).map(|end| inner[..end].trim().to_string()).filter(|s| !s.is_empty());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
format_version = 1
id = "demo"
title = "Demo"
summary = "A demo."
version = "1.0.0"
difficulty = "beginner"
hours = 1
[roadmap]
module = "Basics"
output = "Something"
[tracks.python]
runner = "pytest"
grading_dir = "tests/grading"
[[stages]]
id = "one"
title = "One"
goal = "Do one."
hints = ["a"]
tests.python = ["test_a"]
"#;

    #[test]
    fn a_minimal_lab_parses() {
        let def = parse_lab(MINIMAL, "demo").unwrap();
        assert_eq!(def.default_track(), "python");
        assert_eq!(def.stages[0].tests["python"], ["test_a"]);
    }

    #[test]
    fn the_id_must_match_the_folder() {
        let err = parse_lab(MINIMAL, "other").unwrap_err();
        assert!(format!("{err:#}").contains("must match its folder name"), "{err:#}");
    }

    #[test]
    fn duplicate_tests_and_bad_defaults_are_rejected() {
        let dup = MINIMAL.replace("tests.python = [\"test_a\"]", "tests.python = [\"test_a\", \"test_a\"]");
        assert!(format!("{:#}", parse_lab(&dup, "demo").unwrap_err()).contains("declared twice"));
        let opt = format!("{MINIMAL}\n[[options]]\nname = \"system\"\nchoices = [\"a\", \"b\"]\ndefault = \"c\"\n");
        assert!(format!("{:#}", parse_lab(&opt, "demo").unwrap_err()).contains("not one of its choices"));
        let newer = MINIMAL.replace("format_version = 1", "format_version = 2");
        assert!(format!("{:#}", parse_lab(&newer, "demo").unwrap_err()).contains("not supported"));
        let unknown = MINIMAL.replace("hours = 1", "hours = 1\nhourz = 2");
        assert!(parse_lab(&unknown, "demo").is_err());
    }

    #[test]
    fn prerequisites_are_declared_per_track_with_a_note() {
        let declared = MINIMAL.replace(
            "grading_dir = \"tests/grading\"",
            "grading_dir = \"tests/grading\"\nprerequisites = [{ tool = \"promtool\", optional = true, note = \"for the alert-rule tests\" }]",
        );
        let def = parse_lab(&declared, "demo").unwrap();
        let tool = &def.tracks["python"].prerequisites[0];
        assert_eq!(
            (tool.tool.as_str(), tool.optional, tool.note.as_str()),
            ("promtool", true, "for the alert-rule tests")
        );
        let silent = declared.replace("note = \"for the alert-rule tests\"", "note = \" \"");
        assert!(format!("{:#}", parse_lab(&silent, "demo").unwrap_err()).contains("say what `promtool` is for"));
        let path = declared.replace("tool = \"promtool\"", "tool = \"/usr/bin/promtool\"");
        assert!(format!("{:#}", parse_lab(&path, "demo").unwrap_err()).contains("a program's name"));
        let server = declared
            .replace("optional = true,", "also_in = [\"/usr/lib/postgresql/*/bin\"], or_env = \"DATABASE_URL\",");
        let tool = parse_lab(&server, "demo").unwrap().tracks["python"].prerequisites[0].clone();
        assert_eq!(
            (tool.also_in, tool.or_env.as_deref()),
            (vec!["/usr/lib/postgresql/*/bin".to_string()], Some("DATABASE_URL"))
        );
        let relative = server.replace("/usr/lib/postgresql/*/bin", "lib/*/bin");
        assert!(format!("{:#}", parse_lab(&relative, "demo").unwrap_err()).contains("absolute folders"));
        let not_a_var = server.replace("\"DATABASE_URL\"", "\"database url\"");
        assert!(format!("{:#}", parse_lab(&not_a_var, "demo").unwrap_err()).contains("environment variable's name"));
    }

    #[test]
    fn a_template_toml_value_is_read_from_its_section() {
        let text = "[build-system]\nrequires-python = \"no\"\n[project]\nname = \"{{dist_name}}\"\nrequires-python = \">=3.11\"  # comment\n";
        assert_eq!(toml_string(text, "project", "requires-python").as_deref(), Some(">=3.11"));
        assert_eq!(toml_string(text, "package", "rust-version"), None);
        assert_eq!(
            toml_string("[package]\nrust-version = '1.88'\n", "package", "rust-version").as_deref(),
            Some("1.88")
        );
    }

    #[test]
    fn built_in_tracks_state_their_python_and_rust() {
        let catalog = Catalog::load(&[]).unwrap();
        let lab = catalog.get("rate-limiter").unwrap();
        let python = catalog.prerequisites(lab, "python").unwrap();
        assert_eq!(python.requires_python.as_deref(), Some(">=3.11"));
        let rust = catalog.prerequisites(lab, "rust").unwrap();
        assert!(rust.rust_version.is_some() && rust.requires_python.is_none(), "{rust:?}");
    }

    #[test]
    fn grading_dirs_stay_inside_the_workspace() {
        for bad in ["../x", "/abs", "a/../b", "a//b", ""] {
            assert!(check_relative(bad).is_err(), "{bad}");
        }
        assert!(check_relative("tests/grading").is_ok());
    }
}
