//! Which Python a workspace runs with, and `lab setup` for Python tracks: a venv with the
//! workspace's dependencies installed by uv when it can be had (on PATH, or got once with pip,
//! from the registry pip uses, into the per-user cache), else by pip.

use std::env;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::process::{on_path, Cmd, Interrupted};

/// Overrides the interpreter everywhere: setup installs into it, check runs it.
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

/// Makes the venv if needed and installs into it; returns the interpreter. Says which installer
/// installed and how long it took, and why it was pip when it was.
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
    // Why pip installs, when it does: said with the result.
    let mut why_pip = format!("{ENV_INSTALLER}=pip");
    let mut uv = None;
    // Nothing to install, nothing to get uv for.
    if choice != Choice::Pip && !args.is_empty() {
        match find_uv(quiet) {
            Ok(found) => uv = Some(found),
            Err(err) => why_pip = fallback(choice, err, "uv could not be had")?,
        }
    }
    let (python, venv) = match env::var_os(ENV_PYTHON) {
        Some(p) => (PathBuf::from(p), None),
        None => {
            let venv = venv_dir(root);
            let python = venv.join("bin/python");
            if !python.exists() {
                say(format!("Creating a virtual environment in {}", venv.display()));
                if let Err(err) = make_venv(root, &venv, uv.as_ref()) {
                    why_pip = fallback(choice, err, "uv failed")?;
                    uv = None;
                    make_venv(root, &venv, None)?;
                }
            }
            (python, Some(venv))
        }
    };
    if args.is_empty() {
        return Ok(python);
    }
    say(format!("Installing {}", args.join(" ")));
    if let Some(uv) = &uv {
        let started = Instant::now();
        let cmd = Cmd::new(&uv.program).args(["pip", "install", "--python"]).arg(&python);
        let cmd = match &uv.registry {
            Some(registry) => registry.apply(cmd),
            None => cmd,
        }
        .args(&args);
        match with_progress("Installing with uv", quiet, || cmd.cwd(root).timeout(INSTALL_TIMEOUT).run_ok()) {
            Ok(_) => {
                say(format!("Installed with uv {} in {}", uv.version, seconds(started.elapsed())));
                return Ok(python);
            }
            Err(err) => why_pip = fallback(choice, err, "uv failed")?,
        }
    }
    if let Some(venv) = &venv {
        if !has_pip(&python) {
            // A setup killed while the venv was being made, or a venv uv made, leaves no pip.
            say(format!("Adding pip to {}: it has none", venv.display()));
            Cmd::new(&python).args(["-m", "ensurepip", "--upgrade"]).cwd(root).timeout(INSTALL_TIMEOUT).run_ok()?;
        }
    }
    let started = Instant::now();
    let cmd = Cmd::new(&python).args(["-m", "pip", "install", "--disable-pip-version-check", "-q"]).args(&args);
    with_progress("Installing with pip", quiet, || cmd.cwd(root).timeout(INSTALL_TIMEOUT).run_ok())
        .with_context(|| format!("installing with pip ({why_pip}) failed"))?;
    say(format!("Installed with pip in {} ({why_pip})", seconds(started.elapsed())));
    Ok(python)
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
fn make_venv(root: &Path, venv: &Path, uv: Option<&Uv>) -> Result<()> {
    let existed = venv.exists();
    let cmd = match uv {
        Some(uv) => {
            let cmd = Cmd::new(&uv.program).arg("venv").arg(venv).args(["--python", "python3"]);
            match &uv.registry {
                // The learner has no uv of their own to install with later: the venv gets pip.
                Some(registry) => registry.apply(cmd.arg("--seed")),
                None => cmd,
            }
        }
        None => Cmd::new("python3").args(["-m", "venv"]).arg(venv),
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
fn find_uv(quiet: bool) -> Result<Uv> {
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
        fetch_uv(&dir, quiet)?;
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
fn fetch_uv(dir: &Path, quiet: bool) -> Result<()> {
    let parent = dir.parent().ok_or_else(|| anyhow!("{} has no parent folder", dir.display()))?;
    fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    remove_abandoned(parent);
    if !quiet {
        crate::say!("Getting uv with pip into {} (once: later setups reuse it)", dir.display());
    }
    let partial = parent.join(format!("{PARTIAL}{}", std::process::id()));
    let made = with_progress("Getting uv", quiet, || {
        Cmd::new("python3").args(["-m", "venv"]).arg(&partial).timeout(FETCH_TIMEOUT).run_ok()?;
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

/// Runs `work` with a line on stderr saying what runs and for how long ("Installing with uv…
/// 4s"), on a terminal only, erased when the work ends.
fn with_progress<T>(label: &str, quiet: bool, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let _progress = (!quiet && std::io::stderr().is_terminal()).then(|| Progress::start(label.to_string()));
    work()
}

struct Progress {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(label: String) -> Progress {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let started = Instant::now();
            let mut frame = 0;
            let mut width = 0;
            // Plain carriage returns and spaces, as the check spinner: no escape codes.
            loop {
                let line = format!("{} {label}… {}s ", FRAMES[frame % FRAMES.len()], started.elapsed().as_secs());
                width = width.max(line.chars().count());
                crate::say_inline!("\r{line}");
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
