//! The draft pipeline as an agent sees it, stage by stage: from the customer's message arriving
//! to retrieval done (hybrid, query embedding included), the answer selector's choice, the first
//! text in the editor, and the whole draft. Part of `deskpilot bench generation`.

use super::DrafterChoice;
use crate::desk::ports::{DraftRequest, Flow, RetrievalQuery, Retriever as _};
use crate::desk::{Message, RequestId};
use crate::retrieval::Retriever;
use crate::retrieval::bench::{BUNDLED_QUESTIONS, Latency};
use anyhow::Result;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct PipelineBench {
    /// The drafter's label (kind and version).
    pub drafter: String,
    /// Customer message -> retrieval result (query embedding, BM25, fusion, snippets).
    pub retrieval: Latency,
    /// The answer selector alone: candidates, features, scores, decision (absent without one).
    pub selection: Option<Latency>,
    /// Customer message -> first non-blank text handed to the editor.
    pub first_text: Latency,
    /// Customer message -> the whole draft.
    pub whole_draft: Latency,
    /// Drafts that were a handoff or clarifying question rather than an answer.
    pub abstained: usize,
}

fn latency(times: &mut [f64]) -> Latency {
    let (p50, p99) = crate::util::p50_p99(times);
    Latency { queries: times.len(), p50_ms: p50, p99_ms: p99 }
}

/// Runs `runs` drafts (the bundled customer questions in turn, English and Chinese) through
/// `retriever` and the drafter `choice` names, timing each stage from the message's arrival.
pub fn run(choice: &DrafterChoice, retriever: &Retriever, runs: usize) -> Result<PipelineBench> {
    let (mut drafter, label) = choice.load()?;
    let selector = choice.load_selector()?.filter(|_| choice.kind != "decoder");
    let (mut retrieval, mut selection, mut first, mut whole) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut abstained = 0;
    // One warm-up pass: page in the weights and the index.
    for i in 0..runs + BUNDLED_QUESTIONS.len() {
        let q = BUNDLED_QUESTIONS[i % BUNDLED_QUESTIONS.len()];
        let arrived = Instant::now();
        let query = RetrievalQuery::from_text(q, 5);
        let found = retriever.retrieve(&query).map_err(|e| anyhow::anyhow!("retrieval: {e}"))?;
        let retrieved = arrived.elapsed().as_secs_f64() * 1e3;
        let request = DraftRequest {
            request: RequestId(i as u64),
            conversation: "bench".into(),
            customer: None,
            messages: vec![Message::customer(q, 0)],
            retrieval: found,
            details: Vec::new(),
        };
        let selected = selector.as_ref().map(|s| {
            let t = Instant::now();
            std::hint::black_box(crate::select::selected_sentences(s, &request, &choice.member_terms));
            t.elapsed().as_secs_f64() * 1e3
        });
        // The drafter runs its own selection: the selector's time above is measured apart and
        // not added to the draft's.
        let drafting = Instant::now();
        let mut first_ms = None;
        let r = drafter
            .draft(&request, &mut |piece| {
                if first_ms.is_none() && !piece.trim().is_empty() {
                    first_ms = Some(drafting.elapsed().as_secs_f64() * 1e3);
                }
                Flow::Continue
            })
            .map_err(|e| anyhow::anyhow!("draft: {e}"))?;
        let drafted = drafting.elapsed().as_secs_f64() * 1e3;
        if i < BUNDLED_QUESTIONS.len() {
            continue;
        }
        retrieval.push(retrieved);
        selection.extend(selected);
        first.push(retrieved + first_ms.unwrap_or(drafted));
        whole.push(retrieved + drafted);
        abstained += usize::from(r.abstained);
    }
    Ok(PipelineBench {
        drafter: label,
        retrieval: latency(&mut retrieval),
        selection: (!selection.is_empty()).then(|| latency(&mut selection)),
        first_text: latency(&mut first),
        whole_draft: latency(&mut whole),
        abstained,
    })
}

impl PipelineBench {
    pub fn table(&self) -> String {
        let row =
            |name: &str, l: &Latency| format!("  {name:<28} p50 {:>7.1} ms   p99 {:>7.1} ms\n", l.p50_ms, l.p99_ms);
        let mut s = format!(
            "draft pipeline: {} ({} customer questions, {} abstained), from the message's arrival\n",
            self.drafter, self.whole_draft.queries, self.abstained
        );
        s += &row("retrieval (hybrid)", &self.retrieval);
        if let Some(sel) = &self.selection {
            s += &row("answer selector (alone)", sel);
        }
        s += &row("first text in the editor", &self.first_text);
        s += &row("whole draft", &self.whole_draft);
        s
    }
}
