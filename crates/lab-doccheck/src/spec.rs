//! The rule parameters as a rules file spells them: one typed, strictly deserialised struct per
//! rule kind, plus the shared pieces (section names, columns, cell checks, table presets). This is
//! the vocabulary the rule kinds read; it knows nothing about parsing a whole rules file.

use serde::Deserialize;

/// A section named by its title, or by a list of accepted titles (the first is shown).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub fn list(&self) -> Vec<String> {
        match self {
            Names::One(s) => vec![s.clone()],
            Names::Many(v) => v.clone(),
        }
    }
    pub fn shown(&self) -> String {
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
pub struct SectionReq {
    pub title: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default = "yes")]
    pub non_empty: bool,
}

impl SectionReq {
    pub fn names(&self) -> Vec<String> {
        std::iter::once(self.title.clone()).chain(self.aliases.iter().cloned()).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionsSpec {
    pub file: String,
    pub sections: Vec<SectionReq>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordFloorSpec {
    pub file: String,
    pub section: Option<Names>,
    pub min_words: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItemsSpec {
    pub file: String,
    pub section: Names,
    pub min_items: usize,
    #[serde(default = "three")]
    pub min_words: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceholdersSpec {
    pub files: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub sections: Vec<Names>,
    pub patterns: Option<Vec<String>>,
    #[serde(default)]
    pub extra_patterns: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitsSpec {
    pub file: String,
    pub section: Names,
    pub min_count: usize,
    pub units: Option<Vec<String>>,
    #[serde(default)]
    pub require_units: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derived {
    pub name: String,
    pub formula: String,
    pub tolerance: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    pub file: String,
    pub section: Option<Names>,
    #[serde(default = "capacity_lang")]
    pub block: String,
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub derived: Vec<Derived>,
    #[serde(default = "five_percent")]
    pub tolerance: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub file: String,
    pub section: Names,
    #[serde(default = "two")]
    pub min_slos: usize,
    #[serde(default = "five_percent")]
    pub tolerance: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MermaidSpec {
    pub file: String,
    pub section: Option<Names>,
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSpec {
    pub file: String,
    pub section: Names,
    #[serde(default = "three")]
    pub min_endpoints: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellCheck {
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
pub struct ColumnSpec {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default = "nonempty")]
    pub check: CellCheck,
}

impl ColumnSpec {
    pub fn names(&self) -> Vec<String> {
        std::iter::once(self.name.clone()).chain(self.aliases.iter().cloned()).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub label: String,
    pub any: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub file: String,
    pub section: Names,
    pub columns: Option<Vec<ColumnSpec>>,
    pub min_rows: Option<usize>,
    #[serde(default)]
    pub required_rows: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TradeoffSpec {
    pub file: String,
    pub section: Names,
    #[serde(default = "two")]
    pub min_options: usize,
    #[serde(default = "three")]
    pub min_criteria: usize,
    #[serde(default = "one")]
    pub min_tables: usize,
    pub chosen_markers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdrSpec {
    pub dir: String,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default = "three")]
    pub min_count: usize,
    pub statuses: Option<Vec<String>>,
    #[serde(default)]
    pub referenced_from: Vec<String>,
    pub negative_markers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinksSpec {
    pub files: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub min_links: usize,
}

/// Which preset a `table`-family rule uses for its default columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TablePreset {
    Plain,
    DataModel,
    FailureModes,
}
