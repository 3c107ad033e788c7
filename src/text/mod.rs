//! Text analysis shared by retrieval, the answer selector and the drafters: the tantivy
//! analyzers (English stemming and stop words, Chinese words, CJK n-grams, identifiers), CJK
//! detection, content terms, sentence splitting, and what kind of answer a question asks for.

pub mod analyzers;
pub mod facts;

pub use analyzers::{analyze, has_cjk};
use std::collections::HashSet;
use tantivy::tokenizer::TextAnalyzer;
use unicode_segmentation::UnicodeSegmentation;

fn is_cjk(text: &str) -> bool {
    has_cjk(text)
}

/// The sentences of a text, trimmed; blank ones (no letter or digit) dropped.
pub fn sentences(text: &str) -> Vec<&str> {
    text.split_sentence_bounds().map(str::trim).filter(|s| s.chars().any(char::is_alphanumeric)).collect()
}

/// Whether a sentence is a question ("What can cause an insurance lapse?", "退款多久到账？"):
/// in a knowledge base, a heading or an FAQ's question, not an answer.
pub fn is_question(sentence: &str) -> bool {
    sentence.trim_end_matches(|c: char| c.is_whitespace() || c == '*').ends_with(['?', '？'])
}

/// Content terms of a text: stemmed English words without stop words (the retrieval analyzer),
/// plus each CJK character.
pub fn content_terms(text: &str, en: &mut TextAnalyzer) -> HashSet<String> {
    let mut terms: HashSet<String> = analyze(en, text).into_iter().map(|t| t.0).collect();
    terms.extend(text.chars().filter(|c| is_cjk(c.encode_utf8(&mut [0; 4]))).map(String::from));
    terms
}

/// Signs of frustration: several exclamation marks, shouting, or strong words.
pub fn sounds_upset(text: &str) -> bool {
    let shouting = text.split_whitespace().filter(|w| w.len() > 2 && w.chars().all(|c| c.is_uppercase())).count();
    let lower = text.to_lowercase();
    let words = ["ridiculous", "unacceptable", "terrible", "furious", "angry", "worst", "still no", "again?", "scam"];
    text.matches('!').count() >= 2
        || shouting >= 2
        || words.iter().any(|w| lower.contains(w))
        || text.contains("太差")
        || text.contains("生气")
}

/// What kind of answer a question asks for, from how it is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerType {
    /// "how long", "when", "how soon": a duration or a time.
    Time,
    /// "how much", "cost", "fee": an amount of money or a rate.
    Amount,
    /// "how many": a count.
    Count,
    /// "where", "how do I": a place in the app or a procedure (menu paths).
    Place,
}

impl AnswerType {
    /// The answer type of a customer's question, if its wording shows one.
    pub fn of(question: &str) -> Option<Self> {
        // CJK ideographs are alphanumeric too: only punctuation and spaces become separators.
        let q = format!(" {} ", question.to_lowercase().replace(|c: char| !c.is_alphanumeric(), " "));
        let has = |cues: &[&str]| cues.iter().any(|c| q.contains(c));
        if has(&[
            " how long ",
            " when ",
            " how soon ",
            " how fast ",
            " how quickly ",
            "多久",
            "几天",
            "什么时候",
            "多长时间",
            "啥时候",
            "多快",
            "最快",
            "多少天",
            "几个工作日",
        ]) {
            Some(Self::Time)
        } else if has(&[
            " how much ",
            " cost ",
            " costs ",
            " price ",
            " fee ",
            " charge for ",
            " apr ",
            " interest ",
            "多少钱",
            "费用",
            "多少刀",
            "收费",
            "运费",
            "邮费",
            "价格",
            "利息",
            "手续费",
            "罚",
        ]) {
            Some(Self::Amount)
        } else if has(&[" how many ", "几个", "多少个", "几次", "多少次"]) {
            Some(Self::Count)
        } else if has(&[
            " where ",
            " how do i ",
            " how can i ",
            " how to ",
            "在哪",
            "怎么",
            "哪里",
            "哪儿",
            "咋",
            "如何",
        ]) {
            Some(Self::Place)
        } else {
            None
        }
    }

    /// Does this sentence hold an answer of this type?
    pub fn found_in(self, sentence: &str) -> bool {
        static TIME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"(?i)\d\s*(?:-\s*\d+\s*)?(?:business\s+)?(?:minute|hour|day|week|month|year)s?\b|\d\s*(?:pm|am)\b|\d+\s*(?:-\s*\d+\s*)?个?(?:分钟|小时|天|工作日|周|月|年)|\b(?:instant|immediately|same business day|at once)\b|即时|立即").expect("regex")
        });
        static AMOUNT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"[$€£¥]\s*\d|\d\s*%|\d+\s*(?:元|美元)|\bfree\b|免费").expect("regex")
        });
        match self {
            Self::Time => TIME.is_match(sentence),
            Self::Amount => AMOUNT.is_match(sentence),
            Self::Count => sentence.chars().any(|c| c.is_ascii_digit()),
            Self::Place => sentence.contains(" > ") || sentence.contains("「"),
        }
    }
}

/// Whether a sentence leads into a list ("It does not cover:").
pub fn list_lead(sentence: &str) -> bool {
    sentence.trim_end().ends_with([':', '：'])
}

/// Whether a sentence reads as a list item rather than a sentence of its own: no final stop
/// ("drops, cracked screens or other accidental damage", "the remaining balance;"), or, in
/// English, a lower-case start ("whether autopay is turned on.").
pub fn list_item(sentence: &str) -> bool {
    let t = sentence.trim();
    !t.is_empty()
        && !list_lead(t)
        && (!t.ends_with(['.', '!', '?', '。', '！', '？']) || t.starts_with(|c: char| c.is_ascii_lowercase()))
}

/// Does the draft state every fact? Case is ignored, and so is spacing next to Chinese text
/// ("3-5 个工作日" and "3-5个工作日" state the same fact; Chinese puts no spaces between words).
pub fn states_facts(draft: &str, facts: &[String]) -> bool {
    let draft = fact_form(draft);
    facts.iter().all(|f| draft.contains(&fact_form(f)))
}

/// Lower case, whitespace runs as one space, no space beside a CJK character.
fn fact_form(text: &str) -> String {
    let cjk = |c: char| matches!(c, '\u{3000}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}');
    let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
    let mut out = String::with_capacity(text.len());
    for (i, w) in words.iter().enumerate() {
        let joins = i > 0 && (out.chars().last().is_some_and(cjk) || w.chars().next().is_some_and(cjk));
        if i > 0 && !joins {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_leads_and_items_are_told_from_sentences() {
        assert!(list_lead("It does not cover:") && list_lead("包括："));
        assert!(list_item("drops, cracked screens or other accidental damage"));
        assert!(list_item("the remaining balance;") && list_item("whether autopay is turned on."));
        assert!(!list_item("Keep your receipt.") && !list_item("It does not cover:"));
    }

    #[test]
    fn questions_are_told_from_answers() {
        assert!(is_question("What can cause an insurance lapse?") && is_question("**Arrived damaged?**"));
        assert!(is_question("退款多久到账？ "));
        assert!(!is_question("Refunds take 5-7 business days.") && !is_question("Why? Because it is late."));
    }
}
