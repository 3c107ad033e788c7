//! Reading and writing domain records; implements the [`crate::desk::ports::Store`] port.

use super::{Result, SqliteStore};
use crate::desk::ports::{PortError, Store};
use crate::desk::{
    Author, Conversation, ConversationId, Customer, Draft, DraftOutcome, DraftTimings, Message, Millis, Priority,
    RequestId, Status, SuggestionEvent, Tier,
};
use rusqlite::{OptionalExtension, Row, params};

/// A draft as stored, with its row id (what reviews refer to).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDraft {
    pub id: i64,
    pub draft: Draft,
    pub created: Millis,
}

/// A supervisor's review of a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub draft_id: i64,
    pub reviewer: String,
    /// `approved`, `coach` or `flag`.
    pub verdict: String,
    pub comment: String,
    pub at: Millis,
}

fn tier_str(t: Tier) -> &'static str {
    match t {
        Tier::Standard => "standard",
        Tier::Plus => "plus",
        Tier::Business => "business",
    }
}

fn parse_tier(s: &str) -> Tier {
    match s {
        "plus" => Tier::Plus,
        "business" => Tier::Business,
        _ => Tier::Standard,
    }
}

/// A text column holding an enum value this build does not know.
fn bad_value(column: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {column} value {value:?}").into(),
    )
}

const CONVERSATION_COLUMNS: &str = "id, customer_id, channel, status, priority, tags, assignee, created_ms, updated_ms";

fn conversation_row(r: &Row<'_>) -> rusqlite::Result<Conversation> {
    let status: String = r.get(3)?;
    let priority: String = r.get(4)?;
    Ok(Conversation {
        id: ConversationId(r.get(0)?),
        customer: crate::desk::CustomerId(r.get(1)?),
        channel: r.get(2)?,
        status: Status::parse(&status).ok_or_else(|| bad_value("status", &status))?,
        priority: Priority::parse(&priority).ok_or_else(|| bad_value("priority", &priority))?,
        tags: json_col(r, 5)?,
        assignee: r.get(6)?,
        created: r.get(7)?,
        updated: r.get(8)?,
    })
}

fn json_col<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

fn draft_from_row(row: &Row<'_>) -> rusqlite::Result<StoredDraft> {
    let outcome: Option<String> = row.get(11)?;
    let outcome = match outcome {
        Some(o) => Some(DraftOutcome::parse(&o).ok_or_else(|| bad_value("outcome", &o))?),
        None => None,
    };
    Ok(StoredDraft {
        id: row.get(0)?,
        draft: Draft {
            conversation: ConversationId(row.get(1)?),
            request: RequestId(row.get::<_, i64>(2)? as u64),
            generated: row.get(3)?,
            sources: json_col(row, 4)?,
            model_version: row.get(5)?,
            timings: DraftTimings {
                retrieval_ms: row.get(6)?,
                first_token_ms: row.get(7)?,
                total_ms: row.get(8)?,
                tokens: row.get(9)?,
            },
            final_text: row.get(10)?,
            outcome,
        },
        created: row.get(12)?,
    })
}

