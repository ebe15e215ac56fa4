//! Real Mermaid parsing for docs workspaces: `lab setup` installs the pinned parser (Node.js, from
//! the npm registry) into `.lab/mermaid/`, and `lab check` runs it once over every diagram the
//! mermaid rules read. Without it the diagrams get the document checker's structural scan only,
//! and the report says they were not parsed.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use lab_doccheck::MermaidBlock;
use serde::{Deserialize, Serialize};

use super::{Outcome, TestResult};
use crate::process::{describe_exit, on_path, Cmd};

/// Overrides the Node.js program setup tests and check runs.
pub const ENV_NODE: &str = "LAB_NODE";
/// A parser folder to use instead of the workspace's `.lab/mermaid` (one install shared by many
/// workspaces, as `lab validate` and the tests do).
pub const ENV_MERMAID: &str = "LAB_MERMAID";
/// The parser's folder in a workspace.
pub const PARSER_DIR: &str = ".lab/mermaid";
/// What the pins install, as reports name it (a unit test holds it to package.json).
pub const PARSER: &str = "mermaid 11.17.2";

/// The install, written by lab from these constants: `npm ci` installs exactly the lock.
const PACKAGE_JSON: &str = include_str!("mermaid/package.json");
const PACKAGE_LOCK: &str = include_str!("mermaid/package-lock.json");
const SCRIPT: &str = include_str!("mermaid/parse.mjs");
const SCRIPT_NAME: &str = "parse.mjs";
/// Written last into a finished install; holds [`PARSER`].
const READY: &str = "lab-ready";
/// Verdicts already given, by diagram text, so an unchanged diagram is not parsed again.
const VERDICTS: &str = "verdicts.json";
/// The most verdicts kept.
const VERDICTS_KEPT: usize = 512;
/// Where `lab check` writes the diagrams for the script to read.
const INPUT: &str = ".lab/run/mermaid-diagrams.json";
/// The oldest Node.js the pinned packages support (marked needs 20).
const MIN_NODE: u32 = 20;
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);
/// A parser message is cut to this many characters (an unknown header repeats the whole text).
const MAX_MESSAGE: usize = 600;

/// The diagrams the finished install must judge right before it counts as installed.
const SELF_TEST: [(&str, bool); 2] =
    [("flowchart LR\n  A -->|ok| B\n", true), ("flowchart LR\n  A -->>|x| B\n", false)];

const NO_NODE: &str = "Mermaid diagrams will be checked structurally only, not parsed: Node.js 20 or newer (node and npm on PATH) was not found. Install it and run `lab setup` again to have `lab check` parse every diagram with the real Mermaid parser (LAB_NODE names a node that is not on PATH).";
const NODE_TOO_OLD: &str = "The Mermaid parser needs Node.js 20 or newer, so diagrams will be checked structurally only, not parsed. Install a newer Node.js (or point LAB_NODE at one) and run `lab setup` again.";
const NODE_GONE: &str = "the Mermaid parser is installed in this workspace, but `node` is not on PATH to run it: install Node.js 20 or newer (or set LAB_NODE), or remove the parser's folder to have the diagrams checked structurally only";
const INSTALL_FAILED: &str = "installing the Mermaid parser failed; nothing was left half-installed. `lab check` still checks the diagrams structurally. Fix the problem above (npm must reach its registry) and run `lab setup` again";
const NOT_INSTALLED_NOTE: &str = "the Mermaid parser is not installed in this workspace: with Node.js 20 or newer (node and npm on PATH), `lab setup` installs it";
const OUTDATED_NOTE: &str =
    "the Mermaid parser in this workspace was installed by another version of lab: run `lab setup` to update it";

/// How a docs check treated the Mermaid diagrams its rules read: `diagrams` in `lab check --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagrams {
    /// Parsed by the real parser, or only scanned.
    pub checked: Checked,
    /// How many distinct ```mermaid blocks the rules read.
    pub count: usize,
    /// The parser that judged them, when they were parsed ("mermaid 11.17.2").
    pub parser: Option<String>,
    /// How many of them the parser rejected.
    pub rejected: usize,
    /// With `structural`: why they were not parsed, and how to have them parsed.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Checked {
    /// Every diagram went through the real Mermaid parser.
    Parsed,
    /// The structural scan only: a diagram that passed was not proven valid.
    Structural,
}

