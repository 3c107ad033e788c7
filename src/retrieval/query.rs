//! Conversation -> weighted query terms.
//!
//! The latest customer turn weighs most; earlier turns decay; agent turns count a little (agents
//! often name the product or place the customer then asks about); tags add a weak prior.
//! Greetings and filler are dropped; identifiers (order and model numbers) are kept whole.

use super::analyzers::{self, analyze, has_cjk, identifiers};
use crate::desk::Author;
use std::collections::HashMap;
use tantivy::tokenizer::TextAnalyzer;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryOptions {
    /// Weight kept per earlier customer turn (the latest has 1).
    pub decay: f32,
    /// Weight of an agent turn relative to a customer turn at the same position.
    pub agent_weight: f32,
    pub tag_weight: f32,
    /// At most this many terms per language, the most informative first.
    pub max_terms: usize,
    /// Only the most recent turns are read.
    pub max_turns: usize,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self { decay: 0.6, agent_weight: 0.35, tag_weight: 0.3, max_terms: 24, max_turns: 8 }
    }
}

/// Query-side filler: words that say nothing about what the customer needs.
const FILLER: &[&str] = &[
    "hi", "hello", "hey", "hiya", "thanks", "thank", "thx", "please", "pls", "plz", "ok", "okay", "yes", "yeah",
    "yep", "sure", "great", "good", "morning", "afternoon", "evening", "appreciate", "hope", "help", "need",
    "want", "like", "know", "also", "really", "much", "lot", "tell", "question", "wondering", "wonder",
    "quick", "could", "would", "still", "guys", "someone", "something", "anything", "anyone", "ask", "asking",
    "looking", "find", "way", "possible", "able", "get", "got", "u", "ur", "sorry", "just", "well", "one",
];

/// Weighted terms of a query, per analyzer family.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryTerms {
    pub en: Vec<(String, f32)>,
    pub zh: Vec<(String, f32)>,
    pub keys: Vec<(String, f32)>,
}

impl QueryTerms {
    pub fn is_empty(&self) -> bool {
        self.en.is_empty() && self.zh.is_empty() && self.keys.is_empty()
    }
}

fn add(map: &mut HashMap<String, f32>, term: String, w: f32) {
    let e = map.entry(term).or_insert(0.0);
    // The strongest mention counts, plus a little for each repetition across turns.
    *e = e.max(w) + 0.1 * w.min(*e);
}

/// Builds weighted terms from conversation turns (oldest first) and tags.
pub fn conversation_terms(
    turns: &[(Author, String)],
    tags: &[String],
    opts: &QueryOptions,
    en: &mut TextAnalyzer,
    zh: &mut TextAnalyzer,
) -> QueryTerms {
    let mut en_terms = HashMap::new();
    let mut zh_terms = HashMap::new();
    let mut key_terms = HashMap::new();
    let recent = &turns[turns.len().saturating_sub(opts.max_turns)..];
    let mut customer_seen = 0;
    for (author, text) in recent.iter().rev() {
        let weight = match author {
            Author::Customer => {
                let w = opts.decay.powi(customer_seen);
                customer_seen += 1;
                w
            }
            Author::Agent => opts.agent_weight * opts.decay.powi((customer_seen - 1).max(0)),
            Author::System => continue,
        };
        let lower = text.to_lowercase();
        for (term, range) in analyze(en, text) {
            let surface = &lower[range];
            if FILLER.contains(&surface) || term.chars().all(|c| c.is_ascii_digit()) && term.len() < 2 {
                continue;
            }
            add(&mut en_terms, term, weight);
        }
        if has_cjk(text) {
            for (term, _) in analyze(zh, text) {
                add(&mut zh_terms, term, weight);
            }
        }
        for (id, _) in identifiers(text) {
            add(&mut key_terms, id, weight);
        }
    }
    for tag in tags {
        for (term, _) in analyze(en, tag) {
            add(&mut en_terms, term, opts.tag_weight);
        }
    }
    let sorted = |m: HashMap<String, f32>| {
        let mut v: Vec<(String, f32)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    };
    QueryTerms { en: sorted(en_terms), zh: sorted(zh_terms), keys: sorted(key_terms) }
}

/// Convenience for a single message.
pub fn text_terms(text: &str, opts: &QueryOptions) -> QueryTerms {
    conversation_terms(
        &[(Author::Customer, text.to_owned())],
        &[],
        opts,
        &mut analyzers::english(),
        &mut analyzers::chinese(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_dropped_identifiers_kept() {
        let t = text_terms("Hi there, thanks! Is my AH-200 heater part of the recall?", &QueryOptions::default());
        let en: Vec<&str> = t.en.iter().map(|(s, _)| s.as_str()).collect();
        assert!(en.contains(&"heater") && en.contains(&"recal"), "{en:?}");
        assert!(!en.contains(&"hi") && !en.contains(&"thank"), "{en:?}");
        assert_eq!(t.keys[0].0, "ah-200");
    }

    #[test]
    fn latest_customer_turn_weighs_most() {
        let turns = vec![
            (Author::Customer, "I want to return a lamp".to_owned()),
            (Author::Agent, "Sure, what is the order number?".to_owned()),
            (Author::Customer, "Actually, when will my refund arrive?".to_owned()),
        ];
        let t = conversation_terms(&turns, &[], &QueryOptions::default(), &mut analyzers::english(), &mut analyzers::chinese());
        let w = |s: &str| t.en.iter().find(|(x, _)| x == s).map(|(_, w)| *w).unwrap_or(0.0);
        assert!(w("refund") > w("lamp") && w("lamp") > w("order"), "{:?}", t.en);
    }

    #[test]
    fn chinese_terms() {
        let t = text_terms("退款什么时候到账？", &QueryOptions::default());
        assert!(t.zh.iter().any(|(s, _)| s == "退款"), "{:?}", t.zh);
    }
}
