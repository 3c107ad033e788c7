//! The neural drafter: the burn generator behind the [`Drafter`] port.
//!
//! Low retrieval confidence (or no passages) gives an honest clarifying question or handoff,
//! flagged as abstained, without running the model. Otherwise the prompt is built from the
//! retrieved evidence, the customer's profile and the recent conversation, and the reply streams
//! out token by token; the sink can stop it between tokens. Every draft names the passages it
//! drew on; facts in it that appear in no passage are reported as unsupported.

use super::checkpoint::Checkpoint;
use super::extractive::{answerable, recent_customer_text};
use super::generate::{Guide, Sampling, generate_guided};
use super::layout::ChineseOnly;
use super::prompt::{self, Limits, Profile, PromptInput, PromptPassage};
use crate::desk::ports::{DraftRequest, DraftResult, Drafter, Flow, PortError};
use crate::desk::{Author, DraftTimings, Passage, Source};
use crate::text::facts::unsupported_facts;
use std::sync::Arc;
use std::time::Instant;

pub struct NeuralDrafter {
    pub checkpoint: Arc<Checkpoint>,
    pub min_confidence: f32,
    pub sampling: Sampling,
    /// Passages are cut to their best sentences for the question (see [`Limits`]).
    pub focus_sentences: Option<usize>,
    /// The answer selector: whether to answer, and which sentences the plan has quoted.
    pub selector: Option<Arc<crate::select::Selector>>,
    pub member_terms: Vec<String>,
    /// `false`: the network alone (the `decoder` ablation): no content plan, and no answerability
    /// check beyond the retrieval confidence.
    pub guided: bool,
    /// A non-answer below this confidence hands off instead of asking (see [`super::abstain`]).
    pub handoff_below: f32,
}

impl NeuralDrafter {
    pub fn new(checkpoint: Arc<Checkpoint>, min_confidence: f32) -> Self {
        let max_tokens = checkpoint.limits().max_reply;
        Self {
            checkpoint,
            min_confidence,
            sampling: Sampling { max_tokens, ..Sampling::default() },
            focus_sentences: None,
            selector: None,
            member_terms: Vec::new(),
            guided: true,
            handoff_below: 0.13,
        }
    }

    pub fn version(&self) -> &str {
        &self.checkpoint.config.version
    }
}

/// The passages a drafter reads: the evidence, else the pane's passages.
pub fn evidence(request: &DraftRequest) -> &[Passage] {
    request.retrieval.drafter_passages()
}

/// Is this reply the model's own abstention?
pub fn is_abstention(text: &str) -> bool {
    text.contains("give you the right answer") || text.contains("为了给您准确的答复")
}

/// The passages a draft drew on: those sharing its facts or most of its content words, in prompt
/// order; at least the first passage used.
pub fn drawn_on(draft: &str, passages: &[PromptPassage]) -> Vec<Source> {
    let words = prompt::words(draft);
    let mut out: Vec<Source> = Vec::new();
    for p in passages {
        let shared = prompt::words(&p.text).intersection(&words).count();
        if shared >= 4 && !out.iter().any(|s| s.slug == p.slug) {
            out.push(Source { slug: p.slug.clone(), title: p.title.clone() });
        }
    }
    if out.is_empty()
        && let Some(p) = passages.first()
    {
        out.push(Source { slug: p.slug.clone(), title: p.title.clone() });
    }
    out
}

/// The prompt input of a draft request.
pub fn prompt_input(request: &DraftRequest, max_passages: usize) -> PromptInput {
    let mut passages: Vec<PromptPassage> = Vec::new();
    for p in evidence(request) {
        if passages.len() >= max_passages {
            break;
        }
        if !passages.iter().any(|q| q.text == p.text) {
            passages.push(PromptPassage { slug: p.slug.clone(), title: p.title.clone(), text: p.text.clone() });
        }
    }
    let profile = request.customer.as_ref().map(Profile::from_customer).unwrap_or_default();
    let turns = request.messages.iter().filter(|m| !m.internal).map(|m| (m.author, m.text.clone())).collect();
    PromptInput { passages, profile, turns }
}

