//! `lab check --watch`: re-grade the stage the learner is on at each save, and every stage when
//! that stage goes green, when a save may have broken a finished stage, or on a key.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::Result;

use super::check::print;
use super::keys::{self, Key};
use super::{Opened, Outcome};
use crate::catalog::Lab;
use crate::cli::Check as CheckArgs;
use crate::grading::{check_workspace, Request};
use crate::output::{self, paint, DIM};
use crate::process;
use crate::report;
use crate::results::{Check, EarlyStage};
use crate::scaffold;
use crate::workspace;

/// What the next run grades, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Every stage.
    All(Why),
    /// One stage (its index), after a save of these files.
    Stage(usize, Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Why {
    Start,
    StageGreen(String),
    /// A saved file holds the work of a finished stage.
    Regression(String),
    /// A test of the stage passed before and fails now.
    Regressed(String),
    KeyPress,
    /// No stage is left unfinished, or `--stage` names none of them.
    NothingOpen,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Why::Start => f.write_str("first check"),
            Why::StageGreen(title) => write!(f, "{title} went green"),
            Why::Regression(why) => write!(f, "a finished stage may have broken: {why}"),
            Why::Regressed(test) => write!(f, "{test} passed before and fails now"),
            Why::KeyPress => f.write_str("asked for"),
            Why::NothingOpen => f.write_str("no stage is unfinished"),
        }
    }
}

/// What ended a wait.
enum Event {
    /// The terminal's width changed: the report is laid out again.
    Resized,
    Changed(Vec<String>),
    Key(Key),
    Stop,
}

/// Erase the screen and go to its top-left corner.
const CLEAR_SCREEN: &str = "\x1b[2J\x1b[H";

/// Said under each report while the watch waits.
const WAITING: &str =
    "Watching for changes · Enter or r: every stage · h: a hint · n: next stage · q: quit (Ctrl-C also stops)…";

pub(super) fn watch(opened: &Opened, lab: &Lab, args: &CheckArgs, quiet: bool) -> Result<Outcome> {
    process::watch_interrupts();
    let terminal = std::io::stdout().is_terminal();
    let (keys, _raw_mode) = keys::listen();
    // Which stages' TODO markers each starter file holds: a save there may touch those stages.
    let markers = starter_markers(opened, lab);
    // The stage asked for with --stage or moved to with `n`; else the first unfinished one.
    let mut focus: Option<usize> = args.stage.as_ref().and_then(|id| lab.def.stages.iter().position(|s| &s.id == id));
    let mut plan = match focus {
        Some(i) => Plan::Stage(i, Vec::new()),
        None => Plan::All(Why::Start),
    };
    let mut open_stage: Option<usize> = None;
    loop {
        let before = fingerprint(&opened.root);
        if terminal && !args.json {
            // Redraw from the top of the screen, as a terminal dashboard does.
            write!(std::io::stdout(), "{CLEAR_SCREEN}")?;
        }
        if !args.json {
            // Shown at once, before the runner starts: the screen says a run is under way.
            say_plan(lab, &plan)?;
            output::stdout().flush()?;
        }
        let early = |e: &EarlyStage| {
            let _ = report::print_early(e);
        };
        let request = Request {
            stage: match &plan {
                Plan::Stage(i, _) => Some(lab.def.stages[*i].id.as_str()),
                Plan::All(_) => None,
            },
            timeout: args.timeout,
            strict: args.strict,
            early: (matches!(plan, Plan::All(_)) && !args.json && !quiet).then_some(&early as &dyn Fn(&EarlyStage)),
        };
        let check = match check_workspace(lab, &opened.root, &opened.manifest, &request) {
            Ok(check) => {
                if request.early.is_some() && !args.json {
                    writeln!(output::stdout())?;
                }
                print(&check, args, quiet)?;
                Some(check)
            }
            Err(e) if e.is::<process::Interrupted>() => {
                crate::say!("Stopped watching.");
                return Err(e);
            }
            Err(e) => {
                crate::say!("error: {e:#}");
                None
            }
        };
        if let Some(check) = &check {
            if let Some(next) = follow_up(&plan, check, lab) {
                plan = next;
                continue;
            }
            if matches!(plan, Plan::All(_)) {
                let was = open_stage;
                open_stage = check.graded.stages.iter().position(|s| !s.done);
                // A stage moved to with `n` is left once it is done, unless --stage named it.
                if args.stage.is_none() && focus.is_some_and(|f| check.graded.stages[f].done) {
                    focus = None;
                }
                if !args.json && !quiet && check.graded.message.is_none() {
                    say_stage_done(lab, was, open_stage)?;
                }
            }
        }
        let mut o = output::stdout();
        if !args.json {
            writeln!(o, "\n{}", paint(DIM, WAITING))?;
        }
        o.flush()?;
        plan = loop {
            // Only a terminal's width is watched: elsewhere there is no screen to redraw.
            let width = terminal.then(output::terminal_width);
            match wait(&opened.root, &before, &keys, width) {
                Event::Resized => {
                    if let Some(check) = &check {
                        write!(std::io::stdout(), "{CLEAR_SCREEN}")?;
                        say_plan(lab, &plan)?;
                        print(check, args, quiet)?;
                        writeln!(output::stdout(), "\n{}", paint(DIM, WAITING))?;
                        output::stdout().flush()?;
                    }
                }
                Event::Stop => {
                    crate::say!("Stopped watching.");
                    return Err(process::Interrupted.into());
                }
                Event::Key(Key::Quit) => {
                    crate::say!("Stopped watching.");
                    return Ok(Outcome::Success);
                }
                Event::Key(Key::All) => break Plan::All(Why::KeyPress),
                Event::Key(Key::Hint) => {
                    let stage = focus.or(open_stage).map(|i| lab.def.stages[i].id.as_str());
                    writeln!(output::stdout())?;
                    if let Err(e) = super::learn::hint(opened, stage, false) {
                        crate::say!("error: {e:#}");
                    }
                    output::stdout().flush()?;
                }
                Event::Key(Key::Next) => {
                    let from = focus.or(open_stage).unwrap_or(0);
                    if from + 1 < lab.def.stages.len() {
                        focus = Some(from + 1);
                        break Plan::Stage(from + 1, Vec::new());
                    }
                    writeln!(output::stdout(), "{}", paint(DIM, "This is the last stage."))?;
                }
                Event::Changed(files) => break after_save(lab, &markers, focus.or(open_stage), files, focus),
            }
        };
    }
}

