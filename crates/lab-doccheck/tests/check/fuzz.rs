//! Fuzz-ish robustness: many odd Markdown inputs through every rule kind; nothing may panic
//! and every failure must carry a message.

use super::common::*;
use lab_doccheck::Status;

const RULES: &str = r#"format_version = 1
[[rule]]
id = "sections"
kind = "sections"
file = "d.md"
sections = [{ title = "A" }, { title = "Capacity", non_empty = false }]
[[rule]]
id = "floor"
kind = "word_floor"
file = "d.md"
section = "A"
min_words = 3
[[rule]]
id = "list"
kind = "list_items"
file = "d.md"
section = "A"
min_items = 1
[[rule]]
id = "ph"
kind = "no_placeholders"
files = ["d.md", "adr/*.md"]
[[rule]]
id = "units"
kind = "numbers_with_units"
file = "d.md"
section = "Capacity"
min_count = 1
[[rule]]
id = "cap"
kind = "capacity"
file = "d.md"
inputs = ["a"]
derived = [{ name = "b", formula = "a * 2 / (a - a)" }, { name = "c", formula = "-a + 1e3" }]
[[rule]]
id = "slo"
kind = "slo"
file = "d.md"
section = "A"
[[rule]]
id = "mermaid"
kind = "mermaid"
file = "d.md"
kinds = ["flowchart", "sequence", "class"]
[[rule]]
id = "api"
kind = "api_endpoints"
file = "d.md"
section = "A"
[[rule]]
id = "table"
kind = "table"
file = "d.md"
section = "A"
columns = [{ name = "A", check = "rating" }, { name = "B", check = "link" }, { name = "C", check = "number" }]
[[rule]]
id = "dm"
kind = "data_model"
file = "d.md"
section = "A"
[[rule]]
id = "fm"
kind = "failure_modes"
file = "d.md"
section = "A"
required_rows = [{ label = "x", any = ["x"] }]
[[rule]]
id = "tt"
kind = "tradeoff_table"
file = "d.md"
section = "A"
[[rule]]
id = "adr"
kind = "adr"
dir = "adr"
referenced_from = ["d.md"]
[[rule]]
id = "links"
kind = "links"
files = ["d.md", "adr/*.md"]
min_links = 1
"#;

fn snippets() -> Vec<String> {
    let mut v: Vec<String> = [
        "",
        "\n\n\n",
        "#",
        "# ",
        "######",
        "####### seven",
        "## A\n```",
        "## A\n```mermaid\nflowchart LR\nA-->B",
        "## A\n~~~capacity\na = 1\nb = x\n",
        "```capacity\na = 1e400\nb = -\nc = 1,2,3\n= 5\nb =\n```",
        "```capacity\na = 5\n```",
        "## A\n| a | b |\n| - |\n| 1 | 2 | 3 |",
        "## A\n| A | B | C |\n|---|---|---|\n| (H, | [x](#) | 1 |\n| | [](<>) | |",
        "## A\n| Target | Window | Error budget |\n|-|-|-|\n| 100% | 0 days | 0 s |\n| 99.9% | 1e9 days | 9999999999999999999 h |\n| -5% | -3 days | -1% |",
        "## A\n- \n- [ ] \n  - nested\n    - deeper\n      1. x",
        "## A\n> > > > > > > > > > quote\n> - list in quote\n> ```mermaid\n> sequenceDiagram\n> A->>B: x",
        "<!-- unclosed comment TODO",
        "<div>\n## A\n</div>",
        "[link](<>) [x](#) [y](%zz) [z](%e2%82) ![img](a b) [w](../../..) [v](/abs/path.md#frag)",
        "[ref]: ../x.md\n[use][ref]",
        "## A\nPOST /v1/x\n```json\n{\"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n```\nGET /\n```json\n\"\\",
        "## A\n```http\nPOST /a\n\n{\n```",
        "---\nstatus: accepted\n",
        "---\n---\n# A",
        "---\nstatus: é\n---\n## Consequences\n### Negative\n",
        "\u{feff}# A\u{200b}\n\u{202e}reversed TODO\u{202c}",
        "# 😀 emoji heading\n## 😀 emoji heading\n[a](#-emoji-heading-1)",
        "## Ａ\n全角の文章です。 TODO",
        "## A\n\u{0}\u{1}\u{7f} control chars 5 ms",
        "## A\r\nwindows line endings\r\n| A |\r\n|---|\r\n| x |\r\n",
        "## A\n9,99,999.9.9 QPS 1__000 GB 1e 5 .5 TB 10.ms 5m users 3 million",
        "```mermaid\n---\n```",
        "```mermaid\nsequenceDiagram\nend\nend\nelse\nA->>: x\n->>B: y\nA-->>+B: ok\n```",
        "```mermaid\nflowchart\nsubgraph\nsubgraph\nend\nend\nend\n```",
        "```mermaid\n%%{init: {}}%%\nflowchart TB\n  A((\"a\")) -. x .-> B{{b}}\n```",
        "[^1]\n\n[^1]: footnote TODO",
        "*a **b _c `d` e_ f** g*",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push("[".repeat(5000));
    v.push(">".repeat(3000));
    v.push("- ".repeat(2000) + "x");
    v.push("#".repeat(10_000));
    v.push("| a ".repeat(1000) + "|\n" + &"|-".repeat(1000) + "|\n");
    v.push("```mermaid\nflowchart LR\n".to_string() + &"(".repeat(10_000) + "\n```");
    v.push("```json\n".to_string() + &"[".repeat(100_000) + "\n```");
    v.push("é".repeat(3000) + " TODO " + &"ß".repeat(3000));
    v
}

#[test]
fn odd_markdown_never_panics() {
    for (i, s) in snippets().iter().enumerate() {
        let files = [("d.md", s.as_str()), ("adr/0001-a.md", s.as_str())];
        let out = run(RULES, &files);
        assert_eq!(out.len(), 15, "snippet {i}");
        for o in &out {
            assert!(o.status == Status::Pass || !o.message.is_empty(), "snippet {i}: {} failed silently", o.rule_id);
            if let Some(l) = o.line {
                assert!(l >= 1, "snippet {i}: line 0 for {}", o.rule_id);
            }
        }
    }
}

#[test]
fn missing_everything_never_panics() {
    let out = run(RULES, &[]);
    assert!(out.iter().all(|o| o.status == Status::Fail || o.rule_id == "ph"));
}
