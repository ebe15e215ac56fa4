//! The harness the CLI tests share: a builder over assert_cmd that runs `lab` in a temp folder
//! with a clean environment, the fixture labs, and one Python venv (with pytest) made under
//! `target/` on first use.

#![allow(dead_code)] // each test binary uses its own part of the harness

use std::fs;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/labs")
}

/// `lab` with colour off, the caller's lab settings cleared, run in `dir`.
pub fn lab(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("lab").expect("the lab binary is built");
    cmd.current_dir(dir);
    for var in ["LAB_PATH", "LAB_PYTHON", "LAB_VENV", "PYTEST_ADDOPTS", "CLICOLOR_FORCE"] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

/// `lab` with the fixture labs loaded and the shared venv's interpreter.
pub fn lab_fixture(dir: &Path) -> Command {
    let mut cmd = lab(dir);
    cmd.arg("--labs-dir").arg(fixtures()).env("LAB_PYTHON", python());
    cmd
}

/// Holds an exclusive lock on a file under target/ while alive: for the steps that install
/// into the shared venv, which parallel test processes must not do at once.
pub struct VenvLock(fs::File);

pub fn venv_lock() -> VenvLock {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(dir).expect("create target/tmp");
    let file = fs::File::create(dir.join("lab-test-venv.lock")).expect("create the venv lock");
    // SAFETY: flock on a file descriptor we own; it is released when the file closes.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock failed");
    VenvLock(file)
}

pub fn venv() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-test-venv")
}

/// The shared venv's interpreter, made (with pytest) on first use.
pub fn python() -> PathBuf {
    let venv = venv();
    let python = venv.join("bin/python");
    if python.exists() && venv.join(".ready").exists() {
        return python;
    }
    let _lock = venv_lock();
    if !venv.join(".ready").exists() {
        let base = std::env::var("LAB_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        run(StdCommand::new(&base).args(["-m", "venv"]).arg(&venv));
        run(StdCommand::new(&python).args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "pytest>=7"]));
        fs::write(venv.join(".ready"), "").expect("mark the venv ready");
    }
    python
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

/// Every file under `root` except `.lab/`, with its contents: to prove a command wrote nothing.
pub fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

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

/// Copies a folder tree (a lab to break in a test, a solution to lay over a workspace).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Scaffolds the fixture lab into `parent/name` without git and returns its root.
pub fn new_fixture(parent: &Path, name: &str, extra: &[&str]) -> PathBuf {
    lab_fixture(parent).args(["new", "hello", name, "--no-git"]).args(extra).assert().success();
    parent.join(name)
}

/// Lays the fixture's reference solution over a workspace (rendered by hand: greeting "hello").
pub fn solve(root: &Path, package: &str) {
    let src = fs::read_to_string(fixtures().join("labs/hello/python/solution/src/{{package_name}}/greet.py.hbs"))
        .expect("read the fixture solution");
    fs::write(root.join(format!("src/{package}/greet.py")), src.replace("{{options.greeting}}", "hello"))
        .expect("write the solution");
}
