//! What a Python is (version, venv, venv support) and whether it meets a workspace's
//! `requires-python` (PEP 440 release clauses).

use std::fs;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use crate::process::{Cmd, Interrupted};

use super::*;

/// What an interpreter says of itself: its version, whether it runs in a venv, whether it has
/// the modules that make one (`venv` and `ensurepip`, which Debian ships apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probe {
    pub(super) version: PyVersion,
    pub(super) in_venv: bool,
    pub(super) makes_venvs: bool,
}

/// Prints the three lines `Probe::parse` reads.
pub(super) const PROBE: &str = "import sys, importlib.util as u
print('%d.%d.%d' % sys.version_info[:3])
print(int(sys.prefix != getattr(sys, 'base_prefix', sys.prefix)))
print(int(all(u.find_spec(m) is not None for m in ('venv', 'ensurepip'))))";

impl Probe {
    pub(super) fn of(python: &Path, named: &str) -> Result<Probe> {
        let out = Cmd::new(python).args(["-c", PROBE]).timeout(QUERY_TIMEOUT).run();
        let out = match out {
            Ok(out) if out.success() => out,
            Ok(out) => bail!(
                "{named} does not run as Python ({}: {}): {NO_PYTHON}",
                crate::process::describe_exit(out.code),
                one_line(&anyhow!("{}", out.combined()))
            ),
            Err(err) if err.is::<Interrupted>() => return Err(err),
            Err(_) => bail!("{named} cannot be run (not found or not executable): {NO_PYTHON}"),
        };
        Probe::parse(&out.stdout)
            .ok_or_else(|| anyhow!("{named} did not say its version ({:?}): {NO_PYTHON}", out.stdout.trim()))
    }

    pub(super) fn parse(text: &str) -> Option<Probe> {
        let mut lines = text.lines().map(str::trim);
        let version = PyVersion::parse(lines.next()?)?;
        let flag = |line: Option<&str>| match line {
            Some("1") => Some(true),
            Some("0") => Some(false),
            _ => None,
        };
        Some(Probe { version, in_venv: flag(lines.next())?, makes_venvs: flag(lines.next())? })
    }
}

/// A release number such as 3.10.12.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PyVersion(Vec<u64>);

impl PyVersion {
    pub(super) fn parse(text: &str) -> Option<PyVersion> {
        let parts: Option<Vec<u64>> = text.trim().split('.').map(|p| p.parse().ok()).collect();
        parts.filter(|p| !p.is_empty()).map(PyVersion)
    }

    /// Compares as release numbers do: missing parts are zeros (3.11 == 3.11.0).
    pub(super) fn cmp_release(&self, other: &[u64]) -> std::cmp::Ordering {
        let len = self.0.len().max(other.len());
        let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
        (0..len).map(|i| at(&self.0, i).cmp(&at(other, i))).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    }

    pub(super) fn starts_with(&self, prefix: &[u64]) -> bool {
        prefix.iter().enumerate().all(|(i, p)| self.0.get(i).copied().unwrap_or(0) == *p)
    }
}

impl std::fmt::Display for PyVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// A `requires-python` specifier set (PEP 440), e.g. `>=3.11,<4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RequiresPython {
    pub(super) text: String,
    pub(super) clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Clause {
    pub(super) op: Op,
    pub(super) release: Vec<u64>,
    /// `==3.11.*`, `!=3.12.*`.
    pub(super) wildcard: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
    /// `~=3.11`: at least 3.11, within 3.*.
    Compatible,
}

impl RequiresPython {
    /// None for a specifier this reading does not understand (pre-releases, `===`): then setup
    /// does not judge, and the installer will.
    pub(super) fn parse(text: &str) -> Option<RequiresPython> {
        let mut clauses = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let ops = [
                ("~=", Op::Compatible),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">=", Op::Ge),
                ("<=", Op::Le),
                (">", Op::Gt),
                ("<", Op::Lt),
            ];
            let (op, rest) = ops.iter().find_map(|(sym, op)| part.strip_prefix(sym).map(|r| (*op, r.trim())))?;
            if rest.starts_with('=') {
                return None;
            }
            let (rest, wildcard) = match rest.strip_suffix(".*") {
                Some(r) if matches!(op, Op::Eq | Op::Ne) => (r, true),
                Some(_) => return None,
                None => (rest, false),
            };
            let release = PyVersion::parse(rest)?.0;
            if op == Op::Compatible && release.len() < 2 {
                return None;
            }
            clauses.push(Clause { op, release, wildcard });
        }
        (!clauses.is_empty()).then(|| RequiresPython { text: text.trim().to_string(), clauses })
    }

    pub(super) fn allows(&self, version: &PyVersion) -> bool {
        use std::cmp::Ordering::*;
        self.clauses.iter().all(|c| {
            let ord = version.cmp_release(&c.release);
            match c.op {
                Op::Ge => ord != Less,
                Op::Gt => ord == Greater,
                Op::Le => ord != Greater,
                Op::Lt => ord == Less,
                Op::Eq if c.wildcard => version.starts_with(&c.release),
                Op::Ne if c.wildcard => !version.starts_with(&c.release),
                Op::Eq => ord == Equal,
                Op::Ne => ord != Equal,
                Op::Compatible => ord != Less && version.starts_with(&c.release[..c.release.len() - 1]),
            }
        })
    }
}

/// The workspace's `[project] requires-python`, when it has a pyproject.toml that says one lab
/// understands.
pub(super) fn requires_python(root: &Path) -> Result<Option<RequiresPython>> {
    let path = root.join("pyproject.toml");
    let Ok(text) = fs::read_to_string(&path) else { return Ok(None) };
    let doc: toml::Table = toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))?;
    let spec = doc.get("project").and_then(|p| p.get("requires-python")).and_then(|v| v.as_str());
    Ok(spec.and_then(RequiresPython::parse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_python_is_judged_as_pep_440_release_clauses() {
        let v = |t: &str| PyVersion::parse(t).unwrap();
        let spec = |t: &str| RequiresPython::parse(t).unwrap();
        assert!(!spec(">=3.11").allows(&v("3.10.12")));
        assert!(spec(">=3.11").allows(&v("3.11.0")) && spec(">=3.11").allows(&v("3.13.1")));
        assert!(spec(">=3.9, <4").allows(&v("3.12.3")) && !spec(">=3.9,<4").allows(&v("4.0")));
        assert!(spec("==3.11.*").allows(&v("3.11.7")) && !spec("==3.11.*").allows(&v("3.12.0")));
        assert!(spec("~=3.10").allows(&v("3.12.1")) && !spec("~=3.10").allows(&v("3.9.18")));
        assert!(!spec("!=3.12.0,>3.11").allows(&v("3.12.0")) && spec("!=3.12.0,>3.11").allows(&v("3.12.1")));
        assert_eq!(spec(" >=3.11 ").text, ">=3.11");
        for unknown in ["", ">=3.11b1", "===3.11", "~=3", ">=3.*"] {
            assert_eq!(RequiresPython::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn the_probe_reads_version_venv_and_venv_support() {
        assert_eq!(
            Probe::parse("3.10.12\n0\n1\n"),
            Some(Probe { version: PyVersion(vec![3, 10, 12]), in_venv: false, makes_venvs: true })
        );
        assert_eq!(Probe::parse("3.12.1\n1\n0\n").map(|p| (p.in_venv, p.makes_venvs)), Some((true, false)));
        assert_eq!(Probe::parse("Python 3.10\n"), None);
        assert_eq!(PyVersion(vec![3, 10, 12]).to_string(), "3.10.12");
    }
}
