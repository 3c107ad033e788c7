//! The web chat channel over real loopback sockets: every status the API gives, ordering,
//! reconnecting streams, a server killed mid-conversation, and the console's side of the channel.

use deskpilot::channel::http::limits::Rate;
use deskpilot::channel::http::{self, HttpOptions, Limits, Running};
use deskpilot::desk::ports::{Channel, ChannelEvent};
use deskpilot::desk::{ConversationId, Message, Status};
use deskpilot::store::SqliteStore;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Ws;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn server(dir: &Path, limits: Limits) -> Running {
    let mut o = HttpOptions::new(dir);
    o.listen = "127.0.0.1:0".parse().unwrap();
    o.api_key = Some("test-agent-key".into());
    o.limits = limits;
    http::start(o).await.expect("server starts")
}

pub fn base(r: &Running) -> String {
    format!("http://{}", r.addr)
}

/// Starts a conversation: (id, token).
pub async fn start(c: &reqwest::Client, base: &str, message: &str) -> (String, String) {
    let r = c
        .post(format!("{base}/api/v1/conversations"))
        .json(&json!({ "name": "Ann Lee", "email": "ann@example.com", "language": "en", "message": message }))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    (v["conversation"].as_str().unwrap().to_owned(), v["token"].as_str().unwrap().to_owned())
}

