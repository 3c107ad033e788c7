//! `deskpilot doctor`: what Deskpilot sees on this machine.

use crate::config::Settings;
use crate::knowledge::load_kb;
use crate::retrieval::{SCHEMA_VERSION, index_dir_for};
use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub fn run(settings: &Settings, _args: Args) -> Result<ExitCode> {
    let p = &settings.paths;
    let out = &mut std::io::stdout().lock();
    writeln!(out, "deskpilot {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "\nPaths")?;
    let cfg_state = if p.config_file_exists { "in use" } else { "not present, defaults in use" };
    writeln!(out, "  config file  {} ({cfg_state})", p.config_file.display())?;
    writeln!(out, "  data dir     {}", p.data_dir.display())?;
    writeln!(out, "  database     {}", p.data_dir.join(crate::store::DB_FILE).display())?;
    writeln!(out, "  state dir    {}", p.state_dir.display())?;
    writeln!(out, "  log file     {}", p.log_file.display())?;
    if !settings.env_overrides.is_empty() {
        writeln!(out, "  env          {}", settings.env_overrides.join(", "))?;
    }

    let kb_dir = settings.config.kb_dir();
    let kb = load_kb(&kb_dir);
    writeln!(out, "\nKnowledge base")?;
    writeln!(out, "  folder       {}", kb_dir.display())?;
    writeln!(
        out,
        "  articles     {} ({} errors, {} warnings; `deskpilot kb check` for details)",
        kb.articles.len(),
        kb.errors(),
        kb.warnings()
    )?;
    let index_dir = index_dir_for(&kb_dir, &p.data_dir);
    let built = index_dir.join("manifest.json").is_file();
    writeln!(
        out,
        "  index        {} ({})",
        index_dir.display(),
        if built { "built" } else { "not built yet: `deskpilot index`" }
    )?;
    writeln!(out, "  schema       v{SCHEMA_VERSION}")?;

    writeln!(out, "\nModel")?;
    let m = &settings.config.model;
    let model_dir = settings.config.model_dir();
    writeln!(out, "  drafter      {} (`[model] drafter`)", m.drafter)?;
    writeln!(out, "  folder       {}", model_dir.display())?;
    match crate::model::checkpoint::read_config(&model_dir) {
        Ok(c) => writeln!(
            out,
            "  generator    {} ({:.2}M parameters, {} steps, validation loss {})",
            c.version,
            c.model.parameters() as f64 / 1e6,
            c.provenance.steps,
            c.provenance.final_val_loss.map_or("n/a".to_owned(), |v| format!("{v:.3}"))
        )?,
        Err(e) => writeln!(out, "  generator    not usable: {e:#} (drafts fall back to extractive)")?,
    }

    writeln!(out, "\nTerminal")?;
    let term = std::env::var("TERM").unwrap_or_else(|_| "(unset)".into());
    let colorterm = std::env::var("COLORTERM").unwrap_or_default();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    writeln!(out, "  TERM         {term}")?;
    writeln!(out, "  truecolor    {}", yes_no(colorterm == "truecolor" || colorterm == "24bit"))?;
    writeln!(out, "  NO_COLOR     {}", yes_no(no_color))?;
    writeln!(out, "  stdout tty   {}", yes_no(std::io::stdout().is_terminal()))?;
    match crossterm::terminal::size() {
        Ok((w, h)) => writeln!(out, "  size         {w}x{h}")?,
        Err(_) => writeln!(out, "  size         unknown (not a terminal)")?,
    }
    Ok(ExitCode::SUCCESS)
}
