//! Learning from edits: sent replies from the store, with the conversation before them, as
//! training transcripts (the evaluation case format `train --transcripts` reads), so the
//! generator moves towards what agents actually send.
//!
//! Only replies that were sent (as-is, edited or rewritten) and not flagged by a supervisor are
//! used; every text is PII-masked here, and `train` scrubs transcripts once more.

use crate::desk::{Author, DraftOutcome};
use crate::privacy::mask_pii;
use crate::store::{DraftFilter, SqliteStore};
use serde_json::json;

/// What was taken from the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreExport {
    pub cases: usize,
    pub skipped_flagged: usize,
    pub skipped_unsent: usize,
}

/// The store's sent replies as JSONL lines in the evaluation case format.
pub fn store_cases(store: &SqliteStore) -> crate::store::Result<(Vec<String>, StoreExport)> {
    let mut report = StoreExport::default();
    let mut lines = Vec::new();
    for r in store.review_rows(&DraftFilter::default())? {
        let (Some(sent), Some(DraftOutcome::SentAsIs | DraftOutcome::Edited | DraftOutcome::Rewritten)) =
            (&r.final_text, r.outcome)
        else {
            report.skipped_unsent += 1;
            continue;
        };
        if !r.flags.is_empty() {
            report.skipped_flagged += 1;
            continue;
        }
        let until = r.sent_ms.unwrap_or(r.created);
        let turns: Vec<serde_json::Value> = store
            .messages(&r.conversation)?
            .into_iter()
            .filter(|m| !m.internal && m.author != Author::System && m.at < until)
            .map(|m| {
                let role = if m.author == Author::Customer { "customer" } else { "agent" };
                json!({ "role": role, "text": mask_pii(&m.text) })
            })
            .collect();
        if !turns.iter().any(|t| t["role"] == "customer") {
            report.skipped_unsent += 1;
            continue;
        }
        let gold: Vec<&str> = r.sources.iter().map(|s| s.slug.as_str()).collect();
        let case = json!({
            "id": format!("store-{}", r.id),
            // Which conversation it came from, so erasing a customer finds the line.
            "conversation": r.conversation.0,
            "turns": turns,
            "gold": gold,
            "gold_passages": [],
            "reference": mask_pii(sent),
        });
        lines.push(case.to_string());
        report.cases += 1;
    }
    Ok((lines, report))
}
