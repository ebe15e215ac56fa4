//! Mermaid rules: required diagram kinds present in ```mermaid blocks, and a light syntax check
//! (known diagram header, balanced brackets and quotes, subgraph/end and block/end pairing,
//! sequence messages well formed). Not a full parse: that would need Node and the mermaid
//! package, which the docs runner deliberately does without.

use crate::problem::Problem;
use crate::spec::MermaidSpec;
use crate::workspace::{section, Workspace};

pub(crate) const KNOWN_KINDS: &[&str] = &[
    "flowchart",
    "sequence",
    "class",
    "state",
    "er",
    "gantt",
    "pie",
    "journey",
    "git",
    "mindmap",
    "timeline",
    "c4",
    "quadrant",
    "requirement",
    "sankey",
    "xychart",
    "block",
    "architecture",
    "packet",
];

fn kind_of(keyword: &str) -> Option<&'static str> {
    Some(match keyword {
        "flowchart" | "graph" => "flowchart",
        "sequenceDiagram" => "sequence",
        "classDiagram" | "classDiagram-v2" => "class",
        "stateDiagram" | "stateDiagram-v2" => "state",
        "erDiagram" => "er",
        "gantt" => "gantt",
        "pie" => "pie",
        "journey" => "journey",
        "gitGraph" => "git",
        "mindmap" => "mindmap",
        "timeline" => "timeline",
        "C4Context" | "C4Container" | "C4Component" | "C4Dynamic" | "C4Deployment" => "c4",
        "quadrantChart" => "quadrant",
        "requirementDiagram" => "requirement",
        "sankey-beta" => "sankey",
        "xychart-beta" => "xychart",
        "block-beta" => "block",
        "architecture-beta" => "architecture",
        "packet-beta" => "packet",
        _ => return None,
    })
}

/// Problems with one diagram: (0-based line within the block, message).
type Problems = Vec<(usize, String)>;

/// Checks one diagram's text; returns its kind (when the header is known) and its problems.
fn check_diagram(content: &str) -> (Option<&'static str>, Problems) {
    let mut lines: Vec<(usize, &str)> = content.lines().enumerate().map(|(i, l)| (i, l.trim())).collect();
    // optional config front matter at the top of the diagram
    if lines.iter().find(|(_, l)| !l.is_empty()).map(|(_, l)| *l) == Some("---") {
        let start = lines.iter().position(|(_, l)| *l == "---").unwrap_or(0);
        if let Some(end) = lines[start + 1..].iter().position(|(_, l)| *l == "---") {
            lines.drain(..start + end + 2);
        }
    }
    lines.retain(|(_, l)| !l.is_empty() && !l.starts_with("%%"));
    let Some(&(hline, header)) = lines.first() else {
        return (None, vec![(0, "the mermaid block is empty".into())]);
    };
    let mut words = header.trim_end_matches(';').split_whitespace();
    let keyword = words.next().unwrap_or("");
    let Some(kind) = kind_of(keyword) else {
        return (
            None,
            vec![(hline, format!("\"{keyword}\" is not a Mermaid diagram type (e.g. flowchart LR, sequenceDiagram)"))],
        );
    };
    let body = &lines[1..];
    let problems = match kind {
        "flowchart" => flowchart(hline, words.next(), body),
        "sequence" => sequence(hline, body),
        _ => other(kind, hline, body),
    };
    (Some(kind), problems)
}

/// Brackets and double quotes balance within one line.
fn balance(line: &str) -> Result<(), String> {
    let mut stack = Vec::new();
    let mut quoted = false;
    for c in line.chars() {
        if c == '"' {
            quoted = !quoted;
            continue;
        }
        if quoted {
            continue;
        }
        match c {
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(want) {
                    return Err(format!("unbalanced '{c}' in \"{line}\""));
                }
            }
            _ => {}
        }
    }
    if quoted {
        return Err(format!("unclosed '\"' in \"{line}\""));
    }
    if let Some(open) = stack.pop() {
        return Err(format!("unclosed '{open}' in \"{line}\""));
    }
    Ok(())
}

/// Other diagram kinds: only a whole-block bracket balance, since class and state diagrams
/// open `{` blocks across lines and ER cardinalities (`||--o{`) use braces as symbols.
fn other(kind: &str, hline: usize, body: &[(usize, &str)]) -> Problems {
    let mut text = String::new();
    for (_, l) in body {
        let mut l = l.to_string();
        if kind == "er" {
            for tok in ["}o", "o{", "}|", "|{"] {
                l = l.replace(tok, "");
            }
        }
        text.push_str(&l);
        text.push(' ');
    }
    match balance(&text) {
        Ok(()) => Vec::new(),
        Err(_) => vec![(hline, format!("unbalanced brackets or quotes in this {kind} diagram"))],
    }
}

