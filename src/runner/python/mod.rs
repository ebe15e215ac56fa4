//! Which Python a workspace runs with, and `lab setup` for Python tracks: a venv with the
//! workspace's dependencies installed by uv when it can be had (on PATH, or got once with pip,
//! from the registry pip uses, into the per-user cache), else by pip.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::process::{on_path, Cmd};

mod installer;
mod probe;

use installer::*;
use probe::*;

/// For `lab setup`, the Python the venv is made from (a venv's own interpreter is installed into
/// as it is: it is a venv already); for `lab check`, the interpreter that runs the suite.
pub const ENV_PYTHON: &str = "LAB_PYTHON";
/// A venv to use instead of the workspace's `.venv` (one venv shared by many workspaces).
pub const ENV_VENV: &str = "LAB_VENV";
/// Forces the installer `lab setup` uses: `uv` or `pip`. Unset (or empty), setup uses uv when it
/// is on PATH or can be got with pip, and falls back to pip when uv cannot be had or fails;
/// forced, it never falls back.
pub const ENV_INSTALLER: &str = "LAB_INSTALLER";

const INSTALL_TIMEOUT: Duration = Duration::from_secs(1800);
/// Getting uv is one wheel of about 20 MB: a registry slower than this is better left to pip.
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);
/// For commands that only answer a question (`--version`, `pip config list`).
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// The folder under the user's cache folder where lab keeps the uv it got.
const UV_TOOL_DIR: &str = "lab/uv";

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

/// Checks what setup needs before anything is written (the interpreter's version against the
/// workspace's `requires-python`, its venv support), makes the venv if needed and installs into
/// it; returns the interpreter. Says which installer installed and how long it took, and why it
/// was pip when it was. A venv this setup made is removed again when the install fails, times
/// out or is interrupted.
pub fn setup(root: &Path, pip_args: &[String], install: Install, quiet: bool) -> Result<PathBuf> {
    // First, so that a mistyped value changes nothing.
    let choice = Choice::from_env()?;
    let say = |text: String| {
        if !quiet {
            crate::say!("{text}");
        }
    };
    let args = match install {
        Install::AsDeclared => pip_args.to_vec(),
        Install::DependenciesOnly => dependencies_only(root, pip_args)?,
    };
    let target = Target::choose(root, choice)?;
    // Why pip installs, when it does: said with the result.
    let mut why_pip = format!("{ENV_INSTALLER}=pip");
    let mut uv = None;
    // Nothing to install, nothing to get uv for.
    if choice != Choice::Pip && !args.is_empty() {
        match find_uv(&target.base, quiet) {
            Ok(found) => uv = Some(found),
            Err(err) => why_pip = fallback(choice, err, "uv could not be had")?,
        }
    }
    let python = target.python.clone();
    let made = match &target.new_venv {
        Some(venv) => {
            say(format!("Creating a virtual environment in {} with {}", venv.display(), target.base_named));
            if let Err(err) = make_venv(root, venv, &target.base, uv.as_ref()) {
                why_pip = fallback(choice, err, "uv failed")?;
                uv = None;
                make_venv(root, venv, &target.base, None)?;
            }
            if env::var_os(ENV_PYTHON).is_some() {
                say(LAB_PYTHON_FOR_SETUP_ONLY.to_string());
            }
            Some(venv.clone())
        }
        None => None,
    };
    if args.is_empty() {
        return Ok(python);
    }
    say(format!("Installing {}", args.join(" ")));
    let installed = install_into(root, &target, uv.as_ref(), &args, choice, why_pip, quiet);
    if let (Err(_), Some(venv)) = (&installed, &made) {
        // Half-installed is worse than absent: the next setup starts clean.
        let _ = fs::remove_dir_all(venv);
    }
    say(installed?);
    Ok(python)
}

