//! From a draft request to the sentences a reply quotes: the selector's choice for the whole
//! message, plus each separate question's best sentence when a message asks several.

use super::features::{Question, candidates, split_turns};
use super::{Choice, Selector};
use crate::desk::ports::DraftRequest;
use crate::desk::{Author, Passage};
use crate::text::AnswerType;

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
    let (choice, probs, _) = selector.decide(&cands);
    let Choice::Answer(mut picked) = choice else { return None };
    if !member_terms.iter().any(|t| !t.is_empty() && latest.to_lowercase().contains(&t.to_lowercase())) {
        apply_tier(&mut picked, &cands, &probs, passages, member, member_terms);
    }
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

/// Most items a chosen lead-in brings with it.
const MAX_ITEMS: usize = 6;

/// A list item quoted alone reads as a fragment ("drops, cracked screens or other accidental
/// damage"), and a lead-in alone promises a list it does not give ("go to Account > HarborPay to
/// see:"). So a chosen item brings the sentence that leads into its list, and a chosen lead-in
/// its items (`chosen`: passage, sentence position, sentence; kept in that order). Added
/// sentences are context, not choices: they take no place under the cap. The extractive drafter
/// quotes with them; the neural one does not (the network, steered to more sentences, drops
/// some: dev facts stated 73.9% -> 71.7%, docs/quality.md).
pub fn with_list_context(chosen: &mut Vec<(usize, usize, String)>, passages: &[Passage]) {
    use crate::text::{list_item, list_lead, sentences};
    let mut extra: Vec<(usize, usize, String)> = Vec::new();
    for (p, o, text) in chosen.iter() {
        let Some(passage) = passages.get(*p) else { continue };
        let s = sentences(&passage.text);
        if s.get(*o).is_none_or(|t| t != text) {
            continue;
        }
        if list_lead(text) {
            let items = s.iter().enumerate().skip(o + 1).take(MAX_ITEMS).take_while(|(_, t)| list_item(t));
            extra.extend(items.map(|(k, t)| (*p, k, (*t).to_owned())));
        } else if list_item(text) {
            let before = s[..*o].iter().enumerate().rev().find(|(_, t)| !list_item(t));
            if let Some((k, lead)) = before.filter(|(_, t)| list_lead(t)) {
                extra.push((*p, k, (*lead).to_owned()));
            }
        }
    }
    for e in extra {
        if !chosen.iter().any(|c| c.0 == e.0 && c.1 == e.1) {
            chosen.push(e);
        }
    }
    chosen.sort_by_key(|c| (c.0, c.1));
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

/// Whether `sentence` states a members' rule: it names a member tier outside parentheses
/// ("Harbor+ members get 60 days"), not only as an aside to the general rule ("within 30 days
/// (60 days for Harbor+ members)").
pub fn members_rule(sentence: &str, member_terms: &[String]) -> bool {
    let mut depth = 0usize;
    let mut outside = String::with_capacity(sentence.len());
    for c in sentence.chars() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
    }
    member_terms.iter().any(|t| !t.is_empty() && outside.contains(t.as_str()))
}

fn names_members(sentence: &str, member_terms: &[String]) -> bool {
    member_terms.iter().any(|t| !t.is_empty() && sentence.contains(t.as_str()))
}

