//! Experimental: a cross-encoder that reads the question and a candidate sentence together,
//! `[CLS] question [SEP] sentence [SEP]`, so attention can see whether the sentence answers the
//! question rather than only whether the two mean similar things (what the sentence encoder's
//! cosine measures). Built on the shipped encoder: its first [`LOWER`] blocks are shared and
//! frozen, and a copy of its remaining blocks plus a linear head is fine-tuned with burn's
//! autodiff on the selector's own candidate groups (a listwise loss: the answering sentences
//! first). Only the fine-tuned blocks would ship, so the asset stays small.
//!
//! `deskpilot train-selector --cross-out DIR` trains one and reports, on dev, how well it ranks
//! the candidates next to the selector.

use crate::semantic::Encoder;
use crate::semantic::bert::{Bert, Layer, mean_pool, pad_mask};
use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;
use rayon::prelude::*;

/// Blocks of the encoder that are shared and frozen.
pub const LOWER: usize = 4;
/// Question and sentence lengths in tokens, special tokens included.
const Q_TOKENS: usize = 40;
const S_TOKENS: usize = 64;
/// Rows per batch when computing the lower blocks.
const LOWER_BATCH: usize = 64;

/// The fine-tuned upper blocks and the head.
#[derive(Module, Debug)]
pub struct CrossNet {
    blocks: Vec<Layer>,
    head: Linear,
}

/// The states of one pair after the lower blocks: `len * dim` floats.
pub struct PairState {
    pub len: usize,
    pub rows: Vec<f32>,
}

fn cut(mut ids: Vec<u32>, max: usize) -> Vec<u32> {
    if ids.len() > max {
        let sep = *ids.last().unwrap_or(&0);
        ids.truncate(max);
        ids[max - 1] = sep;
    }
    ids
}

/// `[CLS] question [SEP] sentence [SEP]`, each part cut to its length.
pub fn pair_ids(enc: &Encoder, question: &str, sentence: &str) -> Vec<u32> {
    let mut q = cut(enc.token_ids(question).unwrap_or_default(), Q_TOKENS);
    let s = cut(enc.token_ids(sentence).unwrap_or_default(), S_TOKENS);
    q.extend(s.into_iter().skip(1));
    q
}

/// The states after `enc`'s first [`LOWER`] blocks of every pair.
pub fn lower_states(enc: &Encoder, pairs: &[Vec<u32>]) -> Vec<PairState> {
    states_after(enc.model(), pairs, LOWER)
}

/// The states after `bert`'s first `lower` blocks of every pair (on the rayon pool, longest
/// first, in batches padded to their longest member).
pub fn states_after(bert: &Bert, pairs: &[Vec<u32>], lower: usize) -> Vec<PairState> {
    let d = bert.hidden();
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(pairs[i].len()));
    let chunks: Vec<&[usize]> = order.chunks(LOWER_BATCH).collect();
    let done: Vec<Vec<(usize, PairState)>> = chunks
        .par_iter()
        .map(|chunk| {
            let b = chunk.len();
            let t = pairs[chunk[0]].len().max(1);
            let mut ids = vec![0i64; b * t];
            let mut mask = vec![0f32; b * t];
            for (r, &i) in chunk.iter().enumerate() {
                for (j, &id) in pairs[i].iter().enumerate() {
                    ids[r * t + j] = i64::from(id);
                    mask[r * t + j] = 1.0;
                }
            }
            let device = bert.device();
            let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device);
            let mask = Tensor::<2>::from_data(TensorData::new(mask, [b, t]), &device);
            let x = bert.lower(ids, mask, lower).into_data().try_to_vec::<f32>().unwrap_or_default();
            chunk
                .iter()
                .enumerate()
                .map(|(r, &i)| {
                    let len = pairs[i].len();
                    (i, PairState { len, rows: x[r * t * d..(r * t + len) * d].to_vec() })
                })
                .collect()
        })
        .collect();
    let mut out: Vec<Option<PairState>> = (0..pairs.len()).map(|_| None).collect();
    for (i, s) in done.into_iter().flatten() {
        out[i] = Some(s);
    }
    out.into_iter().map(|s| s.unwrap_or(PairState { len: 0, rows: Vec::new() })).collect()
}

impl CrossNet {
    /// The encoder's blocks above [`LOWER`] and a new head, on `device`, ready to train.
    pub fn from_encoder(enc: &Encoder, device: &Device) -> Self {
        Self::from_bert(enc.model(), LOWER, device)
    }

    /// `bert`'s blocks from `lower` on and a new head, on `device`, ready to train (the copied
    /// weights are forked onto it with gradients on).
    pub fn from_bert(bert: &Bert, lower: usize, device: &Device) -> Self {
        let head = LinearConfig::new(bert.hidden(), 1)
            .with_initializer(Initializer::Normal { mean: 0.0, std: 0.01 })
            .init(device);
        Self { blocks: bert.blocks_from(lower), head }.fork(device).train().set_require_grad(true)
    }

    /// `x`: `[b * t, dim]` lower states, `mask`: `[b, t]` -> logits `[b]`.
    pub fn forward(&self, x: Tensor<2>, mask: Tensor<2>, heads: usize) -> Tensor<1> {
        let [b, t] = mask.dims();
        let d = x.dims()[1];
        let pad = pad_mask(mask.clone(), heads);
        let mut x = x;
        for block in &self.blocks {
            x = block.forward(x, pad.clone());
        }
        self.head.forward(mean_pool(x.reshape([b, t, d]), mask)).reshape([b])
    }

