//! Forgetting a customer and retention: what `deskpilot privacy forget` and `privacy retain`
//! (and the console at start-up) do.
//!
//! Forgetting erases a customer everywhere Deskpilot keeps data: their store rows (overwritten,
//! the write-ahead log truncated), the lines of the log files and of the store's training export
//! that came from their conversations, and the `kb gaps` article drafts built from them; it lists
//! what it cannot reach (exports already handed out, KB articles a person published from a
//! draft) and then searches the data, state and drafts folders for any trace left.

use super::policy::{Policy, PrivacyConfig};
use crate::desk::{ConversationId, Customer, Millis};
use crate::store::{Erased, ExportRecord, SqliteStore};
use anyhow::{Context, Result};
use regex::Regex;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where personal data can be, besides the store.
#[derive(Debug, Clone)]
pub struct Places {
    pub data_dir: PathBuf,
    pub state_dir: PathBuf,
    pub gaps_dir: PathBuf,
    pub kb_dir: PathBuf,
}

/// The training export `train --from-store` writes into the data directory.
pub const TRAINING_EXPORT: &str = "train-from-store.jsonl";

/// What forgetting a customer did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ForgetReport {
    pub customers: Vec<String>,
    pub conversations: Vec<String>,
    pub store: Erased,
    /// False when a running console kept the write-ahead log from being truncated.
    pub log_truncated: bool,
    pub log_lines_removed: usize,
    pub training_lines_removed: usize,
    pub gap_drafts_removed: Vec<String>,
    /// KB articles whose `sources` cite the conversations: for a person to edit.
    pub kb_articles_citing: Vec<String>,
    /// Exports that held the conversations: copies outside Deskpilot's reach.
    pub exports: Vec<ExportRecord>,
    /// Files where the e-mail address or a conversation id can still be found.
    pub remaining_traces: Vec<String>,
    pub dry_run: bool,
}

/// Erases a customer, found by e-mail address (their customer rows, plus any conversation in
/// which a customer wrote that address).
pub fn forget(store: &mut SqliteStore, places: &Places, email: &str, dry_run: bool) -> Result<ForgetReport> {
    let email = email.trim();
    anyhow::ensure!(email.contains('@') && email.len() >= 3, "--customer {email:?}: not an e-mail address");
    let customers = store.customers_by_email(email)?;
    let mut ids: Vec<ConversationId> = Vec::new();
    for c in &customers {
        ids.extend(store.conversation_ids_of(&c.id)?);
    }
    for id in store.conversations_mentioning(email)? {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let mut report = ForgetReport {
        customers: customers.iter().map(|c| c.id.0.clone()).collect(),
        conversations: ids.iter().map(|c| c.0.clone()).collect(),
        exports: store.exports_with(&ids)?,
        dry_run,
        ..ForgetReport::default()
    };
    // What identifies the customer in files: the address, their ids, their full names.
    let mut needles: Vec<String> = vec![email.to_lowercase()];
    needles.extend(report.conversations.iter().map(|c| c.to_lowercase()));
    needles.extend(customers.iter().map(|c| c.id.0.to_lowercase()));
    needles.extend(customers.iter().map(|c| c.name.trim().to_lowercase()).filter(|n| n.chars().count() >= 4));
    needles.retain(|n| !n.is_empty());

    let (drafts, citing) = articles_citing(places, &report.conversations);
    report.kb_articles_citing = citing.iter().map(|p| p.display().to_string()).collect();
    report.gap_drafts_removed = drafts.iter().map(|p| p.display().to_string()).collect();
    if dry_run {
        report.log_lines_removed = log_files(&places.state_dir).iter().map(|f| matching_lines(f, &needles)).sum();
        report.training_lines_removed = matching_lines(&places.data_dir.join(TRAINING_EXPORT), &needles);
        return Ok(report);
    }
    let customer_ids: Vec<_> = customers.iter().map(|c| c.id.clone()).collect();
    report.store = store.purge(&ids, &customer_ids)?;
    report.log_truncated = store.truncate_log()?;
    for file in log_files(&places.state_dir) {
        report.log_lines_removed += remove_lines(&file, &needles)?;
    }
    report.training_lines_removed = remove_lines(&places.data_dir.join(TRAINING_EXPORT), &needles)?;
    for d in &drafts {
        std::fs::remove_file(d).with_context(|| format!("{}: cannot remove", d.display()))?;
    }
    let mut strict = vec![email.to_lowercase()];
    strict.extend(report.conversations.iter().map(|c| c.to_lowercase()));
    for dir in [&places.data_dir, &places.state_dir, &places.gaps_dir] {
        report.remaining_traces.extend(traces(dir, &strict).into_iter().map(|p| p.display().to_string()));
    }
    report.remaining_traces.sort();
    report.remaining_traces.dedup();
    Ok(report)
}

/// What retention did.
#[derive(Debug, Clone, Serialize)]
pub struct RetainReport {
    /// `anonymise`, `purge`, or `keep` (retention_days = 0).
    pub action: String,
    pub before: Option<Millis>,
    pub conversations: Vec<String>,
    pub store: Erased,
    pub dry_run: bool,
}

/// Applies the retention period: resolved conversations last changed more than
/// `retention_days` before `now` are anonymised or purged.
pub fn retain(store: &mut SqliteStore, cfg: &PrivacyConfig, now: Millis, dry_run: bool) -> Result<RetainReport> {
    if cfg.retention_days == 0 {
        let keep = "keep".to_owned();
        return Ok(RetainReport {
            action: keep,
            before: None,
            conversations: vec![],
            store: Erased::default(),
            dry_run,
        });
    }
    let before = now - i64::from(cfg.retention_days) * 86_400_000;
    let purge = cfg.retention == "purge";
    let ids = store.resolved_before(before, purge)?;
    let mut report = RetainReport {
        action: cfg.retention.clone(),
        before: Some(before),
        conversations: ids.iter().map(|c| c.0.clone()).collect(),
        store: Erased::default(),
        dry_run,
    };
    if dry_run || ids.is_empty() {
        return Ok(report);
    }
    let policy = cfg.policy().map_err(|b| anyhow::anyhow!("[privacy] {} = {}: {}", b.key, b.value, b.expected))?;
    report.store = if purge {
        store.purge(&ids, &[])?
    } else {
        // Anonymising masks every kind, whatever `mask` lists for exports.
        let everything = policy.with_all_kinds();
        store.anonymise(&ids, &|text, customer| anonymise_text(&everything, text, customer))?
    };
    let _ = store.truncate_log()?;
    Ok(report)
}

/// `text` with personal data masked and the customer's names replaced by `[name]`.
pub fn anonymise_text(policy: &Policy, text: &str, customer: &Customer) -> String {
    let mut out = policy.mask(text).into_owned();
    if !customer.email.trim().is_empty() {
        out = out.replace(customer.email.trim(), "[email]");
    }
    let full = customer.name.trim();
    let mut names: Vec<&str> = vec![full];
    names.extend(full.split_whitespace());
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names.into_iter().filter(|n| n.chars().count() >= 2) {
        let pattern = if name.is_ascii() { format!(r"(?i)\b{}\b", regex::escape(name)) } else { regex::escape(name) };
        if let Ok(re) = Regex::new(&pattern) {
            out = re.replace_all(&out, "[name]").into_owned();
        }
    }
    out
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n.to_string_lossy().contains(".log")))
        .collect();
    files.sort();
    files
}

