//! `deskpilot doctor`: what Deskpilot sees on this machine, each item checked, not just listed:
//! the database is opened read-only, the index verified, the model's shape and weights checked
//! against its hash. Exit 1 when a check fails.

use crate::config::Settings;
use crate::knowledge::load_kb;
use crate::retrieval::{SCHEMA_VERSION, check_index, index_dir_for};
use crate::store::StoreStatus;
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
    let mut problems: Vec<String> = Vec::new();
    writeln!(out, "deskpilot {}", env!("CARGO_PKG_VERSION"))?;
    writeln!(out, "\nPaths")?;
    let cfg_state = if p.config_file_exists { "in use" } else { "not present, defaults in use" };
    writeln!(out, "  config file  {} ({cfg_state})", p.config_file.display())?;
    writeln!(out, "  data dir     {}", p.data_dir.display())?;
    let db = p.data_dir.join(crate::store::DB_FILE);
    let db_state = match crate::store::inspect(&db) {
        Ok(StoreStatus::Missing) => "not created yet (the console creates it)".to_owned(),
        Ok(StoreStatus::Empty) => {
            "warning: empty file (0 bytes); the console will start a new store in it (restore a backup if it held data)"
                .to_owned()
        }
        Ok(StoreStatus::Ready { schema_version, conversations }) => {
            format!("ok (schema v{schema_version}, {conversations} conversations)")
        }
        Err(e) => {
            problems.push(format!("database: {e}"));
            format!("UNREADABLE: {e}")
        }
    };
    writeln!(out, "  database     {} ({db_state})", db.display())?;
    writeln!(out, "  state dir    {}", p.state_dir.display())?;
    writeln!(out, "  log file     {}", p.log_file.display())?;
    if !settings.env_overrides.is_empty() {
        writeln!(out, "  env          {}", settings.env_overrides.join(", "))?;
    }

    let kb_dir = settings.config.kb_dir();
    let kb = load_kb(&kb_dir);
    writeln!(out, "\nKnowledge base")?;
    let kb_found = kb_dir.is_dir();
    if !kb_found {
        problems.push(format!("{}: knowledge-base folder not found", kb_dir.display()));
    }
    writeln!(out, "  folder       {}{}", kb_dir.display(), if kb_found { "" } else { " (NOT FOUND)" })?;
    writeln!(
        out,
        "  articles     {} ({} errors, {} warnings; `deskpilot kb check` for details)",
        kb.articles.len(),
        kb.errors(),
        kb.warnings()
    )?;
    let index_dir = index_dir_for(&kb_dir, &p.data_dir);
    let index_state = match check_index(&kb_dir, &p.data_dir) {
        Ok(None) => "not built yet: `deskpilot index`".to_owned(),
        Ok(Some(n)) => format!("verified, {n} passages"),
        Err(e) => {
            problems.push(format!("index: {e}"));
            format!("DAMAGED: {e}")
        }
    };
    writeln!(out, "  index        {} ({index_state})", index_dir.display())?;
    writeln!(out, "  schema       v{SCHEMA_VERSION}")?;

    writeln!(out, "\nModel")?;
    let m = &settings.config.model;
    let model_dir = settings.config.model_dir();
    writeln!(out, "  drafter      {} (`[model] drafter`)", m.drafter)?;
    writeln!(out, "  folder       {}", model_dir.display())?;
    let installed = model_dir.join("config.json").is_file();
    match crate::model::checkpoint::read_config(&model_dir) {
        Ok(c) => {
            writeln!(
                out,
                "  generator    {} ({:.2}M parameters, {} steps, validation loss {})",
                c.version,
                c.model.parameters() as f64 / 1e6,
                c.provenance.steps,
                c.provenance.final_val_loss.map_or("n/a".to_owned(), |v| format!("{v:.3}"))
            )?;
            let weights = match crate::model::checkpoint::verify_weights(&model_dir, &c) {
                Ok(crate::model::checkpoint::WeightsCheck::Verified) => "verified against manifest.json".to_owned(),
                Ok(crate::model::checkpoint::WeightsCheck::Unrecorded) => {
                    "not verified: manifest.json records no weights_sha256".to_owned()
                }
                Err(e) => {
                    problems.push(format!("model: {e:#}"));
                    format!("DAMAGED: {e:#}")
                }
            };
            writeln!(out, "  weights      {weights}")?;
        }
        Err(e) if !installed => writeln!(out, "  generator    not installed: {e:#} (drafts fall back to extractive)")?,
        Err(e) => {
            problems.push(format!("model: {e:#}"));
            writeln!(out, "  generator    NOT USABLE: {e:#}")?;
        }
    }

    retrieval_section(settings, &kb, out, &mut problems)?;

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
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "\n{} problem(s):", problems.len())?;
    for problem in &problems {
        writeln!(out, "  - {problem}")?;
    }
    Ok(ExitCode::from(1))
}

