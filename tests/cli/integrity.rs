//! The cheat suite: on a starter that fails honestly, every trick a repository can carry to turn
//! failing work into a pass must end as a fail or an error, never a pass
//! (docs/grading-integrity.md).

use std::fs;
use std::path::PathBuf;

use crate::harness::{venv, Workspace};

/// Grades the workspace and requires that nothing passed: exit code 1 (graded, failing) or 2
/// (an error), never 0. Returns the JSON document.
#[track_caller]
fn nothing_passes(ws: &Workspace) -> serde_json::Value {
    let ran = ws.lab(["check", "--json"]);
    let out = ran.exits();
    let doc: serde_json::Value = serde_json::from_str(&out.1).unwrap_or_else(|e| panic!("{e}: {}", out.1));
    assert!(matches!(out.0, 1 | 2), "the trick was graded with exit code {}:\n{}", out.0, out.1);
    assert_eq!(doc["counts"]["passed"], 0, "the trick made tests pass:\n{}", out.1);
    doc
}

/// What forged results look like in a pytest run: a JUnit file where every test passed.
const FAKE_JUNIT: &str = r#"
import os
_cases = "".join(f'<testcase classname="grading.test_greet" name="{n}" file="grading/test_greet.py" line="1" time="0"/>' for n in ("test_greets_by_name", "test_greeting_is_stripped", "test_counts_words", "test_counts_nothing"))
def _forge():
    with open(os.path.join(".lab", "run", "junit.xml"), "w") as f:
        f.write(f'<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="4">{_cases}</testsuite></testsuites>')
"#;

#[test]
fn a_pytest_module_in_the_workspace_does_not_shadow_pytest() {
    for place in ["pytest.py", "src/pytest.py"] {
        let ws = Workspace::hello().with_pytest();
        ws.write(place, format!("{FAKE_JUNIT}\n_forge()\nimport sys\ndef main(*a, **k):\n    return 0\nsys.exit(0)\n"));
        let doc = nothing_passes(&ws);
        assert_eq!(doc["status"], "fail", "{place}: the real pytest ran and graded the starter");
    }
}

#[test]
fn site_hooks_in_the_workspace_never_run() {
    let ws = Workspace::hello().with_pytest();
    let hook = format!("{FAKE_JUNIT}\nopen('hook-ran', 'w').close()\n_forge()\nos._exit(0)\n");
    ws.write("src/sitecustomize.py", &hook);
    ws.write("sitecustomize.py", &hook);
    ws.write("src/usercustomize.py", &hook);
    let doc = nothing_passes(&ws);
    assert_eq!(doc["status"], "fail");
    assert!(!ws.exists("hook-ran"), "a site hook from the workspace ran");
}