impl Drafter for NeuralDrafter {
    fn draft(&mut self, request: &DraftRequest, sink: &mut dyn FnMut(&str) -> Flow) -> Result<DraftResult, PortError> {
        let started = Instant::now();
        let version = self.checkpoint.config.version.clone();
        let latest =
            request.messages.iter().rev().find(|m| m.author == Author::Customer).map(|m| m.text.as_str()).unwrap_or("");
        let chosen = self.selector.as_ref().map(|s| crate::select::selected_sentences(s, request, &self.member_terms));
        let confident = match &chosen {
            Some(picked) => picked.is_some(),
            None => {
                request.retrieval.confidence >= self.min_confidence
                    && !evidence(request).is_empty()
                    && (!self.guided || answerable(&recent_customer_text(request), evidence(request)))
            }
        };
        if !confident {
            let text = super::abstain::draft(request, self.handoff_below);
            let cancelled = sink(&text) == Flow::Stop;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            return Ok(DraftResult {
                text,
                sources: Vec::new(),
                model_version: version,
                timings: DraftTimings { retrieval_ms: 0.0, first_token_ms: ms, total_ms: ms, tokens: 1 },
                abstained: true,
                cancelled,
            });
        }
        let limits = Limits { focus_sentences: self.focus_sentences, ..self.checkpoint.limits() };
        let chosen: Vec<String> = chosen.flatten().unwrap_or_default().into_iter().map(|c| c.2).collect();
        let mut input = prompt_input(request, usize::MAX);
        // The passages holding the selector's sentences first, so the budget cuts elsewhere.
        input.passages.sort_by_key(|p| !chosen.iter().any(|c| p.text.contains(c.as_str())));
        let cited = input.passages.clone();
        let cited_n = holders(&cited, &chosen);
        merge_chosen(&mut input.passages, &chosen, limits.max_passages);
        let built = prompt::build_keeping(&self.checkpoint.tokenizer, &input, &limits, &chosen);
        let tk = &self.checkpoint.tokenizer;
        // A first reply opens with the greeting by the customer's real name, written here: the
        // network, trained on made-up customers, may greet a name it saw in training instead.
        let opening = (self.guided && !super::extractive::later_reply(request))
            .then(|| super::extractive::opening(request))
            .map(|o| if o.zh { format!("{}{}", o.greeting, o.empathy) } else { spaced(&o.greeting, &o.empathy) })
            .unwrap_or_default();
        let mut ids = built.ids.clone();
        if !opening.is_empty() {
            ids.extend(tk.encode(&opening));
            if sink(&opening) == Flow::Stop {
                return Ok(cancelled_draft(version));
            }
        }
        let guide = Guide {
            question: latest.to_owned(),
            tier: request.customer.as_ref().map(|c| c.tier),
            chosen,
            member_terms: self.member_terms.clone(),
            opened: !opening.is_empty(),
        };
        let guide = Some(&guide).filter(|_| self.guided);
        // A Chinese reply stays Chinese: the network's English sentences are dropped as they stream.
        let mut zh_only = super::extractive::replies_in_chinese(request).then(ChineseOnly::default);
        let mut g = {
            let mut guarded = |piece: &str| match zh_only.as_mut() {
                Some(z) => {
                    let shown = z.push(piece);
                    if shown.is_empty() { Flow::Continue } else { sink(&shown) }
                }
                None => sink(piece),
            };
            generate_guided(&self.checkpoint.model, tk, &ids, &self.sampling, guide, &mut guarded)
        };
        if let Some(z) = zh_only.as_mut() {
            let rest = z.finish();
            if !g.cancelled && !rest.is_empty() && sink(&rest) == Flow::Stop {
                g.cancelled = true;
            }
            g.text = z.text().to_owned();
        }
        if g.body_complete && !g.cancelled && !g.text.trim_end().ends_with(super::layout::ZH_CLOSING) {
            // The drafter closes a reply whose chosen sentences are all in.
            let close = if zh_only.is_some() {
                super::layout::ZH_CLOSING.to_owned()
            } else {
                closing_after(&g.text, super::layout::EN_CLOSING)
            };
            g.text.push_str(&close);
            if sink(&close) == Flow::Stop {
                g.cancelled = true;
            }
        }
        let empty = g.text.trim().is_empty();
        if !opening.is_empty() {
            g.text = format!("{opening}{}", g.text);
        }
        // Sources: the passages the prompt held, the ones merged into its last slot included.
        let used: Vec<PromptPassage> = cited.iter().take(built.passages.len().max(cited_n)).cloned().collect();
        if empty && !g.cancelled {
            // An empty reply is a broken model, never a grounded draft.
            return Err(format!(
                "the generator ({version}) produced an empty draft; its weights may be damaged (`deskpilot doctor` checks them), or draft with `--drafter extractive`"
            )
            .into());
        }
        let abstained = is_abstention(&g.text);
        let sources = if abstained { Vec::new() } else { drawn_on(&g.text, &used) };
        Ok(DraftResult {
            text: g.text.trim().to_owned(),
            sources,
            model_version: version,
            timings: DraftTimings {
                retrieval_ms: 0.0,
                first_token_ms: g.first_token_ms,
                total_ms: started.elapsed().as_secs_f64() * 1e3,
                tokens: g.ids.len() as u32,
            },
            abstained,
            cancelled: g.cancelled,
        })
    }
}

