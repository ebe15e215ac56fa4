//! The one door for child processes: stdin closed, output captured, the child in its own process
//! group that is killed whole at the timeout or on Ctrl-C, and the command named in every error.

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

/// Set by the Ctrl-C handler; every wait loop checks it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static HANDLER: OnceLock<()> = OnceLock::new();

/// The error a wait returns after Ctrl-C; `main` maps it to exit code 130.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// A command to run: program, arguments, folder and environment changes.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: OsString,
    args: Vec<OsString>,
    cwd: Option<PathBuf>,
    env: Vec<(OsString, Option<OsString>)>,
    timeout: Option<Duration>,
}

/// What a finished child left behind.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code, or None when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0) && !self.timed_out
    }

    /// Both streams, for showing a failed command's output to the user.
    pub fn combined(&self) -> String {
        let mut s = self.stdout.clone();
        if !self.stderr.is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&self.stderr);
        }
        s
    }
}

impl Cmd {
    pub fn new(program: impl Into<OsString>) -> Cmd {
        Cmd { program: program.into(), args: Vec::new(), cwd: None, env: Vec::new(), timeout: None }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Cmd {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn cwd(mut self, dir: &Path) -> Cmd {
        self.cwd = Some(dir.to_path_buf());
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Cmd {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    pub fn env_remove(mut self, key: impl Into<OsString>) -> Cmd {
        self.env.push((key.into(), None));
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = Some(timeout);
        self
    }

    /// The command as a user would type it, for messages.
    pub fn display(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| {
                let s = a.to_string_lossy();
                if s.contains(' ') || s.is_empty() {
                    format!("'{s}'")
                } else {
                    s.into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs to completion (or the timeout) and captures both streams. A program that cannot be
    /// started is an error naming it; a non-zero exit is not an error here.
    pub fn run(&self) -> Result<Output> {
        self.run_observed(&mut |_| {})
    }

    /// Like `run`, and calls `observe` every few tens of milliseconds while the child runs, with
    /// what it has printed so far: for a caller that acts on results as they arrive.
    pub fn run_observed(&self, observe: &mut dyn FnMut(&Live)) -> Result<Output> {
        install_interrupt_handler();
        let mut command = Command::new(&self.program);
        command.args(&self.args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group, so a timeout or Ctrl-C can end the child and everything it started.
        command.process_group(0);
        // Every descendant inherits this marker, so one that leaves the group (a new session, a
        // daemon) can still be found and ended with the run.
        let marker = run_marker();
        command.env(MARKER_VAR, &marker);
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        for (key, value) in &self.env {
            match value {
                Some(v) => command.env(key, v),
                None => command.env_remove(key),
            };
        }
        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("cannot run `{}`", self.display()))?;
        let pid = child.id() as libc::pid_t;
        let (stdout, stderr) = (Capture::default(), Capture::default());
        let readers = [reader(child.stdout.take(), stdout.clone()), reader(child.stderr.take(), stderr.clone())];
        let (tx, rx) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let status = child.wait();
            let _ = tx.send(());
            status
        });
        let mut timed_out = false;
        let mut interrupted = false;
        loop {
            // Short slices: the wait ends the moment the child exits, and Ctrl-C is seen quickly.
            match rx.recv_timeout(OBSERVE_EVERY) {
                Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let time_up = std::cell::Cell::new(false);
            observe(&Live { stdout: &stdout, stderr: &stderr, elapsed: started.elapsed(), time_up: &time_up });
            if INTERRUPTED.load(Ordering::SeqCst) {
                interrupted = true;
            } else if time_up.get() || self.timeout.is_some_and(|t| started.elapsed() >= t) {
                timed_out = true;
            } else {
                continue;
            }
            kill_group(pid);
            let _ = rx.recv();
            break;
        }
        let status = waiter
            .join()
            .map_err(|_| anyhow!("waiting for `{}` failed", self.display()))?
            .with_context(|| format!("waiting for `{}` failed", self.display()))?;
        // The group may hold grandchildren that outlived the child and still hold the pipes, and
        // descendants may have left the group.
        kill_group(pid);
        kill_marked(&marker);
        // Something that escaped both could still hold the pipes open: the wait for the output
        // ends after a grace period all the same, with what arrived by then.
        let grace = Instant::now() + READER_GRACE;
        while readers.iter().any(|r| !r.is_finished()) && Instant::now() < grace {
            thread::sleep(Duration::from_millis(5));
        }
        let output = Output {
            code: status.code(),
            stdout: stdout.text(),
            stderr: stderr.text(),
            timed_out,
            elapsed: started.elapsed(),
        };
        if interrupted {
            return Err(Interrupted.into());
        }
        Ok(output)
    }

    /// Runs and requires exit code 0; the error names the command and shows its output.
    pub fn run_ok(&self) -> Result<Output> {
        let out = self.run()?;
        if out.timed_out {
            anyhow::bail!("`{}` timed out\n{}", self.display(), out.combined().trim_end());
        }
        if !out.success() {
            anyhow::bail!("`{}` failed ({})\n{}", self.display(), describe_exit(out.code), out.combined().trim_end());
        }
        Ok(out)
    }
}

pub fn describe_exit(code: Option<i32>) -> String {
    match code {
        Some(c) => format!("exit code {c}"),
        None => "killed by a signal".to_string(),
    }
}

/// How often a running child is looked at: Ctrl-C, the timeout and the observer.
const OBSERVE_EVERY: Duration = Duration::from_millis(50);

/// A running child as an observer sees it.
pub struct Live<'a> {
    stdout: &'a Capture,
    stderr: &'a Capture,
    pub elapsed: Duration,
    time_up: &'a std::cell::Cell<bool>,
}

impl Live<'_> {
    /// Ends the run as if its timeout had passed: for a limit the observer keeps itself (one that
    /// starts counting partway through the run).
    pub fn time_up(&self) {
        self.time_up.set(true);
    }

    /// How many bytes of standard output have arrived so far.
    pub fn stdout_len(&self) -> usize {
        self.stdout.0.lock().map(|b| b.head.len() + b.tail.len() + b.dropped as usize).unwrap_or(0)
    }

    /// Standard output so far, while it fits the part that is kept from the start (None past it).
    pub fn stdout_so_far(&self) -> Option<String> {
        self.stdout.so_far()
    }

    /// The same for standard error.
    pub fn stderr_so_far(&self) -> Option<String> {
        self.stderr.so_far()
    }
}

/// How long the output may still arrive after the child and its group have ended.
const READER_GRACE: Duration = Duration::from_secs(2);
/// The most of each stream kept: its start and its end, with the middle dropped and said so, so
/// lab's memory stays small whatever a suite prints.
const KEEP_HEAD: usize = 4 << 20;
const KEEP_TAIL: usize = 4 << 20;
const MARKER_VAR: &str = "LAB_RUN_MARKER";

/// One stream's output as it arrives, bounded.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Bounded>>);

#[derive(Default)]
struct Bounded {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    dropped: u64,
}

impl Bounded {
    fn push(&mut self, mut bytes: &[u8]) {
        let room = KEEP_HEAD.saturating_sub(self.head.len());
        let (first, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(first);
        bytes = rest;
        self.tail.extend(bytes);
        let excess = self.tail.len().saturating_sub(KEEP_TAIL);
        self.tail.drain(..excess);
        self.dropped += excess as u64;
    }

    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            text.push_str(&format!("\n[lab: {} bytes of output were not kept]\n", self.dropped));
        }
        let (a, b) = self.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[a, b].concat()));
        text
    }
}

impl Capture {
    fn text(&self) -> String {
        self.0.lock().map(|b| b.text()).unwrap_or_default()
    }

