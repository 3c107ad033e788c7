//! A BERT encoder in burn (the architecture of all-MiniLM-L6-v2): learned absolute positions, a
//! token-type embedding, post-LayerNorm blocks with exact (erf) GELU. Inference only: no dropout.
//!
//! Field names are burn's; [`super::weights`] maps the Hugging Face tensor names onto them.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

/// erf by a rational approximation on [-4, 4] (odd numerator over even denominator in x^2, the
/// form Eigen and XLA use for f32; beyond 4, erf is +-1 in f32). Absolute error below 1e-6, and
/// written so the compiler vectorises it.
#[allow(clippy::excessive_precision)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = ((((((-2.72614225801306e-10_f32 * x2 + 2.77068142495902e-08) * x2 - 2.10102402082508e-06) * x2
        - 5.69250639462346e-05)
        * x2
        - 7.34990630326855e-04)
        * x2
        - 2.95459980854025e-03)
        * x2
        - 1.60960333262415e-02)
        * x;
    let q = (((-1.45660718464996e-05_f32 * x2 - 2.13374055278905e-04) * x2 - 1.68282697438203e-03) * x2
        - 7.37332916720468e-03)
        * x2
        - 1.42647390514189e-02;
    p / q
}

/// Exact (erf) GELU, `[rows, cols]` -> same shape. On the CPU it runs as one pass over the data:
/// the backend's GELU calls a scalar libm erf per element, which was a sixth of the encoder's time.
fn gelu_erf(x: Tensor<2>) -> Tensor<2> {
    if cfg!(feature = "cuda") || x.dtype() != burn::tensor::DType::F32 || x.is_require_grad() {
        return burn::tensor::activation::gelu(x);
    }
    let (dims, device) = (x.dims(), x.device());
    let mut v = x.into_data().try_into_vec::<f32>().expect("an F32 tensor holds f32 data");
    for x in &mut v {
        *x = 0.5 * *x * (1.0 + erf(*x * std::f32::consts::FRAC_1_SQRT_2));
    }
    Tensor::from_data(burn::tensor::TensorData::new(v, dims), &device)
}

/// Shape of the encoder, stored beside the weights as `config.json`.
#[derive(Config, Debug, PartialEq)]
pub struct BertConfig {
    /// WordPiece vocabulary size.
    pub vocab: usize,
    /// Hidden width.
    pub hidden: usize,
    /// Number of transformer blocks.
    pub layers: usize,
    /// Attention heads per block.
    pub heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate: usize,
    /// Rows of the position table.
    pub max_positions: usize,
    /// Rows of the token-type table (only type 0 is used).
    pub type_vocab: usize,
    /// LayerNorm epsilon.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Longest input in tokens, special tokens included; longer ones are truncated.
    #[config(default = 256)]
    pub max_tokens: usize,
}

impl BertConfig {
    /// A model of this shape with placeholder weights (loading replaces them all).
    pub fn init(&self, device: &Device) -> Bert {
        let norm = || LayerNormConfig::new(self.hidden).with_epsilon(self.layer_norm_eps).init(device);
        let lin = |i: usize, o: usize| LinearConfig::new(i, o).init(device);
        Bert {
            embeddings: Embeddings {
                word: EmbeddingConfig::new(self.vocab, self.hidden).init(device),
                position: EmbeddingConfig::new(self.max_positions, self.hidden).init(device),
                token_type: EmbeddingConfig::new(self.type_vocab, self.hidden).init(device),
                norm: norm(),
            },
            layers: (0..self.layers)
                .map(|_| Layer {
                    query: lin(self.hidden, self.hidden),
                    key: lin(self.hidden, self.hidden),
                    value: lin(self.hidden, self.hidden),
                    attn_out: lin(self.hidden, self.hidden),
                    attn_norm: norm(),
                    up: lin(self.hidden, self.intermediate),
                    down: lin(self.intermediate, self.hidden),
                    ffn_norm: norm(),
                    heads: self.heads,
                })
                .collect(),
        }
    }
}

/// Where [`BertConfig::build`] takes each tensor from: `(Hugging Face name, shape burn wants)` ->
/// its values, row-major in that shape (linear weights already `[in, out]`).
pub type TensorSource<'a> = dyn FnMut(&str, &[usize]) -> Result<Vec<f32>, String> + 'a;

fn param2(take: &mut TensorSource, device: &Device, name: &str, shape: [usize; 2]) -> Result<Param<Tensor<2>>, String> {
    let v = take(name, &shape)?;
    Ok(Param::from_tensor(Tensor::from_data(TensorData::new(v, shape), device)))
}

