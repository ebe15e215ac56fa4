//! Which failures a report shows: a stage's failing tests grouped by cause, the group that
//! tells most first, and the lines of a message worth reading.

use super::*;

/// One distinct failure of a stage: the test shown, and the tests that fail the same way.
#[derive(Debug)]
pub struct Failure<'a> {
    pub first: &'a GradedTest,
    pub more: Vec<&'a GradedTest>,
}

/// Failing tests grouped by their root and ordered by how much their message tells: the error
/// that breaks the learner's code first, then failures that name the property they check, then
/// bare assertions and other exceptions, then placeholders and tests that said nothing. Tests
/// keep their declared order within a rank.
pub fn failures<'a>(tests: impl Iterator<Item = &'a GradedTest>) -> Vec<Failure<'a>> {
    let mut groups: Vec<(Root, Failure<'a>)> = Vec::new();
    for test in tests {
        let root = root_of(test);
        match groups.iter_mut().find(|(r, _)| *r == root) {
            Some((_, group)) => group.more.push(test),
            None => groups.push((root, Failure { first: test, more: Vec::new() })),
        }
    }
    let mut groups: Vec<Failure> = groups.into_iter().map(|(_, f)| f).collect();
    groups.sort_by_key(|f| rank(f.first));
    groups
}

/// What makes two failures the same: one crash (an import, a syntax error, a placeholder) is
/// the same wherever a test met it; an assertion is the same only at the same place.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Root {
    message: String,
    place: Option<(String, Option<u32>)>,
}

pub(super) fn root_of(test: &GradedTest) -> Root {
    let message = test.message.trim().to_string();
    let assertion = matches!(rank(test), Rank::Property | Rank::Plain)
        && (message.starts_with("AssertionError") || message.starts_with("assert"));
    // Without a location (an early result), an assertion is the same only in the same test.
    let place = match &test.file {
        Some(file) => (file.clone(), test.line),
        None => (test.name.clone(), None),
    };
    Root { place: assertion.then_some(place), message }
}

/// How much a failure's message tells the learner, most first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rank {
    /// The code does not even load: every test behind it fails the same way.
    Broken,
    /// A message that says which property does not hold.
    Property,
    /// A bare assertion or an exception.
    Plain,
    /// A starter's placeholder: says where the work goes, not what is wrong.
    Placeholder,
    /// Not run, skipped, or no message at all.
    Silent,
}

/// Exceptions that mean the learner's code could not be loaded or named something that is not
/// there.
pub(super) const BROKEN: &[&str] =
    &["SyntaxError", "IndentationError", "TabError", "ImportError", "ModuleNotFoundError", "NameError"];

pub(super) fn rank(test: &GradedTest) -> Rank {
    if matches!(test.reason, Some(Reason::NotRun | Reason::Skipped | Reason::RunnerError)) {
        return Rank::Silent;
    }
    let message = test.message.trim();
    if message.is_empty() {
        return Rank::Silent;
    }
    if let Some(line) = exception_line(message) {
        let (name, text) = line.split_once(':').map(|(n, t)| (n, t.trim())).unwrap_or((line, ""));
        let name = name.rsplit('.').next().unwrap_or(name);
        return match name {
            n if BROKEN.contains(&n) => Rank::Broken,
            "NotImplementedError" => Rank::Placeholder,
            "AssertionError" if !text.is_empty() && !text.starts_with("assert ") => Rank::Property,
            _ => Rank::Plain,
        };
    }
    let lower = message.to_lowercase();
    if lower.contains("not yet implemented") || lower.contains("not implemented") || message.contains("TODO(lab:") {
        Rank::Placeholder
    } else if message.starts_with("assert") {
        Rank::Plain
    } else {
        Rank::Property
    }
}

/// The line of a message that names the exception (`SyntaxError: '(' was never closed`), if
/// it has one: Python puts it last, after the source lines of a syntax error.
pub(super) fn exception_line(message: &str) -> Option<&str> {
    message.lines().find(|line| {
        let name = line.split_once(':').map_or(*line, |(n, _)| n);
        let simple = name.rsplit('.').next().unwrap_or(name);
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            && simple.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && ["Error", "Exception", "Exit", "Interrupt", "Warning", "Failed"].iter().any(|s| simple.ends_with(s))
    })
}

/// A message in at most `n` non-blank lines, "…" when some were left out; the exception line
/// is always among them, first when it would have been cut.
pub fn brief(message: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = message.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() <= n {
        return lines.into_iter().map(str::to_string).collect();
    }
    let mut shown: Vec<&str> = match exception_line(message) {
        Some(exception) if !lines[..n].contains(&exception) => {
            std::iter::once(exception).chain(lines.iter().copied().filter(|l| *l != exception).take(n - 1)).collect()
        }
        _ => lines[..n].to_vec(),
    };
    shown.push("…");
    shown.into_iter().map(str::to_string).collect()
}
