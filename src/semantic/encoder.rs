//! [`Encoder`]: text -> L2-normalised sentence vector (all-MiniLM-L6-v2: WordPiece tokens, a BERT
//! forward pass, mean pooling over the real tokens).

use super::EncoderError;
use super::bert::{Bert, BertConfig};
use burn::config::Config;
use burn::prelude::*;
use burn::tensor::TensorData;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Most tokens in one forward pass (rows x padded length): big enough for the matrix products
/// to run at full speed, small enough that the attention scores stay in cache.
const BATCH_TOKENS: usize = 2048;
/// Most rows in one forward pass.
const BATCH_ROWS: usize = 32;

/// A loaded sentence encoder. Cheap to share (`Arc`) across threads; `encode` takes `&self`.
pub struct Encoder {
    dir: PathBuf,
    config: BertConfig,
    model: Bert,
    tokenizer: tokenizers::Tokenizer,
    sha256: String,
    cls: u32,
    sep: u32,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encoder({}, dim {}, {})", self.dir.display(), self.dim(), &self.sha256[..8.min(self.sha256.len())])
    }
}

fn sha256_file(path: &Path) -> Result<String, EncoderError> {
    let bytes = std::fs::read(path).map_err(|e| EncoderError::Io { path: path.to_path_buf(), source: e })?;
    Ok(crate::util::hex(&Sha256::digest(&bytes)))
}

/// The sha256 the manifest records for `model.safetensors`, if it records one.
fn manifest_sha(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("manifest.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.pointer("/outputs/model.safetensors")?.as_str().map(str::to_owned)
}

impl Encoder {
    /// Loads `dir` (`config.json`, `tokenizer.json`, `model.safetensors`, `manifest.json`) onto the
    /// CPU device. The weights must match the manifest's hash.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        Self::load_on(dir, &crate::util::device())
    }

    /// [`Encoder::load`] onto `device`.
    pub fn load_on(dir: &Path, device: &Device) -> Result<Self, EncoderError> {
        let (config_path, config) = read_config(dir)?;
        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| EncoderError::Tokenizer { path: tok_path.clone(), reason: e.to_string() })?;
        // Padding and truncation are ours (per batch, and to `max_tokens` in code).
        tokenizer.with_padding(None);
        let _ = tokenizer.with_truncation(None);
        let special = |t: &str| {
            tokenizer
                .token_to_id(t)
                .ok_or_else(|| EncoderError::Tokenizer { path: tok_path.clone(), reason: format!("no {t} token") })
        };
        let (cls, sep) = (special("[CLS]")?, special("[SEP]")?);
        if tokenizer.get_vocab_size(true) != config.vocab {
            return Err(EncoderError::Config {
                path: config_path,
                reason: format!("tokenizer has {} tokens, model {}", tokenizer.get_vocab_size(true), config.vocab),
            });
        }
        let weights = dir.join("model.safetensors");
        let sha256 = sha256_file(&weights)?;
        if let Some(expected) = manifest_sha(dir)
            && expected != sha256
        {
            return Err(EncoderError::Weights {
                path: weights,
                reason: format!("sha256 {sha256} does not match the manifest's {expected}"),
            });
        }
        let model = super::weights::load(&config, &weights, device)?;
        Ok(Self { dir: dir.to_path_buf(), config, model, tokenizer, sha256, cls, sep })
    }

    /// The model, for inspection.
    pub fn model(&self) -> &Bert {
        &self.model
    }

    /// Width of the vectors.
    pub fn dim(&self) -> usize {
        self.config.hidden
    }

    /// sha256 of the weights file: what stored vectors are keyed by.
    pub fn model_sha256(&self) -> &str {
        &self.sha256
    }

    /// Longest input in tokens (special tokens included); longer texts are cut at the end.
    pub fn max_tokens(&self) -> usize {
        self.config.max_tokens.min(self.config.max_positions)
    }

    /// Token ids of `text`: `[CLS] ... [SEP]`, at most [`Encoder::max_tokens`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EncoderError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EncoderError::Tokenizer { path: self.dir.join("tokenizer.json"), reason: e.to_string() })?;
        let mut ids = enc.get_ids().to_vec();
        if ids.is_empty() {
            ids = vec![self.cls, self.sep];
        }
        let max = self.max_tokens().max(2);
        if ids.len() > max {
            ids.truncate(max);
            ids[max - 1] = self.sep;
        }
        Ok(ids)
    }

    /// One L2-normalised vector of [`Encoder::dim`] floats per text, in order. Texts are grouped
    /// by length into batches padded to their longest member (padding is masked out).
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let ids = texts.iter().map(|t| self.token_ids(t)).collect::<Result<Vec<_>, _>>()?;
        Ok(batched(&ids, |batch| self.encode_batch(batch)))
    }

    /// `batch`: token id rows (each `[CLS] ... [SEP]`) -> normalised vectors.
    fn encode_batch(&self, batch: &[&[u32]]) -> Vec<Vec<f32>> {
        let (b, t) = (batch.len(), batch.iter().map(|r| r.len()).max().unwrap_or(0));
        if b == 0 || t == 0 {
            return vec![vec![0.0; self.dim()]; b];
        }
        let (flat, mask) = padded(batch);
        let device = self.model.device();
        let ids = Tensor::<2, Int>::from_data(TensorData::new(flat, [b, t]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [b, t]), &device);
        unit_rows(self.model.forward(ids, mask), b, self.dim())
    }
}