impl Diagrams {
    fn structural(count: usize, note: &str) -> Diagrams {
        Diagrams { checked: Checked::Structural, count, parser: None, rejected: 0, note: Some(note.to_string()) }
    }
}

/// The parser's folder: LAB_MERMAID, else the workspace's `.lab/mermaid`.
pub fn parser_dir(root: &Path) -> PathBuf {
    env::var_os(ENV_MERMAID).map(PathBuf::from).unwrap_or_else(|| root.join(PARSER_DIR))
}

/// `lab setup` for a docs workspace. Without Node.js it says the diagrams will be checked
/// structurally and succeeds; a failed install is an error and leaves nothing that looks
/// installed (it is made in a temporary folder and renamed into place at the end).
pub fn setup(root: &Path, quiet: bool) -> Result<()> {
    let say = |text: String| {
        if !quiet {
            crate::say!("{text}");
        }
    };
    let dir = parser_dir(root);
    if installed(&dir) {
        say(format!("The Mermaid parser ({PARSER}) is installed in {}", dir.display()));
        return Ok(());
    }
    let node = node();
    let npm = npm(&node);
    let major = match (&npm, node_major(&node)) {
        (Some(_), Some(major)) if major >= MIN_NODE => major,
        (_, Some(major)) if major < MIN_NODE => {
            say(format!("{} is Node.js {major}. {NODE_TOO_OLD}", node.display()));
            return Ok(());
        }
        _ => {
            say(NO_NODE.to_string());
            return Ok(());
        }
    };
    let npm = npm.unwrap_or_else(|| PathBuf::from("npm"));
    say(format!("Installing the Mermaid parser ({PARSER}, with jsdom; about 170 MB) into {}", dir.display()));
    let parent = dir.parent().ok_or_else(|| anyhow!("{} has no parent folder", dir.display()))?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    remove_abandoned(parent, &name);
    let partial = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let made = install(&partial, &node, &npm).with_context(|| format!("with Node.js {major}"));
    if let Err(err) = made {
        let _ = fs::remove_dir_all(&partial);
        return Err(err.context(INSTALL_FAILED));
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove the outdated parser in {}", dir.display()))?;
    }
    if let Err(err) = fs::rename(&partial, &dir) {
        let _ = fs::remove_dir_all(&partial);
        // Another setup sharing the folder may have finished first.
        if !installed(&dir) {
            return Err(err).with_context(|| format!("cannot move the parser into {}", dir.display()));
        }
    }
    say(format!("Installed: `lab check` parses every diagram with {PARSER}."));
    Ok(())
}

