//! Lab authoring: a new lab's skeleton that validates on its first run, and the static
//! comparison of each stage's declared tests with the tests its grading suite defines.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Result};

use crate::catalog::{self, Lab, RunnerKind};
use crate::scaffold::{self, Rendered, Vars};
use crate::workspace;

/// The values validation and authoring tools render a lab with: its id as the project name and
/// every option at its default.
pub fn default_vars(lab: &Lab) -> Result<Vars> {
    let (package_name, dist_name) = scaffold::derive_names(&lab.def.id)?;
    Ok(Vars {
        project_name: lab.def.id.clone(),
        package_name,
        dist_name,
        author: "Lab Validate".into(),
        author_email: "validate@example.com".into(),
        year: workspace::current_year(),
        options: scaffold::resolve_options(lab, &[])?,
    })
}

/// The tracks `lab dev new` can lay out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkeletonTrack {
    Python,
    Rust,
}

impl SkeletonTrack {
    pub fn id(self) -> &'static str {
        match self {
            SkeletonTrack::Python => "python",
            SkeletonTrack::Rust => "rust",
        }
    }
}

/// Every file of a new lab `id` with the given tracks: lab.toml, and per track a starter that
/// runs and fails, a grading suite, a reference solution that passes it, and two known-wrong
/// implementations in `mutants/` that the suite catches. Paths are relative to the lab folder.
pub fn skeleton(id: &str, tracks: &[SkeletonTrack]) -> Result<Vec<Rendered>> {
    if !catalog::is_slug(id) {
        bail!("`{id}` is not a lab id: use lower-case letters, digits and '-', starting with a letter (e.g. `cache-aside`)");
    }
    if tracks.is_empty() {
        bail!("a lab needs at least one track: pass --track python or --track rust");
    }
    let py = "src/{{package_name}}/core.py";
    let py_subtracts = mutant(py, "a + b", "a - b", "add subtracts: add(2, 3) gives -1");
    let py_signs = mutant(py, "a + b", "abs(a) + abs(b)", "add drops signs: add(-2, -3) gives 5");
    let rs_subtracts = mutant("src/lib.rs", "a + b", "a - b", "add subtracts: add(2, 3) gives -1");
    let rs_signs = mutant("src/lib.rs", "a + b", "a.abs() + b.abs()", "add drops signs: add(-2, -3) gives 5");
    let file = |path: &str, text: &str| Rendered { path: path.to_string(), contents: text.as_bytes().to_vec() };
    let mut toml = LAB_TOML.replace("@ID@", id);
    let mut files = Vec::new();
    for track in tracks {
        match track {
            SkeletonTrack::Python => {
                toml.push_str(PYTHON_TRACK);
                files.extend([
                    file("python/starter/pyproject.toml.hbs", PY_PYPROJECT),
                    file("python/starter/README.md.hbs", STARTER_README),
                    file("python/starter/src/{{package_name}}/__init__.py", ""),
                    file("python/starter/src/{{package_name}}/core.py", PY_STARTER),
                    file("python/solution/src/{{package_name}}/core.py", PY_SOLUTION),
                    file("python/grading/test_basics.py.hbs", PY_GRADING),
                    file("python/mutants/subtracts.toml", &py_subtracts),
                    file("python/mutants/drops-signs.toml", &py_signs),
                ]);
            }
            SkeletonTrack::Rust => {
                toml.push_str(RUST_TRACK);
                files.extend([
                    file("rust/starter/Cargo.toml.hbs", RS_CARGO),
                    file("rust/starter/README.md.hbs", STARTER_README),
                    file("rust/starter/src/lib.rs", RS_STARTER),
                    file("rust/solution/src/lib.rs", RS_SOLUTION),
                    file("rust/grading/Cargo.toml.hbs", RS_GRADING_CARGO),
                    file("rust/grading/tests/basics.rs.hbs", RS_GRADING),
                    file("rust/mutants/subtracts.toml", &rs_subtracts),
                    file("rust/mutants/drops-signs.toml", &rs_signs),
                ]);
            }
        }
    }
    toml.push_str(
        &STAGE.replace(
            "@TESTS@",
            &tracks
                .iter()
                .map(|t| match t {
                    SkeletonTrack::Python => {
                        "tests.python = [\"test_adds_small_numbers\", \"test_adds_negative_numbers\"]"
                    }
                    SkeletonTrack::Rust => "tests.rust = [\"adds_small_numbers\", \"adds_negative_numbers\"]",
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    );
    files.insert(0, file("lab.toml", &toml));
    Ok(files)
}

/// A mutant definition with one edit (docs/lab-format.md).
fn mutant(file: &str, find: &str, replace: &str, description: &str) -> String {
    format!(
        "# A known-wrong implementation: `lab validate` applies it to the solution and requires a\n\
         # failing test of its stage.\nformat_version = 1\nstage = \"basics\"\ndescription = \"{description}\"\n\n\
         [[edit]]\nfile = \"{file}\"\nfind = \"{find}\"\nreplace = \"{replace}\"\n"
    )
}

const LAB_TOML: &str = r#"# A lab definition: every field is described in docs/lab-format.md of the lab tool.
format_version = 1
id = "@ID@"
title = "A new lab"
summary = "One paragraph: what the learner builds and why it matters."
version = "0.1.0"
difficulty = "intermediate"
hours = 4

[roadmap]
module = "Your module"
output = "The roadmap output this lab serves."
"#;

const PYTHON_TRACK: &str = r#"
[tracks.python]
runner = "pytest"
grading_dir = "tests/grading"
setup = ["-e", ".", "--group", "dev"]

# `lab validate --lint`: the linters a reviewer runs on the generated repository.
[[tracks.python.lint]]
name = "ruff check"
pypi = ["ruff==0.17.0"]
run = ["ruff", "check", "--no-cache", "{files}"]
files = ["**/*.py"]
"#;

const RUST_TRACK: &str = r#"
[tracks.rust]
runner = "cargo"
grading_dir = "grading"

# `lab validate --lint`: the linters a reviewer runs on the generated repository.
[[tracks.rust.lint]]
name = "rustfmt"
run = ["cargo", "fmt", "--check"]
"#;

const STAGE: &str = r#"
[[stages]]
id = "basics"
title = "Basics"
goal = "add(a, b) returns the sum of two integers, negative ones included."
hints = [
  "Read the TODO(lab:basics) marker in the starter.",
  "The sum of a and b is a + b.",
]
@TESTS@
"#;

const STARTER_README: &str = "# {{project_name}}\n\nThe `{{lab.id}}` lab. Work through the \
`TODO(lab:<stage>)` markers; `lab check` grades your work stage by stage.\n";

const PY_PYPROJECT: &str = r#"[project]
name = "{{dist_name}}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = []

[dependency-groups]
dev = ["pytest>=8"]

[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"#;

const PY_STARTER: &str = r#"def add(a: int, b: int) -> int:
    # TODO(lab:basics): return the sum of a and b
    raise NotImplementedError("TODO(lab:basics): add")
"#;

const PY_SOLUTION: &str = r#"def add(a: int, b: int) -> int:
    return a + b
"#;

const PY_GRADING: &str = r#"from {{package_name}}.core import add


def test_adds_small_numbers():
    assert add(2, 3) == 5, "add(2, 3) should be 5"


def test_adds_negative_numbers():
    assert add(-2, -3) == -5, "add(-2, -3) should be -5"
"#;

const RS_CARGO: &str = r#"[package]
name = "{{package_name}}"
version = "0.1.0"
edition = "2021"

[dependencies]
"#;

const RS_STARTER: &str = r#"/// The sum of `a` and `b`.
pub fn add(a: i64, b: i64) -> i64 {
    // TODO(lab:basics): return the sum of a and b
    let _ = (a, b);
    0
}
"#;

const RS_SOLUTION: &str = r#"/// The sum of `a` and `b`.
pub fn add(a: i64, b: i64) -> i64 {
    a + b
}
"#;

const RS_GRADING_CARGO: &str = r#"# The grading package: lab check runs it from .lab/run/grading, three folders below the crate.
[package]
name = "grading"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
{{package_name}} = { path = "../../.." }
"#;

const RS_GRADING: &str = r#"use {{package_name}}::add;

#[test]
fn adds_small_numbers() {
    assert_eq!(add(2, 3), 5, "add(2, 3) should be 5");
}

#[test]
fn adds_negative_numbers() {
    assert_eq!(add(-2, -3), -5, "add(-2, -3) should be -5");
}
"#;

/// How one track's declared tests compare with the tests its grading suite defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestListDiff {
    pub track: String,
    pub declared: usize,
    pub defined: usize,
    /// Declared in lab.toml, not found in the suite.
    pub missing: Vec<String>,
    /// Found in the suite, declared by no stage.
    pub undeclared: Vec<String>,
    /// Defined more than once (in two test files): the runner reports both under one name, so
    /// one could hide the other.
    pub duplicates: Vec<String>,
}

impl TestListDiff {
    pub fn agrees(&self) -> bool {
        self.missing.is_empty() && self.undeclared.is_empty() && self.duplicates.is_empty()
    }
}

/// Compares every stage's test list with the tests the rendered grading suite defines. This
/// reads the suite, it does not run it: `lab validate` is the proof by running.
pub fn compare_test_lists(lab: &Lab, track: &str) -> Result<TestListDiff> {
    let tdef = lab.def.track(track)?;
    let suite = scaffold::grading(lab, track, &default_vars(lab)?)?;
    let duplicates = duplicate_tests(tdef.runner, &suite)?;
    let defined = defined_tests(tdef.runner, &suite)?;
    let declared: BTreeSet<String> =
        lab.def.stages.iter().flat_map(|s| s.tests.get(track).into_iter().flatten().cloned()).collect();
    Ok(TestListDiff {
        track: track.to_string(),
        declared: declared.len(),
        defined: defined.len(),
        missing: declared.difference(&defined).cloned().collect(),
        undeclared: defined.difference(&declared).cloned().collect(),
        duplicates,
    })
}

/// Test names the suite defines more than once.
pub fn duplicate_tests(runner: RunnerKind, suite: &[Rendered]) -> Result<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for file in suite {
        for name in defined_tests(runner, std::slice::from_ref(file))? {
            if !seen.insert(name.clone()) {
                twice.insert(name);
            }
        }
    }
    Ok(twice.into_iter().collect())
}

/// The test names a rendered suite defines, as its runner will report them.
pub fn defined_tests(runner: RunnerKind, suite: &[Rendered]) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for file in suite {
        let text = String::from_utf8_lossy(&file.contents);
        let name = Path::new(&file.path).file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match runner {
            RunnerKind::Pytest if name.starts_with("test") && name.ends_with(".py") => {
                names.extend(pytest_tests(&text));
            }
            RunnerKind::Cargo if file.path.ends_with(".rs") && !file.path.starts_with("src/") => {
                names.extend(libtest_tests(&text));
            }
            RunnerKind::Docs if file.path == crate::runner::docs::RULES_FILE => {
                names.extend(rule_ids(&text)?);
            }
            _ => {}
        }
    }
    Ok(names)
}

/// `def test_x` and `async def test_x`, at module level or in a class: pytest names the test by
/// the function (parametrized cases roll up to it).
fn pytest_tests(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let t = line.trim_start();
            let t = t.strip_prefix("async ").unwrap_or(t);
            let rest = t.strip_prefix("def ")?;
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            name.starts_with("test").then_some(name)
        })
        .collect()
}

