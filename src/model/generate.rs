//! Streaming generation: prefill the prompt once, then decode token by token with the KV cache,
//! greedy or top-p with temperature, with repetition control, stopping at `<|end|>` or the length
//! limit. The sink sees text as soon as it forms whole characters and can stop generation
//! between any two tokens.

use super::copying::{copy_sources, copy_verbatim};
use super::extractive::{ANSWER_TYPE_BONUS, AnswerType};
pub use super::layout::tidy;
use super::net::{Drafter, KvCache};
use super::rng::Rng;
use super::tokenizer::{self as tok, Tokenizer};
use crate::desk::Tier;
use crate::desk::ports::Flow;
use std::collections::HashSet;
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
    /// Content plan: the share of the passages' copy attention, when a quote starts, given to
    /// the sentences that answer the question (0 turns it off; needs a [`Guide`]).
    pub plan: f32,
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
            plan: 0.8,
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
    /// Stopped because every sentence the selector chose was quoted whole: the drafter closes.
    pub body_complete: bool,
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

/// Is the full stop at the end of `before` (the text so far) part of a number ("$4.99")? With
/// `next` unknown (while generating), a full stop right after a digit is taken to be one.
fn decimal_point(before: &str, next: Option<&str>) -> bool {
    let Some(head) = before.trim_end_matches(' ').strip_suffix('.') else { return false };
    head.ends_with(|c: char| c.is_ascii_digit()) && next.is_none_or(|n| n.starts_with(|c: char| c.is_ascii_digit()))
}

