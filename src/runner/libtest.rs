//! Parses the plain output of `cargo test` (libtest's human format) into test results: stable
//! Rust has no machine-readable libtest format, so the status lines and failure sections are read.

use std::collections::BTreeMap;

use super::{Outcome, TestResult};

/// Whether the output shows that at least one test binary ran to its summary line.
pub fn finished(output: &str) -> bool {
    output.lines().any(|l| l.starts_with("test result: "))
}

const CONFLICTING: &str = "libtest reported this test more than once with different outcomes: two tests share the name, or something in the test binary printed a status line (see docs/grading-integrity.md)";

/// Reads libtest's stdout (status lines never come from stderr: what appears there was printed
/// by something else).
pub fn parse(output: &str) -> Vec<TestResult> {
    let mut results: BTreeMap<String, TestResult> = BTreeMap::new();
    let mut order = Vec::new();
    for line in output.lines() {
        let Some(rest) = line.strip_prefix("test ") else { continue };
        let Some((name, status)) = rest.rsplit_once(" ... ") else { continue };
        let outcome = match status.trim() {
            "ok" => Outcome::Pass,
            "FAILED" => Outcome::Fail,
            s if s.starts_with("ignored") => Outcome::Skipped,
            _ => continue,
        };
        let name = name.trim().to_string();
        match results.get_mut(&name) {
            None => {
                order.push(name.clone());
                results.insert(name.clone(), TestResult::new(name, outcome));
            }
            // One name, two different answers: a second test binary with a test of that name, or
            // a status line printed by the code under test. Neither can be graded as a pass.
            Some(existing) if existing.outcome != outcome => {
                existing.outcome = Outcome::Error;
                existing.message = CONFLICTING.to_string();
            }
            Some(_) => {}
        }
    }
    for (name, section) in failure_sections(output) {
        if let Some(result) = results.get_mut(&name).filter(|r| r.outcome != Outcome::Error) {
            let (message, location) = panic_message(&section);
            result.message = message;
            if let Some((file, line)) = location {
                result.file = Some(file);
                result.line = Some(line);
            }
            result.output = section;
        }
    }
    order.into_iter().filter_map(|n| results.remove(&n)).collect()
}

/// The `---- NAME stdout ----` sections, each up to the next section or the closing list.
fn failure_sections(output: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            out.extend(current.take().map(|(n, l)| (n, l.join("\n").trim().to_string())));
            current = Some((name.to_string(), Vec::new()));
        } else if line == "failures:" || line.starts_with("test result: ") {
            out.extend(current.take().map(|(n, l)| (n, l.join("\n").trim().to_string())));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    out.extend(current.map(|(n, l)| (n, l.join("\n").trim().to_string())));
    out
}

/// The panic's message and location: `thread 'x' panicked at FILE:LINE:COL:` followed by the
/// message lines (Rust 1.73 and later), or `panicked at 'MSG', FILE:LINE:COL` (earlier).
fn panic_message(section: &str) -> (String, Option<(String, u32)>) {
    let lines: Vec<&str> = section.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find("panicked at ") else { continue };
        let rest = &line[at + "panicked at ".len()..];
        if let Some(old) = rest.strip_prefix('\'') {
            if let Some((msg, loc)) = old.rsplit_once("', ") {
                return (msg.to_string(), location(loc));
            }
        }
        let loc = location(rest.trim_end_matches(':'));
        let message: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| !l.starts_with("stack backtrace:") && !l.starts_with("note: "))
            .copied()
            .collect();
        return (message.join("\n").trim().to_string(), loc);
    }
    (String::new(), None)
}

fn location(s: &str) -> Option<(String, u32)> {
    let mut parts = s.trim().rsplitn(3, ':');
    let _col = parts.next()?;
    let line = parts.next()?.parse().ok()?;
    let file = parts.next()?.to_string();
    Some((file, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &str = include_str!("../../tests/fixtures/runner-output/libtest-mixed.txt");
    const COMPILE_ERROR: &str = include_str!("../../tests/fixtures/runner-output/libtest-compile-error.txt");

    #[test]
    fn parses_recorded_cargo_test_output_across_binaries() {
        let results = parse(MIXED);
        let summary: Vec<(&str, Outcome)> = results.iter().map(|r| (r.name.as_str(), r.outcome)).collect();
        assert_eq!(
            summary,
            [
                ("tests::fails_panic", Outcome::Fail),
                ("tests::ignored", Outcome::Skipped),
                ("tests::fails_eq", Outcome::Fail),
                ("tests::passes", Outcome::Pass),
                ("token_bucket_allows_burst", Outcome::Pass),
                ("token_bucket_refill", Outcome::Fail),
            ]
        );
        let refill = &results[5];
        assert_eq!(refill.message, "refill is off by one");
        assert_eq!((refill.file.as_deref(), refill.line), (Some("tests/grading.rs"), Some(4)));
        let eq = &results[2];
        assert_eq!(eq.message, "assertion `left == right` failed\n  left: 2\n right: 3");
        assert!(eq.output.starts_with("printed by the test"), "{}", eq.output);
        assert_eq!(results[0].message, "custom message\nsecond line");
        assert!(finished(MIXED));
    }

    #[test]
    fn a_compile_error_reports_no_tests_and_no_summary() {
        assert!(parse(COMPILE_ERROR).is_empty());
        assert!(!finished(COMPILE_ERROR));
    }

    #[test]
    fn the_pre_1_73_panic_format_is_read_too() {
        let out = "test a ... FAILED\n\nfailures:\n\n---- a stdout ----\nthread 'a' panicked at 'boom', src/lib.rs:3:5\n\nfailures:\n    a\n\ntest result: FAILED. 0 passed; 1 failed";
        let r = &parse(out)[0];
        assert_eq!((r.message.as_str(), r.file.as_deref(), r.line), ("boom", Some("src/lib.rs"), Some(3)));
    }

    #[test]
    fn a_printed_status_line_that_contradicts_the_real_one_is_an_error() {
        for out in [
            "test a ... FAILED\ntest a ... ok\ntest b ... ok\ntest result: FAILED. 1 passed; 1 failed",
            "test a ... ok\ntest a ... FAILED\ntest result: FAILED. 0 passed; 1 failed",
        ] {
            let results = parse(out);
            assert_eq!(results[0].outcome, Outcome::Error, "{out}");
            assert!(results[0].message.contains("more than once"));
        }
        assert_eq!(parse("test a ... ok\ntest a ... ok\n")[0].outcome, Outcome::Pass);
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "",
            "test",
            "test  ... ",
            "---- x stdout ----",
            "thread 'x' panicked at",
            "test a ... ok\n---- a stdout ----\npanicked at :::",
        ] {
            let _ = parse(s);
        }
    }
}
