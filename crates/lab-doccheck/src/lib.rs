//! Grades Markdown design documents against a TOML rules file. Each rule is one graded test; its
//! finding says whether it passed and, when not, names the file and line to look at and says what
//! to do. The crate's README.md documents the rules file, kind by kind and field by field.
//!
//! Two steps: [`parse_rules`] reads and validates a rules file, and [`check`] grades a folder
//! against it, one [`Finding`] per rule.
//!
//! ```
//! use lab_doccheck::{check, parse_rules, Status};
//!
//! let rules = parse_rules(
//!     r#"
//! format_version = 1
//!
//! [[rule]]
//! id = "design-sections"
//! kind = "sections"
//! file = "design.md"
//! sections = [{ title = "Goals" }]
//! "#,
//! )?;
//! let folder = std::env::temp_dir().join(format!("lab-doccheck-example-{}", std::process::id()));
//! std::fs::create_dir_all(&folder)?;
//! std::fs::write(folder.join("design.md"), "# Design\n\nNothing yet.\n")?;
//!
//! let findings = check(&rules, &folder);
//! assert_eq!(findings[0].rule_id, "design-sections");
//! assert_eq!(findings[0].status, Status::Fail);
//! assert_eq!(findings[0].file.as_deref(), Some("design.md"));
//! assert!(findings[0].message.starts_with("missing section \"Goals\""));
//! # std::fs::remove_dir_all(&folder)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs, unreachable_pub)]

mod adr;
mod artifacts;
mod consistency;
mod engine;
mod finding;
mod formula;
mod json;
mod markdown;
mod mermaid;
mod numbers;
mod problem;
mod quality;
mod rules;
mod slo;
mod spec;
mod structure;
mod tables;
mod text;
mod title_key;
mod titles;
mod words;
mod workspace;
mod xref;

use std::path::Path;

pub use finding::{Finding, Status};
pub use mermaid::MermaidBlock;
pub use rules::{Rules, RulesError};

/// Parses a rules file (TOML text). Parsing is strict: an unknown field or kind, a path that
/// leaves the folder, a bad formula or a duplicate id is an error that names the rule.
pub fn parse_rules(text: &str) -> Result<Rules, RulesError> {
    rules::parse(text)
}

/// Checks the documents under `root` against the rules: one finding per rule, in the rules
/// file's order. A missing, unreadable or malformed document fails the rules that read it, with
/// a message; it is never an error and never a panic.
pub fn check(rules: &Rules, root: &Path) -> Vec<Finding> {
    engine::run(rules, root)
}

/// The ```mermaid blocks the rules' `mermaid` rules read (each rule's file, or its section), in
/// rule order, with file and line: for a caller that also runs the real Mermaid parser over them.
/// A missing document or section yields no block (the rule itself fails for it). Starts no process.
pub fn mermaid_blocks(rules: &Rules, root: &Path) -> Vec<MermaidBlock> {
    engine::mermaid_blocks(rules, root)
}
