//! `deskpilot privacy`: what the PII detector finds in a file (`scan`), and how well it does on
//! a labelled set (`eval`).

use crate::config::Settings;
use crate::privacy::{Kind, find};
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
    /// Report the personal data in a text file, line by line, and how it would be masked.
    Scan {
        file: PathBuf,
        /// Only these kinds (default: all).
        #[arg(long, value_enum, value_delimiter = ',')]
        kinds: Vec<Kind>,
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

pub fn run(_settings: &Settings, args: Args) -> Result<ExitCode> {
    match args.what {
        What::Scan { file, kinds, json } => {
            let kinds = if kinds.is_empty() { Kind::ALL.to_vec() } else { kinds };
            let text = crate::knowledge::read_input(&file)?;
            let mut rows = Vec::new();
            for (i, line) in text.lines().enumerate() {
                for f in find(line, &kinds) {
                    let col = line[..f.range.start].chars().count() + 1;
                    rows.push((i + 1, col, f.kind, line[f.range.clone()].to_owned()));
                }
            }
            if json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(l, c, k, t)| serde_json::json!({ "line": l, "column": c, "kind": k.as_str(), "text": t }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for (l, c, k, t) in &rows {
                    println!("{}:{l}:{c}: {} {t:?} -> {}", file.display(), k.as_str(), k.label());
                }
                println!("{} findings in {} lines", rows.len(), text.lines().count());
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
                        "  {k:<9} precision {:.3}  recall {:.3}  ({} labelled, {} found)",
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
