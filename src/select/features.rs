//! The candidates the answer selector scores (the sentences of the retrieved passages) and what
//! it reads of each: meaning (cosine with the question and the earlier turns, and the vectors'
//! element-wise product), words shared with the question, where the sentence sits (passage rank,
//! position), what it holds (durations, amounts, menu paths) against what the question asks for,
//! and the customer's tier against the tier a sentence is about.

use crate::desk::{Author, MeaningVectors, Passage};
use crate::text::{AnswerType, analyze, content_terms, has_cjk, sentences};
use std::collections::HashSet;
use tantivy::tokenizer::TextAnalyzer;

/// Number of scalar features per candidate (see [`Candidate::scalars`]).
pub const SCALARS: usize = 41;

/// Indices of the scalar features that [`crate::select::question_features`] reads.
pub const COSINE: usize = 0;
pub const HAS_VECTOR: usize = 4;
pub const WORD_SHARE: usize = 5;
pub const CONFIDENCE: usize = 35;
pub const QUESTION_ZH: usize = 36;
pub const QUESTION_WORDS: usize = 38;
pub const TOPIC_GATE: usize = 40;

/// Passages whose sentences are candidates: the top article's (up to three), then the next
/// articles' best. Five reach an answering sentence for 80% of the tuning set's questions, four
/// for 73%; more than five let in more wrong sentences than answers (see docs/quality.md).
pub const MAX_PASSAGES: usize = 5;

/// What the selector knows of the question.
#[derive(Debug, Clone, Default)]
pub struct Question<'a> {
    /// The customer's latest turn.
    pub latest: &'a str,
    /// The turns before it (customer and agent), oldest first, joined; empty if none.
    pub earlier: &'a str,
    /// Whether the customer belongs to the members' tier (`None`: unknown).
    pub member: Option<bool>,
    /// Words that mark a sentence as a members' rule (the tier's names, from the config).
    pub member_terms: &'a [String],
    /// Retrieval's calibrated confidence.
    pub confidence: f32,
    pub vectors: Option<&'a MeaningVectors>,
}

/// One candidate sentence with its features.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Index of its passage in the list given.
    pub passage: usize,
    /// Its position in the passage.
    pub order: usize,
    pub text: String,
    /// [`SCALARS`] numbers.
    pub scalars: Vec<f32>,
    /// The question's and the sentence's vectors multiplied element-wise (zeros without vectors).
    pub meaning: Vec<f32>,
}

/// Terms of a text for overlap: English content stems and Chinese words.
fn terms(text: &str, en: &mut TextAnalyzer, zh: &mut TextAnalyzer) -> HashSet<String> {
    let mut t = content_terms(text, en);
    if has_cjk(text) {
        t.extend(analyze(zh, text).into_iter().map(|x| x.0).filter(|w| w.chars().count() > 1));
    }
    t
}

fn share(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    if a.is_empty() { 0.0 } else { a.intersection(b).count() as f32 / a.len() as f32 }
}

fn has_digit(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
}

