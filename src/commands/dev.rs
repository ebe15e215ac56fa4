//! `lab dev new` and `lab dev check-tests`: the authoring commands.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Outcome;
use crate::catalog::{Catalog, Lab};
use crate::dev::{self, SkeletonTrack};
use crate::output::{paint, stdout, BOLD, DIM, GREEN, RED};
use crate::scaffold;
use crate::workspace;

pub fn new(id: &str, dir: Option<PathBuf>, tracks: &[SkeletonTrack], quiet: bool) -> Result<Outcome> {
    let files = dev::skeleton(id, tracks)?;
    let target =
        dir.unwrap_or_else(|| if Path::new("labs").is_dir() { Path::new("labs").join(id) } else { PathBuf::from(id) });
    scaffold::check_target(&target)?;
    scaffold::write_atomically(&target, |tmp| scaffold::write_files(tmp, &files))?;
    if !quiet {
        let labs_dir = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut o = stdout();
        writeln!(
            o,
            "Created lab {} in {} {}",
            paint(BOLD, id),
            target.display(),
            paint(DIM, format!("({} files)", files.len()))
        )?;
        writeln!(o, "\nNext:")?;
        writeln!(o, "  lab validate --labs-dir {} {id}   # the skeleton validates as it is", labs_dir.display())?;
        writeln!(o, "  edit lab.toml, the starter, the grading suite and the solution; keep the stage test lists")?;
        writeln!(o, "  in step with `lab dev check-tests --labs-dir {} {id}`", labs_dir.display())?;
    }
    Ok(Outcome::Success)
}

pub fn check_tests(catalog: &Catalog, ids: &[String], quiet: bool) -> Result<Outcome> {
    let labs: Vec<&Lab> = if ids.is_empty() {
        catalog.labs.iter().collect()
    } else {
        ids.iter().map(|id| catalog.get(id)).collect::<Result<_>>()?
    };
    let mut o = stdout();
    let mut disagreements = 0;
    for lab in labs {
        for track in lab.def.tracks.keys() {
            let diff = dev::compare_test_lists(lab, track)?;
            if diff.agrees() {
                if !quiet {
                    writeln!(
                        o,
                        "{} {} ({track}): {} tests, declared and defined alike",
                        paint(GREEN, "ok  "),
                        lab.def.id,
                        diff.declared
                    )?;
                }
                continue;
            }
            disagreements += 1;
            writeln!(
                o,
                "{} {} ({track}): {} declared, {} defined",
                paint(RED, "DIFF"),
                lab.def.id,
                diff.declared,
                diff.defined
            )?;
            for name in &diff.missing {
                writeln!(o, "       declared in lab.toml, not defined by the suite: {name}")?;
            }
            for name in &diff.undeclared {
                writeln!(o, "       defined by the suite, declared by no stage: {name}")?;
            }
            for name in &diff.duplicates {
                writeln!(o, "       defined more than once in the suite: {name}")?;
            }
        }
    }
    Ok(if disagreements == 0 { Outcome::Success } else { Outcome::Failed })
}

pub fn solve(
    catalog: &Catalog,
    id: &str,
    dir: &Path,
    track: Option<&str>,
    set: &[(String, String)],
    quiet: bool,
) -> Result<Outcome> {
    let lab = catalog.get(id)?;
    let track = track.unwrap_or_else(|| lab.def.default_track());
    lab.def.track(track)?;
    let mut vars = dev::default_vars(lab)?;
    vars.options = scaffold::resolve_options(lab, set)?;
    let mut files = scaffold::compose(catalog, lab, track, &vars)?;
    // Written after the starter's files, so the solution's version of a file wins; all at once.
    files.extend(scaffold::solution(lab, track, &vars)?);
    scaffold::check_target(dir)?;
    workspace::create(lab, track, &vars, &files, dir)?;
    if !quiet {
        writeln!(
            stdout(),
            "Wrote {} ({track} track) with its reference solution to {}; `lab setup` then `lab check` there.",
            lab.def.id,
            dir.display()
        )?;
    }
    Ok(Outcome::Success)
}
