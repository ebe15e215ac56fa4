//! The guarded result channel of a pytest run: a per-run key, the HMAC that binds each line the
//! guard (`pytest_guard.py`) writes to that key, and the reading of those lines into outcomes
//! that lab trusts over pytest's own XML.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use super::Outcome;

use crate::keyed::{from_hex, verify};

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Record {
    Report { test: String, when: String, outcome: String },
    Collect { test: String, outcome: String },
    Finish { exitstatus: i32, tampered: Vec<String> },
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
            Record::Report { test, when, outcome } => {
                let this = match (outcome.as_str(), when.as_str()) {
                    ("passed", _) => Outcome::Pass,
                    ("skipped", _) => Outcome::Skipped,
                    (_, "call") => Outcome::Fail,
                    _ => Outcome::Error,
                };
                let entry = guarded.outcomes.entry(test).or_insert(this);
                if this.rank() > entry.rank() {
                    *entry = this;
                }
            }
            Record::Collect { test, outcome } if outcome != "passed" => guarded.collection_errors.push(test),
            Record::Collect { .. } => {}
            Record::Finish { exitstatus, tampered } => {
                guarded.exit_status = Some(exitstatus);
                guarded.tampered = tampered;
            }
        }
    }
    Ok(guarded)
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