/// Is most of this text's letters Chinese?
pub fn mostly_cjk(text: &str) -> bool {
    let (mut cjk, mut latin) = (0usize, 0usize);
    for c in text.chars() {
        if has_cjk(c.encode_utf8(&mut [0; 4])) {
            cjk += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    cjk > 0 && cjk * 2 >= latin
}

/// Candidates of `passages` (the first [`MAX_PASSAGES`]) for `q`, with their features. A Chinese
/// question only gets Chinese sentences when there are any (no English fragments in a Chinese
/// reply); very short fragments are skipped.
pub fn candidates(passages: &[Passage], q: &Question) -> Vec<Candidate> {
    let mut en = crate::text::analyzers::english();
    let mut zh = crate::text::analyzers::chinese();
    let q_terms = terms(q.latest, &mut en, &mut zh);
    let e_terms = terms(q.earlier, &mut en, &mut zh);
    let asked = AnswerType::of(q.latest).or_else(|| AnswerType::of(q.earlier));
    let q_zh = has_cjk(q.latest);
    let top_slug = passages.first().map(|p| p.slug.as_str()).unwrap_or("");
    let top_score = passages.first().map_or(1.0, |p| p.score.abs().max(1e-6));
    struct Raw {
        passage: usize,
        order: usize,
        text: String,
        lex: f32,
        cos: f32,
        cos_earlier: f32,
        has_vec: bool,
        meaning: Vec<f32>,
        terms: HashSet<String>,
    }
    let mut raw: Vec<Raw> = Vec::new();
    let mut seen = HashSet::new();
    for (pi, p) in passages.iter().take(MAX_PASSAGES).enumerate() {
        for (si, s) in sentences(&p.text).into_iter().enumerate() {
            // A question is a heading or an FAQ's own question, never the answer to quote.
            if s.chars().count() < 12 || crate::text::is_question(s) || !seen.insert(s.to_owned()) {
                continue;
            }
            let v = q.vectors.and_then(|m| m.sentences.get(s).map(|v| (m, v)));
            let (cos, cos_earlier, meaning) = match v {
                Some((m, v)) => (
                    {
                        let [a, b] = m.multilingual.unwrap_or([1.0, 0.0]);
                        a * crate::semantic::dot(&m.latest, v) + b
                    },
                    m.earlier.as_ref().map_or(0.0, |e| crate::semantic::dot(e, v)),
                    // Another encoder's space: the product would mean nothing to the network.
                    if m.multilingual.is_some() {
                        Vec::new()
                    } else {
                        m.latest.iter().zip(v).map(|(a, b)| a * b).collect()
                    },
                ),
                None => (0.0, 0.0, Vec::new()),
            };
            let s_terms = terms(s, &mut en, &mut zh);
            raw.push(Raw {
                passage: pi,
                order: si,
                text: s.to_owned(),
                lex: share(&q_terms, &s_terms),
                cos,
                cos_earlier,
                has_vec: v.is_some(),
                meaning,
                terms: s_terms,
            });
        }
    }
    if q_zh && raw.iter().any(|r| mostly_cjk(&r.text)) {
        raw.retain(|r| mostly_cjk(&r.text));
    }
    let best_lex = raw.iter().map(|r| r.lex).fold(0.0, f32::max);
    let best_cos = raw.iter().filter(|r| r.has_vec).map(|r| r.cos).fold(f32::MIN, f32::max);
    let mut by_cos: Vec<f32> = raw.iter().filter(|r| r.has_vec).map(|r| r.cos).collect();
    by_cos.sort_by(|a, b| b.total_cmp(a));
    let dim = q.vectors.filter(|m| m.multilingual.is_none()).map_or(0, |m| m.latest.len());
    let topic = answerable(&format!("{}\n{}", q.earlier, q.latest), passages);
    raw.into_iter()
        .map(|r| {
            let p = &passages[r.passage];
            let s = r.text.as_str();
            let title_terms = terms(&format!("{} {}", p.title, p.section.join(" ")), &mut en, &mut zh);
            let s_terms = &r.terms;
            let mut f = Vec::with_capacity(SCALARS);
            // Meaning (0-4).
            let cos_rank = by_cos.iter().position(|c| *c <= r.cos).unwrap_or(by_cos.len());
            f.push(r.cos);
            f.push(r.cos_earlier);
            f.push(if r.has_vec { r.cos - best_cos } else { 0.0 });
            f.push(if r.has_vec { 1.0 / (1.0 + cos_rank as f32) } else { 0.0 });
            f.push(f32::from(u8::from(r.has_vec)));
            // Words (5-9).
            f.push(r.lex);
            f.push((q_terms.intersection(s_terms).count() as f32 / 4.0).min(1.0));
            f.push(r.lex - best_lex);
            f.push(share(&e_terms, s_terms));
            f.push(share(&q_terms, &title_terms));
            // Place (10-17).
            for k in 0..4 {
                f.push(f32::from(u8::from(r.passage.min(3) == k)));
            }
            f.push((p.score / top_score).clamp(-1.0, 2.0));
            f.push(f32::from(u8::from(p.slug == top_slug)));
            f.push(f32::from(u8::from(r.order == 0)));
            f.push((r.order as f32 / 10.0).min(1.0));
            // Content (18-23).
            f.push((s.chars().count() as f32 / 200.0).min(1.5));
            f.push(f32::from(u8::from(has_digit(s))));
            f.push(f32::from(u8::from(AnswerType::Amount.found_in(s))));
            f.push(f32::from(u8::from(AnswerType::Time.found_in(s))));
            f.push(f32::from(u8::from(AnswerType::Place.found_in(s))));
            // Always 0 since questions stopped being candidates (above); kept for the width the
            // shipped networks were trained on, and dropped at their next refit.
            f.push(f32::from(u8::from(crate::text::is_question(s))));
            // Asked for, and found (24-31).
            for t in [AnswerType::Time, AnswerType::Amount, AnswerType::Count, AnswerType::Place] {
                f.push(f32::from(u8::from(asked == Some(t))));
            }
            for t in [AnswerType::Time, AnswerType::Amount, AnswerType::Count, AnswerType::Place] {
                f.push(f32::from(u8::from(asked == Some(t) && t.found_in(s))));
            }
            // Tier (32-34).
            let about_members = q.member_terms.iter().any(|t| !t.is_empty() && s.contains(t.as_str()));
            f.push(f32::from(u8::from(about_members)));
            f.push(f32::from(u8::from(about_members && q.member == Some(true))));
            f.push(f32::from(u8::from(about_members && q.member == Some(false))));
            // Question and retrieval (35-39).
            f.push(q.confidence);
            f.push(f32::from(u8::from(q_zh)));
            f.push(f32::from(u8::from(mostly_cjk(s))));
            f.push((q_terms.len() as f32 / 8.0).min(1.5));
            f.push(f32::from(u8::from(!q.earlier.trim().is_empty())));
            // The topic-word gate (40): a passage shares the question's topic words.
            f.push(f32::from(u8::from(topic)));
            debug_assert_eq!(f.len(), SCALARS);
            debug_assert_eq!(f[COSINE], r.cos);
            debug_assert_eq!(f[WORD_SHARE], r.lex);
            debug_assert_eq!(f[TOPIC_GATE], f32::from(u8::from(topic)));
            let meaning = if r.meaning.len() == dim { r.meaning } else { vec![0.0; dim] };
            Candidate { passage: r.passage, order: r.order, text: r.text, scalars: f, meaning }
        })
        .collect()
}

/// Can these passages answer the customer's message? One of the first three must share two of
/// its topic words (one when it has only two; Chinese by words, not characters): retrieval ranks
/// whatever matches best, even for "who won the game last night", and its confidence cannot
/// always tell. Messages too short to judge (a follow-up such as "how much?") count as answerable.
pub fn answerable(message: &str, passages: &[Passage]) -> bool {
    let mut en = crate::text::analyzers::english();
    let mut zh = crate::text::analyzers::chinese();
    // The customer's own words set the bar; the help-centre words for their phrasing
    // ("smashed" -> "damaged") only help to reach it.
    let own = topic_terms(message, &mut en, &mut zh);
    if own.len() < 2 {
        return true;
    }
    let mut question = own.clone();
    question.extend(topic_terms(&crate::retrieval::query::synonyms(message), &mut en, &mut zh));
    let need = if own.len() >= 3 { 2 } else { 1 };
    passages.iter().take(3).any(|p| {
        let text = format!("{}\n{}", p.title, p.text);
        let mut terms = content_terms(&text, &mut en);
        if has_cjk(&text) {
            terms.extend(analyze(&mut zh, &text).into_iter().map(|t| t.0));
        }
        terms.intersection(&question).count() >= need
    })
}

/// What a message is about: its content terms without filler ("please", "need") and without how
/// it asks ("how long", "how many", "when"); Chinese words (jieba, function words dropped).
fn topic_terms(message: &str, en: &mut TextAnalyzer, zh: &mut TextAnalyzer) -> HashSet<String> {
    const ASKING: &[&str] = &["long", "many", "soon", "take", "takes", "time", "happen", "happens", "work", "works"];
    let mut terms: HashSet<String> = analyze(en, message)
        .into_iter()
        .filter(|(_, range)| {
            // Lower-cased per word: lower-casing the whole text can move byte offsets ('İ').
            let surface = message.get(range.clone()).map(str::to_lowercase).unwrap_or_default();
            !crate::retrieval::query::FILLER.contains(&surface.as_str()) && !ASKING.contains(&surface.as_str())
        })
        .map(|t| t.0)
        .filter(|t| !has_cjk(t))
        .collect();
    if has_cjk(message) {
        // How a Chinese question asks ("多久", "怎么") says nothing about its topic either.
        const ASKING_ZH: &[&str] =
            &["多久", "怎么", "怎么办", "什么", "时候", "多少", "几天", "可以", "吗", "呢", "能", "要"];
        terms.extend(
            analyze(zh, message).into_iter().map(|t| t.0).filter(|t| has_cjk(t) && !ASKING_ZH.contains(&t.as_str())),
        );
    }
    terms
}

/// The question parts of a conversation: its latest customer turn and what came before.
pub fn split_turns(turns: &[(Author, String)]) -> (String, String) {
    let at = turns.iter().rposition(|(a, _)| *a == Author::Customer).unwrap_or(turns.len().saturating_sub(1));
    let latest = turns.get(at).map(|t| t.1.clone()).unwrap_or_default();
    let earlier: Vec<&str> = turns[..at.min(turns.len())].iter().rev().take(2).map(|t| t.1.as_str()).collect();
    (latest, earlier.into_iter().rev().collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(slug: &str, text: &str, score: f32) -> Passage {
        Passage { slug: slug.into(), title: slug.into(), section: vec![], text: text.into(), score, highlights: vec![] }
    }

    #[test]
    fn features_have_a_fixed_width_and_chinese_questions_get_chinese_sentences() {
        let ps = [
            passage("a", "Standard shipping takes 3-5 business days. Express costs $12.99.", 2.0),
            passage("zh/a", "标准配送需要 3-5 个工作日。Express shipping 需要加钱。", 1.0),
        ];
        let q = Question { latest: "how long is shipping", ..Question::default() };
        let c = candidates(&ps, &q);
        assert_eq!(c.len(), 4);
        assert!(c.iter().all(|c| c.scalars.len() == SCALARS && c.meaning.is_empty()));
        let zh = Question { latest: "配送要多久", ..Question::default() };
        let c = candidates(&ps, &zh);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].text.starts_with("标准配送"));
    }
}
