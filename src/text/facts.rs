//! Facts in a draft: the tokens with a digit in them (durations, prices, model numbers), and
//! which of them no source holds (the grounding check both drafters and the evaluation use).

/// Fact-like tokens: anything with a digit ("3-5", "$4.99", "AH-200", "60").
pub fn facts(text: &str) -> Vec<String> {
    text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '!' | '?' | '"' | '，' | '。' | '；' | '：')
    })
    .map(|t| t.trim_end_matches(['.', ':']).trim_start_matches('$'))
    .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
    .map(str::to_owned)
    .collect()
}

/// Facts in `draft` found in none of `sources` (passages and the conversation itself).
pub fn unsupported_facts(draft: &str, sources: &[&str]) -> Vec<String> {
    let mut out: Vec<String> =
        facts(draft).into_iter().filter(|f| !sources.iter().any(|s| s.contains(f.as_str()))).collect();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_numbers_are_found() {
        let u = unsupported_facts(
            "Refunds take 5-7 business days and cost $9.99.",
            &["Card refunds take 5-7 business days."],
        );
        assert_eq!(u, ["9.99"]);
    }
}
