//! [`Multilingual`]: multilingual-e5-small (`assets/encoder-zh/`), the encoder for Chinese text.
//! The same BERT blocks as [`super::bert`] (12 of them), with a SentencePiece unigram vocabulary
//! and 4-bit weights (`scripts/convert_e5.py`). The linear layers are expanded to float32 at load;
//! the word table (132k rows) stays 4-bit and is looked up row by row, so the model holds 115 MB
//! of memory, not 290.
//!
//! Text is normalised per character (the package's map), runs of spaces become one, a leading
//! `▁` is added and spaces become `▁`, and the unigram lattice picks the best pieces (the
//! `tokenizers` crate). Questions get the prefix `query: `, what they are compared with
//! `passage: `, as the model was trained.

use super::EncoderError;
use super::bert::{Bert, BertConfig};
use super::encoder::{batched, padded, unit_rows};
use burn::prelude::*;
use burn::tensor::TensorData;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokenizers::Model as _;

/// Bytes of one 4-bit block: a float16 scale and 32 weights, two to a byte.
const BLOCK: usize = 18;
/// Weights per block.
const QK: usize = 32;

/// Which side of a comparison a text is on (the model was trained with a prefix for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A customer's question.
    Query,
    /// A sentence or passage of the KB.
    Passage,
}

/// `vocab.json`.
#[derive(serde::Deserialize)]
struct VocabFile {
    pieces: Vec<(String, f64)>,
    bos: u32,
    eos: u32,
    unk: u32,
    query_prefix: String,
    passage_prefix: String,
    normalize: HashMap<String, String>,
}

/// The multilingual encoder. Cheap to share (`Arc`); `encode` takes `&self`.
pub struct Multilingual {
    config: BertConfig,
    model: Bert,
    /// The word table, 4-bit: `vocab` rows of `hidden / 32` blocks.
    words: Vec<u8>,
    unigram: tokenizers::models::unigram::Unigram,
    normalize: HashMap<char, String>,
    prefixes: [String; 2],
    bos: u32,
    eos: u32,
    sha256: String,
}

impl std::fmt::Debug for Multilingual {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Multilingual(dim {}, {})", self.dim(), &self.sha256[..8.min(self.sha256.len())])
    }
}

