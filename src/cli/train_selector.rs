//! `deskpilot train-selector`: trains the answer selector on a KB's own synthetic questions (and
//! labelled conversations, if given), calibrates it and fits its answer/abstain thresholds on dev
//! cases, and writes the selector folder.

use crate::config::Settings;
use crate::desk::Author;
use crate::eval::{Case, load_cases};
use crate::knowledge::{ChunkOptions, chunk_article, load_kb};
use crate::model::data::{Kind, Synthesizer, exclude_eval_questions};
use crate::retrieval::{DenseChoice, RetrievalMode, Retriever, index_dir_for, load_for_chunks};
use crate::select::train::{
    FitOptions, Group, Labelled, Positives, calibrate, fit_answerability, fit_decision, fit_ensemble, group_features,
    groups, logits, reliability, top1,
};
use crate::select::{Decision, Platt, Selector, SelectorFile};
use anyhow::{Result, bail};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The knowledge base the synthetic questions are written from (default: the configured one).
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
    /// Labelled conversations to train on as well (JSONL cases with `gold` and `facts`).
    #[arg(long, value_name = "FILE")]
    cases: Vec<PathBuf>,
    /// Labelled dev conversations: calibration and thresholds are fitted on these (never trained
    /// on). Without any, the selector keeps uncalibrated scores and default thresholds.
    #[arg(long, value_name = "FILE")]
    dev: Vec<PathBuf>,
    /// Where to write the selector.
    #[arg(long, value_name = "DIR", default_value = "selector")]
    out: PathBuf,
    /// Synthetic questions per passage.
    #[arg(long, default_value_t = 6, value_parser = super::ranged(0, 1000))]
    per_passage: usize,
    /// Optimiser steps (full batch).
    #[arg(long, default_value_t = 400, value_parser = super::ranged(1, 100_000))]
    steps: usize,
    #[arg(long, default_value_t = 32, value_parser = super::ranged(1, 1024))]
    hidden: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Networks in the ensemble, fitted from seeds `--seed`, `--seed`+1, ...; the selector
    /// scores with their mean logit.
    #[arg(long, default_value_t = 5, value_parser = super::ranged(1, 64))]
    members: usize,
    /// Share of the questions the KB cannot answer that must be abstained on, on dev.
    #[arg(long, default_value_t = 0.9, value_parser = super::finite(0.0, 1.0))]
    min_abstain: f64,
    /// Each labelled conversation (`--cases`, and dev with `--cross-fit`) counts this many times
    /// next to a synthetic question.
    #[arg(long, default_value_t = 3, value_parser = super::ranged(1, 100))]
    case_weight: usize,
    /// Train on the dev cases too, by 2-fold cross-fitting: calibration and thresholds are fitted
    /// on each dev case's prediction by the model trained without it.
    #[arg(long)]
    cross_fit: bool,
    /// Experimental: also fine-tune a cross-encoder on the same questions, save it in DIR and
    /// report its dev ranking next to the selector's (the selector does not use it yet).
    #[arg(long, value_name = "DIR")]
    cross_out: Option<PathBuf>,
    /// Passes over the cross-encoder's training questions.
    #[arg(long, default_value_t = 2, requires = "cross_out", value_parser = super::ranged(1, 100))]
    cross_epochs: usize,
    /// The cross-encoder's learning rate (cosine decay to a tenth).
    #[arg(long, default_value_t = 3e-4, requires = "cross_out", value_parser = super::finite(1e-7, 1.0))]
    cross_lr: f64,
    /// The cross-encoder trains on every Nth synthetic question (and every labelled one).
    #[arg(long, default_value_t = 2, requires = "cross_out", value_parser = super::ranged(1, 1_000_000))]
    cross_thin: usize,
    /// Times each labelled question counts for the cross-encoder, next to a synthetic one.
    #[arg(long, default_value_t = 2, requires = "cross_out", value_parser = super::ranged(1, 100))]
    cross_repeat: usize,
    /// More eval case files whose questions must not be trained on.
    #[arg(long, value_name = "FILE")]
    exclude: Vec<PathBuf>,
}

fn labelled(case: &Case) -> Labelled {
    let turns = case
        .turns
        .iter()
        .map(|t| (if t.role == "agent" { Author::Agent } else { Author::Customer }, t.text.clone()))
        .collect();
    let positives = if case.abstain || case.gold.is_empty() || case.facts.is_empty() {
        Positives::None
    } else {
        Positives::Facts { slugs: case.gold.clone(), facts: case.facts.clone() }
    };
    Labelled { turns, positives, facts: case.facts.clone() }
}

