//! Parses pytest's JUnit XML (xunit1 family) into test cases. Garbage in gives an error, never a
//! panic.

use anyhow::{bail, Context, Result};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::Outcome;

/// One `<testcase>` as pytest wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub classname: String,
    pub file: Option<String>,
    /// 1-based line of the test function.
    pub line: Option<u32>,
    pub outcome: Outcome,
    /// The failure's one-line message (`message` attribute).
    pub message: String,
    /// The failure's full text (traceback).
    pub detail: String,
    /// Captured stdout, stderr and log output.
    pub output: String,
}

pub fn parse(xml: &str) -> Result<Vec<Case>> {
    let mut reader = Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    // Which child element's text we are inside: failure/error/skipped text or captured output.
    let mut in_detail = false;
    let mut in_output = false;
    let mut saw_root = false;
    loop {
        let event = reader.read_event().context("the JUnit XML is malformed")?;
        match event {
            Event::Empty(e) if e.name().as_ref() == b"testcase" => cases.push(start_case(&e)?),
            Event::Start(e) if e.name().as_ref() == b"testcase" => current = Some(start_case(&e)?),
            Event::Start(e) => {
                let name = e.name().as_ref().to_vec();
                saw_root |= matches!(name.as_slice(), b"testsuites" | b"testsuite");
                if let Some(case) = current.as_mut() {
                    match name.as_slice() {
                        b"failure" | b"error" | b"skipped" => {
                            apply_result(case, &name, &e)?;
                            in_detail = true;
                        }
                        b"system-out" | b"system-err" => in_output = true,
                        _ => {}
                    }
                }
            }
            Event::Empty(e) => {
                let name = e.name().as_ref().to_vec();
                saw_root |= matches!(name.as_slice(), b"testsuites" | b"testsuite");
                if let Some(case) = current.as_mut() {
                    if matches!(name.as_slice(), b"failure" | b"error" | b"skipped") {
                        apply_result(case, &name, &e)?;
                    }
                }
            }
            Event::Text(t) => {
                if let Some(case) = current.as_mut() {
                    let text = t.unescape().context("the JUnit XML has a bad escape")?;
                    if in_detail {
                        case.detail.push_str(&text);
                    } else if in_output {
                        case.output.push_str(&text);
                    }
                }
            }
            Event::CData(t) => {
                if let Some(case) = current.as_mut() {
                    let text = String::from_utf8_lossy(&t);
                    if in_detail {
                        case.detail.push_str(&text);
                    } else if in_output {
                        case.output.push_str(&text);
                    }
                }
            }
            Event::End(e) => match e.name().as_ref() {
                b"testcase" => cases.extend(current.take()),
                b"failure" | b"error" | b"skipped" => in_detail = false,
                b"system-out" | b"system-err" => in_output = false,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        bail!("the JUnit XML has no <testsuite> element");
    }
    if current.is_some() {
        bail!("the JUnit XML ends inside a <testcase>");
    }
    Ok(cases)
}

fn start_case(e: &BytesStart) -> Result<Case> {
    let mut case = Case {
        name: String::new(),
        classname: String::new(),
        file: None,
        line: None,
        outcome: Outcome::Pass,
        message: String::new(),
        detail: String::new(),
        output: String::new(),
    };
    for attr in e.attributes() {
        let attr = attr.context("the JUnit XML has a malformed attribute")?;
        let value = attr.unescape_value().context("the JUnit XML has a bad escape")?.into_owned();
        match attr.key.as_ref() {
            b"name" => case.name = value,
            b"classname" => case.classname = value,
            b"file" => case.file = Some(value),
            // pytest writes the 0-based line of the `def`.
            b"line" => case.line = value.parse::<u32>().ok().map(|l| l + 1),
            _ => {}
        }
    }
    if case.name.is_empty() {
        bail!("the JUnit XML has a <testcase> without a name");
    }
    Ok(case)
}

fn apply_result(case: &mut Case, tag: &[u8], e: &BytesStart) -> Result<()> {
    let outcome = match tag {
        b"failure" => Outcome::Fail,
        b"error" => Outcome::Error,
        _ => Outcome::Skipped,
    };
    // A test that failed and then errored in teardown keeps its worst outcome.
    if outcome.rank() > case.outcome.rank() {
        case.outcome = outcome;
    }
    for attr in e.attributes() {
        let attr = attr.context("the JUnit XML has a malformed attribute")?;
        if attr.key.as_ref() == b"message" && case.message.is_empty() {
            case.message = attr.unescape_value().context("the JUnit XML has a bad escape")?.into_owned();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDED: &str = include_str!("../../tests/fixtures/runner-output/pytest-mixed.xml");

    #[test]
    fn parses_a_recorded_pytest_report() {
        let cases = parse(RECORDED).unwrap();
        let summary: Vec<(&str, Outcome)> = cases.iter().map(|c| (c.name.as_str(), c.outcome)).collect();
        assert_eq!(
            summary,
            [
                ("test_passes", Outcome::Pass),
                ("test_fails", Outcome::Fail),
                ("test_param[1]", Outcome::Pass),
                ("test_param[2]", Outcome::Fail),
                ("test_skipped", Outcome::Skipped),
                ("test_setup_error", Outcome::Error),
            ]
        );
        let failed = &cases[1];
        assert_eq!(failed.message, "assert 1 == 2");
        assert!(failed.detail.contains("test_sample.py:10: AssertionError"), "{}", failed.detail);
        assert_eq!(failed.file.as_deref(), Some("grading/test_sample.py"));
        assert_eq!(failed.line, Some(8));
        assert!(failed.output.contains("printed by the test"), "{:?}", failed.output);
        assert_eq!(cases[4].message, "skipped: redis-server not installed");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            "",
            "not xml at all",
            "<testsuite><testcase name=\"a\">",
            "<testsuite><testcase></testcase></testsuite>",
            "<testsuite><testcase name=\"a\" line=\"x\"><failure message=\"&bogus;\"/></testcase></testsuite>",
            "<?xml version=\"1.0\"?><html/>",
            "\u{0}\u{1}<<>>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn an_empty_suite_has_no_cases() {
        assert_eq!(parse("<testsuites><testsuite name=\"pytest\" tests=\"0\"/></testsuites>").unwrap(), []);
    }
}
