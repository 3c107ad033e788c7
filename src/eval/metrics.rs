//! Retrieval metrics. Generation metrics (token F1, ROUGE-L, BLEU) join them with the drafter.

/// 1-based rank of the first relevant item, if any.
pub fn first_relevant_rank(ranked: &[String], gold: &[String]) -> Option<usize> {
    ranked.iter().position(|s| gold.contains(s)).map(|i| i + 1)
}

/// Lower-cased alphanumeric tokens; each CJK character is its own token.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if crate::retrieval::analyzers::has_cjk(c.encode_utf8(&mut [0; 4])) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Share of `gold`'s tokens (as a multiset) found in `passage`.
pub fn token_recall(gold: &str, passage: &str) -> f64 {
    let g = tokens(gold);
    if g.is_empty() {
        return 0.0;
    }
    let mut bag: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for t in tokens(passage) {
        *bag.entry(t).or_default() += 1;
    }
    let mut found = 0;
    for t in &g {
        if let Some(n) = bag.get_mut(t).filter(|n| **n > 0) {
            *n -= 1;
            found += 1;
        }
    }
    found as f64 / g.len() as f64
}

/// A passage "contains" a gold passage when it holds at least this share of its tokens.
pub const EVIDENCE_OVERLAP: f64 = 0.8;

pub fn contains_evidence(passage: &str, gold: &str) -> bool {
    token_recall(gold, passage) >= EVIDENCE_OVERLAP
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_overlap() {
        let r: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        assert_eq!(first_relevant_rank(&r, &["c".into()]), Some(3));
        assert_eq!(first_relevant_rank(&r, &["z".into()]), None);
        assert!(contains_evidence(
            "Refunds to store credit are instant. Cards take 5-7 days.",
            "refunds to store credit are instant"
        ));
        assert!(!contains_evidence("Cards take 5-7 days.", "refunds to store credit are instant"));
        assert_eq!(tokens("退款 AH-200"), ["退", "款", "ah", "200"]);
    }
}
