//! The pure reducer: `update(&mut State, Msg) -> Vec<Effect>`.
//!
//! Every input (a key the agent pressed, a customer message, a worker's answer, a clock tick)
//! becomes a [`Msg`]; the reducer changes [`State`] and returns the [`Effect`]s that the shell
//! must carry out (retrieve, generate, persist, deliver). Worker answers carry the [`RequestId`]
//! they answer; an answer whose id is not the one the conversation waits for is stale and dropped.

use super::classify_outcome;
use super::state::{ConversationView, DraftState, State};
use super::types::{
    Author, Conversation, ConversationId, Customer, Draft, Message, Millis, Priority, RequestId, Retrieval, Status,
    SuggestionEvent,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    /// A conversation arrived from a channel (or was restored from the store).
    ConversationOpened {
        conversation: Conversation,
        customer: Option<Customer>,
        messages: Vec<Message>,
    },
    CustomerTyping {
        conversation: ConversationId,
        typing: bool,
    },
    /// A customer wrote: show it and start the assist loop.
    CustomerMessage {
        conversation: ConversationId,
        message: Message,
    },
    RetrievalDone {
        conversation: ConversationId,
        request: RequestId,
        retrieval: Retrieval,
    },
    RetrievalFailed {
        conversation: ConversationId,
        request: RequestId,
        error: String,
    },
    /// A streamed piece of generated text.
    DraftChunk {
        conversation: ConversationId,
        request: RequestId,
        text: String,
    },
    DraftFinished {
        conversation: ConversationId,
        draft: Draft,
    },
    DraftFailed {
        conversation: ConversationId,
        request: RequestId,
        error: String,
    },
    /// The drafter crashed and starts the request again: what it streamed so far is dropped.
    DraftRestarted {
        conversation: ConversationId,
        request: RequestId,
    },
    /// A conversation restored after a restart: if the customer is still waiting for a reply,
    /// retrieve again (and draft, unless the editor already holds the agent's text).
    Resume {
        conversation: ConversationId,
    },
    /// The agent changed the editor's text.
    EditorChanged {
        conversation: ConversationId,
        text: String,
        at: Millis,
    },
    /// Swap the offered draft into the editor (the agent's text is replaced, on request only).
    AcceptOffered {
        conversation: ConversationId,
    },
    Regenerate {
        conversation: ConversationId,
    },
    CancelDraft {
        conversation: ConversationId,
    },
    DiscardDraft {
        conversation: ConversationId,
        at: Millis,
    },
    /// Send the editor's text to the customer, or add it as an internal note.
    Send {
        conversation: ConversationId,
        internal: bool,
        at: Millis,
    },
    SetStatus {
        conversation: ConversationId,
        status: Status,
        at: Millis,
    },
    /// The customer's mood calls for another priority (sentiment, threats, repeated contacts).
    SetPriority {
        conversation: ConversationId,
        priority: Priority,
    },
    /// An internal note from Deskpilot itself (the handoff summary on resolve and escalate):
    /// shown and stored with the conversation, never sent to the customer.
    AddNote {
        conversation: ConversationId,
        text: String,
        at: Millis,
    },
    Select {
        index: usize,
    },
    /// Clock tick: flushes debounced autosaves.
    Tick {
        now: Millis,
    },
    /// A supervisor decided on a reply held for approval: `approved` carries the text to send
    /// (as written or edited); None returns it to the agent with `note`.
    ApprovalDecided {
        conversation: ConversationId,
        approved: Option<String>,
        note: String,
        at: Millis,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Retrieve {
        conversation: ConversationId,
        request: RequestId,
        turns: Vec<(Author, String)>,
        tags: Vec<String>,
        k: usize,
    },
    Generate {
        conversation: ConversationId,
        request: RequestId,
        retrieval: Retrieval,
    },
    CancelGeneration {
        request: RequestId,
    },
    /// Send an agent message to the customer over the conversation's channel.
    Deliver {
        conversation: ConversationId,
        message: Message,
    },
    PersistMessage {
        conversation: ConversationId,
        message: Message,
    },
    PersistStatus {
        conversation: ConversationId,
        status: Status,
        at: Millis,
    },
    PersistPriority {
        conversation: ConversationId,
        priority: Priority,
    },
    /// The agent opened the customer's profile: read their earlier conversations.
    LoadHistory {
        customer: super::types::CustomerId,
    },
    SaveDraft {
        draft: Draft,
    },
    RecordEvent {
        conversation: ConversationId,
        request: Option<RequestId>,
        event: SuggestionEvent,
    },
    Autosave {
        conversation: ConversationId,
        text: String,
    },
    ClearAutosave {
        conversation: ConversationId,
    },
    /// A feedback event with a detail (the passages' slugs, the question no passage answered).
    RecordDetail {
        conversation: ConversationId,
        request: Option<RequestId>,
        event: SuggestionEvent,
        detail: String,
    },
    /// Hold a reply for a supervisor's approval; nothing reaches the customer until then.
    SubmitForApproval {
        conversation: ConversationId,
        request: Option<RequestId>,
        message: Message,
    },
}

/// Applies one message to the state and returns what must happen next.
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::ConversationOpened { conversation, customer, messages } => {
            if state.index_of(&conversation.id).is_none() {
                let mut view = ConversationView::new(conversation, customer);
                view.messages = messages;
                state.conversations.push(view);
                if state.selected.is_none() {
                    state.selected = Some(state.conversations.len() - 1);
                }
            }
        }
        Msg::CustomerTyping { conversation, typing } => {
            if let Some(c) = state.get_mut(&conversation) {
                c.customer_typing = typing;
            }
        }
        Msg::CustomerMessage { conversation, message } => {
            let selected = state.selected_view().map(|c| c.conversation.id.clone());
            let k = state.top_k;
            let request = state.new_request();
            let Some(c) = state.get_mut(&conversation) else { return fx };
            c.customer_typing = false;
            c.conversation.updated = message.at;
            if selected.as_ref() != Some(&conversation) {
                c.unread += 1;
            }
            fx.push(Effect::PersistMessage { conversation: conversation.clone(), message: message.clone() });
            c.messages.push(message);
            start_assist(c, request, k, &mut fx);
        }
        Msg::RetrievalDone { conversation, request, retrieval } => {
            let min_confidence = state.min_confidence;
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if !c.draft.is_retrieving() || c.draft.pending_request() != Some(request) {
                return fx; // stale
            }
            // Feedback goes after the effects that keep the assist loop moving.
            let mut feedback = Vec::new();
            retrieval_feedback(c, request, &retrieval, min_confidence, &mut feedback);
            if c.draft == (DraftState::Refreshing { request }) {
                c.retrieval = Some(retrieval);
                c.draft = DraftState::Idle;
            } else if c.draft == (DraftState::Retrieving { request }) {
                c.retrieval = Some(retrieval.clone());
                c.draft = DraftState::Generating { request, partial: String::new() };
                fx.push(Effect::Generate { conversation, request, retrieval });
            }
            fx.extend(feedback);
        }
        Msg::RetrievalFailed { conversation, request, error } | Msg::DraftFailed { conversation, request, error } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if c.draft.pending_request() == Some(request) {
                c.draft = DraftState::Failed { request, error };
            }
        }
        Msg::DraftChunk { conversation, request, text } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            let DraftState::Generating { request: r, partial } = &mut c.draft else { return fx };
            if *r != request {
                return fx;
            }
            partial.push_str(&text);
            if !c.editor_dirty {
                c.editor.clone_from(partial);
            }
        }
        Msg::DraftFinished { conversation, draft } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if c.draft.pending_request() != Some(draft.request) {
                return fx;
            }
            c.draft = DraftState::Ready { request: draft.request };
            if c.editor_dirty {
                c.offered = Some(draft.generated.clone());
            } else {
                c.editor.clone_from(&draft.generated);
            }
            fx.push(Effect::RecordEvent {
                conversation: conversation.clone(),
                request: Some(draft.request),
                event: SuggestionEvent::Shown,
            });
            fx.push(Effect::SaveDraft { draft: draft.clone() });
            c.last_draft = Some(draft);
        }
        Msg::DraftRestarted { conversation, request } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            let DraftState::Generating { request: r, partial } = &mut c.draft else { return fx };
            if *r == request {
                partial.clear();
                if !c.editor_dirty {
                    c.editor.clear();
                }
            }
        }
        Msg::Resume { conversation } => {
            let k = state.top_k;
            let Some(c) = state.get(&conversation) else { return fx };
            let open = matches!(c.conversation.status, Status::Open | Status::Pending | Status::Escalated);
            let last = c.messages.iter().rev().find(|m| !m.internal && m.author != Author::System);
            if !open || last.is_none_or(|m| m.author != Author::Customer) || c.draft.pending_request().is_some() {
                return fx;
            }
            let request = state.new_request();
            let Some(c) = state.get_mut(&conversation) else { return fx };
            start_assist(c, request, k, &mut fx);
            if !c.editor.trim().is_empty() {
                c.draft = DraftState::Refreshing { request };
            }
        }
        Msg::EditorChanged { conversation, text, at } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if c.editor == text {
                return fx;
            }
            if !c.editor_dirty && c.last_draft.as_ref().is_some_and(|d| d.generated == c.editor) {
                // The first change to a draft the assistant put into the editor.
                fx.push(Effect::RecordEvent {
                    conversation: conversation.clone(),
                    request: c.last_draft.as_ref().map(|d| d.request),
                    event: SuggestionEvent::Edited,
                });
            }
            c.editor_dirty = true;
            state.autosave.changed(&conversation, &text, at);
            if let Some(c) = state.get_mut(&conversation) {
                c.editor = text;
            }
        }
        Msg::AcceptOffered { conversation } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if let Some(text) = c.offered.take() {
                c.editor = text;
                c.editor_dirty = false;
                fx.push(Effect::RecordEvent {
                    conversation,
                    request: c.last_draft.as_ref().map(|d| d.request),
                    event: SuggestionEvent::Swapped,
                });
            }
        }
        Msg::Regenerate { conversation } => {
            let k = state.top_k;
            let request = state.new_request();
            let Some(c) = state.get_mut(&conversation) else { return fx };
            fx.push(Effect::RecordEvent {
                conversation: conversation.clone(),
                request: c.last_draft.as_ref().map(|d| d.request),
                event: SuggestionEvent::Regenerated,
            });
            start_assist(c, request, k, &mut fx);
        }
        Msg::CancelDraft { conversation } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if let Some(request) = c.draft.pending_request() {
                fx.push(Effect::CancelGeneration { request });
                c.draft = DraftState::Idle;
            }
        }
        Msg::DiscardDraft { conversation, at: _ } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if let Some(request) = c.draft.pending_request() {
                fx.push(Effect::CancelGeneration { request });
            }
            c.draft = DraftState::Idle;
            c.offered = None;
            if !c.editor_dirty {
                c.editor.clear();
            }
            if let Some(mut draft) = c.last_draft.take() {
                draft.outcome = Some(super::DraftOutcome::Discarded);
                fx.push(Effect::RecordEvent {
                    conversation: conversation.clone(),
                    request: Some(draft.request),
                    event: SuggestionEvent::Discarded,
                });
                fx.push(Effect::SaveDraft { draft });
            }
        }
        Msg::Send { conversation, internal, at } => send(state, conversation, internal, at, &mut fx),
        Msg::SetStatus { conversation, status, at } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            c.conversation.status = status;
            c.conversation.updated = at;
            fx.push(Effect::PersistStatus { conversation, status, at });
        }
        Msg::SetPriority { conversation, priority } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            if c.conversation.priority != priority {
                c.conversation.priority = priority;
                fx.push(Effect::PersistPriority { conversation, priority });
            }
        }
        Msg::AddNote { conversation, text, at } => {
            let Some(c) = state.get_mut(&conversation) else { return fx };
            let message = Message { author: Author::System, internal: true, text, at };
            c.messages.push(message.clone());
            fx.push(Effect::PersistMessage { conversation, message });
        }
        Msg::Select { index } => {
            if let Some(c) = state.conversations.get_mut(index) {
                c.unread = 0;
                state.selected = Some(index);
            }
        }
        Msg::Tick { now } => {
            for (conversation, text) in state.autosave.due(now) {
                fx.push(Effect::Autosave { conversation, text });
            }
        }
        Msg::ApprovalDecided { conversation, approved, note, at } => {
            super::approval::decided(state, conversation, approved, note, at, &mut fx)
        }
    }
    fx
}

