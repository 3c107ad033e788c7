//! `deskpilot review`: the supervisor console. Same look and keys as the agent console: a list
//! of drafts (filter, sort, search), a detail view with the word diff, a Stats view and the
//! approval queue. [`ReviewConsole`] carries out the state's [`Op`]s against the store.

pub mod render;
pub mod state;

use crate::config::Settings;
use crate::desk::Millis;
use crate::review::Stats;
use crate::store::{ApprovalState, DraftFilter, Review, SqliteStore};
use anyhow::{Context, Result};
use crossterm::event::{Event, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::Backend;
use state::{Detail, Op, ReviewApp, View};
use std::path::PathBuf;

/// Reads an article's (title, text) for the cited passages.
pub type Articles = Box<dyn Fn(&str) -> Option<(String, String)>>;

/// The review app plus the store it reads and writes.
pub struct ReviewConsole {
    pub app: ReviewApp,
    pub store: SqliteStore,
    /// Who approves, flags and coaches (`[agent] name`).
    pub reviewer: String,
    pub articles: Articles,
}

impl ReviewConsole {
    pub fn new(
        store: SqliteStore,
        reviewer: &str,
        theme: super::theme::Theme,
        keymap: super::keymap::Keymap,
        articles: Articles,
    ) -> Result<Self> {
        let rows = store.review_rows(&DraftFilter::default())?;
        let mut app = ReviewApp::new(rows, theme, keymap);
        app.queue = store.approvals(ApprovalState::Pending)?;
        Ok(Self { app, store, reviewer: reviewer.to_owned(), articles })
    }

    pub fn on_key(&mut self, key: KeyEvent, now: Millis) -> Result<()> {
        let ops = self.app.on_key(key);
        for op in ops {
            self.perform(op, now)?;
        }
        Ok(())
    }

    fn reload(&mut self) -> Result<()> {
        let rows = self.store.review_rows(&DraftFilter::default())?;
        self.app.set_rows(rows);
        Ok(())
    }

    pub fn perform(&mut self, op: Op, now: Millis) -> Result<()> {
        let review = |draft_id, verdict: &str, comment: String| Review {
            draft_id,
            reviewer: self.reviewer.clone(),
            verdict: verdict.into(),
            comment,
            at: now,
        };
        match op {
            Op::Approve { draft_id } => {
                self.store.add_review(&review(draft_id, "approved", String::new()))?;
                self.app.flash = Some(format!("Draft #{draft_id} approved."));
                self.reload()?;
            }
            Op::Flag { draft_id, reason } => {
                self.store.add_review(&review(draft_id, "flag", reason))?;
                self.app.flash = Some(format!("Draft #{draft_id} flagged."));
                self.reload()?;
            }
            Op::Coach { draft_id, text } => {
                self.store.add_coaching_note(draft_id, &self.reviewer, &text, now)?;
                self.app.flash = Some("Coaching note saved: the agent sees it in their console.".into());
                self.refresh_detail(draft_id)?;
            }
            Op::LoadDetail { draft_id } => self.refresh_detail(draft_id)?,
            Op::LoadStats => {
                let gaps = self.store.kb_gaps(None, 20)?;
                self.app.stats = Some(Stats::compute(&self.app.rows, gaps));
            }
            Op::LoadQueue => self.app.queue = self.store.approvals(ApprovalState::Pending)?,
            Op::ApproveQueued { id, text } => {
                let done =
                    self.store.decide_approval(id, ApprovalState::Approved, &self.reviewer, Some(&text), "", now)?;
                self.app.flash =
                    Some(if done { "Approved: the reply goes to the customer." } else { "Already decided." }.into());
                self.app.queue = self.store.approvals(ApprovalState::Pending)?;
                self.app.queue_sel = self.app.queue_sel.min(self.app.queue.len().saturating_sub(1));
            }
            Op::ReturnQueued { id, note } => {
                let done = self.store.decide_approval(id, ApprovalState::Returned, &self.reviewer, None, &note, now)?;
                self.app.flash =
                    Some(if done { "Returned to the agent with your note." } else { "Already decided." }.into());
                self.app.queue = self.store.approvals(ApprovalState::Pending)?;
                self.app.queue_sel = self.app.queue_sel.min(self.app.queue.len().saturating_sub(1));
            }
        }
        Ok(())
    }

    fn refresh_detail(&mut self, draft_id: i64) -> Result<()> {
        let Some(row) = self.app.rows.iter().find(|r| r.id == draft_id) else { return Ok(()) };
        let messages = self.store.messages(&row.conversation)?;
        let passages = row
            .sources
            .iter()
            .map(|s| match (self.articles)(&s.slug) {
                Some((title, text)) => (title, s.slug.clone(), excerpt(&text, 240)),
                None => (s.title.clone(), s.slug.clone(), String::new()),
            })
            .collect();
        let notes = self.store.draft_notes(draft_id)?;
        let scroll = self.app.detail.as_ref().filter(|d| d.draft_id == draft_id).map_or(0, |d| d.scroll);
        self.app.detail = Some(Detail { draft_id, messages, passages, notes, scroll });
        Ok(())
    }
}

/// The first `max` characters of an article's text on one line, without Markdown headings.
fn excerpt(text: &str, max: usize) -> String {
    let flat: Vec<&str> =
        text.lines().filter(|l| !l.trim_start().starts_with('#')).flat_map(str::split_whitespace).collect();
    let joined = flat.join(" ");
    if joined.chars().count() <= max {
        return joined;
    }
    joined.chars().take(max).collect::<String>() + "…"
}

/// Draws frames on `terminal` as events come, until the supervisor quits or events end.
/// `FocusGained` doubles as the idle tick (the queue is re-read then).
pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    console: &mut ReviewConsole,
    mut next_event: impl FnMut() -> Result<Option<Event>>,
) -> Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let mut dirty = true;
    while !console.app.quit {
        if dirty {
            let size = terminal.size()?;
            console.app.page = render::list_page(size.height);
            terminal.draw(|f| render::render(&console.app, f))?;
            dirty = false;
        }
        match next_event()? {
            Some(Event::Key(key)) => {
                console.on_key(key, crate::util::now_ms())?;
                dirty = true;
            }
            Some(Event::Resize(..)) => dirty = true,
            // A quiet moment: agents may have queued replies meanwhile.
            Some(Event::FocusGained) => {
                let queue = console.store.approvals(ApprovalState::Pending)?;
                if queue != console.app.queue {
                    console.app.queue = queue;
                    console.app.queue_sel = console.app.queue_sel.min(console.app.queue.len().saturating_sub(1));
                    dirty = true;
                }
            }
            Some(_) => {}
            None => break,
        }
    }
    Ok(())
}

