//! Plain domain types. Times are Unix milliseconds ([`Millis`]) so the core needs no clock crate.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;

/// Unix time in milliseconds.
pub type Millis = i64;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type!(
    /// A customer's stable id (e.g. `cus-0001`).
    CustomerId
);
id_type!(
    /// A conversation (ticket) id (e.g. `T-1042`).
    ConversationId
);

/// Identifies one retrieval or generation request; answers carrying an older id are stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "req-{}", self.0)
    }
}

/// Customer tier, used to personalise replies and to order the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    #[default]
    Standard,
    /// Harbor+ members.
    Plus,
    Business,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
    pub email: String,
    /// BCP-47-ish language code: `en`, `zh`.
    pub language: String,
    pub tier: Tier,
    /// Free-form notes agents keep about the customer.
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Pending,
    Resolved,
    Escalated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Resolved => "resolved",
            Status::Escalated => "escalated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Status::Open,
            "pending" => Status::Pending,
            "resolved" => Status::Resolved,
            "escalated" => Status::Escalated,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "low" => Priority::Low,
            "normal" => Priority::Normal,
            "high" => Priority::High,
            "urgent" => Priority::Urgent,
            _ => return None,
        })
    }
}

/// A ticket: one conversation with one customer on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub customer: CustomerId,
    /// Where it came from: `demo`, `web`, `email`...
    pub channel: String,
    pub status: Status,
    pub priority: Priority,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    pub created: Millis,
    pub updated: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    Customer,
    Agent,
    System,
}

impl Author {
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Customer => "customer",
            Author::Agent => "agent",
            Author::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "customer" => Author::Customer,
            "agent" => Author::Agent,
            "system" => Author::System,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub author: Author,
    /// Internal notes are visible to agents only, never sent to the customer.
    #[serde(default)]
    pub internal: bool,
    pub text: String,
    pub at: Millis,
}

impl Message {
    pub fn customer(text: impl Into<String>, at: Millis) -> Self {
        Self { author: Author::Customer, internal: false, text: text.into(), at }
    }

    pub fn agent(text: impl Into<String>, at: Millis) -> Self {
        Self { author: Author::Agent, internal: false, text: text.into(), at }
    }
}

/// A knowledge-base passage as retrieval returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    /// Article slug, e.g. `return-policy` or `zh/return-policy`.
    pub slug: String,
    pub title: String,
    /// Heading path inside the article, outermost first.
    pub section: Vec<String>,
    pub text: String,
    pub score: f32,
    /// Byte ranges in `text` that matched the query.
    pub highlights: Vec<Range<usize>>,
}

/// What retrieval found for one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrieval {
    /// The best passage of each of the top articles, best first (what the knowledge pane shows).
    pub passages: Vec<Passage>,
    /// The top passages as ranked, several per article allowed, the current question's best first
    /// (what a drafter reads). Empty means: use `passages`.
    #[serde(default)]
    pub evidence: Vec<Passage>,
    /// Calibrated 0..1: how likely the top passage answers the question.
    pub confidence: f32,
    /// Meaning vectors of the question and of the evidence's sentences, when the sentence
    /// encoder is loaded: what the drafter's answer selector reads. Not stored.
    #[serde(skip)]
    pub vectors: Option<std::sync::Arc<MeaningVectors>>,
    /// What the customer's turn is about, when an intent classifier for this KB is loaded.
    #[serde(default)]
    pub intent: Option<Intent>,
}

/// A turn's intent: the KB article that answers it (its topic), the article's category, and
/// the classifier's probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub topic: String,
    pub category: String,
    pub p: f32,
}

impl Intent {
    /// `category/topic`, as the console tags a conversation.
    pub fn label(&self) -> String {
        if self.category.is_empty() { self.topic.clone() } else { format!("{}/{}", self.category, self.topic) }
    }
}

impl Retrieval {
    /// The passages a drafter reads: the evidence, else the pane's passages.
    pub fn drafter_passages(&self) -> &[Passage] {
        if self.evidence.is_empty() { &self.passages } else { &self.evidence }
    }
}

