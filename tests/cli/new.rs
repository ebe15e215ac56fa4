//! `lab new`: what it writes, and what it refuses.

use std::process::Command;

use crate::harness::{files_under, Workspace};

/// The identity a commit gets from the test, not from anyone's git config.
const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "Ada"),
    ("GIT_AUTHOR_EMAIL", "ada@example.com"),
    ("GIT_COMMITTER_NAME", "Ada"),
    ("GIT_COMMITTER_EMAIL", "ada@example.com"),
];

#[test]
fn new_writes_the_starter_grading_suite_and_manifest_and_prints_next_steps() {
    let ws = Workspace::with_fixtures();
    ws.lab(["new", "hello", "My-Greeter", "--no-git"])
        .succeeds()
        .stdout_has("Created My-Greeter")
        .stdout_has("lab setup")
        .stdout_has("lab check");
    let greet = ws.read("My-Greeter/src/my_greeter/greet.py");
    assert!(greet.contains("GREETING = \"hello\"") && greet.contains("TODO(lab:greet)"), "{greet}");
    let pyproject = ws.read("My-Greeter/pyproject.toml");
    assert!(pyproject.contains("name = \"my-greeter\""), "{pyproject}");
    assert!(ws.join("My-Greeter/tests/grading/test_greet.py").is_file());
    assert!(!ws.exists("My-Greeter/src/my_greeter/greet.py.hbs"));
    let manifest: toml::Table = toml::from_str(&ws.read("My-Greeter/.lab/workspace.toml")).unwrap();
    assert_eq!(manifest["format_version"].as_integer(), Some(1));
    assert_eq!(manifest["lab"].as_str(), Some("hello"));
    assert_eq!(manifest["lab_version"].as_str(), Some("1.2.0"));
    assert_eq!(manifest["track"].as_str(), Some("python"));
    assert_eq!(manifest["tool_version"].as_str(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(manifest["vars"]["package_name"].as_str(), Some("my_greeter"));
    let files = manifest["grading"]["files"].as_table().unwrap();
    let expected = sha256(ws.read("My-Greeter/tests/grading/test_greet.py").as_bytes());
    assert_eq!(files["tests/grading/test_greet.py"].as_str(), Some(expected.as_str()));
    // Nothing but the workspace was written beside it.
    assert_eq!(ws.entries("."), ["My-Greeter"]);
}

#[test]
fn options_tracks_and_names_are_applied() {
    let ws = Workspace::with_fixtures();
    ws.lab(["new", "hello", "ws", "--no-git", "--set", "greeting=hi", "--track", "rust", "--name", "greeter"])
        .succeeds();
    let lib = ws.read("ws/src/lib.rs");
    assert!(lib.contains("GREETING: &str = \"hi\""), "{lib}");
    let cargo = ws.read("ws/Cargo.toml");
    assert!(cargo.contains("name = \"greeter\""), "{cargo}");
}

#[test]
fn dry_run_lists_the_files_and_writes_nothing() {
    let ws = Workspace::with_fixtures();
    ws.lab(["new", "hello", "ws", "--dry-run"])
        .succeeds()
        .stdout_has("src/ws/greet.py")
        .stdout_has(".lab/workspace.toml")
        .stdout_has("Nothing was written");
    assert!(ws.entries(".").is_empty(), "{:?}", ws.entries("."));
}

#[test]
fn a_non_empty_target_is_refused_and_left_untouched() {
    let ws = Workspace::with_fixtures();
    ws.write("ws/notes.md", "mine");
    ws.lab(["new", "hello", "ws"]).fails_with(2).stderr_has("is not empty");
    assert_eq!(ws.entries("ws"), ["notes.md"]);
    assert_eq!(ws.read("ws/notes.md"), "mine");
}

#[test]
fn next_steps_name_a_lab_the_shell_can_run() {
    let ws = Workspace::with_fixtures();
    let me = std::path::Path::new(env!("CARGO_BIN_EXE_lab"));
    // Not on PATH (run from a build folder): the steps name this binary by its path.
    let path = std::env::var("PATH").unwrap_or_default();
    let out = ws.lab(["new", "hello", "a", "--no-git"]).env("PATH", &path).succeeds().stdout();
    assert!(out.contains(&format!("  {} setup", me.display())), "{out}");
    // On PATH: plain `lab`.
    let with_lab = format!("{}:{path}", me.parent().unwrap().display());
    let out = ws.lab(["new", "hello", "b", "--no-git"]).env("PATH", &with_lab).succeeds().stdout();
    assert!(out.contains("\n  lab setup ") && out.contains("\n  lab check "), "{out}");
}

#[test]
fn a_workspace_inside_another_is_refused_and_nothing_is_written() {
    let ws = Workspace::with_fixtures().scaffold_hello("outer", &[]);
    ws.lab(["new", "hello", "inner"])
        .fails_with(2)
        .stderr_has("would be inside the lab workspace at")
        .stderr_has("choose a folder outside it");
    assert!(!ws.exists("inner"));
    ws.lab(["new", "hello", "src/deeper/inner"]).fails_with(2).stderr_has("would be inside the lab workspace");
    assert!(!ws.exists("src/deeper"));
    // Beside it is fine.
    ws.lab(["new", "hello", "../beside", "--no-git"]).succeeds();
}

#[test]
fn an_empty_target_folder_is_filled() {
    let ws = Workspace::with_fixtures();
    std::fs::create_dir(ws.join("ws")).unwrap();
    ws.lab(["new", "hello", "ws", "--no-git"]).succeeds();
    assert!(ws.join("ws/.lab/workspace.toml").is_file());
}

#[test]
fn bad_input_exits_2_with_advice_and_writes_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["new", "hello", "ws", "--set", "greeting=yo"],
            "`yo` is not a choice for option `greeting`; choose one of: hello, hi",
        ),
        (&["new", "hello", "ws", "--set", "color=red"], "has no option `color`; its options: greeting"),
        (&["new", "hello", "ws", "--set", "greeting"], "--set takes KEY=VALUE"),
        (&["new", "hello", "ws", "--track", "go"], "has no track `go`; its tracks: python, rust"),
        (&["new", "hello", "1st-try"], "must start with a letter"),
        (&["new", "hello", "ws", "--name", "class"], "keyword"),
        (&["new", "hello", "my app"], "pass --name NAME"),
        (&["new", "hallo", "ws"], "did you mean `hello`?"),
    ];
    for (args, message) in cases {
        let ws = Workspace::with_fixtures();
        ws.lab(*args).fails_with(2).stderr_has(message);
        assert!(ws.entries(".").is_empty(), "{args:?} wrote {:?}", ws.entries("."));
    }
}

