//! Markdown body -> plain-text blocks with their heading path and source range.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::ops::Range;

/// A leaf block of text (paragraph, list item, table row, code block).
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Headings above this block, outermost first.
    pub section: Vec<String>,
    /// Plain text, markup removed.
    pub text: String,
    /// Byte range in the Markdown body.
    pub range: Range<usize>,
}

/// A link found in the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub dest: String,
    /// Byte offset in the body.
    pub offset: usize,
}

/// Parses a Markdown body into blocks and links. A level-1 heading equal to `title` is not made
/// part of the section path (many articles repeat their title as `# Title`).
pub fn parse_body(body: &str, title: &str) -> (Vec<Block>, Vec<Link>) {
    let mut blocks = Vec::new();
    let mut links = Vec::new();
    let mut headings: Vec<(HeadingLevel, String)> = Vec::new();
    let mut buf = String::new();
    let mut range: Option<Range<usize>> = None;
    let mut heading: Option<(HeadingLevel, String)> = None;
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;

    let flush = |buf: &mut String,
                 range: &mut Option<Range<usize>>,
                 headings: &[(HeadingLevel, String)],
                 blocks: &mut Vec<Block>| {
        let text = buf.trim();
        if let (false, Some(r)) = (text.is_empty(), range.take()) {
            let section = headings.iter().map(|(_, h)| h.clone()).collect();
            blocks.push(Block { section, text: text.to_owned(), range: r });
        }
        buf.clear();
        *range = None;
    };

    for (event, span) in Parser::new_ext(body, opts).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut buf, &mut range, &headings, &mut blocks);
                heading = Some((level, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = heading.take() {
                    let text = text.trim().to_owned();
                    headings.retain(|(l, _)| *l < level);
                    let is_title = level == HeadingLevel::H1 && text.eq_ignore_ascii_case(title.trim());
                    if !text.is_empty() && !is_title {
                        headings.push((level, text));
                    }
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => {
                links.push(Link { dest: dest_url.to_string(), offset: span.start });
            }
            Event::Start(Tag::Item | Tag::CodeBlock(_) | Tag::BlockQuote(_))
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead
                | TagEnd::BlockQuote(_),
            ) => flush(&mut buf, &mut range, &headings, &mut blocks),
            Event::End(TagEnd::TableCell) => buf.push_str(" | "),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, h)) = heading.as_mut() {
                    h.push_str(&t);
                } else {
                    buf.push_str(&t);
                    let r = range.get_or_insert(span.clone());
                    r.start = r.start.min(span.start);
                    r.end = r.end.max(span.end);
                }
            }
            Event::SoftBreak => match heading.as_mut() {
                Some((_, h)) => h.push(' '),
                None => buf.push(' '),
            },
            Event::HardBreak => buf.push('\n'),
            _ => {}
        }
    }
    flush(&mut buf, &mut range, &headings, &mut blocks);
    (blocks, links)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_keep_heading_paths_and_ranges() {
        let body = "# Returns\n\nIntro with **bold** and `code`.\n\n## Steps\n\n1. Open Account > Orders.\n2. Pick [items](start-a-return.md).\n\n### Note\n\nLast para\nwraps.\n";
        let (blocks, links) = parse_body(body, "Returns");
        let texts: Vec<&str> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["Intro with bold and code.", "Open Account > Orders.", "Pick items.", "Last para wraps."]);
        assert_eq!(blocks[0].section, Vec::<String>::new());
        assert_eq!(blocks[1].section, ["Steps"]);
        assert_eq!(blocks[3].section, ["Steps", "Note"]);
        assert_eq!(&body[blocks[1].range.clone()], "Open Account > Orders.");
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].dest, "start-a-return.md");
    }

    #[test]
    fn plain_text_without_headings() {
        let (blocks, _) = parse_body("Line one\nline two\n\nSecond paragraph.", "");
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].text, "Line one line two");
    }
}