/// Installs `args` with uv, else (or when uv fails, unless it is forced) with pip; returns the
/// line that says which installer did it, how long it took, and why it was pip when it was.
fn install_into(
    root: &Path,
    target: &Target,
    uv: Option<&Uv>,
    args: &[String],
    choice: Choice,
    mut why_pip: String,
    quiet: bool,
) -> Result<String> {
    let python = &target.python;
    let mut uv = uv;
    if let (Some(found), Some(sync_args)) = (uv, locked_sync_args(root, args)) {
        let started = Instant::now();
        let venv = target.venv.clone().or_else(|| python.parent().and_then(Path::parent).map(Path::to_path_buf));
        // The venv is there already: uv must use it as it is, never make or download another.
        let cmd = Cmd::new(&found.program)
            .args(["sync", "--locked", "--inexact"])
            .args(&sync_args)
            .env("UV_PROJECT_ENVIRONMENT", venv.unwrap_or_default())
            .env("UV_PYTHON_DOWNLOADS", "never");
        let cmd = found.with_registry(cmd);
        match run_installer("uv", cmd.cwd(root).timeout(INSTALL_TIMEOUT), quiet) {
            Ok(()) => {
                return Ok(format!(
                    "Installed with uv {} from uv.lock in {}",
                    found.version,
                    seconds(started.elapsed())
                ))
            }
            Err(err) if format!("{err:#}").contains("needs to be updated") => {
                if !quiet {
                    crate::say!("{STALE_LOCK}");
                }
            }
            Err(err) => {
                why_pip = fallback(choice, err, "uv failed")?;
                uv = None;
            }
        }
    }
    if let Some(uv) = uv {
        let started = Instant::now();
        let cmd = Cmd::new(&uv.program).args(["pip", "install", "--python"]).arg(python);
        let cmd = uv.with_registry(cmd).args(args);
        match run_installer("uv", cmd.cwd(root).timeout(INSTALL_TIMEOUT), quiet) {
            Ok(()) => return Ok(format!("Installed with uv {} in {}", uv.version, seconds(started.elapsed()))),
            Err(err) => why_pip = fallback(choice, err, "uv failed")?,
        }
    }
    if target.is_venv_of_lab() && !has_pip(python) {
        // A setup killed while the venv was being made, or a venv uv made, leaves no pip.
        if !quiet {
            crate::say!("Adding pip to {}: it has none", target.venv_shown());
        }
        Cmd::new(python).args(["-m", "ensurepip", "--upgrade"]).cwd(root).timeout(INSTALL_TIMEOUT).run_ok()?;
    }
    if args.iter().any(|a| a == "--group" || a.starts_with("--group=")) && !pip_installs_groups(python) {
        if !quiet {
            crate::say!("Upgrading pip in {}: dependency groups need pip 25.1 or newer", target.venv_shown());
        }
        let cmd =
            Cmd::new(python).args(["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]);
        run_installer("pip", cmd.args(["--upgrade", "pip>=25.1"]).cwd(root).timeout(INSTALL_TIMEOUT), quiet)
            .with_context(|| format!("upgrading pip ({why_pip}) failed"))?;
    }
    let started = Instant::now();
    let cmd = Cmd::new(python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"])
        .args(args);
    run_installer("pip", cmd.cwd(root).timeout(INSTALL_TIMEOUT), quiet)
        .with_context(|| format!("installing with pip ({why_pip}) failed"))?;
    let unlocked = if root.join("uv.lock").is_file() { "; pip does not read uv.lock" } else { "" };
    Ok(format!("Installed with pip in {} ({why_pip}{unlocked})", seconds(started.elapsed())))
}

/// A venv in the user's cache holding exactly `requirements` (PyPI tools such as linters), made
/// once and reused: its folder is named by a hash of the requirements. Installed by uv when it can
/// be had, else by pip; made in a temporary folder and renamed into place, so a killed install
/// leaves nothing that looks ready. Returns the venv's folder.
pub fn tool_venv(requirements: &[String], quiet: bool) -> Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let mut sorted = requirements.to_vec();
    sorted.sort();
    let hash = Sha256::digest(sorted.join("\n").as_bytes());
    let name: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let parent = tool_dir()?.with_file_name("tools");
    let dir = parent.join(&name);
    // The venv's scripts name their interpreter by its absolute path, so the venv is made where it
    // stays, under a lock, and a marker written last says it is complete.
    let done = dir.join(".lab-complete");
    if done.exists() {
        return Ok(dir);
    }
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let lock_path = parent.join(format!("{name}.lock"));
    let lock = fs::File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
    lock_exclusive(&lock);
    if done.exists() {
        return Ok(dir);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the unfinished {}", dir.display()))?;
    }
    let base = env::var_os(ENV_PYTHON).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("python3"));
    let made = with_progress(&format!("Installing {}", sorted.join(" ")), quiet, || match find_uv(&base, true) {
        Ok(uv) => {
            let venv = Cmd::new(&uv.program).args(["venv", "--quiet", "--python"]).arg(&base).arg(&dir);
            venv.env("UV_PYTHON_DOWNLOADS", "never").timeout(INSTALL_TIMEOUT).run_ok()?;
            let cmd = Cmd::new(&uv.program).args(["pip", "install", "--python"]).arg(dir.join("bin/python"));
            let cmd = uv.with_registry(cmd);
            run_installer("uv", cmd.args(&sorted).timeout(INSTALL_TIMEOUT), true)
        }
        Err(_) => {
            Cmd::new(&base).args(["-m", "venv"]).arg(&dir).timeout(INSTALL_TIMEOUT).run_ok()?;
            let cmd = Cmd::new(dir.join("bin/python")).args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "off",
            ]);
            run_installer("pip", cmd.args(&sorted).timeout(INSTALL_TIMEOUT), true)
        }
    });
    if let Err(err) = made {
        let _ = fs::remove_dir_all(&dir);
        return Err(err).with_context(|| format!("cannot install {}", sorted.join(" ")));
    }
    fs::write(&done, sorted.join("\n")).with_context(|| format!("cannot write {}", done.display()))?;
    Ok(dir)
}

