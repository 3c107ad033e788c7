//! Ports: what the domain needs from the outside world. Adapters (tantivy, burn, SQLite, the demo
//! simulator, HTTP) implement these traits; unit tests of the layers above use fakes.

use super::types::{
    Author, Conversation, ConversationId, Customer, Draft, DraftTimings, Message, Millis, RequestId, Retrieval, Source,
    SuggestionEvent,
};

/// Errors crossing a port; adapters keep their own typed errors and box them here.
pub type PortError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The conversation as retrieval sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetrievalQuery {
    /// Turns oldest first; the last customer turn weighs most.
    pub turns: Vec<(Author, String)>,
    /// Conversation tags, a weak extra signal.
    pub tags: Vec<String>,
    /// How many passages to return.
    pub k: usize,
    /// Restrict to one language (`en`, `zh`), or search all.
    pub language: Option<String>,
}

impl RetrievalQuery {
    /// A single customer message, as typed on the command line.
    pub fn from_text(text: &str, k: usize) -> Self {
        Self { turns: vec![(Author::Customer, text.to_owned())], tags: Vec::new(), k, language: None }
    }
}

/// Finds knowledge passages for a conversation. Must be cheap to call from a worker thread.
pub trait Retriever: Send + Sync {
    fn retrieve(&self, query: &RetrievalQuery) -> Result<Retrieval, PortError>;
}

/// Everything a drafter may look at.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftRequest {
    pub request: RequestId,
    pub conversation: ConversationId,
    pub customer: Option<Customer>,
    pub messages: Vec<Message>,
    pub retrieval: Retrieval,
    /// Key details the customer gave (order numbers, dates...), oldest first.
    pub details: Vec<super::types::Detail>,
}

/// Returned by a streaming sink: keep generating, or stop (cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// A finished (or cancelled) generation.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftResult {
    pub text: String,
    pub sources: Vec<Source>,
    pub model_version: String,
    pub timings: DraftTimings,
    /// True when the drafter declined to answer from the knowledge it had.
    pub abstained: bool,
    pub cancelled: bool,
}

/// Writes a reply, streaming text pieces into `sink` as they are produced.
pub trait Drafter: Send {
    fn draft(&mut self, request: &DraftRequest, sink: &mut dyn FnMut(&str) -> Flow) -> Result<DraftResult, PortError>;
}

/// Something that happened on a customer channel.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelEvent {
    /// A conversation the console has not seen, with what was said in it before (a web
    /// conversation reopened by its customer; empty for a new one).
    NewConversation {
        conversation: Box<Conversation>,
        customer: Box<Customer>,
        history: Vec<Message>,
    },
    Typing {
        conversation: ConversationId,
        typing: bool,
    },
    Message {
        conversation: ConversationId,
        message: Message,
    },
}

/// A source of customer conversations (demo simulator, web chat).
pub trait Channel: Send {
    /// Events that are due at `now`.
    fn poll(&mut self, now: Millis) -> Vec<ChannelEvent>;
    /// Delivers an agent reply to the customer.
    fn deliver(&mut self, conversation: &ConversationId, message: &Message) -> Result<(), PortError>;
    /// Whether this channel serves the conversation (where a mix of channels sends a reply).
    fn owns(&self, _conversation: &ConversationId) -> bool {
        true
    }
    /// Whether the channel has already stored the conversation and its customers' messages (the
    /// web channel's server commits them before acknowledging): the console must not store
    /// them again.
    fn stores_customer_side(&self, _conversation: &ConversationId) -> bool {
        false
    }
}

/// Durable storage of everything the agent and the assistant did.
pub trait Store {
    fn save_customer(&mut self, customer: &Customer) -> Result<(), PortError>;
    fn save_conversation(&mut self, conversation: &Conversation) -> Result<(), PortError>;
    fn append_message(&mut self, conversation: &ConversationId, message: &Message) -> Result<(), PortError>;
    fn save_draft(&mut self, draft: &Draft) -> Result<(), PortError>;
    fn record_event(
        &mut self,
        conversation: &ConversationId,
        request: Option<RequestId>,
        event: SuggestionEvent,
        at: Millis,
    ) -> Result<(), PortError>;
    fn autosave(&mut self, conversation: &ConversationId, text: &str, at: Millis) -> Result<(), PortError>;
    fn clear_autosave(&mut self, conversation: &ConversationId) -> Result<(), PortError>;
}
