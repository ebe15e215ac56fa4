//! Which Python a workspace runs with, and `lab setup` for Python tracks: a venv (made with uv
//! when it is on PATH) with the workspace's dependencies installed.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::process::{on_path, Cmd};

/// Overrides the interpreter everywhere: setup installs into it, check runs it.
pub const ENV_PYTHON: &str = "LAB_PYTHON";
/// A venv to use instead of the workspace's `.venv` (one venv shared by many workspaces).
pub const ENV_VENV: &str = "LAB_VENV";

const INSTALL_TIMEOUT: Duration = Duration::from_secs(1800);

pub fn venv_dir(root: &Path) -> PathBuf {
    env::var_os(ENV_VENV).map(PathBuf::from).unwrap_or_else(|| root.join(".venv"))
}

/// The interpreter that runs the grading suite.
pub fn interpreter(root: &Path) -> Result<PathBuf> {
    if let Some(python) = env::var_os(ENV_PYTHON) {
        return Ok(PathBuf::from(python));
    }
    let venv = venv_dir(root);
    let python = venv.join("bin/python");
    if python.exists() {
        Ok(python)
    } else {
        bail!(
            "this workspace is not set up: there is no virtual environment at {}. Run `lab setup` (or set {ENV_PYTHON} to an interpreter that has the workspace's dependencies)",
            venv.display()
        )
    }
}

/// How `lab setup` installs: the track's pip arguments, or only the dependencies they name
/// (for a venv shared by many workspaces, where the runner puts each workspace's code first
/// on PYTHONPATH anyway).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Install {
    AsDeclared,
    DependenciesOnly,
}

/// Makes the venv if needed and installs into it; returns the interpreter.
pub fn setup(root: &Path, pip_args: &[String], install: Install, quiet: bool) -> Result<PathBuf> {
    let uv = on_path("uv");
    let python = match env::var_os(ENV_PYTHON) {
        Some(p) => PathBuf::from(p),
        None => {
            let venv = venv_dir(root);
            let python = venv.join("bin/python");
            if !python.exists() {
                if !quiet {
                    crate::say!("Creating a virtual environment in {}", venv.display());
                }
                let cmd = if uv {
                    Cmd::new("uv").arg("venv").arg(&venv).args(["--python", "python3"])
                } else {
                    Cmd::new("python3").args(["-m", "venv"]).arg(&venv)
                };
                if let Err(err) = cmd.cwd(root).timeout(INSTALL_TIMEOUT).run_ok() {
                    // A half-made venv (Ctrl-C, a failure) would make every later setup fail.
                    let _ = fs::remove_dir_all(&venv);
                    return Err(err);
                }
            } else if !uv && !has_pip(&python) {
                // A venv left without pip (a setup killed while it was being made) is repaired.
                if !quiet {
                    crate::say!("Repairing {}: pip is missing", venv.display());
                }
                Cmd::new(&python).args(["-m", "ensurepip", "--upgrade"]).cwd(root).timeout(INSTALL_TIMEOUT).run_ok()?;
            }
            python
        }
    };
    let args = match install {
        Install::AsDeclared => pip_args.to_vec(),
        Install::DependenciesOnly => dependencies_only(root, pip_args)?,
    };
    if args.is_empty() {
        return Ok(python);
    }
    if !quiet {
        crate::say!("Installing {}", args.join(" "));
    }
    let cmd = if uv {
        Cmd::new("uv").args(["pip", "install", "--python"]).arg(&python).args(&args)
    } else {
        Cmd::new(&python).args(["-m", "pip", "install", "--disable-pip-version-check", "-q"]).args(&args)
    };
    cmd.cwd(root).timeout(INSTALL_TIMEOUT).run_ok()?;
    Ok(python)
}

fn has_pip(python: &Path) -> bool {
    Cmd::new(python).args(["-c", "import pip"]).timeout(Duration::from_secs(60)).run().is_ok_and(|o| o.success())
}

/// Turns `-e .[dev]` / `.[dev]` into the requirements pyproject.toml declares for the project
/// and those extras; other arguments pass through.
fn dependencies_only(root: &Path, pip_args: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for arg in pip_args.iter().filter(|a| *a != "-e" && *a != "--editable") {
        let Some(extras) = local_project_extras(arg) else {
            out.push(arg.clone());
            continue;
        };
        let path = root.join("pyproject.toml");
        let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let doc: toml::Table = toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))?;
        let project = doc
            .get("project")
            .and_then(|p| p.as_table())
            .ok_or_else(|| anyhow!("{} has no [project] table", path.display()))?;
        let strings = |v: Option<&toml::Value>| -> Vec<String> {
            v.and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        out.extend(strings(project.get("dependencies")));
        let optional = project.get("optional-dependencies").and_then(|o| o.as_table());
        for extra in extras {
            out.extend(strings(optional.and_then(|o| o.get(&extra))));
        }
    }
    Ok(out)
}

/// `.` or `.[a,b]` gives the extras; anything else is not the local project.
fn local_project_extras(arg: &str) -> Option<Vec<String>> {
    let rest = arg.strip_prefix('.')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    let inner = rest.strip_prefix('[')?.strip_suffix(']')?;
    Some(inner.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_only_reads_the_project_and_its_extras() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname='x'\ndependencies=['fastapi>=0.110']\n[project.optional-dependencies]\ndev=['pytest>=8']\nother=['nope']\n",
        )
        .unwrap();
        let args = vec!["-e".to_string(), ".[dev]".to_string(), "--pre".to_string()];
        assert_eq!(dependencies_only(dir.path(), &args).unwrap(), ["fastapi>=0.110", "pytest>=8", "--pre"]);
        assert_eq!(local_project_extras("."), Some(vec![]));
        assert_eq!(local_project_extras("./other"), None);
    }
}
