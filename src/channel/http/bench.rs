//! `deskpilot bench channel`: many simulated customers at once over loopback against the real
//! server and store, with the console's side of the channel following along.
//!
//! Each customer starts a conversation (its first message), opens the stream, posts the rest of
//! its messages one after another (each waits for its acknowledgement), and waits until the
//! stream has shown all of them. Customers come from 250 loopback addresses, as from many
//! machines, under the server's default flood limits. Afterwards the store is read back: every
//! acknowledged message must be there exactly once, in order; the streams and the console's
//! channel must have seen each exactly once.

use super::{Background, HttpOptions};
use crate::desk::ports::{Channel, ChannelEvent};
use anyhow::{Context, Result};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Loopback addresses the customers come from.
const ADDRESSES: usize = 250;

#[derive(Debug, Serialize)]
pub struct ChannelBench {
    pub customers: usize,
    pub messages_per_customer: usize,
    pub addresses: usize,
    pub pace: Pace,
    pub seconds: f64,
    pub messages_per_sec: f64,
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
    pub ack_max_ms: f64,
    /// Posts answered 429 and retried (the flood limits at work).
    pub retried_429: usize,
    pub stored: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub stream_missing: usize,
    pub stream_duplicated: usize,
    pub console_received: usize,
    pub console_duplicated: usize,
    /// How late the console's 16 ms tick ran while it followed the load (p99, max).
    pub console_tick_late_p99_ms: f64,
    pub console_tick_late_max_ms: f64,
}

impl ChannelBench {
    pub fn table(&self) -> String {
        format!(
            "web channel: {} customers x {} messages from {} loopback addresses, in {:.1} s\n\
             \x20 pace                  arrivals over {} ms, {} ms between messages (0.5x-1.5x)\n\
             \x20 messages/s            {:>9.0}\n\
             \x20 acknowledge p50       {:>9.2} ms\n\
             \x20 acknowledge p99       {:>9.2} ms   (max {:.1})\n\
             \x20 retried after 429     {:>9}\n\
             \x20 stored                {:>9}   lost {}, duplicated {}\n\
             \x20 streams               missing {}, duplicated {}\n\
             \x20 console channel       {:>9}   duplicated {}\n\
             \x20 console tick late p99 {:>9.2} ms   (max {:.1})\n",
            self.customers,
            self.messages_per_customer,
            self.addresses,
            self.seconds,
            self.pace.ramp_ms,
            self.pace.think_ms,
            self.messages_per_sec,
            self.ack_p50_ms,
            self.ack_p99_ms,
            self.ack_max_ms,
            self.retried_429,
            self.stored,
            self.lost,
            self.duplicated,
            self.stream_missing,
            self.stream_duplicated,
            self.console_received,
            self.console_duplicated,
            self.console_tick_late_p99_ms,
            self.console_tick_late_max_ms
        )
    }
}

/// Lets this process hold a few thousand sockets.
fn raise_open_files() {
    #[cfg(unix)]
    unsafe {
        let mut l = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

fn address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + (i % ADDRESSES) as u8))
}

struct Outcome {
    acks: Vec<f64>,
    retried: usize,
    conversation: String,
    stream_missing: usize,
    stream_duplicated: usize,
}

/// How customers pace themselves: arrivals spread over `ramp`, and a pause of about `think`
/// (0.5x to 1.5x, seeded per customer) between one acknowledged message and the next.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Pace {
    pub ramp_ms: u64,
    pub think_ms: u64,
}

fn think(i: usize, k: usize, pace: Pace) -> Duration {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (k as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    let unit = (x % 1000) as f64 / 1000.0;
    Duration::from_secs_f64(pace.think_ms as f64 / 1e3 * (0.5 + unit))
}

async fn customer(i: usize, customers: usize, server: SocketAddr, messages: usize, pace: Pace) -> Result<Outcome> {
    tokio::time::sleep(Duration::from_millis(pace.ramp_ms * i as u64 / customers.max(1) as u64)).await;
    let local = address(i);
    let http = reqwest::Client::builder().local_address(local).build()?;
    let base = format!("http://{server}");
    let text = |k: usize| format!("customer {i} message {k}: where is order A{:05}?", i * 7 + k);
    let mut acks = Vec::with_capacity(messages);
    let t = Instant::now();
    let r = http
        .post(format!("{base}/api/v1/conversations"))
        .json(&json!({ "name": format!("Load {i}"), "email": format!("load{i}@example.com"), "message": text(0), "client_id": "m0" }))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 201, "customer {i}: start answered {}", r.status());
    let v: Value = r.json().await?;
    acks.push(t.elapsed().as_secs_f64() * 1e3);
    let (id, token) =
        (v["conversation"].as_str().unwrap_or("").to_owned(), v["token"].as_str().unwrap_or("").to_owned());
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    let stream = socket.connect(server).await?;
    let url = format!("ws://{server}/api/v1/conversations/{id}/stream?token={token}&after=0");
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.context("stream")?;
    let mut retried = 0;
    for k in 1..messages {
        tokio::time::sleep(think(i, k, pace)).await;
        loop {
            let t = Instant::now();
            let r = http
                .post(format!("{base}/api/v1/conversations/{id}/messages"))
                .bearer_auth(&token)
                .json(&json!({ "text": text(k), "client_id": format!("m{k}") }))
                .send()
                .await?;
            if r.status() == 429 {
                retried += 1;
                let wait = r.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok()).unwrap_or(1);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                continue;
            }
            anyhow::ensure!(r.status().is_success(), "customer {i}: post answered {}", r.status());
            acks.push(t.elapsed().as_secs_f64() * 1e3);
            break;
        }
    }
    // The stream must show each of this customer's messages once.
    let mut seen = HashSet::new();
    let mut duplicated = 0;
    let until = Instant::now() + Duration::from_secs(30);
    while seen.len() < messages && Instant::now() < until {
        let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await else { break };
        let tokio_tungstenite::tungstenite::Message::Text(t) = frame else { continue };
        let Ok(v) = serde_json::from_str::<Value>(&t) else { continue };
        if v["type"] == "message" && !seen.insert(v["id"].as_i64().unwrap_or(-1)) {
            duplicated += 1;
        }
    }
    let _ = ws.close(None).await;
    Ok(Outcome {
        acks,
        retried,
        conversation: id,
        stream_missing: messages - seen.len(),
        stream_duplicated: duplicated,
    })
}

