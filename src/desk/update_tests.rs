use super::*;
use crate::desk::types::{DraftOutcome, DraftTimings, Priority, Tier};

fn conv(id: &str) -> Conversation {
    Conversation {
        id: ConversationId::from(id),
        customer: "cus-1".into(),
        channel: "demo".into(),
        status: Status::Open,
        priority: Priority::Normal,
        tags: vec!["returns".into()],
        assignee: None,
        created: 0,
        updated: 0,
    }
}

fn customer() -> Customer {
    Customer {
        id: "cus-1".into(),
        name: "Ana".into(),
        email: "ana@example.com".into(),
        language: "en".into(),
        tier: Tier::Plus,
        notes: String::new(),
    }
}

fn opened(ids: &[&str]) -> State {
    let mut s = State::default();
    for id in ids {
        update(
            &mut s,
            Msg::ConversationOpened { conversation: conv(id), customer: Some(customer()), messages: vec![] },
        );
    }
    s
}

fn id(s: &str) -> ConversationId {
    ConversationId::from(s)
}

fn draft(c: &str, request: RequestId, text: &str) -> Draft {
    Draft {
        conversation: id(c),
        request,
        generated: text.into(),
        sources: vec![],
        model_version: "test".into(),
        timings: DraftTimings::default(),
        final_text: None,
        outcome: None,
    }
}

fn retrieval() -> Retrieval {
    Retrieval { passages: vec![], evidence: vec![], confidence: 0.9, vectors: None, intent: None }
}

/// Drives a customer message through retrieval; returns the generation's request id.
fn until_generating(s: &mut State, c: &str, text: &str) -> RequestId {
    let fx = update(s, Msg::CustomerMessage { conversation: id(c), message: Message::customer(text, 10) });
    let request = fx
        .iter()
        .find_map(|e| match e {
            Effect::Retrieve { request, .. } => Some(*request),
            _ => None,
        })
        .expect("a customer message starts retrieval");
    let fx = update(s, Msg::RetrievalDone { conversation: id(c), request, retrieval: retrieval() });
    assert!(matches!(fx.as_slice(), [Effect::Generate { .. }]), "{fx:?}");
    request
}

#[test]
fn customer_message_starts_retrieval_with_the_turns() {
    let mut s = opened(&["T-1"]);
    let fx = update(
        &mut s,
        Msg::CustomerMessage { conversation: id("T-1"), message: Message::customer("Where is my order?", 5) },
    );
    assert!(matches!(&fx[0], Effect::PersistMessage { .. }));
    match &fx[1] {
        Effect::Retrieve { turns, tags, k, .. } => {
            assert_eq!(turns, &vec![(Author::Customer, "Where is my order?".to_owned())]);
            assert_eq!(tags, &vec!["returns".to_owned()]);
            assert_eq!(*k, 5);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.conversations[0].draft.label(), "retrieving");
}

#[test]
fn stale_retrieval_is_dropped() {
    let mut s = opened(&["T-1"]);
    update(&mut s, Msg::CustomerMessage { conversation: id("T-1"), message: Message::customer("first", 1) });
    let old = RequestId(1);
    // A second message supersedes the first request.
    let fx = update(&mut s, Msg::CustomerMessage { conversation: id("T-1"), message: Message::customer("second", 2) });
    assert!(fx.iter().any(|e| matches!(e, Effect::CancelGeneration { request } if *request == old)));
    let fx = update(&mut s, Msg::RetrievalDone { conversation: id("T-1"), request: old, retrieval: retrieval() });
    assert!(fx.is_empty(), "stale retrieval must be ignored: {fx:?}");
    assert_eq!(s.conversations[0].draft, DraftState::Retrieving { request: RequestId(2) });
}

#[test]
fn stale_chunks_and_drafts_are_dropped() {
    let mut s = opened(&["T-1"]);
    let first = until_generating(&mut s, "T-1", "hello");
    let second = until_generating(&mut s, "T-1", "are you there?");
    update(&mut s, Msg::DraftChunk { conversation: id("T-1"), request: first, text: "OLD".into() });
    assert_eq!(s.conversations[0].editor, "");
    let fx = update(&mut s, Msg::DraftFinished { conversation: id("T-1"), draft: draft("T-1", first, "OLD") });
    assert!(fx.is_empty());
    update(&mut s, Msg::DraftChunk { conversation: id("T-1"), request: second, text: "New".into() });
    assert_eq!(s.conversations[0].editor, "New");
}

#[test]
fn chunks_stream_into_a_clean_editor() {
    let mut s = opened(&["T-1"]);
    let r = until_generating(&mut s, "T-1", "refund?");
    for piece in ["Hi Ana, ", "your refund ", "is on its way."] {
        update(&mut s, Msg::DraftChunk { conversation: id("T-1"), request: r, text: piece.into() });
    }
    assert_eq!(s.conversations[0].editor, "Hi Ana, your refund is on its way.");
    let fx = update(
        &mut s,
        Msg::DraftFinished { conversation: id("T-1"), draft: draft("T-1", r, "Hi Ana, your refund is on its way.") },
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::SaveDraft { .. })));
    assert_eq!(s.conversations[0].draft, DraftState::Ready { request: r });
}