impl SqliteStore {
    pub fn put_customer(&mut self, c: &Customer) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO customers (id, name, email, language, tier, notes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(id) DO UPDATE SET name = ?2, email = ?3, language = ?4, tier = ?5, notes = ?6",
                params![c.id.0, c.name, c.email, c.language, tier_str(c.tier), c.notes],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn customer(&self, id: &str) -> Result<Option<Customer>> {
        self.conn
            .query_row("SELECT id, name, email, language, tier, notes FROM customers WHERE id = ?1", [id], |r| {
                Ok(Customer {
                    id: crate::desk::CustomerId(r.get(0)?),
                    name: r.get(1)?,
                    email: r.get(2)?,
                    language: r.get(3)?,
                    tier: parse_tier(&r.get::<_, String>(4)?),
                    notes: r.get(5)?,
                })
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn put_conversation(&mut self, c: &Conversation) -> Result<()> {
        let tags = serde_json::to_string(&c.tags).unwrap_or_else(|_| "[]".into());
        self.conn
            .execute(
                "INSERT INTO conversations (id, customer_id, channel, status, priority, tags, assignee, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT(id) DO UPDATE SET status = ?4, priority = ?5, tags = ?6, assignee = ?7, updated_ms = ?9",
                params![
                    c.id.0,
                    c.customer.0,
                    c.channel,
                    c.status.as_str(),
                    c.priority.as_str(),
                    tags,
                    c.assignee,
                    c.created,
                    c.updated
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn set_status(&mut self, id: &ConversationId, status: Status, at: Millis) -> Result<()> {
        self.conn
            .execute(
                "UPDATE conversations SET status = ?2, updated_ms = ?3 WHERE id = ?1",
                params![id.0, status.as_str(), at],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn set_priority(&mut self, id: &ConversationId, priority: crate::desk::Priority) -> Result<()> {
        self.conn
            .execute("UPDATE conversations SET priority = ?2 WHERE id = ?1", params![id.0, priority.as_str()])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// All conversations, most recently updated first.
    pub fn conversations(&self) -> Result<Vec<Conversation>> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations ORDER BY updated_ms DESC, id"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], conversation_row).and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// A customer's conversations, most recently updated first, at most `limit`.
    pub fn conversations_of(&self, customer: &str, limit: usize) -> Result<Vec<Conversation>> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE customer_id = ?1 ORDER BY updated_ms DESC, id LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params![customer, limit as i64], conversation_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// One conversation, if it exists.
    pub fn conversation(&self, id: &ConversationId) -> Result<Option<Conversation>> {
        self.conn
            .query_row(
                &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1"),
                [&id.0],
                conversation_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    pub fn add_message(&mut self, conversation: &ConversationId, m: &Message) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO messages (conversation_id, author, internal, text, at_ms, agent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    conversation.0,
                    m.author.as_str(),
                    m.internal,
                    m.text,
                    m.at,
                    if m.author == Author::Agent { self.agent.as_str() } else { "" }
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn messages(&self, conversation: &ConversationId) -> Result<Vec<Message>> {
        let mut stmt = self
            .conn
            .prepare("SELECT author, internal, text, at_ms FROM messages WHERE conversation_id = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([&conversation.0], |r| {
                let author: String = r.get(0)?;
                Ok(Message {
                    author: Author::parse(&author).ok_or_else(|| bad_value("author", &author))?,
                    internal: r.get(1)?,
                    text: r.get(2)?,
                    at: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// The highest request id any draft or event holds (0 for a new store): a new run continues
    /// after it, so every draft keeps its own row.
    pub fn last_request_id(&self) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT MAX(COALESCE((SELECT MAX(request_id) FROM drafts), 0),
                            COALESCE((SELECT MAX(request_id) FROM events), 0))",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.err(e))
    }

    /// Inserts a draft, or updates its final text and outcome when the same request is saved again.
    /// Records the agent, when it was shown, and once sent the send time and the word-level edit
    /// distance between the draft and the sent text.
    pub fn put_draft(&mut self, d: &Draft) -> Result<i64> {
        let now = crate::util::now_ms();
        let sources = serde_json::to_string(&d.sources).unwrap_or_else(|_| "[]".into());
        self.conn
            .query_row(
                "INSERT INTO drafts (conversation_id, request_id, generated, sources, model_version, retrieval_ms,
                     first_token_ms, total_ms, tokens, final_text, outcome, created_ms, agent, shown_ms,
                     edit_distance, sent_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?12, ?14, ?15)
                 ON CONFLICT(conversation_id, request_id) DO UPDATE SET final_text = ?10, outcome = ?11,
                     edit_distance = ?14, sent_ms = ?15
                 RETURNING id",
                params![
                    d.conversation.0,
                    d.request.0 as i64,
                    d.generated,
                    sources,
                    d.model_version,
                    d.timings.retrieval_ms,
                    d.timings.first_token_ms,
                    d.timings.total_ms,
                    d.timings.tokens,
                    d.final_text,
                    d.outcome.map(DraftOutcome::as_str),
                    now,
                    self.agent,
                    d.final_text.as_deref().map(|f| crate::review::diff::edit_distance(&d.generated, f)),
                    d.final_text.is_some().then_some(now),
                ],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Drafts of one conversation, or of all when `conversation` is None, oldest first.
    pub fn drafts(&self, conversation: Option<&ConversationId>) -> Result<Vec<StoredDraft>> {
        let sql = "SELECT id, conversation_id, request_id, generated, sources, model_version, retrieval_ms,
                          first_token_ms, total_ms, tokens, final_text, outcome, created_ms
                   FROM drafts WHERE ?1 IS NULL OR conversation_id = ?1 ORDER BY id";
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([conversation.map(|c| c.0.as_str())], draft_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    pub fn add_event(
        &mut self,
        conversation: &ConversationId,
        request: Option<RequestId>,
        event: SuggestionEvent,
        at: Millis,
    ) -> Result<()> {
        self.add_event_detail(conversation, request, event, "", at)
    }

    /// An event with a detail: the passage's slug, or the question no passage answered.
    pub fn add_event_detail(
        &mut self,
        conversation: &ConversationId,
        request: Option<RequestId>,
        event: SuggestionEvent,
        detail: &str,
        at: Millis,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO events (conversation_id, request_id, event, at_ms, agent, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![conversation.0, request.map(|r| r.0 as i64), event.as_str(), at, self.agent, detail],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Event names of a conversation, oldest first.
    pub fn events(&self, conversation: &ConversationId) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT event FROM events WHERE conversation_id = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([&conversation.0], |r| r.get(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>());
        rows.map_err(|e| self.err(e))
    }

    pub fn add_review(&mut self, r: &Review) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO reviews (draft_id, reviewer, verdict, comment, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![r.draft_id, r.reviewer, r.verdict, r.comment, r.at],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn reviews(&self, draft_id: i64) -> Result<Vec<Review>> {
        let mut stmt = self
            .conn
            .prepare("SELECT draft_id, reviewer, verdict, comment, at_ms FROM reviews WHERE draft_id = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([draft_id], |r| {
                Ok(Review {
                    draft_id: r.get(0)?,
                    reviewer: r.get(1)?,
                    verdict: r.get(2)?,
                    comment: r.get(3)?,
                    at: r.get(4)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// Saves the editor's text so it survives a crash.
    pub fn put_autosave(&mut self, conversation: &ConversationId, text: &str, at: Millis) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO autosaves (conversation_id, text, at_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(conversation_id) DO UPDATE SET text = ?2, at_ms = ?3",
                params![conversation.0, text, at],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn delete_autosave(&mut self, conversation: &ConversationId) -> Result<()> {
        self.conn
            .execute("DELETE FROM autosaves WHERE conversation_id = ?1", [&conversation.0])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every saved editor text, to restore after a restart.
    pub fn autosaves(&self) -> Result<Vec<(ConversationId, String, Millis)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT conversation_id, text, at_ms FROM autosaves ORDER BY conversation_id")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((ConversationId(r.get(0)?), r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }
}

fn port<T>(r: Result<T>) -> std::result::Result<(), PortError> {
    r.map(drop).map_err(|e| Box::new(e) as PortError)
}

impl Store for SqliteStore {
    fn save_customer(&mut self, customer: &Customer) -> std::result::Result<(), PortError> {
        port(self.put_customer(customer))
    }
    fn save_conversation(&mut self, conversation: &Conversation) -> std::result::Result<(), PortError> {
        port(self.put_conversation(conversation))
    }
    fn append_message(
        &mut self,
        conversation: &ConversationId,
        message: &Message,
    ) -> std::result::Result<(), PortError> {
        port(self.add_message(conversation, message))
    }
    fn save_draft(&mut self, draft: &Draft) -> std::result::Result<(), PortError> {
        port(self.put_draft(draft))
    }
    fn record_event(
        &mut self,
        conversation: &ConversationId,
        request: Option<RequestId>,
        event: SuggestionEvent,
        at: Millis,
    ) -> std::result::Result<(), PortError> {
        port(self.add_event(conversation, request, event, at))
    }
    fn autosave(
        &mut self,
        conversation: &ConversationId,
        text: &str,
        at: Millis,
    ) -> std::result::Result<(), PortError> {
        port(self.put_autosave(conversation, text, at))
    }
    fn clear_autosave(&mut self, conversation: &ConversationId) -> std::result::Result<(), PortError> {
        port(self.delete_autosave(conversation))
    }
}