/// The tier rules the KB states, applied to the customer's tier (when known; the question does
/// not ask about the tier itself). A customer outside the members' tier is not quoted a members'
/// rule beside the general one. A member whose answer quotes a general rule also gets the
/// members' rule for the same thing: the likeliest sentence of the same article that names the
/// tier and states the same kind of answer (a duration, an amount, a count), preferring one that
/// states the members' rule over an aside.
fn apply_tier(
    picked: &mut Vec<usize>,
    cands: &[super::Candidate],
    probs: &[f32],
    passages: &[Passage],
    member: Option<bool>,
    member_terms: &[String],
) {
    let slug = |i: usize| passages[cands[i].passage].slug.as_str();
    match member {
        Some(false) => {
            let general: Vec<usize> =
                picked.iter().copied().filter(|&i| !members_rule(&cands[i].text, member_terms)).collect();
            if !general.is_empty() {
                *picked = general;
            }
        }
        Some(true) => {
            if picked.iter().any(|&i| names_members(&cands[i].text, member_terms)) {
                return;
            }
            let kinds = [AnswerType::Time, AnswerType::Amount, AnswerType::Count];
            let (mut add, mut complemented) = (Vec::new(), Vec::new());
            for &i in picked.iter() {
                let asked: Vec<AnswerType> = kinds.into_iter().filter(|k| k.found_in(&cands[i].text)).collect();
                let best = (0..cands.len())
                    .filter(|&j| !picked.contains(&j) && !add.contains(&j) && slug(j) == slug(i))
                    .filter(|&j| names_members(&cands[j].text, member_terms))
                    .filter(|&j| asked.iter().any(|k| k.found_in(&cands[j].text)))
                    // A sentence about the members' rule beats an aside in a general one.
                    .max_by(|&a, &b| {
                        let key = |j: usize| (members_rule(&cands[j].text, member_terms), probs[j]);
                        let (ka, kb) = (key(a), key(b));
                        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
                    });
                if let Some(j) = best {
                    add.push(j);
                    complemented.push(i);
                }
            }
            // Within the reply's budget: the members' rule displaces the least likely sentence
            // that it does not complement.
            let budget = picked.len();
            picked.extend(add);
            while picked.len() > budget.max(2) {
                let Some(k) = (0..picked.len())
                    .filter(|&k| {
                        !complemented.contains(&picked[k]) && !names_members(&cands[picked[k]].text, member_terms)
                    })
                    .min_by(|&a, &b| probs[picked[a]].total_cmp(&probs[picked[b]]))
                else {
                    break;
                };
                picked.remove(k);
            }
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_rule_names_the_tier_outside_an_aside() {
        let terms = vec!["Harbor+".to_owned()];
        assert!(members_rule("Harbor+ members get 60 days.", &terms));
        assert!(members_rule("Harbor+ 会员的退货期限为 60 天。", &terms));
        assert!(!members_rule("Returned within 30 days of delivery (or 60 days for Harbor+ members).", &terms));
        assert!(!members_rule("在商品送达后 30 天内提出退货申请（Harbor+ 会员为送达后 60 天内）", &terms));
        assert!(!members_rule("Standard shipping takes 3-5 business days.", &terms));
    }

    #[test]
    fn a_chosen_list_item_brings_its_lead_in_and_a_lead_in_its_items() {
        let text = "The warranty covers manufacturing defects, not accidental damage. It does not cover:\n\
                    drops, cracked screens, liquid spills or other accidental damage\n\
                    normal wear and tear, such as scratches\n\
                    If you want cover for accidental damage, you can add HarborCare.";
        let passage = Passage {
            slug: "warranty".into(),
            title: "Warranty".into(),
            section: Vec::new(),
            text: text.into(),
            score: 1.0,
            highlights: Vec::new(),
        };
        let s = crate::text::sentences(text);
        assert_eq!(s[1], "It does not cover:");
        let at = |k: usize| (0usize, k, s[k].to_owned());
        // An item: its lead-in joins, and nothing else.
        let mut chosen = vec![at(2)];
        with_list_context(&mut chosen, std::slice::from_ref(&passage));
        assert_eq!(chosen, vec![at(1), at(2)]);
        // A lead-in: its items join, not the sentence after the list.
        let mut chosen = vec![at(1)];
        with_list_context(&mut chosen, std::slice::from_ref(&passage));
        assert_eq!(chosen, vec![at(1), at(2), at(3)]);
        // A plain sentence brings nothing.
        let mut chosen = vec![at(4)];
        with_list_context(&mut chosen, std::slice::from_ref(&passage));
        assert_eq!(chosen, vec![at(4)]);
    }
}
