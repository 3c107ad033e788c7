//! The routes and their handlers.

use super::validate::{self, FieldError};
use super::{Shared, hub, random_token, sha256_hex};
use crate::desk::{Conversation, ConversationId, Customer, CustomerId, Priority, Status, Tier};
use crate::store::WebMessage;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

const INDEX_HTML: &str = include_str!("../../../assets/web/index.html");
const CHAT_JS: &str = include_str!("../../../assets/web/chat.js");
const CHAT_CSS: &str = include_str!("../../../assets/web/chat.css");

/// The page may load only its own script and style, and talk only to this server.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(super) fn router(shared: Arc<Shared>, max_body: usize) -> Router {
    Router::new()
        .route("/", get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }))
        .route("/chat.js", get(|| async { page(CHAT_JS, "text/javascript; charset=utf-8") }))
        .route("/chat.css", get(|| async { page(CHAT_CSS, "text/css; charset=utf-8") }))
        .route("/healthz", get(healthz))
        .route("/api/v1/conversations", post(start).get(list))
        .route("/api/v1/conversations/{id}", get(fetch))
        .route("/api/v1/conversations/{id}/messages", post(post_message).get(messages))
        .route("/api/v1/conversations/{id}/replies", post(post_reply))
        .route("/api/v1/conversations/{id}/typing", post(typing))
        .route("/api/v1/conversations/{id}/stream", get(super::stream::upgrade))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such route") })
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(shared)
}

fn page(body: &'static str, kind: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// An error answer: `{"error": "...", "field": "..."}` with its status.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), field: None, retry_after: None }
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!("web channel: {e}");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, format!("the store is unavailable: {e}"))
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: e.message, field: Some(e.field), retry_after: None }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body: too large".to_owned()
        } else {
            format!("body: {}", e.body_text())
        };
        Self { status, message, field: Some("body".into()), retry_after: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        let mut r = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

type ApiResult = Result<Response, ApiError>;

fn flood(wait: std::time::Duration, what: &str) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        message: format!("too many requests {what}; retry in {secs} s"),
        field: None,
        retry_after: Some(secs),
    }
}

fn limit_address(s: &Shared, peer: SocketAddr) -> Result<(), ApiError> {
    s.per_address.take(&peer.ip()).map_err(|w| flood(w, "from this address"))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(str::trim)
}

/// Constant-time comparison of two hex digests.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_agent(s: &Shared, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|k| same(&sha256_hex(k), &s.api_key_sha256))
}

fn require_agent(s: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    match bearer(headers) {
        None => Err(ApiError::new(StatusCode::UNAUTHORIZED, "an agent API key is needed (Authorization: Bearer KEY)")),
        Some(_) if is_agent(s, headers) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "wrong agent API key")),
    }
}

/// Runs a store read off the async threads.
async fn read<T: Send + 'static>(
    s: &Arc<Shared>,
    f: impl FnOnce(&crate::store::SqliteStore) -> crate::store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let s = s.clone();
    tokio::task::spawn_blocking(move || {
        let store = s.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&store)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Checks a customer token for one conversation: 401 without one, 404 for an unknown
/// conversation, 403 for a token of another conversation.
pub(super) async fn require_customer(
    s: &Arc<Shared>,
    id: &ConversationId,
    token: Option<&str>,
) -> Result<(), ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "a customer token is needed (Authorization: Bearer TOKEN)",
        ));
    };
    let cached = s.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&id.0).cloned();
    let expected = match cached {
        Some(h) => h,
        None => {
            let key = id.clone();
            let Some(h) = read(s, move |st| st.web_token(&key)).await? else {
                return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no web conversation {id}")));
            };
            s.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(id.0.clone(), h.clone());
            h
        }
    };
    if same(&sha256_hex(token), &expected) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "this token does not belong to this conversation"))
    }
}

fn conversation_id(raw: &str) -> Result<ConversationId, ApiError> {
    let ok = raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(ConversationId(raw.to_owned()))
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "no such conversation"))
    }
}

async fn healthz(State(s): State<Arc<Shared>>) -> ApiResult {
    let version = read(&s, |st| st.schema_version()).await?;
    Ok(Json(json!({ "status": "ok", "schema_version": version })).into_response())
}