/// Rewrites flowchart syntax that uses brackets as symbols so `balance` can judge the rest:
/// edge labels between pipes (`-->|a > b|`) are dropped, and the asymmetric node shape
/// `id>label]` gets a matching `[`.
fn flowchart_shapes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_pipe = false;
    let mut quoted = false;
    let mut prev = ' ';
    for c in line.chars() {
        if c == '"' && !in_pipe {
            quoted = !quoted;
        }
        if c == '|' && !quoted {
            in_pipe = !in_pipe;
            prev = c;
            continue;
        }
        if in_pipe {
            continue;
        }
        if c == '>' && !quoted && (prev.is_alphanumeric() || prev == '_') {
            out.push('[');
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn flowchart(hline: usize, dir: Option<&str>, body: &[(usize, &str)]) -> Problems {
    let mut out = Vec::new();
    if let Some(d) = dir {
        if !["TB", "TD", "BT", "RL", "LR"].contains(&d) {
            out.push((hline, format!("flowchart direction \"{d}\" is not one of TB, TD, BT, RL, LR")));
        }
    }
    let mut depth = 0i32;
    let mut edges = 0;
    for &(i, raw) in body {
        let l = raw.trim_end_matches(';');
        let first = l.split_whitespace().next().unwrap_or("");
        match first {
            "subgraph" => depth += 1,
            "end" => {
                depth -= 1;
                if depth < 0 {
                    out.push((i, "`end` without a matching `subgraph`".into()));
                    depth = 0;
                }
                continue;
            }
            "classDef" | "class" | "style" | "linkStyle" | "click" | "direction" => continue,
            _ => {}
        }
        if let Err(m) = balance(&flowchart_shapes(l)) {
            out.push((i, m));
        }
        if ["--", "==", "-.", "~~~"].iter().any(|a| l.contains(a)) {
            edges += 1;
        }
    }
    if depth > 0 {
        out.push((hline, format!("{depth} `subgraph` without a closing `end`")));
    }
    if edges == 0 {
        out.push((hline, "the flowchart has no edges (write them like A --> B)".into()));
    }
    out
}

const ARROWS: &[&str] = &["<<-->>", "<<->>", "-->>", "->>", "--x", "-x", "--)", "-)", "-->", "->"];
const OPENERS: &[&str] = &["loop", "alt", "opt", "par", "critical", "break", "rect", "box"];
const STATEMENTS: &[&str] = &[
    "participant",
    "actor",
    "note",
    "activate",
    "deactivate",
    "autonumber",
    "title",
    "create",
    "destroy",
    "link",
    "links",
    "properties",
    "details",
    "accTitle",
    "accDescr",
];

fn sequence(hline: usize, body: &[(usize, &str)]) -> Problems {
    let mut out = Vec::new();
    let mut stack: Vec<&str> = Vec::new();
    let mut messages = 0;
    for &(i, l) in body {
        let first = l.split_whitespace().next().unwrap_or("");
        let first_lc = first.trim_end_matches(':').to_lowercase();
        if OPENERS.contains(&first_lc.as_str()) {
            stack.push(OPENERS[OPENERS.iter().position(|o| *o == first_lc).unwrap_or(0)]);
            continue;
        }
        match first_lc.as_str() {
            "end" => {
                if stack.pop().is_none() {
                    out.push((i, "`end` without an opening loop/alt/opt/par/critical/break/rect/box".into()));
                }
                continue;
            }
            "else" | "and" | "option" => {
                if stack.is_empty() {
                    out.push((i, format!("`{first_lc}` outside an alt/par/critical block")));
                }
                continue;
            }
            _ => {}
        }
        if STATEMENTS.iter().any(|s| s.eq_ignore_ascii_case(&first_lc)) || first_lc.starts_with("acc") {
            continue;
        }
        match message(l) {
            Ok(()) => messages += 1,
            Err(m) => out.push((i, m)),
        }
    }
    if !stack.is_empty() {
        out.push((hline, format!("{} block(s) opened with loop/alt/opt/... have no `end`", stack.len())));
    }
    if messages == 0 {
        out.push((hline, "the sequence diagram has no messages (write them like Client->>API: request)".into()));
    }
    out
}

/// `Sender->>Receiver: text` with any Mermaid arrow and optional +/- activation marks.
fn message(l: &str) -> Result<(), String> {
    let found =
        ARROWS.iter().filter_map(|a| l.find(a).map(|p| (p, *a))).min_by_key(|(p, a)| (*p, usize::MAX - a.len()));
    let Some((pos, arrow)) = found else {
        return Err(format!("\"{l}\" is neither a message (A->>B: text) nor a sequence-diagram keyword"));
    };
    let sender = l[..pos].trim();
    let rest = &l[pos + arrow.len()..];
    let Some((receiver, _text)) = rest.split_once(':') else {
        return Err(format!("message \"{l}\" needs ': text' after the receiver"));
    };
    let receiver = receiver.trim().trim_start_matches(['+', '-']).trim();
    if sender.is_empty() || receiver.is_empty() {
        return Err(format!("message \"{l}\" needs a sender and a receiver"));
    }
    Ok(())
}

pub(crate) fn rule(spec: &MermaidSpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let (r, place, line) = match &spec.section {
        None => (doc.whole(), String::new(), 1),
        Some(n) => match section(&doc, n) {
            Ok((r, h)) => (r, format!(" in section \"{}\"", h.text), doc.line(h.offset)),
            Err(f) => return vec![f],
        },
    };
    let mut out = Vec::new();
    let mut good: Vec<&str> = Vec::new();
    let mut bad: Vec<&str> = Vec::new();
    for block in doc.codes_in(r).filter(|c| c.lang == "mermaid") {
        let (kind, problems) = check_diagram(&block.content);
        if problems.is_empty() {
            good.extend(kind);
        } else {
            bad.extend(kind);
        }
        for (i, m) in problems {
            out.push(Problem::at(&doc.path, block.content_line + i as u32, format!("mermaid diagram: {m}")));
        }
    }
    for k in &spec.kinds {
        if !good.contains(&k.as_str()) && !bad.contains(&k.as_str()) {
            let start = if k == "sequence" { "sequenceDiagram" } else { k.as_str() };
            out.push(Problem::at(
                &doc.path,
                line,
                format!("no Mermaid {k} diagram{place}: add a ```mermaid block that starts with `{start}`"),
            ));
        }
    }
    out
}
