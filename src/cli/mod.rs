//! The command line: one file per subcommand. `run` returns the process exit code:
//! 0 success, 1 error (including a KB check that found errors), 2 usage error (from clap).

mod bench;
mod doctor;
mod draft;
mod eval;
mod index;
mod intent;
mod kb;
mod privacy;
mod review;
mod search;
mod serve;
mod train;
mod train_cross;
mod train_selector;
mod understand;

use crate::config::{self, Settings};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  deskpilot                                 the console on the bundled demo (F1 for keys)
  deskpilot --speed 3 --fresh               a fresh demo session, three times as fast
  deskpilot doctor                          where config, data and logs live; KB and index status
  deskpilot kb check                        validate the bundled knowledge base
  deskpilot search where is my refund       top passages for a customer message
  deskpilot search -k 3 --json 退款多久到账    the same, as JSON
  deskpilot draft my parcel never arrived    a reply drafted from the knowledge base
  deskpilot train --kb ./my-kb --from assets/model --out my-model
                                            adapt the generator to another KB
  deskpilot index --kb ./my-kb              build or refresh the index of another KB
  deskpilot eval --set ../shared/eval/dstc11 --json
  deskpilot bench retrieval                 indexing and query speed on 100k passages
  deskpilot bench generation                the generator's load, first-token and decode times
  deskpilot review                          supervisor console: drafts vs sent replies, approvals
  deskpilot review --stats --since 2026-01-01
  deskpilot review --export csv --agent ana  drafts as CSV, PII masked (--unmasked to keep it)
  deskpilot kb gaps --since 2026-11-01       article drafts for what the KB could not answer
  deskpilot privacy forget --customer ana@example.com
                                            erase one customer everywhere, and say what went

Exit codes: 0 success, 1 error, 2 usage error.";

#[derive(Debug, Parser)]
#[command(name = "deskpilot", version, about = "Terminal agent-assist console: live conversations, knowledge retrieval and local drafts, fully offline", after_help = EXAMPLES)]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/deskpilot/config.toml when it exists).
    #[arg(long, global = true, env = "DESKPILOT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory: database, indexes (default: $XDG_DATA_HOME/deskpilot).
    #[arg(long, global = true, env = "DESKPILOT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// More detail on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Console: demo speed (2 = twice as fast).
    #[arg(long, default_value_t = 1.0, value_name = "X", value_parser = finite(0.01, 1000.0))]
    pub speed: f64,
    /// Console: seed for the demo's timing jitter (same seed, same run).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Console: demo scenarios file (default: the bundled Harbor & Pine customers).
    #[arg(long, value_name = "FILE")]
    pub scenarios: Option<PathBuf>,
    /// Console: start a new demo session instead of resuming the last unfinished one.
    #[arg(long)]
    pub fresh: bool,
    /// Console: knowledge-base folder (default: the configured or bundled KB).
    #[arg(long, value_name = "DIR")]
    pub kb: Option<PathBuf>,
    /// Console: the generator's folder (default: the configured or bundled model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Console: where customers come from: `demo`, `http` (the web chat), or both (`demo,http`).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "demo", value_name = "KIND")]
    pub channel: Vec<ChannelKind>,
    /// Console with `--channel http`: the web chat's address (loopback unless --public).
    #[arg(long, default_value = crate::channel::http::DEFAULT_LISTEN, value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Console with `--channel http`: allow a non-loopback --listen address (needs DESKPILOT_API_KEY).
    #[arg(long)]
    pub public: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A source of customer conversations for the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChannelKind {
    /// The simulated Harbor & Pine customers.
    Demo,
    /// The web chat: an HTTP/WebSocket server and the chat page.
    Http,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show resolved paths, KB, index and model status, terminal capabilities.
    Doctor(doctor::Args),
    /// Knowledge-base tools.
    Kb(kb::Args),
    /// Build or refresh the search index of a KB.
    Index(index::Args),
    /// Search the KB the way the console does for a customer message.
    Search(search::Args),
    /// Draft a reply to a customer message or conversation (the generator, streamed).
    Draft(draft::Args),
    /// Train the generator on a KB (and transcripts); fine-tune with --from.
    Train(train::Args),
    /// Train the answer selector (which passage sentences answer) on a KB and labelled cases.
    TrainSelector(train_selector::Args),
    /// Replay an evaluation set and report retrieval and draft quality.
    Eval(eval::Args),
    /// Measure speed: retrieval, generation, review.
    Bench(bench::Args),
    /// Supervisor review: drafts vs sent replies, approval queue; --stats, --export.
    Review(review::Args),
    /// Personal data: find it (`scan`, `eval`), erase a customer (`forget`), apply retention (`retain`).
    Privacy(privacy::Args),
    /// What the console reads in customer messages (key details, sentiment), and its scores.
    Understand(understand::Args),
    /// Run the web chat server (HTTP API, WebSocket stream, chat page) without the console.
    Serve(serve::Args),
}

/// Loads settings and starts file logging (plus warnings on stderr).
fn setup(cli: &Cli) -> Result<Settings> {
    let settings = config::load(cli.config.as_deref(), cli.data_dir.as_deref())?;
    // Checked when the settings loaded: what every export, eval output and log line masks.
    if let Ok(policy) = settings.config.privacy.policy() {
        crate::privacy::policy::install(policy);
    }
    // The console owns the terminal: its logs go to the file only.
    init_logging(&settings, cli.verbose, cli.command.is_none());
    Ok(settings)
}

