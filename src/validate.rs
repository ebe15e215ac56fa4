//! `lab validate`: the proof that a lab works. For each lab and track: the templates render for
//! every option, the starter runs and fails every stage, the reference solution passes every
//! test, the runner reports exactly the declared tests, and every stage has a goal, hints and a
//! TODO marker.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;

use crate::catalog::{Catalog, Lab};
use crate::cli::Validate;
use crate::commands::{check_workspace, create_workspace, setup_workspace, Outcome};
use crate::report::{out, paint, truncate, BOLD, DIM, GREEN, RED};
use crate::results::{Check, Status};
use crate::runner::python::{self, Install};
use crate::scaffold::{self, Vars};
use crate::workspace::{self, Manifest};

/// One line of the results table.
struct Row {
    check: &'static str,
    ok: bool,
    detail: String,
}

impl Row {
    fn new(check: &'static str, ok: bool, detail: impl Into<String>) -> Row {
        Row { check, ok, detail: detail.into() }
    }
}

pub fn validate(catalog: &Catalog, args: Validate, quiet: bool) -> Result<Outcome> {
    let labs: Vec<&Lab> = if args.labs.is_empty() {
        catalog.labs.iter().collect()
    } else {
        args.labs.iter().map(|id| catalog.get(id)).collect::<Result<_>>()?
    };
    if let Some(track) = &args.track {
        for lab in &labs {
            lab.def.track(track)?;
        }
    }
    let mut failed = 0;
    let mut o = out();
    for lab in labs {
        for track in lab.def.tracks.keys().filter(|t| args.track.as_ref().is_none_or(|only| only == *t)) {
            if !quiet {
                eprintln!("validating {} ({track})…", lab.def.id);
            }
            let rows = validate_track(catalog, lab, track, args.timeout);
            for row in rows.iter().filter(|r| !quiet || !r.ok) {
                let mark = if row.ok { paint(GREEN, "ok  ") } else { paint(RED, "FAIL") };
                writeln!(o, "{mark} {:<16} {:<8} {}", truncate(&lab.def.id, 16), track, row.check)?;
                if !row.detail.is_empty() && !row.ok {
                    writeln!(o, "{}", crate::report::indent(&row.detail, "       "))?;
                } else if !row.detail.is_empty() {
                    writeln!(o, "       {}", paint(DIM, &row.detail))?;
                }
            }
            failed += rows.iter().filter(|r| !r.ok).count();
        }
    }
    if failed == 0 {
        writeln!(o, "{}", paint(BOLD, "All labs valid."))?;
        Ok(Outcome::Success)
    } else {
        writeln!(o, "{}", paint(RED, format!("{failed} check(s) failed.")))?;
        Ok(Outcome::Failed)
    }
}

fn validate_track(catalog: &Catalog, lab: &Lab, track: &str, timeout: std::time::Duration) -> Vec<Row> {
    let mut rows = vec![metadata(lab)];
    rows.push(match render_every_variant(catalog, lab, track) {
        Ok(n) => Row::new("templates render strictly", true, format!("{n} option variant(s)")),
        Err(e) => return with(rows, Row::new("templates render strictly", false, format!("{e:#}"))),
    });
    let tmp = match tempfile::Builder::new().prefix("lab-validate-").tempdir() {
        Ok(t) => t,
        Err(e) => return with(rows, Row::new("scaffold the starter", false, e.to_string())),
    };
    let root = tmp.path().join(&lab.def.id);
    let vars = match default_vars(lab) {
        Ok(v) => v,
        Err(e) => return with(rows, Row::new("scaffold the starter", false, format!("{e:#}"))),
    };
    let scaffolded = scaffold::compose(catalog, lab, track, &vars)
        .and_then(|files| create_workspace(lab, track, &vars, &files, &root))
        .and_then(|_| Manifest::load(&root));
    let manifest = match scaffolded {
        Ok(m) => m,
        Err(e) => return with(rows, Row::new("scaffold the starter", false, format!("{e:#}"))),
    };
    rows.push(todo_markers(lab, &root, &manifest.grading.dir));
    let shared = std::env::var_os(python::ENV_VENV).is_some() || std::env::var_os(python::ENV_PYTHON).is_some();
    let install = if shared { Install::DependenciesOnly } else { Install::AsDeclared };
    if let Err(e) = setup_workspace(lab, track, &root, install, true) {
        return with(rows, Row::new("set up the workspace", false, format!("{e:#}")));
    }
    let starter = match check_workspace(lab, &root, &manifest, None, timeout) {
        Ok(c) => c,
        Err(e) => return with(rows, Row::new("starter runs", false, format!("{e:#}"))),
    };
    rows.extend(starter_rows(lab, track, &starter));
    let overlay = scaffold::solution(lab, track, &vars).and_then(|files| scaffold::write_files(&root, &files));
    if let Err(e) = overlay {
        return with(rows, Row::new("solution passes every test", false, format!("{e:#}")));
    }
    match check_workspace(lab, &root, &manifest, None, timeout) {
        Ok(solved) => {
            rows.push(solution_row(&solved));
            rows.push(declared_row(&[&starter, &solved]));
        }
        Err(e) => rows.push(Row::new("solution passes every test", false, format!("{e:#}"))),
    }
    rows
}

