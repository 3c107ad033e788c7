//! `deskpilot bench generation`: load time, time to first token for a 384-token prompt, decode
//! rate, whole-draft time and memory, for a model folder (the shipped one by default).

use super::checkpoint::Checkpoint;
use super::generate::{Guide, Sampling, generate_guided};
use super::net::KvCache;
use super::neural::NeuralDrafter;
use super::tokenizer as tok;
use crate::desk::ports::{DraftRequest, Drafter, Flow, RetrievalQuery, Retriever as _};
use crate::desk::{Message, RequestId};
use crate::retrieval::Retriever;
use anyhow::Result;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Serialize)]
pub struct GenerationBench {
    pub model: String,
    pub parameters: usize,
    pub weights_bytes: u64,
    pub load_ms: f64,
    pub prompt_tokens: usize,
    pub first_token_ms: f64,
    /// The same first token without the content plan (`generate`, no question to plan for).
    pub first_token_unplanned_ms: f64,
    /// The prefill alone (the network's share of the first token).
    pub prefill_ms: f64,
    pub decode_tokens_per_s: f64,
    pub draft_ms: f64,
    pub draft_tokens: f64,
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    pub runs: usize,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// Resident and peak memory of this process in MB (Linux; 0 elsewhere).
pub fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

const QUESTIONS: [&str; 5] = [
    "hi, how long do refunds take to reach my card?",
    "can I return opened headphones? is there a fee",
    "what does express shipping cost",
    "my Aurora lamp won't turn on, what should I do?",
    "I forgot my password and the reset email never came",
];

pub fn run(model_dir: &Path, kb_dir: &Path, data_dir: &Path, runs: usize) -> Result<GenerationBench> {
    let runs = runs.max(1);
    let mut loads = Vec::new();
    let mut ckpt = None;
    for _ in 0..runs.min(5) {
        let t = Instant::now();
        ckpt = Some(Checkpoint::load(model_dir)?);
        loads.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let ckpt = Arc::new(ckpt.expect("loaded at least once"));
    let tk = &ckpt.tokenizer;

    // A 384-token prompt of KB text, a question and the reply marker.
    let (retriever, _) = Retriever::open(kb_dir, data_dir, &|_, _| {})?;
    let kb_text: String = retriever
        .search_text("return refund shipping warranty password delivery", 10)?
        .passages
        .iter()
        .map(|h| h.text.clone())
        .collect::<Vec<_>>()
        .join(" ");
    let mut question = vec![tok::CUSTOMER];
    question.extend(tk.encode(QUESTIONS[0]));
    let mut prompt = vec![tok::KB];
    prompt.extend(tk.encode(&kb_text));
    let body = 384 - question.len() - 1;
    prompt.truncate(body);
    while prompt.len() < body {
        prompt.push(prompt[1 + prompt.len() % 50]);
    }
    prompt.extend(question);
    prompt.push(tok::REPLY);

    let mut ttft = Vec::new();
    let mut prefills = Vec::new();
    let mut unplanned = Vec::new();
    let mut rates = Vec::new();
    let decode_steps = 100;
    // First token as the drafter gets it: prefill plus the content plan over the passages.
    let guide = Guide {
        question: QUESTIONS[0].to_owned(),
        tier: None,
        chosen: Vec::new(),
        member_terms: Vec::new(),
        opened: false,
    };
    let first = Sampling { max_tokens: 1, ..Sampling::default() };
    for _ in 0..runs {
        let g = generate_guided(&ckpt.model, tk, &prompt, &first, Some(&guide), &mut |_| Flow::Continue);
        ttft.push(g.first_token_ms);
        let g = super::generate::generate(&ckpt.model, tk, &prompt, &first, &mut |_| Flow::Continue);
        unplanned.push(g.first_token_ms);
        let t = Instant::now();
        let mut cache = KvCache::default();
        let (memory, out) = ckpt.model.prefill(&prompt, &mut cache);
        prefills.push(t.elapsed().as_secs_f64() * 1e3);
        let p = out.mixed(&memory);
        let mut next = super::generate::choose(&p, &Sampling::default(), &mut super::rng::Rng::new(0));
        let t = Instant::now();
        for _ in 0..decode_steps {
            let out = ckpt.model.step(next.max(tok::SPECIALS.len() as u32), &mut cache, &memory);
            let mut p = out.mixed(&memory);
            p[tok::END as usize] = 0.0;
            next = super::generate::choose(&p, &Sampling::default(), &mut super::rng::Rng::new(0));
        }
        rates.push(decode_steps as f64 / t.elapsed().as_secs_f64());
    }

    // Whole drafts for realistic questions, retrieval excluded.
    let mut drafter = NeuralDrafter::new(ckpt.clone(), 0.0);
    let mut drafts = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..runs.max(QUESTIONS.len()) {
        let q = QUESTIONS[i % QUESTIONS.len()];
        let query = RetrievalQuery::from_text(q, 5);
        let retrieval = retriever.retrieve(&query).map_err(|e| anyhow::anyhow!("retrieval: {e}"))?;
        let request = DraftRequest {
            request: RequestId(i as u64),
            conversation: "bench".into(),
            customer: None,
            messages: vec![Message::customer(q, 0)],
            retrieval,
            details: Vec::new(),
        };
        let r = drafter.draft(&request, &mut |_| Flow::Continue).map_err(|e| anyhow::anyhow!("draft: {e}"))?;
        drafts.push(r.timings.total_ms);
        tokens.push(f64::from(r.timings.tokens));
    }
    let (rss, peak) = rss_mb();
    Ok(GenerationBench {
        model: ckpt.config.version.clone(),
        parameters: ckpt.config.model.parameters(),
        weights_bytes: std::fs::metadata(model_dir.join("model.bpk")).map(|m| m.len()).unwrap_or(0),
        load_ms: median(&mut loads),
        prompt_tokens: prompt.len(),
        first_token_ms: median(&mut ttft),
        first_token_unplanned_ms: median(&mut unplanned),
        prefill_ms: median(&mut prefills),
        decode_tokens_per_s: median(&mut rates),
        draft_ms: median(&mut drafts),
        draft_tokens: median(&mut tokens),
        rss_mb: rss,
        peak_rss_mb: peak,
        runs,
    })
}

impl GenerationBench {
    pub fn table(&self) -> String {
        format!(
            "generation bench: {} ({:.2}M parameters, {:.1} MB weights), median of {} runs\n\
             load                         {:>8.1} ms\n\
             first token ({} prompt tokens) {:>6.1} ms (no plan {:.1} ms, prefill {:.1} ms)\n\
             decode                       {:>8.0} tokens/s\n\
             whole draft (median {:.0} tokens) {:>4.0} ms\n\
             memory                       {:>8.1} MB resident, {:.1} MB peak\n",
            self.model,
            self.parameters as f64 / 1e6,
            self.weights_bytes as f64 / 1e6,
            self.runs,
            self.load_ms,
            self.prompt_tokens,
            self.first_token_ms,
            self.first_token_unplanned_ms,
            self.prefill_ms,
            self.decode_tokens_per_s,
            self.draft_tokens,
            self.draft_ms,
            self.rss_mb,
            self.peak_rss_mb
        )
    }
}
