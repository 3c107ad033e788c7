//! Text for the terminal: customer text is neutralised (no escape sequences reach the terminal),
//! and messages are wrapped once per width and cached, so a long conversation renders only the
//! visible window.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::collections::HashMap;
use unicode_width::UnicodeWidthStr;

/// Messages longer than this are shown truncated (the full text stays in the store).
pub const MAX_SHOWN_CHARS: usize = 20_000;

/// Safe, bounded display text: control and bidi characters made visible, very long text cut.
pub fn display_text(text: &str) -> String {
    let clean = crate::util::sanitize_for_terminal(text);
    if clean.chars().count() <= MAX_SHOWN_CHARS {
        return clean.into_owned();
    }
    let cut: String = clean.chars().take(MAX_SHOWN_CHARS).collect();
    format!("{cut}… [message truncated for display]")
}

/// Greedy word wrap by display width (CJK and emoji count two columns); words longer than the
/// width are broken.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(4);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut w = 0;
        for word in split_keep_space(para) {
            let ww = word.width();
            if w + ww > width && !line.is_empty() {
                out.push(line.trim_end().to_owned());
                line = String::new();
                w = 0;
                if word.trim().is_empty() {
                    continue;
                }
            }
            if ww > width {
                for ch in word.chars() {
                    let cw = ch.to_string().width();
                    if w + cw > width {
                        out.push(std::mem::take(&mut line));
                        w = 0;
                    }
                    line.push(ch);
                    w += cw;
                }
            } else {
                line.push_str(word);
                w += ww;
            }
        }
        out.push(line.trim_end().to_owned());
    }
    out
}

/// Splits into words and spaces; CJK characters are words of their own (they wrap anywhere).
fn split_keep_space(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<bool> = None;
    for (i, c) in s.char_indices() {
        let cjk = c.to_string().width() == 2;
        let space = c.is_whitespace();
        let class = space;
        if cjk {
            if start < i {
                out.push(&s[start..i]);
            }
            out.push(&s[i..i + c.len_utf8()]);
            start = i + c.len_utf8();
            prev = None;
            continue;
        }
        if prev.is_some_and(|p| p != class) && start < i {
            out.push(&s[start..i]);
            start = i;
        }
        prev = Some(class);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Wrapped lines per (conversation, message index, width). Messages never change once sent, so
/// entries stay valid; the cache is cleared when it grows large.
#[derive(Default)]
pub struct WrapCache {
    entries: HashMap<(String, usize, u16), std::rc::Rc<Vec<String>>>,
}

impl WrapCache {
    pub fn get(&mut self, conversation: &str, index: usize, width: u16, text: &str) -> std::rc::Rc<Vec<String>> {
        if self.entries.len() > 20_000 {
            self.entries.clear();
        }
        self.entries
            .entry((conversation.to_owned(), index, width))
            .or_insert_with(|| std::rc::Rc::new(wrap(&display_text(text), width as usize)))
            .clone()
    }
}

/// A line with byte ranges highlighted.
pub fn highlighted_line<'a>(text: &'a str, ranges: &[std::ops::Range<usize>], base: Style, hl: Style) -> Line<'a> {
    let mut spans = Vec::new();
    let mut at = 0;
    for r in ranges {
        if r.start < at || r.end > text.len() || !text.is_char_boundary(r.start) || !text.is_char_boundary(r.end) {
            continue;
        }
        if r.start > at {
            spans.push(Span::styled(&text[at..r.start], base));
        }
        spans.push(Span::styled(&text[r.clone()], hl));
        at = r.end;
    }
    if at < text.len() {
        spans.push(Span::styled(&text[at..], base));
    }
    Line::from(spans)
}

/// Indented rows (a list's entries) wrapped with a hanging indent, so a long entry's
/// continuation lines stay under its text instead of starting at the margin.
pub fn hanging(lines: Vec<Line<'static>>, width: usize) -> Vec<Line<'static>> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let [span] = line.spans.as_slice() else {
            out.push(line);
            continue;
        };
        let Some(body) = span.content.strip_prefix("  ") else {
            out.push(line);
            continue;
        };
        if width < 12 || span.content.width() <= width {
            out.push(line);
            continue;
        }
        let style = line.style.patch(span.style);
        for (i, part) in wrap(body, width - 4).into_iter().enumerate() {
            let indent = if i == 0 { "  " } else { "    " };
            out.push(Line::styled(format!("{indent}{part}"), style));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_by_display_width() {
        assert_eq!(wrap("hello world again", 11), ["hello world", "again"]);
        let zh = wrap("退款多久能到账我的订单", 8);
        assert!(zh.iter().all(|l| l.width() <= 8), "{zh:?}");
        assert_eq!(zh.concat(), "退款多久能到账我的订单");
        let long = wrap(&"x".repeat(25), 10);
        assert_eq!(long.len(), 3);
    }

    #[test]
    fn escapes_never_reach_the_screen() {
        let t = display_text("hi \u{1b}]52;c;ZXZpbA==\u{7} \u{1b}[2J bye\u{202e}");
        assert!(!t.contains('\u{1b}') && !t.contains('\u{7}') && !t.contains('\u{202e}'), "{t:?}");
        let huge = display_text(&"a".repeat(50_000));
        assert!(huge.len() < 21_000 && huge.ends_with("[message truncated for display]"));
    }
}
