//! What supervisors read and write: the review list, coaching notes, flags and approvals (as
//! `reviews` rows), the approval queue, grounding warnings and knowledge gaps.

use super::{Result, SqliteStore};
use crate::desk::{ConversationId, DraftOutcome, Millis, RequestId, Source};
use rusqlite::{OptionalExtension, params};

/// One draft as the review list shows it (loaded for all drafts at once: analytics and the list
/// filter and sort in memory).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRow {
    pub id: i64,
    pub conversation: ConversationId,
    pub request: RequestId,
    pub agent: String,
    pub created: Millis,
    pub generated: String,
    pub final_text: Option<String>,
    pub outcome: Option<DraftOutcome>,
    pub edit_distance: Option<f64>,
    pub shown_ms: Option<Millis>,
    pub sent_ms: Option<Millis>,
    pub sources: Vec<Source>,
    pub warnings: Vec<String>,
    /// Flag reasons, oldest first.
    pub flags: Vec<String>,
    pub approved: bool,
}

impl ReviewRow {
    /// Milliseconds from the draft being shown to the reply being sent.
    pub fn time_to_send(&self) -> Option<Millis> {
        Some(self.sent_ms? - self.shown_ms?).filter(|t| *t >= 0)
    }
}

/// Which drafts to load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftFilter {
    /// Created at or after (Unix ms).
    pub since: Option<Millis>,
    pub agent: Option<String>,
}

/// A supervisor's note for the agent who wrote a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoachingNote {
    pub id: i64,
    pub draft_id: i64,
    pub agent: String,
    pub supervisor: String,
    pub text: String,
    pub at: Millis,
    pub seen: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for a supervisor; the customer has seen nothing.
    Pending,
    /// Approved (possibly edited): `final_text` goes to the customer.
    Approved,
    /// Sent back to the agent with a note; nothing goes to the customer.
    Returned,
}

impl ApprovalState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Returned => "returned",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "approved" => ApprovalState::Approved,
            "returned" => ApprovalState::Returned,
            _ => ApprovalState::Pending,
        }
    }
}

/// A reply held for a supervisor's approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub id: i64,
    pub conversation: ConversationId,
    pub request: Option<RequestId>,
    pub agent: String,
    pub text: String,
    pub submitted: Millis,
    pub state: ApprovalState,
    pub reviewer: Option<String>,
    pub final_text: Option<String>,
    pub note: String,
}

fn json<T: serde::de::DeserializeOwned + Default>(text: &str) -> T {
    serde_json::from_str(text).unwrap_or_default()
}

fn approval_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Approval> {
    Ok(Approval {
        id: r.get(0)?,
        conversation: ConversationId(r.get(1)?),
        request: r.get::<_, Option<i64>>(2)?.map(|n| RequestId(n as u64)),
        agent: r.get(3)?,
        text: r.get(4)?,
        submitted: r.get(5)?,
        state: ApprovalState::parse(&r.get::<_, String>(6)?),
        reviewer: r.get(7)?,
        final_text: r.get(8)?,
        note: r.get(9)?,
    })
}

const APPROVAL_COLS: &str =
    "id, conversation_id, request_id, agent, text, submitted_ms, state, reviewer, final_text, note";

