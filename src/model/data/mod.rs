//! Training data, built by the project: synthetic grounded dialogues from any knowledge base,
//! plus cleaned, de-duplicated and PII-scrubbed transcripts.
//!
//! Synthetic dialogues: for each passage, customer questions about its sentences in many
//! phrasings (casual, terse, typos, upset, multi-question, follow-ups that refer back; Chinese for
//! Chinese articles), each answered in an agent's voice: a greeting by name, the passage's own
//! sentences with their exact facts, and a next step. The prompt holds the passage that answers
//! and the best other passage retrieval finds for the question, so the model learns to choose.
//! Questions the knowledge base cannot answer teach abstention.

//!
//! [`transcripts`] cleans and scrubs real conversations; [`synth`] writes the synthetic ones.

mod decontaminate;
mod phrasing;
mod synth;
mod transcripts;

pub use decontaminate::{BUNDLED_EVAL_SETS, EvalQuestions, customer_turns, exclude_eval_questions, held_out_questions};
pub use synth::{ABSTAIN_EN, ABSTAIN_ZH, Synthesizer};
pub use transcripts::{TranscriptReport, from_cases, normalise, scrub_pii};

use super::prompt::PromptInput;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Grounded,
    MultiQuestion,
    FollowUp,
    Abstain,
    Transcript,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub input: PromptInput,
    pub reply: String,
    pub kind: Kind,
}

impl Example {
    /// Identity for de-duplication and the train/validation split.
    pub fn key(&self) -> String {
        let last = self.input.turns.last().map(|t| t.1.as_str()).unwrap_or("");
        format!("{}\u{1}{}", normalise(last).to_lowercase(), normalise(&self.reply).to_lowercase())
    }
}

/// Splits examples into training and validation sets by a hash of their key (stable across
/// runs and independent of order), about `val_fraction` held out.
pub fn split(examples: Vec<Example>, val_fraction: f32) -> (Vec<Example>, Vec<Example>) {
    use sha2::{Digest, Sha256};
    let mut train = Vec::new();
    let mut val = Vec::new();
    let cut = (val_fraction.clamp(0.0, 1.0) * 65536.0) as u32;
    for e in examples {
        let h = Sha256::digest(e.key().as_bytes());
        let v = u32::from(h[0]) << 8 | u32::from(h[1]);
        if v < cut { val.push(e) } else { train.push(e) }
    }
    // A small KB still gets a validation set.
    if val.is_empty() && cut > 0 && train.len() >= 20 {
        let n = (train.len() / 20).max(1);
        val = train.split_off(train.len() - n);
    }
    (train, val)
}

/// Counts per kind, for the manifest.
pub fn counts(examples: &[Example]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for e in examples {
        let k = serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        *m.entry(k).or_default() += 1;
    }
    m
}
