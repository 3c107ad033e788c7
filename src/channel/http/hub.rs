//! The server's two ends on the store: one writer thread that commits customer messages in
//! batches (a message is acknowledged only once its batch is committed), and a tail that reads
//! what is new in the store (agent replies from the console, messages, status, typing) and fans it
//! out to the conversations' streams. The store is the only source of truth: a stream that falls
//! behind, or a page that reconnects, reads the rest from it by message id.

use crate::desk::Conversation;
use crate::desk::{Author, ConversationId, Customer, Message, Millis};
use crate::store::{Appended, NewMessage, SqliteStore, StoreError, WebMessage, WebStart};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::{broadcast, oneshot};

/// What a conversation's stream carries to the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Event {
    Message(WebMessage),
    Typing { typing: bool },
    Status { status: &'static str },
}

/// Most customer messages committed in one transaction.
const MAX_BATCH: usize = 1024;
/// How often the tail reads the store.
pub const TAIL_EVERY: Duration = Duration::from_millis(50);
/// An autosave this recent means the agent is typing.
const TYPING_FOR_MS: Millis = 5_000;

type Reply<T> = oneshot::Sender<Result<T, String>>;

enum Job {
    Start { start: Box<WebStart>, reply: Reply<Appended> },
    Append { message: NewMessage, reply: Reply<Appended> },
    Agent { conversation: ConversationId, message: Message, reply: Reply<()> },
    Typing { conversation: ConversationId, at: Millis },
}

/// Sends writes to the writer thread.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on its own store connection. It ends when every `Writer` is gone.
    pub fn start(mut store: SqliteStore) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new().name("web-writer".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                run_jobs(&mut store, jobs);
            }
            if let Err(e) = store.checkpoint() {
                tracing::debug!("web writer: checkpoint on close: {e}");
            }
        })?;
        Ok(Self { tx })
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Job) -> Result<T, String> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).map_err(|_| "the store writer has stopped".to_owned())?;
        rx.await.map_err(|_| "the store writer has stopped".to_owned())?
    }

    pub async fn start_conversation(
        &self,
        customer: Customer,
        conversation: Conversation,
        token_sha256: String,
        first: NewMessage,
    ) -> Result<Appended, String> {
        self.ask(|reply| Job::Start {
            start: Box::new(WebStart { customer, conversation, token_sha256, first }),
            reply,
        })
        .await
    }

    pub async fn append(&self, message: NewMessage) -> Result<Appended, String> {
        self.ask(|reply| Job::Append { message, reply }).await
    }

    pub async fn agent_reply(&self, conversation: ConversationId, message: Message) -> Result<(), String> {
        self.ask(|reply| Job::Agent { conversation, message, reply }).await
    }

    pub fn typing(&self, conversation: ConversationId, at: Millis) {
        let _ = self.tx.send(Job::Typing { conversation, at });
    }
}

fn run_jobs(store: &mut SqliteStore, jobs: Vec<Job>) {
    let (mut starts, mut appends) = (Vec::new(), Vec::new());
    for job in jobs {
        match job {
            Job::Append { message, reply } => appends.push((message, reply)),
            Job::Start { start, reply } => starts.push((*start, reply)),
            Job::Agent { conversation, message, reply } => {
                let _ = reply.send(store.add_message(&conversation, &message).map_err(|e| e.to_string()));
            }
            Job::Typing { conversation, at } => {
                if let Err(e) = store.set_customer_typing(&conversation, at) {
                    tracing::debug!("web writer: typing: {e}");
                }
            }
        }
    }
    commit_batch(starts, |b| store.start_web_conversations(b));
    commit_batch(appends, |b| store.append_customer_messages(b));
}