#[test]
fn a_draft_never_overwrites_what_the_agent_typed() {
    let mut s = opened(&["T-1"]);
    let r = until_generating(&mut s, "T-1", "refund?");
    update(&mut s, Msg::EditorChanged { conversation: id("T-1"), text: "Let me check".into(), at: 20 });
    update(&mut s, Msg::DraftChunk { conversation: id("T-1"), request: r, text: "Generated".into() });
    update(&mut s, Msg::DraftFinished { conversation: id("T-1"), draft: draft("T-1", r, "Generated") });
    let c = &s.conversations[0];
    assert_eq!(c.editor, "Let me check");
    assert_eq!(c.offered.as_deref(), Some("Generated"));
    let fx = update(&mut s, Msg::AcceptOffered { conversation: id("T-1") });
    assert!(matches!(&fx[0], Effect::RecordEvent { event: SuggestionEvent::Swapped, .. }));
    assert_eq!(s.conversations[0].editor, "Generated");
}

#[test]
fn send_records_the_outcome_and_delivers() {
    let mut s = opened(&["T-1"]);
    let r = until_generating(&mut s, "T-1", "refund?");
    let text = "Hi Ana, refunds reach your card in 5-7 business days.";
    update(&mut s, Msg::DraftFinished { conversation: id("T-1"), draft: draft("T-1", r, text) });
    update(&mut s, Msg::EditorChanged { conversation: id("T-1"), text: format!("{text} Anything else?"), at: 30 });
    let fx = update(&mut s, Msg::Send { conversation: id("T-1"), internal: false, at: 40 });
    let saved = fx.iter().find_map(|e| match e {
        Effect::SaveDraft { draft } => Some(draft.clone()),
        _ => None,
    });
    let saved = saved.expect("send saves the draft outcome");
    assert_eq!(saved.outcome, Some(DraftOutcome::Edited));
    assert_eq!(
        saved.final_text.as_deref(),
        Some("Hi Ana, refunds reach your card in 5-7 business days. Anything else?")
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::Deliver { .. })));
    assert!(fx.iter().any(|e| matches!(e, Effect::ClearAutosave { .. })));
    let c = &s.conversations[0];
    assert_eq!(c.editor, "");
    assert_eq!(c.draft, DraftState::Sent);
    assert_eq!(c.messages.last().map(|m| m.author), Some(Author::Agent));
}

#[test]
fn internal_note_is_not_delivered() {
    let mut s = opened(&["T-1"]);
    update(&mut s, Msg::EditorChanged { conversation: id("T-1"), text: "VIP, be gentle".into(), at: 1 });
    let fx = update(&mut s, Msg::Send { conversation: id("T-1"), internal: true, at: 2 });
    assert!(!fx.iter().any(|e| matches!(e, Effect::Deliver { .. })));
    assert!(s.conversations[0].messages[0].internal);
}

#[test]
fn empty_editor_sends_nothing() {
    let mut s = opened(&["T-1"]);
    assert!(update(&mut s, Msg::Send { conversation: id("T-1"), internal: false, at: 2 }).is_empty());
}

#[test]
fn discard_and_cancel() {
    let mut s = opened(&["T-1"]);
    let r = until_generating(&mut s, "T-1", "hello");
    let fx = update(&mut s, Msg::CancelDraft { conversation: id("T-1") });
    assert_eq!(fx, vec![Effect::CancelGeneration { request: r }]);
    let r = until_generating(&mut s, "T-1", "hello again");
    update(&mut s, Msg::DraftFinished { conversation: id("T-1"), draft: draft("T-1", r, "Hi!") });
    let fx = update(&mut s, Msg::DiscardDraft { conversation: id("T-1"), at: 9 });
    assert!(
        fx.iter().any(|e| matches!(e, Effect::SaveDraft { draft } if draft.outcome == Some(DraftOutcome::Discarded)))
    );
    assert_eq!(s.conversations[0].editor, "");
}

