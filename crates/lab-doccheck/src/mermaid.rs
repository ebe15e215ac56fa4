//! Mermaid rules: required diagram kinds present in ```mermaid blocks, and a light syntax check
//! (known diagram header, balanced brackets and quotes, subgraph/end and block/end pairing,
//! sequence messages well formed). Not a full parse: [`blocks`] lists the diagrams the rules read
//! so a caller with Node can run the real Mermaid parser over them; this crate starts no process.

use crate::markdown::{Doc, Range};
use crate::problem::Problem;
use crate::spec::MermaidSpec;
use crate::titles::section;
use crate::workspace::Workspace;

/// One ```mermaid block a mermaid rule reads, for a caller that parses diagrams in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MermaidBlock {
    /// The id of the mermaid rule that reads the block.
    pub rule_id: String,
    /// The document, relative to the checked folder and '/'-separated.
    pub file: String,
    /// The 1-based line of the diagram's first line (the one after the opening fence).
    pub line: u32,
    /// The diagram as written between the fences.
    pub text: String,
}

/// The blocks one mermaid rule reads. A missing document or section yields none: the rule
/// itself reports that.
pub(crate) fn blocks(rule_id: &str, spec: &MermaidSpec, ws: &mut Workspace) -> Vec<MermaidBlock> {
    let Ok(doc) = ws.doc(&spec.file) else { return Vec::new() };
    let Ok((r, _, _)) = scope(spec, &doc) else { return Vec::new() };
    doc.codes_in(r)
        .filter(|c| c.lang == "mermaid")
        .map(|c| MermaidBlock {
            rule_id: rule_id.to_string(),
            file: doc.path.clone(),
            line: c.content_line,
            text: c.content.clone(),
        })
        .collect()
}

/// Where a rule looks: the whole document or its section, how to name that place in a message,
/// and the line to point at when something is missing.
fn scope(spec: &MermaidSpec, doc: &Doc) -> Result<(Range, String, u32), Problem> {
    match &spec.section {
        None => Ok((doc.whole(), String::new(), 1)),
        Some(n) => section(doc, n).map(|(r, h)| (r, format!(" in section \"{}\"", h.text), doc.line(h.offset))),
    }
}

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
    message_ends(l).map(|_| ())
}

/// The sender and receiver of a message line.
fn message_ends(l: &str) -> Result<(String, String), String> {
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
    Ok((sender.to_string(), receiver.to_string()))
}

pub(crate) fn rule(spec: &MermaidSpec, ws: &mut Workspace) -> Vec<Problem> {
    let doc = match ws.doc(&spec.file) {
        Ok(d) => d,
        Err(f) => return vec![f],
    };
    let (r, place, line) = match scope(spec, &doc) {
        Ok(s) => s,
        Err(f) => return vec![f],
    };
    let mut out = Vec::new();
    let mut good: Vec<&str> = Vec::new();
    let mut bad: Vec<&str> = Vec::new();
    // The largest diagram of each kind: (nodes, edges) and (participants, messages).
    let mut flow = (0, 0);
    let mut seq = (0, 0);
    for block in doc.codes_in(r).filter(|c| c.lang == "mermaid") {
        let (kind, problems) = check_diagram(&block.content);
        match kind {
            Some("flowchart") => {
                let g = flowchart_graph(&block.content);
                flow = flow.max((g.nodes.len(), g.edges));
            }
            Some("sequence") => seq = seq.max(sequence_size(&block.content)),
            _ => {}
        }
        if problems.is_empty() {
            good.extend(kind);
        } else {
            bad.extend(kind);
        }
        for (i, m) in problems {
            out.push(Problem::at(&doc.path, block.content_line + i as u32, format!("mermaid diagram: {m}")));
        }
    }
    let drawn = |k: &str| good.contains(&k) || bad.contains(&k);
    for k in &spec.kinds {
        if !drawn(k) {
            let start = if k == "sequence" { "sequenceDiagram" } else { k.as_str() };
            out.push(Problem::at(
                &doc.path,
                line,
                format!("no Mermaid {k} diagram{place}: add a ```mermaid block that starts with `{start}`"),
            ));
        }
    }
    if drawn("flowchart") && (flow.0 < spec.min_nodes || flow.1 < spec.min_edges) {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "the flowchart{place} draws {} components and {} edges; draw at least {} and {}: every part a request passes through, and the stores they own",
                flow.0, flow.1, spec.min_nodes, spec.min_edges
            ),
        ));
    }
    if drawn("sequence") && (seq.0 < spec.min_participants || seq.1 < spec.min_messages) {
        out.push(Problem::at(
            &doc.path,
            line,
            format!(
                "the sequence diagram{place} has {} participants and {} messages; show at least {} and {}: the flow step by step, with its replies",
                seq.0, seq.1, spec.min_participants, spec.min_messages
            ),
        ));
    }
    out
}

