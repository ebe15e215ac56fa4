//! Which Python a workspace runs with, and `lab setup` for Python tracks: a venv with the
//! workspace's dependencies installed by uv when it can be had (on PATH, or got once with pip,
//! from the registry pip uses, into the per-user cache), else by pip.

use std::env;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::process::{on_path, Cmd, Interrupted};

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
    if let Some(uv) = uv {
        let started = Instant::now();
        let cmd = Cmd::new(&uv.program).args(["pip", "install", "--python"]).arg(python);
        let cmd = match &uv.registry {
            Some(registry) => registry.apply(cmd),
            None => cmd,
        }
        .args(args);
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
    let started = Instant::now();
    let cmd = Cmd::new(python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"])
        .args(args);
    run_installer("pip", cmd.cwd(root).timeout(INSTALL_TIMEOUT), quiet)
        .with_context(|| format!("installing with pip ({why_pip}) failed"))?;
    Ok(format!("Installed with pip in {} ({why_pip})", seconds(started.elapsed())))
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

/// What an interpreter says of itself: its version, whether it runs in a venv, whether it has
/// the modules that make one (`venv` and `ensurepip`, which Debian ships apart).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Probe {
    version: PyVersion,
    in_venv: bool,
    makes_venvs: bool,
}

/// Prints the three lines `Probe::parse` reads.
const PROBE: &str = "import sys, importlib.util as u
print('%d.%d.%d' % sys.version_info[:3])
print(int(sys.prefix != getattr(sys, 'base_prefix', sys.prefix)))
print(int(all(u.find_spec(m) is not None for m in ('venv', 'ensurepip'))))";

impl Probe {
    fn of(python: &Path, named: &str) -> Result<Probe> {
        let out = Cmd::new(python).args(["-c", PROBE]).timeout(QUERY_TIMEOUT).run();
        let out = match out {
            Ok(out) if out.success() => out,
            Ok(out) => bail!(
                "{named} does not run as Python ({}: {}): {NO_PYTHON}",
                crate::process::describe_exit(out.code),
                one_line(&anyhow!("{}", out.combined()))
            ),
            Err(err) if err.is::<Interrupted>() => return Err(err),
            Err(_) => bail!("{named} cannot be run (not found or not executable): {NO_PYTHON}"),
        };
        Probe::parse(&out.stdout)
            .ok_or_else(|| anyhow!("{named} did not say its version ({:?}): {NO_PYTHON}", out.stdout.trim()))
    }

    fn parse(text: &str) -> Option<Probe> {
        let mut lines = text.lines().map(str::trim);
        let version = PyVersion::parse(lines.next()?)?;
        let flag = |line: Option<&str>| match line {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        };
        Some(Probe { version, in_venv: flag(lines.next())?, makes_venvs: flag(lines.next())? })
    }
}

/// A release number such as 3.10.12.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PyVersion(Vec<u64>);

impl PyVersion {
    fn parse(text: &str) -> Option<PyVersion> {
        let parts: Option<Vec<u64>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(PyVersion)
    }

    /// Compares as release numbers do: missing parts are zeros (3.11 == 3.11.0).
    fn cmp_release(&self, other: &[u64]) -> std::cmp::Ordering {
        let len = self.0.len().max(other.len());
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        (0..len).map(|i| at(&self.0, i).cmp(&at(other, i))).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    }

    fn starts_with(&self, prefix: &[u64]) -> bool {
        prefix.iter().enumerate().all(|(i, p)| self.0.get(i).copied().unwrap_or(0) == *p)
    }
}

impl std::fmt::Display for PyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// A `requires-python` specifier set (PEP 440), e.g. `>=3.11,<4`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RequiresPython {
    text: String,
    clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Clause {
    op: Op,
    release: Vec<u64>,
    /// `==3.11.*`, `!=3.12.*`.
    wildcard: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
    /// `~=3.11`: at least 3.11, within 3.*.
    Compatible,
}

impl RequiresPython {
    /// None for a specifier this reading does not understand (pre-releases, `===`): then setup
    /// does not judge, and the installer will.
    fn parse(text: &str) -> Option<RequiresPython> {
        let mut clauses = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let ops = [
                ("~=", Op::Compatible),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">=", Op::Ge),
                ("<=", Op::Le),
                (">", Op::Gt),
                ("<", Op::Lt),
            ];
            let (op, rest) = ops.iter().find_map(|(sym, op)| part.strip_prefix(sym).map(|r| (*op, r.trim())))?;
            if rest.starts_with('=') {
                return None;
            }
            let (rest, wildcard) = match rest.strip_suffix(".*") {
                Some(r) if matches!(op, Op::Eq | Op::Ne) => (r, true),
                Some(_) => return None,
                None => (rest, false),
            };
            let release = PyVersion::parse(rest)?.0;
            if op == Op::Compatible && release.len() < 2 {
                return None;
            }
            clauses.push(Clause { op, release, wildcard });
        }
        (!clauses.is_empty()).then(|| RequiresPython { text: text.trim().to_string(), clauses })
    }

    fn allows(&self, version: &PyVersion) -> bool {
        use std::cmp::Ordering::*;
        self.clauses.iter().all(|c| {
            let ord = version.cmp_release(&c.release);
            match c.op {
                Op::Ge => ord != Less,
                Op::Gt => ord == Greater,
                Op::Le => ord != Greater,
                Op::Lt => ord == Less,
                Op::Eq if c.wildcard => version.starts_with(&c.release),
                Op::Ne if c.wildcard => !version.starts_with(&c.release),
                Op::Eq => ord == Equal,
                Op::Ne => ord != Equal,
                Op::Compatible => ord != Less && version.starts_with(&c.release[..c.release.len() - 1]),
            }
        })
    }
}