/// A `.pth` file that an install put in the environment (as `lab setup` installing a crafted
/// project would) is not run at grading. The line only acts when this test asks it to, so the
/// shared venv stays harmless for every other test.
#[test]
fn pth_files_in_the_environment_are_not_run() {
    let ws = Workspace::hello().with_pytest();
    let site = site_packages();
    let pth = site.join(format!("zz-lab-cheat-{}.pth", std::process::id()));
    let _remove = Remove(pth.clone());
    let marker = ws.join("pth-ran");
    fs::write(
        &pth,
        format!(
            "import os; os.environ.get('LAB_TEST_PTH_CHEAT') and open({:?}, 'w').close() and os._exit(0)\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    let ran = ws.lab(["check", "--json"]).env("LAB_TEST_PTH_CHEAT", "1").exits();
    assert_eq!(ran.0, 1, "{}", ran.1);
    assert!(!marker.exists(), "the .pth line ran during grading");
}

#[test]
fn entry_point_plugins_are_not_loaded() {
    let ws = Workspace::hello().with_pytest();
    // A distribution's metadata on the import path, as an install of the learner's project (or a
    // committed folder) leaves it, declaring a pytest plugin that would pass every test.
    ws.write("src/ws_cheat-0.dist-info/METADATA", "Metadata-Version: 2.1\nName: ws-cheat\nVersion: 0\n");
    ws.write("src/ws_cheat-0.dist-info/entry_points.txt", "[pytest11]\ncheat = ws_cheat_plugin\n");
    ws.write(
        "src/ws_cheat_plugin.py",
        "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n    out = yield\n    r = out.get_result()\n    r.outcome = 'passed'\n    r.longrepr = None\n",
    );
    assert_eq!(nothing_passes(&ws)["status"], "fail");
}

/// Code under test that rewrites pytest while the suite imports it.
#[test]
fn code_that_patches_pytest_makes_the_run_an_error() {
    let patches = [
        // Every report says passed.
        "import _pytest.reports as r\n_o = r.TestReport.from_item_and_call.__func__\ndef _f(cls, item, call):\n    rep = _o(cls, item, call)\n    rep.outcome = 'passed'\n    rep.longrepr = None\n    return rep\nr.TestReport.from_item_and_call = classmethod(_f)\n",
        // No test body runs.
        "import _pytest.python as p\np.Function.runtest = lambda self: None\n",
        // A plugin registered from inside the code under test.
        "import gc, _pytest.config as c, pytest\nclass _P:\n    @pytest.hookimpl(hookwrapper=True)\n    def pytest_runtest_makereport(self, item, call):\n        out = yield\n        out.get_result().outcome = 'passed'\nfor o in gc.get_objects():\n    if isinstance(o, c.Config):\n        o.pluginmanager.register(_P())\n",
    ];
    for patch in patches {
        let ws = Workspace::hello().with_pytest();
        ws.write("src/ws/greet.py", format!("{patch}\n{}", ws.read("src/ws/greet.py")));
        let doc = nothing_passes(&ws);
        assert_eq!(doc["status"], "error", "{patch}");
        assert!(doc["message"].as_str().unwrap().contains("changed the grading run"), "{patch}: {}", doc["message"]);
    }
}

#[test]
fn test_functions_replaced_in_memory_make_the_run_an_error() {
    let ws = Workspace::hello().with_pytest();
    // The first call into the learner's code empties every test function of the suite.
    let cheat = "import sys\n_done = []\ndef _blank():\n    if _done:\n        return\n    _done.append(1)\n    for m in list(sys.modules.values()):\n        if 'grading' in (getattr(m, '__file__', None) or ''):\n            for k, v in list(vars(m).items()):\n                if k.startswith('test_'):\n                    v.__code__ = (lambda: None).__code__\n";
    let starter = ws
        .read("src/ws/greet.py")
        .replace("def greet(name: str) -> str:\n", "def greet(name: str) -> str:\n    _blank()\n");
    assert!(starter.contains("_blank()"), "the starter's greet changed shape:\n{starter}");
    ws.write("src/ws/greet.py", format!("{cheat}\n{starter}"));
    let doc = nothing_passes(&ws);
    assert_eq!(doc["status"], "error");
    assert!(doc["message"].as_str().unwrap().contains("was replaced after collection"), "{}", doc["message"]);
}

#[test]
fn forged_junit_files_are_caught_by_the_guarded_channel() {
    // Rewritten when the process exits, after pytest wrote the real one.
    let ws = Workspace::hello().with_pytest();
    ws.write(
        "src/ws/greet.py",
        format!("{FAKE_JUNIT}\nimport atexit\natexit.register(_forge)\n{}", ws.read("src/ws/greet.py")),
    );
    let doc = nothing_passes(&ws);
    assert_eq!(doc["status"], "error");
    assert!(doc["message"].as_str().unwrap().contains("disagrees with the guarded results"), "{}", doc["message"]);

    // Written at import, then the process leaves with exit code 0 before any test ran.
    let ws = Workspace::hello().with_pytest();
    ws.write("src/ws/greet.py", format!("{FAKE_JUNIT}\n_forge()\nos._exit(0)\n"));
    let doc = nothing_passes(&ws);
    assert_eq!(doc["status"], "error");
    assert!(doc["message"].as_str().unwrap().contains("without finishing the grading session"), "{}", doc["message"]);
}

fn site_packages() -> PathBuf {
    let lib = venv::dir().join("lib");
    let _ = Workspace::hello().with_pytest(); // makes the venv on first use
    fs::read_dir(&lib)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .expect("the shared venv has a site-packages folder")
}

struct Remove(PathBuf);

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// The Rust starter of the fixture lab, with `code` added to its library.
fn rust_starter_with(code: &str) -> Workspace {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    ws.write("src/lib.rs", format!("{}\n{code}\n", ws.read("src/lib.rs")));
    ws
}

const STATUS_LINES: &str = "test greets_by_name ... ok\ntest greeting_is_stripped ... ok\ntest counts_words ... ok\ntest counts_nothing ... ok\n\ntest result: ok. 4 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";

#[test]
fn status_lines_printed_by_the_code_under_test_do_not_count() {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    let lib = ws.read("src/lib.rs").replace(
        "    let _ = name;\n",
        &format!(
            "    let _ = name;\n    use std::io::Write;\n    let forged = {STATUS_LINES:?};\n    let _ = std::io::stdout().write_all(forged.as_bytes());\n    eprint!(\"{{forged}}\");\n"
        ),
    );
    assert!(lib.contains("forged"), "the starter's greet changed shape");
    ws.write("src/lib.rs", lib);
    let doc = nothing_passes(&ws);
    assert_ne!(doc["status"], "pass");
}

#[test]
fn cargo_configuration_in_the_workspace_does_not_apply() {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    // A test runner that prints a green run instead of running the tests.
    ws.write("fake-runner.sh", format!("#!/bin/sh\nprintf '%s' {:?}\n", STATUS_LINES));
    ws.write(
        ".cargo/config.toml",
        format!("[target.'cfg(all())']\nrunner = [\"sh\", {:?}]\n", ws.join("fake-runner.sh").display().to_string()),
    );
    ws.write("rust-toolchain.toml", "[toolchain]\nchannel = \"no-such-toolchain\"\n");
    let doc = nothing_passes(&ws);
    assert_eq!(doc["status"], "fail", "the real tests ran with the real toolchain");
    let kinds: Vec<&str> = doc["integrity"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["cargo_config", "cargo_config"], "{}", doc["integrity"]);
}

#[test]
fn a_build_script_that_rewrites_the_suite_makes_the_run_an_error() {
    let ws = Workspace::with_fixtures().scaffold_hello("ws", &["--track", "rust"]);
    ws.write(
        "build.rs",
        "fn main() {\n    let suite = std::path::Path::new(\".lab/run/grading/tests/grading.rs\");\n    if suite.exists() {\n        std::fs::write(suite, \"#[test] fn greets_by_name() {} #[test] fn greeting_is_stripped() {} #[test] fn counts_words() {} #[test] fn counts_nothing() {}\").unwrap();\n    }\n}\n",
    );
    let doc = nothing_passes(&ws);
    assert_eq!(doc["status"], "error");
    assert!(doc["message"].as_str().unwrap().contains("grading suite was changed while it ran"), "{}", doc["message"]);
}

#[test]
fn constructors_that_run_before_the_harness_are_refused() {
    let ws = rust_starter_with(&format!(
        "#[used]\n#[link_section = \".init_array\"]\nstatic FORGE: extern \"C\" fn() = {{\n    extern \"C\" fn forge() {{\n        print!(\"{{}}\", {STATUS_LINES:?});\n        std::process::exit(0);\n    }}\n    forge\n}};\n"
    ));
    ws.lab(["check"])
        .fails_with(2)
        .stderr_has("lab check refuses to grade this workspace")
        .stderr_has("src/lib.rs: uses `link_section`");
    assert!(!ws.exists(".lab/history.jsonl"), "a refused check records nothing");
}

#[test]
fn strict_mode_refuses_any_file_that_could_influence_grading() {
    let ws = Workspace::hello().with_pytest();
    ws.write("src/sitecustomize.py", "");
    ws.lab(["check"]).fails_with(1).stdout_has("integrity warning: src/sitecustomize.py: a Python start-up hook");
    ws.lab(["check", "--strict"])
        .fails_with(2)
        .stderr_has("lab check --strict refuses to grade this workspace")
        .stderr_has("src/sitecustomize.py");
    fs::remove_file(ws.join("src/sitecustomize.py")).unwrap();
    ws.lab(["check", "--strict"]).fails_with(1).stdout_has("0/4 tests");
}

/// The manifest is committed with the work: what it says is checked as `lab new` checks it.
#[test]
fn an_edited_manifest_cannot_change_the_pristine_suite() {
    let edits = [
        // Code injected through the package name into the rendered suite.
        (
            "package_name = \"ws\"",
            "package_name = \"ws.greet import greet\\nimport os\\nos._exit(0)\\nfrom ws\"",
            "project `ws` gives package `ws`",
        ),
        (
            "greeting = \"hello\"",
            "greeting = \"hello, Ada!\\\"\\nassert True or \\\"\"",
            "is not a choice for option `greeting`",
        ),
        ("author = ", "author = \"{{> evil}}\"\nx_author = ", "does not hold what `lab new` wrote"),
    ];
    for (from, to, says) in edits {
        let ws = Workspace::hello().with_pytest();
        ws.replace(".lab/workspace.toml", from, to);
        let ran = ws.lab(["check"]).fails_with(2).stderr_has(says);
        assert!(!ran.stdout().contains("tests ("), "{from}: something was graded");
    }
}

#[test]
fn a_labs_folder_inside_the_repository_is_not_used() {
    let ws = Workspace::hello().with_pytest();
    // The repository brings a copy of the lab whose suite passes anything.
    let copy = ws.join("vendor/labs");
    crate::harness::copy_dir(&crate::harness::fixture_labs(), &copy);
    let suite = copy.join("labs/hello/python/grading/test_greet.py.hbs");
    fs::write(&suite, "def test_greets_by_name(): pass\ndef test_greeting_is_stripped(): pass\ndef test_counts_words(): pass\ndef test_counts_nothing(): pass\n").unwrap();
    let manifest = ws.read(".lab/workspace.toml");
    let recorded = manifest.lines().find(|l| l.starts_with("labs_dir = ")).expect("a labs_dir line").to_string();
    ws.write(
        ".lab/workspace.toml",
        manifest.replace(&recorded, &format!("labs_dir = {:?}", copy.display().to_string())),
    );
    ws.lab(["check"]).fails_with(2).stderr_has("is inside the repository");
    ws.write(".lab/workspace.toml", manifest.replace(&recorded, "labs_dir = \"vendor/labs\""));
    ws.lab(["check"]).fails_with(2).stderr_has("is not an absolute path");
}

#[test]
fn strict_mode_grades_a_custom_lab_only_from_a_labs_folder_on_the_command_line() {
    let ws = Workspace::new();
    let labs = crate::harness::fixture_labs();
    ws.lab(["--labs-dir".as_ref(), labs.as_os_str(), "new".as_ref(), "hello".as_ref(), "ws".as_ref()]).succeeds();
    ws.lab(["check", "--strict"])
        .in_dir("ws")
        .fails_with(2)
        .stderr_has("this workspace's manifest names")
        .stderr_has("pass it with --labs-dir if you trust it");
}

#[test]
fn forged_history_lines_are_not_shown_as_progress() {
    let ws = Workspace::hello().with_pytest();
    ws.lab(["check"]).fails_with(1);
    let real = ws.read(".lab/history.jsonl");
    let mut forged: serde_json::Value = serde_json::from_str(real.lines().next().unwrap()).unwrap();
    forged["status"] = "pass".into();
    forged["passed"] = 4.into();
    for (_, status) in forged["tests"].as_object_mut().unwrap() {
        *status = "pass".into();
    }
    // Edited in place (keeping the old signature), and appended without one.
    let unsigned = {
        let mut v = forged.clone();
        v.as_object_mut().unwrap().remove("mac");
        v
    };
    ws.write(".lab/history.jsonl", format!("{real}{forged}\n{unsigned}\n"));
    let doc = ws.lab(["progress", "--json"]).succeeds().json();
    assert_eq!(
        (doc["checks"].as_u64(), doc["passed"].as_u64(), doc["unverified"].as_u64()),
        (Some(1), Some(0), Some(2))
    );
    ws.lab(["progress"]).succeeds().stdout_has("2 lines of .lab/history.jsonl could not be verified");
    let rows = ws.lab(["status", ".."]).succeeds();
    assert!(rows.stdout().contains("0%") && rows.stdout().contains("could not be verified"), "{}", rows.stdout());
    ws.lab(["report"]).succeeds().stdout_has("could not be verified").stdout_has("(0/4 tests");
    // Another user's key (a grader's machine): even lab's own lines are unverified there.
    let elsewhere = ws.lab(["progress", "--json"]).env("LAB_DATA_DIR", ws.scratch("other-key")).succeeds().json();
    assert_eq!((elsewhere["checks"].as_u64(), elsewhere["unverified"].as_u64()), (Some(0), Some(3)));
}
