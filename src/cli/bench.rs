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
        #[arg(long, default_value_t = 100_000)]
        passages: usize,
        /// Queries per kind.
        #[arg(long, default_value_t = 2000)]
        queries: usize,
        #[arg(long)]
        json: bool,
        /// `lexical` skips the encoder figures (default: `[retrieval] mode` in the config).
        #[arg(long, value_enum)]
        retrieval: Option<crate::retrieval::RetrievalMode>,
    },
    /// Generator speed: load time, first token for a 384-token prompt, decode rate, whole
    /// drafts, memory.
    Generation {
        /// Model folder (default: the configured or bundled model).
        #[arg(long, value_name = "DIR")]
        model: Option<std::path::PathBuf>,
        /// Repetitions (medians are reported).
        #[arg(long, default_value_t = 10)]
        runs: usize,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    match args.what {
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
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
