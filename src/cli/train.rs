//! `deskpilot train`: builds training data from a KB (and transcripts), trains the generator and
//! writes a checkpoint folder (config, half-precision weights, tokenizer, data manifest, loss
//! curve). Run it again with the same `--out` and `--seed` to resume.

use crate::config::Settings;
use crate::model::train::{Progress, TrainOptions, train};
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// KB folder to learn from (default: the configured or bundled KB).
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
    /// Transcripts in the evaluation case format (JSONL: turns + reference reply); repeatable.
    #[arg(long, value_name = "FILE")]
    transcripts: Vec<PathBuf>,
    /// Also learn from the replies agents sent (store in the data directory): each sent,
    /// unflagged reply with its conversation, PII-masked, is added to the transcripts.
    #[arg(long)]
    from_store: bool,
    /// Use half 1 (odd lines) or 2 (even lines) of the transcripts, as `eval --half` (keep the
    /// other half for evaluation).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    half: Option<u8>,
    /// Output folder (resumes when it holds a run with the same seed and size).
    #[arg(long, value_name = "DIR", default_value = "model")]
    out: PathBuf,
    /// Model size: tiny, small or base.
    #[arg(long, default_value = "small", value_parser = ["tiny", "small", "base"])]
    size: String,
    /// Optimizer steps.
    #[arg(long, default_value_t = 1500, value_parser = super::ranged(0, 10_000_000))]
    steps: usize,
    /// Seed for data synthesis, initialisation and batching.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Fine-tune from this checkpoint (keeps its tokenizer and shape), e.g. assets/model.
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// Peak learning rate (default: 2e-3 from scratch, 5e-4 when fine-tuning).
    #[arg(long, value_parser = super::finite(1e-9, 1.0))]
    lr: Option<f64>,
    /// Tokens per batch.
    #[arg(long, default_value_t = 3072, value_parser = super::ranged(16, 1_000_000))]
    batch_tokens: usize,
    /// Tokenizer vocabulary size (from scratch only).
    #[arg(long, default_value_t = 6000, value_parser = super::ranged(100, 200_000))]
    vocab: usize,
    /// Synthetic dialogues per KB passage.
    #[arg(long, default_value_t = 24, value_parser = super::ranged(0, 10_000))]
    per_passage: usize,
    /// Validate, print sample drafts and save resumable state every N steps.
    #[arg(long, default_value_t = 100, value_parser = super::ranged(1, 10_000_000))]
    eval_every: usize,
    /// Also write the training examples to this JSONL file (with --steps 0: only that).
    #[arg(long, value_name = "FILE")]
    data_out: Option<PathBuf>,
    /// Stop and save after this many minutes.
    #[arg(long, value_name = "MIN", value_parser = super::finite(0.0, 1e6))]
    max_minutes: Option<f64>,
    /// An eval case file (JSONL) whose customer questions must not be trained on, exactly or
    /// nearly; repeatable. The bundled eval sets in assets/eval/ are always excluded.
    #[arg(long, value_name = "FILE")]
    exclude: Vec<PathBuf>,
}

struct Bar {
    bar: indicatif::ProgressBar,
}

impl Progress for Bar {
    fn start(&mut self, total: usize, done: usize) {
        self.bar.set_length(total as u64);
        self.bar.set_position(done as u64);
        self.bar.reset_eta();
    }

    fn step(&mut self, step: usize, loss: f32, tokens_per_s: f64) {
        self.bar.set_position(step as u64);
        self.bar.set_message(format!("loss {loss:.3} · {tokens_per_s:.0} tokens/s"));
    }

    fn message(&mut self, text: &str) {
        if self.bar.is_hidden() {
            eprintln!("{text}");
        } else {
            self.bar.println(text);
        }
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let kb = super::kb_dir(settings, args.kb.as_ref());
    let fine_tune = args.from.is_some();
    let mut transcripts = args.transcripts;
    if args.from_store {
        let mut store = crate::store::SqliteStore::open_in(&settings.paths.data_dir)?;
        store.set_agent(&settings.config.agent.name);
        let (lines, report) = crate::review::training::store_cases(&store)?;
        let path = settings.paths.data_dir.join(crate::privacy::erase::TRAINING_EXPORT);
        std::fs::write(&path, lines.join("\n") + "\n")
            .map_err(|e| anyhow::anyhow!("{}: cannot write ({e})", path.display()))?;
        eprintln!(
            "from the store: {} sent replies ({} flagged and {} unsent skipped) -> {}",
            report.cases,
            report.skipped_flagged,
            report.skipped_unsent,
            path.display()
        );
        let ids: Vec<String> = lines
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["conversation"].as_str().map(str::to_owned))
            .collect();
        store.record_export("train --from-store", &path.display().to_string(), true, &ids)?;
        if report.cases > 0 {
            transcripts.push(path);
        }
    }
    let opts = TrainOptions {
        kb,
        transcripts,
        half: args.half,
        out: args.out,
        size: args.size,
        steps: args.steps,
        seed: args.seed,
        from: args.from,
        batch_tokens: args.batch_tokens,
        lr: args.lr.unwrap_or(if fine_tune { 5e-4 } else { 2e-3 }),
        vocab: args.vocab,
        per_passage: args.per_passage,
        eval_every: args.eval_every.max(1),
        max_minutes: args.max_minutes,
        val_fraction: 0.05,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        data_out: args.data_out,
        exclude: args.exclude,
        member_terms: settings.config.model.member_terms.clone(),
    };
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("train [{bar:30}] {pos}/{len} {msg} · eta {eta}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    let mut progress = Bar { bar };
    let report = train(&opts, &mut progress)?;
    eprintln!(
        "trained {} steps, {} tokens in {:.1} min ({:.2}M parameters): train loss {:.3}, validation loss {:.3}\n\
         checkpoint: {} (model.bpk, config.json, tokenizer.json, manifest.json, loss.svg)",
        report.steps,
        report.tokens,
        report.seconds / 60.0,
        report.parameters as f64 / 1e6,
        report.train_loss,
        report.val_loss,
        report.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
