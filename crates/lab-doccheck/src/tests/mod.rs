//! Unit tests of every rule kind: passing input, each failure message, malformed input.

mod adr;
mod artifacts;
mod common;
mod fuzz;
mod numbers;
mod rules_file;
mod structure;
mod tables;
