//! `deskpilot train-selector --cross-out DIR` (experimental): fine-tunes the cross-encoder of
//! [`crate::select::cross`] on the selector's training groups and reports, on dev, how often the
//! best-ranked candidate answers: the selector, the cross-encoder, and the two added.

use crate::desk::Author;
use crate::select::cross::{CrossGroup, CrossNet, fit, lower_states, pair_ids};
use crate::select::features::{COSINE, SCALARS, WORD_SHARE, split_turns};
use crate::select::train::Group;
use crate::semantic::Encoder;
use anyhow::Result;
use burn::store::{BurnpackStore, ModuleSnapshot};
use std::path::Path;

/// Candidates per training question: the answering ones (two at most), then the others most
/// like the question and, for the rest, others at random (so that easy ones are seen too).
const K: usize = 8;

fn question(turns: &[(Author, String)]) -> String {
    split_turns(turns).0
}

/// Rows of one group to train on: up to two positives, then negatives: half of them the most like
/// the question, the rest at random. `None` without a positive or a negative.
fn pick(g: &Group, rng: &mut crate::rng::Rng) -> Option<(Vec<usize>, Vec<bool>)> {
    let pos: Vec<usize> = (0..g.n).filter(|&i| g.labels[i] > 0.5).take(2).collect();
    let mut neg: Vec<usize> = (0..g.n).filter(|&i| g.labels[i] <= 0.5).collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let like = |i: usize| g.scalars[i * SCALARS + COSINE] + g.scalars[i * SCALARS + WORD_SHARE];
    neg.sort_by(|&a, &b| like(b).total_cmp(&like(a)));
    let hard = (K - pos.len()) / 2;
    let mut rest = neg.split_off(hard.min(neg.len()));
    while neg.len() < K - pos.len() && !rest.is_empty() {
        neg.push(rest.swap_remove(rng.below(rest.len())));
    }
    let flags = pos.iter().map(|_| true).chain(neg.iter().map(|_| false)).collect();
    Some((pos.into_iter().chain(neg).collect(), flags))
}

/// How the cross-encoder is trained.
pub struct Options {
    pub epochs: usize,
    pub lr: f64,
    /// Every `thin`-th synthetic question is trained on.
    pub thin: usize,
    /// Each labelled question counts this many times.
    pub repeat: usize,
}

/// How many groups with an answering candidate rank one first, of how many.
fn top1(groups: &[Group], scores: &[Vec<f32>]) -> (usize, usize) {
    let n = groups.iter().filter(|g| g.labels.iter().any(|&l| l > 0.5)).count();
    ((crate::select::train::top1(groups, scores) * n as f64).round() as usize, n)
}

/// Trains on `train` (every `opts.thin`-th of the first `synthetic` groups, and all the rest), reports
/// on `dev` against the selector's `dev_logits`, and saves the network in `out`.
#[allow(clippy::too_many_arguments)]
pub fn run(
    enc: &Encoder,
    train: &[Group],
    train_turns: &[Vec<(Author, String)>],
    synthetic: usize,
    dev: &[Group],
    dev_turns: &[Vec<(Author, String)>],
    dev_logits: &[Vec<f32>],
    opts: &Options,
    out: &Path,
) -> Result<serde_json::Value> {
    let started = std::time::Instant::now();
    let (thin, repeat) = (opts.thin.max(1), opts.repeat.max(1));
    let mut rng = crate::rng::Rng::new(5);
    let (mut pairs, mut groups) = (Vec::new(), Vec::new());
    for (i, (g, turns)) in train.iter().zip(train_turns).enumerate() {
        if i < synthetic && i % thin != 0 {
            continue;
        }
        let Some((rows, positive)) = pick(g, &mut rng) else { continue };
        let q = question(turns);
        let start = pairs.len();
        pairs.extend(rows.iter().map(|&r| pair_ids(enc, &q, &g.texts[r])));
        // Labelled (customer-written) questions can count more than synthetic ones.
        for _ in 0..if i < synthetic { 1 } else { repeat } {
            groups.push(CrossGroup { rows: (start..start + rows.len()).collect(), positive: positive.clone() });
        }
    }
    eprintln!("cross-encoder: {} training questions, {} pairs", groups.len(), pairs.len());
    let states = lower_states(enc, &pairs);
    eprintln!("cross-encoder: lower blocks done in {:.0} s", started.elapsed().as_secs_f64());
    let device = crate::util::device().autodiff();
    let (dim, heads) = (enc.dim(), enc.model().heads());
    let (epochs, lr) = (opts.epochs, opts.lr);
    let bar = super::progress_bar("cross-encoder");
    let net = fit(CrossNet::from_encoder(enc, &device), &states, &groups, dim, heads, epochs, 16, lr, &|s, n, loss| {
        bar.set_length(n as u64);
        bar.set_position(s as u64);
        bar.set_message(format!("loss {loss:.4}"));
    });
    bar.finish_and_clear();
    // Dev: every candidate.
    let mut dev_pairs = Vec::new();
    for (g, turns) in dev.iter().zip(dev_turns) {
        let q = question(turns);
        dev_pairs.extend(g.texts.iter().map(|t| pair_ids(enc, &q, t)));
    }
    let dev_states = lower_states(enc, &dev_pairs);
    let refs: Vec<&_> = dev_states.iter().collect();
    let flat = net.logits(&refs, dim, heads);
    let mut cross = Vec::new();
    let mut at = 0;
    for g in dev {
        cross.push(flat[at..at + g.n].to_vec());
        at += g.n;
    }
    let mut report = serde_json::json!({
        "training_questions": groups.len(),
        "training_pairs": pairs.len(),
        "epochs": epochs,
        "lr": lr,
        "thin": thin,
        "repeat": repeat,
        "selector_top1": top1(dev, dev_logits),
        "cross_top1": top1(dev, &cross),
    });
    for w in [0.25f32, 0.5, 1.0, 2.0, 4.0] {
        let both: Vec<Vec<f32>> =
            dev_logits.iter().zip(&cross).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x + w * y).collect()).collect();
        report[format!("selector_plus_{w}_cross_top1")] = serde_json::json!(top1(dev, &both));
    }
    report["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
    std::fs::create_dir_all(out)?;
    let mut store = BurnpackStore::from_file(out.join("cross.bpk")).auto_extension(false).overwrite(true);
    net.save_into(&mut store).map_err(|e| anyhow::anyhow!("{}: cannot save: {e}", out.display()))?;
    std::fs::write(out.join("cross.json"), serde_json::to_string_pretty(&report)? + "\n")?;
    eprintln!("cross-encoder: {report}");
    Ok(report)
}
