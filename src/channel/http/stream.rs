//! A conversation's live stream: `GET /api/v1/conversations/{id}/stream?token=T&after=N` upgrades
//! to a WebSocket that first sends every message with an id above `after` (from the store), then
//! the conversation's events as they happen. Each message is sent once per stream, in id order.

use super::Shared;
use super::api::{After, ApiError, require_customer};
use super::hub::Event;
use crate::desk::ConversationId;
use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

#[derive(Deserialize)]
pub(super) struct StreamQuery {
    #[serde(default)]
    token: String,
}

/// How often an idle stream is pinged (proxies drop silent connections).
const PING_EVERY: Duration = Duration::from_secs(20);

pub(super) async fn upgrade(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(raw): Path<String>,
    Query(q): Query<StreamQuery>,
    Query(after): Query<After>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    s.per_address.take(&peer.ip()).map_err(|_| ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too many requests"))?;
    let id = ConversationId(raw);
    require_customer(&s, &id, Some(&q.token)).await?;
    let ws = ws.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("not a WebSocket request: {e}")))?;
    Ok(ws.max_message_size(4096).on_upgrade(move |socket| run(socket, s, id, after.after)).into_response())
}

async fn send(socket: &mut WebSocket, event: &Event) -> bool {
    match serde_json::to_string(event) {
        Ok(text) => socket.send(Ws::Text(text.into())).await.is_ok(),
        Err(_) => true,
    }
}

/// Sends what the store holds above `last`; returns the new `last`, or None when the page left.
async fn catch_up(socket: &mut WebSocket, s: &Arc<Shared>, id: &ConversationId, mut last: i64) -> Option<i64> {
    loop {
        let (sh, key) = (s.clone(), id.clone());
        let batch = tokio::task::spawn_blocking(move || {
            let store = sh.reader.lock().unwrap_or_else(|p| p.into_inner());
            store.web_messages_after(Some(&key), last, 500)
        })
        .await
        .ok()?
        .ok()?;
        let n = batch.len();
        for m in batch {
            last = m.id;
            if !send(socket, &Event::Message(m)).await {
                return None;
            }
        }
        if n < 500 {
            return Some(last);
        }
    }
}

async fn run(mut socket: WebSocket, s: Arc<Shared>, id: ConversationId, after: i64) {
    // Subscribe before reading the backlog, so nothing falls between the two.
    let mut rx = s.hub.subscribe(&id);
    let mut stop = s.shutdown.clone();
    let Some(mut last) = catch_up(&mut socket, &s, &id, after).await else { return };
    let (sh, key) = (s.clone(), id.clone());
    let status = tokio::task::spawn_blocking(move || {
        let store = sh.reader.lock().unwrap_or_else(|p| p.into_inner());
        store.conversation(&key).ok().flatten().map(|c| c.status.as_str())
    })
    .await
    .ok()
    .flatten();
    if let Some(status) = status
        && !send(&mut socket, &Event::Status { status }).await
    {
        return;
    }
    if s.hub.is_typing(&id) && !send(&mut socket, &Event::Typing { typing: true }).await {
        return;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if let Event::Message(m) = &*ev {
                        if m.id <= last {
                            continue;
                        }
                        last = m.id;
                    }
                    if !send(&mut socket, &ev).await {
                        return;
                    }
                }
                // Fell behind the live events: read the rest from the store.
                Err(RecvError::Lagged(_)) => match catch_up(&mut socket, &s, &id, last).await {
                    Some(l) => last = l,
                    None => return,
                },
                Err(RecvError::Closed) => break,
            },
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Ws::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Ws::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            _ = stop.changed() => break,
        }
    }
    // Server stopping: "service restart", so the page reconnects.
    let frame = axum::extract::ws::CloseFrame { code: 1012, reason: "server restarting".into() };
    let _ = socket.send(Ws::Close(Some(frame))).await;
}
