//! Schema migrations. Each entry upgrades from the previous version; the applied versions are
//! rows of `schema_version`. Add a migration by appending; never edit a released one.

use super::{Result, StoreError, classify};
use rusqlite::Connection;
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL);
    CREATE TABLE customers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        email TEXT NOT NULL,
        language TEXT NOT NULL,
        tier TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE conversations (
        id TEXT PRIMARY KEY,
        customer_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        priority TEXT NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        assignee TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        author TEXT NOT NULL,
        internal INTEGER NOT NULL DEFAULT 0,
        text TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE TABLE drafts (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        request_id INTEGER NOT NULL,
        generated TEXT NOT NULL,
        sources TEXT NOT NULL DEFAULT '[]',
        model_version TEXT NOT NULL,
        retrieval_ms REAL NOT NULL DEFAULT 0,
        first_token_ms REAL NOT NULL DEFAULT 0,
        total_ms REAL NOT NULL DEFAULT 0,
        tokens INTEGER NOT NULL DEFAULT 0,
        final_text TEXT,
        outcome TEXT,
        created_ms INTEGER NOT NULL,
        UNIQUE (conversation_id, request_id)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        request_id INTEGER,
        event TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX events_by_conversation ON events(conversation_id, id);
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        draft_id INTEGER NOT NULL REFERENCES drafts(id),
        reviewer TEXT NOT NULL,
        verdict TEXT NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        at_ms INTEGER NOT NULL
    );
    CREATE TABLE autosaves (
        conversation_id TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    "#,
    // 2: request ids continue across runs (drafts were keyed by ids that restarted at 1, so a
    // resumed session's draft could overwrite an earlier run's); these indexes make finding the
    // highest id cheap. Existing rows are kept as they are.
    r#"
    CREATE INDEX drafts_by_request ON drafts(request_id);
    CREATE INDEX events_by_request ON events(request_id);
    "#,
    // 3: supervisor review. Who wrote each draft and message, when a draft was shown and sent,
    // its word-level edit distance and grounding warnings; a detail per event (the passage's
    // slug, the unanswered question); coaching notes the agent sees; the approval queue.
    r#"
    ALTER TABLE drafts ADD COLUMN agent TEXT NOT NULL DEFAULT '';
    ALTER TABLE drafts ADD COLUMN edit_distance REAL;
    ALTER TABLE drafts ADD COLUMN shown_ms INTEGER;
    ALTER TABLE drafts ADD COLUMN sent_ms INTEGER;
    ALTER TABLE drafts ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
    UPDATE drafts SET shown_ms = created_ms;
    CREATE INDEX drafts_by_created ON drafts(created_ms);
    ALTER TABLE messages ADD COLUMN agent TEXT NOT NULL DEFAULT '';
    ALTER TABLE events ADD COLUMN agent TEXT NOT NULL DEFAULT '';
    ALTER TABLE events ADD COLUMN detail TEXT NOT NULL DEFAULT '';
    CREATE INDEX events_by_kind ON events(event);
    CREATE INDEX reviews_by_draft ON reviews(draft_id);
    CREATE TABLE coaching_notes (
        id INTEGER PRIMARY KEY,
        draft_id INTEGER NOT NULL REFERENCES drafts(id),
        agent TEXT NOT NULL,
        supervisor TEXT NOT NULL,
        text TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        seen_ms INTEGER
    );
    CREATE INDEX coaching_by_agent ON coaching_notes(agent, seen_ms);
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL,
        request_id INTEGER,
        agent TEXT NOT NULL,
        text TEXT NOT NULL,
        submitted_ms INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        reviewer TEXT,
        final_text TEXT,
        note TEXT NOT NULL DEFAULT '',
        decided_ms INTEGER,
        delivered_ms INTEGER
    );
    CREATE INDEX approvals_by_state ON approvals(state, id);
    "#,
    // 4: the web chat channel. A conversation's customer token (its SHA-256 only), the customer's
    // typing time, and a client id per message so a retried post is stored once.
    r#"
    CREATE TABLE web_sessions (
        conversation_id TEXT PRIMARY KEY,
        token_sha256 TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        customer_typing_ms INTEGER NOT NULL DEFAULT 0
    );
    ALTER TABLE messages ADD COLUMN client_id TEXT;
    CREATE UNIQUE INDEX messages_by_client_id ON messages(conversation_id, client_id) WHERE client_id IS NOT NULL;
    CREATE INDEX conversations_by_channel ON conversations(channel, updated_ms);
    "#,
    // 5: privacy. When a conversation was anonymised; the export log (which conversations left
    // the store, how and where), so erasing a customer can list the copies outside it.
    r#"
    ALTER TABLE conversations ADD COLUMN anonymised_ms INTEGER;
    CREATE INDEX conversations_by_customer ON conversations(customer_id);
    CREATE TABLE exports (
        id INTEGER PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        agent TEXT NOT NULL,
        what TEXT NOT NULL,
        destination TEXT NOT NULL,
        masked INTEGER NOT NULL,
        conversations TEXT NOT NULL DEFAULT '[]',
        erased INTEGER NOT NULL DEFAULT 0
    );
    "#,
];

/// The newest schema version this build knows.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current = current_version(conn, path)?;
    if current > LATEST {
        return Err(StoreError::UnknownVersion { path: path.to_owned(), found: current, supported: LATEST });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        let tx = conn.transaction().map_err(|e| classify(path, e))?;
        tx.execute_batch(sql).map_err(|e| classify(path, e))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_ms) VALUES (?1, ?2)",
            rusqlite::params![version, crate::util::now_ms()],
        )
        .map_err(|e| classify(path, e))?;
        tx.commit().map_err(|e| classify(path, e))?;
        tracing::info!(path = %path.display(), version, "applied schema migration");
    }
    Ok(())
}

pub(super) fn current_version(conn: &Connection, path: &Path) -> Result<i64> {
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    if tables == 0 {
        return Ok(0);
    }
    let has_version: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", [], |r| {
            r.get(0)
        })
        .map_err(|e| classify(path, e))?;
    if has_version == 0 {
        return Err(StoreError::Foreign { path: path.to_owned() });
    }
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))
        .map_err(|e| classify(path, e))
}
