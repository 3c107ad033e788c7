//! The drafting network: a small pre-norm decoder-only transformer with learned positions, a KV
//! cache for decoding, and a copy head (pointer-generator): at every step a gate mixes the
//! vocabulary distribution with an attention distribution over the prompt's tokens, so numbers,
//! names, menu paths and durations can be copied from the passages instead of memorised.
//!
//! The copy head attends like an induction head: attention on prompt position `j` copies the
//! token at `j + 1`. The key at `j` carries the token the reply has just produced, which a tiny
//! model learns to match far sooner than the token it is about to produce.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, RmsNorm, RmsNormConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{gelu, log_softmax, sigmoid, softmax};
use serde::{Deserialize, Serialize};

/// The largest model [`ModelConfig::check`] accepts.
pub const MAX_PARAMETERS: usize = 2_000_000_000;

/// Shape of a model. Stored with every checkpoint as `config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub vocab: usize,
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    /// Longest sequence (prompt + reply) the position table covers.
    pub max_len: usize,
    /// Width of the copy head's query and key.
    pub d_copy: usize,
}

impl ModelConfig {
    /// Named sizes for `deskpilot train --size`.
    pub fn sized(size: &str, vocab: usize) -> Option<Self> {
        let (d_model, n_layers, n_heads, d_ff) = match size {
            "tiny" => (64, 2, 2, 192),
            "small" => (256, 4, 4, 768),
            "base" => (384, 6, 6, 1536),
            _ => return None,
        };
        Some(Self { vocab, d_model, n_layers, n_heads, d_ff, max_len: 512, d_copy: 64.min(d_model) })
    }

    pub fn init(&self, device: &Device) -> Drafter {
        let init = Initializer::Normal { mean: 0.0, std: 0.02 };
        let lin = |i: usize, o: usize, bias: bool| {
            LinearConfig::new(i, o).with_bias(bias).with_initializer(init.clone()).init(device)
        };
        let blocks = (0..self.n_layers)
            .map(|_| Block {
                norm1: RmsNormConfig::new(self.d_model).init(device),
                qkv: lin(self.d_model, 3 * self.d_model, false),
                proj: lin(self.d_model, self.d_model, false),
                norm2: RmsNormConfig::new(self.d_model).init(device),
                up: lin(self.d_model, self.d_ff, true),
                down: lin(self.d_ff, self.d_model, true),
                n_heads: self.n_heads,
            })
            .collect();
        Drafter {
            tokens: EmbeddingConfig::new(self.vocab, self.d_model).with_initializer(init.clone()).init(device),
            positions: EmbeddingConfig::new(self.max_len, self.d_model).with_initializer(init.clone()).init(device),
            blocks,
            norm: RmsNormConfig::new(self.d_model).init(device),
            copy_query: lin(self.d_model, self.d_copy, false),
            copy_key: lin(self.d_model, self.d_copy, false),
            copy_gate: lin(self.d_model, 1, true),
        }
    }

    /// A model whose weights come from `seed` alone: N(0, 0.02) matrices, unit norm gains, zero
    /// biases, drawn from the project's own generator (burn's initialisers draw from a
    /// process-wide source that `--seed` cannot pin).
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Drafter {
        self.init(device).map(&mut SeededInit { rng: super::rng::Rng::new(seed), std: 0.02 })
    }

    /// Checks the shape is one this code can build: every size positive and within bounds
    /// (an absurd size would allocate without end), and `d_model` divisible by `n_heads`.
    /// The error names the field.
    pub fn check(&self) -> Result<(), String> {
        let fields = [
            ("vocab", self.vocab, 1_000_000),
            ("d_model", self.d_model, 8192),
            ("n_layers", self.n_layers, 128),
            ("n_heads", self.n_heads, 256),
            ("d_ff", self.d_ff, 65_536),
            ("max_len", self.max_len, 65_536),
            ("d_copy", self.d_copy, 8192),
        ];
        for (name, value, max) in fields {
            if !(1..=max).contains(&value) {
                return Err(format!("`{name}` is {value}, must be from 1 to {max}"));
            }
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(format!(
                "`d_model` {} is not divisible by `n_heads` {} (each head gets d_model / n_heads dimensions)",
                self.d_model, self.n_heads
            ));
        }
        if self.parameters() > MAX_PARAMETERS {
            return Err(format!(
                "{:.1}M parameters, over the {}M this CPU generator accepts",
                self.parameters() as f64 / 1e6,
                MAX_PARAMETERS / 1_000_000
            ));
        }
        Ok(())
    }

