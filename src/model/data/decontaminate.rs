//! Keeps evaluation questions out of the training data. A training example whose customer turns
//! repeat an eval question, exactly or nearly (the same words in another order, a typo, a
//! different punctuation), is dropped, so eval figures measure what the model learned rather
//! than what it memorised. The project's own eval sets are always checked; `train --exclude FILE`
//! adds more (e.g. a public set's held-out half).

use super::Example;
use std::collections::HashSet;

/// The eval sets shipped with the project: every customer turn in them is excluded from training.
pub const BUNDLED_EVAL_SETS: [(&str, &str); 4] = [
    ("assets/eval/harbor.jsonl", include_str!("../../../assets/eval/harbor.jsonl")),
    ("assets/eval/customers-dev.jsonl", include_str!("../../../assets/eval/customers-dev.jsonl")),
    ("assets/eval/customers-heldout.jsonl", include_str!("../../../assets/eval/customers-heldout.jsonl")),
    ("assets/eval/customers-tuning.jsonl", include_str!("../../../assets/eval/customers-tuning.jsonl")),
];

/// Two questions whose word (or, for Chinese, character-pair) sets overlap this much are the
/// same question for this purpose.
const NEAR: f64 = 0.8;

/// The customer turns of a JSON-lines case file (lines that do not parse are skipped: the eval
/// loader reports those).
pub fn customer_turns(jsonl: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let turns = v.get("turns").and_then(|t| t.as_array()).cloned().unwrap_or_default();
        for t in turns {
            if t.get("role").and_then(|r| r.as_str()) != Some("agent")
                && let Some(text) = t.get("text").and_then(|x| x.as_str())
            {
                out.push(text.to_owned());
            }
        }
    }
    out
}

/// A question reduced to what identifies it: lower-case words, or character pairs for CJK text.
fn shingles(text: &str) -> HashSet<String> {
    let lower = text.to_lowercase().replace(['\'', '’'], "");
    let cjk: Vec<char> = lower.chars().filter(|c| ('\u{3400}'..='\u{9fff}').contains(c)).collect();
    let mut set: HashSet<String> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '$' && c != '%')
        .filter(|w| !w.is_empty() && !w.chars().any(|c| ('\u{3400}'..='\u{9fff}').contains(&c)))
        .map(str::to_owned)
        .collect();
    set.extend(cjk.windows(2).map(|w| w.iter().collect::<String>()));
    if cjk.len() == 1 {
        set.insert(cjk[0].to_string());
    }
    set
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let common = a.iter().filter(|x| b.contains(*x)).count();
    common as f64 / (a.len() + b.len() - common) as f64
}

/// Eval questions to keep out of training.
#[derive(Debug, Default)]
pub struct EvalQuestions {
    sets: Vec<HashSet<String>>,
    /// Word index: a training turn is compared only with the questions it shares a word with.
    by_word: std::collections::HashMap<String, Vec<usize>>,
}

impl EvalQuestions {
    pub fn new(questions: impl IntoIterator<Item = String>) -> Self {
        let mut q = Self::default();
        for text in questions {
            let set = shingles(&text);
            if set.is_empty() {
                continue;
            }
            let i = q.sets.len();
            for w in &set {
                q.by_word.entry(w.clone()).or_default().push(i);
            }
            q.sets.push(set);
        }
        q
    }

    /// The bundled eval sets' questions.
    pub fn bundled() -> Self {
        Self::new(BUNDLED_EVAL_SETS.iter().flat_map(|(_, text)| customer_turns(text)))
    }

    pub fn len(&self) -> usize {
        self.sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Is `text` one of the eval questions, exactly or nearly?
    pub fn contains(&self, text: &str) -> bool {
        let set = shingles(text);
        let mut seen = HashSet::new();
        for w in &set {
            for &i in self.by_word.get(w).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(i) && jaccard(&set, &self.sets[i]) >= NEAR {
                    return true;
                }
            }
        }
        false
    }

    /// Drops the examples whose customer turns repeat an eval question; returns how many went.
    pub fn remove_from(&self, examples: &mut Vec<Example>) -> usize {
        let before = examples.len();
        examples.retain(|e| {
            !e.input.turns.iter().any(|(author, text)| *author == crate::desk::Author::Customer && self.contains(text))
        });
        before - examples.len()
    }
}

/// The customer turns of case files, read from disk.
fn file_turns<P: AsRef<std::path::Path>>(paths: &[P]) -> anyhow::Result<Vec<String>> {
    use anyhow::Context;
    let mut turns = Vec::new();
    for path in paths.iter().map(AsRef::as_ref) {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        turns.extend(customer_turns(&text));
    }
    Ok(turns)
}

/// Drops the examples that repeat a question of the bundled eval sets or of the `extra` case
/// files; returns (eval questions checked, examples dropped).
pub fn exclude_eval_questions(
    examples: &mut Vec<Example>,
    extra: &[std::path::PathBuf],
) -> anyhow::Result<(usize, usize)> {
    let mut questions: Vec<String> = BUNDLED_EVAL_SETS.iter().flat_map(|(_, text)| customer_turns(text)).collect();
    questions.extend(file_turns(extra)?);
    let eval = EvalQuestions::new(questions);
    Ok((eval.len(), eval.remove_from(examples)))
}

/// The questions a hand-labelled training case must not repeat: those of the bundled frozen
/// held-out sets and of the `extra` case files.
pub fn held_out_questions(extra: &[&std::path::Path]) -> anyhow::Result<EvalQuestions> {
    let mut questions: Vec<String> = BUNDLED_EVAL_SETS
        .iter()
        .filter(|(name, _)| name.contains("heldout"))
        .flat_map(|(_, text)| customer_turns(text))
        .collect();
    questions.extend(file_turns(extra)?);
    Ok(EvalQuestions::new(questions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_near_duplicates_are_found_and_others_are_not() {
        let q =
            EvalQuestions::new(["What's the weather going to be tomorrow?".to_owned(), "明天天气怎么样？".to_owned()]);
        assert!(q.contains("what's the weather going to be tomorrow"));
        assert!(q.contains("tomorrow, what's the weather going to be?"));
        assert!(q.contains("明天天气怎么样"));
        assert!(!q.contains("what's the weather like in your warehouse?"));
        assert!(!q.contains("How much does express shipping cost?"));
    }

    #[test]
    fn the_held_out_guard_holds_the_held_out_questions_only() {
        let q = held_out_questions(&[]).expect("the bundled held-out sets are read");
        let held = customer_turns(BUNDLED_EVAL_SETS[2].1);
        assert!(BUNDLED_EVAL_SETS[2].0.contains("heldout") && !held.is_empty());
        assert!(held.iter().all(|t| q.contains(t)));
        assert!(!q.contains(&customer_turns(BUNDLED_EVAL_SETS[1].1)[0]));
        assert!(held_out_questions(&[std::path::Path::new("/nonexistent.jsonl")]).is_err());
    }

    #[test]
    fn the_bundled_eval_sets_are_read() {
        let q = EvalQuestions::bundled();
        assert!(q.len() > 300, "{}", q.len());
        assert!(q.contains("whats your return window"));
    }
}
