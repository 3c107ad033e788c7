//! The real console event loop on ratatui's `TestBackend`: demo customers arrive over the real
//! channel, retrieval and drafting run on the real worker threads over the bundled KB, keys are
//! typed through the event stream, and the store is a real SQLite file.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use deskpilot::desk::ports::{DraftRequest, DraftResult, Drafter, Flow, PortError};
use deskpilot::desk::{DraftState, RequestId};
use deskpilot::store::SqliteStore;
use deskpilot::tui::app::App;
use deskpilot::tui::{ConsoleOptions, Prepared, event_loop, prepare};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// Two customers whose first messages arrive at the same moment.
const TWO_AT_ONCE: &str = r#"
[[customer]]
id = "cus-a"
name = "Ada Park"
email = "ada@example.com"
language = "en"
tier = "standard"

[[customer]]
id = "cus-b"
name = "Ben Ortiz"
email = "ben@example.com"
language = "en"
tier = "standard"

[[conversation]]
id = "A"
customer = "cus-a"
priority = "normal"
start = 0.0
[[conversation.turn]]
text = "How much does express shipping cost?"
[[conversation.turn]]
text = "Thanks, and how long does it take?"
delay = 1.0

[[conversation]]
id = "B"
customer = "cus-b"
priority = "normal"
start = 0.0
[[conversation.turn]]
text = "I was charged twice for my order, what can I do?"
"#;

