//! The console without a terminal: app flows driven by keys, channel and worker messages, and
//! snapshots of whole screens rendered into a `TestBackend`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use deskpilot::desk::ports::ChannelEvent;
use deskpilot::desk::{
    Author, Conversation, ConversationId, Customer, Draft, DraftOutcome, DraftTimings, Effect, Message, Msg, Passage,
    Priority, RequestId, Retrieval, Source, Status, Tier,
};
use deskpilot::tui::app::{App, Focus, Info, Overlay};
use deskpilot::tui::keymap::Keymap;
use deskpilot::tui::render::render;
use deskpilot::tui::theme::{Theme, ThemeName};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const T0: i64 = 1_700_000_000_000;

fn app() -> App {
    let info = Info { drafter: "extractive".into(), kb_articles: 57, last_retrieval_ms: Some(0.4) };
    let articles = Box::new(|slug: &str| {
        (slug == "refund-timeline").then(|| {
            ("Refund timeline".to_owned(), "## How long\n\nCard refunds take 5-7 business days to appear.".to_owned())
        })
    });
    let mut app = App::new(Theme::new(ThemeName::Mono), Keymap::defaults(), info, articles);
    app.now = T0 + 95_000;
    app
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn open(app: &mut App, id: &str, name: &str, lang: &str) {
    let conversation = Conversation {
        id: ConversationId::from(id),
        customer: format!("cus-{id}").as_str().into(),
        channel: "demo".into(),
        status: Status::Open,
        priority: Priority::Normal,
        tags: vec![],
        assignee: None,
        created: T0,
        updated: T0,
    };
    let customer = Customer {
        id: format!("cus-{id}").as_str().into(),
        name: name.into(),
        email: "x@example.com".into(),
        language: lang.into(),
        tier: Tier::Plus,
        notes: String::new(),
    };
    app.on_channel(ChannelEvent::NewConversation {
        conversation: Box::new(conversation),
        customer: Box::new(customer),
        history: Vec::new(),
    });
}

fn retrieval() -> Retrieval {
    let text = "We issue your refund within 2 business days of receiving the return. Card refunds take 5-7 business days to appear on your statement.";
    let start = text.find("Card refunds").unwrap_or(0);
    Retrieval {
        passages: vec![
            Passage {
                slug: "refund-timeline".into(),
                title: "Refund timeline".into(),
                section: vec!["How long refunds take".into()],
                text: text.into(),
                score: 12.0,
                highlights: std::iter::once(start..start + 12).collect(),
            },
            Passage {
                slug: "return-policy".into(),
                title: "Return policy".into(),
                section: vec![],
                text: "Returns are accepted within 30 days of delivery.".into(),
                score: 6.0,
                highlights: vec![],
            },
        ],
        evidence: vec![],
        confidence: 0.82,
        vectors: None,
        intent: None,
    }
}

/// A customer message, then retrieval, then `chunks` of a streamed draft. Returns the request.
fn customer_says(app: &mut App, id: &str, text: &str, chunks: &[&str]) -> RequestId {
    let fx = app
        .on_channel(ChannelEvent::Message { conversation: id.into(), message: Message::customer(text, T0 + 30_000) });
    let request = fx
        .iter()
        .find_map(|e| match e {
            Effect::Retrieve { request, .. } => Some(*request),
            _ => None,
        })
        .expect("retrieval requested");
    let fx = app.apply(Msg::RetrievalDone { conversation: id.into(), request, retrieval: retrieval() });
    assert!(matches!(fx[0], Effect::Generate { .. }));
    for c in chunks {
        app.apply(Msg::DraftChunk { conversation: id.into(), request, text: (*c).into() });
    }
    request
}

fn finish(app: &mut App, id: &str, request: RequestId, text: &str) -> Vec<Effect> {
    let draft = Draft {
        conversation: id.into(),
        request,
        generated: text.into(),
        sources: vec![Source { slug: "refund-timeline".into(), title: "Refund timeline".into() }],
        model_version: "extractive-1".into(),
        timings: DraftTimings::default(),
        final_text: None,
        outcome: None,
    };
    app.apply(Msg::DraftFinished { conversation: id.into(), draft })
}

fn screen(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    app.size = ratatui::layout::Rect::new(0, 0, w, h);
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render(app, f)).expect("draw");
    t
}

