//! Editing the draft by whole sentences: an agent who reads an AI draft mostly deletes what it
//! should not say, so one key removes the sentence under the cursor (emacs' `M-k`, kill-sentence);
//! and the one sentence of a passage worth inserting.

use super::app::App;
use crate::desk::Effect;
use ratatui_textarea::CursorMove;
use std::ops::Range;
use unicode_segmentation::UnicodeSegmentation;

/// The sentence of `line` that char column `col` is in, as a char range: with the spaces after
/// it, or, for a line's last sentence, the spaces before it. A cursor at the end of the line is in
/// its last sentence. `None` for a blank line.
pub fn sentence_span(line: &str, col: usize) -> Option<Range<usize>> {
    if line.trim().is_empty() {
        return None;
    }
    let chars = |b: usize| line[..b].chars().count();
    let bounds: Vec<(usize, usize)> =
        line.split_sentence_bound_indices().map(|(b, s)| (chars(b), chars(b + s.len()))).collect();
    let at = bounds.iter().position(|&(s, e)| col >= s && col < e).unwrap_or(bounds.len() - 1);
    let (start, end) = bounds[at];
    if at + 1 < bounds.len() || at == 0 {
        return Some(start..end);
    }
    // The last sentence takes the spaces before it, so the line does not end in one.
    let kept: String = line.chars().take(start).collect();
    Some(kept.trim_end().chars().count()..end)
}

/// Cuts the sentence under the editor's cursor into the yank buffer (Ctrl-Y pastes it back,
/// Ctrl-U undoes the cut); a line left blank goes with it.
pub fn delete_sentence(app: &mut App) -> Vec<Effect> {
    let (row, col) = (app.editor.cursor().0, app.editor.cursor().1);
    let Some(line) = app.editor.lines().get(row).cloned() else { return Vec::new() };
    let Some(span) = sentence_span(&line, col) else { return Vec::new() };
    let n = app.editor.lines().len();
    let rest: String = line.chars().enumerate().filter(|(i, _)| !span.contains(i)).map(|(_, c)| c).collect();
    // A line left blank goes too, with its line break.
    let (from, to) = match rest.trim().is_empty() {
        true if row + 1 < n => ((row, 0), (row + 1, 0)),
        true if row > 0 => ((row - 1, app.editor.lines()[row - 1].chars().count()), (row, line.chars().count())),
        _ => ((row, span.start), (row, span.end)),
    };
    let at = |(r, c): (usize, usize)| CursorMove::Jump(r as u16, c as u16);
    app.editor.cancel_selection();
    app.editor.move_cursor(at(from));
    app.editor.start_selection();
    app.editor.move_cursor(at(to));
    app.editor.cut();
    app.editor_changed()
}

/// The sentence with the most highlighted (matched) bytes, else the first.
pub fn best_sentence(p: &crate::desk::Passage) -> String {
    let mut best = (0usize, String::new());
    for (start, s) in p.text.split_sentence_bound_indices() {
        let end = start + s.len();
        let hits: usize = p.highlights.iter().filter(|r| r.start >= start && r.end <= end).map(|r| r.len()).sum();
        if best.1.is_empty() || hits > best.0 {
            best = (hits, s.trim().to_owned());
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::sentence_span;

    fn cut(line: &str, col: usize) -> String {
        let r = sentence_span(line, col).expect("a sentence");
        line.chars().enumerate().filter(|(i, _)| !r.contains(i)).map(|(_, c)| c).collect()
    }

    #[test]
    fn the_sentence_under_the_cursor_goes_with_its_spacing() {
        let line = "Refunds take 5-7 days. Opened items carry a 15% fee. Is there anything else?";
        assert_eq!(cut(line, 0), "Opened items carry a 15% fee. Is there anything else?");
        assert_eq!(cut(line, 30), "Refunds take 5-7 days. Is there anything else?");
        assert_eq!(cut(line, line.chars().count()), "Refunds take 5-7 days. Opened items carry a 15% fee.");
        assert_eq!(cut("Only one.", 3), "");
        assert_eq!(cut("退款需要 5-7 天。已拆封商品收取 15% 费用。", 12), "退款需要 5-7 天。");
        assert_eq!(sentence_span("   ", 1), None);
    }
}
