//! Word diff and normalised word-level edit distance between an AI draft and the reply that was
//! sent. Latin text is compared per word (whitespace-separated), CJK text per character (Chinese
//! and Japanese have no spaces between words, so a character is the smallest unit an agent
//! edits). Pure: no I/O, usable from the store, the CLI and the console.

/// One token of a text, with whether whitespace preceded it (to print it back as written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token<'a> {
    pub text: &'a str,
    pub space_before: bool,
}

/// Ideographs, kana, Hangul and CJK punctuation: each is a token of its own.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF // Hiragana, Katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xAC00..=0xD7AF // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFF00..=0xFFEF // full-width forms (，。！)
        | 0x20000..=0x2FFFF)
}

/// Splits text into diff tokens: whitespace-separated words, each CJK character alone.
pub fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut space = false;
    let mut pending_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_cjk(c) {
            if let Some(s) = start.take() {
                out.push(Token { text: &text[s..i], space_before: space });
                pending_space = false;
            }
            if c.is_whitespace() {
                pending_space = true;
            } else {
                out.push(Token { text: &text[i..i + c.len_utf8()], space_before: pending_space });
                pending_space = false;
            }
        } else if start.is_none() {
            start = Some(i);
            space = pending_space;
        }
    }
    if let Some(s) = start {
        out.push(Token { text: &text[s..], space_before: space });
    }
    if let Some(first) = out.first_mut() {
        first.space_before = false;
    }
    out
}

/// Word-level Levenshtein distance (insert, delete, substitute: cost 1 each) divided by the
/// longer text's token count: 0.0 identical (whitespace aside), 1.0 nothing in common.
pub fn edit_distance(draft: &str, sent: &str) -> f64 {
    let a: Vec<&str> = tokens(draft).into_iter().map(|t| t.text).collect();
    let b: Vec<&str> = tokens(sent).into_iter().map(|t| t.text).collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    levenshtein(&a, &b) as f64 / longest as f64
}

/// Levenshtein distance over any comparable items, one rolling row.
pub fn levenshtein<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag } else { 1 + diag.min(up).min(row[j]) };
            diag = up;
        }
    }
    row[b.len()]
}

/// What a run of tokens is in the sent text relative to the draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Same,
    /// In the sent text only (the agent added it).
    Inserted,
    /// In the draft only (the agent removed it).
    Deleted,
}

/// A run of consecutive tokens with the same [`Change`], as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub change: Change,
    pub text: String,
    /// Whitespace separated this piece from the one before.
    pub space_before: bool,
}

/// Longer texts than this (in tokens, both sides multiplied) are diffed as one deletion and
/// one insertion: the LCS table would cost more memory than a review screen is worth.
const MAX_CELLS: usize = 4_000_000;

/// The word diff from `draft` to `sent`: deletions come before insertions at each change.
pub fn diff(draft: &str, sent: &str) -> Vec<Piece> {
    let a = tokens(draft);
    let b = tokens(sent);
    let mut ops: Vec<(Change, &Token<'_>)> = Vec::with_capacity(a.len() + b.len());
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_CELLS {
        ops.extend(a.iter().map(|t| (Change::Deleted, t)));
        ops.extend(b.iter().map(|t| (Change::Inserted, t)));
    } else {
        // lcs[i][j]: LCS length of a[i..] and b[j..].
        let w = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * w];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * w + j] = if a[i].text == b[j].text {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i].text == b[j].text {
                ops.push((Change::Same, &b[j]));
                i += 1;
                j += 1;
            } else if j == b.len() || (i < a.len() && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
                ops.push((Change::Deleted, &a[i]));
                i += 1;
            } else {
                ops.push((Change::Inserted, &b[j]));
                j += 1;
            }
        }
    }
    let mut out: Vec<Piece> = Vec::new();
    for (change, t) in ops {
        match out.last_mut() {
            Some(p) if p.change == change => {
                if t.space_before {
                    p.text.push(' ');
                }
                p.text.push_str(t.text);
            }
            _ => out.push(Piece { change, text: t.text.to_owned(), space_before: t.space_before }),
        }
    }
    out
}

/// Whether a space goes between two pieces: where the text had one, and always between two
/// Latin words (a deletion next to an insertion would otherwise run together).
pub fn needs_space(prev: &Piece, next: &Piece) -> bool {
    let cjk_edge = prev.text.chars().last().is_some_and(is_cjk) || next.text.chars().next().is_some_and(is_cjk);
    next.space_before || !cjk_edge
}

/// The diff as plain text that reads without colour: `[-removed-]` and `[+added+]`.
pub fn marked(pieces: &[Piece]) -> String {
    let mut s = String::new();
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 && needs_space(&pieces[i - 1], p) {
            s.push(' ');
        }
        match p.change {
            Change::Same => s.push_str(&p.text),
            Change::Inserted => {
                s.push_str("[+");
                s.push_str(&p.text);
                s.push_str("+]");
            }
            Change::Deleted => {
                s.push_str("[-");
                s.push_str(&p.text);
                s.push_str("-]");
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        tokens(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn latin_per_word_cjk_per_character() {
        assert_eq!(toks("Hi Ana,  refunds\ttake"), ["Hi", "Ana,", "refunds", "take"]);
        assert_eq!(toks("退款需要5-7天。"), ["退", "款", "需", "要", "5-7", "天", "。"]);
        assert_eq!(toks("订单HP-1042已发货 ok"), ["订", "单", "HP-1042", "已", "发", "货", "ok"]);
        assert!(toks("  \n ").is_empty());
    }

    #[test]
    fn edit_distance_is_normalised() {
        assert_eq!(edit_distance("a b c", "a  b\nc"), 0.0);
        assert_eq!(edit_distance("", ""), 0.0);
        assert_eq!(edit_distance("a b", ""), 1.0);
        assert_eq!(edit_distance("a b c d", "a x c d"), 0.25);
        assert_eq!(edit_distance("a b c", "a b c d"), 0.25);
        assert_eq!(edit_distance("one two", "three four"), 1.0);
    }

    #[test]
    fn cjk_edit_distance_counts_characters() {
        // One character of six changed.
        let d = edit_distance("退款五天到账", "退款七天到账");
        assert!((d - 1.0 / 6.0).abs() < 1e-9, "{d}");
        // Without per-character tokens the whole sentence would be one word and count as 1.0.
        assert!(edit_distance("您好，退款已处理。", "您好，退款已经处理。") < 0.2);
    }

    #[test]
    fn diff_marks_insertions_and_deletions() {
        let p = diff("Refunds take 5-7 business days.", "Refunds take 3-5 business days. Sorry!");
        assert_eq!(marked(&p), "Refunds take [-5-7-] [+3-5+] business days. [+Sorry!+]");
        assert_eq!(marked(&diff("same text", "same text")), "same text");
        assert_eq!(marked(&diff("", "new")), "[+new+]");
        assert_eq!(marked(&diff("old", "")), "[-old-]");
    }

    #[test]
    fn cjk_diff_joins_without_spaces() {
        let p = diff("退款五天到账", "退款七天到账");
        assert_eq!(marked(&p), "退款[-五-][+七+]天到账");
    }

    #[test]
    fn huge_texts_fall_back_to_replace() {
        let a = "w ".repeat(2500);
        let b = "v ".repeat(2500);
        let p = diff(&a, &b);
        assert_eq!(p.len(), 2);
        assert_eq!(levenshtein(&[1, 2, 3], &[1, 3]), 1);
    }
}
