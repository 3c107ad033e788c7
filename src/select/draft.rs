//! From a draft request to the sentences a reply quotes: the selector's choice for the whole
//! message, plus each separate question's best sentence when a message asks several.

use super::features::{Question, candidates, split_turns};
use super::{Choice, Selector};
use crate::desk::Author;
use crate::desk::ports::DraftRequest;

/// The sentences the selector picks for `request`, in passage order, or `None` to abstain.
pub fn selected_sentences(
    selector: &Selector,
    request: &DraftRequest,
    member_terms: &[String],
) -> Option<Vec<(usize, usize, String)>> {
    let r = &request.retrieval;
    let passages = r.drafter_passages();
    if passages.is_empty() {
        return None;
    }
    let turns: Vec<(Author, String)> =
        request.messages.iter().filter(|m| !m.internal).map(|m| (m.author, m.text.clone())).collect();
    let (latest, earlier) = split_turns(&turns);
    let member = request.customer.as_ref().map(|c| c.tier == crate::desk::Tier::Plus);
    let q = Question {
        latest: &latest,
        earlier: &earlier,
        member,
        member_terms,
        confidence: r.confidence,
        vectors: r.vectors.as_deref(),
    };
    let cands = candidates(passages, &q);
    let (choice, _, _) = selector.decide(&cands);
    let Choice::Answer(mut picked) = choice else { return None };
    // Two questions get two answers: each part's best sentence joins the reply when likely enough.
    let parts = question_parts(&latest);
    if parts.len() > 1 {
        for part in &parts {
            let pq = Question { latest: part, ..q.clone() };
            let pc = candidates(passages, &pq);
            let pp = selector.score(&pc);
            if let Some((i, p)) = pp.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))
                && *p >= selector.file.decision.pick
                && let Some(j) = cands.iter().position(|c| c.text == pc[i].text)
                && !picked.contains(&j)
            {
                picked.push(j);
            }
        }
    }
    let mut out: Vec<(usize, usize, String)> =
        picked.into_iter().map(|i| (cands[i].passage, cands[i].order, cands[i].text.clone())).collect();
    out.sort_by_key(|c| (c.0, c.1));
    Some(out)
}

/// The separate questions of a message ("how much is express? also can I return a rug"), each
/// with a few words of its own; one part when it asks one thing.
pub fn question_parts(message: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = String::new();
    for piece in message.split_inclusive(['?', '？']) {
        current.push_str(piece);
        if piece.ends_with(['?', '？']) {
            parts.push(std::mem::take(&mut current));
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    let mut en = crate::text::analyzers::english();
    let parts: Vec<String> = parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| crate::text::content_terms(p, &mut en).len() >= 2 || crate::text::has_cjk(p))
        .collect();
    if parts.len() > 1 { parts } else { vec![message.to_owned()] }
}