/// The workspace's `[project] requires-python`, when it has a pyproject.toml that says one lab
/// understands.
fn requires_python(root: &Path) -> Result<Option<RequiresPython>> {
    let path = root.join("pyproject.toml");
    let Ok(text) = fs::read_to_string(&path) else { return Ok(None) };
    let doc: toml::Table = toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))?;
    let spec = doc.get("project").and_then(|p| p.get("requires-python")).and_then(|v| v.as_str());
    Ok(spec.and_then(RequiresPython::parse))
}

/// Which installer `LAB_INSTALLER` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// uv when it can be had, else pip.
    Auto,
    Uv,
    Pip,
}

impl Choice {
    fn from_env() -> Result<Choice> {
        Choice::parse(env::var_os(ENV_INSTALLER).as_deref())
    }

    fn parse(value: Option<&std::ffi::OsStr>) -> Result<Choice> {
        let Some(value) = value else { return Ok(Choice::Auto) };
        match value.to_str() {
            Some("") => Ok(Choice::Auto),
            Some("uv") => Ok(Choice::Uv),
            Some("pip") => Ok(Choice::Pip),
            _ => bail!(
                "{ENV_INSTALLER}={} is not an installer lab knows: the accepted values are `uv` and `pip` (or leave it unset: uv when it can be had, else pip)",
                value.to_string_lossy()
            ),
        }
    }
}

/// With uv chosen by default, a failure of uv becomes the reason pip is used instead, in one
/// line; uv forced, or Ctrl-C, ends the setup.
fn fallback(choice: Choice, err: anyhow::Error, what: &str) -> Result<String> {
    if err.is::<Interrupted>() {
        return Err(err);
    }
    if choice == Choice::Uv {
        return Err(err.context(format!("{what} ({ENV_INSTALLER}=uv, so pip is not tried)")));
    }
    Ok(format!("{what}: {}", one_line(&err)))
}

/// An error's first line and, when its command printed something, the last line printed (where
/// pip and uv say what went wrong), shortened to fit a line.
fn one_line(err: &anyhow::Error) -> String {
    const MAX: usize = 300;
    let text = format!("{err:#}");
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let line = match lines.next_back() {
        Some(last) => format!("{first}: {last}"),
        None => first.to_string(),
    };
    if line.chars().count() > MAX {
        format!("{}…", line.chars().take(MAX).collect::<String>())
    } else {
        line
    }
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}

/// Makes the venv, with uv when there is one. A half-made venv (Ctrl-C, a failure) is removed:
/// it would make every later setup fail; a folder that was there before is left alone.
fn make_venv(root: &Path, venv: &Path, base: &Path, uv: Option<&Uv>) -> Result<()> {
    let existed = venv.exists();
    let cmd = match uv {
        Some(uv) => {
            let cmd = Cmd::new(&uv.program).arg("venv").arg(venv).arg("--python").arg(base);
            match &uv.registry {
                // The learner has no uv of their own to install with later: the venv gets pip.
                Some(registry) => registry.apply(cmd.arg("--seed")),
                None => cmd,
            }
        }
        None => Cmd::new(base).args(["-m", "venv"]).arg(venv),
    };
    let made = cmd.cwd(root).timeout(INSTALL_TIMEOUT).run_ok();
    if made.is_err() && !existed {
        let _ = fs::remove_dir_all(venv);
    }
    made.map(|_| ())
}

