//! Conversation -> weighted query terms.
//!
//! The latest customer turn weighs most; earlier turns decay; agent turns count a little (agents
//! often name the product or place the customer then asks about); tags add a weak prior.
//! Greetings and filler are dropped; identifiers (order and model numbers) are kept whole.

use super::analyzers::{Analyzers, analyze, has_cjk, identifiers};
use crate::desk::Author;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryOptions {
    /// Weight kept per earlier customer turn (the latest has 1).
    pub decay: f32,
    /// Weight of an agent turn relative to a customer turn at the same position.
    pub agent_weight: f32,
    pub tag_weight: f32,
    /// Per-turn decay for title and heading matches: the thing a conversation is about (a
    /// product, a venue, a form) is often named early and stays the topic.
    pub title_decay: f32,
    /// Only the most recent turns are read.
    pub max_turns: usize,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self { decay: 0.8, agent_weight: 0.8, tag_weight: 0.3, title_decay: 0.7, max_turns: 16 }
    }
}

/// How customers say it -> how help centres write it: each phrase found in a customer's turn
/// adds the help-centre words to the query (at [`SYNONYM_WEIGHT`] of the turn's weight).
/// General customer-service vocabulary, not any one company's.
const SYNONYMS: &[(&str, &str)] = &[
    ("smashed", "damaged"),
    ("cracked", "damaged"),
    ("shattered", "damaged"),
    ("dented", "damaged"),
    ("broken", "damaged"),
    ("amex", "american express"),
    ("manager", "supervisor escalate"),
    ("boss", "supervisor escalate"),
    ("sunday", "hours week"),
    ("sundays", "hours week"),
    ("saturday", "hours week"),
    ("weekend", "hours week"),
    ("money back", "refund"),
    ("installment", "instalment"),
    ("installments", "instalments"),
    ("financing", "instalments"),
    ("package", "parcel"),
    ("deliver to", "ship"),
    ("customs", "duties import taxes"),
    ("charged twice", "duplicate charge"),
    ("double charged", "duplicate charge"),
    ("discount code", "promo code"),
    ("coupon", "promo code"),
    ("voucher", "promo code"),
    ("2fa", "two-factor authentication"),
    ("two factor", "two-factor authentication"),
    ("guarantee", "warranty"),
    ("stolen", "missing"),
    ("lost", "missing"),
    ("scam", "phishing fraud"),
    ("hacked", "phishing fraud security"),
    ("log in", "sign in"),
    ("login", "sign in"),
    ("swap", "exchange"),
];

/// The weight of a synonym's words relative to the customer's own.
const SYNONYM_WEIGHT: f32 = 0.8;

/// The help-centre words for the customer's phrasing in `text` (lower case, whole words).
pub(crate) fn synonyms(text: &str) -> String {
    let lower = format!(" {} ", text.to_lowercase().replace(|c: char| !c.is_alphanumeric(), " "));
    SYNONYMS
        .iter()
        .filter(|(said, _)| lower.contains(&format!(" {said} ")))
        .map(|(_, written)| *written)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Query-side filler: words that say nothing about what the customer needs.
pub(crate) const FILLER: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "thanks",
    "thank",
    "thx",
    "please",
    "pls",
    "plz",
    "ok",
    "okay",
    "yes",
    "yeah",
    "yep",
    "sure",
    "great",
    "good",
    "morning",
    "afternoon",
    "evening",
    "appreciate",
    "hope",
    "help",
    "need",
    "want",
    "like",
    "know",
    "also",
    "really",
    "much",
    "lot",
    "tell",
    "question",
    "wondering",
    "wonder",
    "quick",
    "could",
    "would",
    "still",
    "guys",
    "someone",
    "something",
    "anything",
    "anyone",
    "looking",
    "find",
    "way",
    "possible",
    "able",
    "get",
    "got",
    "u",
    "ur",
    "sorry",
    "just",
    "well",
    "one",
];

/// A query term with its weight for running text and for titles/headings.
#[derive(Debug, Clone, PartialEq)]
pub struct QTerm {
    pub term: String,
    pub weight: f32,
    pub title_weight: f32,
}

/// Weighted terms of a query, per analyzer family.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryTerms {
    pub en: Vec<QTerm>,
    pub zh: Vec<QTerm>,
    /// CJK character unigrams and bigrams: recall when the segmenter cuts differently.
    pub zh_grams: Vec<QTerm>,
    /// English word pairs.
    pub pairs: Vec<QTerm>,
    pub keys: Vec<QTerm>,
    /// Terms of the latest customer turn only (English and Chinese analyzers): what the customer
    /// is asking right now, used to pick the passage inside an article.
    pub focus: Vec<String>,
}

impl QueryTerms {
    pub fn is_empty(&self) -> bool {
        self.en.is_empty() && self.zh.is_empty() && self.zh_grams.is_empty() && self.keys.is_empty()
    }
}

fn add(map: &mut HashMap<String, (f32, f32)>, term: String, w: f32, tw: f32) {
    let e = map.entry(term).or_insert((0.0, 0.0));
    // The strongest mention counts, plus a little for each repetition across turns.
    e.0 = e.0.max(w) + 0.1 * w.min(e.0);
    e.1 = e.1.max(tw);
}

