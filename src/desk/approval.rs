//! The approval queue in the reducer: a junior agent's reply is held (no `Deliver`) until a
//! supervisor approves it, as written or edited, or returns it to the agent with a note.

use super::classify_outcome;
use super::state::{DraftState, State};
use super::types::{Author, ConversationId, Message, Millis, SuggestionEvent};
use super::update::Effect;

/// Holds `message` for approval: the editor empties, the draft's outcome is recorded (what the
/// agent made of the AI draft), and the reply waits in `held`.
pub(super) fn submit(state: &mut State, conversation: ConversationId, message: Message, fx: &mut Vec<Effect>) {
    let Some(c) = state.get_mut(&conversation) else { return };
    c.editor.clear();
    c.editor_dirty = false;
    c.offered = None;
    if let Some(request) = c.draft.pending_request() {
        fx.push(Effect::CancelGeneration { request });
    }
    c.draft = DraftState::Sent;
    let request = c.last_draft.as_ref().map(|d| d.request);
    fx.push(Effect::SubmitForApproval { conversation: conversation.clone(), request, message: message.clone() });
    fx.push(Effect::RecordEvent { conversation: conversation.clone(), request, event: SuggestionEvent::Queued });
    if let Some(mut draft) = c.last_draft.take() {
        draft.outcome = Some(classify_outcome(&draft.generated, Some(&message.text)));
        draft.final_text = Some(message.text.clone());
        fx.push(Effect::SaveDraft { draft });
    }
    c.held = Some(message);
    state.autosave.flush_one(&conversation);
    fx.push(Effect::ClearAutosave { conversation });
}