    fn so_far(&self) -> Option<String> {
        let bounded = self.0.lock().ok()?;
        (bounded.tail.is_empty()).then(|| String::from_utf8_lossy(&bounded.head).into_owned())
    }
}

fn reader<R: Read + Send + 'static>(stream: Option<R>, sink: Capture) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let Some(mut stream) = stream else { return };
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut bounded) = sink.0.lock() {
                bounded.push(&buf[..n]);
            }
        }
    })
}

/// A marker no other run shares: lab's pid, the time and a counter.
fn run_marker() -> String {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}-{nanos}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::SeqCst))
}

/// Ends every process that carries this run's marker in its environment (Linux: /proc).
fn kill_marked(marker: &str) {
    let needle = format!("{MARKER_VAR}={marker}");
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<libc::pid_t>().ok()) else { continue };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if environ.split(|b| *b == 0).any(|var| var == needle.as_bytes()) {
            kill_pid(pid);
        }
    }
}

#[allow(unsafe_code)] // kill has no safe wrapper in std for a pid we did not spawn
fn kill_pid(pid: libc::pid_t) {
    // SAFETY: kill only sends a signal; a process that is gone yields ESRCH, ignored.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

#[allow(unsafe_code)] // killpg has no safe wrapper in std
fn kill_group(pgid: libc::pid_t) {
    // SAFETY: killpg only sends a signal; a group that no longer exists yields ESRCH, ignored.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// Makes Ctrl-C set a flag instead of ending lab, for loops that stop cleanly (`--watch`).
pub fn watch_interrupts() {
    install_interrupt_handler();
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn install_interrupt_handler() {
    HANDLER.get_or_init(|| {
        // If another handler is already installed, Ctrl-C keeps its default behaviour.
        let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
    });
}

/// Whether a program is on PATH.
pub fn on_path(program: &str) -> bool {
    find_program(program, &[]).is_some()
}

/// Where `program` is: on PATH, else in the first of `also_in` that holds it. A folder there may
/// have `*` in a component (`/usr/lib/postgresql/*/bin`); the newest-sorting match wins, so the
/// highest of several installed versions is found.
pub fn find_program(program: &str, also_in: &[String]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|dir| dir.join(program)).find(|p| p.is_file()));
    on_path.or_else(|| {
        also_in.iter().find_map(|pattern| {
            let mut dirs = expand_dirs(pattern);
            dirs.sort_by(|a, b| natural_cmp(&a.to_string_lossy(), &b.to_string_lossy()));
            dirs.into_iter().rev().map(|dir| dir.join(program)).find(|p| p.is_file())
        })
    })
}

/// Orders text with its runs of digits compared as numbers: `9` before `16`.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, c) in s.char_indices().skip(1) {
            let prev = s[..i].chars().next_back().is_some_and(|p| p.is_ascii_digit());
            if prev != c.is_ascii_digit() {
                out.push((prev, &s[start..i]));
                start = i;
            }
        }
        if start < s.len() {
            out.push((s[start..].starts_with(|c: char| c.is_ascii_digit()), &s[start..]));
        }
        out
    }
    let key = |(digits, text): (bool, &str)| {
        let trimmed = text.trim_start_matches('0');
        if digits {
            (trimmed.len(), trimmed.to_string())
        } else {
            (usize::MAX, text.to_string())
        }
    };
    for (x, y) in chunks(a).into_iter().zip(chunks(b)) {
        let order = match (x.0, y.0) {
            (true, true) => key(x).cmp(&key(y)),
            _ => x.1.cmp(y.1),
        };
        if order.is_ne() {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

/// The folders an absolute pattern names, each `*`/`?` component matched against the names in
/// its parent. Unreadable folders match nothing.
fn expand_dirs(pattern: &str) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::from("/")];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        if !part.contains(['*', '?']) {
            found = found.into_iter().map(|d| d.join(part)).filter(|d| d.is_dir()).collect();
            continue;
        }
        let Ok(glob) = globset::Glob::new(part) else { return Vec::new() };
        let matcher = glob.compile_matcher();
        found = found
            .into_iter()
            .filter_map(|d| std::fs::read_dir(&d).ok())
            .flat_map(|entries| entries.flatten().map(|e| e.path()))
            .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| matcher.is_match(n)))
            .collect();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_off_path_is_found_in_the_highest_matching_folder() {
        let dir = tempfile::tempdir().unwrap();
        for version in ["13", "16", "9"] {
            let bin = dir.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(bin.join("lab-test-postgres"), "").unwrap();
        }
        std::fs::create_dir_all(dir.path().join("17/bin")).unwrap();
        let pattern = format!("{}/*/bin", dir.path().display());
        // "16" is newer than "9" though it sorts before it as text; "17" holds no such program.
        assert_eq!(
            find_program("lab-test-postgres", std::slice::from_ref(&pattern)),
            Some(dir.path().join("16/bin/lab-test-postgres"))
        );
        assert_eq!(find_program("lab-test-absent", &[pattern]), None);
        assert_eq!(find_program("lab-test-postgres", &[format!("{}/nothing/*", dir.path().display())]), None);
    }

    #[test]
    fn captures_output_and_exit_code_with_stdin_closed() {
        let out = Cmd::new("sh").args(["-c", "read x || echo no-stdin; echo err >&2; exit 3"]).run().unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, "no-stdin\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn a_timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // A grandchild that would write the marker after 1.5 s if it outlived the kill.
        let script = format!("(sleep 1.5; touch {}) & sleep 30", marker.display());
        let out = Cmd::new("sh").args(["-c", &script]).timeout(Duration::from_millis(300)).run().unwrap();
        assert!(out.timed_out);
        assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
        thread::sleep(Duration::from_millis(1800));
        assert!(!marker.exists(), "a grandchild outlived the timeout");
    }

    #[test]
    fn output_is_bounded_to_its_start_and_end() {
        let script = "printf start; head -c 20000000 /dev/zero | tr '\\0' x; printf end";
        let out = Cmd::new("sh").args(["-c", script]).run().unwrap();
        assert!(out.stdout.len() <= KEEP_HEAD + KEEP_TAIL + 100, "{} bytes kept", out.stdout.len());
        assert!(out.stdout.starts_with("startxxx") && out.stdout.ends_with("xxxend"));
        let dropped = 20_000_000 + 8 - (KEEP_HEAD + KEEP_TAIL);
        assert!(out.stdout.contains(&format!("[lab: {dropped} bytes of output were not kept]")));
    }

    #[test]
    fn descendants_that_leave_the_group_end_with_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // A new session escapes the process group; it would leave the marker if it lived on.
        let script = format!("setsid sh -c 'sleep 1.5; touch {}' & echo started", marker.display());
        let started = Instant::now();
        let out = Cmd::new("sh").args(["-c", &script]).run().unwrap();
        assert_eq!(out.stdout, "started\n");
        assert!(started.elapsed() < Duration::from_secs(1), "the run waited for the escaped process");
        thread::sleep(Duration::from_millis(1800));
        assert!(!marker.exists(), "a process in its own session outlived the run");
    }

    #[test]
    fn output_held_open_by_an_unmarked_stray_does_not_hold_the_run() {
        // It drops lab's marker and leaves the group, and keeps stdout open for 4 s.
        let script = "env -u LAB_RUN_MARKER setsid sleep 4 & echo started";
        let started = Instant::now();
        let out = Cmd::new("sh").args(["-c", script]).run().unwrap();
        assert_eq!(out.stdout, "started\n");
        assert!(started.elapsed() < READER_GRACE + Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[test]
    fn an_observer_sees_output_while_the_child_runs() {
        let dir = tempfile::tempdir().unwrap();
        let go = dir.path().join("go");
        // The child prints, then waits until the observer has seen the line and answered.
        let script = format!("echo first; while [ ! -e {} ]; do sleep 0.01; done; echo second", go.display());
        let mut seen = Vec::new();
        let out = Cmd::new("sh")
            .args(["-c", &script])
            .timeout(Duration::from_secs(20))
            .run_observed(&mut |live| {
                if let Some(text) = live.stdout_so_far() {
                    if seen.last() != Some(&text) {
                        seen.push(text);
                    }
                }
                if live.stdout_len() > 0 {
                    std::fs::write(&go, "").unwrap();
                }
            })
            .unwrap();
        assert!(!out.timed_out);
        assert_eq!(out.stdout, "first\nsecond\n");
        assert_eq!(seen.first().map(String::as_str), Some("first\n"), "{seen:?}");
    }

    #[test]
    fn an_observer_can_end_the_run_as_timed_out() {
        let started = Instant::now();
        let out = Cmd::new("sh")
            .args(["-c", "echo go; sleep 30"])
            .run_observed(&mut |live| {
                if live.stdout_len() > 0 {
                    live.time_up();
                }
            })
            .unwrap();
        assert!(out.timed_out);
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[test]
    fn a_missing_program_is_named_in_the_error() {
        let err = Cmd::new("no-such-program-xyz").arg("--flag").run().unwrap_err();
        assert!(format!("{err:#}").contains("cannot run `no-such-program-xyz --flag`"), "{err:#}");
    }
}
