//! Training the answer selector.
//!
//! Pairs come from any KB and from labelled conversations: every question is run through the real
//! retriever, and each sentence of the passages it returns becomes a candidate, labelled
//! positive when it answers (a synthetic question: the reply quotes it; a labelled case: it holds
//! one of the case's facts and belongs to a gold article) and negative otherwise, so the
//! negatives are the hard ones: other sentences of the same article and of the neighbouring
//! articles retrieval confuses it with. Questions the KB cannot answer give only negatives.
//!
//! The network is fitted with burn's autodiff (AdamW, weighted binary cross-entropy, full batch);
//! its logits are then calibrated (Platt scaling) and the answer/abstain thresholds chosen on dev
//! data that training never saw.

use super::features::{Question, SCALARS, candidates, split_turns};
use super::net::{Ensemble, NetConfig, SelectorNet, listwise, weighted_bce};
use super::{Answerability, Choice, Decision, Platt, QUESTION_FEATURES, choose, question_features};
use crate::desk::ports::{RetrievalQuery, Retriever};
use crate::desk::{Author, Passage};
use crate::text::states_facts;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::TensorData;

/// What makes a candidate sentence a positive.
#[derive(Debug, Clone)]
pub enum Positives {
    /// The reply quotes these sentences.
    Quoted(String),
    /// It holds one of these facts and comes from one of these articles (`zh/` variants included).
    Facts { slugs: Vec<String>, facts: Vec<String> },
    /// Nothing answers: the KB cannot.
    None,
}

/// A question with what answers it.
#[derive(Debug, Clone)]
pub struct Labelled {
    pub turns: Vec<(Author, String)>,
    pub positives: Positives,
    /// The facts a reply must state (for choosing thresholds); empty when unknown.
    pub facts: Vec<String>,
}

impl Labelled {
    pub fn answerable(&self) -> bool {
        !matches!(self.positives, Positives::None)
    }
}

/// One question's candidates, featurised and labelled.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub n: usize,
    /// `n * SCALARS`, row-major.
    pub scalars: Vec<f32>,
    /// `n * dim`, row-major (zeros without vectors).
    pub meaning: Vec<f32>,
    pub labels: Vec<f32>,
    pub texts: Vec<String>,
    pub answerable: bool,
    pub facts: Vec<String>,
}

fn trim_stop(s: &str) -> &str {
    s.trim().trim_end_matches(['.', '。', '!', '！', '?', '？', ':', '：', ';', '；', ','])
}

fn is_positive(p: &Positives, text: &str, passage: &Passage) -> bool {
    match p {
        Positives::Quoted(reply) => {
            let t = trim_stop(text);
            t.chars().count() >= 8 && reply.contains(t)
        }
        Positives::Facts { slugs, facts } => {
            let base = passage.slug.strip_prefix("zh/").unwrap_or(&passage.slug);
            slugs.iter().any(|s| s == &passage.slug || s.strip_prefix("zh/").unwrap_or(s) == base)
                && facts.iter().any(|f| states_facts(text, std::slice::from_ref(f)))
        }
        Positives::None => false,
    }
}

/// Featurises `items` through `retriever` (`progress(done)` after each): one group per item, in
/// order (empty when retrieval failed).
pub fn groups(
    retriever: &dyn Retriever,
    items: &[Labelled],
    member_terms: &[String],
    dim: usize,
    progress: &dyn Fn(usize),
) -> Vec<Group> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        progress(i + 1);
        let query = RetrievalQuery { turns: item.turns.clone(), tags: Vec::new(), k: 5, language: None };
        let mut g = Group { answerable: item.answerable(), facts: item.facts.clone(), ..Group::default() };
        let r = match retriever.retrieve(&query) {
            Ok(r) => r,
            Err(e) => {
                // An empty group keeps groups and items in step.
                tracing::warn!("selector training: retrieval failed, question skipped: {e}");
                out.push(g);
                continue;
            }
        };
        let passages = r.drafter_passages();
        let (latest, earlier) = split_turns(&item.turns);
        let q = Question {
            latest: &latest,
            earlier: &earlier,
            member: None,
            member_terms,
            confidence: r.confidence,
            vectors: r.vectors.as_deref(),
        };
        let cands = candidates(passages, &q);
        for c in cands {
            g.labels.push(f32::from(u8::from(is_positive(&item.positives, &c.text, &passages[c.passage]))));
            g.scalars.extend(&c.scalars);
            if c.meaning.len() == dim {
                g.meaning.extend(&c.meaning);
            } else {
                g.meaning.extend(std::iter::repeat_n(0.0, dim.max(1)));
            }
            g.texts.push(c.text);
            g.n += 1;
        }
        out.push(g);
    }
    out
}

