//! Loading the shipped encoder weights (`model.safetensors`, float16, Hugging Face names and
//! `[out, in]` linear layouts) into [`Bert`]: names are remapped onto burn's, linear weights
//! transposed, and every tensor upcast to float32.

use super::EncoderError;
use super::bert::{Bert, BertConfig};
use burn::prelude::*;
use burn::store::{
    FloatCastAdapter, KeyRemapper, ModuleAdapter, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore,
};
use burn::tensor::DType;
use std::path::Path;

/// Hugging Face BERT names -> the fields of [`Bert`], applied in order.
const RENAMES: [(&str, &str); 10] = [
    (r"^embeddings\.word_embeddings\.", "embeddings.word."),
    (r"^embeddings\.position_embeddings\.", "embeddings.position."),
    (r"^embeddings\.token_type_embeddings\.", "embeddings.token_type."),
    (r"^embeddings\.LayerNorm\.", "embeddings.norm."),
    (r"^encoder\.layer\.(\d+)\.attention\.self\.(query|key|value)\.", "layers.$1.$2."),
    (r"^encoder\.layer\.(\d+)\.attention\.output\.dense\.", "layers.$1.attn_out."),
    (r"^encoder\.layer\.(\d+)\.attention\.output\.LayerNorm\.", "layers.$1.attn_norm."),
    (r"^encoder\.layer\.(\d+)\.intermediate\.dense\.", "layers.$1.up."),
    (r"^encoder\.layer\.(\d+)\.output\.dense\.", "layers.$1.down."),
    (r"^encoder\.layer\.(\d+)\.output\.LayerNorm\.", "layers.$1.ffn_norm."),
];

/// Builds a model of `config`'s shape and fills every parameter from `path`; a missing or
/// misshapen tensor is an error (a partial load would embed garbage silently).
pub fn load(config: &BertConfig, path: &Path, device: &Device) -> Result<Bert, EncoderError> {
    if !path.is_file() {
        return Err(EncoderError::Weights { path: path.to_path_buf(), reason: "no such file".into() });
    }
    fill(config, SafetensorsStore::from_file(path), path, device, false)
}

/// Builds a model of `config`'s shape from `store` (Hugging Face names, `[out, in]` linear
/// layouts). With `word_outside`, the word table is not in the store (the model is built with a
/// one-row placeholder and the caller looks words up itself); every other tensor must be.
pub fn fill(
    config: &BertConfig,
    store: SafetensorsStore,
    path: &Path,
    device: &Device,
    word_outside: bool,
) -> Result<Bert, EncoderError> {
    let bad = |reason: String| EncoderError::Weights { path: path.to_path_buf(), reason };
    let mut remapper = KeyRemapper::new();
    for (from, to) in RENAMES {
        remapper = remapper.add_pattern(from, to).map_err(|e| bad(format!("rename pattern: {e}")))?;
    }
    let mut store = store
        .remap(remapper)
        .with_from_adapter(FloatCastAdapter::to(DType::F32).chain(PyTorchToBurnAdapter))
        .allow_partial(word_outside);
    let shape = if word_outside { BertConfig { vocab: 1, ..config.clone() } } else { config.clone() };
    let mut model = shape.init(device);
    let result = model.load_from(&mut store).map_err(|e| bad(e.to_string()))?;
    let missing: Vec<&(String, String)> =
        result.missing.iter().filter(|m| !(word_outside && m.0 == "embeddings.word.weight")).collect();
    if !missing.is_empty() || !result.errors.is_empty() {
        return Err(bad(format!("missing {missing:?}, errors {:?}", result.errors)));
    }
    Ok(model)
}
