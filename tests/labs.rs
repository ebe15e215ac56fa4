//! `lab validate` on every lab built into the binary: the starter fails every stage and the
//! reference solution passes every test, on every track. Python labs share one venv under
//! target/ (dependencies installed on first use), cargo tracks one target folder there too;
//! Redis-backed labs use REDIS_URL when it is set,
//! else an in-process fake, as their grading suites say.

mod common;

use std::fs;
use std::path::Path;

use common::{lab, python, venv, venv_lock};

#[test]
fn every_embedded_lab_is_valid() {
    let labs_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut ids: Vec<String> = fs::read_dir(&labs_dir)
        .expect("the repository has a labs/ folder")
        .flatten()
        .filter(|e| e.path().join("lab.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    ids.sort();
    assert!(!ids.is_empty(), "no labs in {}", labs_dir.display());
    python();
    let _lock = venv_lock();
    let dir = tempfile::tempdir().unwrap();
    // Cargo tracks share one target folder, so their dependencies build once across runs.
    let cargo_target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-cargo-target");
    let out = lab(dir.path())
        .arg("validate")
        .env("LAB_VENV", venv())
        .env("LAB_CARGO_TARGET_DIR", cargo_target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "lab validate failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for id in &ids {
        let toml: toml::Table =
            toml::from_str(&fs::read_to_string(labs_dir.join(id).join("lab.toml")).unwrap()).unwrap();
        for track in toml["tracks"].as_table().unwrap().keys() {
            let row = format!("ok   {id:<16} {track:<8} solution passes every test");
            assert!(stdout.contains(&row), "missing `{row}` in:\n{stdout}");
        }
    }
}