/// Runs the load against a fresh store in `data_dir`.
pub fn run(data_dir: &std::path::Path, customers: usize, messages: usize, pace: Pace) -> Result<ChannelBench> {
    raise_open_files();
    let mut opts = HttpOptions::new(data_dir);
    opts.listen = "127.0.0.1:0".parse()?;
    opts.api_key = Some("bench-agent-key-0123456789".into());
    let server = Background::start(opts)?;
    // The console's side: the channel following the store, polled on a 16 ms tick as the
    // console's event loop does.
    let store = crate::store::SqliteStore::open_in(data_dir)?;
    let cursor = store.last_message_id()?;
    let mut web = super::super::web::WebChannel::start(store, cursor, HashSet::new())?;
    let done = Arc::new(AtomicBool::new(false));
    let console_done = done.clone();
    let console = std::thread::spawn(move || {
        let mut late = Vec::new();
        let mut got: HashMap<(String, String), usize> = HashMap::new();
        let tick = Duration::from_millis(16);
        let mut next = Instant::now() + tick;
        let mut quiet_since = None::<Instant>;
        loop {
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            late.push(Instant::now().saturating_duration_since(next).as_secs_f64() * 1e3);
            next += tick;
            let events = web.poll(crate::util::now_ms());
            for ev in &events {
                if let ChannelEvent::Message { conversation, message } = ev {
                    *got.entry((conversation.0.clone(), message.text.clone())).or_default() += 1;
                }
            }
            // Stop once the load is over and the tail has been quiet for a second.
            if console_done.load(Ordering::Relaxed) {
                let q = *quiet_since.get_or_insert_with(Instant::now);
                if !events.is_empty() {
                    quiet_since = Some(Instant::now());
                } else if q.elapsed() > Duration::from_secs(1) {
                    break;
                }
            }
        }
        (late, got)
    });
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let started = Instant::now();
    let addr = server.addr;
    let outcomes = rt.block_on(async move {
        let tasks: Vec<_> =
            (0..customers).map(|i| tokio::spawn(customer(i, customers, addr, messages, pace))).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await?);
        }
        anyhow::Ok(out)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let (mut late, got) = console.join().map_err(|_| anyhow::anyhow!("the console thread panicked"))?;
    drop(server);
    let mut acks = Vec::new();
    let (mut lost, mut duplicated, mut stored, mut retried, mut missing, mut dup_stream) = (0, 0, 0, 0, 0, 0);
    let store = crate::store::SqliteStore::open_in(data_dir)?;
    let mut errors = Vec::new();
    for (i, o) in outcomes.into_iter().enumerate() {
        let o = match o {
            Ok(o) => o,
            Err(e) => {
                errors.push(format!("{e:#}"));
                lost += messages;
                continue;
            }
        };
        acks.extend(o.acks);
        retried += o.retried;
        missing += o.stream_missing;
        dup_stream += o.stream_duplicated;
        let texts: Vec<String> = store
            .web_messages_after(Some(&crate::desk::ConversationId(o.conversation)), 0, 10_000)?
            .into_iter()
            .map(|m| m.text)
            .collect();
        stored += texts.len();
        let expected: Vec<String> =
            (0..messages).map(|k| format!("customer {i} message {k}: where is order A{:05}?", i * 7 + k)).collect();
        lost += expected.iter().filter(|e| !texts.contains(e)).count();
        duplicated += texts.len().saturating_sub(expected.len());
        if texts != expected && texts.len() == expected.len() {
            duplicated += 1; // out of order counts against us too
        }
    }
    if let Some(e) = errors.first() {
        tracing::warn!("{} customers failed; the first: {e}", errors.len());
    }
    let console_received = got.values().sum();
    let console_duplicated = got.values().map(|n| n - 1).sum();
    let (p50, p99) = crate::util::p50_p99(&mut acks);
    let (_, late_p99) = crate::util::p50_p99(&mut late);
    Ok(ChannelBench {
        customers,
        messages_per_customer: messages,
        addresses: ADDRESSES.min(customers),
        pace,
        seconds,
        messages_per_sec: (customers * messages) as f64 / seconds,
        ack_p50_ms: p50,
        ack_p99_ms: p99,
        ack_max_ms: acks.last().copied().unwrap_or(0.0),
        retried_429: retried,
        stored,
        lost,
        duplicated,
        stream_missing: missing,
        stream_duplicated: dup_stream,
        console_received,
        console_duplicated,
        console_tick_late_p99_ms: late_p99,
        console_tick_late_max_ms: late.last().copied().unwrap_or(0.0),
    })
}
