//! The review console's state and key handling, free of terminal and store I/O: keys go in,
//! [`Op`]s (approve, flag, coach, decide a queued reply, load a detail) come out for the
//! runner to carry out against the store.

use super::super::keymap::{Action, Keymap};
use super::super::theme::Theme;
use crate::desk::{DraftOutcome, Message};
use crate::review::Stats;
use crate::store::{Approval, ReviewRow};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    List,
    Detail,
    Stats,
    Queue,
    Help,
}

/// Columns the list sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Time,
    Agent,
    Conversation,
    Outcome,
    EditDistance,
    TimeToSend,
    Articles,
    Flags,
}

const SORTS: [SortKey; 8] = [
    SortKey::Time,
    SortKey::Agent,
    SortKey::Conversation,
    SortKey::Outcome,
    SortKey::EditDistance,
    SortKey::TimeToSend,
    SortKey::Articles,
    SortKey::Flags,
];

impl SortKey {
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Time => "time",
            SortKey::Agent => "agent",
            SortKey::Conversation => "conversation",
            SortKey::Outcome => "outcome",
            SortKey::EditDistance => "edit distance",
            SortKey::TimeToSend => "time to send",
            SortKey::Articles => "articles",
            SortKey::Flags => "flags",
        }
    }
}

/// Which drafts the list shows, by outcome or state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    All,
    Outcome(Option<DraftOutcome>),
    Flagged,
    Warned,
    Unapproved,
}

const SHOWS: [Show; 9] = [
    Show::All,
    Show::Outcome(Some(DraftOutcome::SentAsIs)),
    Show::Outcome(Some(DraftOutcome::Edited)),
    Show::Outcome(Some(DraftOutcome::Rewritten)),
    Show::Outcome(Some(DraftOutcome::Discarded)),
    Show::Outcome(None),
    Show::Flagged,
    Show::Warned,
    Show::Unapproved,
];

impl Show {
    pub fn label(self) -> &'static str {
        match self {
            Show::All => "all",
            Show::Outcome(o) => outcome_label(o),
            Show::Flagged => "flagged",
            Show::Warned => "with warnings",
            Show::Unapproved => "not approved",
        }
    }

    fn keeps(self, r: &ReviewRow) -> bool {
        match self {
            Show::All => true,
            Show::Outcome(o) => r.outcome == o,
            Show::Flagged => !r.flags.is_empty(),
            Show::Warned => !r.warnings.is_empty(),
            Show::Unapproved => !r.approved,
        }
    }
}

pub fn outcome_label(o: Option<DraftOutcome>) -> &'static str {
    match o {
        Some(DraftOutcome::SentAsIs) => "as-is",
        Some(DraftOutcome::Edited) => "edited",
        Some(DraftOutcome::Rewritten) => "rewritten",
        Some(DraftOutcome::Discarded) => "discarded",
        None => "pending",
    }
}

/// Text the supervisor is typing, and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Search,
    FlagReason,
    CoachNote,
    /// The queued reply's text, edited before approval.
    EditReply,
    ReturnNote,
}

impl Prompt {
    pub fn label(self) -> &'static str {
        match self {
            Prompt::Search => "Search",
            Prompt::FlagReason => "Flag reason",
            Prompt::CoachNote => "Coaching note for the agent",
            Prompt::EditReply => "Edit the reply, Enter approves it",
            Prompt::ReturnNote => "Why it goes back to the agent",
        }
    }
}

/// What the runner must do with the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Approve { draft_id: i64 },
    Flag { draft_id: i64, reason: String },
    Coach { draft_id: i64, text: String },
    LoadDetail { draft_id: i64 },
    LoadStats,
    LoadQueue,
    ApproveQueued { id: i64, text: String },
    ReturnQueued { id: i64, note: String },
}

/// What the detail view shows besides the row itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    pub draft_id: i64,
    pub messages: Vec<Message>,
    /// (title, slug, text excerpt) of each cited article.
    pub passages: Vec<(String, String, String)>,
    pub notes: Vec<String>,
    pub scroll: u16,
}

pub struct ReviewApp {
    pub rows: Vec<ReviewRow>,
    /// Indices into `rows` that pass the filters, in display order.
    pub visible: Vec<usize>,
    /// Position in `visible`.
    pub selected: usize,
    pub sort: SortKey,
    pub descending: bool,
    pub show: Show,
    pub agent: Option<String>,
    pub search: String,
    pub view: View,
    pub prompt: Option<(Prompt, String)>,
    pub detail: Option<Detail>,
    pub stats: Option<Stats>,
    pub stats_scroll: u16,
    pub queue: Vec<Approval>,
    pub queue_sel: usize,
    pub theme: Theme,
    pub keymap: Keymap,
    pub flash: Option<String>,
    pub quit: bool,
    /// List rows that fit on screen (set by the renderer's caller from the terminal size).
    pub page: usize,
}

