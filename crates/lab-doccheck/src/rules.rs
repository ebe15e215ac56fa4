//! The rules file: TOML with `format_version = 1` and `[[rule]]` entries, parsed into typed rules.
//! Parsing is strict (unknown fields, unknown kinds, unsafe paths and bad formulas are errors
//! naming the rule) so an instructor's typo fails `lab validate` instead of silently grading
//! nothing.

use std::fmt;

use anyhow::{anyhow, bail, Context, Result};
use serde::de::DeserializeOwned;

use crate::formula::Expr;
use crate::mermaid::KNOWN_KINDS;
use crate::spec::{
    AdrSpec, ApiSpec, CapacitySpec, ComponentsSpec, ConsistencySpec, DecisionsSpec, LinksSpec, ListItemsSpec,
    MermaidSpec, PlaceholdersSpec, SectionsSpec, SloSpec, TablePreset, TableSpec, TradeoffSpec, UnitsSpec,
    WordFloorSpec,
};

/// A rule's kind with its parameters (a `capacity` rule also holds its parsed formulas).
#[derive(Debug, Clone)]
pub(crate) enum Spec {
    Sections(SectionsSpec),
    WordFloor(WordFloorSpec),
    ListItems(ListItemsSpec),
    Placeholders(PlaceholdersSpec),
    Units(UnitsSpec),
    Capacity(CapacitySpec, Vec<Expr>),
    Consistency(ConsistencySpec),
    Components(ComponentsSpec),
    Decisions(DecisionsSpec),
    Slo(SloSpec),
    Mermaid(MermaidSpec),
    Api(ApiSpec),
    Table(TableSpec, TablePreset),
    Tradeoff(TradeoffSpec),
    Adr(AdrSpec),
    Links(LinksSpec),
}

/// One `[[rule]]`: its id (the graded test's name) and what it checks.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) id: String,
    pub(crate) spec: Spec,
}

/// A parsed rules file: its rules in file order, each one graded test.
#[derive(Debug, Clone)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter()
    }
}

/// Why a rules file was refused. The message names the rule (by id and kind) and the problem,
/// e.g. ``rule "numbers-slos" (kind slo): unknown field `min_slo`, expected one of ...``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesError {
    message: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RulesError {}

const KINDS: &[&str] = &[
    "sections",
    "word_floor",
    "list_items",
    "no_placeholders",
    "numbers_with_units",
    "capacity",
    "consistency",
    "slo",
    "mermaid",
    "components",
    "decisions",
    "api_endpoints",
    "table",
    "data_model",
    "failure_modes",
    "tradeoff_table",
    "adr",
    "links",
];

fn params<T: DeserializeOwned>(table: toml::Table) -> Result<T> {
    toml::Value::Table(table).try_into::<T>().map_err(|e| anyhow!("{}", e.to_string().trim()))
}

/// Paths in a rules file are workspace-relative and may not leave the workspace.
fn check_path(p: &str) -> Result<()> {
    if p.is_empty()
        || p.starts_with('/')
        || p.contains('\\')
        || p.split('/').any(|c| c == "..")
        || p.chars().nth(1) == Some(':')
    {
        bail!("path {p:?} must be relative to the workspace root, '/'-separated, without '..'");
    }
    Ok(())
}

/// Parses a rules file; the error carries the whole chain of causes as one message.
pub(crate) fn parse(text: &str) -> Result<Rules, RulesError> {
    parse_entries(text).map(|rules| Rules { rules }).map_err(|e| RulesError { message: format!("{e:#}") })
}

fn parse_entries(text: &str) -> Result<Vec<Rule>> {
    let doc: toml::Table = text.parse().context("the rules file is not valid TOML")?;
    for key in doc.keys() {
        if key != "format_version" && key != "rule" {
            bail!("unknown top-level key {key:?} in the rules file (expected format_version and [[rule]])");
        }
    }
    match doc.get("format_version") {
        Some(toml::Value::Integer(1)) => {}
        Some(v) => bail!("unsupported format_version {v} in the rules file (this checker reads 1)"),
        None => bail!("the rules file has no format_version (write format_version = 1)"),
    }
    let entries = match doc.get("rule") {
        None => return Ok(Vec::new()),
        Some(toml::Value::Array(a)) => a.clone(),
        Some(_) => bail!("`rule` must be an array of tables: write each rule as [[rule]]"),
    };
    let mut rules: Vec<Rule> = Vec::new();
    for (n, entry) in entries.into_iter().enumerate() {
        let toml::Value::Table(mut t) = entry else {
            bail!("rule #{} is not a table", n + 1);
        };
        let id = match t.remove("id") {
            Some(toml::Value::String(s)) if !s.trim().is_empty() => s,
            _ => bail!("rule #{} has no id (a non-empty string)", n + 1),
        };
        if rules.iter().any(|r| r.id == id) {
            bail!("rule id {id:?} is used twice: ids must be unique");
        }
        let kind = match t.remove("kind") {
            Some(toml::Value::String(s)) => s,
            _ => bail!("rule {id:?} has no kind (one of: {})", KINDS.join(", ")),
        };
        t.remove("description");
        let spec = parse_spec(&kind, t).with_context(|| format!("rule {id:?} (kind {kind})"))?;
        rules.push(Rule { id, spec });
    }
    Ok(rules)
}

