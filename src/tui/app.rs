//! The console's state and behaviour, free of terminal I/O: keys, mouse, paste, worker and
//! channel events go in; domain effects come out for the runtime to carry out. Tests drive it
//! directly and render it into a `TestBackend`.

use super::keymap::{Action, Keymap};
use super::layout::{Pane, Panes};
use super::text::WrapCache;
use super::theme::Theme;
use crate::desk::ports::ChannelEvent;
use crate::desk::{ConversationId, DraftState, Effect, Millis, Msg, State, Status, update};
use crossterm::event::{KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui_textarea::{CursorMove, TextArea, WrapMode};
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Queue,
    Conversation,
    Knowledge,
    Editor,
}

const FOCUS_ORDER: [Focus; 4] = [Focus::Editor, Focus::Queue, Focus::Conversation, Focus::Knowledge];

#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    Article {
        slug: String,
        title: String,
        text: String,
        scroll: u16,
    },
    /// The offered draft against the agent's text, word by word.
    Compare {
        mine: String,
        offered: String,
        scroll: u16,
    },
    /// The customer's profile: who they are and their conversations.
    Profile {
        view: super::details::ProfileView,
        scroll: u16,
    },
}

/// What the status bar says about the machinery.
#[derive(Debug, Clone, Default)]
pub struct Info {
    pub drafter: String,
    pub kb_articles: usize,
    pub last_retrieval_ms: Option<f64>,
}

/// Reads an article for the overlay: (title, text).
pub type ArticleSource = Box<dyn Fn(&str) -> Option<(String, String)>>;

pub struct App {
    pub state: State,
    pub focus: Focus,
    pub overlay: Option<Overlay>,
    pub editor: TextArea<'static>,
    /// The conversation whose text the editor holds, and that text as last synced.
    editor_for: Option<ConversationId>,
    editor_text: String,
    pub note_mode: bool,
    pub knowledge_sel: usize,
    /// Lines scrolled up from the latest message, per conversation.
    pub scroll: HashMap<ConversationId, u16>,
    /// Index of the first message the agent had not seen when they opened the conversation.
    pub new_marker: HashMap<ConversationId, usize>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub flash: Option<(String, Millis)>,
    pub quit: bool,
    pub info: Info,
    pub now: Millis,
    pub size: Rect,
    pub wrap: RefCell<WrapCache>,
    pub articles: ArticleSource,
    /// Frames drawn so far (the event loop counts; an idle console draws none).
    pub frames: u64,
    /// The Review tab (supervisors only) and whether it is showing.
    pub review: Option<Box<super::review::ReviewConsole>>,
    pub review_open: bool,
    /// Key details per conversation (orders, amounts, dates...), and how many of its messages
    /// they were read from: filled as the conversation is drawn, new messages only.
    pub details: RefCell<HashMap<ConversationId, (usize, Vec<crate::understand::Detail>)>>,
    /// Each conversation's mood, read when a customer message arrives.
    pub moods: HashMap<ConversationId, crate::understand::mood::Mood>,
    /// The encoder head's sentiment of each conversation's latest customer turn, and the head.
    pub heard: HashMap<ConversationId, crate::understand::mood::Sentiment>,
    pub sentiment_head: Option<&'static crate::understand::head::Head>,
}

impl App {
    pub fn new(theme: Theme, keymap: Keymap, info: Info, articles: ArticleSource) -> Self {
        let mut app = Self {
            state: State::default(),
            focus: Focus::Editor,
            overlay: None,
            editor: TextArea::default(),
            editor_for: None,
            editor_text: String::new(),
            note_mode: false,
            knowledge_sel: 0,
            scroll: HashMap::new(),
            new_marker: HashMap::new(),
            theme,
            keymap,
            flash: None,
            quit: false,
            info,
            now: 0,
            size: Rect::new(0, 0, 80, 24),
            wrap: RefCell::new(WrapCache::default()),
            articles,
            frames: 0,
            review: None,
            review_open: false,
            details: RefCell::new(HashMap::new()),
            moods: HashMap::new(),
            heard: HashMap::new(),
            sentiment_head: None,
        };
        app.style_editor();
        app
    }