fn with(mut rows: Vec<Row>, row: Row) -> Vec<Row> {
    rows.push(row);
    rows
}

fn default_vars(lab: &Lab) -> Result<Vars> {
    let (package_name, dist_name) = scaffold::derive_names(&lab.def.id)?;
    Ok(Vars {
        project_name: lab.def.id.clone(),
        package_name,
        dist_name,
        author: "Lab Validate".into(),
        author_email: "validate@example.com".into(),
        year: workspace::current_year(),
        options: scaffold::resolve_options(lab, &[])?,
    })
}

fn metadata(lab: &Lab) -> Row {
    let problems: Vec<String> = lab
        .def
        .stages
        .iter()
        .flat_map(|s| {
            let mut p = Vec::new();
            if s.goal.trim().is_empty() {
                p.push(format!("stage `{}` has no goal", s.id));
            }
            if s.hints.iter().all(|h| h.trim().is_empty()) {
                p.push(format!("stage `{}` has no hints", s.id));
            }
            p
        })
        .collect();
    Row::new("every stage has a goal and hints", problems.is_empty(), problems.join("\n"))
}

/// Renders the starter, grading suite and solution with the default options and with each
/// choice of each option, so a template that breaks only for one choice is caught.
fn render_every_variant(catalog: &Catalog, lab: &Lab, track: &str) -> Result<usize> {
    let base = default_vars(lab)?;
    let mut variants = vec![base.clone()];
    for option in &lab.def.options {
        for choice in option.choices.iter().filter(|c| **c != option.default) {
            let mut v = base.clone();
            v.options.insert(option.name.clone(), choice.clone());
            variants.push(v);
        }
    }
    for vars in &variants {
        scaffold::compose(catalog, lab, track, vars)?;
        scaffold::solution(lab, track, vars)?;
    }
    Ok(variants.len())
}

fn todo_markers(lab: &Lab, root: &std::path::Path, grading_dir: &str) -> Row {
    let todos = workspace::todos(root, grading_dir);
    let mut problems = Vec::new();
    for stage in &lab.def.stages {
        if !todos.iter().any(|t| t.stage == stage.id) {
            problems.push(format!("stage `{}` has no TODO(lab:{}) marker in the starter", stage.id, stage.id));
        }
    }
    for t in &todos {
        if !lab.def.stages.iter().any(|s| s.id == t.stage) {
            problems.push(format!("{}:{}: TODO(lab:{}) names no stage", t.path, t.line, t.stage));
        }
    }
    Row::new("every stage has a TODO marker", problems.is_empty(), problems.join("\n"))
}

fn starter_rows(lab: &Lab, track: &str, starter: &Check) -> Vec<Row> {
    let g = &starter.graded;
    if let Some(message) = &g.message {
        return vec![Row::new("starter runs", false, format!("{message}\n{}", starter.runner_output.trim_end()))];
    }
    let mut rows = vec![Row::new("starter runs", true, "")];
    let unfinished: Vec<String> =
        g.stages.iter().filter(|s| s.done).map(|s| format!("stage `{}` passes on the starter", s.id)).collect();
    rows.push(Row::new("starter fails every stage", unfinished.is_empty(), unfinished.join("\n")));
    let allowed = &lab.def.tracks[track].may_pass_on_starter;
    let passing: Vec<String> = g
        .tests
        .iter()
        .filter(|t| t.status == Status::Pass && !allowed.contains(&t.name))
        .map(|t| format!("`{}` passes on the starter (declare it in may_pass_on_starter if that is intended)", t.name))
        .collect();
    rows.push(Row::new("no undeclared test passes on the starter", passing.is_empty(), passing.join("\n")));
    rows
}

fn solution_row(solved: &Check) -> Row {
    let g = &solved.graded;
    if let Some(message) = &g.message {
        return Row::new(
            "solution passes every test",
            false,
            format!("{message}\n{}", solved.runner_output.trim_end()),
        );
    }
    let failing: Vec<String> = g
        .tests
        .iter()
        .filter(|t| t.status != Status::Pass)
        .map(|t| format!("{}: {}", t.name, t.message.lines().next().unwrap_or_default()))
        .collect();
    let detail = if failing.is_empty() { format!("{} tests", g.counts.total) } else { failing.join("\n") };
    Row::new("solution passes every test", failing.is_empty(), detail)
}

fn declared_row(checks: &[&Check]) -> Row {
    let mut problems = BTreeSet::new();
    for check in checks {
        for name in &check.graded.undeclared {
            problems.insert(format!("the runner reported `{name}`, which lab.toml does not declare"));
        }
        for t in check.graded.tests.iter().filter(|t| t.message.starts_with("not run")) {
            problems.insert(format!("`{}` is declared but the runner never reported it", t.name));
        }
    }
    let problems: Vec<String> = problems.into_iter().collect();
    Row::new("reported tests are exactly the declared ones", problems.is_empty(), problems.join("\n"))
}
