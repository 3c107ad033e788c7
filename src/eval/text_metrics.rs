//! Reply-quality metrics against a reference reply: token F1 (SQuAD-style), ROUGE-L F1
//! (rouge-score's tokenisation), corpus BLEU-4 with SacreBLEU's `13a` tokeniser and `exp`
//! smoothing, and a check for facts (numbers, amounts, identifiers) a draft states that no
//! passage supports.

use std::collections::HashMap;

/// SQuAD normalisation: lower case, punctuation and articles removed, whitespace collapsed.
fn squad_tokens(s: &str) -> Vec<String> {
    let lowered: String =
        s.to_lowercase().chars().map(|c| if c.is_alphanumeric() || c.is_whitespace() { c } else { ' ' }).collect();
    lowered.split_whitespace().filter(|w| !matches!(*w, "a" | "an" | "the")).map(str::to_owned).collect()
}

/// Bag-of-tokens F1 between a prediction and a reference.
pub fn token_f1(prediction: &str, reference: &str) -> f64 {
    let p = squad_tokens(prediction);
    let r = squad_tokens(reference);
    if p.is_empty() || r.is_empty() {
        return f64::from(u8::from(p.is_empty() && r.is_empty()));
    }
    let mut bag: HashMap<&str, i32> = HashMap::new();
    for t in &r {
        *bag.entry(t).or_default() += 1;
    }
    let mut same = 0;
    for t in &p {
        if let Some(n) = bag.get_mut(t.as_str()).filter(|n| **n > 0) {
            *n -= 1;
            same += 1;
        }
    }
    if same == 0 {
        return 0.0;
    }
    let precision = f64::from(same) / p.len() as f64;
    let recall = f64::from(same) / r.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// rouge-score's default tokens: lower-cased runs of [a-z0-9].
fn rouge_tokens(s: &str) -> Vec<String> {
    let lowered: String = s.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect();
    lowered.split_whitespace().map(str::to_owned).collect()
}

/// ROUGE-L F1 (longest common subsequence of tokens).
pub fn rouge_l(prediction: &str, reference: &str) -> f64 {
    let p = rouge_tokens(prediction);
    let r = rouge_tokens(reference);
    if p.is_empty() || r.is_empty() {
        return 0.0;
    }
    let lcs = crate::desk::outcome::lcs_len(&p, &r) as f64;
    if lcs == 0.0 {
        return 0.0;
    }
    let precision = lcs / p.len() as f64;
    let recall = lcs / r.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// SacreBLEU's `13a` tokeniser (the mteval-v13a rules).
pub fn tokenize_13a(line: &str) -> Vec<String> {
    let line = line.replace("<skipped>", "").replace("-\n", "").replace('\n', " ");
    let line = if line.contains('&') {
        line.replace("&quot;", "\"").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    } else {
        line
    };
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len() * 2);
    let is_punct = |c: char| matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/');
    for (i, &c) in chars.iter().enumerate() {
        let prev = if i > 0 { Some(chars[i - 1]) } else { None };
        let next = chars.get(i + 1).copied();
        if is_punct(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else if c == '.' || c == ',' {
            // Split unless between digits (3.5, 1,000).
            let digit_before = prev.is_some_and(|p| p.is_ascii_digit());
            let digit_after = next.is_some_and(|n| n.is_ascii_digit());
            if !digit_before || !digit_after {
                out.push(' ');
                out.push(c);
                out.push(' ');
            } else {
                out.push(c);
            }
        } else if c == '-' && prev.is_some_and(|p| p.is_ascii_digit()) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out.split_whitespace().map(str::to_owned).collect()
}

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *m.entry(w).or_default() += 1;
        }
    }
    m
}

/// Corpus BLEU-4 (0-100) over (hypothesis, reference) pairs, single reference each.
pub fn corpus_bleu(pairs: &[(String, String)]) -> f64 {
    let mut matches = [0usize; 4];
    let mut totals = [0usize; 4];
    let (mut sys_len, mut ref_len) = (0usize, 0usize);
    for (hyp, reference) in pairs {
        let h = tokenize_13a(hyp);
        let r = tokenize_13a(reference);
        sys_len += h.len();
        ref_len += r.len();
        for n in 1..=4 {
            let hn = ngrams(&h, n);
            let rn = ngrams(&r, n);
            totals[n - 1] += h.len().saturating_sub(n - 1);
            matches[n - 1] += hn.iter().map(|(g, c)| (*c).min(rn.get(g).copied().unwrap_or(0))).sum::<usize>();
        }
    }
    if sys_len == 0 {
        return 0.0;
    }
    let mut log_sum = 0.0;
    let mut smooth = 1.0;
    for n in 0..4 {
        if totals[n] == 0 {
            return 0.0;
        }
        let p = if matches[n] == 0 {
            smooth *= 2.0;
            100.0 / (smooth * totals[n] as f64)
        } else {
            100.0 * matches[n] as f64 / totals[n] as f64
        };
        log_sum += p.ln();
    }
    let bp = if sys_len < ref_len { (1.0 - ref_len as f64 / sys_len as f64).exp() } else { 1.0 };
    bp * (log_sum / 4.0).exp()
}

pub use crate::text::facts::{facts, unsupported_facts};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_and_rouge() {
        assert!((token_f1("The refund takes 5 days", "refund takes 5 days") - 1.0).abs() < 1e-9);
        assert_eq!(token_f1("hello", "bye"), 0.0);
        let r = rouge_l("police killed the gunman", "the gunman was shot by police");
        assert!((r - 0.4).abs() < 1e-6, "{r}");
    }

    #[test]
    fn tokenizer_13a_matches_sacrebleu() {
        // Expected outputs produced with sacrebleu 2.6.0's Tokenizer13a.
        assert_eq!(
            tokenize_13a("It costs $4.99, free over $50."),
            ["It", "costs", "$", "4.99", ",", "free", "over", "$", "50", "."]
        );
        assert_eq!(tokenize_13a("Takes 3-5 days (AH-200)!"), ["Takes", "3", "-", "5", "days", "(", "AH-200", ")", "!"]);
        assert_eq!(tokenize_13a("don't 1,000 e.g."), ["don't", "1,000", "e", ".", "g", "."]);
    }

    #[test]
    fn bleu_of_identical_text_is_100() {
        let pairs = vec![("the cat sat on the mat today".to_owned(), "the cat sat on the mat today".to_owned())];
        assert!((corpus_bleu(&pairs) - 100.0).abs() < 1e-9);
        assert_eq!(corpus_bleu(&[("".to_owned(), "x".to_owned())]), 0.0);
    }
}