#[allow(unsafe_code)] // flock(2) has no safe wrapper in std at this crate's rust-version
fn lock_exclusive(file: &fs::File) {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows; the lock ends when the file closes.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
}

/// Said when the workspace's uv.lock no longer matches its pyproject.toml.
const STALE_LOCK: &str = "note: uv.lock does not match pyproject.toml (run `uv lock` to update it and commit the result); installing the newest versions pyproject.toml allows instead";

/// The `uv sync` arguments that install what the track's pip arguments ask for, from the
/// workspace's uv.lock: None without a uv.lock, or when an argument says something uv sync
/// cannot (then uv installs as pip would, without the lock).
fn locked_sync_args(root: &Path, args: &[String]) -> Option<Vec<String>> {
    if !root.join("uv.lock").is_file() {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            // uv sync installs the project editable.
            "-e" | "--editable" => {}
            "--group" => out.extend(["--group".to_string(), rest.next()?.clone()]),
            _ if arg.starts_with("--group=") => out.push(arg.clone()),
            _ => out.extend(local_project_extras(arg)?.into_iter().flat_map(|e| ["--extra".to_string(), e])),
        }
    }
    Some(out)
}

/// Whether this pip installs PEP 735 dependency groups (`--group`, pip 25.1 and newer).
fn pip_installs_groups(python: &Path) -> bool {
    let Ok(out) = Cmd::new(python).args(["-m", "pip", "--version"]).timeout(QUERY_TIMEOUT).run_ok() else {
        return false;
    };
    let version = out.stdout.split_whitespace().nth(1).unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (25, 1)
}

/// Said when LAB_PYTHON made the venv: `lab check` reads LAB_PYTHON as the interpreter to run.
const LAB_PYTHON_FOR_SETUP_ONLY: &str = "LAB_PYTHON named the Python this venv is made from. Unset it before `lab check`: there it names the interpreter that runs the grading suite, which would then not be this venv.";
/// The fix for a Python older than the workspace allows.
const NEWER_PYTHON: &str = "install a newer Python and run `LAB_PYTHON=/path/to/that/python3 lab setup` (LAB_PYTHON names the Python the venv is made from)";
/// The fix for a Python that cannot make venvs.
const VENV_SUPPORT: &str = "install its venv support (Debian and Ubuntu: `sudo apt install python3-venv`, or python3.X-venv for that version), or run `LAB_PYTHON=/path/to/another/python3 lab setup`";
/// The fix for no Python at all.
const NO_PYTHON: &str = "install Python 3 (with venv), or name one with `LAB_PYTHON=/path/to/python3 lab setup`";

