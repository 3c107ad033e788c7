//! Chunking: blocks -> passages of about `target` tokens, along headings and sentences.
//!
//! Rules: a passage never crosses a heading; sentences are never split unless one alone is longer
//! than `max` tokens (then it is cut at word boundaries, or between characters for CJK); consecutive
//! passages of a section share their boundary sentence when it is short (`overlap`), so a fact at
//! a boundary is retrievable with its context.

use super::{Article, Block, Chunk, parse_body};
use std::ops::Range;
use unicode_segmentation::UnicodeSegmentation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// A passage is closed once adding the next sentence would pass this many tokens.
    pub target: usize,
    /// Hard limit: no passage is longer.
    pub max: usize,
    /// The last sentence of a passage opens the next one when it has at most this many tokens.
    pub overlap: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self { target: 120, max: 200, overlap: 30 }
    }
}

/// True for characters of scripts written without spaces (each counts as a token).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xAC00..=0xD7AF | 0x20000..=0x2FA1F)
}

/// Token estimate used for sizing: words, with each CJK character counted as one.
pub fn approx_tokens(text: &str) -> usize {
    text.unicode_words()
        .map(|w| {
            let cjk = w.chars().filter(|&c| is_cjk(c)).count();
            if cjk > 0 { cjk + usize::from(cjk < w.chars().count()) } else { 1 }
        })
        .sum()
}

#[derive(Debug, Clone)]
struct Sentence<'a> {
    text: &'a str,
    tokens: usize,
    /// Source range of the block the sentence came from.
    block: Range<usize>,
    /// First sentence of its block (joined with a newline, not a space).
    starts_block: bool,
}

/// Cuts an over-long sentence into pieces of at most `max` tokens, at word (or CJK character)
/// boundaries.
fn split_long(text: &str, max: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let mut tokens = 0;
    for (i, w) in text.split_word_bound_indices() {
        let t = approx_tokens(w);
        if tokens + t > max && i > start {
            pieces.push(&text[start..i]);
            start = i;
            tokens = 0;
        }
        tokens += t;
    }
    if start < text.len() {
        pieces.push(&text[start..]);
    }
    pieces
}

fn sentences<'a>(blocks: &'a [Block], opts: &ChunkOptions) -> Vec<Sentence<'a>> {
    let mut out = Vec::new();
    for b in blocks {
        let mut first = true;
        for s in b.text.split_sentence_bounds() {
            if s.trim().is_empty() {
                continue;
            }
            let tokens = approx_tokens(s);
            let parts = if tokens > opts.max { split_long(s, opts.max) } else { vec![s] };
            for p in parts {
                out.push(Sentence { text: p, tokens: approx_tokens(p), block: b.range.clone(), starts_block: first });
                first = false;
            }
        }
    }
    out
}

/// A passage under construction, before it gets its id and article fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub section: Vec<String>,
    pub text: String,
    pub range: Range<usize>,
}

fn build(section: &[String], group: &[Sentence<'_>]) -> Piece {
    let mut text = String::new();
    for (i, s) in group.iter().enumerate() {
        if i > 0 {
            if s.starts_block {
                text.truncate(text.trim_end().len());
                text.push('\n');
            } else if !text.ends_with(char::is_whitespace) && !s.text.starts_with(char::is_whitespace) {
                // Nor after Chinese punctuation ("确认邮件。取消订单后"): full-width stops and commas.
                let full_width = |c: char| matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFFEF);
                let prev_cjk = text.chars().last().is_some_and(|c| is_cjk(c) || full_width(c));
                if !prev_cjk {
                    text.push(' ');
                }
            }
        }
        text.push_str(if i > 0 && s.starts_block { s.text.trim_start() } else { s.text });
    }
    let start = group.iter().map(|s| s.block.start).min().unwrap_or(0);
    let end = group.iter().map(|s| s.block.end).max().unwrap_or(0);
    Piece { section: section.to_vec(), text: text.trim().to_owned(), range: start..end }
}

/// Chunks blocks (already grouped by heading path in document order) into passages.
pub fn chunk_blocks(blocks: &[Block], opts: &ChunkOptions) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        // One section = a run of blocks with the same heading path.
        let mut j = i;
        while j < blocks.len() && blocks[j].section == blocks[i].section {
            j += 1;
        }
        let section = &blocks[i].section;
        let sents = sentences(&blocks[i..j], opts);
        let mut group: Vec<Sentence<'_>> = Vec::new();
        let mut tokens = 0;
        for s in sents {
            if !group.is_empty() && tokens + s.tokens > opts.target {
                out.push(build(section, &group));
                let last = group.last().cloned();
                group.clear();
                tokens = 0;
                if let Some(last) = last.filter(|l| l.tokens <= opts.overlap && l.tokens + s.tokens <= opts.max) {
                    tokens = last.tokens;
                    group.push(last);
                }
            }
            tokens += s.tokens;
            group.push(s);
        }
        if !group.is_empty() {
            out.push(build(section, &group));
        }
        i = j;
    }
    out
}

/// Headings of navigation sections (lists of links to other articles): not knowledge, and
/// noise for retrieval, so they are not made into passages.
const NAVIGATION: &[&str] =
    &["related articles", "related", "see also", "related links", "相关文章", "相关链接", "相关内容"];

fn is_navigation(section: &[String]) -> bool {
    section.last().is_some_and(|h| NAVIGATION.contains(&h.trim().to_lowercase().as_str()))
}

/// Chunks an article into passages with ids `slug#0`, `slug#1`, ... Ranges are in the file.
pub fn chunk_article(article: &Article, opts: &ChunkOptions) -> Vec<Chunk> {
    let (mut blocks, _) = parse_body(&article.body, &article.meta.title);
    blocks.retain(|b| !is_navigation(&b.section));
    chunk_blocks(&blocks, opts)
        .into_iter()
        .enumerate()
        .map(|(n, p)| Chunk {
            id: format!("{}#{n}", article.slug),
            slug: article.slug.clone(),
            title: article.meta.title.clone(),
            section: p.section,
            text: p.text,
            range: p.range.start + article.body_offset..p.range.end + article.body_offset,
            lang: article.meta.lang.clone(),
            category: article.meta.category.clone(),
            tags: article.meta.tags.clone(),
            audience: article.meta.audience,
        })
        .collect()
}

#[cfg(test)]
#[path = "chunk_tests.rs"]
mod tests;
