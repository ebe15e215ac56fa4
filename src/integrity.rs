//! Files in a workspace that could influence grading: found before a check runs, listed in its
//! report as integrity warnings, refused by `--strict`, and refused always when they can forge a
//! result that no later check would notice (docs/grading-integrity.md).

use std::fs;
use std::path::Path;

use serde::Serialize;

/// What kind of influence a file could have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A module named like the runner or its parts (`pytest.py`, `_pytest/`, `pluggy/`).
    ShadowingModule,
    /// `sitecustomize.py`, `usercustomize.py` or a `.pth` file.
    SiteHook,
    /// Package metadata or a pyproject table that declares pytest plugins.
    PluginEntryPoint,
    /// The learner's code reaches into the test runner's internals.
    RunnerInternals,
    /// `.cargo/config.toml` or a toolchain file.
    CargoConfig,
    /// A build script: code that runs at build time, before the suite compiles.
    BuildScript,
    /// Code placed in a constructor section, which runs before the test harness starts.
    NativeConstructor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Relative to the workspace root.
    pub path: String,
    pub kind: Kind,
    pub message: String,
    /// Whether this refuses grading in every mode, not only with `--strict`.
    pub blocking: bool,
}

/// Folders never scanned: lab's own, the environment, build output and version control.
const SKIP: &[&str] = &[".lab", ".venv", "target", ".git", "node_modules"];
/// Files larger than this are not read for their contents (their names still count).
const MAX_READ: u64 = 1 << 20;

const SHADOWING: &[&str] = &["pytest", "_pytest", "pluggy", "py"];
const RUNNER_NAMES: &[&str] = &["import _pytest", "from _pytest", "import pluggy", "from pluggy", ".lab/run"];
const CONSTRUCTOR_MARKS: &[&str] = &["link_section", ".init_array", ".ctors", "#[ctor", "ctor::ctor"];
const CONSTRUCTOR_CRATES: &[&str] = &["ctor", "linkme", "inventory", "startup"];

/// Scans the workspace. Unreadable entries are skipped: the scan informs, the runner's own
/// defences still hold.
pub fn scan(root: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    walk(root, root, 0, &mut findings);
    findings.sort_by(|a, b| a.path.cmp(&b.path));
    findings
}

fn walk(root: &Path, dir: &Path, depth: usize, findings: &mut Vec<Finding>) {
    if depth > 24 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else { continue };
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
        if kind.is_dir() {
            if depth == 0 && SKIP.contains(&name.as_str()) {
                continue;
            }
            if SHADOWING.contains(&name.as_str()) && path.join("__init__.py").exists() {
                findings.push(finding(
                    rel.clone(),
                    Kind::ShadowingModule,
                    "a package named like part of pytest",
                    false,
                ));
            }
            if name == ".cargo" {
                for config in ["config", "config.toml"] {
                    if path.join(config).is_file() {
                        findings.push(finding(
                            format!("{rel}/{config}"),
                            Kind::CargoConfig,
                            "cargo configuration; grading starts cargo outside the workspace, so it does not apply there",
                            false,
                        ));
                    }
                }
                continue;
            }
            walk(root, &path, depth + 1, findings);
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        file_findings(&path, &name, rel, findings);
    }
}