/// The encoders, the answer selector and the intent classifier: each loaded and its weights
/// checked against its manifest. A component that is not installed is reported with what the
/// console does without it; one that is installed but cannot be loaded is a problem.
fn retrieval_section(
    settings: &Settings,
    kb: &crate::knowledge::Kb,
    out: &mut impl Write,
    problems: &mut Vec<String>,
) -> Result<()> {
    let config = &settings.config;
    writeln!(out, "\nRetrieval and understanding")?;
    writeln!(out, "  mode         {} (`[retrieval] mode`)", config.retrieval.mode)?;
    let dir = config.encoder_dir();
    let encoder = match crate::semantic::Encoder::load(&dir) {
        Ok(e) => {
            writeln!(out, "  encoder      {} ({} dims, weights match the manifest)", dir.display(), e.dim())?;
            Some(e)
        }
        Err(e) if !dir.join("config.json").is_file() => {
            writeln!(out, "  encoder      {}: not installed (retrieval stays lexical): {e}", dir.display())?;
            None
        }
        Err(e) => {
            problems.push(format!("encoder: {e}"));
            writeln!(out, "  encoder      {} NOT USABLE: {e}", dir.display())?;
            None
        }
    };
    let zh_dir = dir.with_file_name("encoder-zh");
    match crate::semantic::Multilingual::load(&zh_dir) {
        Ok(e) => writeln!(out, "  zh encoder   {} ({} dims, weights match the manifest)", zh_dir.display(), e.dim())?,
        Err(_) if !zh_dir.join("config.json").is_file() => writeln!(
            out,
            "  zh encoder   {}: not installed (Chinese questions are read by their words)",
            zh_dir.display()
        )?,
        Err(e) => {
            problems.push(format!("multilingual encoder: {e}"));
            writeln!(out, "  zh encoder   {} NOT USABLE: {e}", zh_dir.display())?;
        }
    }
    match config.selector_dir() {
        None => writeln!(out, "  selector     none (`[model] selector`): drafts quote without it")?,
        Some(dir) => match crate::select::Selector::load(&dir) {
            Ok(s) => writeln!(
                out,
                "  selector     {} ({}, {} networks, weights verified)",
                s.file.version,
                dir.display(),
                s.file.members
            )?,
            Err(e) => {
                problems.push(format!("selector: {e:#}"));
                writeln!(out, "  selector     NOT USABLE: {e:#}")?;
            }
        },
    }
    match config.intent_dir() {
        None => writeln!(out, "  intent       none (`[retrieval] intent`)")?,
        Some(dir) => match crate::understand::intent::Intent::load(&dir) {
            Ok(i) => {
                let hash = crate::understand::intent::kb_articles_hash(kb);
                let state = match &encoder {
                    None => "needs the encoder: no intent is shown",
                    Some(e) if i.fits(&hash, e.model_sha256()) => "fits this KB and encoder",
                    Some(_) => "trained for another KB or encoder: no intent is shown (`understand train-intent`)",
                };
                writeln!(out, "  intent       {} topics ({}), {state}", i.file.slugs.len(), dir.display())?;
            }
            Err(e) => {
                problems.push(format!("intent classifier: {e:#}"));
                writeln!(out, "  intent       NOT USABLE: {e:#}")?;
            }
        },
    }
    Ok(())
}
