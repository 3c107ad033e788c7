//! `deskpilot search`: the passages the console would show for a customer message.

use crate::config::Settings;
use crate::retrieval::{DenseChoice, Hit, RetrievalMode, Retriever};
use crate::util::sanitize_for_terminal;
use anyhow::Result;
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// KB folder (default: the configured or bundled KB).
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
    /// Number of passages (one per article).
    #[arg(short, default_value_t = 5, value_parser = super::ranged(1, crate::retrieval::MAX_K as u64))]
    k: usize,
    /// Print a JSON array for scripts.
    #[arg(long)]
    json: bool,
    /// How passages are ranked (default: `[retrieval] mode` in the config, `hybrid`).
    #[arg(long, value_enum)]
    retrieval: Option<RetrievalMode>,
    /// The customer's message.
    #[arg(required = true, value_name = "QUERY")]
    query: Vec<String>,
}

#[derive(Serialize)]
struct JsonHit<'a> {
    slug: &'a str,
    title: &'a str,
    section: String,
    text: &'a str,
    score: f32,
    confidence: f32,
    highlights: Vec<[usize; 2]>,
    /// The mode that ranked this hit (lexical when the encoder is unavailable or the question
    /// is Chinese).
    mode: RetrievalMode,
    /// BM25 article score (absent when BM25 did not rank the article).
    lexical_score: Option<f32>,
    /// Cosine of the article's best passage with the question (absent in lexical mode).
    dense_score: Option<f32>,
}

/// Text with its highlight ranges in bold yellow.
fn highlighted(hit: &Hit, color: bool) -> String {
    if !color {
        return sanitize_for_terminal(&hit.text).into_owned();
    }
    let mut out = String::new();
    let mut at = 0;
    for r in &hit.highlights {
        if r.start < at || r.end > hit.text.len() {
            continue;
        }
        out.push_str(&sanitize_for_terminal(&hit.text[at..r.start]));
        out.push_str("\x1b[1;33m");
        out.push_str(&sanitize_for_terminal(&hit.text[r.clone()]));
        out.push_str("\x1b[0m");
        at = r.end;
    }
    out.push_str(&sanitize_for_terminal(&hit.text[at..]));
    out
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let dir = super::kb_dir(settings, args.kb.as_ref());
    let choice = DenseChoice::from_config(&settings.config, args.retrieval)?;
    let (retriever, _) = Retriever::open_with(&dir, &settings.paths.data_dir, &choice, &|_, _| {})?;
    let query = args.query.join(" ");
    let result = retriever.search_text(&query, args.k)?;
    let mode = if result.components.is_empty() { RetrievalMode::Lexical } else { retriever.effective_mode() };
    let out = &mut std::io::stdout().lock();
    if args.json {
        let hits: Vec<JsonHit<'_>> = result
            .hits
            .iter()
            .enumerate()
            .map(|(i, h)| JsonHit {
                slug: &h.slug,
                title: &h.title,
                section: h.section.join(" > "),
                text: &h.text,
                score: h.score,
                confidence: result.confidence,
                highlights: h.highlights.iter().map(|r| [r.start, r.end]).collect(),
                mode,
                lexical_score: match result.components.get(i) {
                    Some(c) => c.lexical,
                    None => Some(h.score),
                },
                dense_score: result.components.get(i).and_then(|c| c.dense),
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&hits)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    if result.hits.is_empty() {
        writeln!(out, "No passages match. Try other words, or check the KB with `deskpilot kb check`.")?;
        return Ok(ExitCode::SUCCESS);
    }
    let verdict = match result.confidence {
        c if c >= 0.7 => "strong match",
        c if c >= 0.2 => "possible match",
        _ => "nothing clearly relevant",
    };
    writeln!(out, "confidence {:.2} ({verdict})\n", result.confidence)?;
    for (i, h) in result.hits.iter().enumerate() {
        let section = if h.section.is_empty() { String::new() } else { format!(" > {}", h.section.join(" > ")) };
        writeln!(
            out,
            "{}. {}{}  [{}]  score {:.2}",
            i + 1,
            sanitize_for_terminal(&h.title),
            sanitize_for_terminal(&section),
            h.slug,
            h.score
        )?;
        for line in highlighted(h, color).lines() {
            writeln!(out, "   {line}")?;
        }
        writeln!(out)?;
    }
    Ok(ExitCode::SUCCESS)
}
