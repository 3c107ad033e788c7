//! Intent: which KB article a customer's turn is about (its topic, e.g. `return-policy`, and the
//! article's category, e.g. `returns`), with a probability. A linear classifier head (burn)
//! over the sentence encoder's vector of the conversation (the latest customer turn plus the
//! turns before it at half weight, as retrieval embeds it), trained on text the project takes
//! from the KB itself: each English article's title, headings, tags and every sentence of it.
//!
//! Saved as `intent.json` (the classes, the encoder's sha256, the KB's article hash, held-out
//! accuracy) and `intent.bpk` (the weights). It is only used with the KB and encoder it was
//! trained on; Chinese turns, which the English encoder does not embed, get no intent.

use anyhow::{Context, Result};
use burn::module::Module;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

use super::evidence::{Candidate, FEATURES, HeadView, MAX_CANDIDATES, features, probabilities};

/// Inputs are unit vectors: scaled so the weights need not grow large.
const SCALE: f32 = 5.0;

#[derive(Module, Debug)]
pub struct IntentNet {
    out: Linear,
}

impl IntentNet {
    /// `x`: `[n, dim]` unit vectors -> logits `[n, classes]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.out.forward(x * SCALE)
    }
}

/// What the head knows besides its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentFile {
    pub dim: usize,
    /// Article slugs, one per class, and their categories.
    pub slugs: Vec<String>,
    pub categories: Vec<String>,
    pub encoder_sha256: String,
    /// sha256 over the sorted slugs of the KB's English articles it was trained for.
    pub kb_articles_sha256: String,
    /// Texts it was trained on, and top-1 on the generated texts held out (a fifth, by hash).
    pub training_texts: usize,
    pub heldout_texts: usize,
    pub heldout_top1: f32,
    /// The evidence scorer's weights ([`super::evidence`]); empty: the head alone decides.
    #[serde(default)]
    pub evidence: Vec<f32>,
    /// Top-1 on the held-out generated questions: the head alone, the retrieval's first article
    /// alone, and the two combined by the evidence scorer.
    #[serde(default)]
    pub heldout_questions: Option<HeldOut>,
    /// Every article's category, Chinese ones too (a Chinese turn's topic comes from retrieval).
    #[serde(default)]
    pub article_categories: std::collections::BTreeMap<String, String>,
}

/// Top-1 of each stage on held-out generated questions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldOut {
    pub questions: usize,
    pub head: f32,
    pub retrieval: f32,
    pub combined: f32,
}

/// A loaded head.
pub struct Intent {
    pub file: IntentFile,
    net: IntentNet,
}

/// One intent: the article, its category, and the head's probability.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topic {
    pub slug: String,
    pub category: String,
    pub p: f32,
}