use crate::util::text_of;

#[test]
fn snapshot_empty_queue() {
    let mut a = app();
    insta::assert_snapshot!("empty_80x24", screen(&mut a, 80, 24).backend());
    insta::assert_snapshot!("empty_160x48", screen(&mut a, 160, 48).backend());
}

#[test]
fn snapshot_streaming_draft() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    open(&mut a, "T-2", "陈静", "zh");
    customer_says(
        &mut a,
        "T-1",
        "Hi, I returned a lamp last week. When do I get my money back?",
        &["Hi Ana,\n\n", "Card refunds ", "take 5-7 "],
    );
    insta::assert_snapshot!("streaming_160x48", screen(&mut a, 160, 48).backend());
    insta::assert_snapshot!("streaming_80x24", screen(&mut a, 80, 24).backend());
}

#[test]
fn snapshot_overlays_and_narrow_tabs() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    let r = customer_says(&mut a, "T-1", "When will my refund arrive?", &[]);
    finish(&mut a, "T-1", r, "Hi Ana, card refunds take 5-7 business days.");
    a.focus = Focus::Knowledge;
    a.on_key(key(KeyCode::Enter));
    assert!(matches!(a.overlay, Some(Overlay::Article { .. })));
    insta::assert_snapshot!("article_160x48", screen(&mut a, 160, 48).backend());
    a.on_key(key(KeyCode::Esc));
    a.on_key(KeyCode::F(1).into());
    insta::assert_snapshot!("help_80x24", screen(&mut a, 80, 24).backend());
    a.on_key(key(KeyCode::Esc));
    a.focus = Focus::Knowledge;
    insta::assert_snapshot!("narrow_knowledge_80x24", screen(&mut a, 80, 24).backend());
}

#[test]
fn a_draft_streams_into_the_editor_and_the_agent_edits_and_sends() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    let r = customer_says(
        &mut a,
        "T-1",
        "When will my refund arrive?",
        &["Hi Ana, ", "card refunds take 5-7 business days."],
    );
    assert_eq!(a.editor.lines().join("\n"), "Hi Ana, card refunds take 5-7 business days.");
    finish(&mut a, "T-1", r, "Hi Ana, card refunds take 5-7 business days.");
    // The agent adds a sentence at the end and sends.
    a.editor.move_cursor(ratatui_textarea::CursorMove::Bottom);
    a.editor.move_cursor(ratatui_textarea::CursorMove::End);
    for c in " Sorry for the wait!".chars() {
        a.on_key(key(KeyCode::Char(c)));
    }
    let fx = a.on_key(ctrl('s'));
    let sent = fx.iter().find_map(|e| match e {
        Effect::SaveDraft { draft } => Some(draft.clone()),
        _ => None,
    });
    let sent = sent.expect("the draft outcome is saved");
    assert_eq!(sent.outcome, Some(DraftOutcome::Edited));
    assert_eq!(sent.final_text.as_deref(), Some("Hi Ana, card refunds take 5-7 business days. Sorry for the wait!"));
    assert!(fx.iter().any(|e| matches!(e, Effect::Deliver { .. })));
    assert!(a.editor.is_empty() || a.editor.lines() == [""]);
}

