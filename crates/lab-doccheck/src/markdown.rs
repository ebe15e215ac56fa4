//! The Markdown model: one parsed document (headings, prose, lists, tables, code blocks, links,
//! front matter), with byte offsets so every problem can be reported as a 1-based line.
//!
//! Everything is built from pulldown-cmark events in one pass; rule modules never look at raw
//! Markdown syntax except to report lines and to scan for placeholders in source spans.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use std::collections::HashMap;

use crate::text::{normalize_title, word_count};

#[derive(Debug, Clone)]
pub(crate) struct Heading {
    pub(crate) level: u8,
    pub(crate) text: String,
    pub(crate) slug: String,
    pub(crate) offset: usize,
}

/// A run of prose: a paragraph, or the text of a tight list item (which has no paragraph).
#[derive(Debug, Clone)]
pub(crate) struct Prose {
    pub(crate) text: String,
    pub(crate) offset: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct ListItem {
    pub(crate) text: String,
    pub(crate) offset: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct CodeBlock {
    /// First word of the fence's info string, lower-cased ("" for indented blocks).
    pub(crate) lang: String,
    pub(crate) content: String,
    pub(crate) offset: usize,
    /// Line of the first content line (the line after the opening fence).
    pub(crate) content_line: u32,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) links: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub(crate) header: Vec<Cell>,
    pub(crate) rows: Vec<Vec<Cell>>,
    pub(crate) row_offsets: Vec<usize>,
    pub(crate) offset: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub(crate) dest: String,
    pub(crate) offset: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct FrontMatter {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) line: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Doc {
    pub(crate) path: String,
    pub(crate) src: String,
    line_starts: Vec<usize>,
    pub(crate) headings: Vec<Heading>,
    pub(crate) prose: Vec<Prose>,
    pub(crate) items: Vec<ListItem>,
    pub(crate) codes: Vec<CodeBlock>,
    pub(crate) tables: Vec<Table>,
    pub(crate) links: Vec<Link>,
    pub(crate) front: Vec<FrontMatter>,
    /// Source spans of text, inline code, code-block and HTML events (for placeholder scans).
    pub(crate) spans: Vec<(usize, usize)>,
}

/// A byte range of the document: a section's body, or the whole file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Range {
    pub(crate) fn contains(&self, off: usize) -> bool {
        off >= self.start && off < self.end
    }
}

/// Per-item builder state while events stream past.
#[derive(Default)]
struct ItemBuf {
    text: String,
    tight: String,
    offset: usize,
}

impl Doc {
    pub(crate) fn parse(path: &str, input: &str) -> Doc {
        // A byte-order mark (some Windows editors write one) would hide front matter and turn
        // the first heading into text; it is no content, and dropping it moves no line.
        let input = input.strip_prefix('\u{feff}').unwrap_or(input);
        let mut doc = Doc { path: path.to_string(), ..Doc::default() };
        // Front matter is stripped by hand (replaced by blanks of equal length) so offsets and
        // lines stay those of the file the learner edits.
        let (src, front) = strip_front_matter(input);
        doc.front = front;
        doc.line_starts = std::iter::once(0).chain(input.match_indices('\n').map(|(i, _)| i + 1)).collect();
        doc.src = input.to_string();
        doc.build(&src);
        doc
    }