/// Expands 4-bit blocks to floats: value = (nibble - 8) * scale, low nibbles first.
fn dequantize(blocks: &[u8], out: &mut Vec<f32>) {
    for b in blocks.chunks_exact(BLOCK) {
        let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
        let qs = &b[2..];
        out.extend(qs.iter().map(|q| (f32::from(q & 0x0f) - 8.0) * d));
        out.extend(qs.iter().map(|q| (f32::from(q >> 4) - 8.0) * d));
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EncoderError> {
    let text = std::fs::read_to_string(path).map_err(|e| EncoderError::Io { path: path.to_path_buf(), source: e })?;
    serde_json::from_str(&text).map_err(|e| EncoderError::Config { path: path.to_path_buf(), reason: e.to_string() })
}

impl Multilingual {
    /// Loads `dir` (`config.json`, `vocab.json`, `model.safetensors`, `manifest.json`) onto the
    /// CPU device. The weights must match the manifest's hash.
    pub fn load(dir: &Path) -> Result<Self, EncoderError> {
        let device = crate::util::device();
        let (_, config) = super::encoder::read_config(dir)?;
        let vocab_path = dir.join("vocab.json");
        let vocab: VocabFile = read_json(&vocab_path)?;
        let tok_err = |reason: String| EncoderError::Tokenizer { path: vocab_path.clone(), reason };
        if vocab.pieces.len() != config.vocab {
            return Err(tok_err(format!("{} pieces, the model has {}", vocab.pieces.len(), config.vocab)));
        }
        let unigram = tokenizers::models::unigram::Unigram::from(vocab.pieces, Some(vocab.unk as usize), false)
            .map_err(|e| tok_err(e.to_string()))?;
        let mut normalize = HashMap::new();
        for (from, to) in vocab.normalize {
            let mut cs = from.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => normalize.insert(c, to),
                _ => return Err(tok_err(format!("normalisation key {from:?} is not one character"))),
            };
        }
        let path = dir.join("model.safetensors");
        let bytes = std::fs::read(&path).map_err(|e| EncoderError::Io { path: path.clone(), source: e })?;
        let sha256 = crate::util::hex(&Sha256::digest(&bytes));
        let bad = |reason: String| EncoderError::Weights { path: path.clone(), reason };
        let manifest: serde_json::Value = read_json(&dir.join("manifest.json"))?;
        if manifest.pointer("/outputs/model.safetensors").and_then(|v| v.as_str()) != Some(sha256.as_str()) {
            return Err(bad(format!("sha256 {sha256} does not match the manifest")));
        }
        let (words, model) = build(&bytes, &config, &device).map_err(bad)?;
        drop(bytes);
        let prefixes = [vocab.query_prefix, vocab.passage_prefix];
        Ok(Self { config, model, words, unigram, normalize, prefixes, bos: vocab.bos, eos: vocab.eos, sha256 })
    }

    /// Width of the vectors.
    pub fn dim(&self) -> usize {
        self.config.hidden
    }

    /// sha256 of the weights file: what stored vectors are keyed by.
    pub fn model_sha256(&self) -> &str {
        &self.sha256
    }

    /// Token ids of `text` with `role`'s prefix: `<s> ... </s>`, at most `max_tokens`.
    pub fn token_ids(&self, text: &str, role: Role) -> Result<Vec<u32>, EncoderError> {
        let prefix = &self.prefixes[usize::from(role == Role::Passage)];
        let mut norm = String::with_capacity(text.len() + prefix.len() + 4);
        for c in prefix.chars().chain(text.chars()) {
            match self.normalize.get(&c) {
                Some(to) => norm.push_str(to),
                None => norm.push(c),
            }
        }
        let mut meta = String::with_capacity(norm.len() + 8);
        if !norm.starts_with(' ') {
            meta.push('▁');
        }
        let mut last_space = false;
        for c in norm.chars() {
            let space = c == ' ';
            if !(space && last_space) {
                meta.push(if space { '▁' } else { c });
            }
            last_space = space;
        }
        let tokens = self
            .unigram
            .tokenize(&meta)
            .map_err(|e| EncoderError::Tokenizer { path: PathBuf::from("vocab.json"), reason: e.to_string() })?;
        let max = self.config.max_tokens.min(self.config.max_positions).max(2);
        let mut ids = Vec::with_capacity(tokens.len().min(max) + 2);
        ids.push(self.bos);
        ids.extend(tokens.iter().map(|t| t.id).take(max - 2));
        ids.push(self.eos);
        Ok(ids)
    }

    /// One L2-normalised vector per text, in order, each read as `role`.
    pub fn encode(&self, texts: &[&str], role: Role) -> Result<Vec<Vec<f32>>, EncoderError> {
        let ids = texts.iter().map(|t| self.token_ids(t, role)).collect::<Result<Vec<_>, _>>()?;
        Ok(batched(&ids, |batch| self.encode_batch(batch)))
    }

    fn encode_batch(&self, batch: &[&[u32]]) -> Vec<Vec<f32>> {
        let (b, t, d) = (batch.len(), batch.iter().map(|r| r.len()).max().unwrap_or(0), self.dim());
        if b == 0 || t == 0 {
            return vec![vec![0.0; d]; b];
        }
        let (flat, mask) = padded(batch);
        let row = d / QK * BLOCK;
        let mut words = Vec::with_capacity(b * t * d);
        for &id in &flat {
            let start = (id as usize) * row;
            match self.words.get(start..start + row) {
                Some(blocks) => dequantize(blocks, &mut words),
                None => words.extend(std::iter::repeat_n(0.0, d)),
            }
        }
        let device = self.model.device();
        let words = Tensor::<3>::from_data(TensorData::new(words, [b, t, d]), &device);
        let mask = Tensor::<2>::from_data(TensorData::new(mask, [b, t]), &device);
        unit_rows(self.model.forward_words(words, mask), b, d)
    }
}

/// The model from the converted file: the 4-bit word table kept as it is, every other tensor
/// expanded to float32 straight into the model (linear weights transposed to `[in, out]` on the
/// way), one tensor at a time.
fn build(bytes: &[u8], config: &BertConfig, device: &Device) -> Result<(Vec<u8>, Bert), String> {
    use safetensors::{Dtype, SafeTensors};
    let file = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let word_name = "embeddings.word_embeddings.weight.q4";
    let row = config.hidden / QK * BLOCK;
    let words = file.tensor(word_name).map_err(|e| format!("{word_name}: {e}"))?;
    if words.dtype() != Dtype::U8 || words.shape() != [config.vocab, row] {
        return Err(format!(
            "{word_name}: {:?} {:?}, expected U8 [{}, {row}]",
            words.dtype(),
            words.shape(),
            config.vocab
        ));
    }
    let words = words.data().to_vec();
    let mut take = |name: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
        let want: usize = shape.iter().product();
        if let Ok(q) = file.tensor(&format!("{name}.q4")) {
            // A linear weight, `[out, in]` in 4-bit rows; burn wants `[in, out]`.
            let &[inputs, outputs] = shape else { return Err(format!("{name}: 4-bit but not a matrix")) };
            if q.dtype() != Dtype::U8 || q.shape() != [outputs, inputs / QK * BLOCK] {
                return Err(format!(
                    "{name}.q4: {:?} {:?}, expected U8 [{outputs}, {}]",
                    q.dtype(),
                    q.shape(),
                    inputs / QK * BLOCK
                ));
            }
            let mut out = vec![0f32; want];
            let mut row = Vec::with_capacity(inputs);
            for (o, blocks) in q.data().chunks_exact(inputs / QK * BLOCK).enumerate() {
                row.clear();
                dequantize(blocks, &mut row);
                for (i, x) in row.iter().enumerate() {
                    out[i * outputs + o] = *x;
                }
            }
            return Ok(out);
        }
        let t = file.tensor(name).map_err(|e| format!("{name}: {e}"))?;
        if t.dtype() != Dtype::F32 || t.shape().iter().product::<usize>() != want {
            return Err(format!("{name}: {:?} {:?}, expected F32 {shape:?}", t.dtype(), t.shape()));
        }
        Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    };
    let model = config.build(device, &mut take)?;
    Ok((words, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_bit_blocks_expand_low_nibbles_first() {
        let mut block = vec![0u8; BLOCK];
        block[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
        block[2] = 0x9f; // low 15 -> +3.5, high 9 -> +0.5
        let mut out = Vec::new();
        dequantize(&block, &mut out);
        assert_eq!(out.len(), QK);
        assert_eq!((out[0], out[16], out[1]), (3.5, 0.5, -4.0));
    }
}
