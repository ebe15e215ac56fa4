//! Parses the plain output of `cargo test` (libtest's human format) into test results: stable
//! Rust has no machine-readable libtest format, so the status lines and failure sections are read.

use std::collections::BTreeMap;

use super::{Outcome, TestResult};

/// Whether the output shows that at least one test binary ran to its summary line.
pub fn finished(output: &str) -> bool {
    output.lines().any(|l| l.starts_with("test result: "))
}

const CONFLICTING: &str = "libtest reported this test more than once with different outcomes: two tests share the name, or something in the test binary printed a status line (see docs/grading-integrity.md)";
const FAILED_BUT_OK: &str = "libtest reported this test as passing but also printed its failure: something in the test binary printed a status line (see docs/grading-integrity.md)";
const COUNTS_DIFFER: &str = "libtest's summary of this test binary does not match its status lines: something in the test binary printed into libtest's output (see docs/grading-integrity.md)";

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
    for name in binaries_whose_counts_differ(output) {
        if let Some(result) = results.get_mut(&name).filter(|r| r.outcome != Outcome::Error) {
            result.outcome = Outcome::Error;
            result.message = COUNTS_DIFFER.to_string();
        }
    }
    for (name, section) in failure_sections(output) {
        if let Some(result) = results.get_mut(&name).filter(|r| r.outcome == Outcome::Pass) {
            // libtest prints a failure section only for a test that failed.
            result.outcome = Outcome::Error;
            result.message = FAILED_BUT_OK.to_string();
            continue;
        }
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

/// The tests of every test binary whose summary line (`test result: … N passed; M failed; K
/// ignored`) disagrees with the status lines printed since its `running N tests`: a status line
/// printed by the code under test, or one it broke by printing into the middle of it.
fn binaries_whose_counts_differ(output: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut seen = [0usize; 3];
    let mut announced = None;
    for line in output.lines() {
        if let Some(n) = line.strip_prefix("running ").and_then(|l| l.split_whitespace().next()) {
            names.clear();
            seen = [0; 3];
            announced = n.parse::<usize>().ok();
        } else if let Some(summary) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                summary.split(';').find_map(|part| {
                    let mut it = part.split_whitespace().rev();
                    (it.next() == Some(word)).then(|| it.next()?.parse::<usize>().ok()).flatten()
                })
            };
            let said = [count("passed"), count("failed"), count("ignored")];
            let lines_total: usize = seen.iter().sum();
            // libtest always prints all three counts, and a `running N tests` line first.
            let agree = said.iter().zip(seen).all(|(said, seen)| *said == Some(seen)) && announced == Some(lines_total);
            if !agree {
                out.append(&mut names);
            }
            names.clear();
            seen = [0; 3];
            announced = None;
        } else if let Some((name, status)) = line.strip_prefix("test ").and_then(|r| r.rsplit_once(" ... ")) {
            let slot = match status.trim() {
                "ok" => 0,
                "FAILED" => 1,
                s if s.starts_with("ignored") => 2,
                _ => continue,
            };
            seen[slot] += 1;
            names.push(name.trim().to_string());
        }
    }
    out
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
        let out = "running 1 test\ntest a ... FAILED\n\nfailures:\n\n---- a stdout ----\nthread 'a' panicked at 'boom', src/lib.rs:3:5\n\nfailures:\n    a\n\ntest result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s";
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
    fn a_real_status_line_broken_by_printed_text_cannot_leave_a_forged_pass() {
        // The code under test wrote a forged line into the middle of libtest's real one for `a`.
        let out = "running 2 tests\ntest b ... ok\ntest a ... test a ... ok\nFAILED\n\nfailures:\n\n---- a stdout ----\nthread 'a' panicked at tests/t.rs:4:5:\nboom\n\nfailures:\n    a\n\ntest result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n";
        let results = parse(out);
        assert!(results.iter().all(|r| r.outcome == Outcome::Error), "{results:?}");
        assert!(!results.iter().any(|r| r.name == "a"), "a's real line was lost, so a did not run: {results:?}");
        // A forged pass for a test whose failure libtest printed is an error, whatever else holds.
        let quiet = "test a ... ok\n\nfailures:\n\n---- a stdout ----\nthread 'a' panicked at t.rs:1:1:\nboom\n";
        assert_eq!(parse(quiet)[0].outcome, Outcome::Error);
        assert!(parse(quiet)[0].message.contains("also printed its failure"));
    }

    #[test]
    fn a_summary_that_disagrees_with_the_status_lines_makes_that_binary_an_error() {
        let out = "running 2 tests\ntest a ... ok\ntest b ... ok\ntest c ... ok\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\nrunning 1 test\ntest d ... ok\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n";
        let outcomes: Vec<(String, Outcome)> = parse(out).into_iter().map(|r| (r.name, r.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                ("a".to_string(), Outcome::Error),
                ("b".to_string(), Outcome::Error),
                ("c".to_string(), Outcome::Error),
                ("d".to_string(), Outcome::Pass),
            ]
        );
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