/// Removes what a setup killed outright (SIGKILL, power loss) left: a partial install whose
/// process is gone. One still being made by a live setup is left alone.
fn remove_abandoned(parent: &Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file.strip_prefix(&prefix) else { continue };
        if !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Installs into `dir` (made afresh): the pinned files, `npm ci`, the script, a self-test, and
/// the ready mark last.
fn install(dir: &Path, node: &Path, npm: &Path) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (file, text) in [
        ("package.json", PACKAGE_JSON),
        ("package-lock.json", PACKAGE_LOCK),
        (SCRIPT_NAME, SCRIPT),
        // Never part of the learner's repository, whatever .lab/.gitignore says.
        (".gitignore", "*\n"),
    ] {
        let path = dir.join(file);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Cmd::new(npm)
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
        .arg(dir)
        .cwd(dir)
        .timeout(INSTALL_TIMEOUT)
        .run_ok()?;
    let blocks: Vec<Input> =
        SELF_TEST.iter().map(|(text, _)| Input { file: "self-test".into(), line: 1, text: text.to_string() }).collect();
    let input = dir.join("self-test.json");
    fs::write(&input, serde_json::to_string(&blocks)?).with_context(|| format!("cannot write {}", input.display()))?;
    let (_, verdicts) = run_script(node, dir, &input, blocks.len(), PROBE_TIMEOUT)?;
    fs::remove_file(&input).with_context(|| format!("cannot remove {}", input.display()))?;
    for ((text, valid), verdict) in SELF_TEST.iter().zip(&verdicts) {
        if verdict.ok != *valid {
            bail!("the installed parser judged {text:?} wrongly: {verdict:?}");
        }
    }
    let ready = dir.join(READY);
    fs::write(&ready, format!("{PARSER}\n")).with_context(|| format!("cannot write {}", ready.display()))
}

/// A finished install of exactly these pins and this script.
fn installed(dir: &Path) -> bool {
    let same = |file: &str, text: &str| fs::read(dir.join(file)).is_ok_and(|b| b == text.as_bytes());
    dir.join(READY).is_file() && same("package-lock.json", PACKAGE_LOCK) && same(SCRIPT_NAME, SCRIPT)
}

fn node() -> PathBuf {
    env::var_os(ENV_NODE).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("node"))
}

/// npm beside LAB_NODE's node, else on PATH.
fn npm(node: &Path) -> Option<PathBuf> {
    let beside = node.parent().filter(|p| !p.as_os_str().is_empty()).map(|p| p.join("npm"));
    match beside {
        Some(npm) if npm.is_file() => Some(npm),
        _ => on_path("npm").then(|| PathBuf::from("npm")),
    }
}

/// The major version `node --version` reports; None when node cannot run.
fn node_major(node: &Path) -> Option<u32> {
    let out = Cmd::new(node).arg("--version").timeout(PROBE_TIMEOUT).run().ok().filter(|o| o.success())?;
    out.stdout.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}

/// One diagram as the script reads it.
#[derive(Debug, Serialize)]
struct Input {
    file: String,
    line: u32,
    text: String,
}

/// The script's output.
#[derive(Debug, Deserialize)]
struct ScriptOutput {
    parser: String,
    results: Vec<Verdict>,
}

/// The parser's verdict on one diagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Verdict {
    ok: bool,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    error: Option<String>,
    /// The parser's 1-based line in the text it parsed.
    #[serde(default)]
    line: Option<u32>,
}

/// Runs the script over the diagrams in `input`; anything but a full answer is an error.
fn run_script(
    node: &Path,
    dir: &Path,
    input: &Path,
    count: usize,
    timeout: Duration,
) -> Result<(String, Vec<Verdict>)> {
    let cmd = Cmd::new(node).arg(dir.join(SCRIPT_NAME)).arg(input).cwd(dir).env_remove("NODE_OPTIONS").timeout(timeout);
    let out = cmd.run()?;
    if out.timed_out {
        bail!("`{}` timed out after {} s", cmd.display(), timeout.as_secs());
    }
    if !out.success() {
        bail!("`{}` failed ({})\n{}", cmd.display(), describe_exit(out.code), out.combined().trim_end());
    }
    parse_output(&out.stdout, count).with_context(|| format!("`{}` answered unexpectedly", cmd.display()))
}

/// The script's one JSON document, with exactly one verdict per diagram.
fn parse_output(stdout: &str, count: usize) -> Result<(String, Vec<Verdict>)> {
    let out: ScriptOutput = serde_json::from_str(stdout.trim())
        .with_context(|| format!("its output is not the expected JSON:\n{}", stdout.trim_end()))?;
    if out.results.len() != count {
        bail!("it judged {} diagrams of {count}", out.results.len());
    }
    Ok((out.parser, out.results))
}

/// A diagram the parser rejected, ready to fail the rule that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub rule_id: String,
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// What parsing the diagrams gave: how they were checked, and the rejections.
#[derive(Debug)]
pub struct Parsed {
    pub diagrams: Diagrams,
    pub rejections: Vec<Rejection>,
}

