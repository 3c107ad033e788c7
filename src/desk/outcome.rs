//! Classifying what the agent did with a draft: sent as-is, edited, rewritten or discarded.

use super::types::DraftOutcome;

/// Share of the generated draft's words that must survive (in order) for a sent reply to count as
/// an edit of the draft rather than a rewrite.
pub const EDIT_THRESHOLD: f64 = 0.5;

/// Compares the generated draft with the text that was sent. `None` means nothing was sent.
///
/// Whitespace differences alone count as "as-is"; otherwise the longest common subsequence of
/// words, relative to the longer text, decides between an edit and a rewrite.
pub fn classify_outcome(generated: &str, sent: Option<&str>) -> DraftOutcome {
    let Some(sent) = sent.filter(|s| !s.trim().is_empty()) else {
        return DraftOutcome::Discarded;
    };
    let a: Vec<&str> = generated.split_whitespace().collect();
    let b: Vec<&str> = sent.split_whitespace().collect();
    if a == b {
        return DraftOutcome::SentAsIs;
    }
    if word_similarity(&a, &b) >= EDIT_THRESHOLD { DraftOutcome::Edited } else { DraftOutcome::Rewritten }
}

/// LCS length over the longer length, in 0..=1.
pub fn word_similarity(a: &[&str], b: &[&str]) -> f64 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    lcs_len(a, b) as f64 / longest as f64
}

/// Longest common subsequence length with one rolling row (O(n*m) time, O(m) memory).
pub fn lcs_len<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diag = 0;
        for (j, y) in b.iter().enumerate() {
            let up = row[j + 1];
            row[j + 1] = if x == y { diag + 1 } else { up.max(row[j]) };
            diag = up;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let g = "Hi Ana, refunds reach your card in 5-7 business days.";
        assert_eq!(classify_outcome(g, Some(g)), DraftOutcome::SentAsIs);
        assert_eq!(classify_outcome(g, Some(&format!("  {g}\n"))), DraftOutcome::SentAsIs);
        assert_eq!(
            classify_outcome(g, Some("Hi Ana, refunds reach your card in 5-7 business days. Sorry!")),
            DraftOutcome::Edited
        );
        assert_eq!(classify_outcome(g, Some("Let me check with the warehouse.")), DraftOutcome::Rewritten);
        assert_eq!(classify_outcome(g, None), DraftOutcome::Discarded);
        assert_eq!(classify_outcome(g, Some("   ")), DraftOutcome::Discarded);
    }

    #[test]
    fn lcs() {
        assert_eq!(lcs_len(&[1, 2, 3, 4], &[1, 3, 4, 5]), 3);
        assert_eq!(lcs_len::<u8>(&[], &[1]), 0);
    }
}