/// Feedback for a retrieval the conversation waited for: which passages were shown, and the
/// customer's question when none answered it confidently (a knowledge gap).
fn retrieval_feedback(
    c: &ConversationView,
    request: RequestId,
    retrieval: &Retrieval,
    min_confidence: f32,
    fx: &mut Vec<Effect>,
) {
    let conversation = c.conversation.id.clone();
    if !retrieval.passages.is_empty() {
        let slugs: Vec<&str> = retrieval.passages.iter().map(|p| p.slug.as_str()).collect();
        fx.push(Effect::RecordDetail {
            conversation: conversation.clone(),
            request: Some(request),
            event: SuggestionEvent::PassageShown,
            detail: slugs.join(","),
        });
    }
    if retrieval.confidence < min_confidence {
        let question = c.messages.iter().rev().find(|m| m.author == Author::Customer && !m.internal);
        if let Some(q) = question {
            fx.push(Effect::RecordDetail {
                conversation,
                request: Some(request),
                event: SuggestionEvent::KbGap,
                detail: q.text.trim().to_owned(),
            });
        }
    }
}

/// Starts retrieval for the conversation's current turn, cancelling whatever was in flight.
fn start_assist(c: &mut ConversationView, request: RequestId, k: usize, fx: &mut Vec<Effect>) {
    if let Some(old) = c.draft.pending_request() {
        fx.push(Effect::CancelGeneration { request: old });
    }
    c.draft = DraftState::Retrieving { request };
    let turns = c
        .messages
        .iter()
        .filter(|m| !m.internal && m.author != Author::System)
        .map(|m| (m.author, m.text.clone()))
        .collect();
    fx.push(Effect::Retrieve {
        conversation: c.conversation.id.clone(),
        request,
        turns,
        tags: c.conversation.tags.clone(),
        k,
    });
}

