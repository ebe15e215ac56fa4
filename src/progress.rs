//! What a workspace's history says: when each stage was first completed, the pass count over
//! time, and regressions with when they were fixed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::LabDef;
use crate::workspace::HistoryEntry;

#[derive(Debug, Clone, Serialize)]
pub struct StageProgress {
    pub id: String,
    pub title: String,
    pub passed: usize,
    pub total: usize,
    pub done: bool,
    /// When every test of the stage first passed (RFC 3339), if ever.
    pub first_done: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub time: String,
    pub passed: usize,
    pub total: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Regression {
    pub test: String,
    /// The check at which it stopped passing.
    pub at: String,
    /// The check at which it passed again, if it has.
    pub fixed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub checks: usize,
    pub points: Vec<Point>,
    pub stages: Vec<StageProgress>,
    pub regressions: Vec<Regression>,
    pub last_checked: Option<String>,
    pub passed: usize,
    pub total: usize,
    /// History lines left out because they are not signed for this workspace by this user's key.
    pub unverified: usize,
}

impl Progress {
    pub fn stages_done(&self) -> usize {
        self.stages.iter().filter(|s| s.done).count()
    }

    pub fn percent(&self) -> usize {
        (self.passed * 100).checked_div(self.total).unwrap_or(0)
    }