fn param1(take: &mut TensorSource, device: &Device, name: &str, n: usize) -> Result<Param<Tensor<1>>, String> {
    let v = take(name, &[n])?;
    Ok(Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), device)))
}

fn linear(take: &mut TensorSource, device: &Device, name: &str, i: usize, o: usize) -> Result<Linear, String> {
    let weight = param2(take, device, &format!("{name}.weight"), [i, o])?;
    Ok(Linear { weight, bias: Some(param1(take, device, &format!("{name}.bias"), o)?) })
}

impl BertConfig {
    /// A model of this shape whose every tensor comes from `take`, built without placeholder
    /// weights (so loading holds one copy of the model, not two). The word table is a one-row
    /// placeholder: the caller looks words up itself ([`Bert::forward_words`]).
    pub fn build(&self, device: &Device, take: &mut TensorSource) -> Result<Bert, String> {
        let h = self.hidden;
        let norm = |take: &mut TensorSource, name: &str| -> Result<LayerNorm, String> {
            let mut n = LayerNormConfig::new(h).with_epsilon(self.layer_norm_eps).init(device);
            n.gamma = param1(take, device, &format!("{name}.weight"), h)?;
            n.beta = Some(param1(take, device, &format!("{name}.bias"), h)?);
            Ok(n)
        };
        let embeddings = Embeddings {
            word: EmbeddingConfig::new(1, h).init(device),
            position: Embedding {
                weight: param2(take, device, "embeddings.position_embeddings.weight", [self.max_positions, h])?,
            },
            token_type: Embedding {
                weight: param2(take, device, "embeddings.token_type_embeddings.weight", [self.type_vocab, h])?,
            },
            norm: norm(take, "embeddings.LayerNorm")?,
        };
        let mut layers = Vec::with_capacity(self.layers);
        for i in 0..self.layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: linear(take, device, &format!("{p}.attention.self.query"), h, h)?,
                key: linear(take, device, &format!("{p}.attention.self.key"), h, h)?,
                value: linear(take, device, &format!("{p}.attention.self.value"), h, h)?,
                attn_out: linear(take, device, &format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: norm(take, &format!("{p}.attention.output.LayerNorm"))?,
                up: linear(take, device, &format!("{p}.intermediate.dense"), h, self.intermediate)?,
                down: linear(take, device, &format!("{p}.output.dense"), self.intermediate, h)?,
                ffn_norm: norm(take, &format!("{p}.output.LayerNorm"))?,
                heads: self.heads,
            });
        }
        Ok(Bert { embeddings, layers })
    }
}

/// Word + position + token-type embeddings, then LayerNorm.
#[derive(Module, Debug)]
pub struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

impl Embeddings {
    /// `ids`: `[batch, t]` token ids -> `[batch, t, hidden]`. Positions count from 0, token type 0.
    fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        self.add_positions(self.word.forward(ids))
    }

    /// `words`: `[batch, t, hidden]` word vectors (looked up elsewhere) -> `[batch, t, hidden]`,
    /// with positions (from 0) and token type 0 added, then LayerNorm.
    fn add_positions(&self, words: Tensor<3>) -> Tensor<3> {
        let [b, t, _] = words.dims();
        let device = words.device();
        let positions = Tensor::<1, Int>::arange(0..t as i64, &device).reshape([1, t]).expand([b, t]);
        let types = Tensor::<2, Int>::zeros([b, t], &device);
        self.norm.forward(words + self.position.forward(positions) + self.token_type.forward(types))
    }
}

/// One post-LayerNorm transformer block.
#[derive(Module, Debug)]
pub struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    ffn_norm: LayerNorm,
    heads: usize,
}

impl Layer {
    /// `x`: `[batch * t, hidden]` (rows of all sequences, flattened so that every linear layer is
    /// one matrix product); `pad`: `[batch, heads, t, t]`, true where the key is padding.
    /// Returns `[batch * t, hidden]`.
    pub fn forward(&self, x: Tensor<2>, pad: Tensor<4, Bool>) -> Tensor<2> {
        let [b, h, t, _] = pad.dims();
        let d = x.dims()[1];
        let dh = d / h;
        let split = |l: &Linear| l.forward(x.clone()).reshape([b, t, h, dh]).swap_dims(1, 2);
        let (q, k, v) = (split(&self.query), split(&self.key), split(&self.value));
        let ctx = attention(q, k, v, Some(pad), None, AttentionModuleOptions::default());
        let ctx = ctx.swap_dims(1, 2).reshape([b * t, d]);
        let x = self.attn_norm.forward(x + self.attn_out.forward(ctx));
        let y = self.down.forward(gelu_erf(self.up.forward(x.clone())));
        self.ffn_norm.forward(x + y)
    }
}