fn parse_spec(kind: &str, t: toml::Table) -> Result<Spec> {
    let spec = match kind {
        "sections" => Spec::Sections(params(t)?),
        "word_floor" => Spec::WordFloor(params(t)?),
        "list_items" => Spec::ListItems(params(t)?),
        "no_placeholders" => Spec::Placeholders(params(t)?),
        "numbers_with_units" => Spec::Units(params(t)?),
        "capacity" => {
            let c: CapacitySpec = params(t)?;
            let mut exprs = Vec::new();
            for d in &c.derived {
                exprs.push(Expr::parse(&d.formula).map_err(|e| anyhow!("formula for {:?}: {e}", d.name))?);
            }
            if !(c.tolerance >= 0.0 && c.tolerance < 1.0) {
                bail!("tolerance must be a fraction between 0 and 1 (0.05 is 5%)");
            }
            for (name, bound) in &c.bounds {
                if !c.inputs.contains(name) && !c.derived.iter().any(|d| &d.name == name) {
                    bail!("bounds name `{name}`, which is neither an input nor a derived value of this rule");
                }
                if let (Some(lo), Some(hi), _) = bound.range() {
                    if lo > hi {
                        bail!("bounds for `{name}`: the minimum {lo} is above the maximum {hi}");
                    }
                }
            }
            Spec::Capacity(c, exprs)
        }
        "consistency" => {
            let c: ConsistencySpec = params(t)?;
            for (name, phrases) in &c.mentions {
                if phrases.iter().any(|p| p.trim().is_empty()) || phrases.is_empty() {
                    bail!("mentions of `{name}`: list the phrases that name it, none empty");
                }
            }
            if !(c.tolerance >= 0.0 && c.tolerance < 1.0) {
                bail!("tolerance must be a fraction between 0 and 1 (0.05 is 5%)");
            }
            Spec::Consistency(c)
        }
        "slo" => Spec::Slo(params(t)?),
        "mermaid" => {
            let m: MermaidSpec = params(t)?;
            for k in &m.kinds {
                if !KNOWN_KINDS.contains(&k.as_str()) {
                    bail!("unknown diagram kind {k:?} (known: {})", KNOWN_KINDS.join(", "));
                }
            }
            Spec::Mermaid(m)
        }
        "components" => Spec::Components(params(t)?),
        "decisions" => Spec::Decisions(params(t)?),
        "api_endpoints" => Spec::Api(params(t)?),
        "table" => {
            let s: TableSpec = params(t)?;
            if s.columns.is_none() {
                bail!("a `table` rule needs `columns`");
            }
            Spec::Table(s, TablePreset::Plain)
        }
        "data_model" => Spec::Table(params(t)?, TablePreset::DataModel),
        "failure_modes" => Spec::Table(params(t)?, TablePreset::FailureModes),
        "tradeoff_table" => Spec::Tradeoff(params(t)?),
        "adr" => Spec::Adr(params(t)?),
        "links" => Spec::Links(params(t)?),
        other => bail!("unknown kind {other:?} (one of: {})", KINDS.join(", ")),
    };
    for p in spec_paths(&spec) {
        check_path(p)?;
    }
    Ok(spec)
}

fn spec_paths(spec: &Spec) -> Vec<&str> {
    match spec {
        Spec::Sections(s) => vec![&s.file],
        Spec::WordFloor(s) => vec![&s.file],
        Spec::ListItems(s) => vec![&s.file],
        Spec::Placeholders(s) => s.files.iter().map(|f| f.as_str()).collect(),
        Spec::Units(s) => vec![&s.file],
        Spec::Capacity(s, _) => vec![&s.file],
        Spec::Consistency(s) => vec![&s.file],
        Spec::Components(s) => vec![&s.file],
        Spec::Decisions(s) => vec![&s.file, &s.dir],
        Spec::Slo(s) => vec![&s.file],
        Spec::Mermaid(s) => vec![&s.file],
        Spec::Api(s) => vec![&s.file],
        Spec::Table(s, _) => vec![&s.file],
        Spec::Tradeoff(s) => vec![&s.file],
        Spec::Adr(s) => std::iter::once(s.dir.as_str()).chain(s.referenced_from.iter().map(|f| f.as_str())).collect(),
        Spec::Links(s) => s.files.iter().map(|f| f.as_str()).collect(),
    }
}