/// The uv setup installs with.
struct Uv {
    program: PathBuf,
    version: String,
    /// pip's registry, for a uv lab got itself; None for the learner's own uv on PATH, which their
    /// own uv configuration governs.
    registry: Option<Registry>,
}

/// The uv on PATH, else the one lab keeps in the user's cache, got first if need be.
fn find_uv(base: &Path, quiet: bool) -> Result<Uv> {
    if on_path("uv") {
        let program = PathBuf::from("uv");
        return Ok(Uv { version: uv_version(&program)?, program, registry: None });
    }
    let dir = tool_dir()?;
    let (program, python) = (dir.join("bin/uv"), dir.join("bin/python"));
    // The venv's python is a link to the python3 that made it, gone when that one is upgraded.
    if !(program.is_file() && python.exists()) {
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the broken uv in {}", dir.display()))?;
        }
        fetch_uv(&dir, base, quiet)?;
    }
    let version = uv_version(&program)?;
    let registry = Registry::of_pip(&python)?;
    Ok(Uv { program, version, registry: Some(registry) })
}

/// `$XDG_CACHE_HOME/lab/uv`, else `~/.cache/lab/uv`: one uv for every workspace of the user.
fn tool_dir() -> Result<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let cache = env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| env::var_os("HOME").and_then(absolute).map(|home| home.join(".cache")))
        .ok_or_else(|| anyhow!("there is no cache folder to keep it in (neither XDG_CACHE_HOME nor HOME is set)"))?;
    Ok(cache.join(UV_TOOL_DIR))
}

/// Gets uv the way the learner gets any package: a small venv whose pip installs the `uv` wheel
/// (which carries the binary) from the registry pip is configured with. Made in a temporary
/// folder and renamed into place, so a killed setup leaves nothing that looks ready.
fn fetch_uv(dir: &Path, base: &Path, quiet: bool) -> Result<()> {
    let parent = dir.parent().ok_or_else(|| anyhow!("{} has no parent folder", dir.display()))?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    remove_abandoned(parent);
    if !quiet {
        crate::say!("Getting uv with pip into {} (once: later setups reuse it)", dir.display());
    }
    let partial = parent.join(format!("{PARTIAL}{}", std::process::id()));
    let made = with_progress("Getting uv", quiet, || {
        Cmd::new(base).args(["-m", "venv"]).arg(&partial).timeout(FETCH_TIMEOUT).run_ok()?;
        Cmd::new(partial.join("bin/python"))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q", "uv"])
            .timeout(FETCH_TIMEOUT)
            .run_ok()
    });
    if let Err(err) = made {
        let _ = fs::remove_dir_all(&partial);
        return Err(err);
    }
    if let Err(err) = fs::rename(&partial, dir) {
        let _ = fs::remove_dir_all(&partial);
        // Another setup may have put its uv there first.
        if !dir.join("bin/uv").is_file() {
            return Err(err).with_context(|| format!("cannot move uv into {}", dir.display()));
        }
    }
    Ok(())
}

const PARTIAL: &str = ".uv.partial-";

/// Removes what a setup killed outright left: a partial uv whose process is gone.
fn remove_abandoned(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(PARTIAL) else { continue };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// `0.9.5` from `uv 0.9.5 (…)`.
fn uv_version(uv: &Path) -> Result<String> {
    let out = Cmd::new(uv).arg("--version").timeout(QUERY_TIMEOUT).run_ok()?;
    out.stdout
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("`{} --version` printed no version: {:?}", uv.display(), out.stdout))
}

/// Where pip gets packages from, for uv, which does not read pip's configuration.
#[derive(Debug, Default, PartialEq, Eq)]
struct Registry {
    index_url: Option<String>,
    extra_index_urls: Vec<String>,
    /// pip's CA bundle (`cert`), for a registry behind a private certificate authority.
    cert: Option<String>,
}

impl Registry {
    /// What `python -m pip config list` says: pip's configuration files and PIP_* variables.
    fn of_pip(python: &Path) -> Result<Registry> {
        let out = Cmd::new(python).args(["-m", "pip", "config", "list"]).timeout(QUERY_TIMEOUT).run_ok()?;
        Ok(Registry::parse(&out.stdout))
    }

