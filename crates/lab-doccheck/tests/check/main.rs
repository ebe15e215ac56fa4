//! Tests of every rule kind through the public API: passing input, each failure message,
//! malformed input.

mod adr;
mod artifacts;
mod common;
mod consistency;
mod diagrams;
mod fuzz;
mod large;
mod numbers;
mod reading;
mod rules_file;
mod slo;
mod structure;
mod tables;
