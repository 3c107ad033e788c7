//! The demo channel: simulated Harbor & Pine customers from `assets/demo/scenarios.toml`.
//!
//! Each conversation opens at its `start` time; its first message follows a typing indicator.
//! Every later turn waits for an agent reply, then for its `delay` (plus a seeded jitter), shows
//! the typing indicator, and arrives. `speed` scales all times (2.0 = twice as fast).

use crate::desk::ports::{Channel, ChannelEvent, PortError};
use crate::desk::{
    Author, Conversation, ConversationId, Customer, CustomerId, Message, Millis, Priority, Status, Tier,
};
use anyhow::{Result, bail};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// The bundled scenarios.
pub const BUNDLED: &str = include_str!("../../assets/demo/scenarios.toml");

/// The latest start or longest delay a scenario may give (demo seconds: a day).
const MAX_DEMO_SECS: f64 = 86_400.0;

/// How long the typing indicator shows before a message (demo seconds).
const TYPING_SECS: f64 = 2.0;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub id: String,
    pub item: String,
    pub status: String,
    pub date: String,
    pub total: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCustomer {
    pub id: String,
    pub name: String,
    pub email: String,
    pub language: String,
    pub tier: Tier,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub orders: Vec<Order>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    pub text: String,
    /// Seconds after the agent's reply (ignored on the first turn).
    #[serde(default)]
    pub delay: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoConversation {
    pub id: String,
    pub customer: String,
    #[serde(default)]
    pub subject: String,
    pub priority: Priority,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub mood: String,
    pub start: f64,
    #[serde(rename = "turn")]
    pub turns: Vec<Turn>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenarios {
    #[serde(rename = "customer")]
    pub customers: Vec<DemoCustomer>,
    #[serde(rename = "conversation")]
    pub conversations: Vec<DemoConversation>,
}

impl Scenarios {
    /// Parses and checks scenarios; errors name the source and the offending entry.
    pub fn parse(text: &str, source: &str) -> Result<Self> {
        let s: Scenarios = toml::from_str(text).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        let mut ids = std::collections::HashSet::new();
        for c in &s.conversations {
            if !ids.insert(&c.id) {
                bail!("{source}: conversation {} is defined twice", c.id);
            }
            if !s.customers.iter().any(|k| k.id == c.customer) {
                bail!("{source}: conversation {} names unknown customer {}", c.id, c.customer);
            }
            if c.turns.is_empty() {
                bail!("{source}: conversation {} has no turns", c.id);
            }
            // Times become timers: NaN, negative or endless ones would never fire or fire at once.
            if !(c.start.is_finite() && (0.0..=MAX_DEMO_SECS).contains(&c.start)) {
                bail!("{source}: conversation {}: start = {} must be from 0 to {MAX_DEMO_SECS} seconds", c.id, c.start);
            }
            if let Some((i, t)) = c
                .turns
                .iter()
                .enumerate()
                .find(|(_, t)| !(t.delay.is_finite() && (0.0..=MAX_DEMO_SECS).contains(&t.delay)))
            {
                bail!(
                    "{source}: conversation {}, turn {}: delay = {} must be from 0 to {MAX_DEMO_SECS} seconds",
                    c.id,
                    i + 1,
                    t.delay
                );
            }
        }
        Ok(s)
    }

    pub fn bundled() -> Result<Self> {
        Self::parse(BUNDLED, "assets/demo/scenarios.toml")
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::knowledge::read_input(path)?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn customer(&self, id: &str) -> Option<&DemoCustomer> {
        self.customers.iter().find(|c| c.id == id)
    }
}

impl DemoCustomer {
    /// The domain profile, with the recent orders folded into the notes agents see.
    pub fn profile(&self) -> Customer {
        let mut notes = self.notes.clone();
        for o in &self.orders {
            if !notes.is_empty() {
                notes.push('\n');
            }
            notes.push_str(&format!("{} {} ({}, {}, {})", o.id, o.item, o.status, o.date, o.total));
        }
        Customer {
            id: CustomerId(self.id.clone()),
            name: self.name.clone(),
            email: self.email.clone(),
            language: self.language.clone(),
            tier: self.tier,
            notes,
        }
    }
}

/// Where one simulated conversation is.
#[derive(Debug, Clone)]
struct Cursor {
    /// Next turn to send.
    next: usize,
    /// When the next turn becomes due (demo ms), once known.
    due: Option<f64>,
    typing: bool,
    opened: bool,
}

/// The simulator. Time is the wall clock (ms) scaled by `speed` since `started`.
pub struct DemoChannel {
    scenarios: Scenarios,
    cursors: Vec<Cursor>,
    started: Millis,
    speed: f64,
    rng: u64,
    /// Prepended to scenario conversation ids (one demo session's ids never clash with another's).
    prefix: String,
    /// Agent replies received, per conversation (the transcript the simulated customer saw).
    pub delivered: HashMap<ConversationId, Vec<Message>>,
}

impl DemoChannel {
    pub fn new(scenarios: Scenarios, started: Millis, speed: f64, seed: u64) -> Self {
        let cursors = scenarios
            .conversations
            .iter()
            .map(|c| Cursor { next: 0, due: Some(c.start * 1000.0), typing: false, opened: false })
            .collect();
        Self {
            scenarios,
            cursors,
            started,
            speed: speed.max(0.01),
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            prefix: String::new(),
            delivered: HashMap::new(),
        }
    }

    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn index_of(&self, id: &ConversationId) -> Option<usize> {
        let bare = id.0.strip_prefix(self.prefix.as_str())?;
        self.scenarios.conversations.iter().position(|c| c.id == bare)
    }

    /// Resumes a conversation restored from the store: `sent` customer turns already happened.
    pub fn resume(&mut self, id: &ConversationId, sent: usize, awaiting_reply: bool) {
        if let Some(i) = self.index_of(id) {
            let c = &mut self.cursors[i];
            c.opened = true;
            c.next = sent;
            c.due = if awaiting_reply { None } else { Some(0.0) };
        }
    }

    fn demo_ms(&self, now: Millis) -> f64 {
        (now - self.started) as f64 * self.speed
    }

    fn real_ms(&self, demo_ms: f64) -> Millis {
        self.started + (demo_ms / self.speed) as Millis
    }

    /// A jitter of up to +-20% so runs with different seeds differ.
    fn jitter(&mut self, secs: f64) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng % 1000) as f64 / 1000.0;
        secs * (0.8 + 0.4 * unit)
    }

    /// True when every script has finished.
    pub fn finished(&self) -> bool {
        self.cursors.iter().zip(&self.scenarios.conversations).all(|(c, s)| c.next >= s.turns.len())
    }
}

impl Channel for DemoChannel {
    fn poll(&mut self, now: Millis) -> Vec<ChannelEvent> {
        let t = self.demo_ms(now);
        let mut out = Vec::new();
        for i in 0..self.cursors.len() {
            let script = &self.scenarios.conversations[i];
            let cursor = &self.cursors[i];
            let Some(due) = cursor.due else { continue };
            if cursor.next >= script.turns.len() {
                continue;
            }
            let id = ConversationId(format!("{}{}", self.prefix, script.id));
            if !cursor.opened && t >= due - TYPING_SECS * 1000.0 {
                let Some(customer) = self.scenarios.customer(&script.customer).map(DemoCustomer::profile) else {
                    continue;
                };
                let at = self.real_ms(due);
                let conversation = Conversation {
                    id: id.clone(),
                    customer: customer.id.clone(),
                    channel: "demo".into(),
                    status: Status::Open,
                    priority: script.priority,
                    tags: script.tags.clone(),
                    assignee: None,
                    created: at,
                    updated: at,
                };
                out.push(ChannelEvent::NewConversation {
                    conversation: Box::new(conversation),
                    customer: Box::new(customer),
                    history: Vec::new(),
                });
                self.cursors[i].opened = true;
            }
            let cursor = &self.cursors[i];
            if !cursor.typing && t >= due - TYPING_SECS * 1000.0 && t < due {
                out.push(ChannelEvent::Typing { conversation: id.clone(), typing: true });
                self.cursors[i].typing = true;
            }
            if t >= due {
                let text = script.turns[self.cursors[i].next].text.clone();
                let at = self.real_ms(due).min(now);
                out.push(ChannelEvent::Message { conversation: id, message: Message::customer(text, at) });
                let c = &mut self.cursors[i];
                c.next += 1;
                c.typing = false;
                c.due = None; // waits for the agent
            }
        }
        out
    }

    fn owns(&self, conversation: &ConversationId) -> bool {
        conversation.0.starts_with(&self.prefix)
    }

    fn deliver(&mut self, conversation: &ConversationId, message: &Message) -> Result<(), PortError> {
        if message.author != Author::Agent || message.internal {
            return Ok(());
        }
        self.delivered.entry(conversation.clone()).or_default().push(message.clone());
        let at = self.demo_ms(message.at);
        if let Some(i) = self.index_of(conversation) {
            let next = self.cursors[i].next;
            if let Some(turn) = self.scenarios.conversations[i].turns.get(next) {
                let delay = self.jitter(turn.delay.max(TYPING_SECS + 0.5));
                self.cursors[i].due = Some(at + delay * 1000.0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
[[customer]]
id = "c1"
name = "Ana"
email = "ana@example.com"
language = "en"
tier = "plus"

[[conversation]]
id = "T-1"
customer = "c1"
priority = "normal"
start = 3

[[conversation.turn]]
text = "hello"

[[conversation.turn]]
delay = 5
text = "thanks"
"#;

    #[test]
    fn bundled_scenarios_parse() {
        let s = Scenarios::bundled().expect("bundled scenarios");
        assert!(s.conversations.len() >= 12);
        assert!(s.customers.iter().filter(|c| c.language == "zh").count() >= 2);
    }

    #[test]
    fn timeline_follows_the_agent() {
        let s = Scenarios::parse(SMALL, "test").expect("parse");
        let mut ch = DemoChannel::new(s, 0, 1.0, 1);
        assert!(ch.poll(500).is_empty());
        let ev = ch.poll(1500);
        assert!(matches!(ev[0], ChannelEvent::NewConversation { .. }));
        assert!(matches!(ev[1], ChannelEvent::Typing { typing: true, .. }));
        let ev = ch.poll(3000);
        assert!(matches!(&ev[0], ChannelEvent::Message { message, .. } if message.text == "hello"));
        // Nothing more until the agent replies.
        assert!(ch.poll(60_000).is_empty());
        ch.deliver(&"T-1".into(), &Message::agent("hi!", 60_000)).expect("deliver");
        assert!(ch.poll(61_000).is_empty());
        let ev = ch.poll(70_000);
        assert!(ev.iter().any(|e| matches!(e, ChannelEvent::Message { message, .. } if message.text == "thanks")));
        assert!(ch.finished());
    }

    #[test]
    fn speed_scales_time() {
        let s = Scenarios::parse(SMALL, "test").expect("parse");
        let mut ch = DemoChannel::new(s, 0, 10.0, 1);
        assert!(ch.poll(300).iter().any(|e| matches!(e, ChannelEvent::Message { .. })));
    }

    #[test]
    fn bad_scenarios_name_the_problem() {
        let err =
            Scenarios::parse(&SMALL.replace("customer = \"c1\"", "customer = \"nobody\""), "x.toml").expect_err("bad");
        assert!(err.to_string().contains("x.toml: conversation T-1 names unknown customer nobody"), "{err}");
    }
}
