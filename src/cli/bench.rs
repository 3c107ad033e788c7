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
    },
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    match args.what {
        What::Retrieval { passages, queries, json } => {
            let report = crate::retrieval::bench::run(&settings.config.kb_dir(), passages, queries)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