/// Parses every block with the installed parser, one node process for all (none when every
/// diagram was judged before). Not installed: the structural note. An `Err` (node missing,
/// crashed or timed out, a verdict that is no verdict) is an error of the check.
pub fn parse(root: &Path, blocks: &[MermaidBlock], timeout: Duration) -> Result<Parsed> {
    // A block two rules read is parsed once.
    let mut distinct: Vec<&MermaidBlock> = Vec::new();
    for b in blocks {
        if !distinct.iter().any(|d| d.file == b.file && d.line == b.line) {
            distinct.push(b);
        }
    }
    let dir = parser_dir(root);
    if !installed(&dir) {
        let note = if dir.join(READY).exists() { OUTDATED_NOTE } else { NOT_INSTALLED_NOTE };
        return Ok(Parsed { diagrams: Diagrams::structural(distinct.len(), note), rejections: Vec::new() });
    }
    let mut cache = Cache::load(&dir);
    let unknown: Vec<&MermaidBlock> = distinct.iter().copied().filter(|b| !cache.has(&b.text)).collect();
    if !unknown.is_empty() {
        let input = root.join(INPUT);
        let listed: Vec<Input> =
            unknown.iter().map(|b| Input { file: b.file.clone(), line: b.line, text: b.text.clone() }).collect();
        if let Some(parent) = input.parent() {
            fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&input, serde_json::to_string(&listed)?)
            .with_context(|| format!("cannot write {}", input.display()))?;
        if env::var_os(ENV_NODE).is_none() && !on_path("node") {
            bail!("{NODE_GONE} ({})", dir.display());
        }
        let (parser, verdicts) = run_script(&node(), &dir, &input, listed.len(), timeout)?;
        if parser != PARSER {
            bail!("the parser in {} is {parser}, not the {PARSER} lab installs: run `lab setup` again", dir.display());
        }
        for (b, v) in unknown.iter().zip(verdicts) {
            if v.ok || v.kind.as_deref() != Some("internal") {
                cache.insert(&b.text, v);
                continue;
            }
            bail!(
                "the Mermaid parser broke on the diagram at {}:{} (no verdict on the diagram): {}",
                b.file,
                b.line,
                v.error.as_deref().unwrap_or("no message")
            );
        }
        cache.save(&dir);
    }
    let mut rejections = Vec::new();
    let mut rejected = 0;
    for d in &distinct {
        let Some(v) = cache.get(&d.text).filter(|v| !v.ok) else { continue };
        rejected += 1;
        let line = d.line + v.line.and_then(|l| source_offset(&d.text, l)).unwrap_or(0);
        let message = rejection_message(v.error.as_deref().unwrap_or("no message"));
        for b in blocks.iter().filter(|b| b.file == d.file && b.line == d.line) {
            rejections.push(Rejection {
                rule_id: b.rule_id.clone(),
                file: b.file.clone(),
                line,
                message: message.clone(),
            });
        }
    }
    let diagrams = Diagrams {
        checked: Checked::Parsed,
        count: distinct.len(),
        parser: Some(PARSER.to_string()),
        rejected,
        note: None,
    };
    Ok(Parsed { diagrams, rejections })
}

/// Fails each rule that read a rejected diagram: the parser's message becomes the failure (or is
/// added to a failure the scan already found), with the diagram's file and line.
pub fn apply(results: &mut [TestResult], rejections: &[Rejection]) {
    for r in rejections {
        let Some(test) = results.iter_mut().find(|t| t.name == r.rule_id) else { continue };
        if test.outcome == Outcome::Pass {
            test.outcome = Outcome::Fail;
            test.message = r.message.clone();
            test.file = Some(r.file.clone());
            test.line = Some(r.line);
        } else {
            test.message.push_str(&format!("\nalso ({}:{}): {}", r.file, r.line, r.message));
        }
    }
}

