//! `deskpilot kb check`: validate a knowledge base. `deskpilot kb gaps`: article drafts for the
//! questions it could not answer.

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
    /// Cluster resolved conversations whose question had no confident passage, most asked first,
    /// and write a draft article for each cluster (from what agents answered, PII-masked, citing
    /// the conversations) into a review folder. Nothing is added to the KB.
    Gaps {
        /// Only gaps recorded on or after this UTC day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// The review folder (default: `[privacy] gaps_dir`, else kb-gaps in the data directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Only clusters asked in at least this many conversations.
        #[arg(long, default_value_t = 2, value_name = "N")]
        min: usize,
        /// The KB the drafts are for (slugs stay unique in it; categories come from it).
        #[arg(long, value_name = "DIR")]
        kb: Option<PathBuf>,
        /// Cluster by shared words instead of the sentence encoder.
        #[arg(long)]
        lexical: bool,
        /// List the clusters, write nothing.
        #[arg(long)]
        dry_run: bool,
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
    let (kb, json) = match args.command {
        KbCommand::Check { kb, json } => (kb, json),
        KbCommand::Gaps { since, out, min, kb, lexical, dry_run, json } => {
            return gaps(settings, since, out, min, kb, lexical, dry_run, json);
        }
    };
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

#[allow(clippy::too_many_arguments)]
fn gaps(
    settings: &Settings,
    since: Option<String>,
    out: Option<PathBuf>,
    min: usize,
    kb: Option<PathBuf>,
    lexical: bool,
    dry_run: bool,
    json: bool,
) -> Result<ExitCode> {
    use crate::review::gaps;
    let since = match &since {
        Some(s) => Some(crate::review::parse_date(s).map_err(|e| anyhow::anyhow!("--since: {e}"))?),
        None => None,
    };
    let places = super::privacy_places(settings, kb.as_ref());
    let dir = out.unwrap_or(places.gaps_dir);
    let store = crate::store::SqliteStore::open_in(&settings.paths.data_dir)?;
    let asked = gaps::collect(&store, since)?;
    let encoder = if lexical {
        None
    } else {
        match crate::semantic::Encoder::load(&settings.config.encoder_dir()) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!("no sentence encoder ({e}): clustering by shared words");
                None
            }
        }
    };
    let embed = |texts: &[&str]| encoder.as_ref().and_then(|e| e.encode(texts).ok());
    let articles = load_kb(&places.kb_dir).articles;
    let mut clusters = gaps::drafts(&asked, &embed, &articles, min);
    if !dry_run {
        let today = crate::review::iso_time(crate::util::now_ms()).chars().take(10).collect::<String>();
        gaps::write(&dir, &mut clusters, &today)
            .map_err(|e| anyhow::anyhow!("{}: cannot write ({e})", dir.display()))?;
    }
    let o = &mut std::io::stdout().lock();
    if json {
        writeln!(
            o,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "questions": asked.len(), "clusters": clusters }))?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        o,
        "{} unanswered questions in resolved conversations; {} clusters asked in {min}+ conversations",
        asked.len(),
        clusters.len()
    )?;
    for c in &clusters {
        writeln!(o, "  {:>3} conversations  {}  ({})", c.conversations.len(), c.title, c.category)?;
        if !c.file.is_empty() {
            writeln!(o, "                    -> {}", c.file)?;
        }
    }
    if !dry_run && !clusters.is_empty() {
        writeln!(
            o,
            "Review each draft, then move it into the KB folder; check it with `deskpilot kb check --kb {}`.",
            dir.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