fn file_findings(path: &Path, name: &str, rel: String, findings: &mut Vec<Finding>) {
    let stem = name.strip_suffix(".py");
    if stem.is_some_and(|s| SHADOWING.contains(&s)) {
        findings.push(finding(rel, Kind::ShadowingModule, "a module named like part of pytest", false));
    } else if matches!(name, "sitecustomize.py" | "usercustomize.py") || name.ends_with(".pth") {
        findings.push(finding(
            rel,
            Kind::SiteHook,
            "a Python start-up hook; grading starts Python without site hooks",
            false,
        ));
    } else if name == "entry_points.txt" && read(path).is_some_and(|t| t.contains("[pytest11]")) {
        findings.push(finding(
            rel,
            Kind::PluginEntryPoint,
            "declares a pytest plugin; grading loads no plugin it does not name",
            false,
        ));
    } else if name == "pyproject.toml" && read(path).is_some_and(|t| t.contains("pytest11")) {
        findings.push(finding(rel, Kind::PluginEntryPoint, "declares a pytest plugin entry point", false));
    } else if matches!(name, "rust-toolchain" | "rust-toolchain.toml") {
        findings.push(finding(
            rel,
            Kind::CargoConfig,
            "a toolchain file; grading starts cargo outside the workspace",
            false,
        ));
    } else if name == "build.rs" {
        findings.push(finding(
            rel,
            Kind::BuildScript,
            "a build script runs code before the grading suite compiles",
            false,
        ));
    } else if name == "Cargo.toml" {
        if let Some(text) = read(path) {
            if let Some(krate) = constructor_dependency(&text) {
                findings.push(finding(
                    rel,
                    Kind::NativeConstructor,
                    &format!(
                        "depends on `{krate}`, which runs code before the test harness starts and can forge its output"
                    ),
                    true,
                ));
            } else if text.lines().any(|l| l.trim_start().starts_with("build =")) {
                findings.push(finding(rel, Kind::BuildScript, "names a build script", false));
            }
        }
    } else if name.ends_with(".rs") {
        if let Some(mark) = read(path).and_then(|t| CONSTRUCTOR_MARKS.iter().find(|m| t.contains(**m)).copied()) {
            findings.push(finding(
                rel,
                Kind::NativeConstructor,
                &format!("uses `{mark}`: code that runs before the test harness starts can forge its output"),
                true,
            ));
        }
    } else if name.ends_with(".py") {
        if let Some(mark) = read(path).and_then(|t| RUNNER_NAMES.iter().find(|m| t.contains(**m)).copied()) {
            findings.push(finding(
                rel,
                Kind::RunnerInternals,
                &format!("reaches into the test runner (`{mark}`)"),
                false,
            ));
        }
    }
}

/// A dependency on a crate whose purpose is running code before `main`.
fn constructor_dependency(manifest: &str) -> Option<&'static str> {
    let doc: toml::Table = toml::from_str(manifest).ok()?;
    let tables = ["dependencies", "dev-dependencies", "build-dependencies"];
    tables
        .iter()
        .filter_map(|t| doc.get(*t).and_then(|d| d.as_table()))
        .find_map(|deps| CONSTRUCTOR_CRATES.iter().find(|c| deps.contains_key(**c)).copied())
}

fn read(path: &Path) -> Option<String> {
    let meta = fs::metadata(path).ok()?;
    (meta.len() <= MAX_READ).then(|| fs::read_to_string(path).ok()).flatten()
}

fn finding(path: String, kind: Kind, message: &str, blocking: bool) -> Finding {
    Finding { path, kind, message: message.to_string(), blocking }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_kind_and_skips_lab_and_venv_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let put = |rel: &str, text: &str| {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        put("src/pytest.py", "");
        put("src/pkg/sitecustomize.py", "");
        put("x.pth", "");
        put("src/cheat-0.dist-info/entry_points.txt", "[pytest11]\nc = m\n");
        put("src/pkg/core.py", "import _pytest.reports\n");
        put(".cargo/config.toml", "");
        put("build.rs", "fn main() {}");
        put("src/lib.rs", "#[used]\n#[link_section = \".init_array\"]\nstatic X: u8 = 0;\n");
        put("sub/Cargo.toml", "[package]\nname='a'\n[dependencies]\nctor = '0.2'\n");
        put(".venv/lib/pytest.py", "");
        put(".lab/run/grading/conftest.py", "import _pytest\n");
        put("src/pkg/fine.py", "import os\n");
        let found: Vec<(String, Kind, bool)> = scan(root).into_iter().map(|f| (f.path, f.kind, f.blocking)).collect();
        assert_eq!(
            found,
            [
                (".cargo/config.toml".into(), Kind::CargoConfig, false),
                ("build.rs".into(), Kind::BuildScript, false),
                ("src/cheat-0.dist-info/entry_points.txt".into(), Kind::PluginEntryPoint, false),
                ("src/lib.rs".into(), Kind::NativeConstructor, true),
                ("src/pkg/core.py".into(), Kind::RunnerInternals, false),
                ("src/pkg/sitecustomize.py".into(), Kind::SiteHook, false),
                ("src/pytest.py".into(), Kind::ShadowingModule, false),
                ("sub/Cargo.toml".into(), Kind::NativeConstructor, true),
                ("x.pth".into(), Kind::SiteHook, false),
            ]
        );
    }
}
