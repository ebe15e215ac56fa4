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
    /// `text` through `normalize_title`, computed once: rules look headings up by title many
    /// times, and normalising every heading on every lookup is quadratic on big documents.
    pub(crate) norm: String,
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
    /// Source spans of text, inline code, code-block and HTML events (for placeholder scans),
    /// in order; spans that touch are merged, so a run of text pulldown-cmark splits at every
    /// `[` or `*` is scanned once rather than once per fragment.
    pub(crate) spans: Vec<(usize, usize)>,
    /// The headings' title keys, made on first use: every rule that looks for a section needs
    /// them, and a document may have many headings.
    heading_keys: std::cell::OnceCell<Vec<crate::title_key::Key>>,
    /// Headings grouped by title key, groups in order of first appearance: a section lookup
    /// judges each distinct title once, however often it repeats.
    title_groups: std::cell::OnceCell<Vec<Vec<usize>>>,
    /// How many headings share each anchor (GitHub's slug before any `-1` suffix): anchors are
    /// that slug and `slug-1` up to `slug-(n-1)`. Link checks look anchors up here rather than
    /// scanning every heading per link.
    anchors: HashMap<String, usize>,
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

        for (ev, range) in Parser::new_ext(src, opts).into_offset_iter() {
            match ev {
                Event::Start(Tag::Heading { level, .. }) => heading = Some((level as u8, String::new(), range.start)),
                Event::End(TagEnd::Heading(_)) => {
                    if let Some((level, text, offset)) = heading.take() {
                        let text = text.trim().to_string();
                        let slug = github_slug(&text);
                        match self.anchors.get_mut(&slug) {
                            Some(n) => *n += 1,
                            None => {
                                self.anchors.insert(slug, 1);
                            }
                        }
                        let norm = normalize_title(&text);
                        self.headings.push(Heading { level, text, norm, offset });
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
                    self.span(range.start, range.end);
                    if let Some((_, content, _, _)) = code.as_mut() {
                        content.push_str(&t);
                    } else {
                        push_text(&t, &mut heading, &mut cell, &mut para, &mut items);
                    }
                }
                Event::SoftBreak | Event::HardBreak => push_text(" ", &mut heading, &mut cell, &mut para, &mut items),
                Event::Html(_) | Event::InlineHtml(_) => self.span(range.start, range.end),
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

    fn span(&mut self, start: usize, end: usize) {
        match self.spans.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => self.spans.push((start, end)),
        }
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> u32 {
        let idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        idx.max(1) as u32
    }

    pub(crate) fn heading_keys(&self) -> &[crate::title_key::Key] {
        self.heading_keys.get_or_init(|| self.headings.iter().map(|h| crate::title_key::Key::new(&h.text)).collect())
    }

    pub(crate) fn title_groups(&self) -> &[Vec<usize>] {
        self.title_groups.get_or_init(|| {
            let mut at: HashMap<&str, usize> = HashMap::new();
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for (i, k) in self.heading_keys().iter().enumerate() {
                match at.get(k.joined()) {
                    Some(&g) => groups[g].push(i),
                    None => {
                        at.insert(k.joined(), groups.len());
                        groups.push(vec![i]);
                    }
                }
            }
            groups
        })
    }

    pub(crate) fn whole(&self) -> Range {
        Range { start: 0, end: self.src.len() + 1 }
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

    // Each list is sorted by offset, so a range is a binary search away: rules ask for many
    // small sections, and a filter over the whole document per section is quadratic.
    pub(crate) fn prose_in(&self, r: Range) -> impl Iterator<Item = &Prose> {
        within(&self.prose, r, |p| p.offset).iter()
    }
    pub(crate) fn items_in(&self, r: Range) -> impl Iterator<Item = &ListItem> {
        within(&self.items, r, |p| p.offset).iter()
    }
    pub(crate) fn codes_in(&self, r: Range) -> impl Iterator<Item = &CodeBlock> {
        within(&self.codes, r, |p| p.offset).iter()
    }
    pub(crate) fn tables_in(&self, r: Range) -> impl Iterator<Item = &Table> {
        within(&self.tables, r, |p| p.offset).iter()
    }
    pub(crate) fn headings_in(&self, r: Range) -> impl Iterator<Item = &Heading> {
        within(&self.headings, r, |p| p.offset).iter()
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

    /// Does a heading have this anchor? The n-th repeat of a title (counting from 0) gets
    /// `-n` appended, as on GitHub.
    pub(crate) fn has_slug(&self, slug: &str) -> bool {
        let slug = slug.to_lowercase();
        if self.anchors.contains_key(&slug) {
            return true;
        }
        let Some((base, n)) = slug.rsplit_once('-') else {
            return false;
        };
        let repeat = if n.starts_with('0') { None } else { n.parse::<usize>().ok() };
        repeat.is_some_and(|k| k >= 1 && self.anchors.get(base).is_some_and(|count| k < *count))
    }
}

/// The part of an offset-sorted list that lies in `r`.
fn within<T>(list: &[T], r: Range, offset: impl Fn(&T) -> usize) -> &[T] {
    let lo = list.partition_point(|x| offset(x) < r.start);
    let hi = lo + list[lo..].partition_point(|x| offset(x) < r.end);
    &list[lo..hi]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_titles_get_numbered_anchors() {
        let doc = Doc::parse("d.md", "# A\n\n## A\n\n### A\n\n## Step 1\n\n## B!\n");
        for yes in ["a", "a-1", "a-2", "A-1", "step-1", "b"] {
            assert!(doc.has_slug(yes), "{yes}");
        }
        for no in ["a-3", "a-0", "a-01", "b-1", "step", "c", "-1", ""] {
            assert!(!doc.has_slug(no), "{no}");
        }
    }

    #[test]
    fn section_contents_stop_at_the_next_heading_of_the_same_level() {
        let doc = Doc::parse("d.md", "# T\n\nintro\n\n## A\n\none\n\n- item\n\n### A1\n\ntwo\n\n## B\n\nthree\n");
        let a = doc.headings.iter().position(|h| h.text == "A").unwrap();
        let r = doc.section_range(a);
        let prose: Vec<&str> = doc.prose_in(r).map(|p| p.text.as_str()).collect();
        assert_eq!(prose, ["one", "item", "two"]);
        assert_eq!(doc.items_in(r).count(), 1);
        assert_eq!(doc.headings_in(r).map(|h| h.text.as_str()).collect::<Vec<_>>(), ["A", "A1"]);
        assert_eq!(doc.prose_in(doc.whole()).count(), 5);
    }

    #[test]
    fn touching_text_fragments_are_one_span() {
        // pulldown-cmark splits this line at every '[': one span keeps placeholder scans linear
        let doc = Doc::parse("d.md", "a [b [c TODO\n\nnext `code` para\n");
        assert_eq!(doc.spans[0], (0, 12));
        assert_eq!(&doc.src[doc.spans[1].0..doc.spans[1].1], "next `code` para");
        assert_eq!(doc.spans.len(), 2);
    }

    #[test]
    fn byte_order_mark_does_not_hide_front_matter() {
        let doc = Doc::parse("d.md", "\u{feff}---\nstatus: accepted\n---\n# T\n");
        assert_eq!(doc.front_value("status").map(|f| (f.value.as_str(), f.line)), Some(("accepted", 2)));
        assert_eq!(doc.headings[0].text, "T");
        assert_eq!(doc.line(doc.headings[0].offset), 4);
    }
}