/// Is the full stop ending `piece` inside a word, as in an e-mail address or a domain
/// ("security@harborandpine.example", "www.example.com"): `next` goes on with no space?
fn inside_word(piece: &str, next: &str) -> bool {
    piece.ends_with('.') && next.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// Does this token end a sentence as quotes count them (not a colon or semicolon)?
fn ends_quote(text: &str) -> bool {
    text.trim_end_matches(' ').ends_with(['.', '!', '?', '\n', '。', '！', '？'])
}

/// What guides content selection: the customer's latest message and their tier.
#[derive(Debug, Clone, Default)]
pub struct Guide {
    pub question: String,
    pub tier: Option<Tier>,
    /// The sentences the answer selector chose: when given, the plan quotes these and nothing
    /// else it picks itself.
    pub chosen: Vec<String>,
    /// The members' tier names (`[model] member_terms`): sentences naming one are members' rules.
    pub member_terms: Vec<String>,
    /// The prompt ends with the reply's opening (the greeting by the customer's real name),
    /// written by the drafter: the model's first token may start a quote.
    pub opened: bool,
}

/// How strongly the content plan steers where a quote starts: a sentence's weight is
/// `exp(PLAN_SHARPNESS * score)`.
const PLAN_SHARPNESS: f32 = 1.5;

/// At most this many sentences are quoted because the plan (not the selector) asked for them.
const PLAN_SENTENCES: usize = 3;

/// The content plan (bottom-up copy attention, after Gehrmann et al. 2018, "Bottom-Up
/// Abstractive Summarization"): which passage sentences answer the question.
///
/// Sentences are scored like the extractive drafter scores them (stemmed words shared with the
/// question, facts such as numbers and menu paths, the customer's tier, the passage's rank).
struct Plan {
    /// Per prompt position `j` (which copies token `j + 1`): the weight of starting a quote
    /// there; 0 where no sentence starts.
    weight: Vec<f32>,
    /// The sentence each position belongs to (`usize::MAX` outside the passages).
    sentence: Vec<usize>,
    /// The sentences the reply should quote, best first: `(sentence, start position)`.
    wanted: Vec<(usize, usize)>,
    /// The content words of each sentence.
    words: Vec<HashSet<String>>,
}

impl Plan {
    /// Whether sentence `s` is one the reply should quote and has not quoted yet.
    fn is_open(&self, s: usize, covered: &HashSet<usize>) -> bool {
        !covered.contains(&s) && self.wanted.iter().any(|(w, _)| *w == s)
    }

    /// Whether any wanted sentence is still unquoted.
    fn any_open(&self, covered: &HashSet<usize>) -> bool {
        self.wanted.iter().any(|(w, _)| !covered.contains(w))
    }

    /// With the selector's sentences to quote, where a fresh quote may start (`copy` over the
    /// first `copy.len()` prompt positions): a wanted, unquoted sentence freely (right after a
    /// comma only at a tenth: a sentence glued onto a clause is a splice); other passage text at
    /// a tenth; a sentence already quoted, or anything once all wanted ones are in, not at all.
    /// This is what kept replies from repeating themselves and splicing passage words into their
    /// closing.
    fn restrict_fresh_quotes(&self, copy: &mut [f32], covered: &HashSet<usize>, after_comma: bool) {
        let any_open = self.any_open(covered);
        for (j, c) in copy.iter_mut().enumerate() {
            match self.sentence.get(j) {
                Some(&s) if self.is_open(s, covered) && !after_comma => {}
                Some(s) if any_open && !covered.contains(s) => *c *= 0.1,
                _ => *c = 0.0,
            }
        }
    }
    fn new(tokenizer: &Tokenizer, ids: &[u32], kb_end: usize, guide: Option<&Guide>) -> Self {
        let n = ids.len().saturating_sub(1);
        let mut weight = vec![0.0f32; n];
        let mut sentence = vec![usize::MAX; n];
        let mut scored: Vec<(f32, usize, usize)> = Vec::new();
        let mut words = Vec::new();
        let mut en = crate::retrieval::analyzers::english();
        let question = guide
            .map(|g| (g, super::extractive::content_terms(&super::extractive::with_synonyms(&g.question), &mut en)));
        let answer = guide.and_then(|g| AnswerType::of(&g.question));
        let mut passage = 0usize;
        let mut in_title = false;
        let pieces: Vec<String> = ids[..kb_end.min(ids.len())].iter().map(|&t| tokenizer.decode(&[t])).collect();
        // A sentence ends at token j unless its full stop is a decimal point ("$4.99").
        let ends_at = |j: usize, quote: bool| {
            let piece = &pieces[j];
            let ends = if quote { ends_quote(piece) } else { ends_sentence(piece) };
            let before = format!("{}{piece}", if j > 0 { pieces[j - 1].as_str() } else { "" });
            let next = pieces.get(j + 1).map_or("", String::as_str);
            ends && !decimal_point(&before, Some(next)) && !inside_word(piece, next)
        };
        let mut j = 0;
        while j + 1 < kb_end.min(n + 1) {
            let title = ids[j] == tok::KB;
            if title {
                passage += usize::from(j > 0);
                in_title = true;
            }
            // Sentences as the training replies quote them: a label ending in a colon stays
            // with its text ("More than 14 days after delivery: ..."); the title's colon ends it.
            if !title && !ends_at(j, !in_title) {
                j += 1;
                continue;
            }
            if !title {
                in_title = false;
            }
            let mut k = j + 1;
            while k < kb_end && ids[k] as usize >= tok::SPECIALS.len() && k - j < 80 {
                if ends_at(k, true) || (title && ends_at(k, false)) {
                    break;
                }
                k += 1;
            }
            let id = scored.len();
            for s in &mut sentence[j..k.min(n)] {
                *s = id;
            }
            let mut score = 0.0;
            let text = tokenizer.decode(&ids[j + 1..k.min(kb_end)]);
            words.push(super::prompt::words(&text));
            if let Some((g, _)) = &question
                && !title
                && !g.chosen.is_empty()
            {
                let key = super::prompt::sentence_key(&text);
                let chosen = !key.is_empty() && g.chosen.iter().any(|c| super::prompt::sentence_key(c) == key);
                score = if chosen { 3.0 } else { 0.0 };
            } else if let Some((g, terms)) = &question
                && !title
            {
                let shared = super::extractive::content_terms(&text, &mut en).intersection(terms).count() as f32;
                let facts = text.chars().filter(char::is_ascii_digit).count().min(4) as f32 * 0.15
                    + if text.contains(" > ") { 0.5 } else { 0.0 };
                let rank = if passage == 0 { 1.0 } else { 0.5 };
                let typed = if answer.is_some_and(|a| a.found_in(&text)) { ANSWER_TYPE_BONUS } else { 0.0 };
                score =
                    (shared + facts + typed + super::extractive::profile_bonus(&text, g.tier, &g.member_terms)) * rank;
            }
            weight[j] = (PLAN_SHARPNESS * score).exp();
            scored.push((score, id, j));
            j = k.max(j + 1);
        }
        // Wanted: the best sentence, and up to two more that are at least half as good. The
        // selector's sentences are all wanted: it has capped their number itself (a message that
        // asks two things may get a fourth).
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let best = scored.first().map_or(0.0, |s| s.0);
        let selected = guide.is_some_and(|g| !g.chosen.is_empty());
        let wanted = scored
            .iter()
            .filter(|s| s.0 >= 1.0 && s.0 >= best * 0.5)
            .take(if selected { usize::MAX } else { PLAN_SENTENCES })
            .map(|s| (s.1, s.2))
            .collect();
        Self { weight, sentence, wanted, words }
    }
}

/// [`generate`], with a content plan from the customer's question: when the reply begins a new
/// quote, the copy head's attention is reweighed toward the passage sentences that answer the
/// question (see [`Plan`]); a sentence already quoted is not offered again; right after a quote,
/// a planned sentence not yet quoted is quoted before the reply moves on.
pub fn generate_guided(
    model: &Drafter,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    sampling: &Sampling,
    guide: Option<&Guide>,
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
    let mut plan = Plan::new(tokenizer, &memory.ids, kb_end, guide);
    let plan_share = if guide.is_some() { sampling.plan } else { 0.0 };
    let chosen = guide.is_some_and(|g| !g.chosen.is_empty());
    // Sentences quoted so far, and whether the reply's last finished sentence was a quote.
    let mut covered: HashSet<usize> = HashSet::new();
    // The sentence whose quote began most recently, and how many of its tokens were copied.
    let mut quote: Option<(usize, usize)> = None;
    let (mut sentence_tokens, mut sentence_copied) = (0usize, 0usize);
    let mut after_quote = false;
    // The sentence the plan made the reply quote, while it is being quoted.
    let mut forced: Option<usize> = None;
    let mut reply_text = String::new();
    loop {
        let quoting = continuation.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(j, _)| j + 1);
        forced = forced.filter(|s| quoting.and_then(|j| plan.sentence.get(j)) == Some(s));
        if forced.is_none() && chosen {
            // A quote that runs on into one of the selector's sentences is held to it, too.
            let s = quoting.and_then(|j| plan.sentence.get(j)).copied();
            forced = s.filter(|&s| plan.is_open(s, &covered));
        }
        if forced.is_some() {
            // A planned quote runs to the end of its sentence unless the model insists.
            step.gate = step.gate.min(0.2);
        }
        // Only where the reply itself is between sentences (or clauses) can a fresh quote begin.
        // The reply's first token is the model's own (a greeting, or "Sure!" in a follow-up).
        let opened = guide.is_some_and(|g| g.opened);
        let boundary = out.ids.last().map_or(opened, |&t| {
            let last = tokenizer.decode(&[t]);
            last.trim().is_empty()
                || (ends_sentence(&last) && !decimal_point(&reply_text, None))
                || last.trim_end().ends_with([',', '，'])
        });
        let after_comma = super::layout::after_comma(&reply_text);
        if sampling.copy_continuation > 0.0 && continuation.is_empty() && boundary {
            // A fresh quote starts where a sentence starts, preferably one of the plan's: inside
            // the passages only (the profile and the conversation keep their share), the copy
            // attention is mixed with the plan's distribution.
            let kb = kb_end.saturating_sub(1).min(step.copy.len());
            let before: f32 = step.copy[..kb].iter().sum();
            for (c, w) in step.copy[..kb].iter_mut().zip(&plan.weight) {
                if *w == 0.0 {
                    *c *= 0.1;
                }
            }
            let after: f32 = step.copy[..kb].iter().sum();
            let planned: f32 = plan.weight[..kb].iter().sum();
            if after > 0.0 {
                let mix = if planned > 0.0 { plan_share } else { 0.0 };
                for (c, w) in step.copy[..kb].iter_mut().zip(&plan.weight) {
                    *c = (1.0 - mix) * *c * before / after + mix * before * w / planned;
                }
            }
        }
        if chosen && continuation.is_empty() && boundary {
            let kb = kb_end.saturating_sub(1).min(step.copy.len());
            plan.restrict_fresh_quotes(&mut step.copy[..kb], &covered, after_comma);
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
        let mut next = choose(&p, sampling, &mut rng);
        // A planned quote is copied verbatim to the end of its sentence: its facts are never
        // spliced onto another sentence's words.
        if forced.is_some()
            && let Some(j) = quoting
            && let Some(t) = copy_verbatim(&mut step, &memory.ids, j)
        {
            next = t;
        }
        // Coverage: right after a quote, when the model would start a sentence of its own while
        // a sentence the plan wants is still unquoted, that sentence is quoted instead. The model
        // decides when to quote, the plan what: a quote the model starts on its own at a boundary
        // goes to a planned sentence too.
        // With the selector's sentences to quote, any sentence of the body (after the greeting's
        // line) may be steered, and only those sentences count: quoting something else does not
        // use up the plan.
        let unquoted = plan.any_open(&covered);
        let in_body = chosen
            && !after_comma
            && ((opened && reply_text.trim().is_empty())
                || reply_text.contains('\n')
                || reply_text.trim_end().ends_with(['.', '!', '。', '！']));
        // A quote running on past its sentence's end into text the selector did not choose may
        // be steered too (Chinese sentences follow each other with no space between).
        let ran_on = chosen
            && forced.is_none()
            && out
                .ids
                .last()
                .is_some_and(|&t| ends_sentence(&tokenizer.decode(&[t])) && !decimal_point(&reply_text, None));
        let may_steer = plan_share > 0.0 && (continuation.is_empty() || ran_on) && boundary && unquoted && {
            let starts_sentence = next == tok::END || !tokenizer.decode(&[next]).trim().is_empty();
            let kb = kb_end.saturating_sub(1).min(step.copy.len());
            let copied: f32 = (0..kb).filter(|&j| memory.ids.get(j + 1) == Some(&next)).map(|j| step.copy[j]).sum();
            let quotes_now =
                (1.0 - step.gate) * copied > step.gate * step.vocab.get(next as usize).copied().unwrap_or(0.0);
            ((after_quote || in_body) && starts_sentence) || (quotes_now && !(chosen && after_comma))
        };
        // A planned sentence whose words the reply already holds (knowledge bases repeat their
        // key facts) is not quoted again; the selector's choice was cleared of repeats already.
        let pending: Vec<(usize, usize)> = if may_steer {
            let said = super::prompt::words(&reply_text);
            plan.wanted
                .iter()
                .copied()
                .filter(|(s, _)| {
                    let w = &plan.words[*s];
                    let again = covered.iter().any(|c| plan.words.get(*c) == Some(w));
                    !covered.contains(s) && !again && (chosen || w.intersection(&said).count() * 5 < w.len() * 3)
                })
                .collect()
        } else {
            Vec::new()
        };
        if !pending.is_empty() {
            let mut forced_p = vec![0.0f32; p.len()];
            for &(_, j) in &pending {
                if let Some(v) = memory.ids.get(j + 1).and_then(|&t| forced_p.get_mut(t as usize)) {
                    *v += plan.weight[j];
                }
            }
            control_repetition(&mut forced_p, &out.ids, sampling);
            if forced_p.iter().any(|v| *v > 0.0) {
                next = choose(&forced_p, sampling, &mut rng);
                step.gate = 0.0;
                step.copy.iter_mut().for_each(|c| *c = 0.0);
                for &(s, j) in &pending {
                    if memory.ids.get(j + 1) == Some(&next) {
                        step.copy[j] = plan.weight[j];
                        forced = Some(s);
                    }
                }
            }
        }
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
        let was_quoting = !continuation.is_empty();
        continuation = copy_sources(&step.copy, &memory.ids[..kb_end], next, 1.0 - step.gate, from_vocab);
        if !was_quoting && !continuation.is_empty() {
            // A quote starts: what counts as the reply's sentence starts with it.
            (sentence_tokens, sentence_copied) = (0, 0);
        }
        // A sentence being quoted is not offered as a fresh quote again...
        if let Some((j, _)) = continuation.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))
            && let Some(&quoted) = plan.sentence.get(j).filter(|s| **s != usize::MAX)
        {
            sentence_copied += 1;
            if covered.insert(quoted) {
                plan.weight
                    .iter_mut()
                    .zip(&plan.sentence)
                    .filter(|(w, s)| **s == quoted && **w > 0.0)
                    .for_each(|(w, _)| *w = f32::MIN_POSITIVE);
                quote = Some((quoted, 0));
            }
            quote = quote.map(|(s, n)| (s, n + usize::from(s == quoted)));
        } else if let Some((s, n)) = quote.take()
            && n < 3
        {
            // ... but one left after a word or two ("If you" of another sentence) was not quoted.
            covered.remove(&s);
        }
        let piece = tokenizer.decode(&[next]);
        reply_text = tokenizer.decode(&out.ids);
        sentence_tokens += 1;
        if !piece.trim().is_empty() {
            after_quote = false;
            if ends_sentence(piece.trim_end()) && !decimal_point(&reply_text, None) {
                // The sentence just finished was a quote when most of it was copied.
                after_quote = sentence_tokens >= 4 && sentence_copied * 5 >= sentence_tokens * 3;
                (sentence_tokens, sentence_copied) = (0, 0);
            }
        }
        let text = tidy(&reply_text);
        if !text.ends_with('\u{FFFD}') && text.len() > emitted && text.is_char_boundary(emitted) {
            let piece = &text[emitted..];
            emitted = text.len();
            if sink(piece) == Flow::Stop {
                out.cancelled = true;
                out.text = text;
                break;
            }
        }
        // Every chosen sentence quoted whole: the body is complete, and what the network would
        // write next is its own (at worst "I ship your replacement"), so the drafter closes.
        if chosen
            && ends_quote(&piece)
            && !decimal_point(&reply_text, None)
            && guide.is_some_and(|g| super::layout::holds_all(&reply_text, &g.chosen))
        {
            (out.finished, out.body_complete) = (true, true);
            break;
        }
        if out.ids.len() >= sampling.max_tokens || cache.len + 1 >= max_len {
            break;
        }
        step = model.step(next, &mut cache, &memory);
    }
    if !out.cancelled {
        out.text = tidy(&tokenizer.decode(&out.ids));
        if out.text.len() > emitted && out.text.is_char_boundary(emitted) {
            let _ = sink(&out.text[emitted..]);
        }
    }
    out.total_ms = started.elapsed().as_secs_f64() * 1e3;
    out
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
