//! `deskpilot eval`: replay an evaluation set (a `kb/` folder + JSONL cases) and report quality;
//! or, with `--cases` alone, replay cases against the configured (bundled) knowledge base.

use crate::config::Settings;
use crate::eval::{load_cases, replay_retrieval};
use crate::knowledge::{ChunkOptions, chunk_article, load_kb};
use crate::retrieval::{DenseChoice, RetrievalMode, Retriever, index_dir_for, load_for_chunks};
use anyhow::{Result, bail};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Evaluation set folder: `kb/` plus `dev.jsonl`.
    #[arg(long, value_name = "DIR", required_unless_present = "cases")]
    set: Option<PathBuf>,
    /// Cases file (default: <set>/dev.jsonl).
    #[arg(long, value_name = "FILE")]
    cases: Option<PathBuf>,
    /// Knowledge-base folder (default: <set>/kb, else the configured or bundled KB).
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
    /// Which half of the cases: 1 (odd lines, for tuning), 2 (even lines, held out), or all.
    #[arg(long, default_value = "all", value_parser = ["1", "2", "all"])]
    half: String,
    /// Only the first N cases (after --half).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// Ranking parameters for tuning experiments: key=value,... (see Retriever::tune).
    #[arg(long, hide = true, default_value = "")]
    tune: String,
    /// How passages are ranked (default: `[retrieval] mode` in the config, `hybrid`). Passage
    /// vectors are cached by content under the data dir (`eval-vectors/`).
    #[arg(long, value_enum)]
    retrieval: Option<RetrievalMode>,
    /// Skip drafting: measure retrieval only.
    #[arg(long)]
    retrieval_only: bool,
    /// Model folder for drafting (default: the configured or bundled model).
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// `neural` (the generator, guided by the answer selector), `extractive` (quotes the
    /// selected sentences) or `decoder` (the ablation: the generator alone, no selector or plan).
    #[arg(long, value_parser = ["neural", "extractive", "decoder"])]
    drafter: Option<String>,
    /// Write one JSON line per case here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Keep personal data in the --out file (masked by default, as `[privacy] mask` lists).
    #[arg(long)]
    unmasked: bool,
    /// The answer selector's folder, or `none` for the hand-written heuristics (default: the
    /// config's `[model] selector`).
    #[arg(long, value_name = "DIR|none")]
    selector: Option<String>,
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let kb_dir = match (&args.kb, &args.set) {
        (Some(kb), _) => kb.clone(),
        (None, Some(set)) => set.join("kb"),
        (None, None) => super::kb_dir(settings, None),
    };
    let (cases_path, set_name) = match (&args.cases, &args.set) {
        (Some(c), Some(s)) => (c.clone(), s.display().to_string()),
        (Some(c), None) => (c.clone(), c.display().to_string()),
        (None, Some(s)) => (s.join("dev.jsonl"), s.display().to_string()),
        (None, None) => bail!("give --set DIR or --cases FILE"),
    };
    if !kb_dir.is_dir() {
        match &args.set {
            Some(_) if args.kb.is_none() => bail!("{}: no kb/ folder in the evaluation set", kb_dir.display()),
            _ => bail!("{}: knowledge-base folder not found", kb_dir.display()),
        }
    }
    let mut cases = load_cases(&cases_path)?;
    cases = match args.half.as_str() {
        "1" => cases.into_iter().step_by(2).collect(),
        "2" => cases.into_iter().skip(1).step_by(2).collect(),
        _ => cases,
    };
    if let Some(n) = args.limit {
        cases.truncate(n);
    }

    // The set's KB is indexed in memory: an eval run leaves nothing behind.
    let started = Instant::now();
    let kb = load_kb(&kb_dir);
    for issue in &kb.issues {
        tracing::warn!("{issue}");
    }
    let opts = ChunkOptions::default();
    let chunks: Vec<_> = kb.articles.iter().flat_map(|a| chunk_article(a, &opts)).collect();
    let mut retriever = Retriever::in_ram(&chunks)?;
    let choice = DenseChoice::from_config(&settings.config, args.retrieval)?;
    retriever.mode = choice.mode;
    retriever.fusion.dense = choice.dense_weight;
    retriever.tune(&args.tune)?;
    let index_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut embed_ms = 0.0;
    if choice.mode != RetrievalMode::Lexical {
        let started = Instant::now();
        let cache = index_dir_for(&kb_dir, &settings.paths.data_dir.join("eval-vectors"));
        let bar = super::progress_bar("embedding");
        match load_for_chunks(&chunks, Some(&cache), &choice.encoder_dir, &|i, n| {
            bar.set_length(n as u64);
            bar.set_position(i as u64);
        }) {
            Ok((dense, r)) => {
                tracing::info!(embedded = r.embedded, passages = r.passages, "passage vectors ready");
                let _ = retriever.dense_slot().set(dense);
            }
            Err(e) => tracing::warn!("sentence encoder unavailable, evaluating lexical retrieval: {e:#}"),
        }
        bar.finish_and_clear();
        embed_ms = started.elapsed().as_secs_f64() * 1e3;
    }
    let mode = retriever.effective_mode();

    let bar = super::progress_bar("eval");
    bar.set_length(cases.len() as u64);
    let started = Instant::now();
    let report = replay_retrieval(&retriever, &cases, &|i| bar.set_position(i as u64))?;
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    bar.finish_and_clear();

    // Drafting, for the cases that have a human reference reply.
    let generation = if args.retrieval_only {
        None
    } else {
        let bar = super::progress_bar("drafts");
        bar.set_length(cases.len() as u64);
        let mut config = settings.config.clone();
        if let Some(sel) = &args.selector {
            config.model.selector = sel.clone();
        }
        let choice = crate::model::DrafterChoice::from_config(&config, args.model.as_deref(), args.drafter.as_deref());
        let (mut drafter, _) = choice.load()?;
        let r =
            crate::eval::replay_generation(&retriever, drafter.as_mut(), &cases, 5, &|i| bar.set_position(i as u64))?;
        bar.finish_and_clear();
        Some(r)
    };
    let drafts: std::collections::HashMap<&str, &crate::eval::CaseDraft> =
        generation.iter().flat_map(|(_, d)| d.iter().map(|c| (c.id.as_str(), c))).collect();

    if let Some(path) = &args.out {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for c in &report.cases {
            let mut line = serde_json::to_value(c)?;
            if let (Some(d), Some(obj)) = (drafts.get(c.id.as_str()), line.as_object_mut()) {
                obj.insert("generation".into(), serde_json::to_value(d)?);
            }
            if !args.unmasked {
                crate::privacy::mask_json(&mut line);
            }
            writeln!(f, "{line}")?;
        }
        f.flush()?;
    }
    let m = &report.metrics;
    let timings = json!({
        "index_ms": index_ms,
        "embed_ms": embed_ms,
        "retrieval_total_ms": total_ms,
        "retrieval_p50_ms": report.query_p50_ms,
        "retrieval_p99_ms": report.query_p99_ms,
    });
    let out = &mut std::io::stdout().lock();
    if args.json {
        let obj = json!({
            "set": set_name,
            "cases": cases.len(),
            "articles": kb.articles.len(),
            "passages": chunks.len(),
            "mode": mode,
            "retrieval": m,
            "generation": generation.as_ref().map(|(g, _)| g),
            "timings": timings,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&obj)?)?;
    } else {
        writeln!(
            out,
            "{}: {} cases, {} articles, {} passages",
            set_name,
            cases.len(),
            kb.articles.len(),
            chunks.len()
        )?;
        writeln!(out, "retrieval ({mode}, article level)")?;
        writeln!(
            out,
            "  hit@1 {:.3}  hit@3 {:.3}  hit@5 {:.3}  hit@10 {:.3}  MRR {:.3}",
            m.hit1, m.hit3, m.hit5, m.hit10, m.mrr
        )?;
        if m.evidence_cases > 0 {
            writeln!(
                out,
                "  evidence recall@5 {:.3} ({} cases with gold passages)",
                m.evidence_recall5, m.evidence_cases
            )?;
        }
        writeln!(out, "  confidence calibration error {:.3}", m.calibration_error)?;
        writeln!(
            out,
            "timings: index {index_ms:.0} ms; query p50 {:.2} ms, p99 {:.2} ms",
            report.query_p50_ms, report.query_p99_ms
        )?;
        match &generation {
            Some((g, _)) => {
                writeln!(out, "generation ({})", g.drafter)?;
                if g.cases > 0 {
                    writeln!(
                        out,
                        "  {} cases with a reference reply: token F1 {:.3}  ROUGE-L {:.3}  BLEU {:.2}",
                        g.cases, g.token_f1, g.rouge_l, g.bleu
                    )?;
                }
                if g.fact_cases > 0 {
                    writeln!(
                        out,
                        "  facts stated in {:.1}% of {} drafts that must state them",
                        g.fact_recall * 100.0,
                        g.fact_cases
                    )?;
                }
                if g.answerable_cases > 0 {
                    writeln!(
                        out,
                        "  wrongly abstained on {:.1}% of {} answerable questions",
                        g.wrongful_abstentions * 100.0,
                        g.answerable_cases
                    )?;
                }
                if g.abstain_cases > 0 {
                    writeln!(
                        out,
                        "  abstained on {:.1}% of {} questions the KB cannot answer",
                        g.abstain_recall * 100.0,
                        g.abstain_cases
                    )?;
                }
                writeln!(
                    out,
                    "  abstained {:.1}%  unsupported facts {:.1}%  draft p50 {:.2} ms, p99 {:.2} ms",
                    g.abstention_rate * 100.0,
                    g.unsupported_rate * 100.0,
                    g.draft_p50_ms,
                    g.draft_p99_ms
                )?;
            }
            None => writeln!(out, "generation: skipped (--retrieval-only)")?,
        }
    }
    Ok(ExitCode::SUCCESS)
}