#[test]
fn new_makes_a_git_repository_with_one_commit() {
    let ws = Workspace::with_fixtures();
    ws.lab(["new", "hello", "ws"]).envs(IDENTITY).succeeds();
    assert_eq!(ws.git("ws", &["log", "--format=%s"]), "Start the hello lab (v1.2.0)\n");
    assert_eq!(ws.git("ws", &["status", "--porcelain"]), "", "everything is committed");
}

#[test]
fn the_developers_git_identity_reaches_neither_the_commit_nor_the_files() {
    let ws = Workspace::with_fixtures();
    ws.lab(["new", "hello", "ws"]).envs(IDENTITY).succeeds();
    // The commit is by whoever the test says, and the templates get the fallback author.
    assert_eq!(
        ws.git("ws", &["log", "--format=%an <%ae>, %cn <%ce>"]),
        "Ada <ada@example.com>, Ada <ada@example.com>\n"
    );
    let manifest: toml::Table = toml::from_str(&ws.read("ws/.lab/workspace.toml")).unwrap();
    assert_eq!(manifest["vars"]["author"].as_str(), Some("Your Name"));
    assert_eq!(manifest["vars"]["author_email"].as_str(), Some("you@example.com"));
    // Whoever runs the tests: their configured name and email appear in no file.
    for key in ["user.name", "user.email"] {
        let Some(mine) = developer_git_config(key) else { continue };
        for path in files_under(&ws.join("ws")).into_iter().filter(|p| !p.starts_with(ws.join("ws/.git"))) {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert!(!text.contains(&mine), "{} holds the developer's {key} {mine:?}", path.display());
        }
    }
}

/// The caller's own git setting, read with the caller's environment (not the tests').
fn developer_git_config(key: &str) -> Option<String> {
    let out = Command::new("git").args(["config", "--get", key]).output().ok()?;
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !value.is_empty()).then_some(value)
}

#[test]
fn inside_a_git_work_tree_no_nested_repository_is_made() {
    let ws = Workspace::with_fixtures();
    ws.git(".", &["init", "-q"]);
    ws.lab(["new", "hello", "ws"]).succeeds().stdout_has("inside a git work tree");
    assert!(!ws.exists("ws/.git"));
}