/// sha256 over the sorted slugs (what a head is tied to).
pub fn articles_hash(slugs: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut s = slugs.to_vec();
    s.sort();
    let mut h = Sha256::new();
    for slug in s {
        h.update(slug.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// [`articles_hash`] of the articles of `kb` a classifier is trained on (its English ones, as
/// [`kb_texts`] takes them).
pub fn kb_articles_hash(kb: &crate::knowledge::Kb) -> String {
    articles_hash(&classified(kb).map(|a| a.slug.clone()).collect::<Vec<_>>())
}

/// The articles of `kb` that are classes: the English ones (the encoder the head reads is
/// English).
fn classified(kb: &crate::knowledge::Kb) -> impl Iterator<Item = &crate::knowledge::Article> {
    kb.articles.iter().filter(|a| !a.meta.lang.starts_with("zh"))
}

/// Training texts, each with its class (article index).
pub type Texts = Vec<(String, usize)>;
/// Classes: each article's (slug, category).
pub type Classes = Vec<(String, String)>;

/// The generated training texts of a KB's English articles, and the articles.
pub fn kb_texts(kb: &crate::knowledge::Kb) -> (Texts, Classes) {
    let mut classes: Vec<(String, String)> = Vec::new();
    let mut texts = Vec::new();
    let opts = crate::knowledge::ChunkOptions::default();
    for a in classified(kb) {
        let class = classes.len();
        classes.push((a.slug.clone(), a.meta.category.clone()));
        texts.push((a.meta.title.clone(), class));
        if !a.meta.tags.is_empty() {
            texts.push((a.meta.tags.join(", "), class));
        }
        let mut seen = std::collections::HashSet::new();
        for c in crate::knowledge::chunk_article(a, &opts) {
            for h in &c.section {
                if seen.insert(h.clone()) {
                    texts.push((format!("{}: {h}", a.meta.title), class));
                }
            }
            for s in crate::text::sentences(&c.text) {
                if s.split_whitespace().count() >= 3 && seen.insert(s.to_owned()) {
                    texts.push((s.to_owned(), class));
                }
            }
        }
    }
    (texts, classes)
}

/// Whether a text is in the held-out fifth (by a hash of it: stable across runs).
pub fn held_out(text: &str) -> bool {
    crate::semantic::vectors::key_of(text)[0].is_multiple_of(5)
}

/// Fits the head: full batch, softmax cross-entropy, AdamW.
pub fn fit(vectors: &[Vec<f32>], labels: &[usize], classes: usize, steps: usize) -> IntentNet {
    let dim = vectors.first().map_or(1, Vec::len).max(1);
    let device = crate::util::device();
    let ad = device.clone().autodiff();
    ad.seed(7);
    let mut net = IntentNet {
        out: LinearConfig::new(dim, classes.max(1))
            .with_initializer(Initializer::Normal { mean: 0.0, std: 0.01 })
            .init(&ad),
    };
    let n = vectors.len();
    if n == 0 {
        return net.valid();
    }
    let x: Vec<f32> = vectors.iter().flatten().copied().collect();
    let mut y = vec![0.0f32; n * classes];
    for (i, &l) in labels.iter().enumerate() {
        y[i * classes + l] = 1.0;
    }
    let xt = Tensor::<2>::from_data(TensorData::new(x, [n, dim]), &ad);
    let yt = Tensor::<2>::from_data(TensorData::new(y, [n, classes]), &ad);
    let mut optim = AdamWConfig::new().with_weight_decay(1e-4).init();
    for step in 0..steps {
        let z = net.forward(xt.clone());
        let m = z.clone().max_dim(1).detach();
        let lse = (z.clone() - m.clone()).exp().sum_dim(1).log() + m;
        let loss = (lse - (z * yt.clone()).sum_dim(1)).mean();
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        let frac = step as f64 / steps.max(1) as f64;
        let lr = 2e-2 * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
        net = optim.step(lr, net, grads);
    }
    net.valid()
}

/// Logits `[n][classes]` of unit vectors.
fn logits(net: &IntentNet, vectors: &[Vec<f32>], dim: usize) -> Vec<Vec<f32>> {
    if vectors.is_empty() {
        return vec![];
    }
    let device = net.out.weight.val().device();
    let x: Vec<f32> = vectors.iter().flatten().copied().collect();
    let z = net.forward(Tensor::<2>::from_data(TensorData::new(x, [vectors.len(), dim]), &device));
    let k = z.dims()[1];
    let flat = z.into_data().try_to_vec::<f32>().unwrap_or_default();
    flat.chunks(k.max(1)).map(<[f32]>::to_vec).collect()
}

/// Top-1 accuracy of `net` on vectors with labels.
pub fn top1(net: &IntentNet, vectors: &[Vec<f32>], labels: &[usize]) -> f32 {
    let dim = vectors.first().map_or(1, Vec::len);
    let right = logits(net, vectors, dim)
        .iter()
        .zip(labels)
        .filter(|(z, l)| (0..z.len()).max_by(|&a, &b| z[a].total_cmp(&z[b])) == Some(**l))
        .count();
    right as f32 / labels.len().max(1) as f32
}

impl Intent {
    pub fn new(net: IntentNet, file: IntentFile) -> Self {
        Self { file, net }
    }

    /// Loads `intent.json` and `intent.bpk` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("intent.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        let file: IntentFile =
            serde_json::from_str(&text).with_context(|| format!("{}: not an intent head", path.display()))?;
        let device = crate::util::device();
        let mut net = IntentNet { out: LinearConfig::new(file.dim.max(1), file.slugs.len().max(1)).init(&device) };
        let weights = dir.join("intent.bpk");
        let mut store = BurnpackStore::from_file(&weights).auto_extension(false);
        net.load_from(&mut store).map_err(|e| anyhow::anyhow!("{}: cannot load weights: {e}", weights.display()))?;
        Ok(Self { file, net })
    }

    /// Writes the head into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let weights = dir.join("intent.bpk");
        let mut store = BurnpackStore::from_file(&weights).auto_extension(false).overwrite(true);
        self.net.save_into(&mut store).map_err(|e| anyhow::anyhow!("{}: cannot save: {e}", weights.display()))?;
        std::fs::write(dir.join("intent.json"), serde_json::to_string_pretty(&self.file)? + "\n")?;
        Ok(())
    }

    /// Whether this head was trained for this KB's English articles and this encoder.
    pub fn fits(&self, kb_articles_sha256: &str, encoder_sha256: &str) -> bool {
        self.file.kb_articles_sha256 == kb_articles_sha256 && self.file.encoder_sha256 == encoder_sha256
    }

    /// The head's view of every class of a vector of the right size: slug -> log p and rank.
    pub fn head_views(&self, v: &[f32]) -> HashMap<String, HeadView> {
        self.classify(v, usize::MAX)
            .into_iter()
            .enumerate()
            .map(|(r, t)| (t.slug, HeadView { log_p: t.p.max(1e-9).ln(), rank: r + 1 }))
            .collect()
    }

    /// The candidates a turn is scored over (retrieval's, then the head's first two that
    /// retrieval missed) and their features.
    pub fn prepare(&self, v: Option<&[f32]>, retrieval: &[Candidate]) -> (Vec<Candidate>, Vec<[f32; FEATURES]>) {
        let views = v.map(|v| self.head_views(v)).unwrap_or_default();
        let mut cands: Vec<Candidate> = retrieval.iter().take(MAX_CANDIDATES - 2).cloned().collect();
        let mut by_head: Vec<(&String, &HeadView)> = views.iter().collect();
        by_head.sort_by_key(|(_, h)| h.rank);
        for (slug, _) in by_head.into_iter().take(2) {
            if !cands.iter().any(|c| &c.slug == slug) {
                cands.push(Candidate { slug: slug.clone(), ..Candidate::default() });
            }
        }
        let feats = features(&cands, &|s| views.get(s).copied());
        (cands, feats)
    }

    /// The category of an article.
    pub fn category(&self, slug: &str) -> String {
        if let Some(c) = self.file.article_categories.get(slug) {
            return c.clone();
        }
        let i = self.file.slugs.iter().position(|s| s == slug);
        i.and_then(|i| self.file.categories.get(i)).cloned().unwrap_or_default()
    }

    /// The most likely topics of a turn, best first (`k` of them), from the vector head's view
    /// of its vector (`None`: a Chinese turn) and the retrieval's candidates, combined by the
    /// evidence scorer. Without scorer weights, the head alone decides.
    pub fn topics(&self, v: Option<&[f32]>, retrieval: &[Candidate], k: usize) -> Vec<Topic> {
        if self.file.evidence.len() != FEATURES {
            return v.map(|v| self.classify(v, k)).unwrap_or_default();
        }
        let (cands, feats) = self.prepare(v, retrieval);
        let p = probabilities(&self.file.evidence, &feats);
        let mut order: Vec<usize> = (0..cands.len()).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        order
            .into_iter()
            .take(k)
            .map(|i| Topic { slug: cands[i].slug.clone(), category: self.category(&cands[i].slug), p: p[i] })
            .collect()
    }

    /// The most likely topic of a conversation vector by the head alone, best first (`k` of them).
    pub fn classify(&self, v: &[f32], k: usize) -> Vec<Topic> {
        if v.len() != self.file.dim {
            return vec![];
        }
        let Some(z) = logits(&self.net, &[v.to_vec()], self.file.dim).into_iter().next() else { return vec![] };
        let max = z.iter().copied().fold(f32::MIN, f32::max);
        let e: Vec<f32> = z.iter().map(|x| (x - max).exp()).collect();
        let sum: f32 = e.iter().sum();
        let mut order: Vec<usize> = (0..e.len()).collect();
        order.sort_by(|&a, &b| e[b].total_cmp(&e[a]));
        order
            .into_iter()
            .take(k)
            .filter_map(|i| {
                Some(Topic {
                    slug: self.file.slugs.get(i)?.clone(),
                    category: self.file.categories.get(i).cloned().unwrap_or_default(),
                    p: e[i] / sum,
                })
            })
            .collect()
    }
}

/// A conversation's vector as the intent head reads it: the latest turn plus the earlier turns
/// at half weight, normalised.
pub fn conversation_vector(latest: &[f32], earlier: Option<&[f32]>) -> Vec<f32> {
    let mut v = latest.to_vec();
    if let Some(e) = earlier {
        v.iter_mut().zip(e).for_each(|(x, y)| *x += 0.5 * y);
    }
    crate::semantic::normalize(&mut v);
    v
}