    /// The first stage not done, or None when all are.
    pub fn current_stage(&self) -> Option<&StageProgress> {
        self.stages.iter().find(|s| !s.done)
    }
}

/// Replays the history in order. A check limited to one stage (`--stage`) only updates the
/// tests it graded; every other test keeps its last known status.
pub fn analyse(def: &LabDef, track: &str, history: &[HistoryEntry]) -> Progress {
    let mut state: BTreeMap<&str, bool> = BTreeMap::new();
    let mut first_done: BTreeMap<&str, String> = BTreeMap::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut regressions: Vec<Regression> = Vec::new();
    let mut points = Vec::new();
    let stage_tests: Vec<(&str, &[String])> =
        def.stages.iter().map(|s| (s.id.as_str(), s.tests.get(track).map(Vec::as_slice).unwrap_or_default())).collect();
    for entry in history {
        for (name, status) in &entry.tests {
            let now = status.is_pass();
            let was = state.insert(name.as_str(), now);
            match (was, now) {
                (Some(true), false) => {
                    open.insert(name.clone(), regressions.len());
                    regressions.push(Regression { test: name.clone(), at: entry.time.clone(), fixed_at: None });
                }
                (_, true) => {
                    if let Some(i) = open.remove(name) {
                        regressions[i].fixed_at = Some(entry.time.clone());
                    }
                }
                _ => {}
            }
        }
        for (id, tests) in &stage_tests {
            if !first_done.contains_key(id) && tests.iter().all(|t| state.get(t.as_str()) == Some(&true)) {
                first_done.insert(id, entry.time.clone());
            }
        }
        // A check of one stage counts for that stage's tests, but is no point on a chart of
        // the whole lab's pass count.
        if entry.stage.is_none() {
            points.push(Point { time: entry.time.clone(), passed: entry.passed, total: entry.total });
        }
    }
    let stages: Vec<StageProgress> = def
        .stages
        .iter()
        .zip(&stage_tests)
        .map(|(stage, (_, tests))| {
            let passed = tests.iter().filter(|t| state.get(t.as_str()) == Some(&true)).count();
            StageProgress {
                id: stage.id.clone(),
                title: stage.title.clone(),
                passed,
                total: tests.len(),
                done: passed == tests.len() && !tests.is_empty(),
                first_done: first_done.get(stage.id.as_str()).cloned(),
            }
        })
        .collect();
    Progress {
        checks: history.len(),
        passed: stages.iter().map(|s| s.passed).sum(),
        total: stages.iter().map(|s| s.total).sum(),
        points,
        stages,
        regressions,
        last_checked: history.last().map(|e| e.time.clone()),
        unverified: 0,
    }
}

/// A row of bars, one per check, scaled to `height` rows: the pass count over time in a terminal.
pub fn chart(points: &[Point], width: usize, height: usize) -> Vec<String> {
    const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let shown: Vec<&Point> = points.iter().skip(points.len().saturating_sub(width)).collect();
    let max = shown.iter().map(|p| p.total).max().unwrap_or(0).max(1);
    (0..height)
        .rev()
        .map(|row| {
            shown
                .iter()
                .map(|p| {
                    // Eighths of a row filled by this check's pass count.
                    let eighths = p.passed * height * 8 / max;
                    let here = eighths.saturating_sub(row * 8).min(8);
                    LEVELS[here]
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_lab;

    const LAB: &str = r#"
format_version = 1
id = "demo"
title = "Demo"
summary = "s"
version = "1"
difficulty = "beginner"
hours = 1
[roadmap]
module = "m"
output = "o"
[tracks.python]
runner = "pytest"
grading_dir = "g"
[[stages]]
id = "one"
title = "One"
goal = "g"
tests.python = ["a", "b"]
[[stages]]
id = "two"
title = "Two"
goal = "g"
tests.python = ["c"]
"#;

    fn entry(time: &str, tests: &[(&str, &str)]) -> HistoryEntry {
        HistoryEntry {
            format_version: 1,
            time: time.into(),
            lab_version: "1".into(),
            status: crate::status::Status::Fail,
            passed: tests.iter().filter(|t| t.1 == "pass").count(),
            total: tests.len(),
            tests: tests
                .iter()
                .map(|(n, s)| (n.to_string(), serde_json::from_value(serde_json::json!(s)).unwrap()))
                .collect(),
            stage: None,
            mac: None,
        }
    }

    #[test]
    fn stages_complete_regress_and_get_fixed_over_time() {
        let def = parse_lab(LAB, "demo").unwrap();
        let history = vec![
            entry("t1", &[("a", "fail"), ("b", "fail"), ("c", "fail")]),
            entry("t2", &[("a", "pass"), ("b", "pass"), ("c", "fail")]),
            entry("t3", &[("a", "pass"), ("b", "fail"), ("c", "fail")]),
            // A check of stage two only: a and b keep their last status.
            HistoryEntry { stage: Some("two".into()), ..entry("t4", &[("c", "pass")]) },
            entry("t5", &[("a", "pass"), ("b", "pass"), ("c", "pass")]),
        ];
        let p = analyse(&def, "python", &history);
        assert_eq!(p.stages[0].first_done.as_deref(), Some("t2"));
        assert_eq!(p.stages[1].first_done.as_deref(), Some("t4"));
        assert_eq!(p.regressions.len(), 1);
        assert_eq!((p.regressions[0].test.as_str(), p.regressions[0].at.as_str()), ("b", "t3"));
        assert_eq!(p.regressions[0].fixed_at.as_deref(), Some("t5"));
        assert_eq!((p.passed, p.total, p.percent(), p.stages_done()), (3, 3, 100, 2));
        assert_eq!(p.last_checked.as_deref(), Some("t5"));
        // The chart of the whole lab's pass count leaves out the one-stage check.
        let charted: Vec<&str> = p.points.iter().map(|pt| pt.time.as_str()).collect();
        assert_eq!(charted, ["t1", "t2", "t3", "t5"]);
        assert!(p.current_stage().is_none());
    }

    #[test]
    fn no_history_means_nothing_done() {
        let def = parse_lab(LAB, "demo").unwrap();
        let p = analyse(&def, "python", &[]);
        assert_eq!((p.checks, p.passed, p.total, p.stages_done()), (0, 0, 3, 0));
        assert_eq!(p.current_stage().unwrap().id, "one");
    }

    #[test]
    fn the_chart_scales_pass_counts_to_its_height() {
        let points: Vec<Point> =
            [0, 5, 10].iter().map(|&n| Point { time: String::new(), passed: n, total: 10 }).collect();
        assert_eq!(chart(&points, 10, 2), vec!["  █".to_string(), " ██".to_string()]);
        assert_eq!(chart(&points, 2, 1), vec!["▄█".to_string()]);
    }
}