#[test]
fn alt_k_deletes_the_drafts_sentence_under_the_cursor_and_ctrl_y_puts_it_back() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    let text = "Hi Ana,\n\nCard refunds take 5-7 business days. Opened items carry a 15% fee. Store credit is instant.";
    let r = customer_says(&mut a, "T-1", "When will my refund arrive?", &[text]);
    finish(&mut a, "T-1", r, text);
    // The cursor on the second sentence of the body (line 2).
    a.editor.move_cursor(ratatui_textarea::CursorMove::Jump(2, 45));
    let alt_k = KeyEvent::new(KeyCode::Char('k'), KeyModifiers::ALT);
    let fx = a.on_key(alt_k);
    assert_eq!(a.editor.lines().join("\n"), "Hi Ana,\n\nCard refunds take 5-7 business days. Store credit is instant.");
    assert!(fx.is_empty() || !fx.iter().any(|e| matches!(e, Effect::Deliver { .. })), "nothing is sent");
    // The reducer has the edited text: switching away and back keeps it.
    let kept = a.state.selected_view().map(|c| c.editor.clone()).unwrap_or_default();
    assert_eq!(kept, a.editor.lines().join("\n"));
    a.on_key(ctrl('y'));
    assert_eq!(
        a.editor.lines().join("\n"),
        "Hi Ana,\n\nCard refunds take 5-7 business days. Opened items carry a 15% fee. Store credit is instant."
    );
    // On a blank line it does nothing.
    a.editor.move_cursor(ratatui_textarea::CursorMove::Jump(1, 0));
    a.on_key(alt_k);
    assert_eq!(a.editor.lines().len(), 3);
    // A sentence alone on its line takes the line with it.
    a.editor.move_cursor(ratatui_textarea::CursorMove::Jump(0, 2));
    a.on_key(alt_k);
    assert_eq!(
        a.editor.lines().join("\n"),
        "\nCard refunds take 5-7 business days. Opened items carry a 15% fee. Store credit is instant."
    );
}

#[test]
fn typing_during_streaming_is_never_overwritten() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    let r = customer_says(&mut a, "T-1", "refund?", &["Hi "]);
    a.editor.select_all();
    a.editor.cut();
    for c in "Let me check".chars() {
        a.on_key(key(KeyCode::Char(c)));
    }
    a.apply(Msg::DraftChunk { conversation: "T-1".into(), request: r, text: "Ana".into() });
    finish(&mut a, "T-1", r, "Hi Ana");
    assert_eq!(a.editor.lines().join("\n"), "Let me check");
    let screen_text = text_of(&screen(&mut a, 160, 48));
    assert!(screen_text.contains("new draft ready"), "{screen_text}");
    a.on_key(KeyCode::F(3).into());
    assert!(matches!(a.overlay, Some(Overlay::Compare { .. })));
    let compare = text_of(&screen(&mut a, 160, 48));
    assert!(compare.contains("Your text vs the new draft"), "{compare}");
    a.on_key(key(KeyCode::Esc));
    a.on_key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::ALT));
    assert_eq!(a.editor.lines().join("\n"), "Hi Ana");
}

#[test]
fn keys_move_between_conversations_and_panes() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    open(&mut a, "T-2", "Marcus Bell", "en");
    customer_says(&mut a, "T-2", "WHERE IS MY TABLE", &[]);
    assert_eq!(a.state.selected, Some(0));
    assert_eq!(a.state.conversations[1].unread, 1);
    a.on_key(ctrl('o'));
    assert_eq!(a.state.selected, Some(1), "oldest waiting");
    assert_eq!(a.state.conversations[1].unread, 0);
    a.on_key(ctrl('n'));
    assert_eq!(a.state.selected, Some(0));
    a.on_key(key(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Queue);
    a.on_key(key(KeyCode::Down));
    assert_eq!(a.state.selected, Some(1));
    // In navigation, `q` quits; in the editor it is just a letter.
    a.on_key(key(KeyCode::Char('e')));
    assert_eq!(a.focus, Focus::Editor);
    a.on_key(key(KeyCode::Char('q')));
    assert!(!a.quit);
    a.on_key(ctrl('q'));
    assert!(a.quit);
}

