//! `lab setup`: a venv with the workspace's dev dependencies, then a check that runs in it.
//! Needs python3 and access to the package registry, like a learner's first setup.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{snapshot, Workspace};

/// The cache folder (XDG_CACHE_HOME: pip's, uv's, and the uv lab gets) that tests not about
/// getting uv share, so uv is got once per target folder and packages come from the cache.
fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-test-cache")
}

#[test]
fn setup_makes_a_venv_that_check_then_uses() {
    let ws = Workspace::hello();
    ws.lab(["setup"]).env("XDG_CACHE_HOME", shared_cache()).succeeds().stdout_has("Ready");
    assert!(ws.join(".venv/bin/python").is_file());
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn lab_venv_puts_the_venv_elsewhere() {
    let ws = Workspace::hello();
    let venv = ws.scratch("shared-venv");
    ws.lab(["setup"]).env("LAB_VENV", &venv).env("XDG_CACHE_HOME", shared_cache()).succeeds();
    assert!(venv.join("bin/python").is_file());
    assert!(!ws.exists(".venv"));
    ws.lab(["check"]).env("LAB_VENV", &venv).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn setup_outside_a_workspace_exits_2() {
    Workspace::new().lab(["setup"]).fails_with(2).stderr_has("not inside a lab workspace");
}

#[test]
fn a_venv_left_without_pip_is_repaired() {
    let ws = Workspace::hello();
    // What a setup killed while the venv was being made leaves behind.
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(ws.join(".venv"))
        .status()
        .expect("run python3 -m venv");
    assert!(made.success());
    // uv would install without pip; pip is what needs the repair.
    ws.lab(["setup"]).env("LAB_INSTALLER", "pip").succeeds().stdout_has("Ready").stderr_has("Adding pip to");
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn lab_installer_pip_installs_with_pip_and_says_so() {
    let ws = Workspace::hello();
    let cache = ws.scratch("cache");
    ws.lab(["setup"])
        .env("LAB_INSTALLER", "pip")
        .env("XDG_CACHE_HOME", &cache)
        .succeeds()
        .stdout_has("Ready")
        .stderr_has("Installed with pip in ")
        .stderr_has(" s (LAB_INSTALLER=pip)");
    assert!(!cache.join("lab/uv").exists(), "uv was got although pip was asked for");
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn an_unknown_lab_installer_exits_2_and_writes_nothing() {
    let ws = Workspace::hello();
    let cache = ws.scratch("cache");
    let before = snapshot(ws.path());
    ws.lab(["setup"])
        .env("LAB_INSTALLER", "bogus")
        .env("XDG_CACHE_HOME", &cache)
        .fails_with(2)
        .stderr_has("LAB_INSTALLER=bogus is not an installer lab knows: the accepted values are `uv` and `pip`");
    assert_eq!(snapshot(ws.path()), before);
    assert!(!ws.exists(".venv"));
    assert!(!cache.exists());
}

#[test]
fn setup_gets_uv_once_and_installs_with_it_by_default() {
    let ws = Workspace::hello();
    // A fresh cache, so the uv is got here; PATH without uv, so it has to be.
    let cache = ws.scratch("cache");
    let path = path_without_uv(&ws);
    let run = ws.lab(["setup"]).env("XDG_CACHE_HOME", &cache).env("PATH", &path).spawn();
    let (status, _, stderr) = run.finish(Duration::from_secs(600));
    if !stderr.contains("Installed with uv ") {
        let Some(why) = registry_unreachable(&ws) else {
            panic!("uv could be had from the registry, but setup did not install with it:\n{stderr}");
        };
        // Like the Mermaid tests: a machine without the registry proves nothing here, and says so;
        // CI (LAB_REQUIRE_TOOLS=1) has the registry, so there it fails.
        if std::env::var_os("LAB_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
            panic!("LAB_REQUIRE_TOOLS=1, but uv cannot be had: {why}\n{stderr}");
        }
        let line = format!(
            "\nskipped: setup_gets_uv_once_and_installs_with_it_by_default: not proven on this machine: {why}\n"
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        return;
    }
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("Getting uv with pip into"), "{stderr}");
    assert!(cache.join("lab/uv/bin/uv").is_file());
    // The learner has no uv of their own: the venv keeps pip for them.
    assert!(ws.join(".venv/bin/pip").is_file());
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
    // Another workspace reuses it.
    let other = Workspace::hello();
    let again = other
        .lab(["setup"])
        .env("XDG_CACHE_HOME", &cache)
        .env("PATH", &path)
        .succeeds()
        .stderr_has("Installed with uv ");
    assert!(!again.stderr().contains("Getting uv"), "{}", again.stderr());
}

#[test]
fn a_failing_uv_falls_back_to_pip_and_says_why_unless_uv_is_forced() {
    let ws = Workspace::hello();
    let bin = ws.scratch("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // A uv that runs but cannot install, as one without its registry.
    let uv = bin.join("uv");
    std::fs::write(
        &uv,
        "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'uv 0.0.1'; exit 0; }\necho 'error: the registry is unreachable' >&2\nexit 2\n",
    )
    .unwrap();
    std::process::Command::new("chmod").arg("+x").arg(&uv).status().unwrap();
    let mut path = OsString::from(&bin);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    ws.lab(["setup"])
        .env("PATH", &path)
        .env("LAB_INSTALLER", "uv")
        .fails_with(2)
        .stderr_has("uv failed (LAB_INSTALLER=uv, so pip is not tried)")
        .stderr_has("error: the registry is unreachable");
    assert!(!ws.exists(".venv"), "a venv uv failed to make was left behind");
    ws.lab(["setup"])
        .env("PATH", &path)
        .env("XDG_CACHE_HOME", shared_cache())
        .succeeds()
        .stderr_has("Installed with pip in ")
        .stderr_has(" (uv failed: `uv venv ")
        .stderr_has("error: the registry is unreachable)");
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}

#[test]
fn sigterm_during_setup_ends_the_installer_and_everything_it_started() {
    let ws = Workspace::hello();
    let ready = ws.scratch("ready");
    let survived = ws.scratch("survived");
    // An interpreter whose install starts a grandchild that would leave a marker, says it is
    // running, and hangs, as a slow pip download does.
    let install = format!(
        "(sleep 3; touch {survived}) &\necho $! > {ready}.tmp && mv {ready}.tmp {ready}\nsleep 60",
        survived = survived.display(),
        ready = ready.display()
    );
    let python = crate::prereqs::FakePython::new("3.12.3").installing(install).write(&ws.scratch("py/bin/python3"));
    let lab = ws.lab(["setup"]).env("LAB_PYTHON", &python).env("LAB_INSTALLER", "pip").spawn();
    crate::harness::wait_for("the installer to start", crate::harness::PATIENCE, || ready.exists());
    lab.signal(libc::SIGTERM);
    let (status, _, stderr) = lab.finish(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{stderr}");
    let grandchild = std::fs::read_to_string(&ready).unwrap().trim().to_string();
    // Gone at once if it was killed; if it was not, it leaves the marker on its way out.
    crate::harness::wait_for("the grandchild to be gone", Duration::from_secs(10), || {
        !Path::new(&format!("/proc/{grandchild}")).exists()
    });
    assert!(!survived.exists(), "a process the installer started outlived SIGTERM");
    assert!(!ws.exists(".venv"), "the venv this setup made was left half-installed");
}

/// PATH without any folder that holds a uv, and with the python3 of this machine first.
fn path_without_uv(ws: &Workspace) -> OsString {
    let bin = ws.scratch("bin-without-uv");
    std::fs::create_dir_all(&bin).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("run python3");
    let python3 = String::from_utf8(out.stdout).unwrap().trim().to_string();
    std::os::unix::fs::symlink(&python3, bin.join("python3")).unwrap();
    let rest = std::env::var_os("PATH").unwrap_or_default();
    let kept = std::env::split_paths(&rest).filter(|dir| !dir.join("uv").exists());
    std::env::join_paths(std::iter::once(bin).chain(kept)).expect("a PATH")
}

/// Why this machine cannot reach the package registry (pip cannot download the uv wheel), or
/// None when it can.
fn registry_unreachable(ws: &Workspace) -> Option<String> {
    let dir = ws.scratch("uv-wheel");
    // The venv's pip when setup made one (system python3 may have no pip).
    let venv_python = ws.join(".venv/bin/python");
    let python = if venv_python.exists() { venv_python } else { PathBuf::from("python3") };
    let out = std::process::Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d"])
        .arg(&dir)
        .arg("uv")
        .output()
        .expect("run python3 -m pip");
    (!out.status.success())
        .then(|| format!("pip cannot download uv from its registry: {}", String::from_utf8_lossy(&out.stderr).trim()))
}

#[test]
fn a_uv_lock_is_what_setup_installs_and_a_stale_one_is_said() {
    let ws = Workspace::hello();
    // A first setup gets lab's uv into the shared cache (or finds the learner's on PATH).
    ws.lab(["setup"]).env("XDG_CACHE_HOME", shared_cache()).succeeds();
    let cached = shared_cache().join("lab/uv/bin/uv");
    let uv = if cached.is_file() { cached } else { PathBuf::from("uv") };
    // A lock that holds pytest back: the newest release allowed is not what it names.
    let locked = std::process::Command::new(&uv)
        .args(["lock", "--quiet", "--upgrade-package", "pytest==8.0.0"])
        .current_dir(ws.path())
        .env("XDG_CACHE_HOME", shared_cache())
        .output()
        .expect("run uv lock");
    assert!(locked.status.success(), "uv lock: {}", String::from_utf8_lossy(&locked.stderr));
    std::fs::remove_dir_all(ws.join(".venv")).unwrap();
    ws.lab(["setup"]).env("XDG_CACHE_HOME", shared_cache()).succeeds().stderr_has(" from uv.lock in ");
    let version = std::process::Command::new(ws.join(".venv/bin/python"))
        .args(["-c", "import pytest; print(pytest.__version__)"])
        .output()
        .expect("run the venv's python");
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), "8.0.0");
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
    // The learner adds a dependency without locking again.
    ws.replace("pyproject.toml", "dependencies = []", "dependencies = [\"iniconfig\"]");
    let stale = ws.lab(["setup"]).env("XDG_CACHE_HOME", shared_cache()).succeeds();
    let stale = stale.stderr_has("uv.lock does not match pyproject.toml (run `uv lock`");
    assert!(!stale.stderr().contains(" from uv.lock in "), "{}", stale.stderr());
}

#[test]
fn dev_tools_in_a_dependency_group_install_with_pip_too() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    ws.replace(
        labs.join("labs/hello/lab.toml"),
        "setup = [\"-e\", \".[dev]\"]",
        "setup = [\"-e\", \".\", \"--group\", \"dev\"]",
    );
    ws.replace(
        labs.join("scaffolds/mini/pyproject.toml.hbs"),
        "[project.optional-dependencies]\ndev = [\"pytest>=7\"]",
        "[dependency-groups]\ndev = [\"pytest>=7\"]",
    );
    let ws = ws.scaffold_hello("ws", &[]);
    // The venv's pip (from ensurepip) may be older than 25.1, which reads dependency groups.
    ws.lab(["setup"]).env("LAB_INSTALLER", "pip").env("XDG_CACHE_HOME", shared_cache()).succeeds().stdout_has("Ready");
    ws.lab(["check"]).fails_with(1).stdout_has("0/4 tests");
}