    /// Lines such as `global.index-url='https://…'` and `:env:.extra-index-url='a b'`. As in
    /// pip, a PIP_* variable beats the `[install]` section, which beats `[global]`.
    fn parse(listing: &str) -> Registry {
        let mut best: std::collections::HashMap<&str, (u8, String)> = std::collections::HashMap::new();
        for line in listing.lines() {
            let Some((key, value)) = line.split_once('=') else { continue };
            let Some((section, name)) = key.rsplit_once('.') else { continue };
            let rank = match section {
                ":env:" => 3,
                "install" => 2,
                "global" => 1,
                _ => continue,
            };
            if !["index-url", "extra-index-url", "cert"].contains(&name) {
                continue;
            }
            // pip prints the value as a Python literal; a list of URLs is separated by blanks
            // or by line breaks, printed as `\n`.
            let value = value.trim().trim_matches(|c| c == '\'' || c == '"').replace("\\n", " ");
            if best.get(name).is_none_or(|(r, _)| rank > *r) {
                best.insert(name, (rank, value));
            }
        }
        let mut take = |name: &str| best.remove(name).map(|(_, v)| v);
        let first = |v: Option<String>| v.and_then(|v| v.split_whitespace().next().map(str::to_string));
        Registry {
            index_url: first(take("index-url")),
            extra_index_urls: take("extra-index-url")
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            cert: first(take("cert")),
        }
    }

    fn apply(&self, mut cmd: Cmd) -> Cmd {
        if let Some(url) = &self.index_url {
            cmd = cmd.arg("--index-url").arg(url);
        }
        for url in &self.extra_index_urls {
            cmd = cmd.arg("--extra-index-url").arg(url);
        }
        // uv reads its CA bundle from SSL_CERT_FILE; one the learner set wins.
        match &self.cert {
            Some(cert) if env::var_os("SSL_CERT_FILE").is_none() => cmd.env("SSL_CERT_FILE", cert),
            _ => cmd,
        }
    }
}

/// Runs an installer. On a terminal a line on stderr says how long it has run and the last line
/// it printed; elsewhere a line is said as it reaches each phase (resolving, backtracking,
/// building, installing). A failure or a timeout is an error with the last lines it printed,
/// where pip and uv say what went wrong.
fn run_installer(name: &str, cmd: Cmd, quiet: bool) -> Result<()> {
    let terminal = !quiet && std::io::stderr().is_terminal();
    let detail = Arc::new(Mutex::new(String::new()));
    let _progress = terminal.then(|| Progress::start(format!("Installing with {name}"), Some(detail.clone())));
    let mut reader = OutputReader { name, terminal, quiet, detail, seen: [0; 2], phases: Vec::new() };
    let out = cmd.run_observed(&mut |live| {
        for (stream, text) in [live.stdout_so_far(), live.stderr_so_far()].into_iter().enumerate() {
            if let Some(text) = text {
                reader.read(stream, &text, false);
            }
        }
    })?;
    // What arrived after the last look, or all of it when the installer was quick.
    reader.read(0, &out.stdout, true);
    reader.read(1, &out.stderr, true);
    if out.timed_out {
        bail!(
            "`{}` did not finish within {} minutes and was stopped; what it printed last:\n{}",
            cmd.display(),
            INSTALL_TIMEOUT.as_secs() / 60,
            last_lines(&out.combined(), TAIL_LINES)
        );
    }
    if !out.success() {
        bail!(
            "`{}` failed ({}); what it printed last:\n{}",
            cmd.display(),
            crate::process::describe_exit(out.code),
            last_lines(&out.combined(), TAIL_LINES)
        );
    }
    Ok(())
}

/// Reads an installer's output as it arrives: the last line for the progress line on a terminal,
/// each phase's first line said once elsewhere.
struct OutputReader<'a> {
    name: &'a str,
    terminal: bool,
    quiet: bool,
    detail: Arc<Mutex<String>>,
    /// How much of stdout and of stderr has been read.
    seen: [usize; 2],
    phases: Vec<Phase>,
}

impl OutputReader<'_> {
    /// Reads what is new in `text` (all of stream `stream` so far): whole lines only, unless it
    /// has `ended`.
    fn read(&mut self, stream: usize, text: &str, ended: bool) {
        let Some(new) = text.get(self.seen[stream]..).filter(|n| !n.is_empty()) else { return };
        let end = if ended { new.len() } else { new.rfind('\n').map_or(0, |e| e + 1) };
        let lines = &new[..end];
        self.seen[stream] += end;
        if self.terminal {
            if let (Some(last), Ok(mut shown)) =
                (lines.lines().map(str::trim).rfind(|l| !l.is_empty()), self.detail.lock())
            {
                *shown = last.to_string();
            }
        } else if !self.quiet {
            for phase in lines.lines().filter_map(Phase::of) {
                if !self.phases.contains(&phase) {
                    self.phases.push(phase);
                    crate::say!("  {}: {}", self.name, phase.says());
                }
            }
        }
    }
}