#[test]
fn notes_resolve_escalate_and_paste() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    a.on_key(ctrl('t'));
    let fx = a.on_paste("VIP customer,\r\nhandle with care");
    assert!(fx.is_empty());
    let fx = a.on_key(ctrl('s'));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Deliver { .. })), "notes are not delivered");
    let msg = a.state.conversations[0].messages.last().expect("note");
    assert!(msg.internal && msg.author == Author::Agent);
    assert_eq!(msg.text, "VIP customer,\nhandle with care");
    a.on_channel(ChannelEvent::Message {
        conversation: "T-1".into(),
        message: Message::customer("My order HP-20417 arrived broken, what now?", T0),
    });
    let fx = a.on_key(KeyCode::F(8).into());
    assert!(fx.iter().any(|e| matches!(e, Effect::PersistStatus { status: Status::Escalated, .. })), "{fx:?}");
    // The handoff summary: an internal note, stored, never delivered.
    let note = a.state.conversations[0].messages.last().expect("summary");
    assert!(note.internal && note.author == Author::System, "{note:?}");
    assert!(note.text.starts_with("Summary (escalated): Situation: My order HP-20417 arrived broken"), "{}", note.text);
    assert!(
        note.text.contains("(order HP-20417)") && note.text.contains("Open: The customer's message has no reply yet."),
        "their only message is the situation, not repeated: {}",
        note.text
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::PersistMessage { message, .. } if message.text == note.text)));
    assert!(!fx.iter().any(|e| matches!(e, Effect::Deliver { .. })));
    let fx = a.on_key(KeyCode::F(7).into());
    assert!(fx.iter().any(|e| matches!(e, Effect::PersistStatus { status: Status::Resolved, .. })), "{fx:?}");
    let s = text_of(&screen(&mut a, 160, 40));
    assert!(s.contains("Summary (resolved)"), "the note shows in the conversation:\n{s}");
}

#[test]
fn customer_text_cannot_inject_escape_sequences() {
    let mut a = app();
    open(&mut a, "T-1", "Eve\u{1b}[31m", "en");
    let huge = "x".repeat(200_000);
    a.on_channel(ChannelEvent::Message { conversation: "T-1".into(), message: Message::customer(huge, T0) });
    let evil = "hello \u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{1b}[H bye \u{202e}gnp.exe";
    a.on_channel(ChannelEvent::Message { conversation: "T-1".into(), message: Message::customer(evil, T0 + 1) });
    let text = text_of(&screen(&mut a, 160, 48));
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'));
    assert!(text.contains("^[]52;c;"), "escapes are shown, neutralised:\n{text}");
}

#[test]
fn long_conversations_scroll_and_render_only_what_shows() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    for i in 0..500 {
        let m = if i % 2 == 0 {
            Message::customer(format!("message {i} about my order"), T0 + i)
        } else {
            Message::agent(format!("reply {i}"), T0 + i)
        };
        a.state.conversations[0].messages.push(m);
    }
    let text = text_of(&screen(&mut a, 200, 50));
    assert!(text.contains("reply 499") && !text.contains("message 2 about"));
    a.focus = Focus::Conversation;
    a.on_key(key(KeyCode::Home));
    let text = text_of(&screen(&mut a, 200, 50));
    assert!(text.contains("lines below"), "{text}");
}

#[test]
fn tiny_and_odd_terminal_sizes_do_not_panic() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    let r = customer_says(&mut a, "T-1", "When will my refund arrive?", &["Hi"]);
    finish(&mut a, "T-1", r, "Hi Ana");
    a.on_key(key(KeyCode::Home));
    for (w, h) in [(1, 1), (2, 2), (10, 3), (20, 5), (40, 10), (109, 30), (110, 12), (300, 100)] {
        for focus in [Focus::Queue, Focus::Conversation, Focus::Knowledge, Focus::Editor] {
            a.focus = focus;
            screen(&mut a, w, h);
        }
        a.on_key(KeyCode::F(1).into());
        screen(&mut a, w, h);
        a.on_key(key(KeyCode::Esc));
    }
}