/// The components a flowchart draws and how many edges join them.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Graph {
    /// (id, label) in order of first appearance; the label is the id when none is given.
    pub(crate) nodes: Vec<(String, String)>,
    /// Position of each id in `nodes`, so a large diagram is read in linear time.
    index: std::collections::HashMap<String, usize>,
    /// Subgraph titles: groups a reviewer also expects explained.
    pub(crate) groups: Vec<String>,
    pub(crate) edges: usize,
}

const FLOW_KEYWORDS: &[&str] =
    &["classDef", "class", "style", "linkStyle", "click", "direction", "end", "subgraph", "flowchart", "graph"];

/// Reads nodes and edges from a flowchart's lines (after the header). Tolerant: what it cannot
/// read it skips, since the syntax check reports malformed lines separately.
pub(crate) fn flowchart_graph(content: &str) -> Graph {
    let mut g = Graph::default();
    let mut lines = content.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("%%"));
    if lines.next().is_none() {
        return g;
    }
    for line in lines {
        let line = line.trim_end_matches(';');
        let first = line.split_whitespace().next().unwrap_or("");
        if first == "subgraph" {
            let rest = line["subgraph".len()..].trim();
            let title = match (rest.find('['), rest.rfind(']')) {
                (Some(a), Some(b)) if b > a => rest[a + 1..b].trim_matches('"').to_string(),
                _ => rest.trim_matches('"').to_string(),
            };
            if !title.is_empty() {
                g.groups.push(title);
            }
            continue;
        }
        if FLOW_KEYWORDS.contains(&first) {
            continue;
        }
        read_chain(line, &mut g);
    }
    g
}

fn read_chain(line: &str, g: &mut Graph) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    let mut expect_node = true;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == '&' {
            if c == '&' {
                expect_node = true;
            }
            i += 1;
            continue;
        }
        if expect_node && (c.is_alphanumeric() || c == '_') {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let id: String = chars[start..i].iter().collect();
            let mut label = None;
            if i < chars.len() && "[({>".contains(chars[i]) {
                let (text, next) = shape_label(&chars, i);
                label = Some(text);
                i = next;
            }
            add_node(g, &id, label);
            expect_node = false;
            continue;
        }
        if "-=.~<ox".contains(c) {
            // An arrow, maybe with its text inline ("-- text -->") or after it ("-->|text|").
            let start = i;
            while i < chars.len() && "-=.~<>ox".contains(chars[i]) && !(chars[i] == 'o' || chars[i] == 'x') {
                i += 1;
            }
            // o and x end an arrow only right after its dashes ("--o", "--x").
            if i < chars.len()
                && (chars[i] == 'o' || chars[i] == 'x')
                && i > start
                && !chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())
            {
                i += 1;
            }
            let arrow: String = chars[start..i].iter().collect();
            if arrow.len() < 2 {
                i = start + 1;
                continue;
            }
            if !arrow.ends_with(['>', '-', '=', 'o', 'x', '~']) || arrow == "--" || arrow == "==" || arrow == "-." {
                // "-- text -->": skip the text up to the closing arrow.
                let rest: String = chars[i..].iter().collect();
                if let Some(p) = ["-->", "==>", "-.->", "---", "===", "-.-"]
                    .iter()
                    .filter_map(|a| rest.find(a).map(|p| p + a.len()))
                    .min()
                {
                    i += rest[..p].chars().count();
                }
            }
            if i < chars.len() && chars[i] == '|' {
                if let Some(p) = chars[i + 1..].iter().position(|c| *c == '|') {
                    i += p + 2;
                }
            }
            g.edges += 1;
            expect_node = true;
            continue;
        }
        i += 1;
    }
}