/// The interpreter setup installs into, and how it gets there.
struct Target {
    /// The interpreter that makes the venv (LAB_PYTHON, else python3 on PATH).
    base: PathBuf,
    /// How the learner knows it: `python3` or `LAB_PYTHON=/opt/py/bin/python3`.
    base_named: String,
    /// The interpreter installed into: the venv's.
    python: PathBuf,
    /// The venv to make first, when there is none yet.
    new_venv: Option<PathBuf>,
    /// The venv lab owns (the workspace's or LAB_VENV's); None for a LAB_PYTHON that is a venv's.
    venv: Option<PathBuf>,
}

impl Target {
    /// Works out and checks, before anything is written, where setup installs: the venv that is
    /// there, if its Python suits the workspace; else a new venv made from LAB_PYTHON or python3,
    /// which must suit it and be able to make venvs; or, when LAB_PYTHON is a venv's own
    /// interpreter, that venv.
    fn choose(root: &Path, choice: Choice) -> Result<Target> {
        let wanted = requires_python(root)?;
        let (base, base_named) = match env::var_os(ENV_PYTHON) {
            Some(p) => (PathBuf::from(&p), format!("{ENV_PYTHON}={}", p.to_string_lossy())),
            None => (PathBuf::from("python3"), "python3".to_string()),
        };
        let venv = venv_dir(root);
        let in_venv = venv.join("bin/python");
        if in_venv.exists() {
            let found = Probe::of(&in_venv, &format!("the virtual environment's Python ({})", in_venv.display()))?;
            if let Some(wanted) = wanted.as_ref().filter(|w| !w.allows(&found.version)) {
                bail!(
                    "the virtual environment at {} has Python {}, but this workspace needs Python {} (pyproject.toml requires-python): remove it (`rm -rf {}`), then {NEWER_PYTHON}",
                    venv.display(),
                    found.version,
                    wanted.text,
                    venv.display()
                );
            }
            return Ok(Target { base, base_named, python: in_venv, new_venv: None, venv: Some(venv) });
        }
        let found = Probe::of(&base, &base_named)?;
        if let Some(wanted) = wanted.as_ref().filter(|w| !w.allows(&found.version)) {
            bail!(
                "this workspace needs Python {} (pyproject.toml requires-python), but {base_named} is Python {}: {NEWER_PYTHON}. Nothing was installed.",
                wanted.text,
                found.version
            );
        }
        if found.in_venv && env::var_os(ENV_PYTHON).is_some() {
            // Already a venv: installing into it installs into no system Python.
            return Ok(Target { python: base.clone(), base, base_named, new_venv: None, venv: None });
        }
        // uv of the learner's own makes venvs without Python's venv module; lab's own uv is got
        // with it, and pip, the fallback, needs it.
        let uv_makes_it = choice != Choice::Pip && on_path("uv");
        if !found.makes_venvs && !uv_makes_it {
            bail!(
                "{base_named} (Python {}) cannot make virtual environments: its venv or ensurepip module is missing: {VENV_SUPPORT}. Nothing was installed.",
                found.version
            );
        }
        Ok(Target { base, base_named, python: in_venv, new_venv: Some(venv.clone()), venv: Some(venv) })
    }

    /// Whether lab installs into a venv it made or will repair (not a LAB_PYTHON venv).
    fn is_venv_of_lab(&self) -> bool {
        self.venv.is_some()
    }

    fn venv_shown(&self) -> String {
        self.venv.as_deref().map(|v| v.display().to_string()).unwrap_or_default()
    }
}

fn has_pip(python: &Path) -> bool {
    Cmd::new(python).args(["-c", "import pip"]).timeout(QUERY_TIMEOUT).run().is_ok_and(|o| o.success())
}

