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
        What::TrainIntent { kb, out, steps, per_passage } => {
            use crate::understand::intent;
            let dir = super::kb_dir(settings, kb.as_ref());
            let kb = crate::knowledge::load_kb(&dir);
            let (mut texts, classes) = intent::kb_texts(&kb);
            anyhow::ensure!(classes.len() >= 2, "{}: fewer than two English articles", dir.display());
            // Questions written from the passages, as the generator's training data is (never
            // one of the bundled eval sets' questions).
            let chunks: Vec<crate::knowledge::Chunk> = kb
                .articles
                .iter()
                .flat_map(|a| crate::knowledge::chunk_article(a, &crate::knowledge::ChunkOptions::default()))
                .collect();
            let retriever = crate::retrieval::Retriever::in_ram(&chunks)?;
            let mut rng = crate::model::rng::Rng::new(7);
            let eval = crate::model::data::EvalQuestions::bundled();
            for (q, slug) in crate::model::data::Synthesizer::new(&chunks, &retriever).questions(per_passage, &mut rng)
            {
                if let Some(class) = classes.iter().position(|c| c.0 == slug)
                    && !eval.contains(&q)
                {
                    texts.push((q, class));
                }
            }
            let encoder = crate::semantic::Encoder::load(&settings.config.encoder_dir())?;
            let bar = super::progress_bar("embedding");
            bar.set_length(texts.len() as u64);
            let mut vectors = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(256) {
                let t: Vec<&str> = chunk.iter().map(|x| x.0.as_str()).collect();
                vectors.extend(encoder.encode(&t)?);
                bar.inc(chunk.len() as u64);
            }
            bar.finish_and_clear();
            let labels: Vec<usize> = texts.iter().map(|t| t.1).collect();
            let (mut tv, mut tl, mut hv, mut hl) = (vec![], vec![], vec![], vec![]);
            for ((t, l), v) in texts.iter().zip(&vectors) {
                if intent::held_out(t) {
                    hv.push(v.clone());
                    hl.push(*l);
                } else {
                    tv.push(v.clone());
                    tl.push(*l);
                }
            }
            let net = intent::fit(&tv, &tl, classes.len(), steps);
            let heldout_top1 = intent::top1(&net, &hv, &hl);
            writeln!(
                o,
                "{} articles, {} texts: top-1 {:.3} on the {} held out",
                classes.len(),
                texts.len(),
                heldout_top1,
                hv.len()
            )?;
            let net = intent::fit(&vectors, &labels, classes.len(), steps);
            let slugs: Vec<String> = classes.iter().map(|c| c.0.clone()).collect();
            let file = intent::IntentFile {
                dim: encoder.dim(),
                kb_articles_sha256: intent::articles_hash(&slugs),
                categories: classes.iter().map(|c| c.1.clone()).collect(),
                slugs,
                encoder_sha256: encoder.model_sha256().to_owned(),
                training_texts: texts.len(),
                heldout_texts: hv.len(),
                heldout_top1,
            };
            intent::Intent::new(net, file).save(&out)?;
            writeln!(o, "-> {}", out.display())?;
        }
        What::Intent { cases, head, half, json } => {
            use crate::understand::intent;
            let head = intent::Intent::load(&head)?;
            let encoder = crate::semantic::Encoder::load(&settings.config.encoder_dir())?;
            anyhow::ensure!(
                head.file.encoder_sha256 == encoder.model_sha256(),
                "the intent head was trained on another encoder"
            );
            let mut all = crate::eval::load_cases(&cases)?;
            if let Some(h) = half {
                all = all.into_iter().enumerate().filter(|(i, _)| (i % 2 == 0) == (h == 1)).map(|(_, c)| c).collect();
            }
            let (mut n, mut right, mut skipped) = (0usize, 0usize, 0usize);
            for c in all.iter().filter(|c| !c.gold.is_empty()) {
                let turns: Vec<(crate::desk::Author, String)> = c
                    .turns
                    .iter()
                    .map(|t| {
                        (
                            if t.role == "customer" {
                                crate::desk::Author::Customer
                            } else {
                                crate::desk::Author::Agent
                            },
                            t.text.clone(),
                        )
                    })
                    .collect();
                let Some(q) = crate::retrieval::hybrid::query_vector(&encoder, &turns, 0.5)? else {
                    skipped += 1;
                    continue;
                };
                let v = intent::conversation_vector(&q.latest, q.earlier.as_deref());
                n += 1;
                if head.classify(&v, 1).first().is_some_and(|t| c.gold.contains(&t.slug)) {
                    right += 1;
                }
            }
            let top1 = right as f64 / n.max(1) as f64;
            if json {
                writeln!(o, "{}", serde_json::json!({ "cases": n, "top1": top1, "skipped_chinese": skipped }))?;
            } else {
                writeln!(o, "{n} cases with gold articles: intent top-1 {top1:.3} ({skipped} Chinese skipped)")?;
            }
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