/// A supervisor's decision arrived: deliver the approved text, or give the reply back to the
/// agent's editor with the supervisor's note shown as a system note.
pub(super) fn decided(
    state: &mut State,
    conversation: ConversationId,
    approved: Option<String>,
    note: String,
    at: Millis,
    fx: &mut Vec<Effect>,
) {
    let Some(c) = state.get_mut(&conversation) else { return };
    let Some(held) = c.held.take() else { return };
    match approved {
        Some(text) => {
            let message = Message { author: Author::Agent, internal: false, text, at };
            c.messages.push(message.clone());
            c.conversation.updated = at;
            fx.push(Effect::PersistMessage { conversation: conversation.clone(), message: message.clone() });
            fx.push(Effect::Deliver { conversation, message });
        }
        None => {
            let note = if note.trim().is_empty() { String::new() } else { format!(": {}", note.trim()) };
            let message = Message {
                author: Author::System,
                internal: true,
                text: format!("Reply returned by a supervisor{note}"),
                at,
            };
            c.messages.push(message.clone());
            fx.push(Effect::PersistMessage { conversation: conversation.clone(), message });
            if c.editor.trim().is_empty() {
                c.editor = held.text;
                c.editor_dirty = true;
            }
            c.draft = DraftState::Idle;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::desk::types::*;
    use crate::desk::{Effect, Msg, State, update};

    fn state(requires_approval: bool) -> State {
        let mut s = State::default();
        s.requires_approval = requires_approval;
        let conversation = Conversation {
            id: "T-1".into(),
            customer: "c".into(),
            channel: "demo".into(),
            status: Status::Open,
            priority: Priority::Normal,
            tags: vec![],
            assignee: None,
            created: 0,
            updated: 0,
        };
        update(&mut s, Msg::ConversationOpened { conversation, customer: None, messages: vec![] });
        let fx = update(
            &mut s,
            Msg::CustomerMessage { conversation: "T-1".into(), message: Message::customer("Refund?", 1) },
        );
        let request =
            fx.iter().find_map(|e| if let Effect::Retrieve { request, .. } = e { Some(*request) } else { None });
        let request = request.expect("retrieve");
        let passage = Passage {
            slug: "refund-timeline".into(),
            title: "Refund timeline".into(),
            section: vec![],
            text: "Card refunds take 5-7 business days.".into(),
            score: 1.0,
            highlights: vec![],
        };
        let retrieval =
            Retrieval { passages: vec![passage], evidence: vec![], confidence: 0.9, vectors: None, intent: None };
        update(&mut s, Msg::RetrievalDone { conversation: "T-1".into(), request, retrieval });
        let draft = Draft {
            conversation: "T-1".into(),
            request,
            generated: "Card refunds take 5-7 business days.".into(),
            sources: vec![],
            model_version: "t".into(),
            timings: DraftTimings::default(),
            final_text: None,
            outcome: None,
        };
        update(&mut s, Msg::DraftFinished { conversation: "T-1".into(), draft });
        s
    }

    fn delivered(fx: &[Effect]) -> Vec<String> {
        fx.iter()
            .filter_map(|e| if let Effect::Deliver { message, .. } = e { Some(message.text.clone()) } else { None })
            .collect()
    }

    #[test]
    fn nothing_reaches_the_customer_before_approval() {
        let mut s = state(true);
        let fx = update(&mut s, Msg::Send { conversation: "T-1".into(), internal: false, at: 10 });
        assert!(delivered(&fx).is_empty(), "{fx:?}");
        assert!(!fx.iter().any(|e| matches!(e, Effect::PersistMessage { .. })), "not in the transcript yet: {fx:?}");
        assert!(fx.iter().any(
            |e| matches!(e, Effect::SubmitForApproval { message, .. } if message.text.starts_with("Card refunds"))
        ));
        let c = s.get(&"T-1".into()).expect("conversation");
        assert!(c.held.is_some() && c.editor.is_empty());
        assert_eq!(c.messages.iter().filter(|m| m.author == Author::Agent).count(), 0);
        // A second reply cannot slip past the queue while one waits.
        update(&mut s, Msg::EditorChanged { conversation: "T-1".into(), text: "Hello?".into(), at: 11 });
        let fx = update(&mut s, Msg::Send { conversation: "T-1".into(), internal: false, at: 12 });
        assert!(delivered(&fx).is_empty() && fx.is_empty(), "{fx:?}");
        // Ticks and other messages deliver nothing either.
        assert!(delivered(&update(&mut s, Msg::Tick { now: 5000 })).is_empty());
        // The supervisor edits and approves: exactly the approved text goes out.
        let fx = update(
            &mut s,
            Msg::ApprovalDecided {
                conversation: "T-1".into(),
                approved: Some("Card refunds take 5-7 business days. Sorry!".into()),
                note: String::new(),
                at: 20,
            },
        );
        assert_eq!(delivered(&fx), ["Card refunds take 5-7 business days. Sorry!"]);
        assert!(s.get(&"T-1".into()).is_some_and(|c| c.held.is_none()));
    }

    #[test]
    fn a_returned_reply_comes_back_to_the_editor() {
        let mut s = state(true);
        update(&mut s, Msg::Send { conversation: "T-1".into(), internal: false, at: 10 });
        let fx = update(
            &mut s,
            Msg::ApprovalDecided { conversation: "T-1".into(), approved: None, note: "Add the date".into(), at: 20 },
        );
        assert!(delivered(&fx).is_empty());
        let c = s.get(&"T-1".into()).expect("conversation");
        assert_eq!(c.editor, "Card refunds take 5-7 business days.");
        assert!(c.messages.last().is_some_and(|m| m.internal && m.text.contains("Add the date")));
        // A decision with nothing held is ignored.
        let fx = update(
            &mut s,
            Msg::ApprovalDecided {
                conversation: "T-1".into(),
                approved: Some("x".into()),
                note: String::new(),
                at: 30,
            },
        );
        assert!(fx.is_empty());
    }

    #[test]
    fn without_approval_send_delivers_and_notes_never_queue() {
        let mut s = state(false);
        let fx = update(&mut s, Msg::Send { conversation: "T-1".into(), internal: false, at: 10 });
        assert_eq!(delivered(&fx).len(), 1);
        let mut s = state(true);
        let fx = update(&mut s, Msg::Send { conversation: "T-1".into(), internal: true, at: 10 });
        assert!(fx.iter().any(|e| matches!(e, Effect::PersistMessage { message, .. } if message.internal)));
        assert!(!fx.iter().any(|e| matches!(e, Effect::SubmitForApproval { .. } | Effect::Deliver { .. })));
    }

    #[test]
    fn feedback_events() {
        let mut s = State::default();
        s.min_confidence = 0.5;
        let conversation = Conversation {
            id: "T-2".into(),
            customer: "c".into(),
            channel: "demo".into(),
            status: Status::Open,
            priority: Priority::Normal,
            tags: vec![],
            assignee: None,
            created: 0,
            updated: 0,
        };
        update(&mut s, Msg::ConversationOpened { conversation, customer: None, messages: vec![] });
        let fx = update(
            &mut s,
            Msg::CustomerMessage {
                conversation: "T-2".into(),
                message: Message::customer(" Do you ship to Iceland? ", 1),
            },
        );
        let request =
            fx.iter().find_map(|e| if let Effect::Retrieve { request, .. } = e { Some(*request) } else { None });
        let retrieval = Retrieval { passages: vec![], evidence: vec![], confidence: 0.1, vectors: None, intent: None };
        let fx = update(
            &mut s,
            Msg::RetrievalDone { conversation: "T-2".into(), request: request.expect("request"), retrieval },
        );
        assert!(fx.iter().any(|e| matches!(e, Effect::RecordDetail { event: SuggestionEvent::KbGap, detail, .. } if detail == "Do you ship to Iceland?")), "{fx:?}");
        let draft = Draft {
            conversation: "T-2".into(),
            request: request.expect("request"),
            generated: "We ship to the EU.".into(),
            sources: vec![],
            model_version: "t".into(),
            timings: DraftTimings::default(),
            final_text: None,
            outcome: None,
        };
        update(&mut s, Msg::DraftFinished { conversation: "T-2".into(), draft });
        let edited = |fx: &[Effect]| {
            fx.iter().filter(|e| matches!(e, Effect::RecordEvent { event: SuggestionEvent::Edited, .. })).count()
        };
        let fx =
            update(&mut s, Msg::EditorChanged { conversation: "T-2".into(), text: "We ship to the EU!".into(), at: 2 });
        assert_eq!(edited(&fx), 1);
        let fx = update(
            &mut s,
            Msg::EditorChanged { conversation: "T-2".into(), text: "We ship to the EU!!".into(), at: 3 },
        );
        assert_eq!(edited(&fx), 0, "recorded once per draft");
    }
}