/// The encoder: embeddings and a stack of blocks.
#[derive(Module, Debug)]
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl Bert {
    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.embeddings.word.weight.val().device()
    }

    /// The float type the weights are held in (f32 once loaded).
    pub fn dtype(&self) -> burn::tensor::DType {
        self.embeddings.word.weight.val().dtype()
    }

    /// Width of the hidden states (and of the sentence vectors).
    pub fn hidden(&self) -> usize {
        self.embeddings.word.weight.val().dims()[1]
    }

    /// Attention heads per block.
    pub fn heads(&self) -> usize {
        self.layers.first().map_or(1, |l| l.heads)
    }

    /// Copies of the blocks from `from` on (what a model built on this one's lower blocks starts
    /// from).
    pub fn blocks_from(&self, from: usize) -> Vec<Layer> {
        self.layers.iter().skip(from).cloned().collect()
    }

    /// The hidden states after the first `n` blocks, `[batch * t, hidden]`, for `ids` and `mask`
    /// as [`Bert::forward`] takes them.
    pub fn lower(&self, ids: Tensor<2, Int>, mask: Tensor<2>, n: usize) -> Tensor<2> {
        self.blocks(self.embeddings.forward(ids), mask, n)
    }

    /// The first `n` blocks over embedded input `x` (`[batch, t, hidden]`) -> `[batch * t, hidden]`.
    fn blocks(&self, x: Tensor<3>, mask: Tensor<2>, n: usize) -> Tensor<2> {
        let [b, t, d] = x.dims();
        let pad = pad_mask(mask, self.heads());
        let mut x = x.reshape([b * t, d]);
        for layer in self.layers.iter().take(n) {
            x = layer.forward(x, pad.clone());
        }
        x
    }

    /// [`Bert::forward`] from word vectors `words` (`[batch, t, hidden]`) instead of token ids:
    /// for a model whose word table is kept outside it (4-bit, looked up row by row). Returns
    /// `[batch, hidden]`, not normalised.
    pub fn forward_words(&self, words: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
        let [b, t, d] = words.dims();
        let x = self.blocks(self.embeddings.add_positions(words), mask.clone(), self.layers.len());
        mean_pool(x.reshape([b, t, d]), mask)
    }

    /// `ids`: `[batch, t]`; `mask`: `[batch, t]`, 1.0 on real tokens and 0.0 on padding.
    /// Returns the mean of the last hidden states over the real tokens, `[batch, hidden]`
    /// (not normalised).
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let [b, t] = ids.dims();
        let x = self.lower(ids, mask.clone(), self.layers.len()).reshape([b, t, self.hidden()]);
        mean_pool(x, mask)
    }
}

/// The attention padding mask of `mask` (`[batch, t]`, 1.0 on real tokens): `[batch, heads, t,
/// t]`, true where the key is padding.
pub fn pad_mask(mask: Tensor<2>, heads: usize) -> Tensor<4, Bool> {
    let [b, t] = mask.dims();
    mask.equal_elem(0.0).reshape([b, 1, 1, t]).expand([b, heads, t, t])
}

/// The mean of `x` (`[batch, t, hidden]`) over the real tokens of `mask` (`[batch, t]`):
/// `[batch, hidden]`.
pub fn mean_pool(x: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    let [b, _, d] = x.dims();
    let summed = (x * mask.clone().unsqueeze_dim::<3>(2)).sum_dim(1).reshape([b, d]);
    summed / mask.sum_dim(1).clamp_min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_gelu_matches_the_backends_exact_gelu() {
        let device = crate::util::device();
        let xs: Vec<f32> = (0..=16_000).map(|i| -8.0 + i as f32 * 0.001).collect();
        let n = xs.len();
        let t = Tensor::<2>::from_data(burn::tensor::TensorData::new(xs, [1, n]), &device);
        let want = burn::tensor::activation::gelu(t.clone()).into_data().try_into_vec::<f32>().expect("f32 data");
        let got = gelu_erf(t).into_data().try_into_vec::<f32>().expect("f32 data");
        let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0_f32, f32::max);
        assert!(worst < 2e-6, "largest difference {worst}");
    }
}