    fn build(&mut self, src: &str) {
        let opts = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_TASKLISTS;
        let mut heading: Option<(u8, String, usize)> = None;
        let mut para: Option<(String, usize)> = None;
        let mut items: Vec<ItemBuf> = Vec::new();
        let mut code: Option<(String, String, usize, bool)> = None;
        let mut table: Option<Table> = None;
        let mut row: Vec<Cell> = Vec::new();
        let mut cell: Option<Cell> = None;
        let mut in_head = false;
        let mut slug_counts: HashMap<String, usize> = HashMap::new();

        for (ev, range) in Parser::new_ext(src, opts).into_offset_iter() {
            match ev {
                Event::Start(Tag::Heading { level, .. }) => heading = Some((level as u8, String::new(), range.start)),
                Event::End(TagEnd::Heading(_)) => {
                    if let Some((level, text, offset)) = heading.take() {
                        let text = text.trim().to_string();
                        let slug = unique_slug(&github_slug(&text), &mut slug_counts);
                        self.headings.push(Heading { level, text, slug, offset });
                    }
                }
                Event::Start(Tag::Paragraph) => para = Some((String::new(), range.start)),
                Event::End(TagEnd::Paragraph) => {
                    if let Some((text, offset)) = para.take() {
                        if cell.is_none() && heading.is_none() && !text.trim().is_empty() {
                            self.prose.push(Prose { text, offset });
                        }
                    }
                }
                Event::Start(Tag::Item) => items.push(ItemBuf { offset: range.start, ..ItemBuf::default() }),
                Event::End(TagEnd::Item) => {
                    if let Some(it) = items.pop() {
                        if !it.tight.trim().is_empty() {
                            self.prose.push(Prose { text: it.tight, offset: it.offset });
                        }
                        self.items.push(ListItem { text: it.text.trim().to_string(), offset: it.offset });
                    }
                }
                Event::Start(Tag::CodeBlock(kind)) => {
                    let fenced = matches!(kind, CodeBlockKind::Fenced(_));
                    let lang = match kind {
                        CodeBlockKind::Fenced(info) => info
                            .split(|c: char| c.is_whitespace() || c == ',' || c == '{')
                            .next()
                            .unwrap_or("")
                            .to_lowercase(),
                        CodeBlockKind::Indented => String::new(),
                    };
                    code = Some((lang, String::new(), range.start, fenced));
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some((lang, content, offset, fenced)) = code.take() {
                        let line = self.line(offset) + u32::from(fenced);
                        self.codes.push(CodeBlock { lang, content, offset, content_line: line });
                    }
                }
                Event::Start(Tag::Table(_)) => {
                    table = Some(Table {
                        header: Vec::new(),
                        rows: Vec::new(),
                        row_offsets: Vec::new(),
                        offset: range.start,
                    })
                }
                Event::End(TagEnd::Table) => {
                    if let Some(t) = table.take() {
                        self.tables.push(t);
                    }
                }
                Event::Start(Tag::TableHead) => {
                    in_head = true;
                    row.clear();
                }
                Event::End(TagEnd::TableHead) => {
                    in_head = false;
                    if let Some(t) = table.as_mut() {
                        t.header = std::mem::take(&mut row);
                    }
                }
                Event::Start(Tag::TableRow) => {
                    row.clear();
                    if let Some(t) = table.as_mut() {
                        t.row_offsets.push(range.start);
                    }
                }
                Event::End(TagEnd::TableRow) => {
                    if let Some(t) = table.as_mut() {
                        if !in_head {
                            t.rows.push(std::mem::take(&mut row));
                        }
                    }
                }
                Event::Start(Tag::TableCell) => cell = Some(Cell::default()),
                Event::End(TagEnd::TableCell) => {
                    if let Some(mut c) = cell.take() {
                        c.text = c.text.trim().to_string();
                        row.push(c);
                    }
                }
                Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
                    let dest = dest_url.to_string();
                    if let Some(c) = cell.as_mut() {
                        c.links.push(dest.clone());
                    }
                    self.links.push(Link { dest, offset: range.start });
                }
                Event::Text(t) | Event::Code(t) => {
                    self.spans.push((range.start, range.end));
                    if let Some((_, content, _, _)) = code.as_mut() {
                        content.push_str(&t);
                    } else {
                        push_text(&t, &mut heading, &mut cell, &mut para, &mut items);
                    }
                }
                Event::SoftBreak | Event::HardBreak => push_text(" ", &mut heading, &mut cell, &mut para, &mut items),
                Event::Html(_) | Event::InlineHtml(_) => {
                    self.spans.push((range.start, range.end));
                }
                _ => {}
            }
        }
        // An unclosed construct at EOF still yields End events in pulldown-cmark, but keep any
        // half-built table anyway: a malformed document must never lose content silently.
        if let Some(t) = table.take() {
            self.tables.push(t);
        }
        self.prose.sort_by_key(|p| p.offset);
        self.items.sort_by_key(|p| p.offset);
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> u32 {
        let idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        idx.max(1) as u32
    }

    pub(crate) fn whole(&self) -> Range {
        Range { start: 0, end: self.src.len() + 1 }
    }

    /// Index of the first heading whose title matches one of `names` (see `normalize_title`).
    pub(crate) fn find_heading(&self, names: &[String]) -> Option<usize> {
        let wanted: Vec<String> = names.iter().map(|n| normalize_title(n)).filter(|n| !n.is_empty()).collect();
        let titles: Vec<String> = self.headings.iter().map(|h| normalize_title(&h.text)).collect();
        // An exact title wins over a longer one that merely starts with it, so "Goals" finds
        // "### Goals" even when "## Goals and non-goals" comes first.
        titles
            .iter()
            .position(|t| wanted.contains(t))
            .or_else(|| titles.iter().position(|t| wanted.iter().any(|w| t.starts_with(&format!("{w} ")))))
    }