/// Runs the review console in the terminal.
pub fn run(settings: &Settings) -> Result<()> {
    let mut console = open(settings)?;
    let mut terminal = ratatui::try_init().context("cannot start the terminal UI (is stdout a terminal?)")?;
    super::supervise::install_panic_hook();
    let result = event_loop(&mut terminal, &mut console, || {
        // Poll so a queue filled by agents meanwhile shows up without a key press.
        if crossterm::event::poll(std::time::Duration::from_secs(2))? {
            Ok(Some(crossterm::event::read()?))
        } else {
            Ok(Some(Event::FocusGained))
        }
    });
    super::supervise::restore_terminal();
    ratatui::restore();
    result
}

/// The review console on the configured store, theme, keys and KB (also the agent console's
/// Review tab for supervisors).
pub fn open(settings: &Settings) -> Result<ReviewConsole> {
    let store = SqliteStore::open_in(&settings.paths.data_dir)?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = super::theme::Theme::from_config(&settings.config.ui.theme, no_color);
    let keymap = super::keymap::Keymap::with_overrides(
        Some(&settings.config.keys).filter(|k| !k.is_empty()),
        &settings.paths.config_file.display().to_string(),
    )?;
    let kb: PathBuf = settings.config.kb_dir();
    let articles: Articles = Box::new(move |slug| {
        crate::knowledge::read_article(&kb, slug).map(|a| (a.meta.title, a.body.trim().to_owned()))
    });
    ReviewConsole::new(store, &settings.config.agent.name, theme, keymap, articles)
}

/// Milliseconds per frame while the list's selection moves down through every row of the
/// store at `width` x `height` (the render bench; 16.7 ms is one frame at 60 fps).
pub fn bench_frames(store: &SqliteStore, width: u16, height: u16) -> Result<Vec<f64>> {
    use ratatui::backend::TestBackend;
    let rows = store.review_rows(&DraftFilter::default())?;
    let mut app = ReviewApp::new(
        rows,
        super::theme::Theme::new(super::theme::ThemeName::Dark),
        super::keymap::Keymap::defaults(),
    );
    app.page = render::list_page(height);
    let mut terminal = Terminal::new(TestBackend::new(width, height))?;
    let mut times = Vec::with_capacity(app.visible.len());
    let down = KeyEvent::from(crossterm::event::KeyCode::Down);
    for _ in 0..app.visible.len() {
        let t = std::time::Instant::now();
        app.on_key(down);
        terminal.draw(|f| render::render(&app, f))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    debug_assert_eq!(app.view, View::List);
    Ok(times)
}
