//! Test helpers: a throwaway workspace with the given files, and one-rule rules files.
#![allow(dead_code)] // each test module uses its own part

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use lab_doccheck::{check, parse_rules, Finding, Status};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub struct Ws {
    pub root: PathBuf,
}

impl Drop for Ws {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub fn workspace(files: &[(&str, &str)]) -> Ws {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let root = std::env::temp_dir().join(format!("doccheck-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    Ws { root }
}

/// Runs a rules file over the files.
pub fn run(rules: &str, files: &[(&str, &str)]) -> Vec<Finding> {
    let ws = workspace(files);
    check(&parse_rules(rules).unwrap(), &ws.root)
}

/// Runs one rule (the body of a [[rule]] table, without id) over the files.
pub fn one(rule: &str, files: &[(&str, &str)]) -> Finding {
    let rules = format!("format_version = 1\n[[rule]]\nid = \"r\"\n{rule}\n");
    let mut out = run(&rules, files);
    assert_eq!(out.len(), 1);
    out.remove(0)
}

pub fn assert_pass(o: &Finding) {
    assert!(o.status == Status::Pass, "expected pass, got: {:?}:{:?}: {}", o.file, o.line, o.message);
    assert!(o.message.is_empty());
}

/// Asserts failure with a message containing every fragment; returns the outcome.
pub fn assert_fail(o: &Finding, fragments: &[&str]) {
    assert!(o.status == Status::Fail, "expected failure for {}", o.rule_id);
    for f in fragments {
        assert!(o.message.contains(f), "message {:?} lacks {:?}", o.message, f);
    }
}