/// The closing to stream after `text`, one blank line before it: the newlines the network has
/// already written (and streamed) count, so a reply never shows two blank lines.
fn closing_after(text: &str, closing: &str) -> String {
    let ends = text.len() - text.trim_end_matches('\n').len();
    format!("{}{closing}", "\n".repeat(2usize.saturating_sub(ends)))
}

/// How many of `passages` (holders first) hold one of the `chosen` sentences.
fn holders(passages: &[PromptPassage], chosen: &[String]) -> usize {
    passages.iter().take_while(|p| chosen.iter().any(|c| p.text.contains(c.as_str()))).count()
}

/// Fits the chosen sentences into the prompt's `max` passage slots: the network reads at most
/// `max` passages (it was trained on two), and the selector's sentences may come from more. The
/// chosen sentences of the holders beyond the last slot are appended to that slot's passage
/// (holders come first), so that every chosen sentence can be quoted. Until this, a third
/// chosen sentence in a third passage never reached the network.
fn merge_chosen(passages: &mut Vec<PromptPassage>, chosen: &[String], max: usize) {
    let n = holders(passages, chosen);
    if max > 0 && n > max {
        let extra: Vec<&str> = passages[max..n]
            .iter()
            .flat_map(|p| chosen.iter().filter(|c| p.text.contains(c.as_str())).map(String::as_str))
            .collect();
        let extra = extra.join(" ");
        let last = &mut passages[max - 1];
        last.text = format!("{} {extra}", last.text.trim_end());
    }
    passages.truncate(max);
}

/// An English opening: the greeting, a blank line, and the apology when there is one (the body
/// follows it on the same line, as in the training replies).
fn spaced(greeting: &str, empathy: &str) -> String {
    if empathy.is_empty() { format!("{greeting}\n\n") } else { format!("{greeting}\n\n{empathy} ") }
}

fn cancelled_draft(model_version: String) -> DraftResult {
    DraftResult {
        text: String::new(),
        sources: Vec::new(),
        model_version,
        timings: DraftTimings::default(),
        abstained: false,
        cancelled: true,
    }
}

/// Facts of a draft found in no passage and nowhere in the conversation.
pub fn unsupported(request: &DraftRequest, draft: &str) -> Vec<String> {
    let r = &request.retrieval;
    let mut sources: Vec<&str> = r.passages.iter().chain(&r.evidence).map(|p| p.text.as_str()).collect();
    sources.extend(request.messages.iter().map(|m| m.text.as_str()));
    unsupported_facts(draft, &sources)
}

#[cfg(test)]
mod tests {
    use super::{PromptPassage, closing_after, holders, merge_chosen};

    fn passage(slug: &str, text: &str) -> PromptPassage {
        PromptPassage { slug: slug.into(), title: slug.into(), text: text.into() }
    }

    #[test]
    fn the_closing_follows_one_blank_line_whatever_the_network_wrote() {
        for text in ["Express costs $12.99.", "Express costs $12.99.\n", "Express costs $12.99.\n\n"] {
            let reply = format!("{text}{}", closing_after(text, "Anything else?"));
            assert_eq!(reply, "Express costs $12.99.\n\nAnything else?", "{text:?}");
        }
    }

    #[test]
    fn chosen_sentences_beyond_the_last_slot_join_it() {
        let chosen =
            vec!["Express takes 1-2 days.".to_owned(), "Refunds take 5 days.".to_owned(), "Codes expire.".to_owned()];
        let mut ps = vec![
            passage("a", "Express takes 1-2 days. Other text."),
            passage("b", "Refunds take 5 days. More."),
            passage("c", "Something. Codes expire."),
            passage("d", "Nothing chosen here."),
        ];
        assert_eq!(holders(&ps, &chosen), 3);
        merge_chosen(&mut ps, &chosen, 2);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].text, "Express takes 1-2 days. Other text.");
        // The third holder's chosen sentence, and only it, joins the last slot.
        assert_eq!(ps[1].text, "Refunds take 5 days. More. Codes expire.");
        assert!(chosen.iter().all(|c| ps.iter().any(|p| p.text.contains(c.as_str()))));

        // Within the slots: nothing is merged, only the passages beyond them are dropped.
        let mut ps = vec![passage("a", "Express takes 1-2 days."), passage("d", "Nothing."), passage("e", "More.")];
        merge_chosen(&mut ps, &chosen, 2);
        assert_eq!(ps.iter().map(|p| p.text.as_str()).collect::<Vec<_>>(), ["Express takes 1-2 days.", "Nothing."]);
    }
}