/// The moment a stage is finished: which one, and what comes next.
fn say_stage_done(lab: &Lab, was: Option<usize>, now: Option<usize>) -> Result<()> {
    let Some(done) = was.filter(|w| now.is_none_or(|n| n > *w)) else { return Ok(()) };
    let mut o = output::stdout();
    let title = &lab.def.stages[done].title;
    match now {
        Some(next) => {
            let stage = &lab.def.stages[next];
            writeln!(
                o,
                "\nStage {} ({title}) is done. Next, stage {} ({}): {}",
                done + 1,
                next + 1,
                stage.title,
                stage.goal.trim()
            )?;
            writeln!(o, "`lab todo --stage {}` lists its TODO markers; h shows a hint.", stage.id)?;
        }
        None => writeln!(o, "\nStage {} ({title}) is done, and with it every stage.", done + 1)?,
    }
    Ok(())
}

/// The line above each run that says what it grades and why.
fn say_plan(lab: &Lab, plan: &Plan) -> Result<()> {
    let line = match plan {
        Plan::All(why) => format!("Grading every stage ({why})"),
        Plan::Stage(i, files) if files.is_empty() => {
            format!("Grading stage {} ({}) only", i + 1, lab.def.stages[*i].title)
        }
        Plan::Stage(i, files) => format!(
            "Grading stage {} ({}) only, after a change to {}",
            i + 1,
            lab.def.stages[*i].title,
            files.join(", ")
        ),
    };
    writeln!(output::stdout(), "{}\n", paint(DIM, line))?;
    Ok(())
}

/// After a one-stage run: every stage when it went green or one of its tests regressed.
fn follow_up(plan: &Plan, check: &Check, lab: &Lab) -> Option<Plan> {
    let Plan::Stage(i, _) = plan else { return None };
    let stage = &lab.def.stages[*i];
    if check.graded.status == crate::status::Status::Error {
        return None;
    }
    if check.graded.stages.first().is_some_and(|s| s.done) {
        return Some(Plan::All(Why::StageGreen(stage.title.clone())));
    }
    check.regressed.first().map(|t| Plan::All(Why::Regressed(t.clone())))
}

