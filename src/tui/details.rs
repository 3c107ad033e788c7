//! What a conversation's title shows of the customer: key details, mood, an escalation hint.

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

/// Reads the customer's mood after a message; raises the conversation's priority when the mood
/// calls for it (never lowers one an agent or an earlier turn set).
pub fn read_mood(app: &mut App, id: &crate::desk::ConversationId) -> Vec<crate::desk::Effect> {
    let Some(c) = app.state.get(id) else { return vec![] };
    let turns: Vec<&str> =
        c.messages.iter().filter(|m| m.author == Author::Customer && !m.internal).map(|m| m.text.as_str()).collect();
    let customer = &c.conversation.customer;
    let earlier = app
        .state
        .conversations
        .iter()
        .filter(|o| o.conversation.customer == *customer && o.conversation.id != *id)
        .count();
    let mood = crate::understand::mood::assess_with(&turns, earlier, app.heard.get(id).copied());
    let (current, wanted) = (c.conversation.priority, mood.priority);
    app.moods.insert(id.clone(), mood);
    if wanted > current {
        return app.apply(crate::desk::Msg::SetPriority { conversation: id.clone(), priority: wanted });
    }
    vec![]
}

/// The mood's tags for the title ("upset, rising", "cancel threat", "legal", "asked before ×2",
/// "urgent") and the escalation hint, if any.
pub fn mood_tags(app: &App, c: &ConversationView) -> (Vec<String>, Option<&'static str>) {
    use crate::understand::mood::{Sentiment, Trend};
    let Some(m) = app.moods.get(&c.conversation.id) else { return (vec![], None) };
    let mut tags = Vec::new();
    match (m.latest, m.trend) {
        (Sentiment::Negative, Trend::Rising) => tags.push("upset, rising".to_owned()),
        (Sentiment::Negative, _) => tags.push("upset".to_owned()),
        (Sentiment::Positive, _) => tags.push("pleased".to_owned()),
        (_, Trend::Easing) => tags.push("calmer".to_owned()),
        _ => {}
    }
    if m.cancel {
        tags.push("cancel threat".into());
    }
    if m.legal {
        tags.push("legal".into());
    }
    if m.repeats > 0 {
        tags.push(format!("asked before ×{}", m.repeats));
    }
    if m.urgent {
        tags.push("urgent".into());
    }
    (tags, m.escalate)
}

/// Resolve or escalate, with the handoff summary as an internal note the next person (and the
/// supervisor) reads first.
pub fn hand_off(
    app: &mut App,
    conversation: crate::desk::ConversationId,
    status: crate::desk::Status,
    now: i64,
) -> Vec<crate::desk::Effect> {
    use crate::desk::Msg;
    let summary = app.state.get(&conversation).map(|c| crate::understand::summarize(&c.messages, status));
    let mut fx = Vec::new();
    if let Some(s) = &summary {
        fx = app.apply(Msg::AddNote { conversation: conversation.clone(), text: s.note(status), at: now });
        app.say(format!("Conversation {}. Open: {}", status.as_str(), s.open));
    }
    fx.extend(app.apply(Msg::SetStatus { conversation, status, at: now }));
    fx
}
