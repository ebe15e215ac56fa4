//! The ecosystem's own linters on a rendered workspace (`lab validate --lint`): each track's
//! declared tools, installed from the package registries, run on its starter and solution.

use std::env;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::catalog::{LintDef, Tree};
use crate::process::Cmd;
use crate::runner::python;
use crate::workspace;

/// How one linter ended on one tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It ran and reported nothing (exit 0).
    Clean { files: usize },
    /// Every file it would lint is the learner's to change (starter only).
    NothingToLint,
    /// It ran and reported findings, or could not be run as declared.
    Findings(String),
    /// A program it needs is not on this machine.
    Missing(String),
}

/// Runs `lint` in the workspace at `root`, which holds the `tree` rendering of its track.
/// `grading_dir` is the suite's folder in the workspace: linted like the rest, since it is part of
/// the repository a reviewer reads, and never the learner's to change.
pub fn run(lint: &LintDef, tree: Tree, root: &Path, grading_dir: &str, timeout: Duration, quiet: bool) -> Verdict {
    match try_run(lint, tree, root, grading_dir, timeout, quiet) {
        Ok(v) => v,
        Err(e) => Verdict::Findings(format!("{e:#}")),
    }
}

fn try_run(
    lint: &LintDef,
    tree: Tree,
    root: &Path,
    grading_dir: &str,
    timeout: Duration,
    quiet: bool,
) -> Result<Verdict> {
    let Some((program, _)) = lint.run.split_first() else {
        anyhow::bail!("lint `{}` has an empty `run`", lint.name);
    };
    let mut path_dirs: Vec<PathBuf> = Vec::new();
    if !lint.pypi.is_empty() {
        path_dirs.push(python::tool_venv(&lint.pypi, quiet)?.join("bin"));
    }
    if lint.project_env {
        path_dirs.push(python::venv_dir(root).join("bin"));
    }
    path_dirs.extend(env::var_os("PATH").map(|p| env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default());
    let Some(resolved) = find_program(program, &path_dirs) else {
        return Ok(Verdict::Missing(format!("skipped: {program} not found on PATH")));
    };
    let files = if lint.files.is_empty() { Vec::new() } else { matching_files(lint, tree, root, grading_dir)? };
    if !lint.files.is_empty() && files.is_empty() {
        return Ok(match tree {
            Tree::Starter => Verdict::NothingToLint,
            Tree::Solution => Verdict::Findings(format!("no file matches {}", lint.files.join(" "))),
        });
    }
    let mut args: Vec<String> = Vec::new();
    for arg in &lint.run[1..] {
        if arg == "{files}" {
            args.extend(files.iter().cloned());
        } else {
            args.push(arg.clone());
        }
    }
    let joined = env::join_paths(&path_dirs).context("a PATH entry holds a ':'")?;
    let cmd = Cmd::new(&resolved).args(&args).cwd(root).env("PATH", joined).timeout(timeout);
    let out = cmd.run()?;
    if out.timed_out {
        return Ok(Verdict::Findings(format!("`{}` did not finish within {} s", cmd.display(), timeout.as_secs())));
    }
    if out.success() {
        return Ok(Verdict::Clean { files: files.len() });
    }
    let text = out.combined();
    // The command as lab.toml declares it: the file list would drown the message.
    Ok(Verdict::Findings(format!(
        "`{}` {}:\n{}",
        lint.run.join(" "),
        crate::process::describe_exit(out.code),
        last_lines(text.trim_end(), 40)
    )))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(n);
    let mut out = lines[skip..].join("\n");
    if skip > 0 {
        out = format!("… ({skip} earlier lines)\n{out}");
    }
    out
}

fn find_program(program: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program)).filter(|p| p.is_file());
    }
    dirs.iter().map(|d| d.join(program)).find(|p| p.is_file())
}

