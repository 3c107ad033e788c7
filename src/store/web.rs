//! The web chat channel's rows: customer tokens, idempotent customer messages, and the tail that
//! the server and the console read (by message id, which only grows).

use super::{Result, SqliteStore};
use crate::desk::{Author, Conversation, ConversationId, Customer, Millis, Status};
use rusqlite::{OptionalExtension, params};

/// The channel name web conversations carry.
pub const WEB: &str = "web";

/// A message as the web channel sees it: with its store id, the cursor clients resume from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WebMessage {
    pub id: i64,
    #[serde(skip)]
    pub conversation: ConversationId,
    pub author: Author,
    pub text: String,
    pub at: Millis,
    /// The page's own id for a customer message, so it can match its pending copy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// One customer message to append (idempotent on `client_id`).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation: ConversationId,
    pub text: String,
    pub at: Millis,
    pub client_id: Option<String>,
}

/// A new web conversation to store.
#[derive(Debug, Clone)]
pub struct WebStart {
    pub customer: Customer,
    pub conversation: Conversation,
    pub token_sha256: String,
    pub first: NewMessage,
}

/// What appending one message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub id: i64,
    /// The same `client_id` had been stored already: nothing new was written.
    pub duplicate: bool,
}

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WebMessage> {
    let author: String = r.get(2)?;
    Ok(WebMessage {
        id: r.get(0)?,
        conversation: ConversationId(r.get(1)?),
        author: Author::parse(&author).unwrap_or(Author::System),
        text: r.get(3)?,
        at: r.get(4)?,
        client_id: r.get(5)?,
    })
}

impl SqliteStore {
    /// Stores new web conversations (each with its customer, the token's hash and the first
    /// message) in one transaction. A known customer keeps their tier and notes.
    pub fn start_web_conversations(&mut self, batch: &[WebStart]) -> Result<Vec<Appended>> {
        self.in_one_transaction(batch, insert_start)
    }

    /// Appends customer messages in one transaction (one commit for the whole batch). A message
    /// whose `client_id` is already stored is not written again: its first id comes back.
    pub fn append_customer_messages(&mut self, batch: &[NewMessage]) -> Result<Vec<Appended>> {
        self.in_one_transaction(batch, insert_message)
    }

