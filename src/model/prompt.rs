//! The prompt: what the generator reads, built the same way in training and at run time.
//!
//! `<|kb|>` passages (the retrieved evidence, trimmed to the sentences that matter), `<|profile|>`
//! the customer's name, tier and language, then the recent conversation (`<|customer|>` /
//! `<|agent|>` turns), then `<|reply|>`. The reply follows and ends with `<|end|>`.

use super::tokenizer::{self as tok, Tokenizer};
use crate::desk::{Author, Customer, Tier};
use std::collections::HashSet;
use unicode_segmentation::UnicodeSegmentation;

/// Token budgets of a prompt (saved in every checkpoint's `config.json`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    pub max_prompt: usize,
    pub max_passages: usize,
    pub max_turns: usize,
    pub max_turn_tokens: usize,
    pub max_reply: usize,
    /// Keep at most this many sentences of each passage, those sharing most words with the
    /// question (None: whole passages, trimmed only to fit). A run-time choice, not saved.
    #[serde(skip)]
    pub focus_sentences: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_prompt: 384,
            max_passages: 2,
            max_turns: 4,
            max_turn_tokens: 64,
            max_reply: 120,
            focus_sentences: None,
        }
    }
}

/// A knowledge passage as the prompt sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptPassage {
    pub slug: String,
    pub title: String,
    pub text: String,
}

/// The customer profile fields the generator may use (no email, no notes: what a reply needs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    pub name: String,
    pub tier: Option<Tier>,
    pub language: String,
}

impl Profile {
    pub fn from_customer(c: &Customer) -> Self {
        Self { name: c.name.clone(), tier: Some(c.tier), language: c.language.clone() }
    }

    pub fn render(&self) -> String {
        let tier = match self.tier {
            Some(Tier::Plus) => "Harbor+",
            Some(Tier::Business) => "Business",
            Some(Tier::Standard) => "Standard",
            None => "unknown",
        };
        let name = if self.name.trim().is_empty() { "unknown" } else { self.name.trim() };
        let lang = if self.language.is_empty() { "en" } else { &self.language };
        format!("name: {name}; tier: {tier}; language: {lang}")
    }
}

/// Everything a prompt is built from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptInput {
    pub passages: Vec<PromptPassage>,
    pub profile: Profile,
    /// Oldest first; the last is normally the customer's question.
    pub turns: Vec<(Author, String)>,
}

/// A built prompt: token ids (ending in `<|reply|>`) and which passages made it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub ids: Vec<u32>,
    pub passages: Vec<usize>,
}

/// Content words of a text (lowercased words of 3+ letters, digits kept; CJK characters).
pub fn words(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for w in text.unicode_words() {
        if crate::retrieval::analyzers::has_cjk(w) {
            out.extend(w.chars().map(String::from));
        } else if w.chars().count() >= 3 || w.chars().any(|c| c.is_ascii_digit()) {
            out.insert(w.to_lowercase());
        }
    }
    out
}

fn truncate_ids(mut ids: Vec<u32>, max: usize, keep_end: bool) -> Vec<u32> {
    if ids.len() > max {
        if keep_end {
            ids.drain(..ids.len() - max);
        } else {
            ids.truncate(max);
        }
    }
    ids
}

/// A sentence's identity across splitters and tokenisation: lower-case letters and digits only.
pub(crate) fn sentence_key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Keeps the sentences of `text` that best match `question`, in their own order, within
/// `budget` tokens; sentences in `keep` (the answer selector's choice) go first.
fn trim_passage(
    tk: &Tokenizer,
    text: &str,
    question: &HashSet<String>,
    budget: usize,
    focus: Option<usize>,
    keep: &[String],
) -> Vec<u32> {
    let full = tk.encode(text);
    let sentences: Vec<&str> = text.split_sentence_bounds().filter(|s| !s.trim().is_empty()).collect();
    let max_sentences = focus.unwrap_or(usize::MAX);
    if full.len() <= budget && sentences.len() <= max_sentences {
        return full;
    }
    let mut scored: Vec<(usize, f32, usize)> = sentences
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let overlap = words(s).intersection(question).count() as f32;
            let facts = if s.chars().any(|c| c.is_ascii_digit()) { 0.5 } else { 0.0 };
            let key = sentence_key(s);
            let chosen = !key.is_empty() && keep.iter().any(|k| key.contains(k.as_str()) || k.contains(&key));
            let chosen = if chosen { 1000.0 } else { 0.0 };
            (i, chosen + overlap + facts - i as f32 * 0.01, tk.encode(s).len())
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut keep = vec![false; sentences.len()];
    let mut used = 0;
    for (i, _, n) in scored.into_iter().take(max_sentences) {
        if used + n <= budget {
            keep[i] = true;
            used += n;
        }
    }
    let kept: String =
        sentences.iter().zip(&keep).filter(|(_, k)| **k).map(|(s, _)| s.trim()).collect::<Vec<_>>().join(" ");
    truncate_ids(tk.encode(&kept), budget, false)
}

/// Builds the prompt within `limits`.
pub fn build(tk: &Tokenizer, input: &PromptInput, limits: &Limits) -> Prompt {
    build_keeping(tk, input, limits, &[])
}

/// [`build`], keeping the sentences `keep` (the answer selector's choice) whatever else is cut.
pub fn build_keeping(tk: &Tokenizer, input: &PromptInput, limits: &Limits, keep: &[String]) -> Prompt {
    let keep: Vec<String> = keep.iter().map(|k| sentence_key(k)).filter(|k| k.len() >= 8).collect();
    let question =
        input.turns.iter().rev().find(|(a, _)| *a == Author::Customer).map(|(_, t)| words(t)).unwrap_or_default();
    // Conversation: the most recent turns, newest kept whole first.
    let mut conv: Vec<u32> = Vec::new();
    for (author, text) in input.turns.iter().rev().take(limits.max_turns) {
        let mut ids = vec![if *author == Author::Customer { tok::CUSTOMER } else { tok::AGENT }];
        ids.extend(truncate_ids(tk.encode(text.trim()), limits.max_turn_tokens, true));
        if !conv.is_empty() && conv.len() + ids.len() > limits.max_prompt / 3 {
            break;
        }
        ids.extend(conv);
        conv = ids;
    }
    let mut profile = vec![tok::PROFILE];
    profile.extend(tk.encode(&input.profile.render()));
    let profile = truncate_ids(profile, 32, false);
    let mut budget = limits.max_prompt.saturating_sub(conv.len() + profile.len() + 1);
    let mut kb = Vec::new();
    let mut used = Vec::new();
    let n = input.passages.len().min(limits.max_passages);
    for (i, p) in input.passages.iter().take(n).enumerate() {
        let head = tk.encode(&format!("{}:", p.title.trim()));
        // The first passage may take up to two thirds of what is left; later ones share the rest.
        let share = if i == 0 && n > 1 { budget * 2 / 3 } else { budget };
        if share < head.len() + 16 {
            break;
        }
        let body = trim_passage(
            tk,
            &format!(" {}", p.text.trim()),
            &question,
            share - head.len() - 1,
            limits.focus_sentences,
            &keep,
        );
        let mut ids = vec![tok::KB];
        ids.extend(head);
        ids.extend(body);
        budget = budget.saturating_sub(ids.len());
        kb.extend(ids);
        used.push(i);
    }
    let mut ids = kb;
    ids.extend(profile);
    ids.extend(conv);
    ids.push(tok::REPLY);
    Prompt { ids, passages: used }
}
