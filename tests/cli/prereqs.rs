//! What a learner needs before the first check, and what they are told when it is missing:
//! `lab show` lists each track's prerequisites, `lab setup` refuses an interpreter too old for
//! the workspace or one that cannot make a venv (in one line, writing nothing), shows the
//! installer's own error, and leaves nothing half-installed; every `--json` command prints a
//! JSON document even when it fails.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{snapshot, wait_for, Workspace, PATIENCE};

/// A stand-in for a Python interpreter, written as a shell script: it answers lab's probe with
/// its version and venv support, makes a "venv" (a folder with `pyvenv.cfg` and a copy of itself
/// as `bin/python`, which then says it runs in a venv), has pip, and runs `install` (shell) for
/// `python -m pip install …`.
pub(crate) struct FakePython {
    pub version: &'static str,
    pub makes_venvs: bool,
    pub install: String,
}

impl FakePython {
    pub(crate) fn new(version: &'static str) -> FakePython {
        FakePython { version, makes_venvs: true, install: "echo 'Successfully installed everything'".into() }
    }

    pub(crate) fn installing(mut self, script: impl Into<String>) -> FakePython {
        self.install = script.into();
        self
    }

    /// Writes it to `path` (made executable) and returns the path.
    pub(crate) fn write(&self, path: &Path) -> PathBuf {
        std::fs::create_dir_all(path.parent().expect("a folder")).unwrap();
        let script = format!(
            r#"#!/bin/sh
here=$(cd "$(dirname "$0")" && pwd)
in_venv=0; [ -f "$here/../pyvenv.cfg" ] && in_venv=1
case "$1 $2" in
  "-c import pip") exit 0 ;;
  "-m ensurepip") exit 0 ;;
  "-m venv") mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && echo "home = $here" > "$3/pyvenv.cfg"; exit $? ;;
  "-m pip") shift 2; {install}
exit $? ;;
esac
case "$2" in *version_info*) printf '%s
%s
%s
' {version} "$in_venv" {venvs}; exit 0 ;; esac
echo "fake python: unexpected arguments: $*" >&2
exit 9
"#,
            install = self.install,
            version = self.version,
            venvs = u8::from(self.makes_venvs),
        );
        std::fs::write(path, script).unwrap();
        std::process::Command::new("chmod").arg("+x").arg(path).status().unwrap();
        path.to_path_buf()
    }
}

/// PATH with `bin` first: a `python3` put there is the one lab finds.
pub(crate) fn path_with(bin: &Path) -> OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(std::env::split_paths(&rest))).expect("a PATH")
}

/// The rate-limiter lab, whose pyproject.toml requires Python 3.11 or newer.
fn rate_limiter() -> Workspace {
    Workspace::new().scaffold("rate-limiter", "rl")
}

/// The one line an error prints (stderr holds nothing else).
#[track_caller]
fn only_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "more than one line on stderr:\n{stderr}");
    lines[0]
}

#[test]
fn a_python3_too_old_for_the_workspace_fails_setup_in_one_line_and_writes_nothing() {
    let ws = rate_limiter();
    let bin = ws.scratch("bin");
    FakePython::new("3.10.12").installing("echo INSTALLED > /dev/null; exit 1").write(&bin.join("python3"));
    let cache = ws.scratch("cache");
    let before = snapshot(ws.path());
    let ran = ws.lab(["setup"]).env("PATH", path_with(&bin)).env("XDG_CACHE_HOME", &cache).fails_with(2);
    let line = only_line(&ran.stderr()).to_string();
    assert!(
        line.starts_with("error: this workspace needs Python >=3.11 (pyproject.toml requires-python), but python3 is Python 3.10.12: install a newer Python and run `LAB_PYTHON=/path/to/that/python3 lab setup`"),
        "{line}"
    );
    assert!(line.ends_with("Nothing was installed."), "{line}");
    assert_eq!(snapshot(ws.path()), before);
    assert!(!ws.exists(".venv") && !cache.exists());
}

#[test]
fn lab_python_too_old_is_named_as_lab_python() {
    let ws = rate_limiter();
    let python = FakePython::new("3.10.4").write(&ws.scratch("py310/bin/python3"));
    let ran = ws.lab(["setup"]).env("LAB_PYTHON", &python).fails_with(2);
    let line = only_line(&ran.stderr()).to_string();
    assert!(line.contains(&format!("but LAB_PYTHON={} is Python 3.10.4", python.display())), "{line}");
    assert!(!ws.exists(".venv"));
}

#[test]
fn a_python_without_venv_support_fails_setup_with_the_package_to_install() {
    let ws = rate_limiter();
    let bin = ws.scratch("bin");
    FakePython { makes_venvs: false, ..FakePython::new("3.12.3") }.write(&bin.join("python3"));
    let before = snapshot(ws.path());
    let ran = ws.lab(["setup"]).env("PATH", path_with(&bin)).env("LAB_INSTALLER", "pip").fails_with(2);
    let line = only_line(&ran.stderr()).to_string();
    assert!(line.contains("python3 (Python 3.12.3) cannot make virtual environments"), "{line}");
    assert!(line.contains("sudo apt install python3-venv"), "{line}");
    assert_eq!(snapshot(ws.path()), before);
}