fn mentions(line: &str, needles: &[String]) -> bool {
    let lower = line.to_lowercase().into_bytes();
    needles.iter().any(|n| contains_word(&lower, n.as_bytes()))
}

/// Whether `needle` occurs in `hay` with no letter or digit touching it ("c-1" is not in
/// "c-10"), so one id never matches another.
fn contains_word(hay: &[u8], needle: &[u8]) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric();
    !needle.is_empty()
        && hay.windows(needle.len()).enumerate().any(|(i, w)| {
            w == needle
                && (i == 0 || !word(hay[i - 1]) || !word(needle[0]))
                && hay.get(i + needle.len()).is_none_or(|b| !word(*b) || !word(needle[needle.len() - 1]))
        })
}

fn matching_lines(file: &Path, needles: &[String]) -> usize {
    std::fs::read(file).map_or(0, |b| String::from_utf8_lossy(&b).lines().filter(|l| mentions(l, needles)).count())
}

/// Removes the lines that mention any needle, rewriting the file in place (a running console
/// appending to it keeps its handle). The number of lines removed.
fn remove_lines(file: &Path, needles: &[String]) -> Result<usize> {
    let Ok(bytes) = std::fs::read(file) else { return Ok(0) };
    let text = String::from_utf8_lossy(&bytes);
    let mut kept = String::with_capacity(text.len());
    let mut removed = 0;
    for line in text.split_inclusive('\n') {
        if mentions(line, needles) {
            removed += 1;
        } else {
            kept.push_str(line);
        }
    }
    if removed > 0 {
        std::fs::write(file, kept).with_context(|| format!("{}: cannot rewrite", file.display()))?;
    }
    Ok(removed)
}

/// Article drafts in the gaps folder, and KB articles, whose `sources` cite a conversation.
fn articles_citing(places: &Places, conversations: &[String]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let citing = |dir: &Path| -> Vec<PathBuf> {
        if !dir.is_dir() || conversations.is_empty() {
            return vec![];
        }
        let kb = crate::knowledge::load_kb(dir);
        let mut out: Vec<PathBuf> = kb
            .articles
            .iter()
            .filter(|a| a.meta.sources.iter().any(|s| conversations.contains(s)))
            .map(|a| a.path.clone())
            .collect();
        out.sort();
        out
    };
    (citing(&places.gaps_dir), citing(&places.kb_dir))
}

/// Files under `dir` (recursively) that contain any needle (compared without ASCII case).
pub fn traces(dir: &Path, needles: &[String]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    let needles: Vec<Vec<u8>> =
        needles.iter().map(|n| n.to_lowercase().into_bytes()).filter(|n| !n.is_empty()).collect();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                let lower = bytes.to_ascii_lowercase();
                if needles.iter().any(|n| contains_word(&lower, n)) {
                    found.push(p);
                }
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::desk::{CustomerId, Tier};

    #[test]
    fn anonymising_masks_personal_data_and_names() {
        let c = Customer {
            id: CustomerId("c1".into()),
            name: "Ana Souza".into(),
            email: "ana@example.com".into(),
            language: "en".into(),
            tier: Tier::Standard,
            notes: String::new(),
        };
        let t = anonymise_text(&Policy::default(), "Hi Ana, I'm Ana Souza (ana@example.com), order HP-20417.", &c);
        assert_eq!(t, "Hi [name], I'm [name] ([email]), order [order].");
        assert_eq!(anonymise_text(&Policy::default(), "Banana", &c), "Banana");
    }

    #[test]
    fn one_id_does_not_match_another() {
        assert!(contains_word(b"draft for c-1 failed", b"c-1"));
        assert!(!contains_word(b"draft for c-10 failed", b"c-1"));
        assert!(contains_word(b"<ana@example.com>", b"ana@example.com"));
    }
}