    fn style_editor(&mut self) {
        self.editor.set_wrap_mode(WrapMode::Word);
        self.editor.set_cursor_line_style(ratatui::style::Style::default());
        self.editor.set_placeholder_text("Type a reply, or wait for the draft…");
        self.editor.set_placeholder_style(self.theme.dim);
        self.editor.set_style(self.theme.text);
    }

    pub fn selected_id(&self) -> Option<ConversationId> {
        self.state.selected_view().map(|c| c.conversation.id.clone())
    }

    /// Runs the reducer and keeps the editor in step with the selected conversation.
    pub fn apply(&mut self, msg: Msg) -> Vec<Effect> {
        let fx = update(&mut self.state, msg);
        self.sync_editor();
        fx
    }

    /// Loads the selected conversation's text into the editor when it changed underneath it
    /// (a streamed draft, a switch of conversation, an accepted offer).
    fn sync_editor(&mut self) {
        let sel = self.selected_id();
        let text = self.state.selected_view().map(|c| c.editor.clone()).unwrap_or_default();
        if sel != self.editor_for || text != self.editor_text {
            let lines: Vec<String> =
                if text.is_empty() { vec![String::new()] } else { text.split('\n').map(str::to_owned).collect() };
            // An editor that was empty (a restored draft arriving) puts the cursor at the end.
            let keep_cursor = sel == self.editor_for
                && self.focus == Focus::Editor
                && !self.is_streaming()
                && !self.editor_text.is_empty();
            let cursor = self.editor.cursor();
            self.editor = TextArea::new(lines);
            self.style_editor();
            if keep_cursor {
                self.editor.move_cursor(CursorMove::Jump(cursor.0 as u16, cursor.1 as u16));
            } else {
                self.editor.move_cursor(CursorMove::Bottom);
                self.editor.move_cursor(CursorMove::End);
            }
            self.editor_for = sel;
            self.editor_text = text;
        }
    }

    pub fn is_streaming(&self) -> bool {
        matches!(self.state.selected_view().map(|c| &c.draft), Some(DraftState::Generating { .. }))
    }

    /// Reports the editor's text to the reducer after the agent changed it.
    pub(super) fn editor_changed(&mut self) -> Vec<Effect> {
        let text = self.editor.lines().join("\n");
        if text == self.editor_text {
            return Vec::new();
        }
        self.editor_text = text.clone();
        let Some(conversation) = self.selected_id() else { return Vec::new() };
        update(&mut self.state, Msg::EditorChanged { conversation, text, at: self.now })
    }

    pub fn on_channel(&mut self, ev: ChannelEvent) -> Vec<Effect> {
        match ev {
            ChannelEvent::NewConversation { conversation, customer, history } => {
                let first = self.state.conversations.is_empty();
                let id = conversation.id.clone();
                let mut fx = self.apply(Msg::ConversationOpened {
                    conversation: *conversation,
                    customer: Some(*customer),
                    messages: history,
                });
                if first {
                    self.mark_seen();
                }
                fx.extend(super::details::read_mood(self, &id));
                fx
            }
            ChannelEvent::Typing { conversation, typing } => self.apply(Msg::CustomerTyping { conversation, typing }),
            ChannelEvent::Message { conversation, message } => {
                if self.selected_id().as_ref() == Some(&conversation) && self.knowledge_sel > 0 {
                    self.knowledge_sel = 0;
                }
                // The head's reading was of the previous turn: the cues speak until retrieval
                // brings the new turn's vector.
                self.heard.remove(&conversation);
                let mut fx = self.apply(Msg::CustomerMessage { conversation: conversation.clone(), message });
                fx.extend(super::details::read_mood(self, &conversation));
                fx
            }
        }
    }

    pub fn tick(&mut self, now: Millis) -> Vec<Effect> {
        self.now = now;
        if self.flash.as_ref().is_some_and(|(_, until)| *until < now) {
            self.flash = None;
        }
        self.apply(Msg::Tick { now })
    }