/// Unit vectors from the sentence encoder (its cosine measures closeness of meaning).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeaningVectors {
    /// The latest customer turn.
    pub latest: Vec<f32>,
    /// The turns before it, when there are any.
    pub earlier: Option<Vec<f32>>,
    /// Sentence text (a passage split as `semantic::dense::sentences` does) -> its vector.
    pub sentences: std::collections::HashMap<String, Vec<f32>>,
    /// `Some([a, b])` when these are the multilingual encoder's (a Chinese question): their space
    /// is another, so the selector reads only the cosines, a cosine `c` as `a * c + b` (which puts
    /// it on the English encoder's scale). `None`: the English encoder's.
    pub multilingual: Option<[f32; 2]>,
}

/// What the agent did with a generated draft when the reply was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftOutcome {
    SentAsIs,
    Edited,
    Rewritten,
    Discarded,
}

impl DraftOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DraftOutcome::SentAsIs => "sent_as_is",
            DraftOutcome::Edited => "edited",
            DraftOutcome::Rewritten => "rewritten",
            DraftOutcome::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sent_as_is" => DraftOutcome::SentAsIs,
            "edited" => DraftOutcome::Edited,
            "rewritten" => DraftOutcome::Rewritten,
            "discarded" => DraftOutcome::Discarded,
            _ => return None,
        })
    }
}

/// Milliseconds spent in each stage of producing a draft.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DraftTimings {
    pub retrieval_ms: f64,
    pub first_token_ms: f64,
    pub total_ms: f64,
    pub tokens: u32,
}

/// An article a draft drew on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub slug: String,
    pub title: String,
}

/// A generated reply and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub conversation: ConversationId,
    pub request: RequestId,
    /// The text exactly as the generator produced it.
    pub generated: String,
    pub sources: Vec<Source>,
    pub model_version: String,
    pub timings: DraftTimings,
    /// The text the agent actually sent (None until sent or discarded).
    pub final_text: Option<String>,
    pub outcome: Option<DraftOutcome>,
}

/// What an agent did with a suggestion; stored as events for supervisors and evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionEvent {
    /// A draft was shown to the agent.
    Shown,
    /// An offered draft replaced the agent's text (older stores; new ones record `Swapped`).
    Inserted,
    Regenerated,
    Sent,
    Discarded,
    /// Passages were shown in the knowledge pane (detail: their slugs).
    PassageShown,
    /// The agent opened a passage's article (detail: the slug).
    PassageOpened,
    /// The agent inserted a passage or its best sentence into the reply (detail: the slug).
    PassageInserted,
    /// The agent swapped an offered new draft into the editor.
    Swapped,
    /// The agent first changed a draft the assistant had put into the editor.
    Edited,
    /// No passage answered the customer's question confidently (detail: the question).
    KbGap,
    /// A reply went to the approval queue instead of the customer.
    Queued,
}

impl SuggestionEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionEvent::Shown => "shown",
            SuggestionEvent::Inserted => "inserted",
            SuggestionEvent::Regenerated => "regenerated",
            SuggestionEvent::Sent => "sent",
            SuggestionEvent::Discarded => "discarded",
            SuggestionEvent::PassageShown => "passage_shown",
            SuggestionEvent::PassageOpened => "passage_opened",
            SuggestionEvent::PassageInserted => "passage_inserted",
            SuggestionEvent::Swapped => "swapped",
            SuggestionEvent::Edited => "edited",
            SuggestionEvent::KbGap => "kb_gap",
            SuggestionEvent::Queued => "queued",
        }
    }
}

/// One of a customer's conversations, as the profile panel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastConversation {
    pub id: ConversationId,
    pub status: Status,
    pub channel: String,
    pub updated_at: Millis,
    /// One line: the situation, what was done, what is open.
    pub summary: String,
    /// Order numbers the customer gave in it.
    pub orders: Vec<String>,
}

/// What a key detail in a customer's message is (found by `understand::details`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DetailKind {
    Order,
    Tracking,
    Email,
    Phone,
    Amount,
    Model,
    Date,
}

impl DetailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DetailKind::Order => "order",
            DetailKind::Tracking => "tracking",
            DetailKind::Email => "email",
            DetailKind::Phone => "phone",
            DetailKind::Amount => "amount",
            DetailKind::Model => "model",
            DetailKind::Date => "date",
        }
    }
}

/// One detail: as written, and normalised (an amount as `USD 49.00`, a date as `2026-11-24`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    pub kind: DetailKind,
    pub text: String,
    pub value: String,
}