#[test]
fn without_labs_dir_the_fixture_is_unknown() {
    Workspace::new().lab(["new", "hello", "ws"]).fails_with(2).stderr_has("unknown lab `hello`");
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn new_fills_the_current_folder_when_it_is_empty() {
    let ws = Workspace::with_fixtures();
    std::fs::create_dir(ws.join("ws")).unwrap();
    ws.lab(["new", "hello", ".", "--no-git"]).in_dir("ws").succeeds().stdout_has("Created ws");
    assert!(ws.join("ws/.lab/workspace.toml").is_file());
    assert!(!ws.entries("ws").iter().any(|e| e.starts_with(".lab-new-")), "{:?}", ws.entries("ws"));
}

#[test]
fn staging_folders_left_by_a_killed_run_are_removed_by_the_next() {
    let ws = Workspace::with_fixtures();
    // A pid that is not running (above the kernel's pid limit) and one that is (this test's).
    ws.write(".lab-new-99999999-abc/src/x.py", "half-written");
    let live = format!(".lab-new-{}-def", std::process::id());
    ws.write(format!("{live}/x"), "in use");
    ws.lab(["new", "hello", "ws", "--no-git"]).succeeds();
    assert!(!ws.exists(".lab-new-99999999-abc"), "the dead run's staging folder is gone");
    assert!(ws.exists(&live), "a running lab's staging folder is left alone");
}

#[test]
fn no_git_hook_runs_at_the_first_commit() {
    let ws = Workspace::with_fixtures();
    // The user's git config names a hooks folder whose pre-commit hook would leave a marker.
    let hooks = ws.scratch("hooks");
    let marker = ws.scratch("hook-ran");
    std::fs::create_dir_all(&hooks).unwrap();
    for hook in ["pre-commit", "commit-msg", "post-commit"] {
        let path = hooks.join(hook);
        std::fs::write(&path, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
        Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    }
    ws.write("../home/.gitconfig", format!("[core]\n\thooksPath = {}\n", hooks.display()));
    ws.lab(["new", "hello", "ws"]).envs(IDENTITY).succeeds();
    assert_eq!(ws.git("ws", &["log", "--format=%s"]), "Start the hello lab (v1.2.0)\n");
    assert!(!marker.exists(), "a git hook ran during lab new");
}

#[test]
fn templates_that_could_run_code_or_render_without_bound_are_refused() {
    let cases: &[(&str, &str, &str)] = &[
        (".git/hooks/pre-commit", "#!/bin/sh\ntouch pwned\n", "must not write into `.git`"),
        ("loop.txt.hbs", "{{#*inline \"a\"}}{{> a}}{{/inline}}{{> a}}", "uses a partial"),
        ("deep.txt.hbs", &"{{#if true}}".repeat(40), "nest deeper than 32"),
        ("big.txt.hbs", &"x".repeat(2 << 20), "templates are limited to 1048576 bytes"),
    ];
    for (path, text, says) in cases {
        let (ws, labs) = Workspace::with_fixtures_copy();
        let file = labs.join("labs/hello/python/starter").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, text).unwrap();
        ws.lab(["new", "hello", "ws"]).fails_with(2).stderr_has(says);
        assert!(!ws.exists("ws"), "{path}: something was written");
    }
}

#[test]
fn an_interrupted_new_leaves_a_whole_workspace_or_nothing() {
    for delay_ms in [0u64, 5, 10, 20, 40, 80] {
        let ws = Workspace::with_fixtures();
        let lab = ws.lab(["new", "hello", "ws"]).envs(IDENTITY).spawn();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        lab.signal(libc::SIGTERM);
        let (status, stdout, stderr) = lab.finish(crate::harness::PATIENCE);
        let leftovers: Vec<String> = ws.entries(".").into_iter().filter(|e| e.starts_with(".lab-new-")).collect();
        assert!(leftovers.is_empty(), "{delay_ms} ms: {leftovers:?}");
        match status.code() {
            Some(0) => {
                assert!(ws.exists("ws/.lab/workspace.toml"), "{delay_ms} ms: {stdout}");
                assert_eq!(ws.git("ws", &["status", "--porcelain"]), "", "{delay_ms} ms: committed whole");
            }
            // 130 once lab handles the signal; killed by it in the instant before the handler is in.
            Some(130) | None => {
                assert!(!ws.exists("ws"), "{delay_ms} ms: an interrupted new left {:?}", ws.entries("ws"))
            }
            other => panic!("{delay_ms} ms: exit {other:?}\n{stderr}"),
        }
    }
}
