//! Erasure and retention: every row a conversation left (messages, drafts and their reviews and
//! coaching notes, events, approvals, autosaves, web sessions), deleted with SQLite's
//! `secure_delete` so the bytes are overwritten, or anonymised in place; and the export log
//! that says which conversations left the store, and how.

use super::{Result, SqliteStore};
use crate::desk::{ConversationId, Customer, CustomerId, Millis};
use rusqlite::params;
use serde::Serialize;

/// Rows removed (or, when anonymising, rewritten), per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub conversations: usize,
    pub messages: usize,
    pub drafts: usize,
    pub reviews: usize,
    pub coaching_notes: usize,
    pub events: usize,
    pub approvals: usize,
    pub autosaves: usize,
    pub web_sessions: usize,
    pub customers: usize,
}

impl Erased {
    pub fn total(&self) -> usize {
        self.conversations
            + self.messages
            + self.drafts
            + self.reviews
            + self.coaching_notes
            + self.events
            + self.approvals
            + self.autosaves
            + self.web_sessions
            + self.customers
    }

    fn add(&mut self, o: &Erased) {
        self.conversations += o.conversations;
        self.messages += o.messages;
        self.drafts += o.drafts;
        self.reviews += o.reviews;
        self.coaching_notes += o.coaching_notes;
        self.events += o.events;
        self.approvals += o.approvals;
        self.autosaves += o.autosaves;
        self.web_sessions += o.web_sessions;
        self.customers += o.customers;
    }
}

/// One recorded export: when, by whom, what, where to, masked or not, and the conversations in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportRecord {
    pub id: i64,
    pub at: Millis,
    pub agent: String,
    pub what: String,
    pub destination: String,
    pub masked: bool,
    pub conversations: Vec<String>,
}