/// POST /api/v1/conversations {name, email, language?, message, client_id?}
async fn start(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    limit_address(&s, peer)?;
    let map = validate::object(&body?)?;
    validate::only(&map, &["name", "email", "language", "message", "client_id"])?;
    let (name, email, language) = (validate::name(&map)?, validate::email(&map)?, validate::language(&map)?);
    let text = validate::text(&map, "message")?;
    let client_id = validate::client_id(&map)?;
    let token = random_token().map_err(ApiError::internal)?;
    let id = ConversationId(format!("W-{}", &random_token().map_err(ApiError::internal)?[..10].to_uppercase()));
    let now = crate::util::now_ms();
    let customer = Customer {
        id: CustomerId(format!("web-{}", &sha256_hex(&email.to_lowercase())[..12])),
        name,
        email,
        language,
        tier: Tier::Standard,
        notes: String::new(),
    };
    let conversation = Conversation {
        id: id.clone(),
        customer: customer.id.clone(),
        channel: crate::store::WEB.into(),
        status: Status::Open,
        priority: Priority::Normal,
        tags: vec!["web".into()],
        assignee: None,
        created: now,
        updated: now,
    };
    let hash = sha256_hex(&token);
    let first = hub::customer_message(&id, text, client_id);
    let at = first.at;
    let appended =
        s.writer.start_conversation(customer, conversation, hash.clone(), first).await.map_err(ApiError::internal)?;
    s.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(id.0.clone(), hash);
    let body = json!({
        "conversation": id.0,
        "token": token,
        "message": { "id": appended.id, "at": at },
        "stream": format!("/api/v1/conversations/{}/stream", id.0),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// POST /api/v1/conversations/{id}/messages {text, client_id?} (customer token)
async fn post_message(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    limit_address(&s, peer)?;
    let id = conversation_id(&raw)?;
    require_customer(&s, &id, bearer(&headers)).await?;
    let map = validate::object(&body?)?;
    validate::only(&map, &["text", "client_id"])?;
    let text = validate::text(&map, "text")?;
    let client_id = validate::client_id(&map)?;
    s.per_conversation.take(&id.0).map_err(|w| flood(w, "in this conversation"))?;
    let m = hub::customer_message(&id, text, client_id);
    let at = m.at;
    let a = s.writer.append(m).await.map_err(ApiError::internal)?;
    let status = if a.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(json!({ "id": a.id, "at": at, "duplicate": a.duplicate }))).into_response())
}

/// POST /api/v1/conversations/{id}/typing (customer token): the customer is typing.
async fn typing(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    limit_address(&s, peer)?;
    let id = conversation_id(&raw)?;
    require_customer(&s, &id, bearer(&headers)).await?;
    s.writer.typing(id, crate::util::now_ms());
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// POST /api/v1/conversations/{id}/replies {text} (agent API key): an integration's reply.
async fn post_reply(
    State(s): State<Arc<Shared>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    require_agent(&s, &headers)?;
    let id = conversation_id(&raw)?;
    let map = validate::object(&body?)?;
    validate::only(&map, &["text"])?;
    let text = validate::text(&map, "text")?;
    let key = id.clone();
    if read(&s, move |st| st.web_token(&key)).await?.is_none() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no web conversation {id}")));
    }
    let m = hub::agent_message(text);
    let at = m.at;
    s.writer.agent_reply(id, m).await.map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(json!({ "at": at }))).into_response())
}

#[derive(Deserialize)]
pub(super) struct After {
    #[serde(default)]
    pub after: i64,
}

/// GET /api/v1/conversations/{id}/messages?after=N (customer token or agent key)
async fn messages(
    State(s): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(raw): Path<String>,
    Query(q): Query<After>,
    headers: HeaderMap,
) -> ApiResult {
    limit_address(&s, peer)?;
    let id = conversation_id(&raw)?;
    if !is_agent(&s, &headers) {
        require_customer(&s, &id, bearer(&headers)).await?;
    }
    let list: Vec<WebMessage> = read(&s, move |st| st.web_messages_after(Some(&id), q.after, 1000)).await?;
    Ok(Json(json!({ "messages": list })).into_response())
}

fn conversation_json(c: &Conversation, customer: Option<&Customer>) -> serde_json::Value {
    json!({
        "id": c.id.0,
        "status": c.status.as_str(),
        "priority": c.priority.as_str(),
        "created": c.created,
        "updated": c.updated,
        "customer": customer.map(|c| json!({ "name": c.name, "email": c.email, "language": c.language })),
    })
}

/// GET /api/v1/conversations (agent key): web conversations, most recently updated first.
async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap) -> ApiResult {
    require_agent(&s, &headers)?;
    let rows = read(&s, |st| {
        let mut out = Vec::new();
        for c in st.conversations()?.into_iter().filter(|c| c.channel == crate::store::WEB) {
            let customer = st.customer(&c.customer.0)?;
            out.push(conversation_json(&c, customer.as_ref()));
        }
        Ok(out)
    })
    .await?;
    Ok(Json(json!({ "conversations": rows })).into_response())
}

/// GET /api/v1/conversations/{id} (agent key, or the conversation's customer token)
async fn fetch(State(s): State<Arc<Shared>>, Path(raw): Path<String>, headers: HeaderMap) -> ApiResult {
    let id = conversation_id(&raw)?;
    if !is_agent(&s, &headers) {
        require_customer(&s, &id, bearer(&headers)).await?;
    }
    let key = id.clone();
    let found = read(&s, move |st| {
        let Some(c) = st.conversation(&key)?.filter(|c| c.channel == crate::store::WEB) else { return Ok(None) };
        let customer = st.customer(&c.customer.0)?;
        let messages = st.web_messages_after(Some(&key), 0, 10_000)?;
        Ok(Some((c, customer, messages)))
    })
    .await?;
    let Some((c, customer, messages)) = found else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no web conversation {id}")));
    };
    let mut body = conversation_json(&c, customer.as_ref());
    body["messages"] = json!(messages);
    Ok(Json(body).into_response())
}
