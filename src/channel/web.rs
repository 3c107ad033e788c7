//! The console's side of the web chat channel. The server (in this process or a `deskpilot
//! serve` beside it) commits conversations and customer messages to the store; this channel
//! follows the store's tail on a thread of its own and hands the console what is new. An agent's
//! reply needs no delivery step: the console stores it, and the server streams it to the page.

use crate::desk::ports::{Channel, ChannelEvent, PortError};
use crate::desk::{Author, ConversationId, Customer, CustomerId, Message, Millis, Status};
use crate::store::SqliteStore;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// How often the store's tail is read.
const EVERY: Duration = Duration::from_millis(100);
/// A typing signal this recent shows the customer as typing.
const TYPING_FOR_MS: Millis = 4_000;

/// Is this a web conversation's id?
pub fn is_web(id: &ConversationId) -> bool {
    id.0.starts_with("W-")
}

pub struct WebChannel {
    rx: mpsc::Receiver<ChannelEvent>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WebChannel {
    /// Follows the store from message id `after` on, on a connection of its own; `known` are the
    /// conversations the console already shows (from [`SqliteStore::web_snapshot`]).
    pub fn start(store: SqliteStore, after: i64, known: HashSet<ConversationId>) -> anyhow::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new().name("web-tail".into()).spawn(move || {
            let mut tail = Tail { store, cursor: after, known, typing: HashSet::new() };
            while !stopped.load(Ordering::Relaxed) {
                match tail.read() {
                    Ok(events) => {
                        for ev in events {
                            if tx.send(ev).is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => tracing::warn!("web channel: reading the store: {e}"),
                }
                std::thread::sleep(EVERY);
            }
        })?;
        Ok(Self { rx, stop, thread: Some(thread) })
    }
}

impl Drop for WebChannel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Tail {
    store: SqliteStore,
    cursor: i64,
    known: HashSet<ConversationId>,
    typing: HashSet<ConversationId>,
}

impl Tail {
    fn read(&mut self) -> crate::store::Result<Vec<ChannelEvent>> {
        let mut out = Vec::new();
        for m in self.store.web_messages_after(None, self.cursor, 1000)? {
            self.cursor = m.id;
            if m.author != Author::Customer {
                continue; // the console's own replies (or an integration's): already shown or not ours
            }
            if !self.known.contains(&m.conversation) {
                let Some(mut conversation) = self.store.conversation(&m.conversation)? else { continue };
                let customer = self.store.customer(&conversation.customer.0)?.unwrap_or_else(|| Customer {
                    id: CustomerId(conversation.customer.0.clone()),
                    name: "Web customer".into(),
                    email: String::new(),
                    language: "en".into(),
                    tier: Default::default(),
                    notes: String::new(),
                });
                if conversation.status == Status::Resolved {
                    conversation.status = Status::Open;
                }
                let history = self.store.web_history(&m.conversation, m.id)?;
                self.known.insert(m.conversation.clone());
                out.push(ChannelEvent::NewConversation {
                    conversation: Box::new(conversation),
                    customer: Box::new(customer),
                    history,
                });
            }
            self.typing.remove(&m.conversation);
            out.push(ChannelEvent::Message {
                conversation: m.conversation,
                message: Message { author: Author::Customer, internal: false, text: m.text, at: m.at },
            });
        }
        let now = crate::util::now_ms();
        let typing: HashSet<ConversationId> = self
            .store
            .web_customer_typing(now - TYPING_FOR_MS)?
            .into_iter()
            .filter(|c| self.known.contains(c))
            .collect();
        for id in typing.symmetric_difference(&self.typing) {
            out.push(ChannelEvent::Typing { conversation: id.clone(), typing: typing.contains(id) });
        }
        self.typing = typing;
        Ok(out)
    }
}

impl Channel for WebChannel {
    fn poll(&mut self, _now: Millis) -> Vec<ChannelEvent> {
        self.rx.try_iter().collect()
    }

    fn deliver(&mut self, _conversation: &ConversationId, _message: &Message) -> Result<(), PortError> {
        Ok(()) // stored by the console; the server streams it from the store
    }

    fn owns(&self, conversation: &ConversationId) -> bool {
        is_web(conversation)
    }

    fn stores_customer_side(&self, _conversation: &ConversationId) -> bool {
        true
    }
}

/// Several channels as one: events from all, each reply to the channel that owns it.
pub struct Channels(pub Vec<Box<dyn Channel>>);

impl Channels {
    fn owner(&self, conversation: &ConversationId) -> Option<&dyn Channel> {
        self.0.iter().find(|c| c.owns(conversation)).map(|c| &**c)
    }
}

impl Channel for Channels {
    fn poll(&mut self, now: Millis) -> Vec<ChannelEvent> {
        self.0.iter_mut().flat_map(|c| c.poll(now)).collect()
    }

    fn deliver(&mut self, conversation: &ConversationId, message: &Message) -> Result<(), PortError> {
        match self.0.iter_mut().find(|c| c.owns(conversation)) {
            Some(c) => c.deliver(conversation, message),
            None => Err(format!("no channel serves conversation {conversation}").into()),
        }
    }

    fn owns(&self, conversation: &ConversationId) -> bool {
        self.owner(conversation).is_some()
    }

    fn stores_customer_side(&self, conversation: &ConversationId) -> bool {
        self.owner(conversation).is_some_and(|c| c.stores_customer_side(conversation))
    }
}