impl SqliteStore {
    /// Customers with this e-mail address (compared without case or surrounding spaces).
    pub fn customers_by_email(&self, email: &str) -> Result<Vec<Customer>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM customers WHERE lower(trim(email)) = lower(trim(?1)) ORDER BY id")
            .map_err(|e| self.err(e))?;
        let ids: Vec<String> =
            stmt.query_map([email], |r| r.get(0)).and_then(Iterator::collect).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.customer(&id)?);
        }
        Ok(out)
    }

    /// Conversations in which a customer message contains `needle` (without case).
    pub fn conversations_mentioning(&self, needle: &str) -> Result<Vec<ConversationId>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT conversation_id FROM messages
                 WHERE author = 'customer' AND instr(lower(text), lower(?1)) > 0 ORDER BY conversation_id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map([needle], |r| Ok(ConversationId(r.get(0)?))).and_then(Iterator::collect).map_err(|e| self.err(e))
    }

    /// The conversations of a customer, oldest first.
    pub fn conversation_ids_of(&self, customer: &CustomerId) -> Result<Vec<ConversationId>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM conversations WHERE customer_id = ?1 ORDER BY created_ms, id")
            .map_err(|e| self.err(e))?;
        stmt.query_map([&customer.0], |r| Ok(ConversationId(r.get(0)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// Resolved conversations last changed before `before`; with `include_anonymised` false,
    /// those already anonymised are left out.
    pub fn resolved_before(&self, before: Millis, include_anonymised: bool) -> Result<Vec<ConversationId>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id FROM conversations WHERE status = 'resolved' AND updated_ms < ?1
                 AND (?2 OR anonymised_ms IS NULL) ORDER BY updated_ms, id",
            )
            .map_err(|e| self.err(e))?;
        stmt.query_map(params![before, include_anonymised], |r| Ok(ConversationId(r.get(0)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))
    }

    /// Deletes the conversations and every row they left, in one transaction, overwriting the
    /// freed bytes (`secure_delete`). Customers left with no conversation are deleted too when
    /// `customers` lists them.
    pub fn purge(&mut self, ids: &[ConversationId], customers: &[CustomerId]) -> Result<Erased> {
        self.conn.execute_batch("PRAGMA secure_delete = ON").map_err(|e| self.err(e))?;
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| super::classify(&path, e))?;
        let err = |e| super::classify(&path, e);
        let mut total = Erased::default();
        for id in ids {
            let c = &id.0;
            let drafts = "SELECT id FROM drafts WHERE conversation_id = ?1";
            let n = Erased {
                reviews: tx.execute(&format!("DELETE FROM reviews WHERE draft_id IN ({drafts})"), [c]).map_err(err)?,
                coaching_notes: tx
                    .execute(&format!("DELETE FROM coaching_notes WHERE draft_id IN ({drafts})"), [c])
                    .map_err(err)?,
                drafts: tx.execute("DELETE FROM drafts WHERE conversation_id = ?1", [c]).map_err(err)?,
                messages: tx.execute("DELETE FROM messages WHERE conversation_id = ?1", [c]).map_err(err)?,
                events: tx.execute("DELETE FROM events WHERE conversation_id = ?1", [c]).map_err(err)?,
                approvals: tx.execute("DELETE FROM approvals WHERE conversation_id = ?1", [c]).map_err(err)?,
                autosaves: tx.execute("DELETE FROM autosaves WHERE conversation_id = ?1", [c]).map_err(err)?,
                web_sessions: tx.execute("DELETE FROM web_sessions WHERE conversation_id = ?1", [c]).map_err(err)?,
                conversations: tx.execute("DELETE FROM conversations WHERE id = ?1", [c]).map_err(err)?,
                customers: 0,
            };
            total.add(&n);
        }
        total.customers += delete_orphans(&tx, customers.iter()).map_err(err)?;
        forget_in_exports(&tx, ids).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(total)
    }

    /// Anonymises the conversations in place: every text `mask` rewrites (personal data and the
    /// customer's name out), autosaves and web sessions deleted, the customer unlinked (and
    /// deleted once no conversation is left to them).
    pub fn anonymise(&mut self, ids: &[ConversationId], mask: &dyn Fn(&str, &Customer) -> String) -> Result<Erased> {
        let mut owners = Vec::new();
        for id in ids {
            owners.push(self.customer_of(id)?.unwrap_or_default());
        }
        self.conn.execute_batch("PRAGMA secure_delete = ON").map_err(|e| self.err(e))?;
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| super::classify(&path, e))?;
        let err = |e| super::classify(&path, e);
        let mut total = Erased::default();
        let now = crate::util::now_ms();
        // (table, the conversation's rows, text columns)
        const BY_CONVERSATION: &str = "conversation_id = ?1";
        const TEXTS: [(&str, &str, &[&str]); 5] = [
            ("messages", BY_CONVERSATION, &["text"]),
            ("drafts", BY_CONVERSATION, &["generated", "final_text"]),
            ("events", BY_CONVERSATION, &["detail"]),
            ("approvals", BY_CONVERSATION, &["text", "final_text", "note"]),
            ("coaching_notes", "draft_id IN (SELECT id FROM drafts WHERE conversation_id = ?1)", &["text"]),
        ];
        for (id, owner) in ids.iter().zip(&owners) {
            let mut n = Erased::default();
            for (table, rows_of, columns) in TEXTS {
                for column in columns {
                    let rows: Vec<(i64, String)> = {
                        let sql = format!("SELECT id, {column} FROM {table} WHERE {rows_of} AND {column} IS NOT NULL");
                        let mut stmt = tx.prepare(&sql).map_err(err)?;
                        stmt.query_map([&id.0], |r| Ok((r.get(0)?, r.get(1)?)))
                            .and_then(Iterator::collect)
                            .map_err(err)?
                    };
                    for (row, text) in rows {
                        let masked = mask(&text, owner);
                        if masked != text {
                            tx.execute(
                                &format!("UPDATE {table} SET {column} = ?1 WHERE id = ?2"),
                                params![masked, row],
                            )
                            .map_err(err)?;
                            match table {
                                "messages" => n.messages += 1,
                                "drafts" => n.drafts += 1,
                                "events" => n.events += 1,
                                "approvals" => n.approvals += 1,
                                _ => n.coaching_notes += 1,
                            }
                        }
                    }
                }
            }
            n.autosaves = tx.execute("DELETE FROM autosaves WHERE conversation_id = ?1", [&id.0]).map_err(err)?;
            n.web_sessions = tx.execute("DELETE FROM web_sessions WHERE conversation_id = ?1", [&id.0]).map_err(err)?;
            n.conversations = tx
                .execute(
                    "UPDATE conversations SET customer_id = 'anonymous', anonymised_ms = ?2 WHERE id = ?1",
                    params![id.0, now],
                )
                .map_err(err)?;
            total.add(&n);
        }
        total.customers +=
            delete_orphans(&tx, owners.iter().map(|o| &o.id).filter(|id| !id.0.is_empty())).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(total)
    }

    /// Folds the write-ahead log into the file and truncates it, so erased rows leave no copy in
    /// the log. False when another connection (a running console) kept it from completing.
    pub fn truncate_log(&self) -> Result<bool> {
        let busy: i64 =
            self.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        Ok(busy == 0)
    }

    /// Records that conversations left the store (`review --export`, `train --from-store`).
    pub fn record_export(
        &mut self,
        what: &str,
        destination: &str,
        masked: bool,
        conversations: &[String],
    ) -> Result<()> {
        let mut ids = conversations.to_vec();
        ids.sort();
        ids.dedup();
        self.conn
            .execute(
                "INSERT INTO exports (at_ms, agent, what, destination, masked, conversations)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    crate::util::now_ms(),
                    self.agent,
                    what,
                    destination,
                    masked,
                    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
                ],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// The recorded exports that held any of these conversations.
    pub fn exports_with(&self, ids: &[ConversationId]) -> Result<Vec<ExportRecord>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, at_ms, agent, what, destination, masked, conversations FROM exports ORDER BY id")
            .map_err(|e| self.err(e))?;
        let all: Vec<ExportRecord> = stmt
            .query_map([], |r| {
                let list: String = r.get(6)?;
                Ok(ExportRecord {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    agent: r.get(2)?,
                    what: r.get(3)?,
                    destination: r.get(4)?,
                    masked: r.get(5)?,
                    conversations: serde_json::from_str(&list).unwrap_or_default(),
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        Ok(all.into_iter().filter(|e| ids.iter().any(|id| e.conversations.contains(&id.0))).collect())
    }
}

/// Deletes these customers where no conversation refers to them any more; how many went.
fn delete_orphans<'a>(
    tx: &rusqlite::Transaction<'_>,
    ids: impl Iterator<Item = &'a CustomerId>,
) -> rusqlite::Result<usize> {
    let mut n = 0;
    for id in ids {
        n += tx.execute(
            "DELETE FROM customers WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM conversations WHERE customer_id = ?1)",
            [&id.0],
        )?;
    }
    Ok(n)
}

/// Drops erased conversations from the export log's lists (the export itself stays recorded,
/// with how many of its conversations were erased since).
fn forget_in_exports(tx: &rusqlite::Transaction<'_>, ids: &[ConversationId]) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String, i64)> = {
        let mut stmt = tx.prepare("SELECT id, conversations, erased FROM exports")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?
    };
    for (row, list, erased) in rows {
        let list: Vec<String> = serde_json::from_str(&list).unwrap_or_default();
        let kept: Vec<&String> = list.iter().filter(|c| !ids.iter().any(|id| id.0 == **c)).collect();
        if kept.len() != list.len() {
            let gone = (list.len() - kept.len()) as i64;
            tx.execute(
                "UPDATE exports SET conversations = ?1, erased = ?2 WHERE id = ?3",
                params![serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into()), erased + gone, row],
            )?;
        }
    }
    Ok(())
}