    fn in_one_transaction<T>(
        &mut self,
        batch: &[T],
        insert: impl Fn(&rusqlite::Transaction<'_>, &T) -> rusqlite::Result<Appended>,
    ) -> Result<Vec<Appended>> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| super::classify(&path, e))?;
        let out = batch.iter().map(|item| insert(&tx, item)).collect::<rusqlite::Result<Vec<_>>>();
        let out = out.map_err(|e| super::classify(&path, e))?;
        tx.commit().map_err(|e| super::classify(&path, e))?;
        Ok(out)
    }

    /// The SHA-256 of a web conversation's customer token.
    pub fn web_token(&self, conversation: &ConversationId) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT token_sha256 FROM web_sessions WHERE conversation_id = ?1", [&conversation.0], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Records that the customer is typing now.
    pub fn set_customer_typing(&mut self, conversation: &ConversationId, at: Millis) -> Result<()> {
        self.conn
            .execute(
                "UPDATE web_sessions SET customer_typing_ms = ?2 WHERE conversation_id = ?1",
                params![conversation.0, at],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Messages of web conversations the customer may see (no internal notes) with an id above
    /// `after`, oldest first; one conversation's, or every web conversation's.
    pub fn web_messages_after(
        &self,
        conversation: Option<&ConversationId>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<WebMessage>> {
        let sql = "SELECT m.id, m.conversation_id, m.author, m.text, m.at_ms, m.client_id FROM messages m
                   JOIN conversations c ON c.id = m.conversation_id
                   WHERE m.id > ?1 AND m.internal = 0 AND c.channel = 'web' AND (?2 IS NULL OR m.conversation_id = ?2)
                   ORDER BY m.id LIMIT ?3";
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![after, conversation.map(|c| c.0.as_str()), limit as i64], message_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// The highest message id stored (0 when none): where a tail starts.
    pub fn last_message_id(&self) -> Result<i64> {
        self.conn.query_row("SELECT COALESCE(MAX(id), 0) FROM messages", [], |r| r.get(0)).map_err(|e| self.err(e))
    }

    /// Web conversations changed at or after `since`: (id, status, updated).
    pub fn web_changes_since(&self, since: Millis) -> Result<Vec<(ConversationId, Status, Millis)>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, status, updated_ms FROM conversations WHERE channel = 'web' AND updated_ms >= ?1",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([since], |r| {
                let s: String = r.get(1)?;
                Ok((ConversationId(r.get(0)?), Status::parse(&s).unwrap_or(Status::Open), r.get(2)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// Web conversations whose agent has unsent text in the editor saved at or after `since`
    /// (the console autosaves as the agent types): the customer sees "typing".
    pub fn web_agent_typing(&self, since: Millis) -> Result<Vec<ConversationId>> {
        self.id_list(
            "SELECT a.conversation_id FROM autosaves a JOIN conversations c ON c.id = a.conversation_id
             WHERE c.channel = 'web' AND a.at_ms >= ?1 AND length(trim(a.text)) > 0",
            since,
        )
    }

    /// Web conversations whose customer typed at or after `since`.
    pub fn web_customer_typing(&self, since: Millis) -> Result<Vec<ConversationId>> {
        self.id_list("SELECT conversation_id FROM web_sessions WHERE customer_typing_ms >= ?1", since)
    }

    fn id_list(&self, sql: &str, since: Millis) -> Result<Vec<ConversationId>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([since], |r| Ok(ConversationId(r.get(0)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }
}

/// A web conversation as the console opens it: the row, its customer and its messages (internal
/// notes included) with an id below `before`.
pub type Opened = (Conversation, Option<Customer>, Vec<crate::desk::Message>);

impl SqliteStore {
    /// The console's start: every unfinished web conversation with its messages, and the newest
    /// message id, read in one snapshot (what arrives later comes from the tail, once).
    pub fn web_snapshot(&self) -> Result<(Vec<Opened>, i64)> {
        let tx = self.conn.unchecked_transaction().map_err(|e| self.err(e))?;
        let cursor = self.last_message_id()?;
        let mut out = Vec::new();
        for c in self.conversations()?.into_iter().filter(|c| c.channel == WEB) {
            if matches!(c.status, Status::Resolved) {
                continue;
            }
            let messages = self.web_history(&c.id, cursor + 1)?;
            let customer = self.customer(&c.customer.0)?;
            out.push((c, customer, messages));
        }
        tx.finish().map_err(|e| self.err(e))?;
        Ok((out, cursor))
    }

    /// A conversation's messages (internal notes included) with an id below `before`.
    pub fn web_history(&self, conversation: &ConversationId, before: i64) -> Result<Vec<crate::desk::Message>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT author, internal, text, at_ms FROM messages WHERE conversation_id = ?1 AND id < ?2 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![conversation.0, before], |r| {
                let author: String = r.get(0)?;
                Ok(crate::desk::Message {
                    author: Author::parse(&author).unwrap_or(Author::System),
                    internal: r.get(1)?,
                    text: r.get(2)?,
                    at: r.get(3)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }
}

fn insert_start(tx: &rusqlite::Transaction<'_>, s: &WebStart) -> rusqlite::Result<Appended> {
    let (customer, conversation) = (&s.customer, &s.conversation);
    tx.execute(
        "INSERT INTO customers (id, name, email, language, tier, notes) VALUES (?1, ?2, ?3, ?4, 'standard', '')
         ON CONFLICT(id) DO UPDATE SET name = ?2, language = ?4",
        params![customer.id.0, customer.name, customer.email, customer.language],
    )?;
    tx.execute(
        "INSERT INTO conversations (id, customer_id, channel, status, priority, tags, assignee, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?7)",
        params![
            conversation.id.0,
            conversation.customer.0,
            WEB,
            conversation.status.as_str(),
            conversation.priority.as_str(),
            serde_json::to_string(&conversation.tags).unwrap_or_else(|_| "[]".into()),
            conversation.created
        ],
    )?;
    tx.execute(
        "INSERT INTO web_sessions (conversation_id, token_sha256, created_ms) VALUES (?1, ?2, ?3)",
        params![conversation.id.0, s.token_sha256, conversation.created],
    )?;
    insert_message(tx, &s.first)
}

fn insert_message(tx: &rusqlite::Transaction<'_>, m: &NewMessage) -> rusqlite::Result<Appended> {
    if let Some(client) = &m.client_id {
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM messages WHERE conversation_id = ?1 AND client_id = ?2",
                params![m.conversation.0, client],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            return Ok(Appended { id, duplicate: true });
        }
    }
    tx.execute(
        "INSERT INTO messages (conversation_id, author, internal, text, at_ms, agent, client_id)
         VALUES (?1, 'customer', 0, ?2, ?3, '', ?4)",
        params![m.conversation.0, m.text, m.at, m.client_id],
    )?;
    let id = tx.last_insert_rowid();
    // A customer writing again reopens a resolved conversation.
    tx.execute(
        "UPDATE conversations SET updated_ms = MAX(updated_ms, ?2),
         status = CASE WHEN status = 'resolved' THEN 'open' ELSE status END WHERE id = ?1",
        params![m.conversation.0, m.at],
    )?;
    Ok(Appended { id, duplicate: false })
}
