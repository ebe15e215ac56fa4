//! The cargo runner: builds and runs the pristine suite, a small package in `.lab/run/grading/`
//! that depends on the learner's crate by path, and reads libtest's output.

use anyhow::Result;

use super::{libtest, Run, Spec};
use crate::process::{describe_exit, on_path, Cmd};
use crate::workspace::RUN_DIR;

/// Build output for grading stays under `.lab/`, apart from the learner's own `target/`.
const TARGET_DIR: &str = ".lab/target";
/// A target folder shared by many workspaces (validation, CI), so dependencies build once.
pub const ENV_TARGET_DIR: &str = "LAB_CARGO_TARGET_DIR";

pub fn run(spec: &Spec) -> Result<Run> {
    anyhow::ensure!(on_path("cargo"), "cargo is not on PATH: install Rust (https://rustup.rs) to grade this workspace");
    let cmd = Cmd::new("cargo")
        .args(["test", "--no-fail-fast", "--color", "never", "--manifest-path"])
        .arg(format!("{RUN_DIR}/grading/Cargo.toml"))
        .cwd(spec.root)
        .env(
            "CARGO_TARGET_DIR",
            std::env::var_os(ENV_TARGET_DIR)
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| spec.root.join(TARGET_DIR)),
        )
        .env("RUST_BACKTRACE", "0")
        .timeout(spec.timeout);
    let out = cmd.run()?;
    let output = out.combined();
    let mut run = Run { results: Vec::new(), error: None, output: output.clone(), elapsed: out.elapsed };
    if out.timed_out {
        run.error = Some(format!(
            "the grading suite did not finish within {} s; cargo and everything it started were stopped (raise --timeout if it needs longer)",
            spec.timeout.as_secs()
        ));
    } else if !libtest::finished(&output) {
        run.error =
            Some(format!("the grading suite did not build or run ({}): see the output below", describe_exit(out.code)));
    } else {
        run.results = libtest::parse(&output);
        // Panics inside the suite name files relative to its package: point at the learner's copy.
        let suite = spec.root.join(RUN_DIR).join("grading");
        for result in &mut run.results {
            if let Some(file) = result.file.as_mut().filter(|f| suite.join(f.as_str()).is_file()) {
                *file = format!("{}/{file}", spec.grading_dir);
            }
        }
        if run.results.is_empty() {
            run.error = Some("cargo ran no tests from the grading suite".into());
        }
    }
    Ok(run)
}