#[test]
fn a_venv_made_by_a_python_too_old_is_named_with_how_to_remake_it() {
    let ws = rate_limiter();
    FakePython::new("3.10.12").write(&ws.join(".venv/bin/python"));
    std::fs::write(ws.join(".venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    let ran = ws.lab(["setup"]).fails_with(2);
    let line = only_line(&ran.stderr()).to_string();
    assert!(line.contains("has Python 3.10.12, but this workspace needs Python >=3.11"), "{line}");
    assert!(line.contains("remove it (`rm -rf "), "{line}");
}

#[test]
fn lab_python_is_the_python_the_venv_is_made_from() {
    let ws = Workspace::hello();
    let python = FakePython::new("3.12.3").write(&ws.scratch("py312/bin/python3"));
    ws.lab(["setup"])
        .env("LAB_PYTHON", &python)
        .env("LAB_INSTALLER", "pip")
        .succeeds()
        .stderr_has(&format!("Creating a virtual environment in {} with LAB_PYTHON=", ws.join(".venv").display()))
        .stderr_has("Unset it before `lab check`")
        .stderr_has("Installed with pip in ");
    assert!(ws.join(".venv/bin/python").is_file() && ws.exists(".venv/pyvenv.cfg"));
}

#[test]
fn lab_python_that_is_a_venvs_own_is_installed_into() {
    let ws = Workspace::hello();
    let venv = ws.scratch("their-venv");
    let python = FakePython::new("3.12.3").write(&venv.join("bin/python"));
    std::fs::write(venv.join("pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    let ran = ws.lab(["setup"]).env("LAB_PYTHON", &python).env("LAB_INSTALLER", "pip").succeeds();
    assert!(!ran.stderr().contains("Creating a virtual environment"), "{}", ran.stderr());
    assert!(!ws.exists(".venv"));
}

#[test]
fn a_failing_installer_shows_its_own_error_and_leaves_no_venv() {
    let ws = Workspace::hello();
    let python = FakePython::new("3.12.3")
        .installing(
            "echo 'Collecting pytest>=7'; \
             echo 'INFO: pip is looking at multiple versions of pytest to determine which version is compatible with other requirements.'; \
             echo 'ERROR: ResolutionImpossible: pytest>=7 needs pluggy<0 (from the fake index)' >&2; exit 1",
        )
        .write(&ws.scratch("py/bin/python3"));
    ws.lab(["setup"])
        .env("LAB_PYTHON", &python)
        .env("LAB_INSTALLER", "pip")
        .fails_with(2)
        .stderr_has("  pip: resolving the dependencies\n")
        .stderr_has("  pip: backtracking: trying older versions")
        .stderr_has("failed (exit code 1); what it printed last:\n")
        .stderr_has("  ERROR: ResolutionImpossible: pytest>=7 needs pluggy<0 (from the fake index)");
    assert!(!ws.exists(".venv"), "a venv this setup made was left half-installed");
}

#[test]
fn ctrl_c_during_a_slow_install_leaves_no_venv() {
    let ws = Workspace::hello();
    let started = ws.scratch("started");
    let python = FakePython::new("3.12.3")
        .installing(format!("echo 'Collecting pytest>=7'; touch {}; sleep 60", started.display()))
        .write(&ws.scratch("py/bin/python3"));
    let lab = ws.lab(["setup"]).env("LAB_PYTHON", &python).env("LAB_INSTALLER", "pip").spawn();
    wait_for("the installer to start", PATIENCE, || started.exists());
    assert!(ws.exists(".venv"));
    lab.interrupt();
    let (status, _, stderr) = lab.finish(Duration::from_secs(20));
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!ws.exists(".venv"), "an interrupted setup left its venv half-installed");
}

#[test]
fn check_json_in_a_workspace_that_is_not_set_up_prints_an_error_document() {
    let ws = Workspace::hello();
    let ran = ws.lab(["check", "--json"]).fails_with(2).stderr_has("this workspace is not set up");
    let doc = ran.json();
    assert_eq!(doc["version"], 3, "{doc}");
    assert_eq!(doc["status"], "error", "{doc}");
    let message = doc["message"].as_str().expect("a message");
    assert!(message.contains("this workspace is not set up") && message.contains("lab setup"), "{message}");
}

#[test]
fn every_json_command_outside_a_workspace_prints_an_error_document() {
    let ws = Workspace::new();
    for command in [&["todo", "--json"][..], &["progress", "--json"], &["check", "--json"]] {
        let ran = ws.lab(command).fails_with(2);
        let doc = ran.json();
        assert_eq!(doc["status"], "error", "{command:?}: {doc}");
        assert!(
            doc["message"].as_str().is_some_and(|m| m.contains("not inside a lab workspace")),
            "{command:?}: {doc}"
        );
    }
    let missing = ws.join("no-such-folder");
    let doc = ws.lab(["status", "--json"]).arg(&missing).fails_with(2).json();
    assert_eq!(doc["status"], "error", "{doc}");
    assert!(doc.get("version").is_none(), "only lab check's documents carry a version: {doc}");
}

#[test]
fn without_json_an_error_goes_to_stderr_only() {
    Workspace::new().lab(["todo"]).fails_with(2).stdout_is("").stderr_has("not inside a lab workspace");
}

#[test]
fn show_lists_each_tracks_prerequisites_from_the_starter_and_lab_toml() {
    let ws = Workspace::new();
    ws.lab(["show", "rate-limiter"])
        .succeeds()
        .stdout_has(
            "Prerequisites:\n  python: Python 3.11+ with venv; optional: redis-server (to grade against a real Redis",
        )
        .stdout_has("  rust: cargo (Rust 1.89+); cc (a C compiler: aws-lc (JWT signatures)")
        .stdout_has("; optional: redis-server (");
    ws.lab(["show", "microservices"]).succeeds().stdout_has("optional: promtool (for the alert-rule tests");
    ws.lab(["show", "design-doc"]).succeeds().stdout_has("docs: nothing beyond lab; optional: Node.js 20+ with npm");
    // The fixture's scaffold allows Python 3.9; its rust starter names no rust-version, and its
    // lab.toml one optional program.
    ws.lab(["show", "hello", "--labs-dir"]).arg(crate::harness::fixture_labs()).succeeds().stdout_has(
        "  python: Python 3.9+ with venv\n  rust: cargo; optional: lab-fixture-tool (a stand-in is used without it)\n",
    );
}

#[test]
fn setup_names_every_missing_server_on_its_own_line_and_finds_one_off_path_or_by_its_variable() {
    let (ws, labs) = Workspace::with_fixtures_copy();
    let servers = ws.scratch("servers");
    let toml = labs.join("labs/hello/lab.toml");
    let text = std::fs::read_to_string(&toml).unwrap().replace(
        "setup = [\"-e\", \".[dev]\"]\n",
        &format!(
            "setup = [\"-e\", \".[dev]\"]\nprerequisites = [\n  {{ tool = \"lab-fixture-db\", note = \"Debian: apt install lab-fixture-db\", also_in = [\"{}/*/bin\"], or_env = \"LAB_FIXTURE_DB_URL\" }},\n  {{ tool = \"lab-fixture-broker\", note = \"start it: lab-fixture-broker --daemon\", or_env = \"LAB_FIXTURE_AMQP_URL\" }},\n]\n",
            servers.display()
        ),
    );
    std::fs::write(&toml, text).unwrap();
    let ws = ws.scaffold_hello("ws", &[]);
    ws.lab(["show", "hello"]).succeeds().stdout_has(
        "python: Python 3.9+ with venv; lab-fixture-db, or LAB_FIXTURE_DB_URL set (Debian: apt install lab-fixture-db)",
    );
    let before = snapshot(ws.path());
    let ran = ws.lab(["setup"]).env_remove("LAB_FIXTURE_DB_URL").env_remove("LAB_FIXTURE_AMQP_URL").fails_with(2);
    let stderr = ran.stderr();
    assert!(
        stderr.contains("needs programs that are not on this machine:\n  lab-fixture-db: Debian: apt install lab-fixture-db; or set LAB_FIXTURE_DB_URL\n  lab-fixture-broker: start it: lab-fixture-broker --daemon; or set LAB_FIXTURE_AMQP_URL\n"),
        "{stderr}"
    );
    assert_eq!(snapshot(ws.path()), before, "a refused setup writes nothing");

    // A program in a versioned folder off PATH (as Debian installs PostgreSQL) is found; the
    // broker, still missing, is the only line left.
    let db = servers.join("15/bin/lab-fixture-db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, "#!/bin/sh\n").unwrap();
    let ran = ws.lab(["setup"]).env_remove("LAB_FIXTURE_DB_URL").env_remove("LAB_FIXTURE_AMQP_URL").fails_with(2);
    assert!(!ran.stderr().contains("lab-fixture-db"), "{}", ran.stderr());
    assert!(ran.stderr().contains("  lab-fixture-broker: start it"), "{}", ran.stderr());

    // A server elsewhere, named by its variable, stands for the program: setup goes on.
    let python = FakePython::new("3.11.9").write(&ws.scratch("py/bin/python3"));
    ws.lab(["setup"])
        .env("LAB_FIXTURE_AMQP_URL", "amqp://127.0.0.1:5672/")
        .env_remove("LAB_FIXTURE_DB_URL")
        .env("LAB_PYTHON", &python)
        .succeeds()
        .stdout_has("Ready: run `lab check`.");
}
