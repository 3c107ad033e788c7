//! Labelled conversations (evaluation cases, and training transcripts): one JSON object per line,
//! `{"id", "turns": [{"role", "text"}], "gold": [slug], "gold_passages": [text], "reference"?,
//! "facts"?: [text], "abstain"?: bool}`.
//!
//! `facts` are what a good draft must state (each found in it, ignoring case); `abstain` marks a
//! question the knowledge base cannot answer, where the right draft is a clarifying question.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Turn {
    pub role: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Case {
    /// Required in evaluation sets (checked by `load_cases`); optional for a single conversation.
    #[serde(default)]
    pub id: String,
    pub turns: Vec<Turn>,
    #[serde(default)]
    pub gold: Vec<String>,
    #[serde(default)]
    pub gold_passages: Vec<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub facts: Vec<String>,
    #[serde(default)]
    pub abstain: bool,
}

/// Parses one conversation (`draft --conversation`): a JSON object, or the first line of a
/// JSONL file. The turns must have known roles and end with the customer's; errors name `source`.
pub fn parse_conversation(text: &str, source: &str) -> Result<Case> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let case: Case = serde_json::from_str(text.trim())
        .or_else(|_| serde_json::from_str(first))
        .with_context(|| format!("{source}: not a conversation (expected {{\"turns\": [...]}})"))?;
    if let Some(t) = case.turns.iter().find(|t| t.role != "customer" && t.role != "agent") {
        bail!("{source}: unknown role `{}` (expected customer or agent)", t.role);
    }
    if case.turns.last().is_none_or(|t| t.role != "customer") {
        bail!("{source}: the last turn must be the customer's");
    }
    Ok(case)
}

/// Reads a JSONL file; a bad line is an error naming the file and line.
pub fn load_cases(path: &Path) -> Result<Vec<Case>> {
    let text = crate::knowledge::read_input(path)?;
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let case: Case =
            serde_json::from_str(line).with_context(|| format!("{}:{}: invalid case", path.display(), i + 1))?;
        if case.id.is_empty() {
            bail!("{}:{}: case has no `id`", path.display(), i + 1);
        }
        if case.turns.is_empty() {
            bail!("{}:{}: case `{}` has no turns", path.display(), i + 1, case.id);
        }
        if let Some(t) = case.turns.iter().find(|t| t.role != "customer" && t.role != "agent") {
            bail!("{}:{}: unknown role `{}` (expected customer or agent)", path.display(), i + 1, t.role);
        }
        cases.push(case);
    }
    Ok(cases)
}
