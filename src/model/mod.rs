//! Drafting models behind the [`crate::desk::ports::Drafter`] port.
//!
//! - [`neural`]: the generator: a small decoder-only transformer with a copy head, built with
//!   burn (flex CPU backend), trained here by `deskpilot train` ([`train`], [`data`]), streamed
//!   token by token ([`generate`]) from a checkpoint ([`checkpoint`]).
//! - [`extractive`]: quotes the retrieved passages' best sentences; the baseline, and the
//!   fallback when no model is installed.

pub mod abstain;
pub mod bench;
pub mod bench_pipeline;
pub mod checkpoint;
pub mod copying;
pub mod data;
pub mod extractive;
pub mod generate;
pub mod layout;
pub mod net;
pub mod neural;
pub mod prompt;
pub use crate::rng;
pub mod tokenizer;
pub mod train;

pub use checkpoint::Checkpoint;
pub use extractive::ExtractiveDrafter;
pub use neural::NeuralDrafter;

use crate::config::Config;

use crate::desk::ports::Drafter;
pub use crate::util::device;
use std::path::Path;

/// Which drafter to use and where its model lives, from the config or command-line flags.
#[derive(Debug, Clone)]
pub struct DrafterChoice {
    pub kind: String,
    pub model_dir: std::path::PathBuf,
    pub min_confidence: f32,
    pub handoff_below: f32,
    pub sampling: generate::Sampling,
    pub focus_sentences: Option<usize>,
    /// The model folder was named (flag or config): its absence is an error, not a fallback.
    pub explicit: bool,
    /// The answer selector's folder (`None`: the hand-written heuristics).
    pub selector_dir: Option<std::path::PathBuf>,
    pub member_terms: Vec<String>,
}

impl DrafterChoice {
    pub fn from_config(config: &Config, model: Option<&Path>, kind: Option<&str>) -> Self {
        let c = &config.model;
        Self {
            kind: kind.unwrap_or(&c.drafter).to_owned(),
            model_dir: model.map(Path::to_path_buf).unwrap_or_else(|| config.model_dir()),
            focus_sentences: Some(c.focus_sentences).filter(|n| *n > 0),
            explicit: model.is_some() || !c.dir.is_empty() || kind.is_some(),
            selector_dir: config.selector_dir(),
            member_terms: c.member_terms.clone(),
            min_confidence: config.retrieval.min_confidence,
            handoff_below: config.retrieval.handoff_below,
            sampling: generate::Sampling {
                temperature: c.temperature,
                top_p: c.top_p,
                max_tokens: c.max_tokens,
                copy_continuation: c.copy_continuation,
                plan: c.plan,
                ..generate::Sampling::default()
            },
        }
    }

    /// Loads the drafter: `neural` loads the checkpoint (an error names the folder), `extractive`
    /// needs nothing. Returns the drafter and its label.
    /// The answer selector, if one is configured: a bundled one that is missing means the
    /// heuristics (logged); a named one that cannot load is an error.
    pub fn load_selector(&self) -> anyhow::Result<Option<std::sync::Arc<crate::select::Selector>>> {
        let Some(dir) = &self.selector_dir else { return Ok(None) };
        if !dir.join("selector.json").is_file() && *dir == crate::config::bundled_asset_dir("selector", "selector.json")
        {
            tracing::warn!("no answer selector at {}; drafts use the hand-written heuristics", dir.display());
            return Ok(None);
        }
        Ok(Some(std::sync::Arc::new(crate::select::Selector::load(dir)?)))
    }

    pub fn load(&self) -> anyhow::Result<(Box<dyn Drafter>, String)> {
        match self.kind.as_str() {
            "extractive" => {
                let selector = self.load_selector()?;
                let label = extractive::version(selector.as_deref());
                let d = ExtractiveDrafter {
                    min_confidence: self.min_confidence,
                    handoff_below: self.handoff_below,
                    selector,
                    member_terms: self.member_terms.clone(),
                    ..ExtractiveDrafter::default()
                };
                Ok((Box::new(d), label))
            }
            "neural" | "decoder" if !self.explicit && !self.model_dir.join("config.json").is_file() => {
                tracing::warn!(
                    "no generator installed at {} (train one with `deskpilot train`); drafting extractively",
                    self.model_dir.display()
                );
                Self { kind: "extractive".into(), ..self.clone() }.load()
            }
            "neural" | "decoder" => {
                let ckpt = std::sync::Arc::new(Checkpoint::load(&self.model_dir)?);
                let mut d = NeuralDrafter::new(ckpt, self.min_confidence);
                d.handoff_below = self.handoff_below;
                d.sampling = generate::Sampling {
                    max_tokens: self.sampling.max_tokens.min(d.sampling.max_tokens),
                    ..self.sampling.clone()
                };
                d.focus_sentences = self.focus_sentences;
                d.selector = self.load_selector()?;
                d.member_terms = self.member_terms.clone();
                if self.kind == "decoder" {
                    // The ablation: what the network writes from the retrieved passages alone.
                    (d.guided, d.selector, d.focus_sentences) = (false, None, None);
                }
                let label = d.version().to_owned();
                Ok((Box::new(d), label))
            }
            other => anyhow::bail!("unknown drafter `{other}` (expected neural, extractive or decoder)"),
        }
    }
}
