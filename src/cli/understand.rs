//! `deskpilot understand`: what the console reads in a customer message (`message`), and the
//! understanding scored on labelled sets (`sentiment`, `details`).

use crate::config::Settings;
use crate::understand::eval;
use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, clap::Subcommand)]
enum What {
    /// The key details, sentiment and flags of one message.
    Message {
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Sentiment agreement and flag precision/recall on a labelled set (default: the frozen
    /// `assets/eval/sentiment.jsonl`; `--dev` the tuning set).
    Sentiment {
        file: Option<PathBuf>,
        #[arg(long, conflicts_with = "file")]
        dev: bool,
        #[arg(long)]
        json: bool,
    },
    /// Key-detail precision and recall on a labelled set (default: `assets/eval/details.jsonl`).
    Details {
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(_settings: &Settings, args: Args) -> Result<ExitCode> {
    match args.what {
        What::Message { text, json } => {
            let text = text.join(" ");
            let details = crate::understand::details(&text, crate::util::now_ms());
            let mood = crate::understand::mood::assess_turn(&text);
            if json {
                let d: Vec<_> = details
                    .iter()
                    .map(|d| serde_json::json!({ "kind": d.kind.as_str(), "text": d.text, "value": d.value }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "details": d, "mood": mood }))?);
            } else {
                for d in &details {
                    println!("{:<8} {:?} -> {}", d.kind.as_str(), d.text, d.value);
                }
                let flags: Vec<&str> =
                    [("cancel", mood.cancel), ("legal", mood.legal), ("repeat", mood.repeat), ("urgent", mood.urgent)]
                        .iter()
                        .filter(|f| f.1)
                        .map(|f| f.0)
                        .collect();
                println!(
                    "sentiment {} ({:+.1}){}",
                    mood.sentiment.as_str(),
                    mood.score,
                    if flags.is_empty() { String::new() } else { format!("; {}", flags.join(", ")) }
                );
            }
        }
        What::Sentiment { file, dev, json } => {
            let r = match (&file, dev) {
                (Some(p), _) => eval::sentiment(&crate::knowledge::read_input(p)?, p)?,
                (None, true) => eval::sentiment(eval::SENTIMENT_DEV, "assets/eval/sentiment-dev.jsonl".as_ref())?,
                (None, false) => eval::sentiment(eval::SENTIMENT, "assets/eval/sentiment.jsonl".as_ref())?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("{} cases: sentiment agrees with the labels on {:.1}%", r.cases, r.agreement * 100.0);
                for (name, c) in &r.flags {
                    println!(
                        "  {name:<7} precision {:.3}  recall {:.3}  ({} labelled, {} found)",
                        c.precision(),
                        c.recall(),
                        c.labelled,
                        c.found
                    );
                }
                for d in &r.disagreements {
                    println!("  {d}");
                }
            }
        }
        What::Details { file, json } => {
            let r = match &file {
                Some(p) => eval::details(&crate::knowledge::read_input(p)?, p)?,
                None => eval::details(eval::DETAILS, "assets/eval/details.jsonl".as_ref())?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{} cases: precision {:.3}, recall {:.3} ({} labelled, {} found, {} right)",
                    r.cases,
                    r.all.precision(),
                    r.all.recall(),
                    r.all.labelled,
                    r.all.found,
                    r.all.right
                );
                for (k, c) in &r.by_kind {
                    println!(
                        "  {k:<8} precision {:.3}  recall {:.3}  ({} labelled, {} found)",
                        c.precision(),
                        c.recall(),
                        c.labelled,
                        c.found
                    );
                }
                for m in &r.misses {
                    println!("  missed      {m}");
                }
                for f in &r.false_alarms {
                    println!("  false alarm {f}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