/// Turns `-e .[dev]` / `.[dev]` and `--group dev` into the requirements pyproject.toml declares
/// for the project, those extras and those dependency groups (PEP 735, `include-group` followed);
/// other arguments pass through.
fn dependencies_only(root: &Path, pip_args: &[String]) -> Result<Vec<String>> {
    let path = root.join("pyproject.toml");
    let doc = std::cell::OnceCell::new();
    let read = || -> Result<&toml::Table> {
        if doc.get().is_none() {
            let text = fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let parsed: toml::Table =
                toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))?;
            let _ = doc.set(parsed);
        }
        Ok(doc.get().expect("set above"))
    };
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut rest = pip_args.iter().filter(|a| *a != "-e" && *a != "--editable");
    while let Some(arg) = rest.next() {
        let group = match arg.strip_prefix("--group=") {
            Some(name) => Some(name.to_string()),
            None if arg == "--group" => Some(rest.next().cloned().ok_or_else(|| anyhow!("`--group` needs a name"))?),
            None => None,
        };
        if let Some(group) = group {
            let groups = read()?.get("dependency-groups").and_then(|g| g.as_table());
            out.extend(group_requirements(groups, &group, &path, 0)?);
            continue;
        }
        let Some(extras) = local_project_extras(arg) else {
            out.push(arg.clone());
            continue;
        };
        let project = read()?
            .get("project")
            .and_then(|p| p.as_table())
            .ok_or_else(|| anyhow!("{} has no [project] table", path.display()))?;
        out.extend(strings(project.get("dependencies")));
        let optional = project.get("optional-dependencies").and_then(|o| o.as_table());
        for extra in extras {
            out.extend(strings(optional.and_then(|o| o.get(&extra))));
        }
    }
    Ok(out)
}

/// A dependency group's requirements, with the groups it includes (`{include-group = "x"}`).
fn group_requirements(groups: Option<&toml::Table>, name: &str, path: &Path, depth: usize) -> Result<Vec<String>> {
    anyhow::ensure!(depth < 16, "{}: dependency group `{name}` includes itself", path.display());
    let entries = groups
        .and_then(|g| g.get(name))
        .and_then(|g| g.as_array())
        .ok_or_else(|| anyhow!("{} has no dependency group `{name}` ([dependency-groups])", path.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            toml::Value::String(req) => out.push(req.clone()),
            toml::Value::Table(t) => match t.get("include-group").and_then(|g| g.as_str()) {
                Some(inner) => out.extend(group_requirements(groups, inner, path, depth + 1)?),
                None => bail!(
                    "{}: dependency group `{name}` has an entry that is neither a requirement nor an include-group",
                    path.display()
                ),
            },
            _ => bail!("{}: dependency group `{name}` has an entry that is not a string", path.display()),
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

    #[test]
    fn dependencies_only_reads_dependency_groups_and_their_includes() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname='x'\ndependencies=['fastapi']\n[dependency-groups]\ntest=['pytest>=8']\ndev=[{include-group='test'}, 'ruff']\nloop=[{include-group='loop'}]\n",
        )
        .unwrap();
        let args: Vec<String> = ["-e", ".", "--group", "dev"].map(String::from).to_vec();
        assert_eq!(dependencies_only(dir.path(), &args).unwrap(), ["fastapi", "pytest>=8", "ruff"]);
        assert_eq!(dependencies_only(dir.path(), &["--group=test".to_string()]).unwrap(), ["pytest>=8"]);
        let missing = dependencies_only(dir.path(), &["--group".to_string(), "docs".to_string()]).unwrap_err();
        assert!(missing.to_string().contains("no dependency group `docs`"), "{missing}");
        let looped = dependencies_only(dir.path(), &["--group=loop".to_string()]).unwrap_err();
        assert!(looped.to_string().contains("includes itself"), "{looped}");
    }

    #[test]
    fn a_uv_lock_turns_the_pip_arguments_into_uv_sync_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(locked_sync_args(dir.path(), &args(&["-e", ".", "--group", "dev"])), None, "no uv.lock");
        fs::write(dir.path().join("uv.lock"), "version = 1\n").unwrap();
        assert_eq!(
            locked_sync_args(dir.path(), &args(&["-e", ".", "--group", "dev"])),
            Some(args(&["--group", "dev"]))
        );
        assert_eq!(
            locked_sync_args(dir.path(), &args(&["-e", ".[dev,docs]"])),
            Some(args(&["--extra", "dev", "--extra", "docs"]))
        );
        assert_eq!(locked_sync_args(dir.path(), &args(&["requests"])), None, "not the project: install as pip would");
    }
}
