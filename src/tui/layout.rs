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
    pub fn compute(area: Rect, focus: Focus) -> Self {
        let [body, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let editor_height = (body.height / 3).clamp(5, 12);
        if area.width >= WIDE {
            let queue_w = (area.width / 5).clamp(24, 34);
            let knowledge_w = (area.width * 3 / 10).clamp(36, 64);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_and_narrow() {
        let wide = Panes::compute(Rect::new(0, 0, 200, 50), Focus::Editor);
        assert!(wide.wide && wide.queue.width > 0 && wide.knowledge.width > 0);
        assert_eq!(wide.hit(Position::new(1, 1)), Some(Pane::Queue));
        let narrow = Panes::compute(Rect::new(0, 0, 80, 24), Focus::Knowledge);
        assert!(!narrow.wide && narrow.queue.width == 0 && narrow.knowledge.width == 80);
        assert!(narrow.editor.height >= 5);
    }
}