/// The parser's error as a finding's message. A jison message ("Parse error on line N:", the
/// text around the place, a caret, "Expecting …") is reordered so its gist comes first.
fn rejection_message(error: &str) -> String {
    let lines: Vec<&str> = error.lines().collect();
    let body = match lines.as_slice() {
        [head, context, caret, expecting, ..] if head.starts_with("Parse error on line") && caret.ends_with('^') => {
            format!("{expecting}\n  {context}\n  {caret}")
        }
        _ => error.trim().to_string(),
    };
    let body = if body.chars().count() > MAX_MESSAGE {
        format!("{}…", body.chars().take(MAX_MESSAGE).collect::<String>())
    } else {
        body
    };
    format!("the Mermaid parser ({PARSER}) rejects this diagram: {body}")
}

/// Where the parser's line `parser_line` (1-based, in the text Mermaid parses after it drops
/// front matter, `%%` comment lines and leading blank lines) is in the diagram as written:
/// 0-based from its first line. None when the line is not in the text.
fn source_offset(text: &str, parser_line: u32) -> Option<u32> {
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    // Front matter: `---` on the first line up to the next `---` line, and the blank lines after.
    if lines.first().is_some_and(|l| l.trim() == "---") {
        if let Some(end) = lines.iter().skip(1).position(|l| l.trim() == "---") {
            start = end + 2;
            while lines.get(start).is_some_and(|l| l.trim().is_empty()) {
                start += 1;
            }
        }
    }
    let mut kept = Vec::new();
    let mut blanks = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start) {
        let t = line.trim();
        // A directive line (`%%{init: …}%%`) is removed to an empty line.
        let t = if t.starts_with("%%{") && t.ends_with("}%%") { "" } else { t };
        if t.starts_with("%%") && !t.starts_with("%%{") && t.len() > 2 {
            // A comment line goes, and so do the blank lines just before it.
            blanks.clear();
        } else if t.is_empty() {
            blanks.push(i);
        } else {
            // Leading blank lines are trimmed away.
            if !kept.is_empty() {
                kept.append(&mut blanks);
            }
            blanks.clear();
            kept.push(i);
        }
    }
    kept.extend(blanks);
    let i = kept.get(parser_line.checked_sub(1)? as usize)?;
    u32::try_from(*i).ok()
}

/// Verdicts by diagram text, kept in the parser's folder: a diagram's verdict depends only on its
/// text and the parser, and a new parser is a new folder. Newest last; losing it costs only time.
struct Cache {
    entries: Vec<(String, Verdict)>,
}

impl Cache {
    fn load(dir: &Path) -> Cache {
        let entries = fs::read_to_string(dir.join(VERDICTS))
            .ok()
            .and_then(|text| serde_json::from_str::<Vec<(String, Verdict)>>(&text).ok())
            .unwrap_or_default();
        Cache { entries }
    }

    fn has(&self, text: &str) -> bool {
        self.get(text).is_some()
    }

    fn get(&self, text: &str) -> Option<&Verdict> {
        self.entries.iter().rev().find(|(t, _)| t == text).map(|(_, v)| v)
    }

    fn insert(&mut self, text: &str, verdict: Verdict) {
        self.entries.retain(|(t, _)| t != text);
        self.entries.push((text.to_string(), verdict));
        let excess = self.entries.len().saturating_sub(VERDICTS_KEPT);
        self.entries.drain(..excess);
    }

