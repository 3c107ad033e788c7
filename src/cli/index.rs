//! `deskpilot index`: build or refresh the index of a KB.

use crate::config::Settings;
use crate::retrieval::Retriever;
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
    Ok(ExitCode::SUCCESS)
}
