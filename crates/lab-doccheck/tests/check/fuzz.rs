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

// ---------------------------------------------------------------- seeded, time-bounded fuzzing
//
// Random documents and rules files from a fixed-seed generator: fragments of Markdown syntax
// the checker treats specially, and mutations of the kept corpus (fuzz/corpus/). Each run is
// bounded by iterations and time, so it fits the test suite; fuzz/run.sh runs it longer with
// another seed. An input that panics or hangs is written to fuzz/corpus/<kind>/crash-*.
// so it stays as a regression input once fixed.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lab_doccheck::{check, parse_rules};

/// xorshift64*: deterministic, so a failure reproduces from its seed and iteration.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Syntax the checker gives meaning to, plus text that stresses offsets and encodings.
const TOKENS: &[&str] = &[
    "# ",
    "## ",
    "### ",
    "#### ",
    "\n",
    "\n\n",
    "\r\n",
    "- ",
    "* ",
    "1. ",
    "  ",
    "    ",
    "> ",
    "```",
    "~~~",
    "```mermaid\n",
    "```capacity\n",
    "```json\n",
    "```http\n",
    "|",
    "| --- ",
    "|:-:",
    "---\n",
    "...\n",
    "[",
    "]",
    "(",
    ")",
    "](",
    "](#",
    "](../",
    "<",
    ">",
    "<!--",
    "-->",
    "<div>",
    "</div>",
    "*",
    "**",
    "_",
    "`",
    "``",
    "\\",
    "[^1]",
    "![i](x.png)",
    "TODO",
    "TBD",
    "lorem ipsum",
    "status: ",
    "Status:",
    "accepted",
    "proposed",
    "superseded by 0002",
    "TBD",
    "Context",
    "Decision",
    "Decision outcome",
    "Consequences",
    "Negative",
    "Good, because",
    "Bad, because",
    "Positive",
    "Cons",
    "In the context of",
    "facing",
    "we decided for",
    "and neglected",
    "to achieve",
    "accepting that",
    "99.9%",
    "100%",
    "30 days",
    "28d",
    "43.2 minutes",
    "0.1%",
    "12 QPS",
    "20M DAU",
    "4.2 TB/day",
    "1e400",
    "9,259",
    "1_000",
    "-5",
    "=",
    "a = 1\n",
    "b = a * 2\n",
    "?",
    "flowchart LR\n",
    "graph",
    "A --> B",
    "A -->|x| B",
    "subgraph",
    "end",
    "sequenceDiagram\n",
    "A->>B: hi\n",
    "loop",
    "alt",
    "else",
    "GET /v1/x",
    "POST /a",
    "{",
    "}",
    "\"",
    ",",
    ":",
    "\u{feff}",
    "é",
    "😀",
    "\u{200b}",
    "\u{202e}",
    "\u{0}",
    "\t",
    "(H, M)",
    "✅",
    "chosen",
    "not chosen",
    "Entity",
    "Key",
    "Datastore",
    "Component",
    "Failure",
    "Detection",
    "Mitigation",
    "Target",
    "Window",
    "Error budget",
    "Option",
    "Cost",
    "Latency",
    "adr/0001-a.md",
    "d.md#a",
    "https://e.org",
    "%20",
    "%zz",
];

const WORDS: &[&str] =
    &["the", "service", "writes", "cache", "we", "will", "because", "it", "costs", "more", "x", "A", "7"];

fn corpus_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(kind)
}

/// The kept inputs of one kind (sorted, so runs are reproducible); ADR corpus files seed too.
fn corpus(kind: &str) -> Vec<String> {
    let mut dirs = vec![corpus_dir(kind)];
    if kind == "markdown" {
        let adr = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/adr");
        dirs.extend([adr.join("good"), adr.join("bad")]);
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()))
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
}

fn generate(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..rng.below(300) {
        if rng.below(3) == 0 {
            let w = WORDS[rng.below(WORDS.len())];
            s.push_str(w);
            s.push(' ');
        } else {
            let t = TOKENS[rng.below(TOKENS.len())];
            s.push_str(t);
        }
    }
    s
}

/// A few random edits at character boundaries: delete, duplicate, insert syntax, or splice.
fn mutate(rng: &mut Rng, seed: &str, other: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..1 + rng.below(8) {
        let len = chars.len();
        let at = rng.below(len + 1);
        let span = rng.below(64).min(len - at);
        match rng.below(5) {
            0 => {
                chars.drain(at..at + span);
            }
            1 => {
                let copy: Vec<char> = chars[at..at + span].to_vec();
                let reps = 1 + rng.below(20);
                for _ in 0..reps {
                    chars.splice(at..at, copy.iter().copied());
                }
            }
            2 | 3 => {
                let t: Vec<char> = (*rng.pick(TOKENS)).chars().collect();
                chars.splice(at..at, t);
            }
            _ => {
                let o: Vec<char> = other.chars().collect();
                let from = rng.below(o.len() + 1);
                let n = rng.below(400).min(o.len() - from);
                chars.splice(at..at, o[from..from + n].iter().copied());
            }
        }
    }
    chars.into_iter().collect()
}

