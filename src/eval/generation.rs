//! Replays cases through retrieval and a drafter and scores the drafts: against the human
//! reference replies (F1, ROUGE-L, BLEU), against the facts a draft must state, and on whether
//! it abstains where the knowledge base has no answer.

use super::Case;
use super::text_metrics::{corpus_bleu, rouge_l, token_f1};
use crate::desk::ports::{DraftRequest, Drafter, Flow, RetrievalQuery, Retriever};
use crate::desk::{Author, Message, RequestId};
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Default, Serialize)]
pub struct GenerationMetrics {
    /// The drafter measured (model version).
    pub drafter: String,
    /// Cases with a reference reply (the ones F1, ROUGE-L and BLEU score).
    pub cases: usize,
    pub token_f1: f64,
    #[serde(rename = "rouge_l")]
    pub rouge_l: f64,
    /// Corpus BLEU-4, SacreBLEU-compatible (13a tokeniser, exp smoothing), 0-100.
    pub bleu: f64,
    /// Share of all drafts that abstained.
    pub abstention_rate: f64,
    /// Cases listing facts a draft must state, and the share whose draft states all of them.
    pub fact_cases: usize,
    pub fact_recall: f64,
    /// Cases the knowledge base cannot answer, and the share where the draft abstained.
    pub abstain_cases: usize,
    pub abstain_recall: f64,
    /// Cases the KB can answer (they list facts), and the share abstained on (wrongly).
    pub answerable_cases: usize,
    pub wrongful_abstentions: f64,
    /// Share of drafts stating a number or identifier found in no passage and not in the conversation.
    pub unsupported_rate: f64,
    pub draft_p50_ms: f64,
    pub draft_p99_ms: f64,
}

/// One case's draft, for `eval --out`.
#[derive(Debug, Clone, Serialize)]
pub struct CaseDraft {
    pub id: String,
    pub draft: String,
    pub abstained: bool,
    pub token_f1: f64,
    pub rouge_l: f64,
    pub unsupported: Vec<String>,
    /// Whether the draft states every listed fact (absent when the case lists none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facts_stated: Option<bool>,
}

pub use crate::text::states_facts;

/// The messages of a case as the domain sees them.
pub fn case_messages(case: &Case) -> Vec<Message> {
    case.turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let author = if t.role == "agent" { Author::Agent } else { Author::Customer };
            Message { author, internal: false, text: t.text.clone(), at: i as i64 }
        })
        .collect()
}

pub fn replay_generation(
    retriever: &dyn Retriever,
    drafter: &mut dyn Drafter,
    cases: &[Case],
    k: usize,
    progress: &dyn Fn(usize),
) -> Result<(GenerationMetrics, Vec<CaseDraft>)> {
    let mut m = GenerationMetrics::default();
    let mut drafts = Vec::new();
    let mut pairs = Vec::new();
    let mut times = Vec::new();
    let (mut abstained, mut unsupported, mut drafted) = (0usize, 0usize, 0usize);
    let (mut stated, mut abstained_right) = (0usize, 0usize);
    for (i, case) in cases.iter().enumerate() {
        progress(i + 1);
        if case.reference.is_none() && case.facts.is_empty() && !case.abstain {
            continue;
        }
        let messages = case_messages(case);
        let started = Instant::now();
        let query = RetrievalQuery {
            turns: messages.iter().map(|m| (m.author, m.text.clone())).collect(),
            tags: Vec::new(),
            k,
            language: None,
        };
        let retrieval = retriever.retrieve(&query).map_err(|e| anyhow::anyhow!("{}: retrieval: {e}", case.id))?;
        let request = DraftRequest {
            request: RequestId(i as u64),
            conversation: case.id.as_str().into(),
            customer: None,
            messages,
            retrieval,
            details: Vec::new(),
        };
        let result =
            drafter.draft(&request, &mut |_| Flow::Continue).map_err(|e| anyhow::anyhow!("{}: draft: {e}", case.id))?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        let missing = crate::model::neural::unsupported(&request, &result.text);
        let (mut f1, mut rl) = (0.0, 0.0);
        if let Some(reference) = &case.reference {
            f1 = token_f1(&result.text, reference);
            rl = rouge_l(&result.text, reference);
            m.token_f1 += f1;
            m.rouge_l += rl;
            pairs.push((result.text.clone(), reference.clone()));
        }
        let facts_stated = (!case.facts.is_empty()).then(|| states_facts(&result.text, &case.facts));
        m.fact_cases += usize::from(facts_stated.is_some());
        stated += usize::from(facts_stated == Some(true));
        m.abstain_cases += usize::from(case.abstain);
        if !case.abstain && !case.facts.is_empty() {
            m.answerable_cases += 1;
            m.wrongful_abstentions += f64::from(u8::from(result.abstained));
        }
        abstained_right += usize::from(case.abstain && result.abstained);
        drafted += 1;
        abstained += usize::from(result.abstained);
        unsupported += usize::from(!missing.is_empty());
        drafts.push(CaseDraft {
            id: case.id.clone(),
            draft: result.text,
            abstained: result.abstained,
            token_f1: f1,
            rouge_l: rl,
            unsupported: missing,
            facts_stated,
        });
        m.drafter = result.model_version;
    }
    m.cases = pairs.len();
    let n = m.cases.max(1) as f64;
    m.token_f1 /= n;
    m.rouge_l /= n;
    m.bleu = corpus_bleu(&pairs);
    let all = drafted.max(1) as f64;
    m.abstention_rate = abstained as f64 / all;
    m.unsupported_rate = unsupported as f64 / all;
    m.fact_recall = stated as f64 / m.fact_cases.max(1) as f64;
    m.abstain_recall = abstained_right as f64 / m.abstain_cases.max(1) as f64;
    m.wrongful_abstentions /= m.answerable_cases.max(1) as f64;
    let (p50, p99) = crate::util::p50_p99(&mut times);
    m.draft_p50_ms = p50;
    m.draft_p99_ms = p99;
    Ok((m, drafts))
}

#[cfg(test)]
mod tests {
    use super::states_facts;

    #[test]
    fn facts_match_ignoring_case_and_spacing_beside_chinese() {
        let facts = |f: &[&str]| f.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(states_facts("退款会在3-5个工作日内到账", &facts(&["3-5 个工作日"])));
        assert!(states_facts("退款会在 3-5 个工作日 内到账", &facts(&["3-5个工作日"])));
        assert!(states_facts("Express costs $12.99.", &facts(&["express COSTS", "$12.99"])));
        assert!(!states_facts("Express costs $12.99.", &facts(&["$12.99", "1-2 business days"])));
        assert!(!states_facts("3-5businessdays", &facts(&["3-5 business days"])));
    }
}
