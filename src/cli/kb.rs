//! `deskpilot kb check`: validate a knowledge base.

use crate::config::Settings;
use crate::knowledge::{ChunkOptions, Severity, chunk_article, load_kb};
use anyhow::Result;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KbCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KbCommand {
    /// Report invalid front matter, duplicate slugs, empty articles, broken links, non-UTF-8 and
    /// oversize files, per file and line. Exit 1 on errors, 0 with only warnings.
    Check {
        /// KB folder (default: the configured or bundled KB).
        #[arg(long, value_name = "DIR")]
        kb: Option<PathBuf>,
        /// Print one JSON object for scripts.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Report<'a> {
    kb: String,
    articles: usize,
    passages: usize,
    errors: usize,
    warnings: usize,
    issues: &'a [crate::knowledge::Issue],
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let KbCommand::Check { kb, json } = args.command;
    let dir = super::kb_dir(settings, kb.as_ref());
    let kb = load_kb(&dir);
    let opts = ChunkOptions::default();
    let passages: usize = kb.articles.iter().map(|a| chunk_article(a, &opts).len()).sum();
    let out = &mut std::io::stdout().lock();
    if json {
        let report = Report {
            kb: dir.display().to_string(),
            articles: kb.articles.len(),
            passages,
            errors: kb.errors(),
            warnings: kb.warnings(),
            issues: &kb.issues,
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        for issue in &kb.issues {
            writeln!(out, "{issue}")?;
        }
        let langs = {
            let mut l: Vec<&str> = kb.articles.iter().map(|a| a.meta.lang.as_str()).collect();
            l.sort_unstable();
            l.dedup();
            l.join(", ")
        };
        writeln!(
            out,
            "{}: {} articles ({langs}), {passages} passages, {} errors, {} warnings",
            dir.display(),
            kb.articles.len(),
            kb.errors(),
            kb.warnings()
        )?;
    }
    let failed = kb.issues.iter().any(|i| i.severity == Severity::Error);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