struct Fixture {
    dir: tempfile::TempDir,
    scenarios: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let scenarios = dir.path().join("scenarios.toml");
        std::fs::write(&scenarios, TWO_AT_ONCE).expect("scenarios");
        Self { dir, scenarios }
    }

    fn data(&self) -> &Path {
        self.dir.path()
    }

    /// Settings for a run; `drafter` picks the extractive or the shipped neural drafter.
    fn settings(&self, drafter: &str) -> deskpilot::config::Settings {
        let config = self.dir.path().join(format!("config-{drafter}.toml"));
        std::fs::write(&config, format!("[model]\ndrafter = \"{drafter}\"\n[retrieval]\nmode = \"lexical\"\n"))
            .expect("config");
        deskpilot::config::load(Some(&config), Some(self.data())).expect("settings")
    }

    fn options(&self, fresh: bool) -> ConsoleOptions {
        ConsoleOptions {
            kb_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("kb"),
            speed: 20.0,
            seed: 1,
            scenarios: Some(self.scenarios.clone()),
            fresh,
            model_dir: None,
            demo: true,
            http: None,
        }
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

fn quit() -> Event {
    key(KeyCode::Char('q'), KeyModifiers::CONTROL)
}

/// Runs the real event loop until `done` holds after a frame (then quits with Ctrl-Q, typed like
/// any key). `done` sees the app and the screen's text, and may type keys. Fails after a
/// generous deadline: this bounds a hung test, it does not measure speed.
fn drive(prepared: Prepared, mut done: impl FnMut(&App, &str, &UnboundedSender<Event>) -> bool) -> (App, String) {
    let Prepared { mut app, mut shell, worker_rx, lock } = prepared;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
    let events = Box::pin(async_stream(move || {
        let rx = rx.clone();
        async move { rx.lock().await.recv().await }
    }));
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    let mut screen = String::new();
    let mut quitting = false;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let result = rt.block_on(async {
        let mut observe = |app: &App, t: &Terminal<TestBackend>| {
            screen = crate::util::text_of(t);
            if !quitting && done(app, &screen, &tx) {
                quitting = true;
                let _ = tx.send(quit());
            }
        };
        tokio::time::timeout(
            Duration::from_secs(90),
            event_loop(&mut terminal, &mut app, &mut shell, worker_rx, events, &mut observe),
        )
        .await
    });
    match result {
        Ok(r) => r.expect("event loop"),
        Err(_) => panic!("the console never reached the expected state; last screen:\n{screen}"),
    }
    for (conversation, text) in app.state.autosave.flush() {
        shell.workers.store(deskpilot::tui::workers::StoreOp::Autosave(conversation, text, 0));
    }
    shell.workers.flush();
    drop(lock);
    (app, screen)
}

/// A stream of terminal events from repeated calls of `next`.
fn async_stream<F, Fut>(next: F) -> impl futures_util::Stream<Item = std::io::Result<Event>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<Event>>,
{
    futures_util::stream::unfold(next, |mut next| async move { next().await.map(|e| (Ok(e), next)) })
}

fn ready(app: &App, id_suffix: &str) -> bool {
    app.state.conversations.iter().any(|c| {
        c.conversation.id.0.ends_with(id_suffix)
            && c.retrieval.as_ref().is_some_and(|r| !r.passages.is_empty())
            && matches!(c.draft, DraftState::Ready { .. })
    })
}

#[test]
fn two_customers_writing_in_one_tick_both_get_knowledge_and_a_draft() {
    let f = Fixture::new();
    let prepared = prepare(&f.settings("extractive"), &f.options(true)).expect("prepare");
    let (app, screen) = drive(prepared, |app, _, _| ready(app, "-A") && ready(app, "-B"));
    assert_eq!(app.state.conversations.len(), 2);
    for c in &app.state.conversations {
        assert!(!c.editor.trim().is_empty(), "{} has a draft in its editor", c.conversation.id);
    }
    assert!(app.frames > 0);
    assert!(screen.contains("Ada Park") && screen.contains("Ben Ortiz"), "{screen}");
}

#[test]
fn typed_keys_edit_the_draft_and_send_it_through_the_real_loop() {
    let f = Fixture::new();
    let prepared = prepare(&f.settings("extractive"), &f.options(true)).expect("prepare");
    let mut typed = false;
    let (app, screen) = drive(prepared, |app, _, keys| {
        if !typed && ready(app, "-A") && ready(app, "-B") {
            typed = true;
            for c in " OK-TYPED".chars() {
                let _ = keys.send(key(KeyCode::Char(c), KeyModifiers::NONE));
            }
            let _ = keys.send(key(KeyCode::Char('s'), KeyModifiers::CONTROL));
        }
        app.state.selected_view().is_some_and(|c| c.messages.last().is_some_and(|m| m.text.ends_with("OK-TYPED")))
    });
    assert!(screen.contains("OK-TYPED"), "{screen}");
    let sent = app.state.selected_view().expect("selected").conversation.id.clone();
    let store = SqliteStore::open_in(f.data()).expect("store");
    let drafts = store.drafts(Some(&sent)).expect("drafts");
    assert_eq!(drafts.len(), 1, "{drafts:#?}");
    assert_eq!(drafts[0].draft.outcome, Some(deskpilot::desk::DraftOutcome::Edited));
    assert!(drafts[0].draft.final_text.as_deref().is_some_and(|t| t.ends_with("OK-TYPED")));
}

#[test]
fn two_runs_on_one_store_keep_both_drafts_and_a_resumed_customer_gets_a_fresh_draft() {
    let f = Fixture::new();
    // Run 1, extractive: both customers get a draft; nobody answers.
    let prepared = prepare(&f.settings("extractive"), &f.options(true)).expect("prepare");
    drive(prepared, |app, _, _| ready(app, "-A") && ready(app, "-B"));
    let store = SqliteStore::open_in(f.data()).expect("store");
    let first = store.drafts(None).expect("drafts");
    assert_eq!(first.len(), 2, "{first:#?}");
    drop(store);

    // Run 2 resumes, with the shipped neural generator: the knowledge pane and a draft come back
    // for both waiting customers without anyone writing again.
    let prepared = prepare(&f.settings("neural"), &f.options(false)).expect("prepare again");
    let (app, _) = drive(prepared, |app, _, _| ready(app, "-A") && ready(app, "-B"));
    let ids: Vec<RequestId> =
        app.state.conversations.iter().filter_map(|c| c.last_draft.as_ref()).map(|d| d.request).collect();
    assert_eq!(ids.len(), 2);

    let store = SqliteStore::open_in(f.data()).expect("store");
    let all = store.drafts(None).expect("drafts");
    assert_eq!(all.len(), 4, "each run's drafts have their own rows: {all:#?}");
    for old in &first {
        let now = all.iter().find(|d| d.id == old.id).expect("first run's draft is still there");
        assert_eq!(now.draft.generated, old.draft.generated, "generated text kept");
        assert_eq!(now.draft.model_version, old.draft.model_version, "model version kept");
        assert_eq!(now.draft.request, old.draft.request);
    }
    let mut requests: Vec<u64> = all.iter().map(|d| d.draft.request.0).collect();
    requests.sort_unstable();
    requests.dedup();
    assert_eq!(requests.len(), 4, "request ids are unique across runs: {requests:?}");
    let versions: Vec<&str> = all.iter().map(|d| d.draft.model_version.as_str()).collect();
    assert!(versions[..2].iter().all(|v| v.starts_with("extractive")), "{versions:?}");
    assert!(versions[2..].iter().all(|v| v.starts_with("neural")), "{versions:?}");
}

#[test]
fn a_resumed_editor_with_typed_text_gets_knowledge_but_keeps_its_text() {
    let f = Fixture::new();
    let prepared = prepare(&f.settings("extractive"), &f.options(true)).expect("prepare");
    // The agent clears the draft and types their own reply in the first conversation.
    let (_, _) = drive(prepared, |app, _, _| ready(app, "-A") && ready(app, "-B"));
    {
        let mut store = SqliteStore::open_in(f.data()).expect("store");
        let convs = store.conversations().expect("conversations");
        let a = convs.iter().find(|c| c.id.0.ends_with("-A")).expect("A");
        store.put_autosave(&a.id, "MY OWN WORDS", 1).expect("autosave");
    }
    let before = SqliteStore::open_in(f.data()).expect("store").drafts(None).expect("drafts").len();
    let prepared = prepare(&f.settings("extractive"), &f.options(false)).expect("prepare again");
    let (app, _) = drive(prepared, |app, _, _| {
        app.state.conversations.iter().all(|c| c.retrieval.is_some() && c.draft.pending_request().is_none())
            && ready(app, "-B")
    });
    let a = app.state.conversations.iter().find(|c| c.conversation.id.0.ends_with("-A")).expect("A");
    assert_eq!(a.editor, "MY OWN WORDS");
    assert!(a.retrieval.as_ref().is_some_and(|r| !r.passages.is_empty()));
    let after = SqliteStore::open_in(f.data()).expect("store").drafts(None).expect("drafts").len();
    assert_eq!(after, before + 1, "only the conversation with an empty editor was drafted again");
}

/// A drafter that panics on every draft (a broken model, say).
struct Panics;

impl Drafter for Panics {
    fn draft(&mut self, _: &DraftRequest, _: &mut dyn FnMut(&str) -> Flow) -> Result<DraftResult, PortError> {
        panic!("index out of bounds: the len is 0 but the index is 0")
    }
}

#[test]
fn a_panicking_drafter_is_reported_replaced_and_ctrl_q_still_quits() {
    let f = Fixture::new();
    let settings = f.settings("extractive");
    let config = settings.config.clone();
    let mut prepared = prepare(&settings, &f.options(true)).expect("prepare");
    // Swap in workers whose drafter panics; the fallback is the extractive drafter.
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let index = deskpilot::retrieval::Retriever::open(&f.options(true).kb_dir, f.data(), &|_, _| {}).expect("index").0;
    let store = SqliteStore::open(&f.data().join("second.sqlite3")).expect("store");
    let load: deskpilot::tui::workers::LoadDrafter = Box::new(move |fallback| {
        if fallback {
            deskpilot::model::DrafterChoice::from_config(&config, None, Some("extractive")).load()
        } else {
            Ok((Box::new(Panics), "neural-broken".to_owned()))
        }
    });
    prepared.shell.workers =
        deskpilot::tui::workers::Workers::start(Box::new(index), None, load, store, tx).expect("workers");
    prepared.worker_rx = rx;
    let mut saw_crash = false;
    let (app, _) = drive(prepared, |app, screen, _| {
        saw_crash |= screen.contains("the drafter crashed: index out of bounds");
        saw_crash && ready(app, "-A") && ready(app, "-B")
    });
    assert!(app.info.drafter.starts_with("extractive"), "fell back: {}", app.info.drafter);
    let drafts: Vec<&str> = app.state.conversations.iter().map(|c| c.editor.as_str()).collect();
    assert!(drafts.iter().all(|d| !d.trim().is_empty()), "{drafts:?}");
    assert!(app.quit, "Ctrl-Q quit the console after the crashes");
}

/// An idle console (no customer writing, nobody waiting) draws its first frame and then nothing:
/// a minute of the loop's clock (tokio's paused test clock, so the test takes milliseconds) must
/// not redraw the screen ten times a second.
#[test]
fn an_idle_console_does_not_redraw() {
    let f = Fixture::new();
    std::fs::write(&f.scenarios, "customer = []\nconversation = []\n").expect("scenarios");
    let Prepared { mut app, mut shell, worker_rx, lock } =
        prepare(&f.settings("extractive"), &f.options(true)).expect("prepare");
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    let frames = rt.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let events = Box::pin(async_stream(move || {
            let rx = rx.clone();
            async move { rx.lock().await.recv().await }
        }));
        let quit_later = async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let _ = tx.send(quit());
            tokio::time::sleep(Duration::from_secs(3600)).await;
        };
        let mut observe = |_: &App, _: &Terminal<TestBackend>| {};
        tokio::select! {
            r = event_loop(&mut terminal, &mut app, &mut shell, worker_rx, events, &mut observe) => r.expect("loop"),
            _ = quit_later => panic!("the console did not quit"),
        }
        app.frames
    });
    drop(lock);
    // The first frame, and at most a couple for the drafter becoming ready (a worker message).
    assert!(frames <= 3, "{frames} frames in an idle minute");
}
