//! Where each pane goes, as a pure function of the terminal size (rendering and mouse hit-testing
//! use the same rectangles). From 110 columns the queue, conversation, knowledge and editor are
//! side by side; below that the top panes collapse into tabs over an always-visible editor.

use super::app::Focus;
use ratatui::layout::{Constraint, Layout, Position, Rect};

/// Width from which all panes are shown at once.
pub const WIDE: u16 = 110;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Queue,
    Conversation,
    Knowledge,
    Editor,
}

impl Pane {
    pub fn focus(self) -> Focus {
        match self {
            Pane::Queue => Focus::Queue,
            Pane::Conversation => Focus::Conversation,
            Pane::Knowledge => Focus::Knowledge,
            Pane::Editor => Focus::Editor,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    pub wide: bool,
    /// Tab bar (narrow layout only).
    pub tabs: Option<Rect>,
    pub queue: Rect,
    pub conversation: Rect,
    pub knowledge: Rect,
    pub editor: Rect,
    pub status: Rect,
}

impl Panes {
    /// `editor_lines` is the editor's text: the editor grows to show a longer draft whole (its
    /// greeting included) up to half the screen's height, and is never shorter than a third
    /// (5 to 12 rows).
    pub fn compute(area: Rect, focus: Focus, editor_lines: &[String]) -> Self {
        let [body, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let least = (body.height / 3).clamp(5, 12);
        let most = (body.height / 2).max(least);
        let queue_w = (area.width / 5).clamp(24, 34);
        let knowledge_w = (area.width * 3 / 10).clamp(36, 64);
        let editor_w = if area.width >= WIDE { area.width.saturating_sub(queue_w + knowledge_w) } else { area.width };
        let editor_height = (wrapped_rows(editor_lines, editor_w.saturating_sub(2)) + 2).clamp(least, most);
        if area.width >= WIDE {
            let [queue, middle, knowledge] =
                Layout::horizontal([Constraint::Length(queue_w), Constraint::Min(30), Constraint::Length(knowledge_w)])
                    .areas(body);
            let [conversation, editor] =
                Layout::vertical([Constraint::Min(3), Constraint::Length(editor_height)]).areas(middle);
            return Panes { wide: true, tabs: None, queue, conversation, knowledge, editor, status };
        }
        let [tabs, top, editor] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(editor_height)])
                .areas(body);
        let empty = Rect::new(top.x, top.y, 0, 0);
        let (mut queue, mut conversation, mut knowledge) = (empty, empty, empty);
        match focus {
            Focus::Queue => queue = top,
            Focus::Knowledge => knowledge = top,
            Focus::Conversation | Focus::Editor => conversation = top,
        }
        Panes { wide: false, tabs: Some(tabs), queue, conversation, knowledge, editor, status }
    }

    /// The pane under a mouse position.
    pub fn hit(&self, at: Position) -> Option<Pane> {
        [
            (self.queue, Pane::Queue),
            (self.conversation, Pane::Conversation),
            (self.knowledge, Pane::Knowledge),
            (self.editor, Pane::Editor),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(at))
        .map(|(_, p)| p)
    }
}

/// About how many rows `lines` take when soft-wrapped at `width` columns (words that do not fit
/// move to the next row, so each line gets one row of slack once it wraps).
fn wrapped_rows(lines: &[String], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let rows: usize = lines
        .iter()
        .map(|l| {
            let w = unicode_width::UnicodeWidthStr::width(l.as_str());
            if w <= width { 1 } else { w.div_ceil(width) + 1 }
        })
        .sum();
    u16::try_from(rows).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_and_narrow() {
        let wide = Panes::compute(Rect::new(0, 0, 200, 50), Focus::Editor, &[]);
        assert!(wide.wide && wide.queue.width > 0 && wide.knowledge.width > 0);
        assert_eq!(wide.hit(Position::new(1, 1)), Some(Pane::Queue));
        let narrow = Panes::compute(Rect::new(0, 0, 80, 24), Focus::Knowledge, &[]);
        assert!(!narrow.wide && narrow.queue.width == 0 && narrow.knowledge.width == 80);
        assert!(narrow.editor.height >= 5);
    }

    #[test]
    fn the_editor_grows_to_show_a_long_draft_up_to_half_the_screen() {
        let area = Rect::new(0, 0, 140, 44);
        let short = Panes::compute(area, Focus::Editor, &["Hi Ana,".to_owned()]);
        assert_eq!(short.editor.height, 12, "a third of the body, at most 12 rows");
        let draft: Vec<String> = (0..16).map(|i| format!("line {i}")).collect();
        let long = Panes::compute(area, Focus::Editor, &draft);
        assert_eq!(long.editor.height, 18, "16 lines and the borders");
        let huge: Vec<String> = (0..60).map(|i| format!("line {i}")).collect();
        let capped = Panes::compute(area, Focus::Editor, &huge);
        assert_eq!(capped.editor.height, 21, "half of the 43-row body");
        assert!(capped.conversation.height >= 21);
    }
}