    /// Body of heading `idx`: from the heading to the next heading of the same or higher level.
    pub(crate) fn section_range(&self, idx: usize) -> Range {
        let h = &self.headings[idx];
        let end = self.headings[idx + 1..]
            .iter()
            .find(|o| o.level <= h.level)
            .map(|o| o.offset)
            .unwrap_or(self.src.len() + 1);
        Range { start: h.offset, end }
    }

    pub(crate) fn section(&self, names: &[String]) -> Option<(Range, &Heading)> {
        self.find_heading(names).map(|i| (self.section_range(i), &self.headings[i]))
    }

    pub(crate) fn prose_in(&self, r: Range) -> impl Iterator<Item = &Prose> {
        self.prose.iter().filter(move |p| r.contains(p.offset))
    }
    pub(crate) fn items_in(&self, r: Range) -> impl Iterator<Item = &ListItem> {
        self.items.iter().filter(move |p| r.contains(p.offset))
    }
    pub(crate) fn codes_in(&self, r: Range) -> impl Iterator<Item = &CodeBlock> {
        self.codes.iter().filter(move |p| r.contains(p.offset))
    }
    pub(crate) fn tables_in(&self, r: Range) -> impl Iterator<Item = &Table> {
        self.tables.iter().filter(move |p| r.contains(p.offset))
    }
    pub(crate) fn headings_in(&self, r: Range) -> impl Iterator<Item = &Heading> {
        self.headings.iter().filter(move |p| r.contains(p.offset))
    }

    /// Is there anything but the heading (and HTML comments) in the range?
    pub(crate) fn has_content(&self, r: Range) -> bool {
        self.prose_in(r).any(|p| word_count(&p.text) > 0)
            || self.items_in(r).any(|i| !i.text.is_empty())
            || self.tables_in(r).next().is_some()
            || self.codes_in(r).any(|c| !c.content.trim().is_empty())
    }

    pub(crate) fn front_value(&self, key: &str) -> Option<&FrontMatter> {
        self.front.iter().find(|f| f.key.eq_ignore_ascii_case(key))
    }

    pub(crate) fn has_slug(&self, slug: &str) -> bool {
        let slug = slug.to_lowercase();
        self.headings.iter().any(|h| h.slug == slug)
    }
}

fn push_text(
    t: &str,
    heading: &mut Option<(u8, String, usize)>,
    cell: &mut Option<Cell>,
    para: &mut Option<(String, usize)>,
    items: &mut [ItemBuf],
) {
    if let Some((_, text, _)) = heading.as_mut() {
        text.push_str(t);
        return;
    }
    if let Some(c) = cell.as_mut() {
        c.text.push_str(t);
        return;
    }
    if let Some((text, _)) = para.as_mut() {
        text.push_str(t);
    } else if let Some(top) = items.last_mut() {
        top.tight.push_str(t);
    }
    if let Some(top) = items.last_mut() {
        top.text.push_str(t);
    }
}

/// Splits off YAML-style front matter (`---` ... `---` at the very top). Returns the text with
/// the front matter blanked out (newlines kept) and its `key: value` lines.
fn strip_front_matter(input: &str) -> (String, Vec<FrontMatter>) {
    let mut front = Vec::new();
    let mut lines = input.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return (input.to_string(), front);
    }
    // byte offsets come from split_inclusive, so CRLF files and non-ASCII values stay exact
    let mut pos = input.split_inclusive('\n').next().map_or(0, str::len);
    let mut end = None;
    for (i, raw) in lines.enumerate() {
        let line = raw.trim_end();
        if line == "---" || line == "..." {
            end = Some(pos + line.len());
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            front.push(FrontMatter {
                key: k.trim().to_string(),
                value: v.trim().trim_matches(|c| c == '"' || c == '\'').to_string(),
                line: i as u32 + 2,
            });
        }
        pos += raw.len();
    }
    let Some(end) = end else {
        return (input.to_string(), Vec::new());
    };
    // Blank every byte of the front matter except newlines: same length, same lines, and the
    // result stays valid UTF-8 because every byte becomes ASCII.
    let mut out: String = input.as_bytes()[..end].iter().map(|b| if *b == b'\n' { '\n' } else { ' ' }).collect();
    out.push_str(&input[end..]);
    (out, front)
}

/// GitHub's heading anchor: lower-case, drop punctuation except '-' and '_', spaces to '-'.
fn github_slug(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c)
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

fn unique_slug(base: &str, counts: &mut HashMap<String, usize>) -> String {
    let n = counts.entry(base.to_string()).or_insert(0);
    let slug = if *n == 0 { base.to_string() } else { format!("{base}-{n}") };
    *n += 1;
    slug
}
