//! Checkpoints: a folder with `config.json` (shape, prompt limits, provenance), `model.bpk`
//! (weights in half precision, burnpack), `tokenizer.json` and `manifest.json` (the training
//! data: sources, counts, hashes). Loading needs none of the training code.

use super::net::{Drafter, ModelConfig};
use super::prompt::Limits;
use super::tokenizer::Tokenizer;
use anyhow::{Context, Result, anyhow, bail};
use burn::prelude::*;
use burn::store::{BurnpackStore, HalfPrecisionAdapter, ModuleSnapshot};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "deskpilot-model-1";

/// How a checkpoint came to be.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Provenance {
    pub command: String,
    pub steps: usize,
    pub tokens: u64,
    pub seconds: f64,
    pub seed: u64,
    /// Mean training loss over the last validation interval (absent before any step).
    pub final_train_loss: Option<f32>,
    /// Validation loss at the end (absent without a validation set).
    pub final_val_loss: Option<f32>,
    /// The checkpoint this one was fine-tuned from, if any.
    pub base: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckpointConfig {
    pub format: String,
    /// `neural-` and a short hash of the weights: what drafts record as their model version.
    pub version: String,
    pub model: ModelConfig,
    pub limits: Limits,
    pub provenance: Provenance,
}

/// A loaded model, ready to generate.
pub struct Checkpoint {
    pub dir: PathBuf,
    pub config: CheckpointConfig,
    pub model: Drafter,
    pub tokenizer: Tokenizer,
}

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Checkpoint({}, {})", self.dir.display(), self.config.version)
    }
}

/// Saves the weights at half precision (`f16 = true`) or full precision.
pub fn save_weights(model: &Drafter, path: &Path, f16: bool) -> Result<()> {
    let mut store = BurnpackStore::from_file(path).auto_extension(false).overwrite(true);
    if f16 {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    model.save_into(&mut store).map_err(|e| anyhow!("{}: cannot save weights: {e}", path.display()))
}

/// Loads weights into a freshly initialised model of the right shape; `f16`: the file holds half
/// precision weights (the adapter converts by the stored dtype, so it must only see those).
pub fn load_weights(config: &ModelConfig, path: &Path, device: &Device, f16: bool) -> Result<Drafter> {
    if !path.is_file() {
        bail!("{}: no such weights file", path.display());
    }
    let mut model = config.init(device);
    let mut store = BurnpackStore::from_file(path).auto_extension(false);
    if f16 {
        store = store.with_from_adapter(HalfPrecisionAdapter::new());
    }
    model.load_from(&mut store).map_err(|e| anyhow!("{}: cannot load weights: {e}", path.display()))?;
    Ok(model)
}

pub fn write_config(dir: &Path, config: &CheckpointConfig) -> Result<()> {
    let path = dir.join("config.json");
    std::fs::write(&path, serde_json::to_string_pretty(config)? + "\n")
        .with_context(|| format!("{}: cannot write", path.display()))
}

pub fn read_config(dir: &Path) -> Result<CheckpointConfig> {
    let path = dir.join("config.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read (is this a model folder?)", path.display()))?;
    let config: CheckpointConfig =
        serde_json::from_str(&text).with_context(|| format!("{}: invalid model config", path.display()))?;
    if config.format != FORMAT {
        bail!("{}: format `{}`, expected `{FORMAT}`", path.display(), config.format);
    }
    Ok(config)
}

/// Short content hash of a file, for the model version.
pub fn short_hash(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(crate::util::hex(&Sha256::digest(&bytes)[..4]))
}

impl Checkpoint {
    /// Loads a model folder onto the CPU (flex) device.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_on(dir, &super::device())
    }

    pub fn load_on(dir: &Path, device: &Device) -> Result<Self> {
        let config = read_config(dir)?;
        let tokenizer = Tokenizer::load(&dir.join("tokenizer.json"))?;
        if tokenizer.vocab_size() != config.model.vocab {
            bail!(
                "{}: tokenizer has {} tokens but the model expects {}",
                dir.display(),
                tokenizer.vocab_size(),
                config.model.vocab
            );
        }
        let model = load_weights(&config.model, &dir.join("model.bpk"), device, true)?;
        Ok(Self { dir: dir.to_path_buf(), config, model, tokenizer })
    }

    pub fn limits(&self) -> Limits {
        self.config.limits
    }
}
