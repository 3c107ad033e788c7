//! The sentiment head: softmax regression over the sentence encoder's vector of a customer
//! turn (negative, neutral, positive), trained by `deskpilot understand train-sentiment` on the
//! labelled sets, shipped as `assets/understand/sentiment-head.json`.
//!
//! The encoder reads English, so Chinese turns (which get no vector) keep the cue scorer's
//! label ([`super::mood`]). The head is used only with the encoder it was trained on.

use super::mood::Sentiment;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The bundled head.
pub const BUNDLED: &str = include_str!("../../assets/understand/sentiment-head.json");

/// Weights of one linear layer (3 rows of `dim + 1`: the last column is the bias).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// sha256 of the encoder weights the vectors came from.
    pub encoder_sha256: String,
    pub dim: usize,
    pub l2: f32,
    /// What it was trained on, and its cross-validated accuracy there.
    pub trained_on: Vec<String>,
    pub cv_accuracy: f32,
    pub weights: Vec<Vec<f32>>,
}

const CLASSES: [Sentiment; 3] = [Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];
/// Inputs are unit vectors: scaled so the weights need not grow large.
const SCALE: f32 = 5.0;

fn class_index(s: Sentiment) -> usize {
    match s {
        Sentiment::Negative => 0,
        Sentiment::Neutral => 1,
        Sentiment::Positive => 2,
    }
}

impl Head {
    /// The bundled head, if it parses (checked by a test).
    pub fn bundled() -> Option<&'static Head> {
        static H: OnceLock<Option<Head>> = OnceLock::new();
        H.get_or_init(|| serde_json::from_str(BUNDLED).ok()).as_ref()
    }

    fn logits(&self, v: &[f32]) -> [f32; 3] {
        let mut z = [0.0; 3];
        for (k, w) in self.weights.iter().enumerate().take(3) {
            let dot: f32 = w.iter().zip(v).map(|(a, b)| a * b).sum();
            z[k] = SCALE * dot + w.get(self.dim).copied().unwrap_or(0.0);
        }
        z
    }

    /// The sentiment of a turn's vector and its probability; `None` for a vector of the wrong size.
    pub fn classify(&self, v: &[f32]) -> Option<(Sentiment, f32)> {
        if v.len() != self.dim || self.weights.len() != 3 {
            return None;
        }
        let z = self.logits(v);
        let max = z.iter().copied().fold(f32::MIN, f32::max);
        let e: Vec<f32> = z.iter().map(|x| (x - max).exp()).collect();
        let sum: f32 = e.iter().sum();
        let best = (0..3).max_by(|&a, &b| e[a].total_cmp(&e[b]))?;
        Some((CLASSES[best], e[best] / sum))
    }

    /// Trains by full-batch gradient descent on the cross-entropy with an L2 penalty
    /// (deterministic: zero start, fixed steps).
    pub fn train(vectors: &[Vec<f32>], labels: &[Sentiment], l2: f32, encoder_sha256: &str) -> Head {
        let dim = vectors.first().map_or(0, Vec::len);
        let mut head = Head {
            encoder_sha256: encoder_sha256.to_owned(),
            dim,
            l2,
            trained_on: vec![],
            cv_accuracy: 0.0,
            weights: vec![vec![0.0; dim + 1]; 3],
        };
        let n = vectors.len().max(1) as f32;
        for _ in 0..1500 {
            let mut grad = vec![vec![0.0f32; dim + 1]; 3];
            for (v, y) in vectors.iter().zip(labels) {
                let z = head.logits(v);
                let max = z.iter().copied().fold(f32::MIN, f32::max);
                let e: Vec<f32> = z.iter().map(|x| (x - max).exp()).collect();
                let sum: f32 = e.iter().sum();
                for k in 0..3 {
                    let g = e[k] / sum - if k == class_index(*y) { 1.0 } else { 0.0 };
                    for (j, x) in v.iter().enumerate() {
                        grad[k][j] += g * SCALE * x;
                    }
                    grad[k][dim] += g;
                }
            }
            for (w, g) in head.weights.iter_mut().zip(&grad) {
                for (j, (wj, gj)) in w.iter_mut().zip(g).enumerate() {
                    let decay = if j < dim { l2 * *wj } else { 0.0 };
                    *wj -= 0.05 * (gj / n + decay);
                }
            }
        }
        head
    }

    /// k-fold cross-validated accuracy (folds by position modulo k).
    pub fn cross_validate(vectors: &[Vec<f32>], labels: &[Sentiment], l2: f32, k: usize) -> f32 {
        let mut right = 0;
        for fold in 0..k {
            let (mut tv, mut tl) = (Vec::new(), Vec::new());
            for (i, (v, l)) in vectors.iter().zip(labels).enumerate() {
                if i % k != fold {
                    tv.push(v.clone());
                    tl.push(*l);
                }
            }
            let h = Head::train(&tv, &tl, l2, "");
            right += vectors
                .iter()
                .zip(labels)
                .enumerate()
                .filter(|(i, (v, l))| i % k == fold && h.classify(v).is_some_and(|(s, _)| s == **l))
                .count();
        }
        right as f32 / vectors.len().max(1) as f32
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_head_parses_and_learns_a_toy_problem() {
        let h = Head::bundled().unwrap();
        assert_eq!((h.weights.len(), h.weights[0].len()), (3, h.dim + 1));
        let v = |a: f32, b: f32| vec![a, b];
        let xs = [v(1.0, 0.0), v(0.9, 0.1), v(0.0, 1.0), v(0.1, 0.9), v(-1.0, 0.0), v(-0.9, -0.1)];
        let ys = [
            Sentiment::Negative,
            Sentiment::Negative,
            Sentiment::Neutral,
            Sentiment::Neutral,
            Sentiment::Positive,
            Sentiment::Positive,
        ];
        let t = Head::train(&xs, &ys, 0.0, "x");
        for (x, y) in xs.iter().zip(ys) {
            assert_eq!(t.classify(x).unwrap().0, y);
        }
        assert!(t.classify(&[1.0]).is_none(), "wrong size");
    }
}