    pub fn parameters(&self) -> usize {
        let d = self.d_model;
        let block = 3 * d * d + d * d + 2 * d + d * self.d_ff * 2 + self.d_ff + d;
        self.vocab * d + self.max_len * d + self.n_layers * block + d + 2 * d * self.d_copy + d + 1
    }
}

struct SeededInit {
    rng: super::rng::Rng,
    std: f32,
}

impl burn::module::ModuleMapper for SeededInit {
    fn map_float<const D: usize>(&mut self, param: burn::module::Param<Tensor<D>>) -> burn::module::Param<Tensor<D>> {
        param.map(|t| {
            let shape = t.shape();
            let device = t.device();
            let grad = t.is_require_grad();
            let n = shape.num_elements();
            let values: Vec<f32> = if D == 1 {
                // Vectors are norm gains (initialised to one) or biases (zero).
                let gain = t.into_data().try_to_vec::<f32>().unwrap_or_default().iter().all(|v| *v == 1.0);
                vec![if gain { 1.0 } else { 0.0 }; n]
            } else {
                (0..n)
                    .map(|_| {
                        // Box-Muller.
                        let u1 = self.rng.f32().max(1e-7);
                        let u2 = self.rng.f32();
                        self.std * (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
                    })
                    .collect()
            };
            Tensor::<D>::from_data(TensorData::new(values, shape), &device).set_require_grad(grad)
        })
    }
}

#[derive(Module, Debug)]
pub struct Block {
    norm1: RmsNorm,
    qkv: Linear,
    proj: Linear,
    norm2: RmsNorm,
    up: Linear,
    down: Linear,
    n_heads: usize,
}

/// Keys and values of every layer for the positions seen so far, `[1, heads, len, head_dim]`.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<(Tensor<4>, Tensor<4>)>,
    pub len: usize,
}

type LayerCache = (Tensor<4>, Tensor<4>);

impl Block {
    /// `x`: `[batch, t, d]`. `mask`: `[t, past + t]`, true where a query may not look.
    fn forward(&self, x: Tensor<3>, mask: Option<Tensor<2, Bool>>, cache: Option<&mut LayerCache>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let h = self.n_heads;
        let dh = d / h;
        let qkv = self.qkv.forward(self.norm1.forward(x.clone()));
        let split =
            |i: usize| qkv.clone().slice([0..b, 0..t, i * d..(i + 1) * d]).reshape([b, t, h, dh]).swap_dims(1, 2);
        let (q, mut k, mut v) = (split(0), split(1), split(2));
        if let Some(c) = cache {
            if c.0.dims()[2] > 0 {
                k = Tensor::cat(vec![c.0.clone(), k], 2);
                v = Tensor::cat(vec![c.1.clone(), v], 2);
            }
            *c = (k.clone(), v.clone());
        }
        let mut scores = q.matmul(k.swap_dims(2, 3)).mul_scalar(1.0 / (dh as f64).sqrt());
        if let Some(mask) = mask {
            let [tq, tk] = mask.dims();
            scores = scores.mask_fill(mask.reshape([1, 1, tq, tk]).expand([b, h, tq, tk]), -1e9);
        }
        let ctx = softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([b, t, d]);
        let x = x + self.proj.forward(ctx);
        let y = self.down.forward(gelu(self.up.forward(self.norm2.forward(x.clone()))));
        x + y
    }
}

#[derive(Module, Debug)]
pub struct Drafter {
    tokens: Embedding,
    positions: Embedding,
    blocks: Vec<Block>,
    norm: RmsNorm,
    copy_query: Linear,
    copy_key: Linear,
    copy_gate: Linear,
}

/// One training batch, built on the host.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[batch * len]` token ids, padded with 0.
    pub tokens: Vec<u32>,
    pub batch: usize,
    pub len: usize,
    /// Prompt length of each row (the copy head may look at positions before it).
    pub prompt_lens: Vec<usize>,
    /// Flat indices (`row * len + t`) of the positions whose next token is scored.
    pub scored: Vec<usize>,
    /// The next token at each scored position.
    pub targets: Vec<u32>,
    /// Loss weight of each scored position.
    pub weights: Vec<f32>,
    /// Whether the target is a fact token found in the prompt (the copy gate is pushed open).
    pub facts: Vec<bool>,
}

/// Losses of one batch: the objective and its value (for logging).
pub struct Losses {
    pub loss: Tensor<1>,
    pub nll: f32,
    pub scored: usize,
}