/// Fitting options.
#[derive(Debug, Clone)]
pub struct FitOptions {
    pub hidden: usize,
    pub steps: usize,
    pub lr: f64,
    /// Weight of a positive row next to a negative one.
    pub positive_weight: f32,
    /// Weight of the listwise loss (the answering sentences first within each question).
    pub listwise: f32,
    pub seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self { hidden: 32, steps: 600, lr: 1e-2, positive_weight: 3.0, listwise: 1.0, seed: 7 }
    }
}

fn flat(groups: &[Group], dim: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>, usize) {
    let (mut s, mut m, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for g in groups {
        s.extend(&g.scalars);
        m.extend(&g.meaning);
        y.extend(&g.labels);
    }
    let n = y.len();
    debug_assert_eq!(m.len(), n * dim.max(1));
    (s, m, y, n)
}

/// Fits a network on `train`; `progress(step, loss)`.
pub fn fit(train: &[Group], dim: usize, opts: &FitOptions, progress: &dyn Fn(usize, f32)) -> (SelectorNet, NetConfig) {
    let config = NetConfig { scalars: SCALARS, dim: dim.max(1), hidden: opts.hidden };
    let device = crate::util::device();
    let ad = device.clone().autodiff();
    let mut net = config.init(&ad, opts.seed);
    let (s, m, y, n) = flat(train, dim);
    if n == 0 {
        return (config.init(&device, opts.seed), config);
    }
    let w: Vec<f32> = y.iter().map(|&l| if l > 0.5 { opts.positive_weight } else { 1.0 }).collect();
    // The listwise part: each group's rows padded to the longest group, as indices into the rows
    // (padding points at row 0 and is masked out).
    let width = train.iter().map(|g| g.n).max().unwrap_or(1).max(1);
    let (mut idx, mut all_bias, mut pos_bias) = (Vec::new(), Vec::new(), Vec::new());
    let mut groups_n = 0;
    let mut s0 = 0usize;
    for g in train {
        let start = s0;
        s0 += g.n;
        if !g.labels.iter().any(|&l| l > 0.5) {
            continue;
        }
        groups_n += 1;
        for j in 0..width {
            let real = j < g.n;
            idx.push(if real { (start + j) as i64 } else { 0 });
            all_bias.push(if real { 0.0 } else { -1e4 });
            pos_bias.push(if real && g.labels[j] > 0.5 { 0.0 } else { -1e4 });
        }
    }
    let st = Tensor::<2>::from_data(TensorData::new(s, [n, SCALARS]), &ad);
    let mt = Tensor::<2>::from_data(TensorData::new(m, [n, config.dim]), &ad);
    let yt = Tensor::<1>::from_data(TensorData::new(y, [n]), &ad);
    let wt = Tensor::<1>::from_data(TensorData::new(w, [n]), &ad);
    let it = Tensor::<1, Int>::from_data(TensorData::new(idx, [groups_n * width]), &ad);
    let ab = Tensor::<2>::from_data(TensorData::new(all_bias, [groups_n, width]), &ad);
    let pb = Tensor::<2>::from_data(TensorData::new(pos_bias, [groups_n, width]), &ad);
    let mut optim = AdamWConfig::new().with_weight_decay(1e-3).init();
    for step in 0..opts.steps {
        let z = net.forward(st.clone(), mt.clone());
        let mut loss = weighted_bce(z.clone(), yt.clone(), wt.clone());
        if groups_n > 0 {
            let padded = z.select(0, it.clone()).reshape([groups_n, width]);
            let list = listwise(padded, ab.clone(), pb.clone());
            loss = loss + list.reshape([1]) * opts.listwise;
        }
        let value =
            loss.clone().into_data().try_to_vec::<f32>().ok().and_then(|v| v.first().copied()).unwrap_or(f32::NAN);
        let grads = GradientsParams::from_grads(loss.backward(), &net);
        // Cosine decay to a tenth.
        let frac = step as f64 / opts.steps.max(1) as f64;
        let lr = opts.lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()));
        net = optim.step(lr, net, grads);
        progress(step + 1, value);
    }
    (net, config)
}

