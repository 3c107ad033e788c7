//! `deskpilot review`: the supervisor console, or with `--stats` the acceptance analytics and
//! with `--export` the drafts as CSV or JSON (PII masked unless `--unmasked`).

use crate::config::Settings;
use crate::review::export::{ExportRow, csv};
use crate::review::{Stats, parse_date};
use crate::store::{DraftFilter, SqliteStore};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print acceptance analytics (mix, edit distance, time to send; per agent, article, day;
    /// knowledge gaps) instead of opening the review console.
    #[arg(long)]
    stats: bool,
    /// With --stats: print JSON.
    #[arg(long, requires = "stats")]
    json: bool,
    /// Write the drafts to stdout as CSV or JSON.
    #[arg(long, value_name = "FORMAT", conflicts_with = "stats")]
    export: Option<Format>,
    /// Only drafts created on or after this UTC day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// Only this agent's drafts.
    #[arg(long, value_name = "NAME")]
    agent: Option<String>,
    /// With --export: keep e-mails, phone, card and order numbers as written.
    #[arg(long, requires = "export")]
    unmasked: bool,
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let since = match &args.since {
        Some(s) => Some(parse_date(s).map_err(|e| anyhow::anyhow!("--since: {e}"))?),
        None => None,
    };
    let filter = DraftFilter { since, agent: args.agent.clone() };
    if !args.stats && args.export.is_none() {
        if args.since.is_some() || args.agent.is_some() {
            bail!("--since and --agent filter --stats or --export; the review console filters with its own keys");
        }
        crate::tui::review::run(settings)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut store = SqliteStore::open_in(&settings.paths.data_dir)?;
    store.set_agent(&settings.config.agent.name);
    let mut out = std::io::stdout().lock();
    if args.stats {
        let stats = stats(&store, &filter)?;
        if args.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&stats)?)?;
        } else {
            write!(out, "{}", stats.table())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<ExportRow> = store.review_rows(&filter)?.iter().map(|r| ExportRow::new(r, !args.unmasked)).collect();
    // The export log: erasing a customer later lists this export if it held their conversations.
    let ids: Vec<String> = rows.iter().map(|r| r.conversation.clone()).collect();
    let what = format!("review --export {}", if matches!(args.export, Some(Format::Json)) { "json" } else { "csv" });
    store.record_export(&what, "stdout", !args.unmasked, &ids)?;
    match args.export {
        Some(Format::Json) => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        _ => write!(out, "{}", csv(&rows))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The analytics for a filter (what `--stats` prints and `bench review` times).
pub fn stats(store: &SqliteStore, filter: &DraftFilter) -> Result<Stats> {
    let rows = store.review_rows(filter)?;
    let gaps = store.kb_gaps(filter.since, 20)?;
    Ok(Stats::compute(&rows, gaps))
}
