//! The guarded result channel of a pytest run: a per-run key, the HMAC that binds each line the
//! guard (`pytest_guard.py`) writes to that key, and the reading of those lines into outcomes
//! that lab trusts over pytest's own XML.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::{Outcome, TestResult};

use crate::keyed::{from_hex, verify};

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Record {
    Report {
        test: String,
        when: String,
        outcome: String,
        #[serde(default)]
        message: Option<String>,
    },
    Collect {
        test: String,
        outcome: String,
    },
    /// The node ids pytest will run, in the order it will run them.
    Collected {
        tests: Vec<String>,
    },
    Finish {
        exitstatus: i32,
        tampered: Vec<String>,
    },
}

/// What the guard saw: one outcome per test (by pytest node id), the collection errors, and how
/// the session ended.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Guarded {
    pub outcomes: BTreeMap<String, Outcome>,
    pub collection_errors: Vec<String>,
    /// pytest's exit status as the guard saw it at the end of the session; None when the session
    /// never finished (the process died or was made to exit early).
    pub exit_status: Option<i32>,
    /// What the guard found changed in pytest, the collected tests or the import machinery.
    pub tampered: Vec<String>,
}

/// Reads the channel. A line whose HMAC does not verify under `key` was not written by the
/// guard: an error, since nothing in the run can then be trusted.
pub fn read(text: &str, key_hex: &str) -> Result<Guarded> {
    let key = from_hex(key_hex).context("the grading run's key is not hex")?;
    let mut guarded = Guarded::default();
    for (number, line) in text.lines().enumerate() {
        let Some((mac, body)) = line.split_once(' ') else {
            bail!("line {} of the result channel is not a guarded record", number + 1);
        };
        if !verify(&key, body.as_bytes(), mac) {
            bail!("line {} of the result channel was not written by lab's guard", number + 1);
        }
        if guarded.exit_status.is_some() {
            bail!("the result channel goes on after the session finished");
        }
        let record: Record = serde_json::from_str(body)
            .with_context(|| format!("line {} of the result channel does not parse", number + 1))?;
        match record {
            Record::Report { test, when, outcome, .. } => {
                let this = phase_outcome(&outcome, &when);
                let entry = guarded.outcomes.entry(test).or_insert(this);
                if this.rank() > entry.rank() {
                    *entry = this;
                }
            }
            Record::Collect { test, outcome } if outcome != "passed" => guarded.collection_errors.push(test),
            Record::Collect { .. } | Record::Collected { .. } => {}
            Record::Finish { exitstatus, tampered } => {
                guarded.exit_status = Some(exitstatus);
                guarded.tampered = tampered;
            }
        }
    }
    Ok(guarded)
}

fn phase_outcome(outcome: &str, when: &str) -> Outcome {
    match (outcome, when) {
        ("passed", _) => Outcome::Pass,
        ("skipped", _) => Outcome::Skipped,
        (_, "call") => Outcome::Fail,
        _ => Outcome::Error,
    }
}

/// The channel read while pytest still runs, to tell when some tests have all finished. Only
/// complete lines count; a line that does not verify stops the live reading (the reading at the
/// end of the run reports it).
#[derive(Debug)]
pub struct Live {
    key: Vec<u8>,
    pending: String,
    collected: Option<Vec<String>>,
    outcomes: BTreeMap<String, (Outcome, String)>,
    /// Node ids whose teardown was reported: nothing more will come for them.
    finished: std::collections::BTreeSet<String>,
    broken: bool,
}

impl Live {
    pub fn new(key_hex: &str) -> Result<Live> {
        Ok(Live {
            key: from_hex(key_hex).context("the grading run's key is not hex")?,
            pending: String::new(),
            collected: None,
            outcomes: BTreeMap::new(),
            finished: Default::default(),
            broken: false,
        })
    }

    /// Takes the text that followed what was fed before.
    pub fn feed(&mut self, text: &str) {
        self.pending.push_str(text);
        let Some(end) = self.pending.rfind('\n') else { return };
        let complete: String = self.pending.drain(..=end).collect();
        for line in complete.lines() {
            if self.broken {
                return;
            }
            let record = line
                .split_once(' ')
                .filter(|(mac, body)| verify(&self.key, body.as_bytes(), mac))
                .and_then(|(_, body)| serde_json::from_str::<Record>(body).ok());
            match record {
                None => self.broken = true,
                Some(Record::Collected { tests }) => self.collected = Some(tests),
                Some(Record::Report { test, when, outcome, message }) => {
                    let this = (phase_outcome(&outcome, &when), message.unwrap_or_default());
                    match self.outcomes.get_mut(&test) {
                        Some(worst) if this.0.rank() > worst.0.rank() => *worst = this,
                        Some(_) => {}
                        None => {
                            self.outcomes.insert(test.clone(), this);
                        }
                    }
                    if when == "teardown" {
                        self.finished.insert(test);
                    }
                }
                Some(_) => {}
            }
        }
    }