impl ReviewApp {
    pub fn new(rows: Vec<ReviewRow>, theme: Theme, keymap: Keymap) -> Self {
        let mut app = Self {
            rows,
            visible: Vec::new(),
            selected: 0,
            sort: SortKey::Time,
            descending: true,
            show: Show::All,
            agent: None,
            search: String::new(),
            view: View::List,
            prompt: None,
            detail: None,
            stats: None,
            stats_scroll: 0,
            queue: Vec::new(),
            queue_sel: 0,
            theme,
            keymap,
            flash: None,
            quit: false,
            page: 20,
        };
        app.refilter();
        app
    }

    pub fn selected_row(&self) -> Option<&ReviewRow> {
        self.visible.get(self.selected).map(|&i| &self.rows[i])
    }

    /// Replaces the rows (after a store change), keeping the selected draft selected.
    pub fn set_rows(&mut self, rows: Vec<ReviewRow>) {
        let keep = self.selected_row().map(|r| r.id);
        self.rows = rows;
        self.refilter();
        if let Some(pos) = keep.and_then(|id| self.visible.iter().position(|&i| self.rows[i].id == id)) {
            self.selected = pos;
        }
    }

    /// Applies filters, search and sort.
    pub fn refilter(&mut self) {
        let needle = self.search.to_lowercase();
        let rows = &self.rows;
        let mut v: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                let r = &rows[i];
                self.show.keeps(r)
                    && self.agent.as_ref().is_none_or(|a| &r.agent == a)
                    && (needle.is_empty() || matches_search(r, &needle))
            })
            .collect();
        let key = self.sort;
        v.sort_by(|&a, &b| {
            let (x, y) = (&rows[a], &rows[b]);
            let ord = match key {
                SortKey::Time => x.created.cmp(&y.created),
                SortKey::Agent => x.agent.cmp(&y.agent),
                SortKey::Conversation => x.conversation.cmp(&y.conversation),
                SortKey::Outcome => outcome_label(x.outcome).cmp(outcome_label(y.outcome)),
                SortKey::EditDistance => x.edit_distance.unwrap_or(-1.0).total_cmp(&y.edit_distance.unwrap_or(-1.0)),
                SortKey::TimeToSend => x.time_to_send().unwrap_or(-1).cmp(&y.time_to_send().unwrap_or(-1)),
                SortKey::Articles => first_slug(x).cmp(first_slug(y)),
                SortKey::Flags => x.flags.len().cmp(&y.flags.len()),
            };
            let ord = if self.descending { ord.reverse() } else { ord };
            ord.then_with(|| y.id.cmp(&x.id))
        });
        self.visible = v;
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    fn agents(&self) -> Vec<String> {
        let mut a: Vec<String> = self.rows.iter().map(|r| r.agent.clone()).collect();
        a.sort();
        a.dedup();
        a
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Op> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if self.prompt.is_some() {
            return self.on_prompt_key(key);
        }
        self.flash = None;
        let plain = !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if let (KeyCode::Char(c), true) = (key.code, plain)
            && let Some(ops) = self.on_letter(c)
        {
            return ops;
        }
        let Some(action) = self.keymap.action("navigate", &key) else { return Vec::new() };
        self.act(action)
    }

    /// Review keys (checked before the shared key map).
    fn on_letter(&mut self, c: char) -> Option<Vec<Op>> {
        let draft = self.selected_row().map(|r| r.id).filter(|_| matches!(self.view, View::List | View::Detail));
        let queued =
            self.queue.get(self.queue_sel).map(|a| (a.id, a.text.clone())).filter(|_| self.view == View::Queue);
        match (c, self.view) {
            ('/', View::List) => self.prompt = Some((Prompt::Search, self.search.clone())),
            ('s', View::List) => {
                let i = SORTS.iter().position(|s| *s == self.sort).unwrap_or(0);
                self.sort = SORTS[(i + 1) % SORTS.len()];
                self.refilter();
            }
            ('S', View::List) => {
                self.descending = !self.descending;
                self.refilter();
            }
            ('f', View::List) => {
                let i = SHOWS.iter().position(|s| *s == self.show).unwrap_or(0);
                self.show = SHOWS[(i + 1) % SHOWS.len()];
                self.selected = 0;
                self.refilter();
            }
            ('g', View::List) => {
                let agents = self.agents();
                let next = match &self.agent {
                    None => agents.first().cloned(),
                    Some(a) => agents.iter().skip_while(|x| *x != a).nth(1).cloned(),
                };
                self.agent = next;
                self.selected = 0;
                self.refilter();
            }
            ('a', View::List | View::Detail) => {
                return Some(draft.map(|draft_id| vec![Op::Approve { draft_id }]).unwrap_or_default());
            }
            ('x', View::List | View::Detail) if draft.is_some() => {
                self.prompt = Some((Prompt::FlagReason, String::new()))
            }
            ('c', View::List | View::Detail) if draft.is_some() => {
                self.prompt = Some((Prompt::CoachNote, String::new()))
            }
            ('a', View::Queue) => {
                return Some(queued.map(|(id, text)| vec![Op::ApproveQueued { id, text }]).unwrap_or_default());
            }
            ('e', View::Queue) => {
                if let Some((_, text)) = queued {
                    self.prompt = Some((Prompt::EditReply, text));
                }
            }
            ('r', View::Queue) if queued.is_some() => self.prompt = Some((Prompt::ReturnNote, String::new())),
            _ => return None,
        }
        Some(Vec::new())
    }

    fn on_prompt_key(&mut self, key: KeyEvent) -> Vec<Op> {
        let Some((prompt, text)) = self.prompt.as_mut() else { return Vec::new() };
        let prompt = *prompt;
        match key.code {
            KeyCode::Esc => {
                self.prompt = None;
                return Vec::new();
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) if !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) => text.push(c),
            KeyCode::Enter => {
                let text = text.trim().to_owned();
                self.prompt = None;
                let draft = self.selected_row().map(|r| r.id);
                let queued = self.queue.get(self.queue_sel).map(|a| a.id);
                return match (prompt, draft, queued) {
                    (Prompt::Search, ..) => {
                        self.search = text;
                        self.selected = 0;
                        self.refilter();
                        Vec::new()
                    }
                    (_, _, _) if text.is_empty() && prompt != Prompt::Search => {
                        self.flash = Some("Nothing typed: nothing was saved.".into());
                        Vec::new()
                    }
                    (Prompt::FlagReason, Some(draft_id), _) => vec![Op::Flag { draft_id, reason: text }],
                    (Prompt::CoachNote, Some(draft_id), _) => vec![Op::Coach { draft_id, text }],
                    (Prompt::EditReply, _, Some(id)) => vec![Op::ApproveQueued { id, text }],
                    (Prompt::ReturnNote, _, Some(id)) => vec![Op::ReturnQueued { id, note: text }],
                    _ => Vec::new(),
                };
            }
            _ => {}
        }
        if prompt == Prompt::Search {
            // Live search: the list narrows as the supervisor types.
            self.search = text.clone();
            self.selected = 0;
            self.refilter();
        }
        Vec::new()
    }

    fn act(&mut self, action: Action) -> Vec<Op> {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.view = View::Help,
            Action::Close | Action::Cancel => match self.view {
                View::List if !self.search.is_empty() => {
                    self.search.clear();
                    self.refilter();
                }
                View::List => {}
                _ => self.view = View::List,
            },
            Action::NextPane | Action::PrevPane => {
                let order = [View::List, View::Stats, View::Queue];
                let i = order.iter().position(|v| *v == self.view).unwrap_or(0);
                let step = if action == Action::NextPane { 1 } else { order.len() - 1 };
                self.view = order[(i + step) % order.len()];
                return match self.view {
                    View::Stats => vec![Op::LoadStats],
                    View::Queue => vec![Op::LoadQueue],
                    _ => Vec::new(),
                };
            }
            Action::Open if self.view == View::List => {
                if let Some(draft_id) = self.selected_row().map(|r| r.id) {
                    self.view = View::Detail;
                    return vec![Op::LoadDetail { draft_id }];
                }
            }
            Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom => {
                let page = self.page.max(1) as i64;
                let delta = match action {
                    Action::Up => -1,
                    Action::Down => 1,
                    Action::PageUp => -page,
                    Action::PageDown => page,
                    Action::Top => -1_000_000,
                    _ => 1_000_000,
                };
                self.move_by(delta);
            }
            _ => {}
        }
        Vec::new()
    }

    fn move_by(&mut self, delta: i64) {
        let step = |pos: usize, len: usize| (pos as i64 + delta).clamp(0, len.saturating_sub(1) as i64) as usize;
        match self.view {
            View::List => self.selected = step(self.selected, self.visible.len()),
            View::Queue => self.queue_sel = step(self.queue_sel, self.queue.len()),
            View::Detail => {
                if let Some(d) = self.detail.as_mut() {
                    d.scroll = (i64::from(d.scroll) + delta).clamp(0, 10_000) as u16;
                }
            }
            View::Stats => self.stats_scroll = (i64::from(self.stats_scroll) + delta).clamp(0, 10_000) as u16,
            View::Help => {}
        }
    }
}

fn first_slug(r: &ReviewRow) -> &str {
    r.sources.first().map_or("", |s| s.slug.as_str())
}

/// Case-insensitive search over agent, conversation, texts, articles and flags.
fn matches_search(r: &ReviewRow, needle: &str) -> bool {
    let has = |s: &str| s.to_lowercase().contains(needle);
    has(&r.agent)
        || has(&r.conversation.0)
        || has(&r.generated)
        || r.final_text.as_deref().is_some_and(has)
        || r.sources.iter().any(|s| has(&s.slug) || has(&s.title))
        || r.flags.iter().any(|f| has(f))
}