fn causal_mask(past: usize, t: usize, device: &Device) -> Tensor<2, Bool> {
    let mut m = Vec::with_capacity(t * (past + t));
    for i in 0..t {
        for j in 0..past + t {
            m.push(j > past + i);
        }
    }
    Tensor::from_data(TensorData::new(m, [t, past + t]), device)
}

fn ids_tensor(ids: &[u32], shape: [usize; 2], device: &Device) -> Tensor<2, Int> {
    let v: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn host(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap_or_default()
}

/// What one forward step of decoding gives: the next-token distribution's parts.
pub struct StepOutput {
    /// Vocabulary probabilities `[vocab]`.
    pub vocab: Vec<f32>,
    /// Copy attention over the prompt positions (position `j` copies token `j + 1`).
    pub copy: Vec<f32>,
    /// Probability of generating from the vocabulary (1 - copy).
    pub gate: f32,
}

/// Copy keys of the prompt, computed once per draft.
pub struct PromptMemory {
    keys: Tensor<2>,
    pub ids: Vec<u32>,
}

impl Drafter {
    pub fn device(&self) -> Device {
        self.tokens.weight.val().device()
    }

    /// The longest sequence the position table covers.
    pub fn max_len(&self) -> usize {
        self.positions.weight.val().dims()[0]
    }

    fn embed(&self, ids: Tensor<2, Int>, start: usize) -> Tensor<3> {
        let [b, t] = ids.dims();
        let device = ids.device();
        let pos: Vec<i64> = (0..b).flat_map(|_| (start..start + t).map(|p| p as i64)).collect();
        let pos = Tensor::<2, Int>::from_data(TensorData::new(pos, [b, t]), &device);
        self.tokens.forward(ids) + self.positions.forward(pos)
    }

    /// Training objective: negative log-likelihood of the scored tokens under the mixture of the
    /// vocabulary and copy distributions, plus a small push of the gate towards copying where the
    /// target is a fact token present in the prompt.
    pub fn loss(&self, batch: &Batch) -> Losses {
        let device = self.device();
        let (b, t) = (batch.batch, batch.len);
        let ids = ids_tensor(&batch.tokens, [b, t], &device);
        let mut x = self.embed(ids, 0);
        let mask = causal_mask(0, t, &device);
        for block in &self.blocks {
            x = block.forward(x, Some(mask.clone()), None);
        }
        let hf = self.norm.forward(x);
        let d = hf.dims()[2];
        let n = batch.scored.len();
        let idx_v: Vec<i64> = batch.scored.iter().map(|&i| i as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx_v, [n]), &device);
        let flat = hf.clone().reshape([b * t, d]);
        let hsel = flat.clone().select(0, idx.clone());
        // Vocabulary part (tied embeddings).
        let logits = hsel.matmul(self.tokens.weight.val().transpose());
        let tgt: Vec<i64> = batch.targets.iter().map(|&i| i as i64).collect();
        let tgt = Tensor::<2, Int>::from_data(TensorData::new(tgt, [n, 1]), &device);
        let p_vocab = log_softmax(logits, 1).gather(1, tgt).exp();
        // Copy part: attention of each position over its row's prompt positions.
        let cq = self.copy_query.forward(hf.clone());
        let ck = self.copy_key.forward(hf);
        let scale = 1.0 / (cq.dims()[2] as f64).sqrt();
        let mut masked = vec![true; b * t * t];
        for (row, &pl) in batch.prompt_lens.iter().enumerate() {
            for q in 0..t {
                for k in 0..pl.saturating_sub(1).min(t) {
                    masked[(row * t + q) * t + k] = false;
                }
            }
        }
        let copy_mask = Tensor::<3, Bool>::from_data(TensorData::new(masked, [b, t, t]), &device);
        let ca = softmax(cq.matmul(ck.swap_dims(1, 2)).mul_scalar(scale).mask_fill(copy_mask, -1e9), 2);
        let ca = ca.reshape([b * t, t]).select(0, idx.clone());
        let mut matches = vec![0f32; n * t];
        for (i, (&pos, &target)) in batch.scored.iter().zip(&batch.targets).enumerate() {
            let row = pos / t;
            // Attending to prompt position k copies the token after it (k + 1).
            for k in 0..batch.prompt_lens[row].saturating_sub(1).min(t) {
                if batch.tokens[row * t + k + 1] == target {
                    matches[i * t + k] = 1.0;
                }
            }
        }
        let matches = Tensor::<2>::from_data(TensorData::new(matches, [n, t]), &device);
        let p_copy = (ca * matches).sum_dim(1);
        let gate = sigmoid(self.copy_gate.forward(flat).select(0, idx));
        let p = gate.clone() * p_vocab + (gate.clone().neg().add_scalar(1.0)) * p_copy;
        let w = Tensor::<2>::from_data(TensorData::new(batch.weights.clone(), [n, 1]), &device);
        let wsum: f32 = batch.weights.iter().sum::<f32>().max(1e-6);
        let nll = (p.add_scalar(1e-9).log().neg() * w).sum().div_scalar(wsum);
        let facts: Vec<f32> = batch.facts.iter().map(|&f| if f { 1.0 } else { 0.0 }).collect();
        let fsum: f32 = facts.iter().sum::<f32>().max(1.0);
        let f = Tensor::<2>::from_data(TensorData::new(facts, [n, 1]), &device);
        let push = (gate.neg().add_scalar(1.0 + 1e-6).log().neg() * f).sum().div_scalar(fsum);
        let nll_value = nll.clone().into_data().try_to_vec::<f32>().map(|v| v[0]).unwrap_or(f32::NAN);
        Losses { loss: nll + push.mul_scalar(0.1), nll: nll_value, scored: n }
    }

    /// Runs `ids` (positions `cache.len..`) through the network, extending the cache; returns the
    /// final hidden states `[t, d]`.
    pub fn forward_cached(&self, ids: &[u32], cache: &mut KvCache) -> Tensor<2> {
        let device = self.device();
        let t = ids.len();
        if cache.layers.is_empty() {
            let d = self.tokens.weight.val().dims()[1];
            let h = self.blocks.first().map(|b| b.n_heads).unwrap_or(1);
            let empty = Tensor::<4>::zeros([1, h, 0, d / h], &device);
            cache.layers = self.blocks.iter().map(|_| (empty.clone(), empty.clone())).collect();
        }
        let mut x = self.embed(ids_tensor(ids, [1, t], &device), cache.len);
        let mask = if t > 1 { Some(causal_mask(cache.len, t, &device)) } else { None };
        for (block, c) in self.blocks.iter().zip(cache.layers.iter_mut()) {
            x = block.forward(x, mask.clone(), Some(c));
        }
        cache.len += t;
        let d = x.dims()[2];
        self.norm.forward(x).reshape([t, d])
    }

    /// Reads the prompt: fills the cache and prepares the copy keys. Returns the memory and the
    /// distribution for the first reply token.
    pub fn prefill(&self, prompt: &[u32], cache: &mut KvCache) -> (PromptMemory, StepOutput) {
        let hf = self.forward_cached(prompt, cache);
        let t = prompt.len();
        // The last prompt position has no next token to copy.
        let keys = self.copy_key.forward(hf.clone().narrow(0, 0, t.saturating_sub(1).max(1)));
        let memory = PromptMemory { keys, ids: prompt.to_vec() };
        let last = hf.narrow(0, t - 1, 1);
        let out = self.distribution(last, &memory);
        (memory, out)
    }

    /// One decoding step: feeds `token`, returns the next distribution.
    pub fn step(&self, token: u32, cache: &mut KvCache, memory: &PromptMemory) -> StepOutput {
        let hf = self.forward_cached(&[token], cache);
        self.distribution(hf, memory)
    }

    /// The next-token distribution's parts for final hidden states `h` (`[1, d]`).
    pub fn distribution_of(&self, h: Tensor<2>, memory: &PromptMemory) -> StepOutput {
        self.distribution(h, memory)
    }

    fn distribution(&self, h: Tensor<2>, memory: &PromptMemory) -> StepOutput {
        let logits = h.clone().matmul(self.tokens.weight.val().transpose());
        let vocab = softmax(logits, 1);
        let q = self.copy_query.forward(h.clone());
        let scale = 1.0 / (q.dims()[1] as f64).sqrt();
        let copy = softmax(q.matmul(memory.keys.clone().transpose()).mul_scalar(scale), 1);
        let gate = sigmoid(self.copy_gate.forward(h));
        let gate = host(gate).first().copied().unwrap_or(1.0);
        StepOutput { vocab: host(vocab), copy: host(copy), gate }
    }
}

impl StepOutput {
    /// The mixed next-token distribution over the vocabulary.
    pub fn mixed(&self, memory: &PromptMemory) -> Vec<f32> {
        let mut p: Vec<f32> = self.vocab.iter().map(|v| v * self.gate).collect();
        let c = 1.0 - self.gate;
        // Attention on prompt position j copies the token at j + 1 (see `Drafter::loss`).
        for (&id, &a) in memory.ids.iter().skip(1).zip(&self.copy) {
            if let Some(slot) = p.get_mut(id as usize) {
                *slot += c * a;
            }
        }
        p
    }
}