/// Commits a batch in one transaction and answers each job; when the batch fails, each job is
/// tried alone, so one bad row cannot fail the others.
fn commit_batch<T: Clone>(
    jobs: Vec<(T, Reply<Appended>)>,
    mut write: impl FnMut(&[T]) -> Result<Vec<Appended>, StoreError>,
) {
    if jobs.is_empty() {
        return;
    }
    let batch: Vec<T> = jobs.iter().map(|(t, _)| t.clone()).collect();
    match write(&batch) {
        Ok(done) => {
            for ((_, reply), a) in jobs.into_iter().zip(done) {
                let _ = reply.send(Ok(a));
            }
        }
        Err(e) => {
            tracing::warn!("web writer: a batch of {} failed ({e}); writing them one by one", batch.len());
            for (t, reply) in jobs {
                let r = write(std::slice::from_ref(&t)).map(|mut v| v.remove(0));
                let _ = reply.send(r.map_err(|e| e.to_string()));
            }
        }
    }
}

/// Fans events out to the streams of each conversation.
#[derive(Default)]
pub struct Hub {
    streams: Mutex<HashMap<ConversationId, broadcast::Sender<Arc<Event>>>>,
    /// Conversations whose agent is typing, as of the tail's last read.
    typing: Mutex<HashSet<ConversationId>>,
}

/// What the tail remembers between reads.
pub struct Tail {
    cursor: i64,
    statuses: HashMap<ConversationId, &'static str>,
    since: Millis,
}

impl Hub {
    /// Receives the conversation's events from now on.
    pub fn subscribe(&self, conversation: &ConversationId) -> broadcast::Receiver<Arc<Event>> {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.entry(conversation.clone()).or_insert_with(|| broadcast::channel(256).0).subscribe()
    }

    fn send(&self, conversation: &ConversationId, event: Event) {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = streams.get(conversation) {
            let _ = tx.send(Arc::new(event));
        }
    }

    fn prune(&self) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|_, tx| tx.receiver_count() > 0);
    }

    /// Starts a tail at the store's newest message.
    pub fn tail(store: &SqliteStore) -> Result<Tail, StoreError> {
        let now = crate::util::now_ms();
        let statuses = store.web_changes_since(0)?.into_iter().map(|(id, s, _)| (id, s.as_str())).collect();
        Ok(Tail { cursor: store.last_message_id()?, statuses, since: now })
    }

    /// Reads what is new in the store and sends it to the streams. Returns how many messages.
    pub fn poll(&self, store: &SqliteStore, tail: &mut Tail) -> Result<usize, StoreError> {
        let now = crate::util::now_ms();
        let mut count = 0;
        loop {
            let batch = store.web_messages_after(None, tail.cursor, 2000)?;
            count += batch.len();
            let more = batch.len() == 2000;
            for m in batch {
                tail.cursor = m.id;
                let conversation = m.conversation.clone();
                self.send(&conversation, Event::Message(m));
            }
            if !more {
                break;
            }
        }
        // Statuses: rows changed since the last read (a second of overlap for clock steps).
        for (id, status, _) in store.web_changes_since(tail.since - 1000)? {
            let s = status.as_str();
            // A new conversation is open: only a change is news (a stream sends the current
            // status when it connects).
            let before = tail.statuses.insert(id.clone(), s);
            if before.is_some_and(|b| b != s) || (before.is_none() && s != "open") {
                self.send(&id, Event::Status { status: s });
            }
        }
        tail.since = now;
        let typing: HashSet<ConversationId> = store.web_agent_typing(now - TYPING_FOR_MS)?.into_iter().collect();
        let before = std::mem::replace(&mut *self.typing.lock().unwrap_or_else(|p| p.into_inner()), typing.clone());
        for id in typing.symmetric_difference(&before) {
            self.send(id, Event::Typing { typing: typing.contains(id) });
        }
        self.prune();
        Ok(count)
    }

    /// Whether the agent is typing in this conversation (as of the tail's last read).
    pub fn is_typing(&self, conversation: &ConversationId) -> bool {
        self.typing.lock().unwrap_or_else(|p| p.into_inner()).contains(conversation)
    }
}

/// A customer message as the writer takes it.
pub fn customer_message(conversation: &ConversationId, text: String, client_id: Option<String>) -> NewMessage {
    NewMessage { conversation: conversation.clone(), text, at: crate::util::now_ms(), client_id }
}

/// An agent reply posted through the API.
pub fn agent_message(text: String) -> Message {
    Message { author: Author::Agent, internal: false, text, at: crate::util::now_ms() }
}
