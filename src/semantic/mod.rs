//! Understanding by meaning: a sentence encoder (all-MiniLM-L6-v2, shipped in `assets/encoder/`)
//! that maps text to unit vectors whose cosine measures closeness of meaning.
//!
//! - [`bert`]: the BERT encoder in burn (flex CPU backend), shapes on every `forward`.
//! - [`weights`]: loading the converted float16 safetensors (`scripts/convert_encoder.py`).
//! - [`encoder`]: [`Encoder`]: tokenizer + batched forward + mean pooling + L2 normalisation.
//! - [`multilingual`]: [`Multilingual`]: multilingual-e5-small (`assets/encoder-zh`, 4-bit) for
//!   Chinese questions and passages.
//! - [`vectors`]: the vector file kept beside an index; [`dense`]: building it incrementally and
//!   brute-force cosine search.

pub mod bert;
pub mod dense;
pub mod encoder;
pub mod multilingual;
pub mod vectors;
pub mod weights;

pub use dense::{DenseIndex, DenseReport};
pub use encoder::Encoder;
pub use multilingual::Multilingual;

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

/// Dot product: the cosine of two unit vectors. Sixteen running sums, so the compiler can keep
/// them in vector registers (one running sum is a chain of dependent adds, 4x to 8x slower over
/// 100k passages).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (a[..n].chunks_exact(LANES), b[..n].chunks_exact(LANES));
    let tail: f32 = a.remainder().iter().zip(b.remainder()).map(|(x, y)| x * y).sum();
    let mut acc = [0f32; LANES];
    for (x, y) in a.zip(b) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}
