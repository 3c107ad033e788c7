//! The selector network (burn): a small two-path scorer. The scalar features go through a linear
//! path and, with the question-sentence meaning interaction (the element-wise product of their
//! vectors), through one hidden layer; the two paths add up to one logit per candidate.

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// Shape of the network, stored in `selector.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetConfig {
    /// Scalar features per candidate.
    pub scalars: usize,
    /// Width of the meaning interaction (the encoder's vector width).
    pub dim: usize,
    /// Hidden units.
    pub hidden: usize,
}

impl NetConfig {
    /// A network of this shape with small random weights (`seed` fixes them).
    pub fn init(&self, device: &Device, seed: u64) -> SelectorNet {
        device.seed(seed);
        let init = Initializer::Normal { mean: 0.0, std: 0.05 };
        let lin = |i: usize, o: usize, bias: bool| {
            LinearConfig::new(i, o).with_bias(bias).with_initializer(init.clone()).init(device)
        };
        SelectorNet {
            direct: lin(self.scalars, 1, true),
            scalars: lin(self.scalars, self.hidden, true),
            meaning: lin(self.dim.max(1), self.hidden, false),
            out: lin(self.hidden, 1, false),
        }
    }
}

#[derive(Module, Debug)]
pub struct SelectorNet {
    direct: Linear,
    scalars: Linear,
    meaning: Linear,
    out: Linear,
}

impl SelectorNet {
    /// `scalars`: `[n, scalars]`; `meaning`: `[n, dim]` -> logits `[n]`.
    pub fn forward(&self, scalars: Tensor<2>, meaning: Tensor<2>) -> Tensor<1> {
        let n = scalars.dims()[0];
        let hidden = relu(self.scalars.forward(scalars.clone()) + self.meaning.forward(meaning));
        (self.direct.forward(scalars) + self.out.forward(hidden)).reshape([n])
    }

    /// Logits of rows given as flat row-major buffers (`n` rows).
    pub fn logits(&self, scalars: Vec<f32>, meaning: Vec<f32>, n: usize, config: &NetConfig) -> Vec<f32> {
        if n == 0 {
            return Vec::new();
        }
        let device = self.out.weight.val().device();
        let s = Tensor::<2>::from_data(TensorData::new(scalars, [n, config.scalars]), &device);
        let m = Tensor::<2>::from_data(TensorData::new(meaning, [n, config.dim.max(1)]), &device);
        self.forward(s, m).into_data().try_to_vec::<f32>().unwrap_or_else(|_| vec![0.0; n])
    }
}

/// Networks of one shape fitted from different seeds; their mean logit is the score. One
/// network's choices move with its seed (out-of-fold dev facts stated ranged from 80 to 87 of
/// 138 over three seeds); the mean of several moves far less.
#[derive(Module, Debug)]
pub struct Ensemble {
    pub members: Vec<SelectorNet>,
}

impl Ensemble {
    /// Mean logits of the members for rows given as flat row-major buffers (`n` rows).
    pub fn logits(&self, scalars: Vec<f32>, meaning: Vec<f32>, n: usize, config: &NetConfig) -> Vec<f32> {
        let mut sum = vec![0.0f32; n];
        for m in &self.members {
            for (s, z) in sum.iter_mut().zip(m.logits(scalars.clone(), meaning.clone(), n, config)) {
                *s += z;
            }
        }
        let k = self.members.len().max(1) as f32;
        sum.into_iter().map(|s| s / k).collect()
    }
}

/// Numerically stable binary cross-entropy on logits `z` `[n]` with targets `y` and row weights
/// `w` (`[n]` each): `sum(w * (softplus(z) - y z)) / sum(w)`.
pub fn weighted_bce(z: Tensor<1>, y: Tensor<1>, w: Tensor<1>) -> Tensor<1> {
    let softplus = z.clone().clamp_min(0.0) + (z.clone().abs().neg().exp() + 1.0).log();
    let total = w.clone().sum();
    ((softplus - y * z) * w).sum() / total
}

/// The listwise loss over questions padded to one width: `z` `[groups, width]` logits, `all` and
/// `pos` the same shape, 0 where a row is real (`all`) or a real answer (`pos`) and -1e4
/// elsewhere. The mean over groups of `logsumexp(z + all) - logsumexp(z + pos)`: the answering
/// rows first.
pub fn listwise(z: Tensor<2>, all: Tensor<2>, pos: Tensor<2>) -> Tensor<1> {
    let lse = |x: Tensor<2>| {
        let m = x.clone().max_dim(1).detach();
        (x - m.clone()).exp().sum_dim(1).log() + m
    };
    (lse(z.clone() + all) - lse(z + pos)).mean()
}
