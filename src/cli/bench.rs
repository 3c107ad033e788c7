//! `deskpilot bench`: speed measurements, printed as a table or JSON.

use crate::config::Settings;
use anyhow::Result;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Indexing rate and query latency on a synthetic 100k-passage KB and on the bundled KB.
    Retrieval {
        /// Passages in the synthetic KB.
        #[arg(long, default_value_t = 100_000, value_parser = super::ranged(1, 10_000_000))]
        passages: usize,
        /// Queries per kind.
        #[arg(long, default_value_t = 2000, value_parser = super::ranged(1, 1_000_000))]
        queries: usize,
        #[arg(long)]
        json: bool,
        /// `lexical` skips the encoder figures (default: `[retrieval] mode` in the config).
        #[arg(long, value_enum)]
        retrieval: Option<crate::retrieval::RetrievalMode>,
    },
    /// Generator speed: load time, first token for a 384-token prompt, decode rate, whole
    /// drafts, memory; then the draft pipeline stage by stage (retrieval, answer selector, first
    /// text, whole draft) for the extractive and neural drafters.
    Generation {
        /// Model folder (default: the configured or bundled model).
        #[arg(long, value_name = "DIR")]
        model: Option<std::path::PathBuf>,
        /// Repetitions (medians are reported).
        #[arg(long, default_value_t = 10, value_parser = super::ranged(1, 10_000))]
        runs: usize,
        #[arg(long)]
        json: bool,
    },
    /// The web chat channel under load: concurrent simulated customers over loopback (each
    /// starts a conversation, streams it, and posts its messages), on a fresh store.
    Channel {
        /// Customers at once.
        #[arg(long, default_value_t = 1000, value_parser = super::ranged(1, 20_000))]
        customers: usize,
        /// Messages per customer (the first starts the conversation).
        #[arg(long, default_value_t = 10, value_parser = super::ranged(1, 1000))]
        messages: usize,
        /// Customers arrive spread over this many milliseconds (0: all at once).
        #[arg(long, default_value_t = 1000)]
        ramp_ms: u64,
        /// Each customer's pause between messages, about this many milliseconds (0: back to
        /// back, which measures the server at saturation).
        #[arg(long, default_value_t = 1000)]
        think_ms: u64,
        #[arg(long)]
        json: bool,
    },
    /// `review --stats` on a seeded store of 10,000 drafts, and review-list frames while
    /// scrolling through them.
    Review {
        /// Drafts in the seeded store.
        #[arg(long, default_value_t = 10_000)]
        drafts: usize,
        /// Repetitions (medians are reported).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    match args.what {
        What::Channel { customers, messages, ramp_ms, think_ms, json } => {
            let dir = std::env::temp_dir().join(format!("deskpilot-bench-channel-{}", std::process::id()));
            let report = crate::channel::http::bench::run(
                &dir,
                customers,
                messages,
                crate::channel::http::bench::Pace { ramp_ms, think_ms },
            );
            let _ = std::fs::remove_dir_all(&dir);
            let report = report?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
            if report.lost
                + report.duplicated
                + report.stream_missing
                + report.stream_duplicated
                + report.console_duplicated
                > 0
            {
                eprintln!("error: messages were lost or duplicated");
                return Ok(ExitCode::FAILURE);
            }
        }
        What::Retrieval { passages, queries, json, retrieval } => {
            let choice = crate::retrieval::DenseChoice::from_config(&settings.config, retrieval)?;
            let encoder =
                (choice.mode != crate::retrieval::RetrievalMode::Lexical).then_some(choice.encoder_dir.as_path());
            let report = crate::retrieval::bench::run(&settings.config.kb_dir(), passages, queries, encoder)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
        }
        What::Generation { model, runs, json } => {
            let dir = model.unwrap_or_else(|| settings.config.model_dir());
            let report = crate::model::bench::run(&dir, &settings.config.kb_dir(), &settings.paths.data_dir, runs)?;
            let dense = crate::retrieval::DenseChoice::from_config(&settings.config, None)?;
            let (retriever, _) = crate::retrieval::Retriever::open_with(
                &settings.config.kb_dir(),
                &settings.paths.data_dir,
                &dense,
                &|_, _| {},
            )?;
            let mut pipelines = Vec::new();
            for kind in ["extractive", "neural"] {
                let choice = crate::model::DrafterChoice::from_config(&settings.config, Some(&dir), Some(kind));
                pipelines.push(crate::model::bench_pipeline::run(&choice, &retriever, runs.max(50))?);
            }
            if json {
                let v = serde_json::json!({ "model": report, "pipeline": pipelines });
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", report.table());
                for p in &pipelines {
                    print!("{}", p.table());
                }
            }
        }
        What::Review { drafts, runs, json } => {
            let report = review_bench(drafts, runs)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "review bench: {} drafts\n  seed store          {:>9.1} ms\n  review --stats      {:>9.1} ms p50  {:>9.1} ms p99\n  list frame (scroll) {:>9.3} ms p50  {:>9.3} ms p99  (16.7 ms budget at 60 fps)",
                    report.drafts,
                    report.seed_ms,
                    report.stats_p50_ms,
                    report.stats_p99_ms,
                    report.frame_p50_ms,
                    report.frame_p99_ms
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, serde::Serialize)]
struct ReviewBench {
    drafts: usize,
    seed_ms: f64,
    stats_p50_ms: f64,
    stats_p99_ms: f64,
    frame_p50_ms: f64,
    frame_p99_ms: f64,
}

/// Seeds a throw-away store, then times what `review --stats` does (open, load, compute) and
/// the review list's frames at 160x48 while the selection moves down through every row.
fn review_bench(drafts: usize, runs: usize) -> Result<ReviewBench> {
    use std::time::Instant;
    let dir = std::env::temp_dir().join(format!("deskpilot-review-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = (|| {
        let t = Instant::now();
        let mut store = crate::store::SqliteStore::open_in(&dir)?;
        crate::review::seed::seed(&mut store, drafts, 7)?;
        let seed_ms = t.elapsed().as_secs_f64() * 1e3;
        drop(store);
        let mut stats_ms = Vec::new();
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            let store = crate::store::SqliteStore::open_in(&dir)?;
            let stats = super::review::stats(&store, &crate::store::DraftFilter::default())?;
            std::hint::black_box(stats.table());
            stats_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let store = crate::store::SqliteStore::open_in(&dir)?;
        let mut frames = crate::tui::review::bench_frames(&store, 160, 48)?;
        let (stats_p50_ms, stats_p99_ms) = crate::util::p50_p99(&mut stats_ms);
        let (frame_p50_ms, frame_p99_ms) = crate::util::p50_p99(&mut frames);
        Ok(ReviewBench { drafts, seed_ms, stats_p50_ms, stats_p99_ms, frame_p50_ms, frame_p99_ms })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}