    /// A digest of everything on screen that changes with the clock alone: the waiting times in
    /// the queue and whether a status message is showing.
    pub fn time_key(&self, now: Millis) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.flash.is_some().hash(&mut h);
        for c in &self.state.conversations {
            c.waiting_since().map(|since| super::render::waited(now, since)).hash(&mut h);
        }
        h.finish()
    }

    pub fn say(&mut self, text: impl Into<String>) {
        self.flash = Some((text.into(), self.now + 4000));
    }

    fn mark_seen(&mut self) {
        if let Some(c) = self.state.selected_view() {
            let first_unseen = c.messages.len().saturating_sub(c.unread);
            let id = c.conversation.id.clone();
            if c.unread > 0 {
                self.new_marker.insert(id, first_unseen);
            } else {
                self.new_marker.remove(&id);
            }
        }
    }

    fn select(&mut self, index: usize) -> Vec<Effect> {
        if index >= self.state.conversations.len() {
            return Vec::new();
        }
        // Unread must be read before the reducer clears it, for the new-message marker.
        let unread = self.state.conversations[index].unread;
        let len = self.state.conversations[index].messages.len();
        let id = self.state.conversations[index].conversation.id.clone();
        if unread > 0 {
            self.new_marker.insert(id, len - unread);
        }
        self.knowledge_sel = 0;
        self.note_mode = false;
        self.apply(Msg::Select { index })
    }

    fn mode(&self) -> &'static str {
        if self.overlay.is_some() {
            "overlay"
        } else if self.focus == Focus::Editor {
            "editor"
        } else {
            "navigate"
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if self.review_open {
            self.review_key(key);
            return Vec::new();
        }
        match self.keymap.action(self.mode(), &key) {
            Some(action) => self.act(action),
            None if self.focus == Focus::Editor && self.overlay.is_none() => {
                if self.selected_id().is_none() {
                    return Vec::new();
                }
                self.editor.input(key);
                self.editor_changed()
            }
            None => Vec::new(),
        }
    }

    /// Keys go to the Review tab while it shows; its toggle key or quitting it comes back.
    fn review_key(&mut self, key: KeyEvent) {
        if self.keymap.action("global", &key) == Some(Action::Review) {
            self.review_open = false;
            return;
        }
        let Some(review) = self.review.as_mut() else { return };
        if let Err(e) = review.on_key(key, self.now) {
            review.app.flash = Some(format!("Saving failed: {e:#}"));
        }
        if review.app.quit {
            review.app.quit = false;
            self.review_open = false;
        }
    }

    pub fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        if self.selected_id().is_none() || self.overlay.is_some() {
            return Vec::new();
        }
        self.focus = Focus::Editor;
        let clean = crate::util::sanitize_for_terminal(&text.replace("\r\n", "\n").replace('\r', "\n")).into_owned();
        self.editor.insert_str(clean);
        self.editor_changed()
    }

    pub fn on_mouse(&mut self, m: MouseEvent) -> Vec<Effect> {
        let panes = Panes::compute(self.size, self.focus, self.editor.lines());
        let at = Position::new(m.column, m.row);
        let pane = panes.hit(at);
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(p) = pane {
                    self.focus = p.focus();
                    if p == Pane::Queue {
                        let row = m.row.saturating_sub(panes.queue.y + 1) as usize / 2;
                        return self.select(row);
                    }
                }
                Vec::new()
            }
            MouseEventKind::ScrollUp => {
                if let Some(p) = pane {
                    self.scroll_pane(p, -3);
                }
                Vec::new()
            }
            MouseEventKind::ScrollDown => {
                if let Some(p) = pane {
                    self.scroll_pane(p, 3);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn scroll_pane(&mut self, pane: Pane, delta: i32) {
        match pane {
            Pane::Conversation => {
                if let Some(id) = self.selected_id() {
                    let s = self.scroll.entry(id).or_insert(0);
                    *s = (i32::from(*s) - delta).clamp(0, 100_000) as u16;
                }
            }
            Pane::Knowledge => {
                let n = self.passage_count();
                self.knowledge_sel =
                    (self.knowledge_sel as i32 + delta.signum()).clamp(0, n.saturating_sub(1) as i32) as usize;
            }
            Pane::Queue => {
                let i = self.state.selected.unwrap_or(0) as i32 + delta.signum();
                let _ = self.select(i.max(0) as usize);
            }
            Pane::Editor => {}
        }
    }

    fn passage_count(&self) -> usize {
        self.state.selected_view().and_then(|c| c.retrieval.as_ref()).map_or(0, |r| r.passages.len())
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        let sel = self.selected_id();
        let now = self.now;
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.overlay = Some(Overlay::Help { scroll: 0 }),
            Action::Profile => return super::details::open_profile(self),
            Action::Close => self.overlay = None,
            Action::NextPane | Action::PrevPane => {
                let i = FOCUS_ORDER.iter().position(|f| *f == self.focus).unwrap_or(0);
                let step = if action == Action::NextPane { 1 } else { FOCUS_ORDER.len() - 1 };
                self.focus = FOCUS_ORDER[(i + step) % FOCUS_ORDER.len()];
            }
            Action::NextConversation | Action::PrevConversation => {
                let n = self.state.conversations.len();
                if n > 0 {
                    let i = self.state.selected.unwrap_or(0);
                    let j = if action == Action::NextConversation { (i + 1) % n } else { (i + n - 1) % n };
                    return self.select(j);
                }
            }
            Action::OldestWaiting => {
                let oldest = self
                    .state
                    .conversations
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| matches!(c.conversation.status, Status::Open | Status::Pending))
                    .filter_map(|(i, c)| c.waiting_since().map(|t| (t, i)))
                    .min();
                match oldest {
                    Some((_, i)) => {
                        self.focus = Focus::Editor;
                        return self.select(i);
                    }
                    None => self.say("Nobody is waiting."),
                }
            }
            Action::Send => {
                let Some(conversation) = sel else { return Vec::new() };
                let internal = self.note_mode;
                let fx = self.apply(Msg::Send { conversation: conversation.clone(), internal, at: now });
                let queued = fx.iter().any(|e| matches!(e, Effect::SubmitForApproval { .. }));
                if fx.is_empty() {
                    let held = self.state.selected_view().is_some_and(|c| c.held.is_some());
                    self.say(if held {
                        "Your last reply is still waiting for approval."
                    } else {
                        "Nothing to send: the editor is empty."
                    });
                } else {
                    self.say(if internal {
                        "Internal note added."
                    } else if queued {
                        "Sent for approval: the customer sees it once a supervisor approves."
                    } else {
                        "Reply sent."
                    });
                    self.note_mode = false;
                    self.scroll.remove(&conversation);
                    self.new_marker.remove(&conversation);
                }
                return fx;
            }
            Action::Regenerate => {
                if let Some(conversation) = sel {
                    return self.apply(Msg::Regenerate { conversation });
                }
            }
            Action::Cancel => {
                if self.overlay.is_some() {
                    self.overlay = None;
                } else if let Some(conversation) =
                    sel.filter(|_| self.state.selected_view().is_some_and(|c| c.draft.pending_request().is_some()))
                {
                    self.say("Drafting stopped.");
                    return self.apply(Msg::CancelDraft { conversation });
                } else if self.focus != Focus::Editor {
                    self.focus = Focus::Editor;
                }
            }
            Action::DiscardDraft => {
                if let Some(conversation) = sel {
                    self.say("Draft discarded.");
                    return self.apply(Msg::DiscardDraft { conversation, at: now });
                }
            }
            Action::AcceptDraft => {
                if let Some(conversation) = sel {
                    return self.apply(Msg::AcceptOffered { conversation });
                }
            }
            Action::CompareDraft => {
                match self.state.selected_view().and_then(|c| c.offered.clone().map(|o| (c.editor.clone(), o))) {
                    Some((mine, offered)) => self.overlay = Some(Overlay::Compare { mine, offered, scroll: 0 }),
                    None => self.say("No new draft is waiting."),
                }
            }
            Action::ToggleNote => self.note_mode = !self.note_mode,
            Action::Resolve | Action::Escalate => {
                if let Some(conversation) = sel {
                    let status = if action == Action::Resolve { Status::Resolved } else { Status::Escalated };
                    return super::details::hand_off(self, conversation, status, now);
                }
            }
            Action::ToggleTheme => {
                self.theme = self.theme.toggled();
                self.style_editor();
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -10,
                    Action::PageDown => 10,
                    Action::Top => -100_000,
                    _ => 100_000,
                };
                self.move_by(delta);
            }
            Action::Open => match self.focus {
                Focus::Knowledge => return self.open_article(),
                Focus::Queue | Focus::Conversation => self.focus = Focus::Editor,
                Focus::Editor => {}
            },
            Action::InsertPassage | Action::InsertSentence => {
                return self.insert_passage(action == Action::InsertSentence);
            }
            Action::FocusEditor => self.focus = Focus::Editor,
            Action::DeleteSentence => return super::editing::delete_sentence(self),
            Action::Review => match self.review.is_some() {
                true => self.review_open = true,
                false => self.say("The Review tab is for supervisors: set [agent] role = \"supervisor\"."),
            },
        }
        Vec::new()
    }

    fn move_by(&mut self, delta: i32) {
        if let Some(overlay) = self.overlay.as_mut() {
            let (Overlay::Help { scroll }
            | Overlay::Article { scroll, .. }
            | Overlay::Compare { scroll, .. }
            | Overlay::Profile { scroll, .. }) = overlay;
            *scroll = (i32::from(*scroll) + delta).clamp(0, 10_000) as u16;
            return;
        }
        match self.focus {
            Focus::Queue => self.scroll_pane(Pane::Queue, delta),
            Focus::Conversation => self.scroll_pane(Pane::Conversation, delta),
            Focus::Knowledge => {
                let n = self.passage_count() as i32;
                self.knowledge_sel = (self.knowledge_sel as i32 + delta).clamp(0, (n - 1).max(0)) as usize;
            }
            Focus::Editor => {}
        }
    }

    fn selected_passage(&self) -> Option<crate::desk::Passage> {
        let r = self.state.selected_view()?.retrieval.as_ref()?;
        r.passages.get(self.knowledge_sel).cloned()
    }

    fn open_article(&mut self) -> Vec<Effect> {
        let Some(p) = self.selected_passage() else { return Vec::new() };
        match (self.articles)(&p.slug) {
            Some((title, text)) => {
                let fx = self.passage_event(crate::desk::SuggestionEvent::PassageOpened, &p.slug);
                self.overlay = Some(Overlay::Article { slug: p.slug, title, text, scroll: 0 });
                fx
            }
            None => {
                self.say(format!("Article {} is no longer in the knowledge base.", p.slug));
                Vec::new()
            }
        }
    }

    /// A feedback event about a passage of the selected conversation.
    fn passage_event(&self, event: crate::desk::SuggestionEvent, slug: &str) -> Vec<Effect> {
        let Some(c) = self.state.selected_view() else { return Vec::new() };
        let request = c.last_draft.as_ref().map(|d| d.request).or(c.draft.pending_request());
        vec![Effect::RecordDetail { conversation: c.conversation.id.clone(), request, event, detail: slug.to_owned() }]
    }

    fn insert_passage(&mut self, sentence_only: bool) -> Vec<Effect> {
        let Some(p) = self.selected_passage() else { return Vec::new() };
        let text = if sentence_only { super::editing::best_sentence(&p) } else { p.text.clone() };
        self.overlay = None;
        self.focus = Focus::Editor;
        let needs_space = self.editor.lines().iter().any(|l| !l.trim().is_empty());
        if needs_space {
            self.editor.insert_str(" ");
        }
        self.editor.insert_str(text);
        self.say(format!("Inserted from “{}”.", p.title));
        let mut fx = self.passage_event(crate::desk::SuggestionEvent::PassageInserted, &p.slug);
        fx.extend(self.editor_changed());
        fx
    }
}
