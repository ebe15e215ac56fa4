//! Installing into a venv: uv (on PATH, or got once with pip into the per-user cache, told the
//! registry pip uses) or pip, with a progress line, the installer's phases and its real error.

use std::env;
use std::fs;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

use crate::process::{on_path, Cmd, Interrupted};
use crate::spinner::Spinner;

use super::*;

/// Which installer `LAB_INSTALLER` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Choice {
    /// uv when it can be had, else pip.
    Auto,
    Uv,
    Pip,
}

impl Choice {
    pub(super) fn from_env() -> Result<Choice> {
        Choice::parse(env::var_os(ENV_INSTALLER).as_deref())
    }

    pub(super) fn parse(value: Option<&std::ffi::OsStr>) -> Result<Choice> {
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
pub(super) fn fallback(choice: Choice, err: anyhow::Error, what: &str) -> Result<String> {
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
pub(super) fn one_line(err: &anyhow::Error) -> String {
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

pub(super) fn seconds(elapsed: Duration) -> String {
    format!("{:.1} s", elapsed.as_secs_f64())
}

/// Makes the venv, with uv when there is one. A half-made venv (Ctrl-C, a failure) is removed:
/// it would make every later setup fail; a folder that was there before is left alone.
pub(super) fn make_venv(root: &Path, venv: &Path, base: &Path, uv: Option<&Uv>) -> Result<()> {
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
pub(super) struct Uv {
    pub(super) program: PathBuf,
    pub(super) version: String,
    /// pip's registry, for a uv lab got itself; None for the learner's own uv on PATH, which their
    /// own uv configuration governs.
    pub(super) registry: Option<Registry>,
}

impl Uv {
    /// `cmd` told where to get packages from, when this is lab's own uv.
    pub(super) fn with_registry(&self, cmd: Cmd) -> Cmd {
        match &self.registry {
            Some(registry) => registry.apply(cmd),
            None => cmd,
        }
    }
}

/// The uv on PATH, else the one lab keeps in the user's cache, got first if need be.
pub(super) fn find_uv(base: &Path, quiet: bool) -> Result<Uv> {
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
pub(super) fn tool_dir() -> Result<PathBuf> {
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
pub(super) fn fetch_uv(dir: &Path, base: &Path, quiet: bool) -> Result<()> {
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

pub(super) const PARTIAL: &str = ".uv.partial-";

/// Removes what a setup killed outright left: a partial uv whose process is gone.
pub(super) fn remove_abandoned(parent: &Path) {
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
pub(super) fn uv_version(uv: &Path) -> Result<String> {
    let out = Cmd::new(uv).arg("--version").timeout(QUERY_TIMEOUT).run_ok()?;
    out.stdout
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
        .ok_or_else(|| anyhow!("`{} --version` printed no version: {:?}", uv.display(), out.stdout))
}

/// Where pip gets packages from, for uv, which does not read pip's configuration.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Registry {
    pub(super) index_url: Option<String>,
    pub(super) extra_index_urls: Vec<String>,
    /// pip's CA bundle (`cert`), for a registry behind a private certificate authority.
    pub(super) cert: Option<String>,
}

impl Registry {
    /// What `python -m pip config list` says: pip's configuration files and PIP_* variables.
    pub(super) fn of_pip(python: &Path) -> Result<Registry> {
        let out = Cmd::new(python).args(["-m", "pip", "config", "list"]).timeout(QUERY_TIMEOUT).run_ok()?;
        Ok(Registry::parse(&out.stdout))
    }

    /// Lines such as `global.index-url='https://…'` and `:env:.extra-index-url='a b'`. As in
    /// pip, a PIP_* variable beats the `[install]` section, which beats `[global]`.
    pub(super) fn parse(listing: &str) -> Registry {
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

    pub(super) fn apply(&self, mut cmd: Cmd) -> Cmd {
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
pub(super) fn run_installer(name: &str, cmd: Cmd, quiet: bool) -> Result<()> {
    let terminal = !quiet && std::io::stderr().is_terminal();
    let detail = Arc::new(Mutex::new(String::new()));
    let _progress = terminal.then(|| Spinner::start(format!("Installing with {name}"), Some(detail.clone())));
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
pub(super) struct OutputReader<'a> {
    pub(super) name: &'a str,
    pub(super) terminal: bool,
    pub(super) quiet: bool,
    pub(super) detail: Arc<Mutex<String>>,
    /// How much of stdout and of stderr has been read.
    pub(super) seen: [usize; 2],
    pub(super) phases: Vec<Phase>,
}

impl OutputReader<'_> {
    /// Reads what is new in `text` (all of stream `stream` so far): whole lines only, unless it
    /// has `ended`.
    pub(super) fn read(&mut self, stream: usize, text: &str, ended: bool) {
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
pub(super) const TAIL_LINES: usize = 25;

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n")
}

/// A phase of an install, as pip's and uv's output shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Resolving,
    Backtracking,
    Building,
    Installing,
}

impl Phase {
    pub(super) fn of(line: &str) -> Option<Phase> {
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

    pub(super) fn says(self) -> &'static str {
        match self {
            Phase::Resolving => "resolving the dependencies",
            Phase::Backtracking => BACKTRACKING,
            Phase::Building => "building packages",
            Phase::Installing => "installing",
        }
    }
}

/// Said once when pip starts backtracking, which can go on for many minutes.
pub(super) const BACKTRACKING: &str = "backtracking: trying older versions of a dependency to find a set that fits; this can take many minutes (Ctrl-C stops it and leaves no half-made venv)";

/// Runs `work` with a line on stderr saying what runs and for how long ("Getting uv… 4s"), on a
/// terminal only, erased when the work ends.
pub(super) fn with_progress<T>(label: &str, quiet: bool, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let _progress = (!quiet && std::io::stderr().is_terminal()).then(|| Spinner::start(label.to_string(), None));
    work()
}

#[cfg(test)]
mod tests {
    use super::*;

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
