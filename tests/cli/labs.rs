//! `lab validate` on every lab built into the binary, one test per lab: the starter fails every
//! stage and the reference solution passes every test, on every track. Python tracks share the
//! one test venv under target/ (each lab's dependencies installed into it on first use), cargo
//! tracks one target folder there too; Redis-backed labs use REDIS_URL when it is set, else an
//! in-process fake, as their grading suites say.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{repo, venv, Workspace};

macro_rules! every_lab_is_valid {
    ($($test:ident => $id:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                lab_is_valid($id);
            }
        )*
        /// The labs that have a test above.
        const TESTED: &[&str] = &[$($id),*];
    };
}

every_lab_is_valid! {
    capstone => "capstone",
    design_doc => "design-doc",
    microservices => "microservices",
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
    let uses_pytest = tracks.values().any(|t| t.get("runner").and_then(|r| r.as_str()) == Some("pytest"));
    // `lab validate` installs a Python lab's dependencies into the shared venv: nothing else may
    // use the venv meanwhile.
    let _lock = uses_pytest.then(|| {
        venv::pytest_python();
        venv::exclusive_lock()
    });
    // Cargo tracks share one target folder, so their dependencies build once across runs.
    let cargo_target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-cargo-target");
    let stdout = Workspace::new()
        .lab(["validate", id])
        .env("LAB_VENV", venv::dir())
        .env("LAB_CARGO_TARGET_DIR", cargo_target)
        .succeeds()
        .stdout();
    for track in tracks.keys() {
        let row = format!("ok   {id:<16} {track:<8} solution passes every test");
        assert!(stdout.contains(&row), "missing `{row}` in:\n{stdout}");
    }
}