#[test]
fn wrapped_messages_lose_no_characters() {
    let mut a = app();
    open(&mut a, "T-1", "Ana Souza", "en");
    let words: Vec<String> = (0..60).map(|i| format!("word{i}.")).collect();
    let text = words.join(" ");
    a.on_channel(ChannelEvent::Message { conversation: "T-1".into(), message: Message::customer(text, T0) });
    // A word longer than the pane is broken exactly at the wrap width: every character must show.
    a.on_channel(ChannelEvent::Message {
        conversation: "T-1".into(),
        message: Message::customer("Z".repeat(300), T0 + 1),
    });
    for (w, h) in [(80, 40), (120, 40), (200, 50)] {
        let screen = text_of(&screen(&mut a, w, h));
        for word in &words {
            assert!(screen.contains(word.as_str()), "{word} cut at {w}x{h}:\n{screen}");
        }
        assert_eq!(screen.matches('Z').count(), 300, "characters cut at {w}x{h}:\n{screen}");
    }
}

/// The conversation's title shows the key details the customer gave (orders, amounts, dates with
/// relative ones resolved), read again only from new messages.
#[test]
fn the_title_shows_the_customers_key_details() {
    let mut a = app();
    open(&mut a, "T-9", "Li Wei", "zh");
    let msg = |text: &str| ChannelEvent::Message {
        conversation: ConversationId::from("T-9"),
        message: deskpilot::desk::Message::customer(text, T0),
    };
    // T0 is 2023-11-14 (a Tuesday): 上周二 is 2023-11-07.
    a.on_channel(msg("我上周二下的订单 HP-30112，付了299元"));
    let s = text_of(&screen(&mut a, 160, 30));
    let title = s.lines().next().unwrap_or_default();
    assert!(title.contains("2023-11-07 · order HP-30112 · CNY 299.00"), "{title}");
    a.on_channel(msg("The AH-200 heater, if that helps"));
    let s = text_of(&screen(&mut a, 220, 30));
    let title = s.lines().next().unwrap_or_default();
    assert!(title.contains("AH-200"), "{title}");
}

/// The intent retrieval found tags the conversation (topic and confidence) and the queue row
/// (category).
#[test]
fn the_intent_tags_the_conversation_and_the_queue() {
    let mut a = app();
    open(&mut a, "T-3", "Ana Souza", "en");
    let fx = a.on_channel(ChannelEvent::Message {
        conversation: "T-3".into(),
        message: Message::customer("when do I get my money back?", T0 + 30_000),
    });
    let request = fx.iter().find_map(|e| match e {
        Effect::Retrieve { request, .. } => Some(*request),
        _ => None,
    });
    let intent = deskpilot::desk::Intent { topic: "refund-timeline".into(), category: "returns".into(), p: 0.82 };
    let retrieval = Retrieval { intent: Some(intent), ..retrieval() };
    a.apply(Msg::RetrievalDone { conversation: "T-3".into(), request: request.expect("retrieval"), retrieval });
    let s = text_of(&screen(&mut a, 200, 30));
    let title = s.lines().next().unwrap_or_default();
    assert!(title.contains("returns/refund-timeline 82%"), "{title}");
    assert!(s.contains("open · waiting") && s.contains("· returns"), "{s}");
}