impl SqliteStore {
    /// Every draft matching `filter`, newest first, with its flags and approval.
    pub fn review_rows(&self, filter: &DraftFilter) -> Result<Vec<ReviewRow>> {
        let sql = "SELECT d.id, d.conversation_id, d.request_id, d.agent, d.created_ms, d.generated, d.final_text,
                          d.outcome, d.edit_distance, d.shown_ms, d.sent_ms, d.sources, d.warnings,
                          (SELECT json_group_array(comment) FROM reviews r WHERE r.draft_id = d.id AND r.verdict = 'flag'),
                          EXISTS (SELECT 1 FROM reviews r WHERE r.draft_id = d.id AND r.verdict = 'approved')
                   FROM drafts d
                   WHERE (?1 IS NULL OR d.created_ms >= ?1) AND (?2 IS NULL OR d.agent = ?2)
                   ORDER BY d.created_ms DESC, d.id DESC";
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![filter.since, filter.agent], |r| {
                let outcome: Option<String> = r.get(7)?;
                Ok(ReviewRow {
                    id: r.get(0)?,
                    conversation: ConversationId(r.get(1)?),
                    request: RequestId(r.get::<_, i64>(2)? as u64),
                    agent: r.get(3)?,
                    created: r.get(4)?,
                    generated: r.get(5)?,
                    final_text: r.get(6)?,
                    outcome: outcome.as_deref().and_then(DraftOutcome::parse),
                    edit_distance: r.get(8)?,
                    shown_ms: r.get(9)?,
                    sent_ms: r.get(10)?,
                    sources: json(&r.get::<_, String>(11)?),
                    warnings: json(&r.get::<_, String>(12)?),
                    flags: json(&r.get::<_, String>(13)?),
                    approved: r.get(14)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// Stores a draft's grounding warnings (facts found in no passage).
    pub fn set_draft_warnings(
        &mut self,
        conversation: &ConversationId,
        request: RequestId,
        warnings: &[String],
    ) -> Result<()> {
        let text = serde_json::to_string(warnings).unwrap_or_else(|_| "[]".into());
        self.conn
            .execute(
                "UPDATE drafts SET warnings = ?3 WHERE conversation_id = ?1 AND request_id = ?2",
                params![conversation.0, request.0 as i64, text],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub fn add_coaching_note(&mut self, draft_id: i64, supervisor: &str, text: &str, at: Millis) -> Result<i64> {
        self.conn
            .query_row(
                "INSERT INTO coaching_notes (draft_id, agent, supervisor, text, at_ms)
                 SELECT id, agent, ?2, ?3, ?4 FROM drafts WHERE id = ?1 RETURNING id",
                params![draft_id, supervisor, text, at],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Coaching notes for an agent, oldest first; `unseen` only those they have not seen.
    pub fn coaching_notes(&self, agent: &str, unseen: bool) -> Result<Vec<CoachingNote>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, draft_id, agent, supervisor, text, at_ms, seen_ms FROM coaching_notes
                 WHERE agent = ?1 AND (?2 = 0 OR seen_ms IS NULL) ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![agent, unseen], |r| {
                Ok(CoachingNote {
                    id: r.get(0)?,
                    draft_id: r.get(1)?,
                    agent: r.get(2)?,
                    supervisor: r.get(3)?,
                    text: r.get(4)?,
                    at: r.get(5)?,
                    seen: r.get(6)?,
                })
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    pub fn mark_note_seen(&mut self, id: i64, at: Millis) -> Result<()> {
        self.conn
            .execute("UPDATE coaching_notes SET seen_ms = ?2 WHERE id = ?1 AND seen_ms IS NULL", params![id, at])
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Coaching notes on one draft.
    pub fn draft_notes(&self, draft_id: i64) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT supervisor || ': ' || text FROM coaching_notes WHERE draft_id = ?1 ORDER BY id")
            .map_err(|e| self.err(e))?;
        let rows =
            stmt.query_map([draft_id], |r| r.get(0)).and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>());
        rows.map_err(|e| self.err(e))
    }

    /// Customer questions no passage answered confidently, most frequent first (case and
    /// surrounding whitespace folded), with how often each was asked.
    pub fn kb_gaps(&self, since: Option<Millis>, limit: usize) -> Result<Vec<(String, u64)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT MIN(detail), COUNT(*) AS n FROM events
                 WHERE event = 'kb_gap' AND detail != '' AND (?1 IS NULL OR at_ms >= ?1)
                 GROUP BY lower(trim(detail)) ORDER BY n DESC, MIN(detail) LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![since, limit as i64], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// Resolved conversations' knowledge gaps: (conversation, the question no passage answered,
    /// when), oldest first; with `since`, only gaps recorded then or later.
    pub fn resolved_gaps(&self, since: Option<Millis>) -> Result<Vec<(ConversationId, String, Millis)>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.conversation_id, e.detail, e.at_ms FROM events e
                 JOIN conversations c ON c.id = e.conversation_id
                 WHERE e.event = 'kb_gap' AND e.detail != '' AND c.status = 'resolved'
                 AND (?1 IS NULL OR e.at_ms >= ?1) ORDER BY e.at_ms, e.id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![since], |r| Ok((ConversationId(r.get(0)?), r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// The customer of a conversation.
    pub fn customer_of(&self, conversation: &ConversationId) -> Result<Option<crate::desk::Customer>> {
        let id: Option<String> = self
            .conn
            .query_row("SELECT customer_id FROM conversations WHERE id = ?1", [&conversation.0], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        match id {
            Some(id) => self.customer(&id),
            None => Ok(None),
        }
    }

    /// Holds a reply for approval; returns the queue entry's id.
    pub fn submit_approval(
        &mut self,
        conversation: &ConversationId,
        request: Option<RequestId>,
        text: &str,
        at: Millis,
    ) -> Result<i64> {
        self.conn
            .query_row(
                "INSERT INTO approvals (conversation_id, request_id, agent, text, submitted_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                params![conversation.0, request.map(|r| r.0 as i64), self.agent, text, at],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    /// Queue entries in a state, oldest first.
    pub fn approvals(&self, state: ApprovalState) -> Result<Vec<Approval>> {
        let sql = format!("SELECT {APPROVAL_COLS} FROM approvals WHERE state = ?1 ORDER BY id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([state.as_str()], approval_from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
        rows.map_err(|e| self.err(e))
    }

    /// A supervisor's decision: approve (with the text to send, edited or not) or return (with a
    /// note). Only a pending entry can be decided; returns whether this call decided it.
    pub fn decide_approval(
        &mut self,
        id: i64,
        state: ApprovalState,
        reviewer: &str,
        final_text: Option<&str>,
        note: &str,
        at: Millis,
    ) -> Result<bool> {
        self.conn
            .execute(
                "UPDATE approvals SET state = ?2, reviewer = ?3, final_text = ?4, note = ?5, decided_ms = ?6
                 WHERE id = ?1 AND state = 'pending'",
                params![id, state.as_str(), reviewer, final_text, note, at],
            )
            .map(|n| n == 1)
            .map_err(|e| self.err(e))
    }

    /// Decisions an agent's console has not acted on yet (it delivers approved replies and
    /// hands returned ones back), oldest first. Marked taken, so each is acted on once.
    pub fn take_decided_approvals(&mut self, agent: &str, at: Millis) -> Result<Vec<Approval>> {
        let tx = self.conn.transaction().map_err(|e| super::classify(&self.path, e))?;
        let sql = format!(
            "SELECT {APPROVAL_COLS} FROM approvals WHERE agent = ?1 AND state != 'pending' AND delivered_ms IS NULL ORDER BY id"
        );
        let taken = {
            let mut stmt = tx.prepare(&sql).map_err(|e| super::classify(&self.path, e))?;
            let rows =
                stmt.query_map([agent], approval_from_row).and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>());
            rows.map_err(|e| super::classify(&self.path, e))?
        };
        for a in &taken {
            tx.execute("UPDATE approvals SET delivered_ms = ?2 WHERE id = ?1", params![a.id, at])
                .map_err(|e| super::classify(&self.path, e))?;
        }
        tx.commit().map_err(|e| super::classify(&self.path, e))?;
        Ok(taken)
    }

    /// The approval entry of an id.
    pub fn approval(&self, id: i64) -> Result<Option<Approval>> {
        let sql = format!("SELECT {APPROVAL_COLS} FROM approvals WHERE id = ?1");
        self.conn.query_row(&sql, [id], approval_from_row).optional().map_err(|e| self.err(e))
    }

    /// Runs `f` in one transaction (bulk seeding).
    pub fn in_transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN").map_err(|e| self.err(e))?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.err(e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Sets a draft's review times and agent directly (seeding and imports; the console's
    /// `put_draft` records them as they happen).
    pub fn set_draft_times(&mut self, draft_id: i64, agent: &str, shown: Millis, sent: Option<Millis>) -> Result<()> {
        self.conn
            .execute(
                "UPDATE drafts SET agent = ?2, created_ms = ?3, shown_ms = ?3, sent_ms = ?4 WHERE id = ?1",
                params![draft_id, agent, shown, sent],
            )
            .map(drop)
            .map_err(|e| self.err(e))
    }
}
