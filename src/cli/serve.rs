//! `deskpilot serve`: the web chat channel's server without the console, on the same store (for
//! integrations, tests, and a console running beside it).

use crate::channel::http::{self, HttpOptions};
use crate::config::Settings;
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen (loopback unless --public).
    #[arg(long, default_value = http::DEFAULT_LISTEN, value_name = "ADDR")]
    listen: std::net::SocketAddr,
    /// Allow a non-loopback --listen address (needs an agent API key in DESKPILOT_API_KEY).
    #[arg(long)]
    public: bool,
    /// Print the agent API key on stdout at start (it is also in the data directory's key file).
    #[arg(long)]
    show_key: bool,
}

pub fn run(settings: &Settings, args: Args) -> Result<ExitCode> {
    let mut opts = HttpOptions::new(&settings.paths.data_dir);
    opts.listen = args.listen;
    opts.public = args.public;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut running = http::start(opts).await?;
        // A closed stdout (a supervisor that read the address and left) must not stop the server.
        let mut out = std::io::stdout().lock();
        let key_file = settings.paths.data_dir.join(http::API_KEY_FILE);
        let _ = writeln!(out, "Web chat on http://{}/", running.addr);
        let _ = writeln!(out, "API on http://{}/api/v1 (agent API key in {})", running.addr, key_file.display());
        if args.show_key {
            let _ = writeln!(out, "Agent API key: {}", running.api_key);
        }
        let _ = out.flush();
        drop(out);
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = running.wait() => return Ok(ExitCode::FAILURE),
        }
        eprintln!("Stopping: streams closed, every acknowledged message is stored.");
        running.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}
