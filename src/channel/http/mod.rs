//! The web chat channel's server: a JSON API under `/api/v1`, a WebSocket stream per
//! conversation, and the chat page at `/` (axum on tokio).
//!
//! Customer messages are committed to the store before they are acknowledged (the writer
//! batches them, one commit per batch); everything customers see comes from the store's tail, so
//! a reconnecting page resumes from the last message id it saw and gets each message once.

mod api;
pub mod bench;
pub mod hub;
pub mod limits;
mod stream;
pub mod validate;

use crate::store::SqliteStore;
use anyhow::{Context, Result, bail};
use limits::{Limiter, Rate};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Where the server listens by default: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8088";
/// The agent API key's file in the data directory (created on first use, owner-only).
pub const API_KEY_FILE: &str = "http-api-key";
/// The shortest agent API key accepted for a public address.
const MIN_PUBLIC_KEY: usize = 24;

/// Flood limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Every API request from one address.
    pub per_address: Rate,
    /// Messages posted to one conversation.
    pub per_conversation: Rate,
    /// The largest request body, in bytes (larger: 413).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_address: Rate { burst: 60.0, per_sec: 2.0 },
            per_conversation: Rate { burst: 10.0, per_sec: 1.0 },
            max_body: 16 * 1024,
        }
    }
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub listen: SocketAddr,
    /// Allow an address other than loopback (needs an explicit agent API key).
    pub public: bool,
    /// The agent API key; default: `DESKPILOT_API_KEY`, else the data directory's key file.
    pub api_key: Option<String>,
    pub data_dir: PathBuf,
    pub limits: Limits,
}

impl HttpOptions {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("default address"),
            public: false,
            api_key: None,
            data_dir: data_dir.to_owned(),
            limits: Limits::default(),
        }
    }
}

/// State shared by every request.
pub(crate) struct Shared {
    writer: hub::Writer,
    reader: Mutex<SqliteStore>,
    hub: hub::Hub,
    tokens: Mutex<HashMap<String, String>>,
    api_key_sha256: String,
    per_address: Limiter<IpAddr>,
    per_conversation: Limiter<String>,
    shutdown: watch::Receiver<bool>,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub api_key: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, closes every stream (pages reconnect), and waits for the server to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server ends (after `stop`, or a fatal error).
    pub async fn wait(&mut self) {
        let _ = (&mut self.task).await;
    }
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    crate::util::hex(&sha2::Sha256::digest(s.as_bytes()))
}

/// 128 random bits, hex.
pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    Ok(crate::util::hex(&bytes))
}

/// The agent API key: given, from the environment, or the data directory's file (made on first use).
fn api_key(opts: &HttpOptions) -> Result<String> {
    let given = opts.api_key.clone().or_else(|| std::env::var("DESKPILOT_API_KEY").ok()).filter(|k| !k.is_empty());
    let loopback = opts.listen.ip().is_loopback();
    if !loopback && !opts.public {
        bail!(
            "--listen {}: not a loopback address; the web channel listens on loopback unless --public is given (with an agent API key in DESKPILOT_API_KEY)",
            opts.listen
        );
    }
    if let Some(k) = given {
        if !loopback && k.len() < MIN_PUBLIC_KEY {
            bail!("DESKPILOT_API_KEY: at least {MIN_PUBLIC_KEY} characters are needed on a public address");
        }
        return Ok(k);
    }
    if !loopback {
        bail!("--public needs an agent API key: set DESKPILOT_API_KEY (at least {MIN_PUBLIC_KEY} characters)");
    }
    let path = opts.data_dir.join(API_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => return Ok(k.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("{}: cannot read the agent API key", path.display())),
    }
    let key = random_token()?;
    std::fs::create_dir_all(&opts.data_dir).with_context(|| format!("{}", opts.data_dir.display()))?;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    std::io::Write::write_all(&mut o.open(&path)?, key.as_bytes())
        .with_context(|| format!("{}: cannot write the agent API key", path.display()))?;
    Ok(key)
}