/// How many of an installer's last lines an error shows.
const TAIL_LINES: usize = 25;

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// A phase of an install, as pip's and uv's output shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Resolving,
    Backtracking,
    Building,
    Installing,
}

impl Phase {
    fn of(line: &str) -> Option<Phase> {
        let line = line.trim();
        if line.contains("is looking at multiple versions of") || line.contains("This is taking longer than usual") {
            Some(Phase::Backtracking)
        } else if line.starts_with("Collecting ") || line.starts_with("Resolved ") {
            Some(Phase::Resolving)
        } else if line.starts_with("Building ") || line.starts_with("Built ") {
            Some(Phase::Building)
        } else if line.starts_with("Installing collected packages") || line.starts_with("Installed ") {
            Some(Phase::Installing)
        } else {
            None
        }
    }

    fn says(self) -> &'static str {
        match self {
            Phase::Resolving => "resolving the dependencies",
            Phase::Backtracking => BACKTRACKING,
            Phase::Building => "building packages",
            Phase::Installing => "installing",
        }
    }
}

/// Said once when pip starts backtracking, which can go on for many minutes.
const BACKTRACKING: &str = "backtracking: trying older versions of a dependency to find a set that fits; this can take many minutes (Ctrl-C stops it and leaves no half-made venv)";

/// Runs `work` with a line on stderr saying what runs and for how long ("Getting uv… 4s"), on a
/// terminal only, erased when the work ends.
fn with_progress<T>(label: &str, quiet: bool, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let _progress = (!quiet && std::io::stderr().is_terminal()).then(|| Progress::start(label.to_string(), None));
    work()
}