    /// One result per test function named in `functions`, once every collected node of theirs
    /// has finished; None while some are still to come. A named function that was not collected
    /// gets no result (grading counts it as not run).
    pub fn results_for(&self, functions: &[String]) -> Option<Vec<TestResult>> {
        if self.broken {
            return None;
        }
        let collected = self.collected.as_ref()?;
        let mut by_function: BTreeMap<&str, TestResult> = BTreeMap::new();
        for node in collected.iter().filter(|n| functions.iter().any(|f| f == function_name(n))) {
            if !self.finished.contains(node) {
                return None;
            }
            let (outcome, message) = self.outcomes.get(node)?;
            let name = function_name(node);
            let result = by_function.entry(name).or_insert_with(|| TestResult::new(name.to_string(), Outcome::Pass));
            if outcome.rank() > result.outcome.rank() {
                result.outcome = *outcome;
                result.message = message.clone();
            }
        }
        Some(by_function.into_values().collect())
    }
}

/// The test function a node id names: `grading/test_a.py::test_x[1]` -> `test_x`,
/// `grading/test_a.py::TestY::test_x` -> `test_x`.
pub fn function_name(node_id: &str) -> &str {
    let last = node_id.rsplit("::").next().unwrap_or(node_id);
    last.split('[').next().unwrap_or(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyed::{hex, hmac_sha256, new_key};

    fn line(key: &str, body: &str) -> String {
        format!("{} {body}\n", hex(&hmac_sha256(&from_hex(key).unwrap(), body.as_bytes())))
    }

    #[test]
    fn reads_outcomes_by_phase_and_the_finish() {
        let key = new_key().unwrap();
        let text = [
            r#"{"kind":"report","outcome":"passed","test":"g/t.py::test_a","when":"setup"}"#,
            r#"{"kind":"report","outcome":"failed","test":"g/t.py::test_a","when":"call"}"#,
            r#"{"kind":"report","outcome":"failed","test":"g/t.py::test_b[1]","when":"setup"}"#,
            r#"{"kind":"report","outcome":"skipped","test":"g/t.py::test_c","when":"setup"}"#,
            r#"{"kind":"report","outcome":"passed","test":"g/t.py::test_d","when":"call"}"#,
            r#"{"exitstatus":1,"kind":"finish","tampered":[]}"#,
        ]
        .iter()
        .map(|b| line(&key, b))
        .collect::<String>();
        let guarded = read(&text, &key).unwrap();
        assert_eq!(guarded.outcomes["g/t.py::test_a"], Outcome::Fail);
        assert_eq!(guarded.outcomes["g/t.py::test_b[1]"], Outcome::Error);
        assert_eq!(guarded.outcomes["g/t.py::test_c"], Outcome::Skipped);
        assert_eq!(guarded.outcomes["g/t.py::test_d"], Outcome::Pass);
        assert_eq!(guarded.exit_status, Some(1));
        assert_eq!(function_name("g/t.py::TestY::test_b[1-x]"), "test_b");
    }

    #[test]
    fn the_live_reading_answers_once_every_node_of_the_functions_has_finished() {
        let key = new_key().unwrap();
        let mut live = Live::new(&key).unwrap();
        let collected =
            line(&key, r#"{"kind":"collected","tests":["g/a.py::test_a[1]","g/a.py::test_a[2]","g/b.py::test_b"]}"#);
        // Half a line is held until its end arrives.
        let (head, tail) = collected.split_at(20);
        live.feed(head);
        assert_eq!(live.results_for(&["test_a".into()]), None);
        live.feed(tail);
        let wanted = ["test_a".to_string()];
        assert_eq!(live.results_for(&wanted), None, "nothing has run yet");
        for body in [
            r#"{"kind":"report","outcome":"passed","test":"g/a.py::test_a[1]","when":"call"}"#,
            r#"{"kind":"report","outcome":"passed","test":"g/a.py::test_a[1]","when":"teardown"}"#,
            r#"{"kind":"report","message":"AssertionError: 2 != 3","outcome":"failed","test":"g/a.py::test_a[2]","when":"call"}"#,
        ] {
            live.feed(&line(&key, body));
        }
        assert_eq!(live.results_for(&wanted), None, "the second case has not torn down");
        live.feed(&line(&key, r#"{"kind":"report","outcome":"passed","test":"g/a.py::test_a[2]","when":"teardown"}"#));
        let results = live.results_for(&wanted).unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!((results[0].name.as_str(), results[0].outcome), ("test_a", Outcome::Fail));
        assert_eq!(results[0].message, "AssertionError: 2 != 3");
        // A forged line ends the live reading.
        live.feed("00 {\"kind\":\"collected\",\"tests\":[]}\n");
        assert_eq!(live.results_for(&wanted), None);
    }

    #[test]
    fn a_line_under_another_key_or_after_the_finish_is_refused() {
        let key = new_key().unwrap();
        let other = new_key().unwrap();
        let forged = line(&other, r#"{"kind":"report","outcome":"passed","test":"t::x","when":"call"}"#);
        assert!(format!("{:#}", read(&forged, &key).unwrap_err()).contains("not written by lab's guard"));
        let unsigned = "0000 {\"kind\":\"finish\",\"exitstatus\":0,\"tampered\":[]}\n";
        assert!(read(unsigned, &key).is_err());
        let finish = line(&key, r#"{"exitstatus":0,"kind":"finish","tampered":[]}"#);
        let after =
            format!("{finish}{}", line(&key, r#"{"kind":"report","outcome":"passed","test":"t::x","when":"call"}"#));
        assert!(format!("{:#}", read(&after, &key).unwrap_err()).contains("after the session finished"));
        assert_eq!(read("", &key).unwrap().exit_status, None);
    }
}
