//! `lab validate`: the proof that a lab works. For each lab and track: the templates render for
//! every option, the starter runs and fails every stage, the reference solution passes every
//! test, the runner reports exactly the declared tests, every stage has a goal, hints and a
//! TODO marker, and every known-wrong implementation (mutant) fails a test of its stage.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::Result;

use super::Outcome;
use crate::catalog::{Catalog, Lab, MutantDef, Tree};
use crate::cli::Validate;
use crate::grading::{check_workspace, Request};
use crate::lint;
use crate::mutants::{self, Verdict};
use crate::output::{paint, stdout as out, BOLD, DIM, GREEN, RED, YELLOW};
use crate::report::{indent, truncate};
use crate::results::Check;
use crate::runner::{
    self, mermaid,
    python::{self, Install},
};
use crate::scaffold::{self, Renderer, Vars};
use crate::status::{Reason, Status};
use crate::workspace::{self, Manifest};

/// Said when a property could not be proven because a tool it needs is missing here.
const MISSING_TOOLS_ADVICE: &str = "Some checks could not run on this machine because a tool they need is missing \
(each is named above). Install it and validate again; nothing that could not run was counted as valid.";

/// How one line of the results table ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowState {
    Ok,
    Fail,
    /// Everything that ran held, but some tests were skipped for a missing tool.
    Skipped,
}

/// One line of the results table.
struct Row {
    check: &'static str,
    /// The option choices the row was proven with, e.g. `system=whatsapp`; empty for the defaults.
    variant: String,
    state: RowState,
    detail: String,
}

impl Row {
    fn new(check: &'static str, ok: bool, detail: impl Into<String>) -> Row {
        Row {
            check,
            variant: String::new(),
            state: if ok { RowState::Ok } else { RowState::Fail },
            detail: detail.into(),
        }
    }

    fn skipped(check: &'static str, detail: String) -> Row {
        Row { check, variant: String::new(), state: RowState::Skipped, detail }
    }

    fn title(&self) -> String {
        if self.variant.is_empty() {
            self.check.to_string()
        } else {
            format!("{} ({})", self.check, self.variant)
        }
    }

