//! Rules-file parsing: malformed rules files are errors naming the rule; the findings' shape.

use super::common::*;
use lab_doccheck::{parse_rules, Status};

fn err(rules: &str) -> String {
    let e = parse_rules(rules).unwrap_err();
    format!("{e:#}")
}

fn rule(body: &str) -> String {
    format!("format_version = 1\n[[rule]]\nid = \"my-rule\"\n{body}\n")
}

#[test]
fn malformed_rules_files_are_errors() {
    assert!(err("format_version = ").contains("not valid TOML"));
    assert!(err("[[rule]]\nid = \"a\"\nkind = \"links\"\nfiles = []").contains("no format_version"));
    assert!(err("format_version = 2").contains("unsupported format_version 2"));
    assert!(err("format_version = 1\nrules = []").contains("unknown top-level key \"rules\""));
    assert!(err("format_version = 1\nrule = 3").contains("array of tables"));
    assert!(err("format_version = 1\n[[rule]]\nkind = \"links\"\nfiles = []").contains("rule #1 has no id"));
}

#[test]
fn rule_errors_name_the_rule() {
    let e = err(&rule("kind = \"nope\""));
    assert!(e.contains("my-rule") && e.contains("unknown kind \"nope\""), "{e}");
    let e = err(&rule("file = \"a.md\""));
    assert!(e.contains("rule \"my-rule\" has no kind"), "{e}");
    let e = err(&rule("kind = \"word_floor\"\nfile = \"a.md\"\nmin_word = 3"));
    assert!(e.contains("my-rule") && e.contains("min_word"), "{e}");
    let e = err(&rule("kind = \"word_floor\"\nfile = \"a.md\""));
    assert!(e.contains("min_words"), "{e}");
    let e = err(&rule("kind = \"word_floor\"\nfile = \"../a.md\"\nmin_words = 1"));
    assert!(e.contains("without '..'"), "{e}");
    let e = err(&rule("kind = \"word_floor\"\nfile = \"/etc/a.md\"\nmin_words = 1"));
    assert!(e.contains("relative"), "{e}");
    let e = err(&rule("kind = \"capacity\"\nfile = \"a.md\"\nderived = [{ name = \"x\", formula = \"a * (b\" }]"));
    assert!(e.contains("formula for \"x\"") && e.contains("missing ')'"), "{e}");
    let e = err(&rule("kind = \"capacity\"\nfile = \"a.md\"\nderived = [{ name = \"x\", formula = \"a $ b\" }]"));
    assert!(e.contains("unexpected character"), "{e}");
    let e = err(&rule("kind = \"capacity\"\nfile = \"a.md\"\ntolerance = 5"));
    assert!(e.contains("tolerance"), "{e}");
    let e = err(&rule("kind = \"mermaid\"\nfile = \"a.md\"\nkinds = [\"flow\"]"));
    assert!(e.contains("unknown diagram kind \"flow\""), "{e}");
    let e = err(&rule("kind = \"table\"\nfile = \"a.md\"\nsection = \"S\""));
    assert!(e.contains("needs `columns`"), "{e}");
    let e =
        err(&rule("kind = \"table\"\nfile = \"a.md\"\nsection = \"S\"\ncolumns = [{ name = \"A\", check = \"odd\" }]"));
    assert!(e.contains("odd"), "{e}");
    let dup = "format_version = 1\n[[rule]]\nid = \"a\"\nkind = \"links\"\nfiles = []\n[[rule]]\nid = \"a\"\nkind = \"links\"\nfiles = []\n";
    assert!(err(dup).contains("used twice"));
}

#[test]
fn outcomes_follow_rule_order_and_shape() {
    let rules = "format_version = 1\n[[rule]]\nid = \"second\"\nkind = \"word_floor\"\nfile = \"d.md\"\nmin_words = 1\n[[rule]]\nid = \"first\"\nkind = \"word_floor\"\nfile = \"d.md\"\nmin_words = 100\n";
    let out = run(rules, &[("d.md", "hello world")]);
    assert_eq!(out[0].rule_id, "second");
    assert!(out[0].status == Status::Pass && out[0].file.is_none() && out[0].line.is_none());
    assert_eq!(out[1].rule_id, "first");
    assert!(out[1].status == Status::Fail);
    assert_eq!((out[1].file.as_deref(), out[1].line), (Some("d.md"), Some(1)));
}

#[test]
fn many_findings_are_summarised() {
    let doc = (0..10).map(|i| format!("TODO {i}\n\n")).collect::<String>();
    let o = one("kind = \"no_placeholders\"\nfiles = [\"d.md\"]", &[("d.md", &doc)]);
    assert!(o.message.contains("... and 6 more"), "{}", o.message);
    assert_eq!(o.message.lines().count(), 5);
}
