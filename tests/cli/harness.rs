//! The harness every CLI test uses.
//!
//! A [`Workspace`] is a temp folder with its own HOME and an empty git config; `ws.lab([...])`
//! runs the `lab` binary there with a clean environment, and the result is asserted on:
//!
//! ```text
//! let ws = Workspace::hello().with_pytest();
//! ws.write("src/ws/extra.py", "...");
//! ws.lab(["check", "--json"]).fails_with(1).stdout_has("...");
//! ```
//!
//! The one Python venv with pytest (under target/tmp) is made only when a test asks for it with
//! [`Workspace::with_pytest`].

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::assert::Assert;
use predicates::prelude::*;
use predicates::str::contains;
use tempfile::TempDir;

/// How long a test waits for something it is polling for before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The fixture labs folder (holds the `hello` lab), for `--labs-dir`.
pub fn fixture_labs() -> PathBuf {
    repo().join("tests/fixtures/labs")
}

/// A temp folder to run `lab` in, with its own HOME; removed when dropped.
pub struct Workspace {
    tmp: TempDir,
    /// The folder commands run in and relative paths start from.
    root: PathBuf,
    labs_dir: Option<PathBuf>,
    /// The shared venv's interpreter, passed as LAB_PYTHON.
    python: Option<PathBuf>,
}

impl Workspace {
    /// An empty folder: only the labs built into the binary are known.
    pub fn new() -> Workspace {
        let tmp = tempfile::tempdir().expect("make a temp folder");
        let home = tmp.path().join("home");
        fs::create_dir_all(home.join(".config")).expect("make the temp HOME");
        // The global git config: empty, so no identity, alias or hook of the developer's applies.
        fs::write(home.join(".gitconfig"), "").expect("write the empty git config");
        let root = tmp.path().join("work");
        fs::create_dir(&root).expect("make the work folder");
        fs::create_dir(tmp.path().join("scratch")).expect("make the scratch folder");
        Workspace { tmp, root, labs_dir: None, python: None }
    }

    /// An empty folder where every command also loads the fixture labs (`--labs-dir`).
    pub fn with_fixtures() -> Workspace {
        Workspace::new().labs(fixture_labs())
    }

    /// The fixture lab scaffolded: `lab new hello ws --no-git`, and commands run inside `ws`.
    pub fn hello() -> Workspace {
        Workspace::with_fixtures().scaffold_hello("ws", &[])
    }

    /// Every command loads labs from `dir` too (`--labs-dir dir`).
    pub fn labs(mut self, dir: impl Into<PathBuf>) -> Workspace {
        self.labs_dir = Some(dir.into());
        self
    }

    /// A copy of the fixture labs, for a test to break, used as `--labs-dir`; returns its path too.
    pub fn with_fixtures_copy() -> (Workspace, PathBuf) {
        let ws = Workspace::new();
        let copy = ws.scratch("labs-copy");
        copy_dir(&fixture_labs(), &copy);
        (ws.labs(&copy), copy)
    }

    /// `lab new hello <name> --no-git <extra>` here; later commands run inside the new workspace.
    #[track_caller]
    pub fn scaffold_hello(mut self, name: &str, extra: &[&str]) -> Workspace {
        self.lab(["new", "hello", name, "--no-git"]).args(extra).succeeds();
        self.root = self.root.join(name);
        self
    }

    /// `lab new <lab> <name> --no-git` with the built-in labs; later commands run inside it.
    #[track_caller]
    pub fn scaffold(mut self, lab: &str, name: &str) -> Workspace {
        self.lab(["new", lab, name, "--no-git"]).succeeds();
        self.root = self.root.join(name);
        self
    }

    /// Grade with the shared venv's pytest (LAB_PYTHON), making the venv on first use.
    pub fn with_pytest(mut self) -> Workspace {
        self.python = Some(venv::pytest_python());
        self
    }