/// Fits `members` networks on `train`, seeds `opts.seed`, `opts.seed + 1`, ...;
/// `progress(member, step, loss)`.
pub fn fit_ensemble(
    train: &[Group],
    dim: usize,
    opts: &FitOptions,
    members: usize,
    progress: &dyn Fn(usize, usize, f32),
) -> (Ensemble, NetConfig) {
    let mut nets = Vec::with_capacity(members.max(1));
    let mut config = None;
    for m in 0..members.max(1) {
        let o = FitOptions { seed: opts.seed + m as u64, ..opts.clone() };
        let (net, c) = fit(train, dim, &o, &|step, loss| progress(m, step, loss));
        nets.push(net);
        config = Some(c);
    }
    (Ensemble { members: nets }, config.expect("at least one member"))
}

/// The ensemble's logits for each group's rows.
pub fn logits(net: &Ensemble, config: &NetConfig, groups: &[Group]) -> Vec<Vec<f32>> {
    groups.iter().map(|g| net.logits(g.scalars.clone(), g.meaning.clone(), g.n, config)).collect()
}

/// Platt scaling of `logits` against the groups' labels (logistic regression on one input,
/// Newton's method).
pub fn calibrate(groups: &[Group], logits: &[Vec<f32>]) -> Platt {
    let pairs: Vec<(f64, f64)> = groups
        .iter()
        .zip(logits)
        .flat_map(|(g, z)| z.iter().zip(&g.labels).map(|(z, y)| (f64::from(*z), f64::from(*y))))
        .collect();
    if pairs.iter().all(|p| p.1 > 0.5) || pairs.iter().all(|p| p.1 < 0.5) {
        return Platt::default();
    }
    let (mut a, mut b) = (1.0f64, 0.0f64);
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 1e-6, 0.0, 1e-6);
        for &(z, y) in &pairs {
            let p = 1.0 / (1.0 + (-(a * z + b)).exp());
            let r = p - y;
            let w = (p * (1.0 - p)).max(1e-9);
            ga += r * z;
            gb += r;
            haa += w * z * z;
            hab += w * z;
            hbb += w;
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-12 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-7 {
            break;
        }
    }
    Platt { a: a as f32, b: b as f32 }
}

/// How a decision does on dev groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct DecisionScore {
    /// Answerable questions with facts, and those whose quoted sentences state all of them.
    pub fact_questions: usize,
    pub facts_stated: usize,
    /// Answerable questions abstained on.
    pub answerable: usize,
    pub wrongful_abstentions: usize,
    /// Questions the KB cannot answer, and those abstained on.
    pub unanswerable: usize,
    pub abstained_right: usize,
}

/// The question features of each group, given its logits.
pub fn group_features(groups: &[Group], logits: &[Vec<f32>]) -> Vec<Vec<f32>> {
    groups
        .iter()
        .zip(logits)
        .map(|(g, z)| {
            let rows: Vec<(&[f32], f32)> =
                (0..g.n).map(|i| (&g.scalars[i * SCALARS..(i + 1) * SCALARS], z[i])).collect();
            question_features(&rows)
        })
        .collect()
}

/// Fits [`Answerability`] on groups (label: the question is answerable) by gradient descent.
pub fn fit_answerability(groups: &[Group], features: &[Vec<f32>]) -> Answerability {
    let n = groups.len().max(1) as f32;
    let mut w = vec![0.0f32; QUESTION_FEATURES];
    let mut b = 0.0f32;
    for _ in 0..3000 {
        let mut gw = vec![0.0f32; QUESTION_FEATURES];
        let mut gb = 0.0f32;
        for (g, x) in groups.iter().zip(features) {
            let z: f32 = w.iter().zip(x).map(|(a, v)| a * v).sum::<f32>() + b;
            let r = 1.0 / (1.0 + (-z).exp()) - f32::from(u8::from(g.answerable));
            gw.iter_mut().zip(x).for_each(|(g, v)| *g += r * v);
            gb += r;
        }
        w.iter_mut().zip(&gw).for_each(|(w, g)| *w -= 0.5 * (g / n + 1e-3 * *w));
        b -= 0.5 * gb / n;
    }
    Answerability { weights: w, bias: b }
}

/// Scores `d` on groups with calibrated probabilities `probs` and answerability `answerable`.
pub fn score_decision(groups: &[Group], probs: &[Vec<f32>], answerable: &[f32], d: &Decision) -> DecisionScore {
    let mut s = DecisionScore::default();
    for ((g, p), a) in groups.iter().zip(probs).zip(answerable) {
        let texts: Vec<&str> = g.texts.iter().map(String::as_str).collect();
        let choice = choose(p, *a, d, &texts);
        if g.answerable {
            s.answerable += 1;
            s.wrongful_abstentions += usize::from(choice == Choice::Abstain);
            if !g.facts.is_empty() {
                s.fact_questions += 1;
                if let Choice::Answer(picked) = &choice {
                    let text: Vec<&str> = picked.iter().map(|&i| g.texts[i].as_str()).collect();
                    s.facts_stated += usize::from(states_facts(&text.join(" "), &g.facts));
                }
            }
        } else {
            s.unanswerable += 1;
            s.abstained_right += usize::from(choice == Choice::Abstain);
        }
    }
    s
}

