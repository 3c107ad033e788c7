//! Transcripts: real conversations (turns + the reply an agent sent) made into training
//! examples: normalised, PII-scrubbed, de-duplicated, with passages from retrieval.

use super::{Example, Kind};
use crate::desk::Author;
use crate::knowledge::cases::Case;
use crate::model::prompt::{Profile, PromptInput, PromptPassage};
use crate::retrieval::Retriever;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::LazyLock;

/// What the transcripts contributed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TranscriptReport {
    pub path: String,
    pub sha256: String,
    pub cases: usize,
    pub kept: usize,
    pub duplicates: usize,
    pub no_reference: usize,
    pub scrubbed: usize,
}

// ---------------------------------------------------------------------------------------------
// Cleaning

static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\w.+-]+@[\w-]+(\.[\w-]+)+").expect("regex"));
static CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(?:\d[ -]?){13,19}\b").expect("regex"));
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?\b").expect("regex")
});

/// Collapses whitespace runs and removes control characters.
pub fn normalise(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_control() && c != '\n' { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces email addresses, card numbers and phone numbers with placeholders; returns the text
/// and whether anything was replaced. Order numbers (`HP-…`) are kept: replies refer to them.
pub fn scrub_pii(text: &str) -> (String, bool) {
    let a = EMAIL.replace_all(text, "[email]");
    let b = CARD.replace_all(&a, "[card number]");
    let c = PHONE.replace_all(&b, "[phone]");
    let changed = c != text;
    (c.into_owned(), changed)
}

// ---------------------------------------------------------------------------------------------
// Transcripts

/// The first `n` evidence passages of a search (none when it failed).
pub(super) fn top_passages(result: anyhow::Result<crate::retrieval::SearchResult>, n: usize) -> Vec<PromptPassage> {
    match result {
        Ok(r) => r
            .passages
            .into_iter()
            .take(n)
            .map(|h| PromptPassage { slug: h.slug, title: h.title, text: h.text })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Turns evaluation-format cases (turns + reference reply) into examples, with passages from
/// `retriever`: cleaned, scrubbed and de-duplicated.
pub fn from_cases(cases: &[Case], retriever: &Retriever, report: &mut TranscriptReport) -> Vec<Example> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    report.cases += cases.len();
    for case in cases {
        let Some(reference) =
            case.reference.as_deref().map(normalise).filter(|r: &String| r.split_whitespace().count() >= 2)
        else {
            report.no_reference += 1;
            continue;
        };
        let mut scrubbed = false;
        let mut turns = Vec::new();
        for t in &case.turns {
            let (text, s) = scrub_pii(&normalise(&t.text));
            scrubbed |= s;
            if text.is_empty() {
                continue;
            }
            turns.push((if t.role == "agent" { Author::Agent } else { Author::Customer }, text));
        }
        let (reply, s) = scrub_pii(&reference);
        scrubbed |= s;
        if turns.is_empty() {
            report.no_reference += 1;
            continue;
        }
        let query = crate::desk::ports::RetrievalQuery { turns: turns.clone(), tags: Vec::new(), k: 4, language: None };
        let mut passages = top_passages(retriever.search(&query), 2);
        // Teach grounding: when retrieval missed the gold knowledge, the gold passage leads.
        if let Some(gold) = case.gold_passages.first()
            && !passages.iter().any(|p| case.gold_passages.iter().any(|g| p.text.contains(g.as_str())))
        {
            let slug = case.gold.first().cloned().unwrap_or_default();
            passages.insert(0, PromptPassage { title: slug.replace('-', " "), slug, text: gold.clone() });
            passages.truncate(2);
        }
        let example = Example {
            input: PromptInput { passages, profile: Profile::default(), turns },
            reply,
            kind: Kind::Transcript,
        };
        if !seen.insert(example.key()) {
            report.duplicates += 1;
            continue;
        }
        report.scrubbed += usize::from(scrubbed);
        report.kept += 1;
        out.push(example);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_emails_cards_and_phones_but_keeps_order_numbers() {
        let (t, changed) = scrub_pii(
            "mail me at jo.doe+x@example.co.uk or call +1 415-555-0100, card 4111 1111 1111 1111, order HP-204518",
        );
        assert!(changed);
        assert!(t.contains("[email]") && t.contains("[phone]") && t.contains("[card number]"), "{t}");
        assert!(t.contains("HP-204518"), "{t}");
        assert!(!scrub_pii("returns within 30 days").1);
    }

    #[test]
    fn normalise_collapses_space_and_controls() {
        assert_eq!(normalise(" a\t\u{1b}[31m b \n\n c "), "a [31m b c");
    }
}
