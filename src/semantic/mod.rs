//! Understanding by meaning: a sentence encoder (all-MiniLM-L6-v2, shipped in `assets/encoder/`)
//! that maps text to unit vectors whose cosine measures closeness of meaning.
//!
//! - [`bert`]: the BERT encoder in burn (flex CPU backend), shapes on every `forward`.
//! - [`weights`]: loading the converted float16 safetensors (`scripts/convert_encoder.py`).
//! - [`encoder`]: [`Encoder`]: tokenizer + batched forward + mean pooling + L2 normalisation.
//! - [`vectors`]: the vector file kept beside an index; [`dense`]: building it incrementally and
//!   brute-force cosine search.

pub mod bert;
pub mod dense;
pub mod encoder;
pub mod vectors;
pub mod weights;

pub use dense::{DenseIndex, DenseReport};
pub use encoder::Encoder;

use std::path::PathBuf;

/// Why an encoder could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("{0}: no encoder installed (config.json missing)")]
    Missing(PathBuf),
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid encoder config: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("{path}: tokenizer: {reason}")]
    Tokenizer { path: PathBuf, reason: String },
    #[error("{path}: cannot load weights: {reason}")]
    Weights { path: PathBuf, reason: String },
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Dot product: the cosine of two unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