/// Chooses the thresholds on dev groups: the most questions with every fact stated, among the
/// decisions that abstain on at least `min_abstain` of the questions the KB cannot answer (the
/// best abstention rate reachable, if none reaches it); fewer wrongful abstentions break ties.
pub fn fit_decision(
    groups: &[Group],
    probs: &[Vec<f32>],
    answerable: &[f32],
    min_abstain: f64,
) -> (Decision, DecisionScore) {
    type Key = (bool, usize, usize, usize);
    let mut best: Option<(Decision, DecisionScore, Key)> = None;
    let grid = |lo: f32, hi: f32, step: f32| {
        let n = ((hi - lo) / step).round() as usize;
        (0..=n).map(move |i| lo + step * i as f32)
    };
    for answer in grid(0.02, 0.8, 0.02) {
        for pick in grid(0.1, 0.9, 0.1) {
            for relative in grid(0.2, 0.9, 0.1) {
                for max_sentences in [2, 3] {
                    let d = Decision { answer, pick, relative, max_sentences, ..Decision::default() };
                    let s = score_decision(groups, probs, answerable, &d);
                    let rate = s.abstained_right as f64 / s.unanswerable.max(1) as f64;
                    let fewer_wrong = usize::MAX - s.wrongful_abstentions;
                    // Meeting the abstention bar comes first; then facts stated (or, below the
                    // bar, abstentions), then fewer wrongful abstentions.
                    let key: Key = if rate >= min_abstain {
                        (true, s.facts_stated, fewer_wrong, s.abstained_right)
                    } else {
                        (false, s.abstained_right, s.facts_stated, fewer_wrong)
                    };
                    if best.as_ref().is_none_or(|b| key > b.2) {
                        best = Some((d, s, key));
                    }
                }
            }
        }
    }
    best.map(|(d, s, _)| (d, s)).unwrap_or_default()
}

/// Top-1 accuracy: the share of groups with a positive whose best-scored candidate is one.
pub fn top1(groups: &[Group], logits: &[Vec<f32>]) -> f64 {
    let (mut n, mut hit) = (0usize, 0usize);
    for (g, z) in groups.iter().zip(logits) {
        if !g.labels.iter().any(|&l| l > 0.5) {
            continue;
        }
        n += 1;
        if let Some((i, _)) = z.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) {
            hit += usize::from(g.labels[i] > 0.5);
        }
    }
    hit as f64 / n.max(1) as f64
}