/// `dir/config.json`: its path and the shape it gives; a folder without one has no encoder.
pub(super) fn read_config(dir: &Path) -> Result<(PathBuf, BertConfig), EncoderError> {
    let config_path = dir.join("config.json");
    if !config_path.is_file() {
        return Err(EncoderError::Missing(dir.to_path_buf()));
    }
    let config = BertConfig::load(&config_path)
        .map_err(|e| EncoderError::Config { path: config_path.clone(), reason: e.to_string() })?;
    Ok((config_path, config))
}

/// `batch`'s rows padded to the longest: (token ids, mask with 1.0 on real tokens), row-major.
pub(super) fn padded(batch: &[&[u32]]) -> (Vec<i64>, Vec<f32>) {
    let t = batch.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut flat = vec![0i64; batch.len() * t];
    let mut mask = vec![0f32; batch.len() * t];
    for (r, row) in batch.iter().enumerate() {
        for (j, &id) in row.iter().enumerate() {
            flat[r * t + j] = i64::from(id);
            mask[r * t + j] = 1.0;
        }
    }
    (flat, mask)
}

/// The `b` rows of pooled states (`[b, d]`) as unit vectors.
pub(super) fn unit_rows(pooled: Tensor<2>, b: usize, d: usize) -> Vec<Vec<f32>> {
    let pooled = pooled.into_data().try_to_vec::<f32>().unwrap_or_default();
    pooled
        .chunks(d)
        .map(|row| {
            let mut v = row.to_vec();
            super::normalize(&mut v);
            v
        })
        .chain(std::iter::repeat_with(|| vec![0.0; d]))
        .take(b)
        .collect()
}

/// Runs `run` over `ids` grouped by length into batches padded to their longest member, and
/// returns its vectors in the order of `ids`.
pub(super) fn batched(ids: &[Vec<u32>], run: impl Fn(&[&[u32]]) -> Vec<Vec<f32>> + Sync) -> Vec<Vec<f32>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
    // Batch boundaries first, then the batches on the rayon pool: the matrix products are
    // parallel on their own, but GELU, softmax and LayerNorm run on one thread each, so two
    // batches at once keep both cores busy.
    let mut spans = Vec::new();
    let mut start = 0;
    while start < order.len() {
        // Sorted longest first, so the first row sets the padded length.
        let len = ids[order[start]].len().max(1);
        let rows = (BATCH_TOKENS / len).clamp(1, BATCH_ROWS).min(order.len() - start);
        spans.push(start..start + rows);
        start += rows;
    }
    let real: usize = ids.iter().map(Vec::len).sum();
    let padded: usize = spans.iter().map(|s| s.len() * ids[order[s.start]].len()).sum();
    tracing::debug!(texts = ids.len(), tokens = real, padded, batches = spans.len(), "encoding");
    let vectors: Vec<Vec<Vec<f32>>> = spans
        .par_iter()
        .map(|span| {
            let batch: Vec<&[u32]> = order[span.clone()].iter().map(|&i| ids[i].as_slice()).collect();
            run(&batch)
        })
        .collect();
    let mut out = vec![Vec::new(); ids.len()];
    for (span, vs) in spans.into_iter().zip(vectors) {
        for (k, v) in span.zip(vs) {
            out[order[k]] = v;
        }
    }
    out
}