    /// Written whole and renamed into place, so a reader never sees half a file. A folder that
    /// cannot be written (a shared, read-only install) just keeps no cache.
    fn save(&self, dir: &Path) {
        let Ok(text) = serde_json::to_string(&self.entries) else { return };
        let tmp = dir.join(format!("{VERDICTS}.{}", std::process::id()));
        if fs::write(&tmp, text).is_ok() && fs::rename(&tmp, dir.join(VERDICTS)).is_err() {
            let _ = fs::remove_file(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What parse.mjs printed for six diagrams (the input is in the test below).
    const RECORDED: &str = include_str!("../../tests/fixtures/runner-output/mermaid-parse.json");

    #[test]
    fn the_pins_install_the_parser_reports_name() {
        let package: serde_json::Value = serde_json::from_str(PACKAGE_JSON).unwrap();
        let lock: serde_json::Value = serde_json::from_str(PACKAGE_LOCK).unwrap();
        let version = package["dependencies"]["mermaid"].as_str().unwrap();
        assert_eq!(PARSER, format!("mermaid {version}"));
        assert_eq!(
            lock["packages"]["node_modules/mermaid"]["version"], version,
            "the lock is out of step with package.json"
        );
        assert_eq!(lock["packages"][""]["dependencies"], package["dependencies"]);
        assert!(RECORDED.contains(&format!("\"parser\":\"{PARSER}\"")), "re-record the fixture with the new parser");
    }

    #[test]
    fn recorded_output_gives_one_verdict_per_diagram_with_the_parsers_line() {
        let (parser, verdicts) = parse_output(RECORDED, 6).unwrap();
        assert_eq!(parser, PARSER);
        let ok: Vec<bool> = verdicts.iter().map(|v| v.ok).collect();
        assert_eq!(ok, [false, false, true, false, false, false]);
        let lines: Vec<Option<u32>> = verdicts.iter().map(|v| v.line).collect();
        assert_eq!(lines, [Some(2), Some(2), None, Some(3), Some(3), None]);
        assert!(verdicts.iter().all(|v| v.ok || v.kind.as_deref() == Some("syntax")));
        // A short or garbled answer is no answer.
        assert!(format!("{:#}", parse_output(RECORDED, 7).unwrap_err()).contains("judged 6 diagrams of 7"));
        assert!(format!("{:#}", parse_output("Segmentation fault\n", 1).unwrap_err()).contains("not the expected JSON"));
    }

    #[test]
    fn a_jison_message_leads_with_what_was_expected() {
        let (_, verdicts) = parse_output(RECORDED, 6).unwrap();
        let flow = rejection_message(verdicts[0].error.as_deref().unwrap());
        assert_eq!(
            flow.lines().next().unwrap(),
            "the Mermaid parser (mermaid 11.17.2) rejects this diagram: Expecting 'AMP', 'COLON', 'PIPE', 'TESTSTR', 'DOWN', 'DEFAULT', 'NUM', 'COMMA', 'NODE_STRING', 'BRKT', 'MINUS', 'MULT', 'UNICODE_TEXT', got 'TAGEND'"
        );
        assert_eq!(flow.lines().nth(1).unwrap(), "  flowchart LR  A -->>|x| B");
        assert!(flow.lines().nth(2).unwrap().ends_with('^'));
        let pie = rejection_message(verdicts[3].error.as_deref().unwrap());
        assert!(pie.ends_with("rejects this diagram: Parsing failed: Lexer error on line 3, column 7: unexpected character: ->x<- at offset: 20, skipped 1 characters. Parse error on line 3, column 8: Expecting token of type ':' but found `\n`."), "{pie}");
        let long = rejection_message(&"x".repeat(5000));
        assert!(long.chars().count() < MAX_MESSAGE + 80 && long.ends_with('…'));
    }

    #[test]
    fn the_parsers_line_maps_back_past_front_matter_comments_and_leading_blanks() {
        let plain = "flowchart LR\n  A -->>|x| B\n";
        assert_eq!(source_offset(plain, 2), Some(1));
        // The recorded fifth diagram: the parser said line 3; as written it is the seventh.
        let framed = "---\ntitle: Flow\n---\nflowchart LR\n  %% the entry point\n  A --> B\n  B -->>|x| C\n";
        assert_eq!(source_offset(framed, 3), Some(6));
        // Blank lines before a comment go with it; other blank lines stay; leading ones go.
        let spaced = "\n\nflowchart LR\n  A --> B\n\n\n  %% c\n  B --> C\n\n  C -->>|x| D\n";
        assert_eq!(source_offset(spaced, 1), Some(2));
        assert_eq!(source_offset(spaced, 3), Some(7));
        assert_eq!(source_offset(spaced, 5), Some(9));
        let directive = "%%{init: {'theme': 'dark'}}%%\nflowchart LR\n  A -->>|x| B\n";
        assert_eq!(source_offset(directive, 2), Some(2));
        let after = "flowchart LR\n  A --> B\n  %% c\n\n  B -->>|x| C\n";
        assert_eq!(source_offset(after, 4), Some(4), "a blank line after a comment stays");
        assert_eq!(source_offset(plain, 9), None);
        assert_eq!(source_offset(plain, 0), None);
    }

    fn result(name: &str, outcome: Outcome, message: &str) -> TestResult {
        TestResult { message: message.into(), ..TestResult::new(name.into(), outcome) }
    }

    #[test]
    fn a_rejection_fails_the_rule_that_read_the_diagram() {
        let mut results = vec![
            result("flow", Outcome::Pass, ""),
            result("seq", Outcome::Fail, "the sequence diagram has 2 participants"),
            result("other", Outcome::Pass, ""),
        ];
        let reject = |rule: &str, line: u32| Rejection {
            rule_id: rule.into(),
            file: "docs/design.md".into(),
            line,
            message: format!("rejected at {line}"),
        };
        apply(&mut results, &[reject("flow", 12), reject("seq", 30), reject("flow", 40)]);
        assert_eq!(results[0].outcome, Outcome::Fail);
        assert_eq!((results[0].file.as_deref(), results[0].line), (Some("docs/design.md"), Some(12)));
        assert_eq!(results[0].message, "rejected at 12\nalso (docs/design.md:40): rejected at 40");
        assert_eq!(
            results[1].message,
            "the sequence diagram has 2 participants\nalso (docs/design.md:30): rejected at 30"
        );
        assert_eq!(results[2], result("other", Outcome::Pass, ""));
    }

    #[test]
    fn only_a_finished_install_of_these_pins_counts_as_installed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let block =
            MermaidBlock { rule_id: "r".into(), file: "d.md".into(), line: 3, text: "flowchart LR\nA-->B\n".into() };
        let parsed = parse(root, std::slice::from_ref(&block), Duration::from_secs(5)).unwrap();
        assert_eq!(parsed.diagrams, Diagrams::structural(1, NOT_INSTALLED_NOTE));
        // What an interrupted setup would leave if it wrote in place: no ready mark.
        let parser = root.join(PARSER_DIR);
        fs::create_dir_all(parser.join("node_modules")).unwrap();
        fs::write(parser.join("package-lock.json"), PACKAGE_LOCK).unwrap();
        fs::write(parser.join(SCRIPT_NAME), SCRIPT).unwrap();
        assert!(!installed(&parser));
        fs::write(parser.join(READY), PARSER).unwrap();
        assert!(installed(&parser));
        fs::write(parser.join("package-lock.json"), "{}").unwrap();
        assert!(!installed(&parser));
        let parsed = parse(root, &[block], Duration::from_secs(5)).unwrap();
        assert_eq!(parsed.diagrams.note.as_deref(), Some(OUTDATED_NOTE));
        assert!(parsed.rejections.is_empty());
    }

    #[test]
    fn diagrams_serialize_as_the_json_report_documents() {
        let value = serde_json::to_value(Diagrams::structural(2, "why")).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"checked": "structural", "count": 2, "parser": null, "rejected": 0, "note": "why"})
        );
    }

    #[test]
    fn cached_verdicts_survive_a_reload_and_stay_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = Cache::load(dir.path());
        let bad = Verdict { ok: false, kind: Some("syntax".into()), error: Some("no".into()), line: Some(2) };
        cache.insert("a", bad.clone());
        for i in 0..VERDICTS_KEPT {
            cache.insert(&format!("ok {i}"), Verdict { ok: true, kind: None, error: None, line: None });
        }
        assert!(!cache.has("a"), "the oldest verdict makes room");
        cache.insert("a", bad.clone());
        cache.save(dir.path());
        let reloaded = Cache::load(dir.path());
        assert_eq!(reloaded.get("a"), Some(&bad));
        assert_eq!(reloaded.entries.len(), VERDICTS_KEPT);
    }
}