    /// The folder commands run in.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A path under the folder commands run in (an absolute path is kept as it is).
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// A path in a folder beside the workspace, for markers and copies no command looks at.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.tmp.path().join("scratch").join(name)
    }

    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.join(rel).exists()
    }

    #[track_caller]
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.join(rel);
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    /// Writes a file, making its folders.
    #[track_caller]
    pub fn write(&self, rel: impl AsRef<Path>, text: impl AsRef<[u8]>) {
        let path = self.join(rel);
        fs::create_dir_all(path.parent().expect("a file has a folder")).expect("make the folders");
        fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Replaces `from` with `to` in a file; `from` must be there, so an edit cannot miss silently.
    #[track_caller]
    pub fn replace(&self, rel: impl AsRef<Path>, from: &str, to: &str) {
        let text = self.read(&rel);
        assert!(text.contains(from), "{} has no {from:?}:\n{text}", rel.as_ref().display());
        self.write(rel, text.replace(from, to));
    }

    /// The names in a folder, sorted.
    pub fn entries(&self, rel: impl AsRef<Path>) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.join(rel))
            .expect("read the folder")
            .map(|e| e.expect("read a folder entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Lays the fixture lab's reference solution over the workspace at `rel` ("." for this one),
    /// rendered with the package name and greeting its manifest records.
    #[track_caller]
    pub fn solve_in(&self, rel: &str) {
        let manifest: toml::Table =
            toml::from_str(&self.read(Path::new(rel).join(".lab/workspace.toml"))).expect("the manifest parses");
        let vars = &manifest["vars"];
        let package = vars["package_name"].as_str().expect("a package name");
        let greeting = vars.get("options").and_then(|o| o.get("greeting")).and_then(|g| g.as_str()).unwrap_or("hello");
        let template =
            fs::read_to_string(fixture_labs().join("labs/hello/python/solution/src/{{package_name}}/greet.py.hbs"))
                .expect("read the fixture solution");
        self.write(
            Path::new(rel).join(format!("src/{package}/greet.py")),
            template.replace("{{options.greeting}}", greeting),
        );
    }

    #[track_caller]
    pub fn solve(&self) {
        self.solve_in(".");
    }

    /// `lab <args>`, run in this folder with the isolated environment, not started yet.
    pub fn lab<I, S>(&self, args: I) -> Lab
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_lab"));
        self.isolate(&mut cmd);
        if let Some(dir) = &self.labs_dir {
            cmd.arg("--labs-dir").arg(dir);
        }
        if let Some(python) = &self.python {
            cmd.env("LAB_PYTHON", python);
        }
        cmd.args(args).current_dir(&self.root);
        Lab { cmd, root: self.root.clone(), shares_venv: self.python.is_some() }
    }

    /// `git <args>` in `rel`, with the same environment as `lab`; must succeed; returns stdout.
    #[track_caller]
    pub fn git(&self, rel: impl AsRef<Path>, args: &[&str]) -> String {
        let mut cmd = StdCommand::new("git");
        self.isolate(&mut cmd);
        let out = cmd.args(args).current_dir(self.join(rel)).output().expect("run git");
        assert!(out.status.success(), "git {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("git prints UTF-8")
    }

    /// The environment every command runs with: a temp HOME and git config, no colour, and none
    /// of the caller's settings for lab, git, Python or pytest.
    fn isolate(&self, cmd: &mut StdCommand) {
        let home = self.tmp.path().join("home");
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let drop = ["LAB_", "GIT_", "PYTHON", "PYTEST_", "XDG_"].iter().any(|p| key.starts_with(p))
                || ["EMAIL", "VIRTUAL_ENV", "CLICOLOR", "CLICOLOR_FORCE", "NO_COLOR"].contains(&&*key);
            if drop {
                cmd.env_remove(&*key);
            }
        }
        // HOME moves, the Rust toolchain stays where it is installed.
        for (var, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
            let dir = std::env::var_os(var).map(PathBuf::from).or_else(|| real_home().map(|h| h.join(default)));
            if let Some(dir) = dir {
                cmd.env(var, dir);
            }
        }
        cmd.env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            // One cache for every test (pip's, uv's, the uv lab gets once), so each `lab setup`
            // or `lab validate` does not download again.
            .env("XDG_CACHE_HOME", Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-test-cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", home.join(".gitconfig"))
            // Git looks for a repository no further up than the temp folder.
            .env("GIT_CEILING_DIRECTORIES", self.tmp.path())
            .env("NO_COLOR", "1");
    }
}

fn real_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// One word for `sh -c`, quoted so that the shell passes it on unchanged.
fn shell_word(s: &OsStr) -> String {
    format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"))
}

static TMUX_SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A `lab` running in a tmux session of its own; the session ends with this.
pub struct Tmux {
    socket: String,
    _lock: Option<venv::Lock>,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> String {
        let out = StdCommand::new("tmux").args(["-L", &self.socket]).args(args).output().expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What the screen shows now.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "lab"])
    }

    /// Waits until the screen shows `needle`.
    #[track_caller]
    pub fn wait_for_screen(&self, needle: &str) {
        wait_for(&format!("{needle:?} on the screen"), PATIENCE, || self.screen().contains(needle));
    }

    /// Makes the terminal this many columns wide.
    pub fn resize(&self, width: u16) {
        self.tmux(&["resize-window", "-t", "lab", "-x", &width.to_string()]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = StdCommand::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

/// One `lab` command, built up and then run with an expected exit code.
pub struct Lab {
    cmd: StdCommand,
    root: PathBuf,
    shares_venv: bool,
}

impl Lab {
    /// Runs it on a pseudo-terminal (util-linux `script`), for what only a terminal does: single
    /// keys, the screen redrawn. Call last, after the arguments and environment are set; what is
    /// typed with [`Running::type_line`] or [`Running::type_keys`] reaches it through the terminal.
    pub fn in_terminal(self) -> Lab {
        let line: Vec<String> =
            std::iter::once(self.cmd.get_program()).chain(self.cmd.get_args()).map(shell_word).collect();
        let mut cmd = StdCommand::new("script");
        cmd.args(["-q", "-e", "-f", "-c", &line.join(" "), "/dev/null"]);
        for (key, value) in self.cmd.get_envs() {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        if let Some(dir) = self.cmd.get_current_dir() {
            cmd.current_dir(dir);
        }
        Lab { cmd, ..self }
    }

    /// Starts it in a detached tmux session of its own (a private server) on a terminal of
    /// `width` columns, for what needs a real screen: its size changing. Only the environment the
    /// harness set reaches it, with PATH and TERM.
    pub fn in_tmux(self, width: u16) -> Tmux {
        let mut line = vec!["env".to_string(), "-i".to_string()];
        let mut has_path = false;
        for (key, value) in self.cmd.get_envs() {
            if let Some(v) = value {
                has_path |= key == "PATH";
                line.push(shell_word(OsStr::new(&format!("{}={}", key.to_string_lossy(), v.to_string_lossy()))));
            }
        }
        if !has_path {
            line.push(shell_word(OsStr::new(&format!("PATH={}", std::env::var("PATH").unwrap_or_default()))));
        }
        line.push("TERM=xterm-256color".into());
        line.extend(std::iter::once(self.cmd.get_program()).chain(self.cmd.get_args()).map(shell_word));
        let socket = format!(
            "lab-test-{}-{}",
            std::process::id(),
            TMUX_SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let dir = self.cmd.get_current_dir().map(Path::to_path_buf).unwrap_or_else(|| self.root.clone());
        let status = StdCommand::new("tmux")
            .args(["-L", &socket, "new-session", "-d", "-s", "lab", "-x", &width.to_string(), "-y", "80", "-c"])
            .arg(&dir)
            .arg(line.join(" "))
            .status()
            .expect("start tmux");
        assert!(status.success(), "tmux did not start");
        Tmux { socket, _lock: self.shares_venv.then(venv::shared_lock) }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Lab {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Lab
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Lab {
        self.cmd.env(key, value);
        self
    }

    pub fn envs<'a>(mut self, vars: impl IntoIterator<Item = (&'a str, &'a str)>) -> Lab {
        self.cmd.envs(vars);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Lab {
        self.cmd.env_remove(key);
        self
    }

    /// Runs in a subfolder of the workspace instead.
    pub fn in_dir(mut self, rel: impl AsRef<Path>) -> Lab {
        self.cmd.current_dir(self.root.join(rel));
        self
    }

    /// Runs to the end and requires exit code 0.
    #[track_caller]
    pub fn succeeds(self) -> Ran {
        self.fails_with(0)
    }

    /// Runs to the end and requires this exit code.
    #[track_caller]
    pub fn fails_with(self, code: i32) -> Ran {
        let _lock = self.shares_venv.then(venv::shared_lock);
        Ran(assert_cmd::Command::from_std(self.cmd).assert().code(code))
    }

    /// Runs to the end without asserting the exit code: the code (-1 for a signal) and stdout.
    pub fn exits(mut self) -> (i32, String) {
        let _lock = self.shares_venv.then(venv::shared_lock);
        let out = self.cmd.stdin(Stdio::null()).output().expect("run lab");
        (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs with stdout a pipe whose reader is already gone, as when `lab ... | head -c1` stops
    /// reading: the first write `lab` makes fails. Returns the exit code and stderr.
    pub fn into_closed_pipe(mut self) -> (Option<i32>, String) {
        let _lock = self.shares_venv.then(venv::shared_lock);
        let (reader, writer) = std::io::pipe().expect("make a pipe");
        drop(reader);
        let out = self.cmd.stdin(Stdio::null()).stdout(writer).stderr(Stdio::piped()).output().expect("run lab");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    }

    /// Starts it with both streams collected as they arrive, for a test to signal it midway.
    pub fn spawn(self) -> Running {
        self.spawn_with(Stdio::null())
    }

    /// Started with a pipe on standard input, for typing into it ([`Running::type_line`]).
    pub fn spawn_typing(self) -> Running {
        self.spawn_with(Stdio::piped())
    }

    fn spawn_with(mut self, stdin: Stdio) -> Running {
        let lock = self.shares_venv.then(venv::shared_lock);
        let mut child = self.cmd.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start lab");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().expect("piped stdout"), stdout.clone()),
            collect(child.stderr.take().expect("piped stderr"), stderr.clone()),
        ];
        Running { child, stdout, stderr, readers, _lock: lock }
    }
}

fn collect(mut stream: impl Read + Send + 'static, sink: Arc<Mutex<String>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().expect("the output lock").push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
}

/// A finished `lab` command, whose output the test asserts on.
pub struct Ran(Assert);

impl Ran {
    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Ran {
        Ran(self.0.stdout(contains(text)))
    }

    #[track_caller]
    pub fn stdout_lacks(self, text: &str) -> Ran {
        Ran(self.0.stdout(contains(text).not()))
    }

    /// The whole of stdout.
    #[track_caller]
    pub fn stdout_is(self, text: &str) -> Ran {
        Ran(self.0.stdout(text.to_string()))
    }

    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Ran {
        Ran(self.0.stderr(contains(text)))
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.get_output().stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.get_output().stderr).into_owned()
    }

    /// Stdout as the one JSON document `--json` prints.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0.get_output().stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", self.stdout()))
    }
}

/// A `lab` command that is still running.
pub struct Running {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    _lock: Option<venv::Lock>,
}

impl Running {
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("a pid fits in i32")
    }

    /// What it has printed so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("the output lock").clone()
    }

    /// Waits until stdout holds `needle` at least `times` times.
    #[track_caller]
    pub fn wait_for_stdout(&self, needle: &str, times: usize) {
        wait_for(&format!("{needle:?} x{times} on stdout"), PATIENCE, || {
            self.stdout().matches(needle).count() >= times
        });
    }

    /// Writes a line to its standard input, as Enter after typing it would.
    pub fn type_line(&mut self, text: &str) {
        self.type_keys(&format!("{text}\n"));
    }

    /// Writes keys to its standard input, without Enter.
    pub fn type_keys(&mut self, keys: &str) {
        let stdin = self.child.stdin.as_mut().expect("started with spawn_typing");
        std::io::Write::write_all(stdin, keys.as_bytes()).expect("write to lab's stdin");
        std::io::Write::flush(stdin).expect("flush lab's stdin");
    }

    /// SIGINT, as Ctrl-C in a terminal sends to the foreground process.
    pub fn interrupt(&self) {
        signal(self.pid(), libc::SIGINT);
    }

    /// Any other signal, e.g. SIGTERM from a process manager or SIGHUP from a closed terminal.
    pub fn signal(&self, sig: libc::c_int) {
        signal(self.pid(), sig);
    }

    /// Waits for it to exit, at most `within` (else kills it and fails); the exit status and
    /// everything it printed to stdout and stderr.
    #[track_caller]
    pub fn finish(mut self, within: Duration) -> (ExitStatus, String, String) {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for lab") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("lab did not exit within {within:?}; stdout so far:\n{}", self.stdout());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for reader in self.readers.drain(..) {
            reader.join().expect("an output reader");
        }
        let err = self.stderr.lock().expect("the output lock").clone();
        (status, self.stdout(), err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed midway does not leave lab running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `ready` every few milliseconds until it holds; fails the test after `within`.
#[track_caller]
pub fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "gave up after {within:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[allow(unsafe_code)] // kill(2) has no safe wrapper in std
fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill only sends a signal, here to a process this test started.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed: {}", std::io::Error::last_os_error());
}

/// The processes in process group `pgid` that are still running (zombies, which have
/// exited and wait only to be reaped, do not count). Reads /proc.
pub fn running_in_group(pgid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").expect("read /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" && fields[0] != "X" {
            found.push(pid);
        }
    }
    found
}

/// Every file under `root` except `.lab/` and `.git/`, with its contents: to prove a command
/// wrote nothing.
pub fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("under root").to_path_buf();
            if rel.starts_with(".lab") || rel.starts_with(".git") {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push((rel, fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("read dir").flatten() {
        if entry.path().is_dir() {
            out.extend(files_under(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

/// Copies a folder tree (a lab to break in a test, a solution to lay over a workspace).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("make the target folder");
    for entry in fs::read_dir(from).expect("read the source folder").flatten() {
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).expect("copy a file");
        }
    }
}

/// The one Python venv the grading tests share, under target/tmp, with pytest installed.
/// A file lock guards it across test threads and processes: making it or installing into it
/// takes the lock exclusively; a command that grades with it holds it shared meanwhile.
pub mod venv {
    use super::*;

    pub fn dir() -> PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-test-venv")
    }

    /// Held while alive; released when the file closes.
    pub struct Lock {
        _file: fs::File,
    }

    fn lock(how: libc::c_int) -> Lock {
        Lock { _file: locked_file("lab-test-venv.lock", how) }
    }

    /// A lock file under target/tmp, opened and locked (`LOCK_SH` or `LOCK_EX`); the lock goes
    /// when the file closes.
    pub(super) fn locked_file(name: &str, how: libc::c_int) -> fs::File {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        fs::create_dir_all(tmp).expect("make target/tmp");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(tmp.join(name))
            .unwrap_or_else(|e| panic!("open {name}: {e}"));
        flock(&file, how);
        file
    }

    #[allow(unsafe_code)] // flock(2) has no safe wrapper in std at this crate's rust-version
    fn flock(file: &fs::File, how: libc::c_int) {
        // SAFETY: flock on a file descriptor we own; the lock goes when the file closes.
        let rc = unsafe { libc::flock(file.as_raw_fd(), how) };
        assert_eq!(rc, 0, "flock failed: {}", std::io::Error::last_os_error());
    }

    /// For making the venv or installing into it. While holding it, run `lab` only from a
    /// workspace without [`Workspace::with_pytest`]: its commands take the lock shared and would
    /// wait for this one forever.
    pub fn exclusive_lock() -> Lock {
        lock(libc::LOCK_EX)
    }

    /// For running its interpreter while no one installs into it.
    pub fn shared_lock() -> Lock {
        lock(libc::LOCK_SH)
    }

    /// The venv's interpreter, the venv made (with pytest) on first use.
    pub fn pytest_python() -> PathBuf {
        let venv = dir();
        let python = venv.join("bin/python");
        if venv.join(".ready").exists() {
            return python;
        }
        let _lock = exclusive_lock();
        if !venv.join(".ready").exists() {
            let base = std::env::var("LAB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
            run(StdCommand::new(&base).args(["-m", "venv"]).arg(&venv));
            run(StdCommand::new(&python).args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "pytest>=7",
            ]));
            fs::write(venv.join(".ready"), "").expect("mark the venv ready");
        }
        python
    }

    /// Installs the dependencies (not the project itself: an installed copy would come before
    /// the workspace's code on the import path) that the workspace's pyproject.toml declares,
    /// with its `dev` dependency group (PEP 735) or `dev` extra.
    pub fn install_dependencies_of(workspace: &Path) {
        let python = pytest_python();
        let text = fs::read_to_string(workspace.join("pyproject.toml")).expect("read pyproject.toml");
        let doc: toml::Table = toml::from_str(&text).expect("pyproject.toml parses");
        let project = doc["project"].as_table().expect("a [project] table");
        let mut wanted: Vec<String> = Vec::new();
        let mut take = |v: Option<&toml::Value>| {
            wanted
                .extend(v.and_then(|v| v.as_array()).into_iter().flatten().filter_map(|d| d.as_str().map(String::from)))
        };
        take(project.get("dependencies"));
        take(project.get("optional-dependencies").and_then(|o| o.get("dev")));
        take(doc.get("dependency-groups").and_then(|g| g.get("dev")));
        let _lock = exclusive_lock();
        run(StdCommand::new(&python).args(["-m", "pip", "install", "-q", "--disable-pip-version-check"]).args(&wanted));
    }

    fn run(cmd: &mut StdCommand) {
        let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The one Mermaid parser the docs tests share, under target/tmp, installed on first use by
/// `lab setup` (npm ci from the npm registry), as LAB_MERMAID then names it for every command.
pub mod mermaid {
    use std::sync::OnceLock;

    use super::*;

    pub fn dir() -> PathBuf {
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-test-mermaid")
    }

    /// The parser's folder, installed if need be; Err says why this machine cannot have it (no
    /// Node.js 20+ with npm, or no npm registry). Asked once per test binary; a file lock keeps
    /// two binaries from installing at once.
    pub fn parser() -> Result<PathBuf, String> {
        static PARSER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        PARSER.get_or_init(install).clone()
    }

    fn install() -> Result<PathBuf, String> {
        let _lock = venv::locked_file("lab-test-mermaid.lock", libc::LOCK_EX);
        let ws = Workspace::new();
        ws.lab(["new", "design-doc", "ws", "--no-git"]).succeeds();
        // Quick when it is installed already: setup only looks.
        let setup = ws.lab(["setup"]).in_dir("ws").env("LAB_MERMAID", dir()).spawn();
        let (status, _, stderr) = setup.finish(Duration::from_secs(900));
        if stderr.contains("structurally only") {
            return Err(format!("no Node.js 20+ with npm here: {}", stderr.trim()));
        }
        if !status.success() {
            return Err(format!(
                "`lab setup` could not install the Mermaid parser (is the npm registry reachable?):\n{}",
                stderr.trim()
            ));
        }
        Ok(dir())
    }

    /// The shared parser; or, when this machine cannot have it, None after printing
    /// "skipped: <test>: <why>" past the test harness's capture. With LAB_REQUIRE_TOOLS=1 (CI,
    /// which has Node.js and the registry) a missing parser fails the test instead.
    #[track_caller]
    pub fn parser_or_skip(test: &str) -> Option<PathBuf> {
        match parser() {
            Ok(dir) => Some(dir),
            Err(why) if std::env::var_os("LAB_REQUIRE_TOOLS").is_some_and(|v| v == "1") => {
                panic!("LAB_REQUIRE_TOOLS=1, but the Mermaid parser cannot be installed: {why}")
            }
            Err(why) => {
                let line = format!("\nskipped: {test}: not proven on this machine: {why}\n");
                let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
                None
            }
        }
    }
}
