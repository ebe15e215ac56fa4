//! Stages what the binary embeds: every lab's lab.toml, starters and grading suites, and the
//! scaffold layers. Reference solutions stay in the repository and are not embedded.

use std::fs;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded");
    if out.exists() {
        fs::remove_dir_all(&out).expect("clear the embedded staging folder");
    }
    fs::create_dir_all(out.join("labs")).expect("create the embedded labs folder");
    fs::create_dir_all(out.join("scaffolds")).expect("create the embedded scaffolds folder");
    println!("cargo:rerun-if-changed=labs");
    println!("cargo:rerun-if-changed=scaffolds");

    if let Ok(labs) = fs::read_dir(root.join("labs")) {
        for lab in labs.map(|e| e.expect("read labs/").path()) {
            if !lab.join("lab.toml").is_file() {
                continue;
            }
            let name = lab.file_name().expect("lab folder name");
            let dest = out.join("labs").join(name);
            fs::create_dir_all(&dest).expect("create an embedded lab folder");
            fs::copy(lab.join("lab.toml"), dest.join("lab.toml")).expect("copy lab.toml");
            for track in fs::read_dir(&lab).expect("read a lab folder").map(|e| e.expect("entry").path()) {
                if !track.is_dir() {
                    continue;
                }
                for part in ["starter", "grading"] {
                    let src = track.join(part);
                    if src.is_dir() {
                        copy_tree(&src, &dest.join(track.file_name().expect("track name")).join(part));
                    }
                }
            }
        }
    }
    copy_tree(&root.join("scaffolds"), &out.join("scaffolds"));
}

/// Caches a lab author's own test runs leave behind; never part of a template.
const SKIPPED: &[&str] = &["__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".venv", "target"];

/// Copies a folder, following symlinks (the catalog rejects links that leave a lab when it loads
/// labs from disk; embedded labs are checked by `lab validate` in the test suite).
fn copy_tree(src: &Path, dest: &Path) {
    let Ok(entries) = fs::read_dir(src) else { return };
    fs::create_dir_all(dest).expect("create a staging folder");
    for entry in entries {
        let path = entry.expect("read a template folder").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if SKIPPED.contains(&name) {
            continue;
        }
        let target = dest.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap_or_else(|e| panic!("copy {}: {e}", path.display()));
        }
    }
}