fn init_logging(settings: &Settings, verbose: u8, console: bool) {
    use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};
    let stderr_level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let stderr = (!console).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .without_time()
            .with_target(false)
            .with_filter(EnvFilter::new(stderr_level))
    });
    let file = std::fs::create_dir_all(&settings.paths.state_dir)
        .ok()
        .and_then(|_| std::fs::OpenOptions::new().create(true).append(true).open(&settings.paths.log_file).ok())
        .map(|f| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::sync::Mutex::new(crate::privacy::MaskingWriter::new(f)))
                .with_ansi(false)
                .with_filter(EnvFilter::try_new(&settings.config.log.level).unwrap_or_else(|_| EnvFilter::new("info")))
        });
    let _ = tracing_subscriber::registry().with(stderr).with(file).try_init();
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let settings = setup(&cli)?;
    match cli.command {
        None => {
            let opts = crate::tui::ConsoleOptions {
                kb_dir: kb_dir(&settings, cli.kb.as_ref()),
                speed: cli.speed,
                seed: cli.seed,
                scenarios: cli.scenarios.clone(),
                fresh: cli.fresh,
                model_dir: cli.model.clone(),
                demo: cli.channel.contains(&ChannelKind::Demo),
                http: cli.channel.contains(&ChannelKind::Http).then(|| {
                    let mut o = crate::channel::http::HttpOptions::new(&settings.paths.data_dir);
                    o.listen = cli.listen;
                    o.public = cli.public;
                    o
                }),
            };
            crate::tui::run(&settings, opts)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Doctor(a)) => doctor::run(&settings, a),
        Some(Command::Kb(a)) => kb::run(&settings, a),
        Some(Command::Index(a)) => index::run(&settings, a),
        Some(Command::Search(a)) => search::run(&settings, a),
        Some(Command::Draft(a)) => draft::run(&settings, a),
        Some(Command::Train(a)) => train::run(&settings, a),
        Some(Command::TrainSelector(a)) => train_selector::run(&settings, a),
        Some(Command::Eval(a)) => eval::run(&settings, a),
        Some(Command::Bench(a)) => bench::run(&settings, a),
        Some(Command::Review(a)) => review::run(&settings, a),
        Some(Command::Serve(a)) => serve::run(&settings, a),
        Some(Command::Privacy(a)) => privacy::run(&settings, a),
        Some(Command::Understand(a)) => understand::run(&settings, a),
    }
}

/// A parser for a whole number flag within `lo..=hi` (clap's error names the flag and range).
fn ranged(lo: u64, hi: u64) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(lo..=hi)
}

/// A parser for a finite number flag within `lo..=hi`.
fn finite(lo: f64, hi: f64) -> impl Fn(&str) -> std::result::Result<f64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
        if v.is_finite() && (lo..=hi).contains(&v) { Ok(v) } else { Err(format!("{s} is not in {lo}..={hi}")) }
    }
}

/// The KB folder: `--kb` if given, else the configured one, else the bundled demo KB.
fn kb_dir(settings: &Settings, flag: Option<&PathBuf>) -> PathBuf {
    flag.cloned().unwrap_or_else(|| settings.config.kb_dir())
}

/// Where personal data can be outside the store, and where `kb gaps` writes its drafts.
fn privacy_places(settings: &Settings, kb: Option<&PathBuf>) -> crate::privacy::erase::Places {
    let gaps = &settings.config.privacy.gaps_dir;
    crate::privacy::erase::Places {
        data_dir: settings.paths.data_dir.clone(),
        state_dir: settings.paths.state_dir.clone(),
        gaps_dir: if gaps.is_empty() { settings.paths.data_dir.join("kb-gaps") } else { PathBuf::from(gaps) },
        kb_dir: kb_dir(settings, kb),
    }
}

/// Precision and recall overall and per kind, then each miss and false alarm (`privacy eval`,
/// `understand details`).
fn write_scores(
    o: &mut impl std::io::Write,
    cases: usize,
    all: crate::privacy::eval::Counts,
    by_kind: impl Iterator<Item = (String, crate::privacy::eval::Counts)>,
    misses: &[String],
    false_alarms: &[String],
) -> std::io::Result<()> {
    let (p, r) = (all.precision(), all.recall());
    writeln!(
        o,
        "{cases} cases: precision {p:.3}, recall {r:.3} ({} labelled, {} found, {} right)",
        all.labelled, all.found, all.right
    )?;
    for (k, c) in by_kind {
        let (p, r) = (c.precision(), c.recall());
        writeln!(o, "  {k:<9} precision {p:.3}  recall {r:.3}  ({} labelled, {} found)", c.labelled, c.found)?;
    }
    for m in misses {
        writeln!(o, "  missed      {m}")?;
    }
    for f in false_alarms {
        writeln!(o, "  false alarm {f}")?;
    }
    Ok(())
}

/// A progress bar for long loops, drawn on stderr only when it is a terminal.
fn progress_bar(label: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_owned());
    bar
}