/// The workspace files `lint.files` matches (the learner's files: .gitignore'd, `.lab/`, venvs
/// and build output are not), on the starter without the files the learner is asked to change.
fn matching_files(lint: &LintDef, tree: Tree, root: &Path, grading_dir: &str) -> Result<Vec<String>> {
    let mut builder = globset::GlobSetBuilder::new();
    for pattern in &lint.files {
        let glob = globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .with_context(|| format!("lint `{}`: `{pattern}` is not a glob", lint.name))?;
        builder.add(glob);
    }
    let set = builder.build().with_context(|| format!("lint `{}`: its globs do not build", lint.name))?;
    let learners: Vec<String> = match tree {
        Tree::Starter => workspace::todos(root, grading_dir).into_iter().map(|t| t.path).collect(),
        Tree::Solution => Vec::new(),
    };
    Ok(workspace::work_files(root).into_iter().filter(|f| set.is_match(f) && !learners.contains(f)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn lint(run: &[&str], files: &[&str]) -> LintDef {
        LintDef {
            name: "test".into(),
            run: run.iter().map(|s| s.to_string()).collect(),
            files: files.iter().map(|s| s.to_string()).collect(),
            pypi: vec![],
            project_env: false,
            on: vec![Tree::Starter, Tree::Solution],
        }
    }

    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let put = |rel: &str, text: &str| {
            let path = dir.path().join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        put("src/app.py", "print('ok')\n");
        put("src/todo.py", "# TODO(lab:algorithms): write it\n");
        put("tests/grading/test_x.py", "bad\n");
        put(".github/workflows/ci.yml", "name: ci\n");
        put(".venv/lib/x.py", "ignored\n");
        dir
    }

    const SECOND: Duration = Duration::from_secs(30);

    #[test]
    fn files_leave_out_on_the_starter_the_learners_files_and_keep_the_suite() {
        let ws = workspace();
        let l = lint(&["true"], &["**/*.py", ".github/workflows/*.yml"]);
        let solution = matching_files(&l, Tree::Solution, ws.path(), "tests/grading").unwrap();
        assert_eq!(solution, [".github/workflows/ci.yml", "src/app.py", "src/todo.py", "tests/grading/test_x.py"]);
        let starter = matching_files(&l, Tree::Starter, ws.path(), "tests/grading").unwrap();
        assert_eq!(starter, [".github/workflows/ci.yml", "src/app.py", "tests/grading/test_x.py"]);
    }

    #[test]
    fn a_clean_exit_is_clean_and_findings_keep_the_output() {
        let ws = workspace();
        let clean =
            run(&lint(&["sh", "-c", "exit 0", "{files}"], &["src/*.py"]), Tree::Solution, ws.path(), "g", SECOND, true);
        assert_eq!(clean, Verdict::Clean { files: 2 });
        let found = run(
            &lint(&["sh", "-c", "echo \"$1: E501 line too long\"; exit 1", "sh", "{files}"], &["src/app.py"]),
            Tree::Solution,
            ws.path(),
            "g",
            SECOND,
            true,
        );
        let Verdict::Findings(text) = found else { panic!("{found:?}") };
        assert!(text.contains("src/app.py: E501 line too long"), "{text}");
    }

    #[test]
    fn a_missing_program_is_a_skip_and_no_files_differs_by_tree() {
        let ws = workspace();
        let missing = run(&lint(&["no-such-linter-here"], &[]), Tree::Solution, ws.path(), "g", SECOND, true);
        assert_eq!(missing, Verdict::Missing("skipped: no-such-linter-here not found on PATH".into()));
        let only_learner = lint(&["true", "{files}"], &["src/todo.py"]);
        assert_eq!(run(&only_learner, Tree::Starter, ws.path(), "g", SECOND, true), Verdict::NothingToLint);
        let none = lint(&["true", "{files}"], &["*.rs"]);
        assert!(matches!(run(&none, Tree::Solution, ws.path(), "g", SECOND, true), Verdict::Findings(_)));
    }
}
