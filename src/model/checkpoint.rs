//! Checkpoints: a folder with `config.json` (shape, prompt limits, provenance), `model.bpk`
//! (weights in half precision, burnpack), `tokenizer.json` and `manifest.json` (the training
//! data: sources, counts, hashes). Loading needs none of the training code.
//!
//! Loading checks before it allocates: the config's shape ([`ModelConfig::check`]), the weights
//! file's size against the shape, and the weights' SHA-256 against `manifest.json`'s
//! `weights_sha256`, so a damaged file is refused by name instead of drafting noise.

use super::net::{Drafter, ModelConfig};
use super::prompt::Limits;
use super::tokenizer::Tokenizer;
use anyhow::{Context, Result, anyhow, bail};
use burn::prelude::*;
use burn::store::{BurnpackStore, HalfPrecisionAdapter, ModuleSnapshot};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "deskpilot-model-1";

/// A model folder that cannot be used, named by file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: invalid model shape: {detail}")]
    Shape { path: PathBuf, detail: String },
    #[error(
        "{path}: the weights do not match their checksum in manifest.json (expected {expected}, found {found}): the file is damaged or was replaced; copy the model folder again or retrain"
    )]
    Checksum { path: PathBuf, expected: String, found: String },
    #[error(
        "{path}: {found} bytes, but config.json's shape needs about {expected} bytes of half-precision weights: the file does not belong to this config"
    )]
    Size { path: PathBuf, expected: u64, found: u64 },
}

/// The longest error text kept from burn (a wrong shape can list every tensor it lacks).
const MAX_DETAIL: usize = 600;

fn shorten(text: String) -> String {
    if text.len() <= MAX_DETAIL {
        return text;
    }
    let mut end = MAX_DETAIL;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} ... ({} more bytes)", &text[..end], text.len() - end)
}

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
    model
        .load_from(&mut store)
        .map_err(|e| anyhow!("{}: cannot load weights: {}", path.display(), shorten(e.to_string())))?;
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
    config.model.check().map_err(|detail| CheckpointError::Shape { path: path.clone(), detail })?;
    let l = &config.limits;
    if l.max_prompt == 0 || l.max_reply == 0 || l.max_passages == 0 || l.max_prompt >= config.model.max_len {
        let detail = format!(
            "limits: max_prompt {} and max_reply {} must be at least 1, max_passages {} at least 1, and the prompt shorter than max_len {}",
            l.max_prompt, l.max_reply, l.max_passages, config.model.max_len
        );
        return Err(CheckpointError::Shape { path, detail }.into());
    }
    Ok(config)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut file = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).with_context(|| format!("{}: cannot read", path.display()))?;
    Ok(crate::util::hex(&h.finalize()))
}

/// The weights checksum recorded in a model folder's `manifest.json`, if any.
pub fn recorded_weights_hash(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("weights_sha256")?.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// What [`verify_weights`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsCheck {
    /// The hash matches `manifest.json`.
    Verified,
    /// `manifest.json` records no hash (a model trained before hashes were recorded).
    Unrecorded,
}

/// Checks `model.bpk` of a model folder: size against the shape, hash against the manifest.
pub fn verify_weights(dir: &Path, config: &CheckpointConfig) -> Result<WeightsCheck> {
    let path = dir.join("model.bpk");
    let found = std::fs::metadata(&path).with_context(|| format!("{}: no such weights file", path.display()))?.len();
    let expected = 2 * config.model.parameters() as u64;
    // Half precision is two bytes a parameter; burnpack adds names and offsets per tensor.
    if found < expected || found > expected + expected / 50 + 65_536 {
        return Err(CheckpointError::Size { path, expected, found }.into());
    }
    match recorded_weights_hash(dir) {
        Some(expected) => {
            let found = sha256_file(&path)?;
            if found != expected {
                return Err(CheckpointError::Checksum { path, expected, found }.into());
            }
            Ok(WeightsCheck::Verified)
        }
        None => Ok(WeightsCheck::Unrecorded),
    }
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
        if verify_weights(dir, &config)? == WeightsCheck::Unrecorded {
            tracing::warn!(dir = %dir.display(), "manifest.json records no weights_sha256; the weights are not verified");
        }
        let model = load_weights(&config.model, &dir.join("model.bpk"), device, true)?;
        Ok(Self { dir: dir.to_path_buf(), config, model, tokenizer })
    }

    pub fn limits(&self) -> Limits {
        self.config.limits
    }
}
