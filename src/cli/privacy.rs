//! `deskpilot privacy`: what the PII detector finds in a file (`scan`), how well it does on a
//! labelled set (`eval`), erasing one customer everywhere (`forget`), and the retention period
//! (`retain`).

use crate::config::Settings;
use crate::privacy::Kind;
use crate::privacy::erase::{forget as erase, retain};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// Report the personal data in a text file, line by line, and how it would be masked.
    Scan {
        file: PathBuf,
        /// Only these kinds (default: those `[privacy] mask` lists).
        #[arg(long, value_enum, value_delimiter = ',')]
        kinds: Vec<Kind>,
        #[arg(long)]
        json: bool,
    },
    /// Erase one customer's data everywhere: store rows, log lines, the training export, article
    /// drafts made from their conversations; list exports and KB articles outside its reach.
    Forget {
        /// The customer's e-mail address.
        #[arg(long, value_name = "EMAIL")]
        customer: String,
        /// Say what would be erased, and erase nothing.
        #[arg(long)]
        dry_run: bool,
        /// The KB to check for articles citing their conversations (default: the configured one).
        #[arg(long, value_name = "DIR")]
        kb: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Apply the retention period now (`[privacy] retention_days`, `retention`); the console
    /// applies it at start-up.
    Retain {
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Precision and recall on a labelled set (default: the bundled `assets/eval/pii.jsonl`).
    Eval {
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let o = &mut std::io::stdout().lock();
    match args.what {
        What::Forget { customer, dry_run, kb, json } => return forget(settings, &customer, dry_run, kb, json),
        What::Retain { dry_run, json } => {
            let mut store = crate::store::SqliteStore::open_in(&settings.paths.data_dir)?;
            let r = retain(&mut store, &settings.config.privacy, crate::util::now_ms(), dry_run)?;
            if json {
                writeln!(o, "{}", serde_json::to_string_pretty(&r)?)?;
            } else if r.action == "keep" {
                writeln!(o, "Retention is off ([privacy] retention_days = 0): nothing to do.")?;
            } else {
                let verb = match (dry_run, r.action.as_str()) {
                    (true, "purge") => "would purge",
                    (true, _) => "would anonymise",
                    (false, "purge") => "purged",
                    (false, _) => "anonymised",
                };
                let before = r.before.map(crate::review::iso_time).unwrap_or_default();
                writeln!(
                    o,
                    "{verb} {} resolved conversations last changed before {before} ({} rows)",
                    r.conversations.len(),
                    r.store.total()
                )?;
            }
        }
        What::Scan { file, kinds, json } => {
            // What exports would mask: the `[privacy]` policy, narrowed by --kinds.
            let policy = crate::privacy::policy::current();
            let policy = if kinds.is_empty() { policy.clone() } else { policy.only(&kinds) };
            let text = crate::knowledge::read_input(&file)?;
            let mut rows = Vec::new();
            for (i, line) in text.lines().enumerate() {
                for f in policy.find(line) {
                    let col = line[..f.range.start].chars().count() + 1;
                    rows.push((i + 1, col, f.kind, line[f.range.clone()].to_owned()));
                }
            }
            if json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(l, c, k, t)| serde_json::json!({ "line": l, "column": c, "kind": k.as_str(), "text": t }))
                    .collect();
                writeln!(o, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                for (l, c, k, t) in &rows {
                    writeln!(o, "{}:{l}:{c}: {} {t:?} -> {}", file.display(), k.as_str(), k.label())?;
                }
                writeln!(o, "{} findings in {} lines", rows.len(), text.lines().count())?;
            }
        }
        What::Eval { file, json } => {
            let r = match &file {
                Some(path) => crate::privacy::eval::run(path)?,
                None => {
                    crate::privacy::eval::run_text(crate::privacy::eval::BUNDLED, "assets/eval/pii.jsonl".as_ref())?
                }
            };
            if json {
                writeln!(o, "{}", serde_json::to_string_pretty(&r)?)?;
            } else {
                let by_kind = r.by_kind.iter().map(|(k, c)| (k.to_string(), *c));
                super::write_scores(o, r.cases, r.all, by_kind, &r.misses, &r.false_alarms)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn forget(settings: &Settings, email: &str, dry_run: bool, kb: Option<PathBuf>, json: bool) -> Result<ExitCode> {
    let o = &mut std::io::stdout().lock();
    let mut store = crate::store::SqliteStore::open_in(&settings.paths.data_dir)?;
    let places = super::privacy_places(settings, kb.as_ref());
    let r = erase(&mut store, &places, email, dry_run)?;
    tracing::info!(conversations = r.conversations.len(), dry_run, "privacy forget");
    if json {
        writeln!(o, "{}", serde_json::to_string_pretty(&r)?)?;
        return Ok(if r.remaining_traces.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }
    let would = if dry_run { "would be " } else { "" };
    if r.customers.is_empty() && r.conversations.is_empty() {
        writeln!(o, "No customer with that e-mail address, and no conversation mentioning it: nothing {would}erased.")?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        o,
        "Customer records {would}erased: {} ({}); conversations: {} ({})",
        r.customers.len(),
        r.customers.join(", "),
        r.conversations.len(),
        r.conversations.join(", ")
    )?;
    if !dry_run {
        let s = &r.store;
        writeln!(
            o,
            "  store rows deleted: {} messages, {} drafts, {} reviews, {} coaching notes, {} events, {} approvals, {} autosaves, {} web sessions, {} conversations, {} customers",
            s.messages,
            s.drafts,
            s.reviews,
            s.coaching_notes,
            s.events,
            s.approvals,
            s.autosaves,
            s.web_sessions,
            s.conversations,
            s.customers
        )?;
        if !r.log_truncated {
            writeln!(
                o,
                "  the database's write-ahead log is in use (a console is running): run this again after closing it"
            )?;
        }
    }
    writeln!(o, "  log lines {would}removed: {}", r.log_lines_removed)?;
    writeln!(o, "  training export lines {would}removed: {}", r.training_lines_removed)?;
    for d in &r.gap_drafts_removed {
        writeln!(o, "  article draft {would}removed: {d}")?;
    }
    for a in &r.kb_articles_citing {
        writeln!(o, "  KB article built from their conversations (edit it by hand): {a}")?;
    }
    for e in &r.exports {
        writeln!(
            o,
            "  exported before, outside Deskpilot's reach: {} by {} on {} to {} ({})",
            e.what,
            if e.agent.is_empty() { "?" } else { &e.agent },
            crate::review::iso_time(e.at),
            e.destination,
            if e.masked { "masked" } else { "UNMASKED" }
        )?;
    }
    if dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if r.remaining_traces.is_empty() {
        writeln!(o, "Checked the data, log and drafts folders: no trace of the address or the conversations is left.")?;
        Ok(ExitCode::SUCCESS)
    } else {
        for t in &r.remaining_traces {
            writeln!(o, "  still found in: {t}")?;
        }
        Ok(ExitCode::from(1))
    }
}