struct Progress {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// `detail`, when given, is shown after the time as it changes (an installer's last line).
    fn start(label: String, detail: Option<Arc<Mutex<String>>>) -> Progress {
        const DETAIL_MAX: usize = 70;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let started = Instant::now();
            let mut frame = 0;
            let mut width = 0;
            // Plain carriage returns and spaces, as the check spinner: no escape codes.
            loop {
                let mut line = format!("{} {label}… {}s", FRAMES[frame % FRAMES.len()], started.elapsed().as_secs());
                if let Some(text) = detail.as_ref().and_then(|d| d.lock().ok().map(|d| d.clone())) {
                    if !text.is_empty() {
                        // Cut to stay on one line, so the carriage return can redraw it.
                        line.push_str(" · ");
                        line.extend(text.chars().take(DETAIL_MAX));
                    }
                }
                width = width.max(line.chars().count() + 1);
                crate::say_inline!("\r{line:<width$}");
                frame += 1;
                // Wakes at once when the work ends (the sender is dropped).
                if !matches!(stopped.recv_timeout(Duration::from_millis(100)), Err(mpsc::RecvTimeoutError::Timeout)) {
                    break;
                }
            }
            crate::say_inline!("\r{}\r", " ".repeat(width));
        });
        Progress { stop: Some(stop), thread: Some(thread) }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn has_pip(python: &Path) -> bool {
    Cmd::new(python).args(["-c", "import pip"]).timeout(QUERY_TIMEOUT).run().is_ok_and(|o| o.success())
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

    #[test]
    fn requires_python_is_judged_as_pep_440_release_clauses() {
        let v = |t: &str| PyVersion::parse(t).unwrap();
        let spec = |t: &str| RequiresPython::parse(t).unwrap();
        assert!(!spec(">=3.11").allows(&v("3.10.12")));
        assert!(spec(">=3.11").allows(&v("3.11.0")) && spec(">=3.11").allows(&v("3.13.1")));
        assert!(spec(">=3.9, <4").allows(&v("3.12.3")) && !spec(">=3.9,<4").allows(&v("4.0")));
        assert!(spec("==3.11.*").allows(&v("3.11.7")) && !spec("==3.11.*").allows(&v("3.12.0")));
        assert!(spec("~=3.10").allows(&v("3.12.1")) && !spec("~=3.10").allows(&v("3.9.18")));
        assert!(!spec("!=3.12.0,>3.11").allows(&v("3.12.0")) && spec("!=3.12.0,>3.11").allows(&v("3.12.1")));
        assert_eq!(spec(" >=3.11 ").text, ">=3.11");
        for unknown in ["", ">=3.11b1", "===3.11", "~=3", ">=3.*"] {
            assert_eq!(RequiresPython::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn the_probe_reads_version_venv_and_venv_support() {
        assert_eq!(
            Probe::parse("3.10.12\n0\n1\n"),
            Some(Probe { version: PyVersion(vec![3, 10, 12]), in_venv: false, makes_venvs: true })
        );
        assert_eq!(Probe::parse("3.12.1\n1\n0\n").map(|p| (p.in_venv, p.makes_venvs)), Some((true, false)));
        assert_eq!(Probe::parse("Python 3.10\n"), None);
        assert_eq!(PyVersion(vec![3, 10, 12]).to_string(), "3.10.12");
    }

    #[test]
    fn installer_lines_name_their_phase_and_errors_keep_the_last_lines() {
        assert_eq!(Phase::of("Collecting fastapi>=0.115"), Some(Phase::Resolving));
        assert_eq!(
            Phase::of("INFO: pip is looking at multiple versions of fastapi to determine which version is compatible"),
            Some(Phase::Backtracking)
        );
        assert_eq!(Phase::of("Resolved 31 packages in 1.20s"), Some(Phase::Resolving));
        assert_eq!(Phase::of("Installing collected packages: idna, anyio"), Some(Phase::Installing));
        assert_eq!(Phase::of("  Downloading fastapi-0.115.0-py3-none-any.whl"), None);
        let text: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        let tail = last_lines(&text, 3);
        assert_eq!(tail, "  line 38\n  line 39\n  line 40");
    }

    #[test]
    fn lab_installer_takes_uv_or_pip_and_names_them_when_it_is_anything_else() {
        use std::ffi::OsStr;
        assert_eq!(Choice::parse(None).unwrap(), Choice::Auto);
        assert_eq!(Choice::parse(Some(OsStr::new(""))).unwrap(), Choice::Auto);
        assert_eq!(Choice::parse(Some(OsStr::new("uv"))).unwrap(), Choice::Uv);
        assert_eq!(Choice::parse(Some(OsStr::new("pip"))).unwrap(), Choice::Pip);
        let err = Choice::parse(Some(OsStr::new("UV"))).unwrap_err().to_string();
        assert!(err.contains("LAB_INSTALLER=UV") && err.contains("`uv` and `pip`"), "{err}");
    }

    #[test]
    fn pips_registry_comes_from_its_variables_then_install_then_global() {
        let listing = "\
:env:.cert='/etc/ssl/certs/ca.crt'
:env:.extra-index-url='https://b.example/simple https://c.example/simple'
:env:.find-links='/opt/wheels'
global.cert='/etc/other.crt'
global.index-url='https://global.example/simple'
install.index-url='https://install.example/simple'
";
        let registry = Registry::parse(listing);
        assert_eq!(
            registry,
            Registry {
                index_url: Some("https://install.example/simple".into()),
                extra_index_urls: vec!["https://b.example/simple".into(), "https://c.example/simple".into()],
                cert: Some("/etc/ssl/certs/ca.crt".into()),
            }
        );
        // A list written over several lines in pip.conf is printed with `\n` between its URLs.
        let listing = "global.extra-index-url='\\nhttps://a.example/simple\\nhttps://b.example/simple'\n";
        assert_eq!(Registry::parse(listing).extra_index_urls, ["https://a.example/simple", "https://b.example/simple"]);
        assert_eq!(Registry::parse(""), Registry::default());
    }

    #[test]
    fn a_fallback_says_why_in_one_line_unless_uv_was_forced_or_interrupted() {
        let failed = || anyhow!("`uv pip install x` failed (exit code 1)\nResolving…\n  × No solution found\n");
        assert_eq!(
            fallback(Choice::Auto, failed(), "uv failed").unwrap(),
            "uv failed: `uv pip install x` failed (exit code 1): × No solution found"
        );
        let forced = fallback(Choice::Uv, failed(), "uv failed").unwrap_err();
        assert!(format!("{forced:#}").contains("LAB_INSTALLER=uv"), "{forced:#}");
        let interrupted = fallback(Choice::Auto, anyhow::Error::new(Interrupted), "uv failed").unwrap_err();
        assert!(interrupted.is::<Interrupted>());
        let long = fallback(Choice::Auto, anyhow!("{}", "x".repeat(1000)), "uv failed").unwrap();
        assert!(long.chars().count() < 320 && long.ends_with('…'), "{long}");
    }
}
