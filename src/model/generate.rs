//! Streaming generation: prefill the prompt once, then decode token by token with the KV cache,
//! greedy or top-p with temperature, with repetition control, stopping at `<|end|>` or the length
//! limit. The sink sees text as soon as it forms whole characters and can stop generation
//! between any two tokens.

use super::net::{Drafter, KvCache};
use super::rng::Rng;
use super::tokenizer::{self as tok, Tokenizer};
use crate::desk::ports::Flow;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    /// 0 means greedy.
    pub temperature: f32,
    pub top_p: f32,
    /// Probabilities of tokens already in the reply are divided by this.
    pub repetition_penalty: f32,
    /// No n-gram of this length is generated twice (0 turns it off).
    pub no_repeat_ngram: usize,
    pub max_tokens: usize,
    pub seed: u64,
    /// Sticky pointer: the share of the copy attention moved to the position right after the
    /// one just copied, so a quoted span continues instead of jumping (0 turns it off).
    pub copy_continuation: f32,
}

impl Default for Sampling {
    fn default() -> Self {
        Self {
            temperature: 0.0,
            top_p: 0.9,
            repetition_penalty: 1.05,
            no_repeat_ngram: 4,
            max_tokens: 120,
            seed: 0,
            copy_continuation: 0.8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generation {
    pub ids: Vec<u32>,
    pub text: String,
    pub prompt_tokens: usize,
    pub first_token_ms: f64,
    pub total_ms: f64,
    pub cancelled: bool,
    /// True when the model ended the reply itself (not the length limit).
    pub finished: bool,
}

impl Generation {
    pub fn tokens_per_s(&self) -> f64 {
        let decode_ms = self.total_ms - self.first_token_ms;
        if self.ids.len() > 1 && decode_ms > 0.0 { (self.ids.len() - 1) as f64 / (decode_ms / 1e3) } else { 0.0 }
    }
}

/// Applies repetition control to `p` in place.
fn control_repetition(p: &mut [f32], generated: &[u32], s: &Sampling) {
    if s.repetition_penalty > 1.0 {
        let mut seen = std::collections::HashSet::new();
        for &id in generated {
            if seen.insert(id)
                && let Some(v) = p.get_mut(id as usize)
            {
                *v /= s.repetition_penalty;
            }
        }
    }
    let n = s.no_repeat_ngram;
    if n >= 2 && generated.len() >= n - 1 {
        let tail = &generated[generated.len() - (n - 1)..];
        for w in generated.windows(n) {
            if &w[..n - 1] == tail
                && let Some(v) = p.get_mut(w[n - 1] as usize)
            {
                *v = 0.0;
            }
        }
    }
    // Padding and prompt markers are never generated.
    for special in [tok::PAD, tok::KB, tok::PROFILE, tok::CUSTOMER, tok::AGENT, tok::REPLY, tok::SEP] {
        if let Some(v) = p.get_mut(special as usize) {
            *v = 0.0;
        }
    }
}

/// Picks the next token.
pub fn choose(p: &[f32], s: &Sampling, rng: &mut Rng) -> u32 {
    if s.temperature <= 0.0 {
        let mut best = 0;
        for (i, v) in p.iter().enumerate() {
            if *v > p[best] {
                best = i;
            }
        }
        return best as u32;
    }
    let inv = 1.0 / s.temperature;
    let mut cand: Vec<(u32, f32)> =
        p.iter().enumerate().filter(|(_, v)| **v > 0.0).map(|(i, v)| (i as u32, v.powf(inv))).collect();
    if cand.is_empty() {
        return tok::END;
    }
    cand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: f32 = cand.iter().map(|c| c.1).sum();
    let mut kept = 0.0;
    let mut cut = cand.len();
    for (i, c) in cand.iter().enumerate() {
        kept += c.1 / total;
        if kept >= s.top_p {
            cut = i + 1;
            break;
        }
    }
    cand.truncate(cut);
    let sum: f32 = cand.iter().map(|c| c.1).sum();
    let mut r = rng.f32() * sum;
    for c in &cand {
        if r < c.1 {
            return c.0;
        }
        r -= c.1;
    }
    cand[cand.len() - 1].0
}

/// Generates a reply to `prompt` (ids ending in `<|reply|>`), streaming text into `sink`.
pub fn generate(
    model: &Drafter,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    sampling: &Sampling,
    sink: &mut dyn FnMut(&str) -> Flow,
) -> Generation {
    generate_guided(model, tokenizer, prompt, sampling, None, sink)
}

/// Does this token end a sentence (or a list item, or a title)?
fn ends_sentence(text: &str) -> bool {
    text.trim_end_matches(' ').ends_with(['.', '!', '?', ':', '\n', '。', '！', '？', '：', '；'])
}

/// [`generate`], with the customer's question guiding where quotes start: when the reply begins
/// a new quote, passage sentences that share words with the question weigh more (the extractive
/// drafter's sentence choice as a prior on the copy head's).
pub fn generate_guided(
    model: &Drafter,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    sampling: &Sampling,
    question: Option<&str>,
    sink: &mut dyn FnMut(&str) -> Flow,
) -> Generation {
    let started = Instant::now();
    let mut rng = Rng::new(sampling.seed);
    let mut out = Generation { prompt_tokens: prompt.len(), ..Default::default() };
    if prompt.is_empty() {
        return out;
    }
    let mut cache = KvCache::default();
    let (memory, mut step) = model.prefill(prompt, &mut cache);
    let mut emitted = 0usize;
    let max_len = model.max_len();
    // Where the last token was copied from: attention mass per prompt position whose next token
    // is the token just produced.
    // Only knowledge passages are quoted at length: spans in the conversation (the customer's own
    // words) are not continued.
    let kb_end = memory
        .ids
        .iter()
        .position(|&t| t == tok::PROFILE || t == tok::CUSTOMER || t == tok::AGENT)
        .unwrap_or(memory.ids.len());
    let mut continuation: Vec<f32> = Vec::new();
    // A quote from a passage starts where a sentence starts: position j (which copies token
    // j + 1) is a start when token j ends a sentence, a list item or the title.
    let starts: Vec<bool> = (0..memory.ids.len().saturating_sub(1))
        .map(|j| {
            if j + 1 >= kb_end || memory.ids[j] == tok::KB {
                return true;
            }
            ends_sentence(&tokenizer.decode(&memory.ids[j..=j]))
        })
        .collect();
    let question_words = question.map(super::prompt::words).unwrap_or_default();
    let prior: Vec<f32> = (0..starts.len())
        .map(|j| {
            if question_words.is_empty() || !starts[j] || j + 1 >= kb_end {
                return 1.0;
            }
            let mut k = j + 1;
            while k < kb_end && memory.ids[k] as usize >= tok::SPECIALS.len() && k - j < 80 {
                if ends_sentence(&tokenizer.decode(&memory.ids[k..=k])) {
                    break;
                }
                k += 1;
            }
            let sentence = tokenizer.decode(&memory.ids[j + 1..k.min(kb_end)]);
            1.0 + 2.0 * super::prompt::words(&sentence).intersection(&question_words).count() as f32
        })
        .collect();
    loop {
        if sampling.copy_continuation > 0.0 && continuation.is_empty() {
            // Reweigh inside the passages only: the profile and the conversation keep their share.
            let kb = kb_end.saturating_sub(1).min(step.copy.len());
            let before: f32 = step.copy[..kb].iter().sum();
            for ((c, s), w) in step.copy[..kb].iter_mut().zip(&starts).zip(&prior) {
                if !s {
                    *c *= 0.1;
                }
                *c *= w;
            }
            let after: f32 = step.copy[..kb].iter().sum();
            if after > 0.0 {
                for c in &mut step.copy[..kb] {
                    *c *= before / after;
                }
            }
        }
        if sampling.copy_continuation > 0.0 && !continuation.is_empty() {
            let lambda = sampling.copy_continuation;
            // Position j copied token j + 1; continuing the span means attending to j + 1 now.
            let mut moved = vec![0.0f32; step.copy.len()];
            for (j, &w) in continuation.iter().enumerate() {
                if let Some(slot) = moved.get_mut(j + 1) {
                    *slot = w;
                }
            }
            for (c, m) in step.copy.iter_mut().zip(&moved) {
                *c = (1.0 - lambda) * *c + lambda * m;
            }
        }
        let mut p = step.mixed(&memory);
        control_repetition(&mut p, &out.ids, sampling);
        let next = choose(&p, sampling, &mut rng);
        if out.ids.is_empty() {
            out.first_token_ms = started.elapsed().as_secs_f64() * 1e3;
        }
        if next == tok::END {
            out.finished = true;
            break;
        }
        out.ids.push(next);
        // Continue a span only when the token really was quoted (the copy branch gave it more
        // probability than the vocabulary did).
        let from_vocab = step.gate * step.vocab.get(next as usize).copied().unwrap_or(0.0);
        continuation = copy_sources(&step.copy, &memory.ids[..kb_end], next, 1.0 - step.gate, from_vocab);
        let text = tokenizer.decode(&out.ids);
        if !text.ends_with('\u{FFFD}') && text.len() > emitted && text.is_char_boundary(emitted) {
            let piece = &text[emitted..];
            emitted = text.len();
            if sink(piece) == Flow::Stop {
                out.cancelled = true;
                out.text = text;
                break;
            }
        }
        if out.ids.len() >= sampling.max_tokens || cache.len + 1 >= max_len {
            break;
        }
        step = model.step(next, &mut cache, &memory);
    }
    if !out.cancelled {
        out.text = tokenizer.decode(&out.ids);
        if out.text.len() > emitted && out.text.is_char_boundary(emitted) {
            let _ = sink(&out.text[emitted..]);
        }
    }
    out.total_ms = started.elapsed().as_secs_f64() * 1e3;
    out
}

/// The copy attention that produced `token`, normalised (empty when it was not copied).
fn copy_sources(copy: &[f32], prompt: &[u32], token: u32, copy_share: f32, from_vocab: f32) -> Vec<f32> {
    let mut w: Vec<f32> =
        copy.iter().enumerate().map(|(j, &a)| if prompt.get(j + 1) == Some(&token) { a } else { 0.0 }).collect();
    let total: f32 = w.iter().sum();
    if total < 0.05 || copy_share * total < from_vocab {
        return Vec::new();
    }
    for v in &mut w {
        *v /= total;
    }
    w
}
