//! `deskpilot index`: build or refresh the index of a KB.

use crate::config::Settings;
use crate::retrieval::{DenseChoice, RetrievalMode, Retriever, load_for_kb};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// KB folder (default: the configured or bundled KB).
    #[arg(long, value_name = "DIR")]
    kb: Option<PathBuf>,
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let dir = super::kb_dir(settings, args.kb.as_ref());
    let bar = super::progress_bar("indexing");
    let progress = |done: usize, total: usize| {
        // Only worth a bar for large KBs.
        if total >= 200 {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    let (retriever, report) = Retriever::open_for_indexing(&dir, &settings.paths.data_dir, &progress)?;
    bar.finish_and_clear();
    // Passage and sentence vectors for dense retrieval, beside the index (changed passages only).
    let choice = DenseChoice::from_config(&settings.config, None)?;
    let vectors = if choice.mode == RetrievalMode::Lexical {
        None
    } else {
        let bar = super::progress_bar("embedding");
        let started = std::time::Instant::now();
        let n = retriever.num_passages() as usize;
        let r = load_for_kb(&dir, &settings.paths.data_dir, &choice.encoder_dir, &report, n, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        });
        bar.finish_and_clear();
        match r {
            Ok((_, r)) => Some((r, started.elapsed().as_secs_f64() * 1e3)),
            Err(e) => {
                tracing::warn!("sentence encoder unavailable, no passage vectors: {e:#}");
                eprintln!("warning: sentence encoder unavailable ({e:#}); retrieval will be lexical");
                None
            }
        }
    };
    let out = &mut std::io::stdout().lock();
    for issue in &report.issues {
        writeln!(out, "{issue}")?;
    }
    if let Some(why) = &report.rebuilt {
        writeln!(out, "rebuilt from scratch: {why}")?;
    }
    writeln!(
        out,
        "{}: {} articles, {} passages ({} added, {} updated, {} removed) in {:.0} ms\nindex: {}",
        dir.display(),
        report.articles,
        retriever.num_passages(),
        report.added,
        report.updated,
        report.removed,
        report.elapsed_ms,
        report.index_dir.display()
    )?;
    if let Some((v, ms)) = vectors {
        writeln!(
            out,
            "vectors: {} passages ({} embedded), {} sentences ({} embedded) in {ms:.0} ms",
            v.passages, v.embedded, v.sentences, v.sentences_embedded
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
