//! `deskpilot draft`: a reply for a customer message or a conversation, streamed to the terminal.

use crate::config::Settings;
use crate::desk::ports::{DraftRequest, Flow, RetrievalQuery, Retriever as _};
use crate::desk::{Message, RequestId};
use crate::eval::generation::case_messages;
use crate::eval::parse_conversation;
use crate::retrieval::Retriever;
use anyhow::Result;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// KB folder (default: the configured or bundled KB).
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
    /// Model folder (default: the configured or bundled model).
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// `neural` (the generator) or `extractive` (quotes passages).
    #[arg(long, value_parser = ["neural", "extractive"])]
    drafter: Option<String>,
    /// Print one JSON object instead of streaming text.
    #[arg(long)]
    json: bool,
    /// A conversation as JSON: {"turns": [{"role": "customer"|"agent", "text": ...}]}.
    #[arg(long, value_name = "FILE", conflicts_with = "message")]
    conversation: Option<PathBuf>,
    /// The customer's name (the draft greets them), as a demo or web customer would have it.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The customer's tier: the KB's members' rules apply to `plus` (Harbor+).
    #[arg(long, value_parser = ["standard", "plus", "business"], requires = "name")]
    tier: Option<String>,
    /// The customer's language (`en`, `zh`).
    #[arg(long, value_name = "LANG", requires = "name")]
    language: Option<String>,
    /// The customer's message.
    #[arg(value_name = "MESSAGE", required_unless_present = "conversation")]
    message: Vec<String>,
}

fn messages(args: &Args) -> Result<Vec<Message>> {
    match &args.conversation {
        Some(path) => {
            let text = crate::knowledge::read_input(path)?;
            let case = parse_conversation(&text, &path.display().to_string())?;
            Ok(case_messages(&case))
        }
        None => Ok(vec![Message::customer(args.message.join(" "), 0)]),
    }
}

/// Decode rate: tokens after the first over the time after the first.
fn tokens_per_s(t: &crate::desk::DraftTimings) -> f64 {
    let decode_ms = t.total_ms - t.first_token_ms;
    if t.tokens > 1 && decode_ms > 0.0 { f64::from(t.tokens - 1) / (decode_ms / 1e3) } else { 0.0 }
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let messages = messages(&args)?;
    let choice =
        crate::model::DrafterChoice::from_config(&settings.config, args.model.as_deref(), args.drafter.as_deref());
    let (mut drafter, _) = choice.load()?;
    let dir = super::kb_dir(settings, args.kb.as_ref());
    let dense = crate::retrieval::DenseChoice::from_config(&settings.config, None)?;
    let (retriever, _) = Retriever::open_with(&dir, &settings.paths.data_dir, &dense, &|_, _| {})?;
    crate::understand::load_products(&dir);
    let started = Instant::now();
    let query = RetrievalQuery {
        turns: messages.iter().map(|m| (m.author, m.text.clone())).collect(),
        tags: Vec::new(),
        k: settings.config.retrieval.top_k,
        language: None,
    };
    let retrieval = retriever.retrieve(&query).map_err(|e| anyhow::anyhow!("retrieval: {e}"))?;
    let retrieval_ms = started.elapsed().as_secs_f64() * 1e3;
    let customer = args.name.as_ref().map(|name| crate::desk::Customer {
        id: "cli".into(),
        name: name.clone(),
        email: String::new(),
        language: args.language.clone().unwrap_or_else(|| "en".into()),
        tier: match args.tier.as_deref() {
            Some("plus") => crate::desk::Tier::Plus,
            Some("business") => crate::desk::Tier::Business,
            _ => crate::desk::Tier::Standard,
        },
        notes: String::new(),
    });
    let mut details = Vec::new();
    crate::understand::conversation_details(
        messages.iter().filter(|m| m.author == crate::desk::Author::Customer).map(|m| (m.text.as_str(), m.at)),
        &mut details,
    );
    let request =
        DraftRequest { request: RequestId(1), conversation: "cli".into(), customer, messages, retrieval, details };
    let out = &mut std::io::stdout().lock();
    let json = args.json;
    let mut failed: Option<std::io::Error> = None;
    let result = drafter
        .draft(&request, &mut |piece| {
            if json {
                return Flow::Continue;
            }
            match write!(out, "{}", crate::util::sanitize_for_terminal(piece)).and_then(|_| out.flush()) {
                Ok(()) => Flow::Continue,
                Err(e) => {
                    failed = Some(e);
                    Flow::Stop
                }
            }
        })
        .map_err(|e| anyhow::anyhow!("draft: {e}"))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    let unsupported = crate::model::neural::unsupported(&request, &result.text);
    let t = result.timings;
    let total_ms = retrieval_ms + t.total_ms;
    if json {
        let obj = json!({
            "draft": result.text,
            "sources": result.sources,
            "confidence": request.retrieval.confidence,
            "abstained": result.abstained,
            "unsupported": unsupported,
            "model": result.model_version,
            "timings": {
                "retrieval_ms": retrieval_ms,
                "first_token_ms": retrieval_ms + t.first_token_ms,
                "total_ms": total_ms,
                "tokens": t.tokens,
                "tokens_per_s": tokens_per_s(&t),
            }
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&obj)?)?;
    } else {
        writeln!(out)?;
        let names: Vec<&str> = result.sources.iter().map(|s| s.slug.as_str()).collect();
        let note = match (result.abstained, result.text.trim().is_empty()) {
            (true, _) => "abstained: nothing confident in the KB",
            (false, true) => "empty draft",
            (false, false) => "grounded",
        };
        eprintln!(
            "\n[{} · {note} · confidence {:.2} · sources: {} · {total_ms:.1} ms]",
            result.model_version,
            request.retrieval.confidence,
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        );
    }
    Ok(ExitCode::SUCCESS)
}