    /// Logits of `states` (in order), batched.
    pub fn logits(&self, states: &[&PairState], dim: usize, heads: usize) -> Vec<f32> {
        let device = self.head.weight.val().device();
        let mut out = Vec::with_capacity(states.len());
        for chunk in states.chunks(64) {
            let (x, mask) = batch(chunk, dim, &device);
            out.extend(self.forward(x, mask, heads).into_data().try_to_vec::<f32>().unwrap_or_default());
        }
        out
    }
}

/// Pads `states` into one batch: `[b * t, dim]` and the `[b, t]` mask.
fn batch(states: &[&PairState], dim: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let b = states.len();
    let t = states.iter().map(|s| s.len).max().unwrap_or(1).max(1);
    let mut x = vec![0f32; b * t * dim];
    let mut mask = vec![0f32; b * t];
    for (r, s) in states.iter().enumerate() {
        x[r * t * dim..r * t * dim + s.rows.len()].copy_from_slice(&s.rows);
        mask[r * t..r * t + s.len].iter_mut().for_each(|m| *m = 1.0);
    }
    (
        Tensor::<2>::from_data(TensorData::new(x, [b * t, dim]), device),
        Tensor::<2>::from_data(TensorData::new(mask, [b, t]), device),
    )
}

/// One question's candidates for training: indices into the states, and which answer.
pub struct CrossGroup {
    pub rows: Vec<usize>,
    pub positive: Vec<bool>,
}

/// Fine-tunes `net` on `groups` (each with a positive and a negative; `k` rows at most each),
/// `epochs` passes of `per_step` groups. `progress(step, steps, loss)`.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    net: CrossNet,
    states: &[PairState],
    groups: &[CrossGroup],
    dim: usize,
    heads: usize,
    epochs: usize,
    per_step: usize,
    lr: f64,
    progress: &dyn Fn(usize, usize, f32),
) -> CrossNet {
    let device = net.head.weight.val().device();
    let k = groups.iter().map(|g| g.rows.len()).max().unwrap_or(1);
    let mut net = net;
    let mut optim = AdamWConfig::new().with_weight_decay(1e-2).init();
    let steps = epochs * groups.len().div_ceil(per_step.max(1));
    let mut rng = crate::rng::Rng::new(11);
    let mut step = 0;
    for _ in 0..epochs {
        let mut order: Vec<usize> = (0..groups.len()).collect();
        rng.shuffle(&mut order);
        for chunk in order.chunks(per_step.max(1)) {
            let g = chunk.len();
            let mut rows: Vec<&PairState> = Vec::with_capacity(g * k);
            let (mut all, mut pos) = (Vec::with_capacity(g * k), Vec::with_capacity(g * k));
            for &gi in chunk {
                let grp = &groups[gi];
                for j in 0..k {
                    let real = j < grp.rows.len();
                    rows.push(&states[grp.rows[if real { j } else { 0 }]]);
                    all.push(if real { 0.0 } else { -1e4 });
                    pos.push(if real && grp.positive[j] { 0.0 } else { -1e4 });
                }
            }
            let (x, mask) = batch(&rows, dim, &device);
            let z = net.forward(x, mask, heads).reshape([g, k]);
            let ab = Tensor::<2>::from_data(TensorData::new(all, [g, k]), &device);
            let pb = Tensor::<2>::from_data(TensorData::new(pos, [g, k]), &device);
            let loss = super::net::listwise(z, ab, pb);
            let value = loss.clone().into_data().try_to_vec::<f32>().ok().and_then(|v| v.first().copied());
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            let frac = step as f64 / steps.max(1) as f64;
            let rate = lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
            net = optim.step(rate, net, grads);
            step += 1;
            progress(step, steps, value.unwrap_or(f32::NAN));
            if step % 10 == 0 {
                tracing::info!(step, steps, loss = value.unwrap_or(f32::NAN), "cross-encoder");
            }
        }
    }
    net
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantic::bert::BertConfig;

    /// A toy task: a pair answers when it holds token 3. A two-block model, one block frozen,
    /// learns to rank such pairs first.
    #[test]
    fn fine_tuning_ranks_the_answering_pairs_first() {
        let device = crate::util::device();
        device.seed(3);
        let bert = BertConfig::new(12, 16, 2, 2, 32, 32, 2).init(&device);
        let mut rng = crate::rng::Rng::new(9);
        let (mut pairs, mut groups) = (Vec::new(), Vec::new());
        for g in 0..48 {
            let answer = g % 4;
            let start = pairs.len();
            for j in 0..4 {
                let mut ids = vec![1u32];
                ids.extend((0..6).map(|_| 4 + rng.below(8) as u32));
                if j == answer {
                    ids[1 + rng.below(6)] = 3;
                }
                ids.push(2);
                pairs.push(ids);
            }
            groups.push(CrossGroup {
                rows: (start..start + 4).collect(),
                positive: (0..4).map(|j| j == answer).collect(),
            });
        }
        let states = states_after(&bert, &pairs, 1);
        assert!(states.iter().zip(&pairs).all(|(s, p)| s.len == p.len() && s.rows.len() == p.len() * 16));
        let ad = device.clone().autodiff();
        let (train, test) = groups.split_at(40);
        let net = fit(CrossNet::from_bert(&bert, 1, &ad), &states, train, 16, 2, 30, 8, 3e-3, &|_, _, _| {});
        let mut hits = 0;
        for g in test {
            let rows: Vec<&PairState> = g.rows.iter().map(|&r| &states[r]).collect();
            let z = net.logits(&rows, 16, 2);
            let best = (0..z.len()).max_by(|&a, &b| z[a].total_cmp(&z[b])).expect("four rows");
            hits += usize::from(g.positive[best]);
        }
        assert!(hits >= 6, "{hits} of 8 test groups ranked right");
    }
}