    fn ok(&self) -> bool {
        self.state == RowState::Ok
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
    let mut skipped = 0;
    let mut o = out();
    for lab in labs {
        for track in lab.def.tracks.keys().filter(|t| args.track.as_ref().is_none_or(|only| only == *t)) {
            if !quiet {
                crate::say!("validating {} ({track})…", lab.def.id);
            }
            let rows = if args.lint {
                lint_track(catalog, lab, track, args.timeout, quiet)
            } else {
                validate_track(catalog, lab, track, args.timeout, quiet)
            };
            for row in rows.iter().filter(|r| !quiet || !r.ok()) {
                let mark = match row.state {
                    RowState::Ok => paint(GREEN, "ok  "),
                    RowState::Fail => paint(RED, "FAIL"),
                    RowState::Skipped => paint(YELLOW, "SKIP"),
                };
                writeln!(o, "{mark} {:<16} {:<8} {}", truncate(&lab.def.id, 16), track, row.title())?;
                if !row.detail.is_empty() && !row.ok() {
                    writeln!(o, "{}", indent(&row.detail, "       "))?;
                } else if !row.detail.is_empty() {
                    writeln!(o, "       {}", paint(DIM, &row.detail))?;
                }
            }
            failed += rows.iter().filter(|r| r.state == RowState::Fail).count();
            skipped += rows.iter().filter(|r| r.state == RowState::Skipped).count();
        }
    }
    if failed > 0 {
        writeln!(o, "{}", paint(RED, format!("{failed} check(s) failed.")))?;
        if skipped > 0 {
            writeln!(o, "{}", paint(YELLOW, format!("{skipped} check(s) could not run here: a tool is missing.")))?;
        }
        return Ok(Outcome::Failed);
    }
    if skipped > 0 {
        let line = format!("Valid except {skipped} check(s) that could not run here (SKIP above).");
        writeln!(o, "{}\n{MISSING_TOOLS_ADVICE}", paint(YELLOW, line))?;
        // Unproven is not valid, unless the caller asked to accept what this machine cannot run.
        return Ok(if args.allow_missing_tools { Outcome::Success } else { Outcome::Failed });
    }
    writeln!(o, "{}", paint(BOLD, "All labs valid."))?;
    Ok(Outcome::Success)
}

fn validate_track(catalog: &Catalog, lab: &Lab, track: &str, timeout: std::time::Duration, quiet: bool) -> Vec<Row> {
    let mut rows = vec![metadata(lab)];
    if let Ok(diff) = crate::dev::compare_test_lists(lab, track) {
        rows.push(Row::new(
            "test names are unique in the suite",
            diff.duplicates.is_empty(),
            diff.duplicates.join("\n"),
        ));
    }
    let variants = match option_variants(lab) {
        Ok(v) => v,
        Err(e) => return with(rows, Row::new("templates render strictly", false, format!("{e:#}"))),
    };
    rows.push(match render_every_variant(catalog, lab, track, &variants) {
        Ok(n) => Row::new("templates render strictly", true, format!("{n} option variant(s)")),
        Err(e) => return with(rows, Row::new("templates render strictly", false, format!("{e:#}"))),
    });
    let mutant_defs = match lab.mutants(track) {
        Ok(d) => d,
        Err(e) => return with(rows, Row::new("grading strength: mutants caught", false, format!("{e:#}"))),
    };
    // Every choice of every option is graded like the defaults: its starter fails, its reference
    // solution passes and its own mutants are caught, so a choice cannot ship ungraded.
    for (n, vars) in variants.iter().enumerate() {
        let chosen = non_default_options(lab, &vars.options);
        let defs: Vec<&MutantDef> =
            mutant_defs.iter().filter(|m| non_default_options(lab, &m.options) == chosen).collect();
        let label = chosen.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        for mut row in grade_variant(catalog, lab, track, vars, &defs, n == 0, timeout, quiet) {
            row.variant.clone_from(&label);
            rows.push(row);
        }
    }
    rows
}

/// `--lint`: the track's declared linters on its rendered starter, then on its solution laid over
/// it (default options). A code track must declare some, as it must ship mutants.
fn lint_track(catalog: &Catalog, lab: &Lab, track: &str, timeout: std::time::Duration, quiet: bool) -> Vec<Row> {
    let tdef = &lab.def.tracks[track];
    if tdef.lint.is_empty() {
        let code = tdef.runner != crate::catalog::RunnerKind::Docs;
        let detail =
            if code { "a code track must declare its ecosystem's linters ([[tracks.<track>.lint]])" } else { "" };
        return vec![Row::new("linters declared", !code, detail)];
    }
    let mut rows = Vec::new();
    let tmp = match tempfile::Builder::new().prefix("lab-lint-").tempdir() {
        Ok(t) => t,
        Err(e) => return with(rows, Row::new("scaffold the starter", false, e.to_string())),
    };
    let root = tmp.path().join(&lab.def.id);
    let scaffolded = crate::dev::default_vars(lab).and_then(|vars| {
        let files = scaffold::compose(catalog, lab, track, &vars)?;
        workspace::create(lab, track, &vars, &files, &root)?;
        Ok(vars)
    });
    let vars = &match scaffolded {
        Ok(vars) => vars,
        Err(e) => return with(rows, Row::new("scaffold the starter", false, format!("{e:#}"))),
    };
    let grading_dir = tdef.grading_dir.clone();
    if tdef.lint.iter().any(|l| l.project_env) {
        let shared = std::env::var_os(python::ENV_VENV).is_some() || std::env::var_os(python::ENV_PYTHON).is_some();
        let install = if shared { Install::DependenciesOnly } else { Install::AsDeclared };
        if let Err(e) = runner::setup(lab, track, vars, &root, install, true) {
            return with(rows, Row::new("set up the workspace", false, format!("{e:#}")));
        }
    }
    for tree in [Tree::Starter, Tree::Solution] {
        if tree == Tree::Solution {
            let overlay = scaffold::solution(lab, track, vars).and_then(|files| scaffold::write_files(&root, &files));
            if let Err(e) = overlay {
                return with(rows, Row::new("lay the solution over the starter", false, format!("{e:#}")));
            }
        }
        for l in tdef.lint.iter().filter(|l| l.on.contains(&tree)) {
            if !quiet {
                crate::say!("  {} on the {}…", l.name, tree.as_str());
            }
            let mut row = match lint::run(l, tree, &root, &grading_dir, timeout, quiet) {
                lint::Verdict::Clean { files: 0 } => Row::new("lint", true, ""),
                lint::Verdict::Clean { files } => Row::new("lint", true, format!("{files} file(s)")),
                lint::Verdict::NothingToLint => {
                    Row::new("lint", true, "nothing to lint: every matching file is the learner's to change")
                }
                lint::Verdict::Findings(text) => Row::new("lint", false, text),
                lint::Verdict::Missing(why) => Row::skipped("lint", why),
            };
            row.variant = format!("{}, {}", l.name, tree.as_str());
            rows.push(row);
        }
    }
    rows
}

/// The default options first, then one variant per other choice of each option.
fn option_variants(lab: &Lab) -> Result<Vec<Vars>> {
    let base = crate::dev::default_vars(lab)?;
    let mut variants = vec![base.clone()];
    for option in &lab.def.options {
        for choice in option.choices.iter().filter(|c| **c != option.default) {
            let mut v = base.clone();
            v.options.insert(option.name.clone(), choice.clone());
            variants.push(v);
        }
    }
    Ok(variants)
}

/// The options whose choice differs from the lab's default.
fn non_default_options(lab: &Lab, options: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    options
        .iter()
        .filter(|(k, v)| lab.def.option(k).is_none_or(|o| o.default != **v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Scaffolds one option variant, grades its starter and its reference solution, then its mutants.
#[allow(clippy::too_many_arguments)]
fn grade_variant(
    catalog: &Catalog,
    lab: &Lab,
    track: &str,
    vars: &Vars,
    mutant_defs: &[&MutantDef],
    primary: bool,
    timeout: std::time::Duration,
    quiet: bool,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let tmp = match tempfile::Builder::new().prefix("lab-validate-").tempdir() {
        Ok(t) => t,
        Err(e) => return with(rows, Row::new("scaffold the starter", false, e.to_string())),
    };
    let root = tmp.path().join(&lab.def.id);
    let scaffolded = scaffold::compose(catalog, lab, track, vars)
        .and_then(|files| workspace::create(lab, track, vars, &files, &root))
        .and_then(|_| Manifest::load(&root));
    let manifest = match scaffolded {
        Ok(m) => m,
        Err(e) => return with(rows, Row::new("scaffold the starter", false, format!("{e:#}"))),
    };
    rows.push(todo_markers(lab, &root, &manifest.grading.dir));
    let shared = std::env::var_os(python::ENV_VENV).is_some() || std::env::var_os(python::ENV_PYTHON).is_some();
    let install = if shared { Install::DependenciesOnly } else { Install::AsDeclared };
    // A docs workspace's setup is the Mermaid parser, some 170 MB: validation installs it only
    // into a folder shared by every variant (LAB_MERMAID), else grades diagrams structurally.
    let docs = lab.def.track(track).is_ok_and(|t| t.runner == crate::catalog::RunnerKind::Docs);
    let skip_setup = docs && std::env::var_os(mermaid::ENV_MERMAID).is_none();
    if let Err(e) = if skip_setup { Ok(()) } else { runner::setup(lab, track, vars, &root, install, true) } {
        return with(rows, Row::new("set up the workspace", false, format!("{e:#}")));
    }
    let starter = match check_workspace(lab, &root, &manifest, &Request::full(timeout)) {
        Ok(c) => c,
        Err(e) => return with(rows, Row::new("starter runs", false, format!("{e:#}"))),
    };
    rows.extend(starter_rows(lab, track, &starter));
    let overlay = scaffold::solution(lab, track, vars).and_then(|files| scaffold::write_files(&root, &files));
    if let Err(e) = overlay {
        return with(rows, Row::new("solution passes every test", false, format!("{e:#}")));
    }
    match check_workspace(lab, &root, &manifest, &Request::full(timeout)) {
        Ok(solved) => {
            let solution = solution_row(&solved);
            let solved_ok = solution.state != RowState::Fail;
            rows.push(solution);
            rows.push(declared_row(&[&starter, &solved]));
            if solved_ok && (primary || !mutant_defs.is_empty()) {
                let renderer = Renderer::new(scaffold::context(lab, track, vars));
                rows.push(mutants_row(lab, track, mutant_defs, &root, &manifest, &renderer, timeout, quiet));
            }
        }
        Err(e) => rows.push(Row::new("solution passes every test", false, format!("{e:#}"))),
    }
    rows
}

fn with(mut rows: Vec<Row>, row: Row) -> Vec<Row> {
    rows.push(row);
    rows
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

/// Renders the starter, grading suite and solution of every option variant, so a template that
/// breaks only for one choice is caught even where grading stops early.
fn render_every_variant(catalog: &Catalog, lab: &Lab, track: &str, variants: &[Vars]) -> Result<usize> {
    for vars in variants {
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
    let line = |t: &crate::results::GradedTest| format!("{}: {}", t.name, t.message.lines().next().unwrap_or_default());
    let failing: Vec<String> =
        g.tests.iter().filter(|t| t.status != Status::Pass && t.reason != Some(Reason::Skipped)).map(line).collect();
    let skipped: Vec<String> = g.tests.iter().filter(|t| t.reason == Some(Reason::Skipped)).map(line).collect();
    if !failing.is_empty() {
        return Row::new("solution passes every test", false, [failing, skipped].concat().join("\n"));
    }
    if !skipped.is_empty() {
        let ran = g.counts.total - skipped.len();
        return Row::skipped(
            "solution passes every test",
            format!(
                "{ran} of {} tests pass; {} could not run here:\n{}",
                g.counts.total,
                skipped.len(),
                skipped.join("\n")
            ),
        );
    }
    Row::new("solution passes every test", true, format!("{} tests", g.counts.total))
}

fn declared_row(checks: &[&Check]) -> Row {
    let mut problems = BTreeSet::new();
    for check in checks {
        for name in &check.graded.undeclared {
            problems.insert(format!("the runner reported `{name}`, which lab.toml does not declare"));
        }
        for t in check.graded.tests.iter().filter(|t| t.reason == Some(Reason::NotRun)) {
            problems.insert(format!("`{}` is declared but the runner never reported it", t.name));
        }
    }
    let problems: Vec<String> = problems.into_iter().collect();
    Row::new("reported tests are exactly the declared ones", problems.is_empty(), problems.join("\n"))
}

/// Grades each known-wrong implementation on the solved workspace (its stage only) and puts the
/// solution back: every mutant must fail a test of its stage, and none may crash the runner.
#[allow(clippy::too_many_arguments)]
fn mutants_row(
    lab: &Lab,
    track: &str,
    defs: &[&MutantDef],
    root: &std::path::Path,
    manifest: &Manifest,
    renderer: &Renderer,
    timeout: std::time::Duration,
    quiet: bool,
) -> Row {
    const CHECK: &str = "grading strength: mutants caught";
    if defs.is_empty() {
        // A code track proves its tests bite; the document checker's labs are graded by rules
        // whose own tests live with the checker.
        let code = lab.def.track(track).is_ok_and(|t| t.runner != crate::catalog::RunnerKind::Docs);
        let detail = format!("no mutants: add known-wrong implementations under {track}/mutants/ (docs/lab-format.md)");
        return Row::new(CHECK, !code, detail);
    }
    let mut caught = 0;
    let mut problems = Vec::new();
    let mut unproven = Vec::new();
    for m in defs {
        if !quiet {
            crate::say!("  mutant {} ({})…", m.name, m.stage);
        }
        let applied = match mutants::apply(root, m, renderer) {
            Ok(a) => a,
            Err(e) => {
                problems.push(format!("`{}` does not apply: {e:#}", m.name));
                continue;
            }
        };
        let graded = check_workspace(lab, root, manifest, &Request { stage: Some(&m.stage), ..Request::full(timeout) });
        if let Err(e) = applied.restore() {
            problems.push(format!("`{}`: {e:#}; the rest were not graded", m.name));
            break;
        }
        match graded.map(|c| mutants::verdict(&c.graded, &m.stage)) {
            Ok(Verdict::Caught { .. }) => caught += 1,
            Ok(Verdict::Survived) => problems.push(format!(
                "`{}` ({}) survived: every test of the stage passed. Wrong: {}",
                m.name,
                m.stage,
                m.description.trim()
            )),
            Ok(Verdict::Crashed { message }) => problems.push(format!("`{}` crashed the runner: {message}", m.name)),
            Ok(Verdict::Unproven { skipped }) => {
                unproven.push(format!("`{}`: only skipped tests could catch it ({})", m.name, skipped.join(", ")))
            }
            Err(e) => problems.push(format!("`{}` could not be graded: {e:#}", m.name)),
        }
    }
    let summary = format!("{caught}/{} mutants caught", defs.len());
    if !problems.is_empty() {
        return Row::new(CHECK, false, [vec![summary], problems, unproven].concat().join("\n"));
    }
    if !unproven.is_empty() {
        return Row::skipped(CHECK, [vec![summary], unproven].concat().join("\n"));
    }
    Row::new(CHECK, true, summary)
}