/// Builds weighted terms from conversation turns (oldest first) and tags.
pub fn conversation_terms(
    turns: &[(Author, String)],
    tags: &[String],
    opts: &QueryOptions,
    a: &mut Analyzers,
) -> QueryTerms {
    let Analyzers { en, zh, grams, pairs, .. } = a;
    let mut en_terms = HashMap::new();
    let mut zh_terms = HashMap::new();
    let mut gram_terms = HashMap::new();
    let mut key_terms = HashMap::new();
    let mut pair_terms = HashMap::new();
    let mut focus = Vec::new();
    let recent = &turns[turns.len().saturating_sub(opts.max_turns)..];
    let mut customer_seen = 0;
    for (author, text) in recent.iter().rev() {
        let (weight, tw) = match author {
            Author::Customer => {
                let w = (opts.decay.powi(customer_seen), opts.title_decay.powi(customer_seen));
                customer_seen += 1;
                w
            }
            Author::Agent => {
                let back = (customer_seen - 1).max(0);
                (opts.agent_weight * opts.decay.powi(back), opts.title_decay.powi(back + 1))
            }
            Author::System => continue,
        };
        let latest = *author == Author::Customer && customer_seen == 1;
        for (term, range) in analyze(en, text) {
            // Lower-cased per word: lower-casing the whole text can move byte offsets ('İ').
            let surface = text.get(range).map(str::to_lowercase).unwrap_or_default();
            if FILLER.contains(&surface.as_str()) || term.chars().all(|c| c.is_ascii_digit()) && term.len() < 2 {
                continue;
            }
            if latest && !focus.contains(&term) {
                focus.push(term.clone());
            }
            add(&mut en_terms, term, weight, tw);
        }
        for (term, _) in analyze(en, &synonyms(text)) {
            if latest && !focus.contains(&term) {
                focus.push(term.clone());
            }
            add(&mut en_terms, term, weight * SYNONYM_WEIGHT, tw * SYNONYM_WEIGHT);
        }
        for (term, _) in analyze(pairs, text) {
            add(&mut pair_terms, term, weight, tw);
        }
        if has_cjk(text) {
            for (term, _) in analyze(zh, text) {
                if latest && !focus.contains(&term) {
                    focus.push(term.clone());
                }
                add(&mut zh_terms, term, weight, tw);
            }
            for (term, _) in analyze(grams, text) {
                if has_cjk(&term) {
                    add(&mut gram_terms, term, weight, tw);
                }
            }
        }
        for (id, _) in identifiers(text) {
            add(&mut key_terms, id, weight, tw);
        }
    }
    for tag in tags {
        for (term, _) in analyze(en, tag) {
            add(&mut en_terms, term, opts.tag_weight, opts.tag_weight);
        }
    }
    let sorted = |m: HashMap<String, (f32, f32)>| {
        let mut v: Vec<QTerm> =
            m.into_iter().map(|(term, (weight, title_weight))| QTerm { term, weight, title_weight }).collect();
        v.sort_by(|a, b| b.weight.total_cmp(&a.weight).then_with(|| a.term.cmp(&b.term)));
        v
    };
    QueryTerms {
        en: sorted(en_terms),
        zh: sorted(zh_terms),
        zh_grams: sorted(gram_terms),
        pairs: sorted(pair_terms),
        keys: sorted(key_terms),
        focus,
    }
}

/// Convenience for a single message.
pub fn text_terms(text: &str, opts: &QueryOptions) -> QueryTerms {
    conversation_terms(&[(Author::Customer, text.to_owned())], &[], opts, &mut Analyzers::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_dropped_identifiers_kept() {
        let t = text_terms("Hi there, thanks! Is my AH-200 heater part of the recall?", &QueryOptions::default());
        let en: Vec<&str> = t.en.iter().map(|q| q.term.as_str()).collect();
        assert!(en.contains(&"heater") && en.contains(&"recal"), "{en:?}");
        assert!(!en.contains(&"hi") && !en.contains(&"thank"), "{en:?}");
        assert_eq!(t.keys[0].term, "ah-200");
    }

    #[test]
    fn customer_phrasing_adds_help_centre_words() {
        let t = text_terms("my vase arrived smashed, can I get my money back?", &QueryOptions::default());
        let en: Vec<&str> = t.en.iter().map(|q| q.term.as_str()).collect();
        assert!(en.contains(&"damag") && en.contains(&"refund"), "{en:?}");
        assert!(t.focus.contains(&"damag".to_owned()), "{:?}", t.focus);
        // Whole words only: "bossa nova" is not a boss.
        assert!(synonyms("I like bossa nova").is_empty());
    }

    #[test]
    fn text_whose_lower_case_moves_byte_offsets_is_safe() {
        // 'İ' lower-cases to two characters: offsets into the lower-cased text would be wrong.
        let t = text_terms("İİİİ where is my parcel ÀÀ tracking", &QueryOptions::default());
        assert!(t.en.iter().any(|q| q.term == "parcel"), "{:?}", t.en);
    }

    #[test]
    fn latest_customer_turn_weighs_most() {
        let turns = vec![
            (Author::Customer, "I want to return a lamp".to_owned()),
            (Author::Agent, "Sure, what is the order number?".to_owned()),
            (Author::Customer, "Actually, when will my refund arrive?".to_owned()),
        ];
        let t = conversation_terms(&turns, &[], &QueryOptions::default(), &mut Analyzers::default());
        let w = |s: &str| t.en.iter().find(|q| q.term == s).map(|q| q.weight).unwrap_or(0.0);
        assert!(w("refund") > w("lamp") && w("lamp") >= w("order"), "{:?}", t.en);
    }

    #[test]
    fn chinese_terms() {
        let t = text_terms("退款什么时候到账？", &QueryOptions::default());
        assert!(t.zh.iter().any(|q| q.term == "退款"), "{:?}", t.zh);
        assert!(t.zh_grams.iter().any(|q| q.term == "退"), "{:?}", t.zh_grams);
    }
}
