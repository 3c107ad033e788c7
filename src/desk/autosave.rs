//! Debounced autosave policy for drafts being edited.
//!
//! The editor reports every change; the app asks [`Debouncer::due`] on each tick and writes what
//! it returns. A burst of typing is written once it pauses for `quiet_ms`, and never later than
//! `max_ms` after its first unsaved change, so at most `max_ms` of typing is at risk in a crash.

use super::types::{ConversationId, Millis};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
struct Pending {
    text: String,
    first_change: Millis,
    last_change: Millis,
}

#[derive(Debug, Clone)]
pub struct Debouncer {
    quiet_ms: Millis,
    max_ms: Millis,
    pending: BTreeMap<ConversationId, Pending>,
}

impl Default for Debouncer {
    fn default() -> Self {
        Self::new(300, 1000)
    }
}

impl Debouncer {
    pub fn new(quiet_ms: Millis, max_ms: Millis) -> Self {
        Self { quiet_ms, max_ms, pending: BTreeMap::new() }
    }

    /// Records the editor's current text for a conversation.
    pub fn changed(&mut self, conversation: &ConversationId, text: &str, now: Millis) {
        match self.pending.get_mut(conversation) {
            Some(p) => {
                p.text.clear();
                p.text.push_str(text);
                p.last_change = now;
            }
            None => {
                let p = Pending { text: text.to_owned(), first_change: now, last_change: now };
                self.pending.insert(conversation.clone(), p);
            }
        }
    }

    /// Drafts that should be written now; they are no longer pending afterwards.
    pub fn due(&mut self, now: Millis) -> Vec<(ConversationId, String)> {
        let ready: Vec<ConversationId> = self
            .pending
            .iter()
            .filter(|(_, p)| now - p.last_change >= self.quiet_ms || now - p.first_change >= self.max_ms)
            .map(|(id, _)| id.clone())
            .collect();
        ready.into_iter().filter_map(|id| self.pending.remove(&id).map(|p| (id, p.text))).collect()
    }

    /// Everything still pending (on quit or before a risky operation).
    pub fn flush(&mut self) -> Vec<(ConversationId, String)> {
        std::mem::take(&mut self.pending).into_iter().map(|(id, p)| (id, p.text)).collect()
    }

    /// Forgets a conversation's pending text (it was sent, so there is nothing to restore).
    pub fn flush_one(&mut self, conversation: &ConversationId) {
        self.pending.remove(conversation);
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_pause_writes_once() {
        let mut d = Debouncer::new(300, 1000);
        let c = ConversationId::from("T-1");
        d.changed(&c, "h", 0);
        d.changed(&c, "he", 100);
        assert!(d.due(350).is_empty());
        assert_eq!(d.due(400), vec![(c, "he".to_owned())]);
        assert!(d.is_empty());
    }

    #[test]
    fn continuous_typing_is_saved_within_max() {
        let mut d = Debouncer::new(300, 1000);
        let c = ConversationId::from("T-1");
        let mut saves = vec![0];
        for t in (0..3000).step_by(50) {
            d.changed(&c, "typing", t);
            if !d.due(t).is_empty() {
                saves.push(t);
            }
        }
        // Typing never pauses for 300 ms, yet a save happens at least every second.
        assert!(saves.len() >= 3, "{saves:?}");
        assert!(saves.windows(2).all(|w| w[1] - w[0] <= 1050), "{saves:?}");
    }
}