/// Binds and starts serving on the current tokio runtime (multi-threaded: the writer and the
/// store reads run on threads of their own).
pub async fn start(opts: HttpOptions) -> Result<Running> {
    let key = api_key(&opts)?;
    // Acknowledged means on disk: the writer's commits sync the log (FULL), which costs one
    // fsync per batch, not per message.
    let writer_store = SqliteStore::open_in(&opts.data_dir)?;
    writer_store.execute_raw("PRAGMA synchronous = FULL")?;
    let reader = writer_store.another()?;
    let writer = hub::Writer::start(writer_store)?;
    let tail = Arc::new(Mutex::new(hub::Hub::tail(&reader)?));
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("--listen {}: cannot listen there", opts.listen))?;
    let addr = listener.local_addr()?;
    let (stop, shutdown) = watch::channel(false);
    let shared = Arc::new(Shared {
        writer,
        reader: Mutex::new(reader),
        hub: hub::Hub::default(),
        tokens: Mutex::new(HashMap::new()),
        api_key_sha256: sha256_hex(&key),
        per_address: Limiter::new(opts.limits.per_address),
        per_conversation: Limiter::new(opts.limits.per_conversation),
        shutdown: shutdown.clone(),
    });
    // The tail: one store read every TAIL_EVERY, off the async threads.
    let tail_shared = shared.clone();
    let mut tail_stop = shutdown.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(hub::TAIL_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = tail_stop.changed() => break,
            }
            let (s, t) = (tail_shared.clone(), tail.clone());
            let r = match tokio::task::spawn_blocking(move || {
                let mut t = t.lock().unwrap_or_else(|p| p.into_inner());
                let store = s.reader.lock().unwrap_or_else(|p| p.into_inner());
                s.hub.poll(&store, &mut t)
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("web tail panicked: {e}");
                    break;
                }
            };
            if let Err(e) = r {
                tracing::warn!("web tail: {e}");
            }
        }
    });
    let app = api::router(shared, opts.limits.max_body);
    let mut serve_stop = shutdown;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = serve_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!("web channel server: {e}");
        }
    });
    tracing::info!(%addr, "web channel listening");
    Ok(Running { addr, api_key: key, stop, task })
}

/// The server on a runtime of its own, on its own threads (the console's event loop never
/// shares a thread with it). Dropping the handle stops it.
pub struct Background {
    pub addr: SocketAddr,
    pub api_key: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn start(opts: HttpOptions) -> Result<Self> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("web-channel".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow::anyhow!("cannot start the web channel's runtime: {e}")));
                    return;
                }
            };
            rt.block_on(async move {
                match start(opts).await {
                    Ok(running) => {
                        let _ = ready_tx.send(Ok((running.addr, running.api_key.clone())));
                        let _ = stop_rx.await;
                        running.stop().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        })?;
        let (addr, api_key) = ready_rx.recv().context("the web channel's thread ended before it started")??;
        Ok(Self { addr, api_key, stop: Some(stop_tx), thread: Some(thread) })
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(dir: &Path, listen: &str, public: bool, key: Option<&str>) -> HttpOptions {
        let mut o = HttpOptions::new(dir);
        o.listen = listen.parse().unwrap();
        o.public = public;
        o.api_key = key.map(str::to_owned);
        o
    }

    #[test]
    fn only_loopback_unless_public_with_a_real_key() {
        let dir = tempfile::tempdir().unwrap();
        let e = api_key(&opts(dir.path(), "0.0.0.0:8088", false, Some("k".repeat(40).as_str()))).unwrap_err();
        assert!(e.to_string().contains("--public"), "{e}");
        let e = api_key(&opts(dir.path(), "0.0.0.0:8088", true, Some("short"))).unwrap_err();
        assert!(e.to_string().contains("at least 24"), "{e}");
        let long = "k".repeat(40);
        assert_eq!(api_key(&opts(dir.path(), "0.0.0.0:8088", true, Some(&long))).unwrap(), long);
        // Loopback without a key: one is made, kept owner-only, and reused.
        let made = api_key(&opts(dir.path(), "127.0.0.1:0", false, None)).unwrap();
        assert_eq!(made.len(), 32);
        assert_eq!(api_key(&opts(dir.path(), "127.0.0.1:0", false, None)).unwrap(), made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(API_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
    }

    #[test]
    fn tokens_are_128_random_bits() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