async fn post(c: &reqwest::Client, base: &str, id: &str, token: &str, body: Value) -> (u16, Value) {
    let r = c
        .post(format!("{base}/api/v1/conversations/{id}/messages"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn stream(base: &str, id: &str, token: &str, after: i64) -> Socket {
    let url = format!("{}/api/v1/conversations/{id}/stream?token={token}&after={after}", base.replace("http", "ws"));
    tokio_tungstenite::connect_async(url).await.expect("stream connects").0
}

/// The next JSON event, skipping pings (None after `wait` of silence or when the stream ends).
pub async fn next(ws: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Ws::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(Ws::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Message events until `n` have come (or a second of silence).
pub async fn messages(ws: &mut Socket, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    while out.len() < n {
        match next(ws, Duration::from_secs(3)).await {
            Some(v) if v["type"] == "message" => out.push(v),
            Some(_) => {}
            None => break,
        }
    }
    out
}

fn roomy() -> Limits {
    Limits { per_conversation: Rate { burst: 1000.0, per_sec: 1000.0 }, ..Limits::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_gets_its_status_and_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), Limits::default()).await;
    let (b, c) = (base(&s), reqwest::Client::new());
    let health: Value = c.get(format!("{b}/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let (id, token) = start(&c, &b, "Where is my order A1234?").await;

    let (st, v) = post(&c, &b, &id, &token, json!({ "text": "hi", "client_id": "m1" })).await;
    assert_eq!((st, v["duplicate"].clone()), (201, json!(false)));
    let first = v["id"].as_i64().unwrap();
    let (st, v) = post(&c, &b, &id, &token, json!({ "text": "hi", "client_id": "m1" })).await;
    assert_eq!(
        (st, v["id"].as_i64(), v["duplicate"].clone()),
        (200, Some(first), json!(true)),
        "a retry is stored once"
    );

    for (body, field) in [
        (json!({}), "text"),
        (json!({ "text": 5 }), "text"),
        (json!({ "text": "   " }), "text"),
        (json!({ "text": "red \u{1b}[31m" }), "text"),
        (json!({ "text": "x".repeat(4001) }), "text"),
        (json!({ "text": "x", "extra": 1 }), "extra"),
        (json!({ "text": "x", "client_id": "no spaces" }), "client_id"),
    ] {
        let (st, v) = post(&c, &b, &id, &token, body.clone()).await;
        assert_eq!((st, v["field"].as_str()), (400, Some(field)), "{body}: {v}");
    }
    let raw = |body: &'static str| {
        c.post(format!("{b}/api/v1/conversations/{id}/messages")).bearer_auth(&token).body(body).send()
    };
    let r = raw("{\"text\": ").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("malformed JSON"));
    let big = c
        .post(format!("{b}/api/v1/conversations/{id}/messages"))
        .bearer_auth(&token)
        .body(format!("{{\"text\": \"{}\"}}", "a".repeat(20_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);
    let bad_start = c
        .post(format!("{b}/api/v1/conversations"))
        .json(&json!({ "name": "A", "email": "not-an-email", "message": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_start.status(), 400);
    assert_eq!(bad_start.json::<Value>().await.unwrap()["field"], "email");

    // Tokens: none 401, another conversation's 403, unknown conversation 404.
    let (other, other_token) = start(&c, &b, "Second question").await;
    let (st, _) = post(&c, &b, &id, "", json!({ "text": "x" })).await;
    assert_eq!(st, 401);
    let (st, _) = post(&c, &b, &id, &other_token, json!({ "text": "x" })).await;
    assert_eq!(st, 403);
    let (st, _) = post(&c, &b, "W-NOPE", &token, json!({ "text": "x" })).await;
    assert_eq!(st, 404);
    let r = c.get(format!("{b}/api/v1/conversations/{other}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403, "a customer cannot read another conversation");
    // A stream with a wrong token is refused before the upgrade.
    let url = format!("{}/api/v1/conversations/{id}/stream?token=wrong", b.replace("http", "ws"));
    assert!(tokio_tungstenite::connect_async(url).await.is_err());

    // The agent API: key needed, wrong key refused, right key lists both conversations.
    let list = format!("{b}/api/v1/conversations");
    assert_eq!(c.get(&list).send().await.unwrap().status(), 401);
    assert_eq!(c.get(&list).bearer_auth("wrong").send().await.unwrap().status(), 403);
    let v: Value = c.get(&list).bearer_auth("test-agent-key").send().await.unwrap().json().await.unwrap();
    assert_eq!(v["conversations"].as_array().unwrap().len(), 2);

    // Floods: the 11th message in a burst on one conversation gets 429 with Retry-After.
    let mut codes = Vec::new();
    for i in 0..12 {
        codes.push(post(&c, &b, &other, &other_token, json!({ "text": format!("flood {i}") })).await.0);
    }
    assert_eq!(codes.iter().filter(|&&c| c == 201).count(), 10, "{codes:?}");
    assert_eq!(codes.last(), Some(&429));
    let r = c
        .post(format!("{b}/api/v1/conversations/{other}/messages"))
        .bearer_auth(&other_token)
        .json(&json!({ "text": "again" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_flooding_is_limited() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { per_address: Rate { burst: 5.0, per_sec: 0.1 }, ..Limits::default() };
    let s = server(dir.path(), limits).await;
    let (b, c) = (base(&s), reqwest::Client::new());
    let mut codes = Vec::new();
    for i in 0..7 {
        let r = c
            .post(format!("{b}/api/v1/conversations"))
            .json(&json!({ "name": "Bot", "email": format!("b{i}@example.com"), "message": "spam" }))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes, [201, 201, 201, 201, 201, 429, 429]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_gives_every_message_once_in_order_and_resumes_after_a_drop() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), roomy()).await;
    let (b, c) = (base(&s), reqwest::Client::new());
    let (id, token) = start(&c, &b, "message 0").await;
    let mut ws = stream(&b, &id, &token, 0).await;
    for i in 1..=9 {
        assert_eq!(post(&c, &b, &id, &token, json!({ "text": format!("message {i}") })).await.0, 201);
    }
    // The console's reply: stored by the console, streamed by the server.
    let conv = ConversationId(id.clone());
    let mut console = SqliteStore::open_in(dir.path()).unwrap();
    console.add_message(&conv, &Message::agent("Your order ships today.", 1)).unwrap();
    let got = messages(&mut ws, 11).await;
    let texts: Vec<&str> = got.iter().map(|m| m["text"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = (0..=9).map(|i| format!("message {i}")).collect();
    expected.push("Your order ships today.".into());
    assert_eq!(texts, expected);
    let ids: Vec<i64> = got.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(got[10]["author"], "agent");

    // Typing (the console autosaves as the agent types) and status changes arrive too.
    console.put_autosave(&conv, "Let me check", deskpilot::util::now_ms()).unwrap();
    let typing = next(&mut ws, Duration::from_secs(3)).await.unwrap();
    assert_eq!(typing, json!({ "type": "typing", "typing": true }));
    console.set_status(&conv, Status::Resolved, deskpilot::util::now_ms()).unwrap();
    let status = next(&mut ws, Duration::from_secs(3)).await.unwrap();
    assert_eq!(status, json!({ "type": "status", "status": "resolved" }));

    // Drop the stream; more arrives while it is away; resume after the last id seen.
    let last = ids[6];
    drop(ws);
    for i in 10..=14 {
        post(&c, &b, &id, &token, json!({ "text": format!("message {i}") })).await;
    }
    let mut ws = stream(&b, &id, &token, last).await;
    let got = messages(&mut ws, 9).await;
    let texts: Vec<&str> = got.iter().map(|m| m["text"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = (7..=9).chain(10..=14).map(|i| format!("message {i}")).collect();
    expected.insert(3, "Your order ships today.".into());
    assert_eq!(texts, expected, "exactly what came after id {last}");
    while let Some(v) = next(&mut ws, Duration::from_millis(400)).await {
        assert_ne!(v["type"], "message", "no duplicates: {v}");
    }
    ws.close(None).await.ok();
    s.stop().await;
}

/// The real binary, `deskpilot serve`, killed without warning mid-conversation: everything it
/// acknowledged is there after a restart, the token still works, and a retried post is not doubled.
#[test]
fn a_killed_server_loses_nothing_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let spawn = || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_deskpilot"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("DESKPILOT_DATA_DIR", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("config"))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        // Keep reading what it prints, as a terminal would.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let addr = line.trim().trim_start_matches("Web chat on ").trim_end_matches('/').to_owned();
        assert!(addr.starts_with("http://127.0.0.1:"), "{line}");
        (child, addr)
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (mut child, b) = spawn();
    let c = reqwest::Client::new();
    let (id, token, acked) = rt.block_on(async {
        let (id, token) = start(&c, &b, "message 0").await;
        let mut acked = Vec::new();
        for i in 1..=9 {
            let (st, v) =
                post(&c, &b, &id, &token, json!({ "text": format!("message {i}"), "client_id": format!("m{i}") }))
                    .await;
            assert_eq!(st, 201);
            acked.push(v["id"].as_i64().unwrap());
        }
        (id, token, acked)
    });
    child.kill().unwrap(); // SIGKILL: no shutdown, no checkpoint
    child.wait().unwrap();
    let (mut child, b) = spawn();
    rt.block_on(async {
        // The page retries its last post (its answer was lost in the crash): stored once.
        let (st, v) = post(&c, &b, &id, &token, json!({ "text": "message 9", "client_id": "m9" })).await;
        assert_eq!((st, v["id"].as_i64()), (200, acked.last().copied()));
        let (st, _) = post(&c, &b, &id, &token, json!({ "text": "message 10", "client_id": "m10" })).await;
        assert_eq!(st, 201);
        let mut ws = stream(&b, &id, &token, 0).await;
        let got = messages(&mut ws, 11).await;
        let texts: Vec<String> = got.iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
        assert_eq!(texts, (0..=10).map(|i| format!("message {i}")).collect::<Vec<_>>());
    });
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The console's end: the web channel hands over each new conversation and customer message
/// once, says they are stored already, and a mix of channels routes each reply to its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_sees_web_conversations_once_and_routes_replies() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path(), roomy()).await;
    let (b, c) = (base(&s), reqwest::Client::new());
    let (old, old_token) = start(&c, &b, "asked before the console opened").await;
    let store = SqliteStore::open_in(dir.path()).unwrap();
    let (open, cursor) = store.web_snapshot().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].2.len(), 1);
    let known = open.iter().map(|o| o.0.id.clone()).collect();
    let web = deskpilot::channel::web::WebChannel::start(store.another().unwrap(), cursor, known).unwrap();
    let demo = deskpilot::channel::DemoChannel::new(deskpilot::channel::Scenarios::bundled().unwrap(), 0, 1.0, 1)
        .with_prefix("S1-");
    let mut channels = deskpilot::channel::web::Channels(vec![Box::new(web), Box::new(demo)]);

    let (new, _) = start(&c, &b, "我的订单 A1234 在哪里？").await;
    post(&c, &b, &old, &old_token, json!({ "text": "any news?" })).await;
    let mut events = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        events.extend(channels.poll(0).into_iter().filter(|e| !matches!(e, ChannelEvent::Typing { .. })));
        if events.len() >= 3 {
            break;
        }
    }
    let summary: Vec<String> = events
        .iter()
        .map(|e| match e {
            ChannelEvent::NewConversation { conversation, .. } => format!("new {}", conversation.id),
            ChannelEvent::Message { conversation, message } => format!("{} {}", conversation, message.text),
            ChannelEvent::Typing { .. } => unreachable!(),
        })
        .collect();
    assert_eq!(
        summary,
        [format!("new {new}"), format!("{new} 我的订单 A1234 在哪里？"), format!("{old} any news?")],
        "the first message is not repeated; the known conversation is not opened again"
    );
    let (web_id, demo_id) = (ConversationId(new.clone()), ConversationId("S1-T-1042".into()));
    assert!(channels.stores_customer_side(&web_id));
    assert!(!channels.stores_customer_side(&demo_id));
    assert!(channels.deliver(&web_id, &Message::agent("hi", 1)).is_ok());
    assert!(channels.deliver(&ConversationId("elsewhere".into()), &Message::agent("hi", 1)).is_err());
    s.stop().await;
}

#[test]
fn bench_channel_reports_no_loss_under_concurrent_customers() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::util::deskpilot(
        dir.path(),
        &["bench", "channel", "--customers", "40", "--messages", "4", "--ramp-ms", "0", "--think-ms", "0", "--json"],
    );
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    let v: Value = serde_json::from_str(&crate::util::stdout(&out)).expect("json");
    assert_eq!(v["stored"], 160);
    for k in ["lost", "duplicated", "stream_missing", "stream_duplicated", "console_duplicated"] {
        assert_eq!(v[k], 0, "{k}: {v}");
    }
    assert_eq!(v["console_received"], 160);
    assert!(v["ack_p99_ms"].as_f64().unwrap() > 0.0);
}

/// `serve` refuses a public address without `--public`, and `--public` without a real agent key,
/// saying why; a port in use is named.
#[test]
fn serve_refuses_unsafe_or_unusable_addresses_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], key: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_deskpilot"));
        c.args(args).env("DESKPILOT_DATA_DIR", dir.path()).env("XDG_CONFIG_HOME", dir.path().join("config"));
        match key {
            Some(k) => c.env("DESKPILOT_API_KEY", k),
            None => c.env_remove("DESKPILOT_API_KEY"),
        };
        c.output().unwrap()
    };
    let o = run(&["serve", "--listen", "0.0.0.0:0"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(crate::util::stderr(&o).contains("--public"), "{}", crate::util::stderr(&o));
    let o = run(&["serve", "--listen", "0.0.0.0:0", "--public"], Some("short"));
    assert_eq!(o.status.code(), Some(1));
    assert!(crate::util::stderr(&o).contains("at least 24"), "{}", crate::util::stderr(&o));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = run(&["serve", "--listen", &addr], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(crate::util::stderr(&o).contains("cannot listen there"), "{}", crate::util::stderr(&o));
}