/// What a save leads to: the stage the learner is on, unless a saved file holds work of a stage
/// that is already done (then every stage, since that work may have broken). A stage asked for
/// with `--stage` is graded alone whatever was saved.
fn after_save(
    lab: &Lab,
    markers: &BTreeMap<String, BTreeSet<String>>,
    current: Option<usize>,
    files: Vec<String>,
    focus: Option<usize>,
) -> Plan {
    if let Some(i) = focus {
        return Plan::Stage(i, files);
    }
    let Some(current) = current else { return Plan::All(Why::NothingOpen) };
    let finished: Vec<&str> = lab.def.stages[..current].iter().map(|s| s.id.as_str()).collect();
    for file in &files {
        if let Some(stage) = markers.get(file).and_then(|m| m.iter().find(|s| finished.contains(&s.as_str()))) {
            return Plan::All(Why::Regression(format!("{file} holds work of stage `{stage}`")));
        }
    }
    Plan::Stage(current, files)
}

/// Starter file -> the stages whose TODO markers it holds.
fn starter_markers(opened: &Opened, lab: &Lab) -> BTreeMap<String, BTreeSet<String>> {
    let track = &opened.manifest.track;
    let Ok(files) = scaffold::compose(&opened.catalog, lab, track, &opened.manifest.vars) else {
        return BTreeMap::new();
    };
    files
        .iter()
        .filter_map(|f| {
            let text = std::str::from_utf8(&f.contents).ok()?;
            let stages: BTreeSet<String> = workspace::scan_todos(text, &f.path).into_iter().map(|t| t.stage).collect();
            (!stages.is_empty()).then(|| (f.path.clone(), stages))
        })
        .collect()
}

const POLL: Duration = Duration::from_millis(100);
/// A burst of saves (an editor writing several files) settles before the next check.
const SETTLE: Duration = Duration::from_millis(150);

type Fingerprint = Vec<(String, Option<SystemTime>, u64)>;

/// Waits until the learner's files differ from `before` and have settled, or a key is pressed.
fn wait(root: &Path, before: &Fingerprint, keys: &mpsc::Receiver<Key>, width: Option<usize>) -> Event {
    loop {
        if process::interrupted() {
            return Event::Stop;
        }
        if let Ok(key) = keys.try_recv() {
            return Event::Key(key);
        }
        if width.is_some_and(|w| w != output::terminal_width()) {
            return Event::Resized;
        }
        std::thread::sleep(POLL);
        let mut now = fingerprint(root);
        if now.as_slice() == before.as_slice() {
            continue;
        }
        loop {
            std::thread::sleep(SETTLE);
            if process::interrupted() {
                return Event::Stop;
            }
            let later = fingerprint(root);
            if later == now {
                return Event::Changed(changed(before, &now));
            }
            now = later;
        }
    }
}

/// The files added, removed or changed between two fingerprints.
fn changed(before: &Fingerprint, now: &Fingerprint) -> Vec<String> {
    let old: BTreeMap<&str, _> = before.iter().map(|(p, t, l)| (p.as_str(), (t, l))).collect();
    let new: BTreeMap<&str, _> = now.iter().map(|(p, t, l)| (p.as_str(), (t, l))).collect();
    let mut files: BTreeSet<&str> = BTreeSet::new();
    files.extend(new.iter().filter(|(p, v)| old.get(*p) != Some(*v)).map(|(p, _)| *p));
    files.extend(old.keys().filter(|p| !new.contains_key(*p)));
    files.into_iter().map(str::to_string).collect()
}

/// Path, modification time and size of every learner's file (not `.lab/`, `.git/`, venvs,
/// build output or anything .gitignore excludes).
fn fingerprint(root: &Path) -> Fingerprint {
    workspace::work_files(root)
        .into_iter()
        .map(|rel| {
            let meta = std::fs::metadata(root.join(&rel)).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            (rel, modified, meta.map(|m| m.len()).unwrap_or(0))
        })
        .collect()
}
