//! `.lab/history.jsonl`: one line per check, each signed with the user's key (kept outside the
//! repository, see `keyed`) and bound to the workspace's lab, track and project, so what
//! `status`, `progress` and `report` show can be told apart from lines written by anything else.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::Manifest;
use crate::keyed;
use crate::status::Status;

pub const HISTORY: &str = ".lab/history.jsonl";
pub const HISTORY_FORMAT_VERSION: u32 = 1;

/// One line of `.lab/history.jsonl`: documented in docs/workspace.md.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub format_version: u32,
    /// RFC 3339, UTC.
    pub time: String,
    pub lab_version: String,
    pub status: Status,
    pub passed: usize,
    pub total: usize,
    /// Every graded test's outcome.
    pub tests: BTreeMap<String, Status>,
    /// The one stage a `--stage` check graded; absent for a check of every stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// HMAC-SHA256 (hex) of the line without this field, bound to the workspace; absent when lab
    /// had nowhere to keep its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// The history as far as it can be trusted.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Lines signed by this user's key for this workspace, oldest first.
    pub entries: Vec<HistoryEntry>,
    /// Lines that are readable but not signed for this workspace by this user's key: edited,
    /// written by something else, or recorded on another machine.
    pub unverified: usize,
}

/// What a line's MAC covers besides the line itself.
fn binding(manifest: &Manifest, entry: &HistoryEntry) -> Result<Vec<u8>> {
    let unsigned = HistoryEntry { mac: None, ..entry.clone() };
    let line = serde_json::to_string(&unsigned).context("cannot encode a history entry")?;
    Ok(format!("lab history v1\n{}\n{}\n{}\n{line}", manifest.lab, manifest.track, manifest.vars.project_name)
        .into_bytes())
}

/// Every readable line, sorted into the verified and the rest; a torn line is skipped.
pub fn read_history(root: &Path, manifest: &Manifest) -> History {
    let text = fs::read_to_string(root.join(HISTORY)).unwrap_or_default();
    let key = keyed::user_key();
    let mut history = History::default();
    for entry in text.lines().filter_map(|line| serde_json::from_str::<HistoryEntry>(line).ok()) {
        let signed = match (&key, &entry.mac, binding(manifest, &entry)) {
            (Some(key), Some(mac), Ok(message)) => keyed::verify(key, &message, mac),
            _ => false,
        };
        if signed {
            history.entries.push(entry);
        } else {
            history.unverified += 1;
        }
    }
    history
}

/// Each test's status at the last verified check that graded it (a check of one stage grades
/// only that stage's tests), as one entry dated by the last check; None before any check.
pub fn latest_history(root: &Path, manifest: &Manifest) -> Option<HistoryEntry> {
    let mut entries = read_history(root, manifest).entries;
    let mut latest = entries.pop()?;
    for older in entries.iter().rev() {
        for (test, status) in &older.tests {
            latest.tests.entry(test.clone()).or_insert(*status);
        }
    }
    Some(latest)
}

pub fn append_history(root: &Path, manifest: &Manifest, entry: &HistoryEntry) -> Result<()> {
    let path = root.join(HISTORY);
    let mut entry = entry.clone();
    entry.mac = match keyed::user_key() {
        Some(key) => Some(keyed::hex(&keyed::hmac_sha256(&key, &binding(manifest, &entry)?))),
        None => None,
    };
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let line = serde_json::to_string(&entry).context("cannot encode a history entry")?;
    // A line torn by a crash mid-write has no newline; starting a new line keeps this entry whole.
    let torn = fs::metadata(&path).is_ok_and(|m| m.len() > 0) && !ends_with_newline(&path);
    let text = format!("{}{line}\n", if torn { "\n" } else { "" });
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

fn ends_with_newline(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let mut last = [0u8; 1];
    fs::File::open(path)
        .and_then(|mut f| f.seek(SeekFrom::End(-1)).and_then(|_| f.read_exact(&mut last)))
        .is_ok_and(|()| last[0] == b'\n')
}
