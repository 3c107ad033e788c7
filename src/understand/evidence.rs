//! The intent's second stage: which of the candidate articles a turn is about, scored from the
//! evidence about each of them: the vector head's probability ([`super::intent`]) and the
//! retrieval's lexical and dense rankings. A linear scorer over a few features per candidate,
//! softmax across the candidates, fitted with burn on the generated questions (each labelled with
//! the article it was written from).
//!
//! The vector head alone sees only the question's meaning; the retrieval sees its words and its
//! meaning against every passage. Neither is a classifier of the other's errors; the scorer
//! learns how far to trust each.

use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;

/// Features per candidate (see [`features`]).
pub const FEATURES: usize = 9;
/// The most candidates one turn is scored over.
pub const MAX_CANDIDATES: usize = 12;

/// One training example: a turn's candidates' features and the position of the right one.
pub type Example = (Vec<[f32; FEATURES]>, usize);

/// What the retrieval knows about one candidate article (ranks count from 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    pub slug: String,
    /// Position in the fused ranking, from 1 (`None`: the head proposed it, retrieval did not).
    pub fused_rank: Option<usize>,
    pub lexical: Option<f32>,
    pub lexical_rank: Option<usize>,
    pub dense: Option<f32>,
    pub dense_rank: Option<usize>,
}

/// The vector head's view of a candidate: log-probability and rank (from 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadView {
    pub log_p: f32,
    pub rank: usize,
}

fn inv(rank: Option<usize>) -> f32 {
    rank.map_or(0.0, |r| 1.0 / r.max(1) as f32)
}

/// The features of each candidate; `head` gives the vector head's view of a slug (`None` for
/// a Chinese turn, which has no vector).
pub fn features(cands: &[Candidate], head: &dyn Fn(&str) -> Option<HeadView>) -> Vec<[f32; FEATURES]> {
    let top_lex = cands.iter().filter_map(|c| c.lexical).fold(0.0f32, f32::max);
    cands
        .iter()
        .map(|c| {
            let h = head(&c.slug);
            [
                h.map_or(0.0, |h| h.log_p.max(-12.0) / 4.0),
                h.map_or(0.0, |h| h.log_p.exp()),
                h.map_or(0.0, |h| 1.0 / h.rank.max(1) as f32),
                inv(c.fused_rank),
                if top_lex > 0.0 { c.lexical.unwrap_or(0.0) / top_lex } else { 0.0 },
                inv(c.lexical_rank),
                c.dense.unwrap_or(0.0),
                f32::from(c.dense.is_some()),
                inv(c.dense_rank),
            ]
        })
        .collect()
}

/// Scores of candidates' features with `weights` (one per feature), as softmax probabilities.
pub fn probabilities(weights: &[f32], feats: &[[f32; FEATURES]]) -> Vec<f32> {
    let z: Vec<f32> = feats.iter().map(|f| f.iter().zip(weights).map(|(a, b)| a * b).sum()).collect();
    let max = z.iter().copied().fold(f32::MIN, f32::max);
    let e: Vec<f32> = z.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = e.iter().sum::<f32>().max(f32::MIN_POSITIVE);
    e.into_iter().map(|x| x / sum).collect()
}

#[derive(Module, Debug)]
struct Scorer {
    w: Linear,
}

/// Fits the weights: each example is a turn's candidates' features and the position of the
/// right one among them (examples whose right article is not a candidate teach nothing and are
/// left out by the caller). Full batch, softmax cross-entropy over the candidates, AdamW.
pub fn fit(examples: &[Example], steps: usize) -> Vec<f32> {
    let device = crate::util::device();
    let ad = device.autodiff();
    ad.seed(11);
    let mut net = Scorer {
        w: LinearConfig::new(FEATURES, 1)
            .with_bias(false)
            .with_initializer(Initializer::Normal { mean: 0.0, std: 0.01 })
            .init(&ad),
    };
    let n = examples.len();
    if n > 0 {
        let k = MAX_CANDIDATES;
        let mut x = vec![0.0f32; n * k * FEATURES];
        let mut pad = vec![-1e4f32; n * k];
        let mut y = vec![0.0f32; n * k];
        for (i, (feats, gold)) in examples.iter().enumerate() {
            for (j, f) in feats.iter().take(k).enumerate() {
                x[(i * k + j) * FEATURES..(i * k + j + 1) * FEATURES].copy_from_slice(f);
                pad[i * k + j] = 0.0;
            }
            y[i * k + (*gold).min(k - 1)] = 1.0;
        }
        let xt = Tensor::<2>::from_data(TensorData::new(x, [n * k, FEATURES]), &ad);
        let padt = Tensor::<2>::from_data(TensorData::new(pad, [n, k]), &ad);
        let yt = Tensor::<2>::from_data(TensorData::new(y, [n, k]), &ad);
        let mut optim = AdamWConfig::new().with_weight_decay(1e-4).init();
        for _ in 0..steps {
            let z = net.w.forward(xt.clone()).reshape([n, k]) + padt.clone();
            let m = z.clone().max_dim(1).detach();
            let lse = (z.clone() - m.clone()).exp().sum_dim(1).log() + m;
            let loss = (lse - (z * yt.clone()).sum_dim(1)).mean();
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = optim.step(5e-2, net, grads);
        }
    }
    let w = net.valid().w.weight.val();
    w.into_data().try_to_vec::<f32>().unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cand(slug: &str, fused: usize, lexical: Option<usize>, dense: Option<usize>) -> Candidate {
        Candidate {
            slug: slug.into(),
            fused_rank: Some(fused),
            lexical: lexical.map(|r| 10.0 / r as f32),
            lexical_rank: lexical,
            dense: dense.map(|r| 0.8 - 0.1 * r as f32),
            dense_rank: dense,
        }
    }

    #[test]
    fn the_scorer_learns_to_trust_the_evidence_that_is_right() {
        // The right article is always the dense ranking's first, never the lexical one's.
        let mut examples = vec![];
        for i in 0..40 {
            let cands =
                vec![cand("a", 1, Some(1), Some(2)), cand("b", 2, Some(2), Some(1)), cand("c", 3, None, Some(3))];
            let head =
                |s: &str| Some(HeadView { log_p: if s == "c" { -0.5 } else { -2.0 }, rank: 1 + usize::from(s != "c") });
            examples.push((features(&cands, &head), 1));
            let _ = i;
        }
        let w = fit(&examples, 200);
        assert_eq!(w.len(), FEATURES);
        let p = probabilities(&w, &examples[0].0);
        assert!(p[1] > 0.8, "{p:?}");
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}
