//! Frame rendering at 200x50 with a 500-message conversation, a retrieval and a draft: the
//! console's per-frame cost once wrapped lines are cached (steady state), and a cold frame; and
//! the review console's list scrolling through 10,000 drafts.

use criterion::{Criterion, criterion_group, criterion_main};
use deskpilot::desk::ports::ChannelEvent;
use deskpilot::desk::{Conversation, Customer, Message, Msg, Passage, Priority, RequestId, Retrieval, Status, Tier};
use deskpilot::tui::app::{App, Info};
use deskpilot::tui::keymap::Keymap;
use deskpilot::tui::render::render;
use deskpilot::tui::text::WrapCache;
use deskpilot::tui::theme::{Theme, ThemeName};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::hint::black_box;

fn app_with_history() -> App {
    let info = Info { drafter: "extractive".into(), kb_articles: 57, last_retrieval_ms: Some(0.4) };
    let mut app = App::new(Theme::new(ThemeName::Dark), Keymap::defaults(), info, Box::new(|_| None));
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
    let customer = Customer {
        id: "c".into(),
        name: "Ana Souza".into(),
        email: "a@example.com".into(),
        language: "en".into(),
        tier: Tier::Plus,
        notes: String::new(),
    };
    app.on_channel(ChannelEvent::NewConversation {
        conversation: Box::new(conversation),
        customer: Box::new(customer),
        history: Vec::new(),
    });
    for i in 0..500 {
        let text = format!(
            "Message {i}: I ordered a linen duvet cover last week and the tracking page still says label created, could you check what is going on with order HP-{:05}? Thanks a lot for your help with this.",
            20000 + i
        );
        let m = if i % 2 == 0 { Message::customer(text, i) } else { Message::agent(text, i) };
        app.state.conversations[0].messages.push(m);
    }
    let passages = (0..5)
        .map(|i| Passage {
            slug: format!("a{i}"),
            title: format!("Article {i}"),
            section: vec!["Section".into()],
            text: "Standard shipping takes 3-5 business days and costs $4.99, free on orders over $50. Express takes 1-2 business days.".into(),
            score: 10.0,
            highlights: vec![0..8, 18..23],
        })
        .collect();
    app.apply(Msg::Regenerate { conversation: "T-1".into() });
    app.apply(Msg::RetrievalDone {
        conversation: "T-1".into(),
        request: RequestId(1),
        retrieval: Retrieval { passages, evidence: vec![], confidence: 0.8, vectors: None, intent: None },
    });
    app.apply(Msg::DraftChunk {
        conversation: "T-1".into(),
        request: RequestId(1),
        text: "Hi Ana, standard shipping takes 3-5 business days.".into(),
    });
    app
}

fn frames(c: &mut Criterion) {
    let app = app_with_history();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    c.bench_function("render_200x50_500_messages_warm", |b| {
        b.iter(|| {
            terminal.draw(|f| render(black_box(&app), f)).expect("draw");
        })
    });
    c.bench_function("render_200x50_500_messages_cold_cache", |b| {
        b.iter(|| {
            *app.wrap.borrow_mut() = WrapCache::default();
            terminal.draw(|f| render(black_box(&app), f)).expect("draw");
        })
    });
}

/// The review list over a seeded store of 10,000 drafts: one frame per step while the selection
/// moves down (wrapping to the top at the end), 160x48. A frame must stay well under 16.7 ms.
fn review_list(c: &mut Criterion) {
    use crossterm::event::{KeyCode, KeyEvent};
    use deskpilot::tui::review::render as review_render;
    use deskpilot::tui::review::state::ReviewApp;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = deskpilot::store::SqliteStore::open_in(dir.path()).expect("store");
    deskpilot::review::seed::seed(&mut store, 10_000, 7).expect("seed");
    let rows = store.review_rows(&Default::default()).expect("rows");
    let mut app = ReviewApp::new(rows, Theme::new(ThemeName::Dark), Keymap::defaults());
    app.page = review_render::list_page(48);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    c.bench_function("review_list_160x48_10k_rows_scroll_frame", |b| {
        b.iter(|| {
            let key = if app.selected + 1 == app.visible.len() { KeyCode::Home } else { KeyCode::Down };
            app.on_key(KeyEvent::from(key));
            terminal.draw(|f| review_render::render(black_box(&app), f)).expect("draw");
        })
    });
}

criterion_group!(benches, frames, review_list);
criterion_main!(benches);
