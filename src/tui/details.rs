//! The key details a conversation's title shows.

use super::app::App;
use crate::desk::{Author, ConversationView};

/// The conversation's latest key details (orders, amounts, dates, models...), four at most,
/// read from customer messages not read before.
pub fn key_details(app: &App, c: &ConversationView) -> Vec<String> {
    use crate::understand::DetailKind;
    let mut cache = app.details.borrow_mut();
    let (read, found) = cache.entry(c.conversation.id.clone()).or_default();
    if *read > c.messages.len() {
        (*read, *found) = (0, Vec::new());
    }
    let new = c.messages[*read..].iter().filter(|m| m.author == Author::Customer && !m.internal);
    crate::understand::conversation_details(new.map(|m| (m.text.as_str(), m.at)), found);
    *read = c.messages.len();
    found
        .iter()
        .rev()
        .filter(|d| d.kind != DetailKind::Email && d.kind != DetailKind::Phone)
        .take(4)
        .map(|d| match d.kind {
            DetailKind::Order | DetailKind::Tracking => format!("{} {}", d.kind.as_str(), d.value),
            _ => d.value.clone(),
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}
