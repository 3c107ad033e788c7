//! `deskpilot understand`: what the console reads in a customer message (`message`), and the
//! understanding scored on labelled sets (`sentiment`, `details`).

use crate::config::Settings;
use crate::understand::eval;
use crate::understand::head::Head;
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
        /// As the console labels turns: the sentence encoder's head for English turns, the cues
        /// for Chinese ones (default: the cues alone).
        #[arg(long)]
        encoder: bool,
        #[arg(long)]
        json: bool,
    },
    /// Train the intent head for a KB (its English articles are the classes; titles, headings,
    /// tags and sentences are the training texts, a fifth held out by hash for the report).
    TrainIntent {
        #[arg(long, value_name = "DIR")]
        kb: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[arg(long, default_value_t = 300)]
        steps: usize,
        /// Synthetic questions per passage.
        #[arg(long, default_value_t = 8)]
        per_passage: usize,
        /// Labelled conversations (JSONL, the eval format) the evidence scorer is fitted on;
        /// without them it is fitted on the generated questions.
        #[arg(long, value_name = "FILE")]
        cases: Vec<PathBuf>,
        /// Fit the evidence scorer on the generated questions as well as on `--cases`.
        #[arg(long)]
        with_generated: bool,
        /// Only the odd (1) or even (2) lines of `--cases` (train on one dev half, score the other).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
        half: Option<u8>,
    },
    /// Intent top-1 (the predicted article is a gold one) on evaluation cases, e.g.
    /// `../shared/eval/doc2dial/dev.jsonl` with a head trained on its KB.
    Intent {
        /// Cases (JSONL, the eval format).
        #[arg(long, value_name = "FILE")]
        cases: PathBuf,
        /// The head (`train-intent --out`).
        #[arg(long, value_name = "DIR")]
        head: PathBuf,
        /// The KB the cases ask about (default: the configured one).
        #[arg(long, value_name = "DIR")]
        kb: Option<PathBuf>,
        /// Only odd (1) or even (2) lines, as `eval --half`.
        #[arg(long)]
        half: Option<u8>,
        #[arg(long)]
        json: bool,
    },
    /// Train the sentiment head on the encoder's vectors of the labelled sets
    /// (`assets/eval/sentiment.jsonl` and `sentiment-dev.jsonl`, English turns), choosing the L2
    /// penalty by 5-fold cross-validation; the held-out set is never read.
    TrainSentiment {
        #[arg(long, default_value = "assets/understand/sentiment-head.json", value_name = "FILE")]
        out: PathBuf,
    },
    /// Key-detail precision and recall on a labelled set (default: `assets/eval/details.jsonl`).
    Details {
        file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let o = &mut std::io::stdout().lock();
    match args.what {
        What::TrainIntent { kb, out, steps, per_passage, cases, with_generated, half } => {
            let args = super::intent::TrainArgs {
                kb: kb.as_ref(),
                out: &out,
                steps,
                per_passage,
                cases: &cases,
                half,
                with_generated,
            };
            super::intent::train(settings, &args)?;
        }
        What::Intent { cases, head, kb, half, json } => {
            super::intent::evaluate(settings, &cases, &head, kb.as_ref(), half, json)?;
        }
        What::TrainSentiment { out } => {
            let encoder = crate::semantic::Encoder::load(&settings.config.encoder_dir())?;
            let mut rows = eval::sentiment_labels(eval::SENTIMENT, "assets/eval/sentiment.jsonl".as_ref())?;
            rows.extend(eval::sentiment_labels(eval::SENTIMENT_DEV, "assets/eval/sentiment-dev.jsonl".as_ref())?);
            rows.retain(|(t, _)| !crate::text::has_cjk(t));
            let texts: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
            let vectors = encoder.encode(&texts)?;
            let labels: Vec<_> = rows.iter().map(|r| r.1).collect();
            let mut best = (0.0f32, -1.0f32);
            for l2 in [0.0, 0.01, 0.1] {
                let acc = Head::cross_validate(&vectors, &labels, l2, 5);
                writeln!(o, "l2 {l2}: 5-fold cross-validated accuracy {:.3} ({} English turns)", acc, rows.len())?;
                if acc > best.1 {
                    best = (l2, acc);
                }
            }
            let mut head = Head::train(&vectors, &labels, best.0, encoder.model_sha256());
            head.trained_on = vec!["assets/eval/sentiment.jsonl".into(), "assets/eval/sentiment-dev.jsonl".into()];
            head.cv_accuracy = best.1;
            std::fs::write(&out, serde_json::to_string(&head)? + "\n")
                .map_err(|e| anyhow::anyhow!("{}: cannot write ({e})", out.display()))?;
            writeln!(o, "l2 {} chosen -> {}", best.0, out.display())?;
        }
        What::Message { text, json } => {
            crate::understand::load_products(&settings.config.kb_dir());
            let text = text.join(" ");
            let details = crate::understand::details(&text, crate::util::now_ms());
            let mood = crate::understand::mood::assess_turn(&text);
            if json {
                let d: Vec<_> = details
                    .iter()
                    .map(|d| serde_json::json!({ "kind": d.kind.as_str(), "text": d.text, "value": d.value }))
                    .collect();
                writeln!(o, "{}", serde_json::to_string_pretty(&serde_json::json!({ "details": d, "mood": mood }))?)?;
            } else {
                for d in &details {
                    writeln!(o, "{:<8} {:?} -> {}", d.kind.as_str(), d.text, d.value)?;
                }
                let flags: Vec<&str> =
                    [("cancel", mood.cancel), ("legal", mood.legal), ("repeat", mood.repeat), ("urgent", mood.urgent)]
                        .iter()
                        .filter(|f| f.1)
                        .map(|f| f.0)
                        .collect();
                writeln!(
                    o,
                    "sentiment {} ({:+.1}){}",
                    mood.sentiment.as_str(),
                    mood.score,
                    if flags.is_empty() { String::new() } else { format!("; {}", flags.join(", ")) }
                )?;
            }
        }
        What::Sentiment { file, dev, encoder, json } => {
            let head = if encoder {
                let e = crate::semantic::Encoder::load(&settings.config.encoder_dir())?;
                let h = Head::bundled().filter(|h| h.encoder_sha256 == e.model_sha256());
                anyhow::ensure!(h.is_some(), "the bundled sentiment head was not trained on this encoder");
                Some((e, h))
            } else {
                None
            };
            let classify = |t: &str| -> Option<crate::understand::mood::Sentiment> {
                let (e, h) = head.as_ref()?;
                if crate::text::has_cjk(t) {
                    return None;
                }
                let v = e.encode(&[t]).ok()?.into_iter().next()?;
                h.and_then(|h| h.classify(&v)).map(|(s, _)| s)
            };
            let text_of = |p: &PathBuf| crate::knowledge::read_input(p);
            let r = match (&file, dev) {
                (Some(p), _) => eval::sentiment_with(&text_of(p)?, p, &classify)?,
                (None, true) => {
                    eval::sentiment_with(eval::SENTIMENT_DEV, "assets/eval/sentiment-dev.jsonl".as_ref(), &classify)?
                }
                (None, false) => {
                    eval::sentiment_with(eval::SENTIMENT, "assets/eval/sentiment.jsonl".as_ref(), &classify)?
                }
            };
            if json {
                writeln!(o, "{}", serde_json::to_string_pretty(&r)?)?;
            } else {
                writeln!(o, "{} cases: sentiment agrees with the labels on {:.1}%", r.cases, r.agreement * 100.0)?;
                for (name, c) in &r.flags {
                    writeln!(
                        o,
                        "  {name:<7} precision {:.3}  recall {:.3}  ({} labelled, {} found)",
                        c.precision(),
                        c.recall(),
                        c.labelled,
                        c.found
                    )?;
                }
                for d in &r.disagreements {
                    writeln!(o, "  {d}")?;
                }
            }
        }
        What::Details { file, json } => {
            // Score with the KB's product list, as the console and `understand message` do.
            crate::understand::load_products(&settings.config.kb_dir());
            let r = match &file {
                Some(p) => eval::details(&crate::knowledge::read_input(p)?, p)?,
                None => eval::details(eval::DETAILS, "assets/eval/details.jsonl".as_ref())?,
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