/// The questions a labelled training case must not repeat: the bundled held-out sets', the dev
/// files' and the `--exclude` files' (a dev file given as `--cases` as well is not checked
/// against itself).
fn labelled_guard(args: &Args) -> Result<crate::model::data::EvalQuestions> {
    let extra: Vec<&std::path::Path> =
        args.dev.iter().filter(|p| !args.cases.contains(p)).chain(&args.exclude).map(PathBuf::as_path).collect();
    crate::model::data::held_out_questions(&extra)
}

fn featurise(label: &str, retriever: &Retriever, items: &[Labelled], terms: &[String], dim: usize) -> Vec<Group> {
    let bar = super::progress_bar(label);
    bar.set_length(items.len() as u64);
    let out = groups(retriever, items, terms, dim, &|i| bar.set_position(i as u64));
    bar.finish_and_clear();
    out
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let kb_dir = super::kb_dir(settings, args.kb.as_ref());
    let kb = load_kb(&kb_dir);
    for issue in &kb.issues {
        tracing::warn!("{issue}");
    }
    if kb.articles.is_empty() {
        bail!("{}: no articles to train on", kb_dir.display());
    }
    let chunks: Vec<_> = kb.articles.iter().flat_map(|a| chunk_article(a, &ChunkOptions::default())).collect();
    let mut retriever = Retriever::in_ram(&chunks)?;
    let choice = DenseChoice::from_config(&settings.config, Some(RetrievalMode::Hybrid))?;
    retriever.mode = choice.mode;
    retriever.fusion.dense = choice.dense_weight;
    let cache = index_dir_for(&kb_dir, &settings.paths.data_dir.join("eval-vectors"));
    let bar = super::progress_bar("embedding");
    let dim = match load_for_chunks(&chunks, Some(&cache), &choice.encoder_dir, &|i, n| {
        bar.set_length(n as u64);
        bar.set_position(i as u64);
    }) {
        Ok((dense, _)) => {
            let dim = dense.encoder.dim();
            let _ = retriever.dense_slot().set(dense);
            dim
        }
        Err(e) => {
            eprintln!("warning: no sentence encoder ({e:#}); the selector is trained on lexical features only");
            384
        }
    };
    bar.finish_and_clear();
    let terms = settings.config.model.member_terms.clone();

    // Synthetic questions from the KB (never an eval question), then labelled cases.
    let mut rng = crate::model::rng::Rng::new(args.seed);
    let mut examples =
        Synthesizer::new(&chunks, &retriever).with_member_terms(&terms).generate(args.per_passage, &mut rng);
    let (checked, dropped) = exclude_eval_questions(&mut examples, &args.exclude)?;
    let mut train_items: Vec<Labelled> = examples
        .iter()
        .map(|e| Labelled {
            turns: e.input.turns.iter().map(|(a, t)| (*a, t.clone())).collect(),
            positives: if e.kind == Kind::Abstain { Positives::None } else { Positives::Quoted(e.reply.clone()) },
            facts: Vec::new(),
        })
        .collect();
    let synthetic = train_items.len();
    // Labelled cases are hand-written too: one that repeats a question of the frozen held-out
    // set, of a dev file or of `--exclude` is not trained on (nor counted as one of its own file).
    let guard = labelled_guard(&args)?;
    let mut labelled_dropped = 0;
    for path in &args.cases {
        for case in load_cases(path)? {
            if case.turns.iter().any(|t| t.role != "agent" && guard.contains(&t.text)) {
                labelled_dropped += 1;
                continue;
            }
            train_items.push(labelled(&case));
        }
    }
    if labelled_dropped > 0 {
        eprintln!("{labelled_dropped} labelled cases dropped: they repeat a held-out, dev or excluded question");
    }
    let dev_items: Vec<Labelled> =
        args.dev.iter().map(|p| load_cases(p)).collect::<Result<Vec<_>>>()?.iter().flatten().map(labelled).collect();
    eprintln!(
        "selector data: {synthetic} synthetic questions ({dropped} dropped as eval questions of {checked}), {} labelled, {} dev",
        train_items.len() - synthetic,
        dev_items.len()
    );
    let train_groups = featurise("train pairs", &retriever, &train_items, &terms, dim);
    let dev_groups = featurise("dev pairs", &retriever, &dev_items, &terms, dim);
    let rows: usize = train_groups.iter().map(|g| g.n).sum();
    let positives: usize = train_groups.iter().map(|g| g.labels.iter().filter(|l| **l > 0.5).count()).sum();

    let opts = FitOptions { hidden: args.hidden, steps: args.steps, seed: args.seed, ..FitOptions::default() };
    let weighted = |groups: &[Group]| -> Vec<Group> {
        groups.iter().flat_map(|g| std::iter::repeat_n(g.clone(), args.case_weight)).collect()
    };
    let mut base = train_groups[..synthetic].to_vec();
    base.extend(weighted(&train_groups[synthetic..]));
    let run_fit = |groups: &[Group], label: &str| {
        let bar = super::progress_bar(label);
        bar.set_length((opts.steps * args.members) as u64);
        let out = fit_ensemble(groups, dim, &opts, args.members, &|member, step, loss| {
            bar.set_position((member * opts.steps + step) as u64);
            bar.set_message(format!("loss {loss:.4}"));
        });
        bar.finish_and_clear();
        out
    };
    let (net, config, dev_logits) = if args.cross_fit && !dev_groups.is_empty() {
        // Out-of-fold predictions for every dev case, then the final model on everything.
        let mut oof = vec![Vec::new(); dev_groups.len()];
        for fold in 0..2 {
            let mut groups = base.clone();
            let rest: Vec<Group> =
                dev_groups.iter().enumerate().filter(|(i, _)| i % 2 != fold).map(|(_, g)| g.clone()).collect();
            groups.extend(weighted(&rest));
            let (net, config) = run_fit(&groups, &format!("fit fold {}", fold + 1));
            for (i, g) in dev_groups.iter().enumerate().filter(|(i, _)| i % 2 == fold) {
                oof[i] = net.logits(g.scalars.clone(), g.meaning.clone(), g.n, &config);
            }
        }
        let mut groups = base.clone();
        groups.extend(weighted(&dev_groups));
        let (net, config) = run_fit(&groups, "fit");
        (net, config, oof)
    } else {
        let (net, config) = run_fit(&base, "fit");
        let dev_logits = logits(&net, &config, &dev_groups);
        (net, config, dev_logits)
    };
    if args.cross_out.is_some() && retriever.dense().is_none() {
        eprintln!("warning: no sentence encoder, so no cross-encoder is trained (--cross-out)");
    }
    if let (Some(dir), Some(dense)) = (&args.cross_out, retriever.dense()) {
        let turns = |items: &[Labelled]| items.iter().map(|l| l.turns.clone()).collect::<Vec<_>>();
        super::train_cross::run(
            &dense.encoder,
            &train_groups,
            &turns(&train_items),
            synthetic,
            &dev_groups,
            &turns(&dev_items),
            &dev_logits,
            &super::train_cross::Options {
                epochs: args.cross_epochs,
                lr: args.cross_lr,
                thin: args.cross_thin,
                repeat: args.cross_repeat,
            },
            dir,
        )?;
    }
    let train_logits = logits(&net, &config, &train_groups);
    let answerability = fit_answerability(&train_groups, &group_features(&train_groups, &train_logits));
    let (calibration, decision, dev_score) = if dev_groups.is_empty() {
        (Platt::default(), Decision::default(), None)
    } else {
        let platt = calibrate(&dev_groups, &dev_logits);
        let probs: Vec<Vec<f32>> = dev_logits.iter().map(|z| z.iter().map(|&x| platt.apply(x)).collect()).collect();
        let a: Vec<f32> = group_features(&dev_groups, &dev_logits).iter().map(|x| answerability.apply(x)).collect();
        let (d, s) = fit_decision(&dev_groups, &probs, &a, args.min_abstain);
        (platt, d, Some((s, reliability(&dev_groups, &probs, 5))))
    };
    let provenance = json!({
        "kb": kb_dir.display().to_string(),
        "synthetic_questions": synthetic,
        "eval_questions_dropped": dropped,
        "labelled_cases_dropped": labelled_dropped,
        "labelled_files": args.cases.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "dev_files": args.dev.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "train_rows": rows,
        "train_positives": positives,
        "train_top1": top1(&train_groups, &train_logits),
        "dev_top1": top1(&dev_groups, &dev_logits),
        "cross_fit": args.cross_fit,
        "case_weight": args.case_weight,
        "dev": dev_score.as_ref().map(|(s, _)| s),
        "dev_reliability": dev_score.as_ref().map(|(_, r)| r.iter().map(|(lo, hi, n, acc)| json!({"from": lo, "to": hi, "questions": n, "best_answers": acc})).collect::<Vec<_>>()),
        "seconds": started.elapsed().as_secs_f64(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
    });
    let file = SelectorFile {
        version: String::new(),
        net: config,
        members: args.members,
        calibration,
        answerability,
        decision,
        weights_sha256: String::new(),
        provenance: provenance.clone(),
    };
    let file = Selector::save(&net, file, &args.out)?;
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({"version": file.version, "out": args.out.display().to_string(), "decision": file.decision, "calibration": file.calibration, "answerability": file.answerability, "provenance": provenance})
        )?
    );
    Ok(ExitCode::SUCCESS)
}
