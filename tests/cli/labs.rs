//! `lab validate` on every lab built into the binary, one test per lab: the starter fails every
//! stage and the reference solution passes every test, on every track. Each lab's Python tracks
//! use a venv of the lab's own under target/tmp, cargo tracks one shared target folder there;
//! Redis-backed labs use REDIS_URL when it is set, else an in-process fake, as their grading
//! suites say; event-pipeline uses DATABASE_URL and AMQP_URL, else private servers. Docs tracks parse their diagrams with the one
//! test Mermaid parser (LAB_MERMAID) where it can be installed.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{mermaid, repo, Workspace};

macro_rules! every_lab_is_valid {
    ($($test:ident => $id:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                lab_is_valid($id);
            }
        )*
        /// `lab validate --lint`: the ecosystem's own linters report nothing on the rendered
        /// starter (outside the learner's files) and solution.
        mod lint {
            $(
                #[test]
                fn $test() {
                    super::lab_passes_its_linters($id);
                }
            )*
        }
        /// The labs that have a test above.
        const TESTED: &[&str] = &[$($id),*];
    };
}

every_lab_is_valid! {
    capstone => "capstone",
    design_doc => "design-doc",
    distributed_kv => "distributed-kv",
    event_pipeline => "event-pipeline",
    microservices => "microservices",
    oauth2_server => "oauth2-server",
    rate_limiter => "rate-limiter",
}

fn labs_dir() -> PathBuf {
    repo().join("labs")
}

#[test]
fn every_embedded_lab_has_a_test_here() {
    let mut ids: Vec<String> = fs::read_dir(labs_dir())
        .expect("the repository has a labs/ folder")
        .flatten()
        .filter(|e| e.path().join("lab.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    let mut tested = TESTED.to_vec();
    tested.sort_unstable();
    assert_eq!(ids, tested, "add a line to every_lab_is_valid! for each lab in labs/");
}

fn lab_is_valid(id: &str) {
    let def: toml::Table = toml::from_str(&fs::read_to_string(labs_dir().join(id).join("lab.toml")).unwrap()).unwrap();
    let tracks = def["tracks"].as_table().expect("lab.toml has tracks");
    // Each lab installs its dependencies into a venv of its own, kept under target/tmp between
    // runs: two labs' validations can then run side by side, and neither waits for the venv the
    // other CLI tests share.
    let lab_venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lab-validate-venv-{id}"));
    // Cargo tracks share one target folder, so their dependencies build once across runs.
    let cargo_target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-cargo-target");
    // A machine without a lab's tools (promtool, say) cannot prove the checks that need them.
    // Here that is a loud warning; CI, which installs the tools, sets LAB_REQUIRE_TOOLS=1 and
    // then a skipped check fails the run.
    let require_tools = std::env::var_os("LAB_REQUIRE_TOOLS").is_some_and(|v| v == "1");
    let ws = Workspace::new();
    let mut validate = ws.lab(["validate", id]);
    if !require_tools {
        validate = validate.arg("--allow-missing-tools");
    }
    let uses_docs = tracks.values().any(|t| t.get("runner").and_then(|r| r.as_str()) == Some("docs"));
    if let Some(parser) =
        uses_docs.then(|| mermaid::parser_or_skip(&format!("{id}: diagrams parsed by Mermaid"))).flatten()
    {
        validate = validate.env("LAB_MERMAID", parser);
    }
    let stdout = validate.env("LAB_VENV", &lab_venv).env("LAB_CARGO_TARGET_DIR", cargo_target).succeeds().stdout();
    for track in tracks.keys() {
        for row in ["solution passes every test", "grading strength: mutants caught"] {
            let ok = format!("ok   {id:<16} {track:<8} {row}");
            let skip = format!("SKIP {id:<16} {track:<8} {row}");
            assert!(stdout.contains(&ok) || stdout.contains(&skip), "missing `{ok}` in:\n{stdout}");
        }
    }
    let skipped: Vec<&str> = stdout.lines().filter(|l| l.starts_with("SKIP") || l.contains("skipped:")).collect();
    if !skipped.is_empty() {
        // Written past the test harness's capture, so it shows even though the test passes.
        let warning = format!(
            "\nWARNING: lab `{id}` is valid except checks this machine cannot run (install the tools, or run CI):\n{}\n",
            skipped.join("\n")
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), warning.as_bytes());
    }
}

fn lab_passes_its_linters(id: &str) {
    let require_tools = std::env::var_os("LAB_REQUIRE_TOOLS").is_some_and(|v| v == "1");
    let ws = Workspace::new();
    let mut lint = ws.lab(["validate", id, "--lint"]);
    if !require_tools {
        lint = lint.arg("--allow-missing-tools");
    }
    // Each run sets up its own venv (a type checker needs the project installed), from the
    // shared package cache; cargo's linters build into the shared target folder.
    let cargo_target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-cargo-target");
    let stdout = lint.env("CARGO_TARGET_DIR", cargo_target).succeeds().stdout();
    assert!(!stdout.contains("FAIL"), "{stdout}");
    let skipped: Vec<&str> = stdout.lines().filter(|l| l.starts_with("SKIP")).collect();
    if !skipped.is_empty() {
        let warning = format!("\nWARNING: lab `{id}`: linters this machine does not have:\n{}\n", skipped.join("\n"));
        let _ = std::io::Write::write_all(&mut std::io::stderr(), warning.as_bytes());
    }
}