#[test]
fn a_customer_getting_angrier_raises_the_priority_and_suggests_escalating() {
    let mut a = app();
    open(&mut a, "T-3", "Sam Lee", "en");
    let say = |a: &mut App, text: &str| {
        a.on_channel(ChannelEvent::Message { conversation: "T-3".into(), message: Message::customer(text, T0) })
    };
    let fx = say(&mut a, "Where is my refund?");
    assert!(!fx.iter().any(|e| matches!(e, Effect::PersistPriority { .. })), "a plain question changes nothing");
    say(&mut a, "It's been two weeks, still nothing.");
    assert_eq!(a.state.conversations[0].conversation.priority, deskpilot::desk::Priority::High);
    let fx = say(&mut a, "This is RIDICULOUS!!");
    assert!(
        fx.iter().any(|e| matches!(e, Effect::PersistPriority { priority: deskpilot::desk::Priority::Urgent, .. })),
        "{fx:?}"
    );
    let s = text_of(&screen(&mut a, 320, 30));
    let title = s.lines().next().unwrap_or_default();
    assert!(title.contains("escalate? frustration rising on a repeated contact"), "{title}");
    assert!(title.contains("upset, rising · asked before ×1"), "{title}");
    assert!(s.contains("!!Sam Lee"), "the queue marks it urgent:\n{s}");
}

#[test]
fn the_profile_panel_shows_the_customer_their_orders_and_conversations() {
    use deskpilot::desk::PastConversation;
    let mut a = app();
    open(&mut a, "T-7", "Maya Chen", "en");
    a.on_channel(ChannelEvent::Message {
        conversation: ConversationId::from("T-7"),
        message: Message::customer("Where is order HP-20417? It was due Monday", T0),
    });
    a.focus = Focus::Queue;
    let fx = a.on_key(key(KeyCode::Char('p')));
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadHistory { customer } if customer.0 == "cus-T-7")), "{fx:?}");
    assert!(matches!(&a.overlay, Some(Overlay::Profile { view, .. }) if view.history.is_none()));
    let loading = text_of(&screen(&mut a, 140, 40));
    assert!(loading.contains("Tier: Harbor+ · Language: English"), "{loading}");
    assert!(loading.contains("Reading their conversations"), "{loading}");
    let past = |id: &str, status, summary: &str, orders: &[&str]| PastConversation {
        id: ConversationId::from(id),
        status,
        channel: "web".into(),
        updated_at: T0 - 86_400_000,
        summary: summary.into(),
        orders: orders.iter().map(|o| o.to_string()).collect(),
    };
    let history = vec![
        past("T-7", Status::Open, "Asks where order HP-20417 is", &["HP-20417"]),
        past("T-3", Status::Resolved, "Lamp arrived broken; replacement sent", &["HP-19002"]),
    ];
    // A reply for another customer's profile is ignored.
    deskpilot::tui::details::history_arrived(&mut a, &"cus-other".into(), history.clone());
    assert!(matches!(&a.overlay, Some(Overlay::Profile { view, .. }) if view.history.is_none()));
    deskpilot::tui::details::history_arrived(&mut a, &"cus-T-7".into(), history);
    let s = text_of(&screen(&mut a, 140, 40));
    for want in [
        "order HP-20417",
        "HP-19002 (not on file) · asked about in T-3 (resolved)",
        "Open issues",
        "T-7 (this conversation) · web · open",
        "Lamp arrived broken",
    ] {
        assert!(s.contains(want), "{want:?} missing in\n{s}");
    }
    let (earlier, open_at) = (s.find("Earlier conversations").unwrap(), s.find("T-3 · web").unwrap());
    assert!(open_at > earlier, "{s}");
    // On a narrow screen a long entry wraps under its own text, not at the margin.
    let narrow = text_of(&screen(&mut a, 60, 30));
    let rows: Vec<&str> = narrow.lines().collect();
    let at = rows.iter().position(|r| r.contains("T-7 (this conversation)")).expect("the open issue");
    let next = rows[at + 1].split('┃').max_by_key(|s| s.len()).unwrap_or("");
    assert!(next.starts_with("    ") && !next.trim().is_empty(), "{narrow}");
    a.on_key(key(KeyCode::Esc));
    assert!(a.overlay.is_none());
}
