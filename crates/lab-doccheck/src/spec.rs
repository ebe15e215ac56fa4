//! The rule parameters as a rules file spells them: one typed, strictly deserialised struct per
//! rule kind, plus the shared pieces (section names, columns, cell checks, table presets). This is
//! the vocabulary the rule kinds read; it knows nothing about parsing a whole rules file.

use serde::Deserialize;

/// A section named by its title, or by a list of accepted titles (the first is shown).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub(crate) fn list(&self) -> Vec<String> {
        match self {
            Names::One(s) => vec![s.clone()],
            Names::Many(v) => v.clone(),
        }
    }
    pub(crate) fn shown(&self) -> String {
        self.list().first().cloned().unwrap_or_default()
    }
}

fn yes() -> bool {
    true
}
fn three() -> usize {
    3
}
fn two() -> usize {
    2
}
fn one() -> usize {
    1
}
fn five_percent() -> f64 {
    0.05
}
fn capacity_lang() -> String {
    "capacity".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SectionReq {
    pub(crate) title: String,
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    #[serde(default = "yes")]
    pub(crate) non_empty: bool,
}

impl SectionReq {
    pub(crate) fn names(&self) -> Vec<String> {
        std::iter::once(self.title.clone()).chain(self.aliases.iter().cloned()).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SectionsSpec {
    pub(crate) file: String,
    pub(crate) sections: Vec<SectionReq>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WordFloorSpec {
    pub(crate) file: String,
    pub(crate) section: Option<Names>,
    pub(crate) min_words: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListItemsSpec {
    pub(crate) file: String,
    pub(crate) section: Names,
    pub(crate) min_items: usize,
    #[serde(default = "three")]
    pub(crate) min_words: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlaceholdersSpec {
    pub(crate) files: Vec<String>,
    #[serde(default)]
    pub(crate) exclude: Vec<String>,
    #[serde(default)]
    pub(crate) sections: Vec<Names>,
    pub(crate) patterns: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) extra_patterns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UnitsSpec {
    pub(crate) file: String,
    pub(crate) section: Names,
    pub(crate) min_count: usize,
    pub(crate) units: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) require_units: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Derived {
    pub(crate) name: String,
    pub(crate) formula: String,
    pub(crate) tolerance: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CapacitySpec {
    pub(crate) file: String,
    pub(crate) section: Option<Names>,
    #[serde(default = "capacity_lang")]
    pub(crate) block: String,
    #[serde(default)]
    pub(crate) inputs: Vec<String>,
    #[serde(default)]
    pub(crate) derived: Vec<Derived>,
    #[serde(default = "five_percent")]
    pub(crate) tolerance: f64,
    /// Plausible ranges of block values by name: `[min, max]` or `{ min, max, why }`.
    #[serde(default)]
    pub(crate) bounds: std::collections::BTreeMap<String, Bound>,
}

/// A plausible range for a capacity value, with the reason shown when it is left.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum Bound {
    Pair([f64; 2]),
    Explained {
        min: Option<f64>,
        max: Option<f64>,
        #[serde(default)]
        why: String,
    },
}

impl Bound {
    pub(crate) fn range(&self) -> (Option<f64>, Option<f64>, &str) {
        match self {
            Bound::Pair([a, b]) => (Some(*a), Some(*b), ""),
            Bound::Explained { min, max, why } => (*min, *max, why.as_str()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencySpec {
    pub(crate) file: String,
    /// Where the capacity block is (as in the `capacity` rule).
    pub(crate) section: Option<Names>,
    #[serde(default = "capacity_lang")]
    pub(crate) block: String,
    /// Capacity value name -> the phrases that name it in prose and tables.
    #[serde(default)]
    pub(crate) mentions: std::collections::BTreeMap<String, Vec<String>>,
    /// Check quantities restated in another unit ("45 MB/s (360 Mbps)").
    #[serde(default = "yes")]
    pub(crate) restatements: bool,
    /// The non-functional requirements and the SLOs: availability and latency targets of the
    /// first must be met by the second.
    pub(crate) requirements: Option<Names>,
    pub(crate) objectives: Option<Names>,
    #[serde(default = "five_percent")]
    pub(crate) tolerance: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SloSpec {
    pub(crate) file: String,
    pub(crate) section: Names,
    #[serde(default = "two")]
    pub(crate) min_slos: usize,
    #[serde(default = "five_percent")]
    pub(crate) tolerance: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MermaidSpec {
    pub(crate) file: String,
    pub(crate) section: Option<Names>,
    pub(crate) kinds: Vec<String>,
    /// The largest flowchart must draw this many components and edges.
    #[serde(default)]
    pub(crate) min_nodes: usize,
    #[serde(default)]
    pub(crate) min_edges: usize,
    /// The largest sequence diagram must have this many participants and messages.
    #[serde(default)]
    pub(crate) min_participants: usize,
    #[serde(default)]
    pub(crate) min_messages: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ComponentsSpec {
    pub(crate) file: String,
    /// Where the flowcharts are; the whole document when absent.
    pub(crate) section: Option<Names>,
    /// Components that need no explanation (e.g. "Client").
    #[serde(default)]
    pub(crate) ignore: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DecisionsSpec {
    /// The document whose trade-off tables the ADRs must agree with.
    pub(crate) file: String,
    pub(crate) section: Names,
    /// The ADR folder, and file names or patterns in it to skip (templates).
    pub(crate) dir: String,
    #[serde(default)]
    pub(crate) exclude: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiSpec {
    pub(crate) file: String,
    pub(crate) section: Names,
    #[serde(default = "three")]
    pub(crate) min_endpoints: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CellCheck {
    Nonempty,
    Any,
    Number,
    Rating,
    Link,
}

fn nonempty() -> CellCheck {
    CellCheck::Nonempty
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnSpec {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) aliases: Vec<String>,
    #[serde(default = "nonempty")]
    pub(crate) check: CellCheck,
}

impl ColumnSpec {
    pub(crate) fn names(&self) -> Vec<String> {
        std::iter::once(self.name.clone()).chain(self.aliases.iter().cloned()).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    pub(crate) label: String,
    pub(crate) any: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TableSpec {
    pub(crate) file: String,
    pub(crate) section: Names,
    pub(crate) columns: Option<Vec<ColumnSpec>>,
    pub(crate) min_rows: Option<usize>,
    #[serde(default)]
    pub(crate) required_rows: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TradeoffSpec {
    pub(crate) file: String,
    pub(crate) section: Names,
    #[serde(default = "two")]
    pub(crate) min_options: usize,
    #[serde(default = "three")]
    pub(crate) min_criteria: usize,
    #[serde(default = "one")]
    pub(crate) min_tables: usize,
    pub(crate) chosen_markers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdrSpec {
    pub(crate) dir: String,
    #[serde(default)]
    pub(crate) exclude: Vec<String>,
    #[serde(default = "three")]
    pub(crate) min_count: usize,
    pub(crate) statuses: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) referenced_from: Vec<String>,
    pub(crate) negative_markers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinksSpec {
    pub(crate) files: Vec<String>,
    #[serde(default)]
    pub(crate) exclude: Vec<String>,
    #[serde(default)]
    pub(crate) min_links: usize,
}

/// Which preset a `table`-family rule uses for its default columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TablePreset {
    Plain,
    DataModel,
    FailureModes,
}