fn send(state: &mut State, conversation: ConversationId, internal: bool, at: Millis, fx: &mut Vec<Effect>) {
    let Some(c) = state.get_mut(&conversation) else { return };
    let text = c.editor.trim().to_owned();
    if text.is_empty() {
        return;
    }
    if !internal && c.held.is_some() {
        return; // one reply at a time waits for approval
    }
    let message = Message { author: Author::Agent, internal, text: text.clone(), at };
    if !internal && state.requires_approval {
        super::approval::submit(state, conversation, message, fx);
        return;
    }
    let Some(c) = state.get_mut(&conversation) else { return };
    c.messages.push(message.clone());
    c.conversation.updated = at;
    c.editor.clear();
    c.editor_dirty = false;
    c.offered = None;
    fx.push(Effect::PersistMessage { conversation: conversation.clone(), message: message.clone() });
    if internal {
        // A note is not a reply: the draft stays for the customer-facing answer.
        fx.push(Effect::ClearAutosave { conversation });
        return;
    }
    if let Some(request) = c.draft.pending_request() {
        fx.push(Effect::CancelGeneration { request });
    }
    c.draft = DraftState::Sent;
    fx.push(Effect::Deliver { conversation: conversation.clone(), message });
    if let Some(mut draft) = c.last_draft.take() {
        draft.outcome = Some(classify_outcome(&draft.generated, Some(&text)));
        draft.final_text = Some(text);
        fx.push(Effect::RecordEvent {
            conversation: conversation.clone(),
            request: Some(draft.request),
            event: SuggestionEvent::Sent,
        });
        fx.push(Effect::SaveDraft { draft });
    }
    state.autosave.flush_one(&conversation);
    fx.push(Effect::ClearAutosave { conversation });
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