/// Reliability of calibrated probabilities: per bin of the best candidate's probability, how many
/// questions fell in it and the share whose best candidate answers.
pub fn reliability(groups: &[Group], probs: &[Vec<f32>], bins: usize) -> Vec<(f32, f32, usize, f64)> {
    let mut count = vec![0usize; bins];
    let mut right = vec![0usize; bins];
    for (g, p) in groups.iter().zip(probs) {
        let Some((i, &best)) = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else { continue };
        let bin = ((best * bins as f32) as usize).min(bins - 1);
        count[bin] += 1;
        right[bin] += usize::from(g.labels[i] > 0.5);
    }
    (0..bins)
        .map(|b| {
            let lo = b as f32 / bins as f32;
            (lo, lo + 1.0 / bins as f32, count[b], right[b] as f64 / count[b].max(1) as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_scaling_recovers_a_known_slope() {
        // Labels drawn from sigmoid(2z - 1) on a grid.
        let mut g = Group::default();
        let mut z = Vec::new();
        for i in 0..400 {
            let x = (i as f32 - 200.0) / 50.0;
            let p = 1.0 / (1.0 + (-(2.0 * x - 1.0)).exp());
            for k in 0..10 {
                z.push(x);
                g.labels.push(f32::from(u8::from((k as f32 + 0.5) / 10.0 < p)));
            }
        }
        g.n = z.len();
        let c = calibrate(&[g], &[z]);
        assert!((c.a - 2.0).abs() < 0.3 && (c.b + 1.0).abs() < 0.3, "{c:?}");
    }

    /// Toy groups of 6 candidates: the answer is the row whose feature 0 is high (noisy).
    fn toy_groups(count: usize, rng: &mut crate::rng::Rng) -> Vec<Group> {
        (0..count)
            .map(|_| {
                let mut g = Group { n: 6, answerable: true, ..Group::default() };
                let answer = rng.below(6);
                for j in 0..6 {
                    let mut row = vec![0.0; SCALARS];
                    row[0] = if j == answer { 0.8 } else { 0.3 } + 0.4 * (rng.below(1000) as f32 / 1000.0 - 0.5);
                    row[1] = rng.below(1000) as f32 / 1000.0;
                    g.scalars.extend(row);
                    g.meaning.push(0.0);
                    g.labels.push(f32::from(u8::from(j == answer)));
                    g.texts.push(format!("sentence {j}"));
                }
                g
            })
            .collect()
    }

    #[test]
    fn an_ensemble_is_fitted_saved_and_loaded_and_ranks_the_answers_first() {
        let mut rng = crate::rng::Rng::new(3);
        let (train, held) = (toy_groups(80, &mut rng), toy_groups(40, &mut rng));
        let opts = FitOptions { hidden: 4, steps: 120, ..FitOptions::default() };
        let (net, config) = fit_ensemble(&train, 0, &opts, 2, &|_, _, _| {});
        assert_eq!(net.members.len(), 2);
        let z = logits(&net, &config, &held);
        assert!(top1(&held, &z) >= 0.8, "held-out top-1 {}", top1(&held, &z));

        let dir = tempfile::tempdir().expect("tempdir");
        let file = super::super::SelectorFile {
            version: String::new(),
            net: config.clone(),
            members: 0,
            calibration: super::super::Platt::default(),
            answerability: super::super::Answerability::default(),
            decision: super::super::Decision::default(),
            weights_sha256: String::new(),
            provenance: serde_json::Value::Null,
        };
        let saved = super::super::Selector::save(&net, file.clone(), dir.path()).expect("save");
        assert_eq!(saved.members, 2);
        let loaded = super::super::Selector::load(dir.path()).expect("load");
        let cands = |g: &Group| -> Vec<super::super::Candidate> {
            (0..g.n)
                .map(|j| super::super::Candidate {
                    passage: 0,
                    order: j,
                    text: g.texts[j].clone(),
                    scalars: g.scalars[j * SCALARS..(j + 1) * SCALARS].to_vec(),
                    meaning: vec![0.0],
                })
                .collect()
        };
        for (g, want) in held.iter().zip(&z).take(5) {
            let got = loaded.logits(&cands(g));
            assert!(got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-5), "{got:?} vs {want:?}");
        }

        // A one-network file from before ensembles still loads.
        let single = Ensemble { members: vec![net.members.into_iter().next().expect("member")] };
        let old = tempfile::tempdir().expect("tempdir");
        let mut store = burn::store::BurnpackStore::from_file(old.path().join("selector.bpk"))
            .auto_extension(false)
            .overwrite(true);
        burn::store::ModuleSnapshot::save_into(&single.members[0], &mut store).expect("save one");
        let bytes = std::fs::read(old.path().join("selector.bpk")).expect("read");
        let json = super::super::SelectorFile { members: 1, weights_sha256: super::super::sha256_hex(&bytes), ..file };
        let mut value = serde_json::to_value(&json).expect("json");
        value.as_object_mut().expect("object").remove("members");
        std::fs::write(old.path().join("selector.json"), value.to_string()).expect("write");
        let loaded = super::super::Selector::load(old.path()).expect("load the one-network file");
        assert_eq!(loaded.file.members, 1);
        let want = single.logits(held[0].scalars.clone(), held[0].meaning.clone(), 6, &config);
        assert!(loaded.logits(&cands(&held[0])).iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-5));
    }

    #[test]
    fn quoted_and_fact_positives() {
        let p = Passage {
            slug: "zh/refunds".into(),
            title: String::new(),
            section: vec![],
            text: String::new(),
            score: 1.0,
            highlights: vec![],
        };
        let quoted = Positives::Quoted("Hi!\n\nCard refunds take 5-7 business days. Anything else?".into());
        assert!(is_positive(&quoted, "Card refunds take 5-7 business days.", &p));
        assert!(!is_positive(&quoted, "Refunds go to the original payment method.", &p));
        let facts = Positives::Facts { slugs: vec!["refunds".into()], facts: vec!["5-7 个工作日".into()] };
        assert!(is_positive(&facts, "退回银行卡需要5-7个工作日。", &p));
        assert!(!is_positive(&facts, "退款会退回原支付方式。", &p));
    }
}