/// Functions under a `#[test]`-like attribute, with the path of the inline `mod` blocks they
/// sit in, as libtest prints them (`algorithms::token_bucket`).
fn libtest_tests(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut mods: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut armed = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("//") {
            continue;
        }
        if t.starts_with("#[") && t.contains("test") && !t.contains("cfg(") {
            armed = true;
        }
        let words: Vec<&str> = t.split(|c: char| c.is_whitespace() || c == '(' || c == '{' || c == '<').collect();
        if let Some(i) = words.iter().position(|w| *w == "mod") {
            if let Some(name) = words.get(i + 1).filter(|_| t.ends_with('{')) {
                mods.push((name.to_string(), depth));
            }
        }
        if armed {
            if let Some(i) = words.iter().position(|w| *w == "fn") {
                if let Some(name) = words.get(i + 1) {
                    let mut path: Vec<&str> = mods.iter().map(|(m, _)| m.as_str()).collect();
                    path.push(name);
                    names.push(path.join("::"));
                    armed = false;
                }
            }
        }
        for c in t.chars() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if mods.last().is_some_and(|(_, d)| *d == depth) {
                        mods.pop();
                    }
                }
                _ => {}
            }
        }
    }
    names
}

/// The ids of a docs suite's `[[rule]]` tables.
fn rule_ids(text: &str) -> Result<Vec<String>> {
    let value: toml::Value =
        toml::from_str(text).map_err(|e| anyhow::anyhow!("the rules file does not parse: {}", e.message()))?;
    Ok(value
        .get("rule")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("id").and_then(|i| i.as_str()).map(str::to_string))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_names_are_the_test_functions_at_any_level() {
        let text = "import x\n\ndef test_a():\n    pass\n\nasync def test_b():\n    pass\n\nclass TestC:\n    def test_c(self):\n        pass\n    def helper(self):\n        pass\n\ndef testing_helper_is_collected_too(): pass\ndef not_a_test(): pass\n";
        assert_eq!(pytest_tests(text), ["test_a", "test_b", "test_c", "testing_helper_is_collected_too"]);
    }

    #[test]
    fn libtest_names_carry_their_inline_module_path() {
        let text = "use x::y;\n\n#[test]\nfn top() {}\n\nmod algorithms {\n    use super::*;\n    #[test]\n    fn bucket() {\n        let v = vec![1];\n    }\n    mod inner {\n        #[tokio::test]\n        async fn deep() {}\n    }\n    fn helper() {}\n}\n\n#[test]\n#[should_panic]\nfn after() {}\n#[cfg(test)]\nfn not_a_test() {}\n";
        assert_eq!(libtest_tests(text), ["top", "algorithms::bucket", "algorithms::inner::deep", "after"]);
    }

    #[test]
    fn rule_ids_come_from_rule_tables() {
        let text = "format_version = 1\n[[rule]]\nid = \"a\"\nkind = \"sections\"\n[[rule]]\nid = \"b\"\n";
        assert_eq!(rule_ids(text).unwrap(), ["a", "b"]);
        assert!(rule_ids("[[rule]\n").is_err());
    }

    #[test]
    fn a_skeleton_refuses_a_bad_id_or_no_track() {
        assert!(skeleton("Bad_Id", &[SkeletonTrack::Python]).is_err());
        assert!(skeleton("fine", &[]).is_err());
        let files = skeleton("fine", &[SkeletonTrack::Python, SkeletonTrack::Rust]).unwrap();
        let lab = catalog::parse_lab(std::str::from_utf8(&files[0].contents).unwrap(), "fine").unwrap();
        assert_eq!(lab.stages[0].tests["python"].len(), 2);
        assert_eq!(lab.stages[0].tests["rust"].len(), 2);
    }
}
