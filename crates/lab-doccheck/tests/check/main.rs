//! Tests of every rule kind through the public API: passing input, each failure message,
//! malformed input.

mod adr;
mod artifacts;
mod common;
mod fuzz;
mod large;
mod numbers;
mod reading;
mod rules_file;
mod structure;
mod tables;