/// The label inside a node shape starting at `open` (`[x]`, `(x)`, `([x])`, `[(x)]`, `{{x}}`,
/// `>x]`, `[/x/]`), and the index after the shape.
fn shape_label(chars: &[char], open: usize) -> (String, usize) {
    let mut depth = 0i32;
    let mut quoted = false;
    let mut i = open;
    let asym = chars[open] == '>';
    if asym {
        i += 1;
        depth = 1;
    }
    let start = i;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            quoted = !quoted;
        } else if !quoted {
            if "[({".contains(c) {
                depth += 1;
            } else if "])}".contains(c) {
                depth -= 1;
                if depth == 0 {
                    i += 1;
                    break;
                }
            }
        }
        i += 1;
    }
    let inner: String = chars[start..i.min(chars.len())].iter().collect();
    let label = inner
        .trim_matches(|c: char| "[](){}/\\>\"` ".contains(c))
        .replace("<br/>", " ")
        .replace("<br>", " ")
        .replace("<br />", " ");
    (label.split_whitespace().collect::<Vec<_>>().join(" "), i)
}

fn add_node(g: &mut Graph, id: &str, label: Option<String>) {
    match g.index.get(id) {
        Some(&i) => {
            if let Some(l) = label.filter(|l| !l.is_empty()) {
                g.nodes[i].1 = l;
            }
        }
        None => {
            g.index.insert(id.to_string(), g.nodes.len());
            g.nodes.push((id.to_string(), label.filter(|l| !l.is_empty()).unwrap_or_else(|| id.to_string())));
        }
    }
}

/// Participants and messages of a sequence diagram.
pub(crate) fn sequence_size(content: &str) -> (usize, usize) {
    let mut participants: Vec<String> = Vec::new();
    let mut messages = 0;
    for l in content.lines().map(str::trim).skip(1) {
        let first = l.split_whitespace().next().unwrap_or("").to_lowercase();
        if first == "participant" || first == "actor" {
            let name = l.split_whitespace().nth(1).unwrap_or("").to_string();
            if !participants.contains(&name) {
                participants.push(name);
            }
            continue;
        }
        if let Ok((from, to)) = message_ends(l) {
            messages += 1;
            for p in [from, to] {
                if !participants.contains(&p) {
                    participants.push(p);
                }
            }
        }
    }
    (participants.len(), messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flowchart_nodes_labels_groups_and_edges() {
        let g = flowchart_graph(
            "flowchart LR\n  R[Rider app] -->|POST /rides| GW(API gateway)\n  GW --> D{{Dispatch}} & P[(Trip store)]\n\
             subgraph city [\"City shard\"]\n  D -- offers --> DR>Driver app]\n  D -.-> G([Geo index])\n  end\n\
             K[\"Kafka<br/>location topic\"] --o G\n  G --x X\n classDef hot fill:#f00\n",
        );
        let labels: Vec<&str> = g.nodes.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Rider app",
                "API gateway",
                "Dispatch",
                "Trip store",
                "Driver app",
                "Geo index",
                "Kafka location topic",
                "X"
            ]
        );
        assert_eq!(g.groups, ["City shard"]);
        assert_eq!(g.edges, 6, "an edge statement counts once, with or without &");
        let two = flowchart_graph("flowchart LR\nA-->B\n");
        assert_eq!((two.nodes.len(), two.edges), (2, 1));
    }

    #[test]
    fn sequence_participants_and_messages() {
        let (p, m) = sequence_size(
            "sequenceDiagram\n participant R as Rider\n R->>API: request\n API->>+D: match\n D-->>-API: offer\n Note over R: waits\n",
        );
        assert_eq!((p, m), (3, 3));
    }
}