fn seed() -> u64 {
    std::env::var("DOCCHECK_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x00D0_CC4E_C0FF_EE00)
}

fn budget(default_secs: u64) -> Duration {
    let secs = std::env::var("DOCCHECK_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_secs);
    Duration::from_secs(secs)
}

/// Runs `f` on its own thread; a panic or a run past `limit` keeps the input in the corpus
/// and fails the test with where it was kept.
fn guarded<T: Send + 'static>(
    kind: &str,
    ext: &str,
    tag: &str,
    input: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    let limit = Duration::from_secs(30);
    let failure = match rx.recv_timeout(limit) {
        Ok(()) => match handle.join() {
            Ok(out) => return out,
            Err(_) => "panicked",
        },
        Err(mpsc::RecvTimeoutError::Disconnected) => "panicked",
        Err(mpsc::RecvTimeoutError::Timeout) => "ran past 30 s",
    };
    let kept = corpus_dir(kind).join(format!("crash-{tag}.{ext}"));
    let _ = std::fs::create_dir_all(corpus_dir(kind));
    let _ = std::fs::write(&kept, input);
    panic!("{kind} input {tag} {failure}; kept as {}", kept.display());
}

#[test]
fn seeded_markdown_fuzz_never_panics_or_hangs() {
    let seeds = corpus("markdown");
    assert!(seeds.len() >= 10, "the markdown corpus is missing: {}", corpus_dir("markdown").display());
    let rules = parse_rules(RULES).unwrap();
    let mut rng = Rng(seed());
    let (start, limit) = (Instant::now(), budget(4));
    let mut n = 0;
    // every kept input as it is, then generated and mutated ones until the budget is spent
    while n < seeds.len() || (n < 100_000 && start.elapsed() < limit) {
        let (a, b) = (rng_pick(&mut rng, &seeds), rng_pick(&mut rng, &seeds));
        let doc = match n {
            i if i < seeds.len() => seeds[i].clone(),
            _ if rng.below(3) == 0 => generate(&mut rng),
            _ => mutate(&mut rng, a, b),
        };
        let adr = if rng.below(2) == 0 { doc.clone() } else { mutate(&mut rng, a, &doc) };
        let ws = workspace(&[("d.md", &doc), ("adr/0001-a.md", &adr)]);
        let (root, r) = (ws.root.clone(), rules.clone());
        let tag = format!("{:x}-{n}", seed());
        let out = guarded("markdown", "md", &tag, &format!("{doc}\n<!-- adr -->\n{adr}"), move || check(&r, &root));
        assert_eq!(out.len(), 15);
        for o in &out {
            assert!(o.status == Status::Pass || !o.message.is_empty(), "input {tag}: {} failed silently", o.rule_id);
            assert!(o.line.is_none_or(|l| l >= 1), "input {tag}: line 0 for {}", o.rule_id);
        }
        n += 1;
    }
    println!("markdown fuzz: {n} inputs in {:.1?} (seed {:#x})", start.elapsed(), seed());
}

/// Values that sit on the edges of what a rules field accepts.
fn odd_value(rng: &mut Rng) -> toml::Value {
    use toml::Value as V;
    let text = |rng: &mut Rng| V::String((*rng.pick(TOKENS)).to_string());
    match rng.below(14) {
        0 => V::Integer(0),
        1 => V::Integer(-1),
        2 => V::Integer(i64::MAX),
        3 => V::Float(f64::NAN),
        4 => V::Float(1e308),
        5 => V::Float(0.5),
        6 => V::String(String::new()),
        7 => V::String(["*", "a*b*", "adr/*.md", "../x", "d.md", ".", "/", "a//b"][rng.below(8)].into()),
        8 => V::Array(Vec::new()),
        9 => V::Array((0..rng.below(4)).map(|_| text(rng)).collect()),
        10 => V::Boolean(true),
        11 => {
            let mut t = toml::Table::new();
            for key in ["title", "name", "label", "formula", "check", "any", "aliases"] {
                if rng.below(2) == 0 {
                    let v = if key == "any" || key == "aliases" { V::Array(vec![text(rng)]) } else { text(rng) };
                    t.insert(key.into(), v);
                }
            }
            V::Array(vec![V::Table(t)])
        }
        12 => V::String(["sections", "adr", "capacity", "table", "links", "slo", "mermaid"][rng.below(7)].into()),
        _ => text(rng),
    }
}

/// A value of the same type as `old`, at an edge of that type (so the file stays valid more
/// often and the rule kinds see odd parameters rather than type errors).
fn same_type(rng: &mut Rng, old: &toml::Value) -> toml::Value {
    use toml::Value as V;
    match old {
        V::Integer(_) => V::Integer([0, 1, -1, i64::MAX, 1_000_000][rng.below(5)]),
        V::Float(_) => V::Float([0.0, 1.0, 0.999_999, f64::MIN_POSITIVE, -0.0][rng.below(5)]),
        V::Boolean(b) => V::Boolean(!b),
        V::String(_) => V::String((*rng.pick(TOKENS)).to_string()),
        V::Array(items) => {
            let mut items = items.clone();
            match rng.below(3) {
                0 => items.clear(),
                1 if !items.is_empty() => {
                    let j = rng.below(items.len());
                    items[j] = same_type(rng, &items[j].clone());
                }
                _ => items.extend(items.first().cloned()),
            }
            V::Array(items)
        }
        V::Table(t) => {
            let mut t = t.clone();
            let keys: Vec<String> = t.keys().cloned().collect();
            if let Some(k) = keys.get(rng.below(keys.len().max(1))) {
                let v = same_type(rng, &t[k].clone());
                t.insert(k.clone(), v);
            }
            V::Table(t)
        }
        other => other.clone(),
    }
}

/// Parses a seed rules file and changes, drops or adds a field of one rule, keeping either the
/// whole file or only that rule; None when the seed is not TOML with rules.
fn mutate_values(rng: &mut Rng, seed: &str) -> Option<String> {
    let mut doc: toml::Table = seed.parse().ok()?;
    let rules = doc.get_mut("rule")?.as_array_mut()?;
    if rules.is_empty() {
        return None;
    }
    let i = rng.below(rules.len());
    let rule = rules[i].as_table_mut()?;
    for _ in 0..1 + rng.below(2) {
        let keys: Vec<String> = rule.keys().filter(|k| *k != "id").cloned().collect();
        let Some(key) = keys.get(rng.below(keys.len().max(1))).cloned() else {
            break;
        };
        match rng.below(8) {
            0 => {
                rule.remove(&key);
            }
            1 => {
                rule.insert(key, odd_value(rng));
            }
            2 => {
                rule.insert(["min_count", "section", "exclude", "extra"][rng.below(4)].into(), odd_value(rng));
            }
            _ => {
                let v = same_type(rng, &rule[&key].clone());
                rule.insert(key, v);
            }
        }
    }
    if rng.below(2) == 0 {
        let only = rules[i].clone();
        *rules = vec![only];
    }
    toml::to_string(&doc).ok()
}

fn rng_pick<'a>(rng: &mut Rng, items: &'a [String]) -> &'a str {
    rng.pick(items).as_str()
}

