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
    let bad = |reason: String| EncoderError::Weights { path: path.to_path_buf(), reason };
    if !path.is_file() {
        return Err(bad("no such file".into()));
    }
    let mut remapper = KeyRemapper::new();
    for (from, to) in RENAMES {
        remapper = remapper.add_pattern(from, to).map_err(|e| bad(format!("rename pattern: {e}")))?;
    }
    let mut store = SafetensorsStore::from_file(path)
        .remap(remapper)
        .with_from_adapter(FloatCastAdapter::to(DType::F32).chain(PyTorchToBurnAdapter))
        .allow_partial(false);
    let mut model = config.init(device);
    let result = model.load_from(&mut store).map_err(|e| bad(e.to_string()))?;
    if !result.missing.is_empty() || !result.errors.is_empty() {
        return Err(bad(format!("missing {:?}, errors {:?}", result.missing, result.errors)));
    }
    Ok(model)
}
