//! What the console shows of the customer: key details, mood and an escalation hint in the
//! conversation's title, and the profile panel (who they are, their orders and conversations).

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

/// The tier as the console names it.
pub fn tier_label(tier: crate::desk::Tier) -> &'static str {
    match tier {
        crate::desk::Tier::Plus => "Harbor+",
        crate::desk::Tier::Business => "Business",
        crate::desk::Tier::Standard => "Standard",
    }
}

/// What the profile panel shows: the customer, and their conversations (`None` while the store
/// reads them).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileView {
    pub customer: crate::desk::Customer,
    pub history: Option<Vec<crate::desk::PastConversation>>,
}

/// Opens the selected conversation's customer profile; their conversations are read off this
/// thread and fill it in when they arrive.
pub fn open_profile(app: &mut App) -> Vec<crate::desk::Effect> {
    let Some(c) = app.state.selected_view() else {
        app.say("No conversation selected.");
        return Vec::new();
    };
    let customer = c.customer.clone().unwrap_or_else(|| crate::desk::Customer {
        id: c.conversation.customer.clone(),
        name: c.conversation.customer.0.clone(),
        ..crate::desk::Customer::default()
    });
    let id = customer.id.clone();
    app.overlay = Some(super::app::Overlay::Profile { view: ProfileView { customer, history: None }, scroll: 0 });
    vec![crate::desk::Effect::LoadHistory { customer: id }]
}

/// A customer's conversations arrived from the store: shown if their profile is still open.
pub fn history_arrived(app: &mut App, customer: &crate::desk::CustomerId, list: Vec<crate::desk::PastConversation>) {
    if let Some(super::app::Overlay::Profile { view, .. }) = app.overlay.as_mut()
        && view.customer.id == *customer
    {
        view.history = Some(list);
    }
}

/// The profile panel's lines: who the customer is, what this conversation has found, the orders
/// they gave, their open issues and their earlier conversations with one-line summaries.
pub fn profile_lines(
    app: &App,
    customer: &crate::desk::Customer,
    history: Option<&[crate::desk::PastConversation]>,
) -> Vec<ratatui::text::Line<'static>> {
    use super::text::display_text;
    use crate::desk::Status;
    use ratatui::text::Line;
    let (t, dim) = (app.theme.text, app.theme.dim);
    let language = match customer.language.as_str() {
        l if l.starts_with("zh") => "Chinese",
        l if l.starts_with("en") || l.is_empty() => "English",
        other => other,
    };
    let mut lines = vec![
        Line::styled(format!("{} · {}", display_text(&customer.name), display_text(&customer.email)), app.theme.title),
        Line::styled(format!("Tier: {} · Language: {language}", tier_label(customer.tier)), t),
    ];
    // Notes are free text; a line that starts with an order number is one of their orders
    // (the demo's and an import's profiles list recent orders that way).
    let order_of = |line: &str| {
        crate::understand::details(line, 0)
            .into_iter()
            .find(|d| d.kind == crate::understand::DetailKind::Order && line.trim_start().starts_with(d.text.as_str()))
            .map(|d| d.value)
    };
    let (known, notes): (Vec<&str>, Vec<&str>) =
        customer.notes.lines().filter(|l| !l.trim().is_empty()).partition(|l| order_of(l).is_some());
    for n in notes {
        lines.push(Line::styled(format!("Notes: {}", display_text(n)), t));
    }
    if let Some(c) = app.state.selected_view().filter(|c| c.conversation.customer == customer.id) {
        let found = key_details(app, c);
        if !found.is_empty() {
            lines.push(Line::styled(format!("This conversation: {}", display_text(&found.join(" · "))), t));
        }
    }
    lines.push(Line::default());
    let Some(history) = history else {
        lines.push(Line::styled("Reading their conversations…", dim));
        return lines;
    };
    let when = |ms: i64| {
        let secs = ms / 1000 + crate::util::local_offset_secs();
        let day = time::OffsetDateTime::from_unix_timestamp(secs).map(|d| d.date()).ok();
        let day = day.map(|d| format!("{} {} ", d.day(), &format!("{}", d.month())[..3])).unwrap_or_default();
        format!("{day}{}", super::render::clock(ms))
    };
    // Where each order came up: (order, conversation, status).
    let asked: Vec<(&str, &crate::desk::PastConversation)> =
        history.iter().flat_map(|c| c.orders.iter().map(move |o| (o.as_str(), c))).collect();
    let asked_about = |order: &str| {
        let seen: Vec<String> = asked
            .iter()
            .filter(|(o, _)| *o == order)
            .map(|(_, c)| format!("{} ({})", c.id, c.status.as_str()))
            .collect();
        if seen.is_empty() { String::new() } else { format!(" · asked about in {}", seen.join(", ")) }
    };
    lines.push(Line::styled("Recent orders", app.theme.title));
    let known_ids: Vec<String> = known.iter().filter_map(|l| order_of(l)).collect();
    for (line, id) in known.iter().zip(&known_ids) {
        lines.push(Line::styled(format!("  {}{}", display_text(line.trim()), asked_about(id)), t));
    }
    let mut other: Vec<&str> = asked.iter().map(|(o, _)| *o).filter(|o| !known_ids.iter().any(|k| k == o)).collect();
    other.sort_unstable();
    other.dedup();
    for o in &other {
        lines.push(Line::styled(format!("  {} (not on file){}", display_text(o), asked_about(o)), t));
    }
    if known.is_empty() && other.is_empty() {
        lines.push(Line::styled("  none on file or mentioned", dim));
    }
    let viewing = app.state.selected_view().map(|v| v.conversation.id.clone());
    let row = |c: &crate::desk::PastConversation| {
        let style = if c.status == Status::Escalated { app.theme.warn } else { t };
        let this = if viewing.as_ref() == Some(&c.id) { " (this conversation)" } else { "" };
        Line::styled(
            format!(
                "  {}{this} · {} · {} · {} · {}",
                c.id,
                c.channel,
                c.status.as_str(),
                when(c.updated_at),
                display_text(&c.summary)
            ),
            style,
        )
    };
    let open =
        |c: &&crate::desk::PastConversation| matches!(c.status, Status::Open | Status::Pending | Status::Escalated);
    lines.push(Line::default());
    lines.push(Line::styled("Open issues", app.theme.title));
    let open_now: Vec<_> = history.iter().filter(open).map(row).collect();
    if open_now.is_empty() {
        lines.push(Line::styled("  none", dim));
    }
    lines.extend(open_now);
    lines.push(Line::default());
    lines.push(Line::styled("Earlier conversations", app.theme.title));
    let earlier: Vec<_> = history.iter().filter(|c| !open(c)).map(row).collect();
    if earlier.is_empty() {
        lines.push(Line::styled("  none", dim));
    }
    lines.extend(earlier);
    lines
}