#[test]
fn seeded_rules_fuzz_never_panics_or_hangs() {
    let mut seeds = corpus("rules");
    assert!(seeds.len() >= 5, "the rules corpus is missing: {}", corpus_dir("rules").display());
    seeds.push(RULES.to_string());
    let ws = workspace(&[("d.md", "# D\n\n## A\n\nText 5 ms.\n"), ("adr/0001-a.md", "---\nstatus: accepted\n---\n")]);
    let mut rng = Rng(seed() ^ 0x5EED);
    let (start, limit) = (Instant::now(), budget(3));
    let (mut n, mut accepted) = (0, 0);
    while n < seeds.len() || (n < 100_000 && start.elapsed() < limit) {
        let (a, b) = (rng_pick(&mut rng, &seeds), rng_pick(&mut rng, &seeds));
        let text = match n {
            i if i < seeds.len() => seeds[i].clone(),
            // text edits mostly break the TOML; edits of values reach the rule kinds
            _ if rng.below(4) == 0 => mutate(&mut rng, a, b),
            _ => mutate_values(&mut rng, a).unwrap_or_else(|| mutate(&mut rng, a, b)),
        };
        let tag = format!("{:x}-{n}", seed());
        let root = ws.root.clone();
        let t = text.clone();
        // a rules file is either refused with a message or graded without a panic
        let ok = guarded("rules", "toml", &tag, &text, move || match parse_rules(&t) {
            Ok(r) => {
                let out = check(&r, &root);
                assert!(out.iter().all(|o| o.status == Status::Pass || !o.message.is_empty()));
                true
            }
            Err(e) => {
                assert!(!e.to_string().trim().is_empty(), "empty rules error");
                false
            }
        });
        accepted += usize::from(ok);
        n += 1;
    }
    // mutations that keep the file valid exercise the rule kinds with odd parameters
    assert!(accepted > 0, "no mutated rules file was accepted");
    println!("rules fuzz: {n} inputs ({accepted} accepted) in {:.1?} (seed {:#x})", start.elapsed(), seed() ^ 0x5EED);
}
