//! The console's domain state: the conversations an agent works and, per conversation, the
//! assist loop's draft state machine.

use super::autosave::Debouncer;
use super::types::{Conversation, ConversationId, Customer, Draft, Message, RequestId, Retrieval};

/// Where the assistant is with one conversation's suggestion.
///
/// ```text
/// Idle --customer msg--> Retrieving --passages--> Generating{partial} --done--> Ready --send--> Sent
///              ^              |                         |                                    |
///              +--------------+-------- failed ---------+--> Failed        (new customer msg restarts)
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DraftState {
    #[default]
    Idle,
    Retrieving {
        request: RequestId,
    },
    /// Retrieval only, no draft to follow: a resumed conversation whose editor already holds
    /// the agent's text.
    Refreshing {
        request: RequestId,
    },
    Generating {
        request: RequestId,
        partial: String,
    },
    Ready {
        request: RequestId,
    },
    Failed {
        request: RequestId,
        error: String,
    },
    Sent,
}

impl DraftState {
    /// The request this state is waiting for, if any.
    pub fn pending_request(&self) -> Option<RequestId> {
        match self {
            DraftState::Retrieving { request }
            | DraftState::Refreshing { request }
            | DraftState::Generating { request, .. } => Some(*request),
            _ => None,
        }
    }

    /// Waiting for knowledge (with or without a draft to follow).
    pub fn is_retrieving(&self) -> bool {
        matches!(self, DraftState::Retrieving { .. } | DraftState::Refreshing { .. })
    }

    pub fn label(&self) -> &'static str {
        match self {
            DraftState::Idle => "idle",
            DraftState::Retrieving { .. } | DraftState::Refreshing { .. } => "retrieving",
            DraftState::Generating { .. } => "generating",
            DraftState::Ready { .. } => "ready",
            DraftState::Failed { .. } => "failed",
            DraftState::Sent => "sent",
        }
    }
}

/// One conversation as the console holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub customer: Option<Customer>,
    pub messages: Vec<Message>,
    /// Customer messages the agent has not looked at.
    pub unread: usize,
    pub customer_typing: bool,
    /// The latest knowledge retrieved for this conversation.
    pub retrieval: Option<Retrieval>,
    pub draft: DraftState,
    /// The reply editor's text: what will be sent.
    pub editor: String,
    /// The agent typed or edited since the editor last received generated text; generated text
    /// then never overwrites the editor, it is offered instead.
    pub editor_dirty: bool,
    /// A finished draft that was not put into the editor because the agent had typed.
    pub offered: Option<String>,
    /// The most recent generated draft, kept to record what the agent did with it.
    pub last_draft: Option<Draft>,
    /// A reply waiting for a supervisor's approval (agents with `requires_approval`): the
    /// customer has not seen it.
    pub held: Option<Message>,
}

impl ConversationView {
    pub fn new(conversation: Conversation, customer: Option<Customer>) -> Self {
        Self {
            conversation,
            customer,
            messages: Vec::new(),
            unread: 0,
            customer_typing: false,
            retrieval: None,
            draft: DraftState::Idle,
            editor: String::new(),
            editor_dirty: false,
            offered: None,
            last_draft: None,
            held: None,
        }
    }

    /// When the customer has been waiting since (their oldest unanswered message), if they are.
    pub fn waiting_since(&self) -> Option<i64> {
        let last_agent = self.messages.iter().rposition(|m| m.author == super::Author::Agent && !m.internal);
        let start = last_agent.map_or(0, |i| i + 1);
        self.messages[start..].iter().find(|m| m.author == super::Author::Customer).map(|m| m.at)
    }
}

/// All state the reducer owns.
#[derive(Debug, Clone)]
pub struct State {
    pub conversations: Vec<ConversationView>,
    pub selected: Option<usize>,
    /// How many passages to ask retrieval for.
    pub top_k: usize,
    pub autosave: Debouncer,
    /// Replies go to the approval queue instead of the customer (junior agents).
    pub requires_approval: bool,
    /// Below this retrieval confidence the customer's question counts as a knowledge gap.
    pub min_confidence: f32,
    next_request: u64,
}

impl Default for State {
    fn default() -> Self {
        Self {
            conversations: Vec::new(),
            selected: None,
            top_k: 5,
            autosave: Debouncer::default(),
            requires_approval: false,
            min_confidence: 0.2,
            next_request: 1,
        }
    }
}

impl State {
    /// Continues request ids after `last`, the highest one a store already holds, so ids stay
    /// unique across runs on one store (drafts and events are keyed by them).
    pub fn continue_requests_after(&mut self, last: u64) {
        self.next_request = self.next_request.max(last.saturating_add(1));
    }

    pub fn new_request(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }

    pub fn index_of(&self, id: &ConversationId) -> Option<usize> {
        self.conversations.iter().position(|c| &c.conversation.id == id)
    }

    pub fn get(&self, id: &ConversationId) -> Option<&ConversationView> {
        self.conversations.iter().find(|c| &c.conversation.id == id)
    }

    pub fn get_mut(&mut self, id: &ConversationId) -> Option<&mut ConversationView> {
        self.conversations.iter_mut().find(|c| &c.conversation.id == id)
    }

    pub fn selected_view(&self) -> Option<&ConversationView> {
        self.selected.and_then(|i| self.conversations.get(i))
    }
}
