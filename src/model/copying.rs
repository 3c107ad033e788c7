//! The copy mechanism's bookkeeping for guided generation: forcing a verbatim copy, and reading
//! which prompt positions a generated token was copied from.

use super::net::StepOutput;
use super::tokenizer as tok;

/// Makes `step` copy prompt position `j`'s next token and nothing else, and returns that token
/// (`None` when it is a special token: the quote has reached the end of its passage).
pub(super) fn copy_verbatim(step: &mut StepOutput, prompt: &[u32], j: usize) -> Option<u32> {
    let t = *prompt.get(j + 1).filter(|t| **t as usize >= tok::SPECIALS.len())?;
    step.gate = 0.0;
    step.copy.iter_mut().for_each(|c| *c = 0.0);
    if let Some(c) = step.copy.get_mut(j) {
        *c = 1.0;
    }
    Some(t)
}

/// The copy attention that produced `token`, normalised (empty when it was not copied).
pub(super) fn copy_sources(copy: &[f32], prompt: &[u32], token: u32, copy_share: f32, from_vocab: f32) -> Vec<f32> {
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