#[test]
fn unread_counts_only_unselected_conversations() {
    let mut s = opened(&["T-1", "T-2"]);
    update(&mut s, Msg::CustomerMessage { conversation: id("T-1"), message: Message::customer("a", 1) });
    update(&mut s, Msg::CustomerMessage { conversation: id("T-2"), message: Message::customer("b", 2) });
    assert_eq!(s.conversations[0].unread, 0);
    assert_eq!(s.conversations[1].unread, 1);
    update(&mut s, Msg::Select { index: 1 });
    assert_eq!(s.conversations[1].unread, 0);
    assert_eq!(s.conversations[1].waiting_since(), Some(2));
}

#[test]
fn autosave_is_debounced_through_ticks() {
    let mut s = opened(&["T-1"]);
    update(&mut s, Msg::EditorChanged { conversation: id("T-1"), text: "Hel".into(), at: 0 });
    update(&mut s, Msg::EditorChanged { conversation: id("T-1"), text: "Hello".into(), at: 100 });
    assert!(update(&mut s, Msg::Tick { now: 200 }).is_empty());
    assert_eq!(
        update(&mut s, Msg::Tick { now: 1000 }),
        vec![Effect::Autosave { conversation: id("T-1"), text: "Hello".into() }]
    );
}

#[test]
fn status_changes_are_persisted() {
    let mut s = opened(&["T-1"]);
    let fx = update(&mut s, Msg::SetStatus { conversation: id("T-1"), status: Status::Escalated, at: 3 });
    assert_eq!(fx, vec![Effect::PersistStatus { conversation: id("T-1"), status: Status::Escalated, at: 3 }]);
    assert_eq!(s.conversations[0].conversation.status, Status::Escalated);
}

fn opened_with(id_: &str, messages: Vec<Message>) -> State {
    let mut s = State::default();
    update(&mut s, Msg::ConversationOpened { conversation: conv(id_), customer: Some(customer()), messages });
    s
}

#[test]
fn a_resumed_waiting_customer_gets_retrieval_then_a_draft() {
    let mut s = opened_with("T-1", vec![Message::customer("Where is my parcel?", 1)]);
    s.continue_requests_after(41);
    let fx = update(&mut s, Msg::Resume { conversation: id("T-1") });
    let request = fx
        .iter()
        .find_map(|e| match e {
            Effect::Retrieve { request, .. } => Some(*request),
            _ => None,
        })
        .expect("retrieval starts");
    assert_eq!(request, RequestId(42), "ids continue after the store's highest");
    let fx = update(&mut s, Msg::RetrievalDone { conversation: id("T-1"), request, retrieval: retrieval() });
    assert!(matches!(fx.as_slice(), [Effect::Generate { .. }]), "{fx:?}");
}

#[test]
fn a_resumed_editor_with_text_only_refreshes_knowledge() {
    let mut s = opened_with("T-1", vec![Message::customer("Where is my parcel?", 1)]);
    update(&mut s, Msg::EditorChanged { conversation: id("T-1"), text: "typed before".into(), at: 2 });
    let fx = update(&mut s, Msg::Resume { conversation: id("T-1") });
    let Some(Effect::Retrieve { request, .. }) = fx.first().cloned() else { panic!("{fx:?}") };
    assert_eq!(s.conversations[0].draft, DraftState::Refreshing { request });
    let fx = update(&mut s, Msg::RetrievalDone { conversation: id("T-1"), request, retrieval: retrieval() });
    assert!(fx.is_empty(), "no draft over the agent's text: {fx:?}");
    assert!(s.conversations[0].retrieval.is_some());
    assert_eq!(s.conversations[0].draft, DraftState::Idle);
    assert_eq!(s.conversations[0].editor, "typed before");
}

#[test]
fn a_resumed_answered_or_resolved_conversation_is_left_alone() {
    let answered = vec![
        Message::customer("hi", 1),
        Message { author: Author::Agent, internal: false, text: "hello".into(), at: 2 },
    ];
    let mut s = opened_with("T-1", answered);
    assert!(update(&mut s, Msg::Resume { conversation: id("T-1") }).is_empty());
    let mut s = opened_with("T-2", vec![Message::customer("hi", 1)]);
    update(&mut s, Msg::SetStatus { conversation: id("T-2"), status: Status::Resolved, at: 3 });
    assert!(update(&mut s, Msg::Resume { conversation: id("T-2") }).is_empty());
}

#[test]
fn a_restarted_draft_drops_what_was_streamed() {
    let mut s = opened(&["T-1"]);
    let request = until_generating(&mut s, "T-1", "refund?");
    update(&mut s, Msg::DraftChunk { conversation: id("T-1"), request, text: "garbled half".into() });
    update(&mut s, Msg::DraftRestarted { conversation: id("T-1"), request });
    update(&mut s, Msg::DraftChunk { conversation: id("T-1"), request, text: "Clean".into() });
    assert_eq!(s.conversations[0].editor, "Clean");
}
