//! Keeping the console alive and the terminal sane: worker panics are caught and reported instead
//! of taking a thread (or the screen) down, jobs queue at most one per conversation, and every
//! exit path (a panic, an error, SIGTERM or SIGHUP) restores the terminal to how it was.

use crate::desk::ConversationId;
use std::cell::Cell;
use std::collections::VecDeque;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// True while this thread runs a supervised job: its panics are caught by [`supervised`], so
    /// the panic hook only logs them instead of tearing down the terminal.
    static SUPERVISED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `job`, turning a panic into an error that names `what` and the panic's message.
pub fn supervised<T>(what: &str, job: impl FnOnce() -> T) -> Result<T, String> {
    let was = SUPERVISED.with(|s| s.replace(true));
    let result = catch_unwind(AssertUnwindSafe(job));
    SUPERVISED.with(|s| s.set(was));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        format!("{what} crashed: {message}")
    })
}

/// Jobs waiting for a worker, at most one per conversation: a newer job for a conversation replaces
/// its waiting one in place (its turn in the queue is kept), so a busy conversation never starves
/// another and no stale work is done.
#[derive(Debug)]
pub struct LatestPerConversation<J> {
    queue: VecDeque<(ConversationId, J)>,
}

impl<J> Default for LatestPerConversation<J> {
    fn default() -> Self {
        Self { queue: VecDeque::new() }
    }
}

impl<J> LatestPerConversation<J> {
    /// Queues `job`; returns the job it replaced, if the conversation had one waiting.
    pub fn push(&mut self, conversation: ConversationId, job: J) -> Option<J> {
        match self.queue.iter_mut().find(|(c, _)| *c == conversation) {
            Some((_, waiting)) => Some(std::mem::replace(waiting, job)),
            None => {
                self.queue.push_back((conversation, job));
                None
            }
        }
    }

    pub fn pop(&mut self) -> Option<(ConversationId, J)> {
        self.queue.pop_front()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

/// The escape sequences that undo what the console turned on: mouse capture, bracketed paste, the
/// alternate screen and the hidden cursor.
pub fn write_restore(out: &mut impl Write) -> std::io::Result<()> {
    crossterm::execute!(
        out,
        crossterm::event::DisableMouseCapture,
        crossterm::event::DisableBracketedPaste,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    )
}

/// Puts the terminal back: raw mode off and every mode the console enabled undone. Safe to call
/// more than once.
pub fn restore_terminal() {
    let _ = write_restore(&mut std::io::stdout());
    let _ = crossterm::terminal::disable_raw_mode();
}

/// Installs the console's panic hook: a panic inside a supervised worker job is only logged (the
/// worker reports it and carries on); any other panic restores the terminal before the default
/// hook prints it.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if SUPERVISED.with(Cell::get) {
            let thread = std::thread::current().name().unwrap_or("worker").to_owned();
            tracing::error!(thread, "worker panicked: {info}");
            return;
        }
        restore_terminal();
        previous(info);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ConversationId {
        ConversationId(s.to_owned())
    }

    #[test]
    fn newest_job_per_conversation_keeps_its_turn() {
        let mut q = LatestPerConversation::default();
        assert!(q.push(id("a"), 1).is_none());
        assert!(q.push(id("b"), 2).is_none());
        assert_eq!(q.push(id("a"), 3), Some(1));
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some((id("a"), 3)));
        assert_eq!(q.pop(), Some((id("b"), 2)));
        assert!(q.is_empty());
    }

    #[test]
    fn a_panic_becomes_an_error_with_its_message() {
        let r: Result<(), String> = supervised("drafter", || panic!("boom {}", 7));
        assert_eq!(r, Err("drafter crashed: boom 7".to_owned()));
        assert_eq!(supervised("x", || 5), Ok(5));
        assert!(!SUPERVISED.with(Cell::get), "the flag is reset after the job");
    }

    #[test]
    fn restore_turns_off_mouse_capture_and_bracketed_paste() {
        let mut out = Vec::new();
        write_restore(&mut out).expect("write");
        let s = String::from_utf8_lossy(&out);
        for seq in ["\x1b[?1000l", "\x1b[?1003l", "\x1b[?1006l", "\x1b[?2004l", "\x1b[?1049l", "\x1b[?25h"] {
            assert!(s.contains(seq), "missing {seq:?} in {s:?}");
        }
    }
}
