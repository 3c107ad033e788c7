//! Supervisor review: the store's review records, analytics on a seeded store, export masking,
//! the review console's screens and actions, and the approval queue through the store.

use crate::util::{deskpilot, stderr, stdout};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use deskpilot::desk::{Draft, DraftOutcome, DraftTimings, RequestId, Source};
use deskpilot::review::Stats;
use deskpilot::review::seed::{SEED_T0, seed};
use deskpilot::store::{ApprovalState, DraftFilter, SqliteStore};
use deskpilot::tui::keymap::Keymap;
use deskpilot::tui::review::state::View;
use deskpilot::tui::review::{ReviewConsole, render};
use deskpilot::tui::theme::{Theme, ThemeName};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn seeded(n: usize) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = SqliteStore::open_in(dir.path()).expect("store");
    seed(&mut store, n, 7).expect("seed");
    (dir, store)
}

fn draft(request: u64, generated: &str, sent: Option<&str>, outcome: DraftOutcome) -> Draft {
    Draft {
        conversation: "T-9".into(),
        request: RequestId(request),
        generated: generated.into(),
        sources: vec![Source { slug: "refund-timeline".into(), title: "Refund timeline".into() }],
        model_version: "t".into(),
        timings: DraftTimings::default(),
        final_text: sent.map(str::to_owned),
        outcome: Some(outcome),
    }
}

#[test]
fn drafts_record_agent_send_time_and_edit_distance() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = SqliteStore::open_in(dir.path()).expect("store");
    s.set_agent("kim");
    let mut d = draft(1, "Card refunds take 5-7 business days.", None, DraftOutcome::Edited);
    d.outcome = None;
    s.put_draft(&d).expect("shown");
    let rows = s.review_rows(&DraftFilter::default()).expect("rows");
    assert_eq!((rows[0].agent.as_str(), rows[0].edit_distance, rows[0].sent_ms), ("kim", None, None));
    assert!(rows[0].shown_ms.is_some());
    d.final_text = Some("Card refunds take 3-5 business days.".into());
    d.outcome = Some(DraftOutcome::Edited);
    s.put_draft(&d).expect("sent");
    s.set_draft_warnings(&"T-9".into(), RequestId(1), &["3-5".into()]).expect("warnings");
    let rows = s.review_rows(&DraftFilter { since: None, agent: Some("kim".into()) }).expect("rows");
    assert_eq!(rows.len(), 1);
    assert!((rows[0].edit_distance.expect("distance") - 1.0 / 6.0).abs() < 1e-9);
    assert!(rows[0].time_to_send().is_some_and(|t| t >= 0));
    assert_eq!(rows[0].warnings, ["3-5"]);
    assert!(s.review_rows(&DraftFilter { since: None, agent: Some("bo".into()) }).expect("rows").is_empty());
}

#[test]
fn stats_on_a_seeded_store() {
    let (_dir, store) = seeded(2000);
    let rows = store.review_rows(&DraftFilter::default()).expect("rows");
    let stats = Stats::compute(&rows, store.kb_gaps(None, 10).expect("gaps"));
    let o = &stats.overall;
    assert_eq!(o.drafts, 2000);
    assert_eq!(o.mix.sent_as_is + o.mix.edited + o.mix.rewritten + o.mix.discarded, 2000);
    // The seeded mix is 45/30/15/10.
    assert!((800..1000).contains(&o.mix.sent_as_is), "{:?}", o.mix);
    assert!((100..300).contains(&o.mix.discarded), "{:?}", o.mix);
    assert_eq!(stats.per_agent.len(), 5);
    assert_eq!(stats.per_agent.iter().map(|g| g.drafts).sum::<u64>(), 2000);
    assert_eq!(stats.per_article.len(), 8);
    assert_eq!(stats.per_day.len(), 30);
    assert_eq!(stats.per_day[0].key, "2026-01-01");
    // As-is drafts have distance 0, and they are the plurality: the median is small.
    assert!(rows.iter().filter(|r| r.outcome == Some(DraftOutcome::SentAsIs)).all(|r| r.edit_distance == Some(0.0)));
    assert!(o.median_edit_distance.is_some_and(|m| m < 0.5), "{:?}", o.median_edit_distance);
    assert!(o.median_time_to_send_ms.is_some_and(|t| (5_000.0..=125_000.0).contains(&t)));
    // "Do you ship to Iceland?" and "... iceland?" count as one gap, the most frequent.
    assert!(stats.kb_gaps[0].question.to_lowercase() == "do you ship to iceland?", "{:?}", stats.kb_gaps);
    assert_eq!(stats.kb_gaps.len(), 4);
    let text = stats.table();
    assert!(text.contains("Outcome mix") && text.contains("Knowledge gaps") && text.contains('█'), "{text}");
    let since = Stats::compute(
        &store.review_rows(&DraftFilter { since: Some(SEED_T0 + 15 * 86_400_000), agent: None }).expect("rows"),
        vec![],
    );
    assert_eq!(since.per_day.len(), 15);
}

#[test]
fn cli_stats_and_export_mask_pii_unless_unmasked() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut s = SqliteStore::open_in(dir.path()).expect("store");
        s.set_agent("kim");
        let sent = "Write to ana@example.com or call +1 415 555 0100 about order HP-20417.";
        s.put_draft(&draft(1, "Refunds take 5-7 business days.", Some(sent), DraftOutcome::Rewritten)).expect("draft");
        seed(&mut s, 40, 3).expect("seed");
    }
    let out = deskpilot(dir.path(), &["review", "--export", "csv", "--agent", "kim"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let csv = stdout(&out);
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.contains("Write to [email] or call [phone] about order [order]."), "{csv}");
    assert!(!csv.contains("ana@example.com"));
    let out = deskpilot(dir.path(), &["review", "--export", "json", "--agent", "kim", "--unmasked"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(rows[0]["sent"].as_str().map(|s| s.contains("ana@example.com")), Some(true));
    assert_eq!(rows[0]["outcome"], "rewritten");

    let out = deskpilot(dir.path(), &["review", "--stats", "--json", "--since", "2026-01-16"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    // Seeded drafts cover 2026-01-01..30 (half of them from the 16th on), plus the one written now.
    assert_eq!(stats["overall"]["drafts"], 21);
    let out = deskpilot(dir.path(), &["review", "--stats", "--since", "last week"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--since: expected a date like 2026-01-31, got \"last week\""), "{}", stderr(&out));
    let out = deskpilot(dir.path(), &["review", "--unmasked"]);
    assert_eq!(out.status.code(), Some(2), "--unmasked needs --export");
}

fn console(store: SqliteStore) -> ReviewConsole {
    let articles = Box::new(|slug: &str| {
        (slug == "refund-timeline").then(|| {
            (
                "Refund timeline".to_owned(),
                "# Refund timeline\n\nCard refunds take 5-7 business days to appear.".to_owned(),
            )
        })
    });
    ReviewConsole::new(store, "sup", Theme::new(ThemeName::Mono), Keymap::defaults(), articles).expect("console")
}

fn press(c: &mut ReviewConsole, keys: &str) {
    for ch in keys.chars() {
        c.on_key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE), SEED_T0).expect("key");
    }
}

fn code(c: &mut ReviewConsole, k: KeyCode) {
    c.on_key(KeyEvent::new(k, KeyModifiers::NONE), SEED_T0).expect("key");
}

fn screen(c: &mut ReviewConsole, w: u16, h: u16) -> Terminal<TestBackend> {
    c.app.page = render::list_page(h);
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| render::render(&c.app, f)).expect("draw");
    t
}

/// A store with a few seeded drafts, one edited draft with a warning and a flag, and a reply
/// waiting in the approval queue.
fn review_store() -> (tempfile::TempDir, SqliteStore) {
    let (dir, mut s) = seeded(12);
    s.set_agent("kim");
    let id = s
        .put_draft(&draft(
            100,
            "Hi Ana, card refunds take 5-7 business days to appear.",
            Some("Hi Ana, card refunds take 3-5 business days to appear. Sorry for the wait!"),
            DraftOutcome::Edited,
        ))
        .expect("draft");
    s.set_draft_times(id, "kim", SEED_T0 + 40 * 86_400_000, Some(SEED_T0 + 40 * 86_400_000 + 42_000)).expect("times");
    s.set_draft_warnings(&"T-9".into(), RequestId(100), &["3-5".into()]).expect("warnings");
    s.add_message(
        &"T-9".into(),
        &deskpilot::desk::Message::customer("When will my refund arrive?", SEED_T0 + 40 * 86_400_000 - 5000),
    )
    .expect("message");
    s.submit_approval(&"T-7".into(), None, "Your parcel ships tomorrow.", SEED_T0 + 41 * 86_400_000).expect("queue");
    (dir, s)
}

#[test]
fn snapshot_review_screens() {
    let (_dir, store) = review_store();
    let mut c = console(store);
    insta::assert_snapshot!("review_list_120x30", screen(&mut c, 120, 30).backend());
    insta::assert_snapshot!("review_list_80x24", screen(&mut c, 80, 24).backend());
    // The newest draft is kim's edited one: open it.
    code(&mut c, KeyCode::Enter);
    assert_eq!(c.app.view, View::Detail);
    insta::assert_snapshot!("review_detail_120x30", screen(&mut c, 120, 30).backend());
    insta::assert_snapshot!("review_detail_80x24", screen(&mut c, 80, 24).backend());
    code(&mut c, KeyCode::Esc);
    code(&mut c, KeyCode::Tab);
    assert_eq!(c.app.view, View::Stats);
    insta::assert_snapshot!("review_stats_120x40", screen(&mut c, 120, 40).backend());
    code(&mut c, KeyCode::Tab);
    assert_eq!(c.app.view, View::Queue);
    insta::assert_snapshot!("review_queue_100x16", screen(&mut c, 100, 16).backend());
}

#[test]
fn the_diff_reads_without_colour() {
    let (_dir, store) = review_store();
    let mut c = console(store);
    code(&mut c, KeyCode::Enter);
    let t = screen(&mut c, 160, 30);
    let text: String = t.backend().buffer().content().iter().map(|cell| cell.symbol()).collect();
    assert!(text.contains("[-5-7-] [+3-5+]"), "{text}");
    assert!(text.contains("[+Sorry for the wait!+]"), "{text}");
    assert!(text.contains("⚠ 3-5 found in no passage"), "{text}");
    assert!(text.contains("Card refunds take 5-7 business days to appear."), "cited passage: {text}");
}

#[test]
fn approve_flag_and_coach_from_the_console() {
    let (dir, store) = review_store();
    let mut c = console(store);
    let id = c.app.selected_row().map(|r| r.id).expect("row");
    press(&mut c, "a");
    press(&mut c, "x");
    press(&mut c, "wrong refund window");
    code(&mut c, KeyCode::Enter);
    press(&mut c, "c");
    press(&mut c, "Quote the article's 5-7 days");
    code(&mut c, KeyCode::Enter);
    let row = c.app.rows.iter().find(|r| r.id == id).expect("row");
    assert!(row.approved);
    assert_eq!(row.flags, ["wrong refund window"]);
    let mut agent = SqliteStore::open_in(dir.path()).expect("agent store");
    let notes = agent.coaching_notes("kim", true).expect("notes");
    assert_eq!(notes.len(), 1);
    assert_eq!((notes[0].supervisor.as_str(), notes[0].text.as_str()), ("sup", "Quote the article's 5-7 days"));
    agent.mark_note_seen(notes[0].id, 1).expect("seen");
    assert!(agent.coaching_notes("kim", true).expect("notes").is_empty());
    // An empty reason saves nothing.
    press(&mut c, "x");
    code(&mut c, KeyCode::Enter);
    assert_eq!(c.app.rows.iter().find(|r| r.id == id).map(|r| r.flags.len()), Some(1));
}

#[test]
fn filter_sort_and_search() {
    let (_dir, store) = seeded(300);
    let mut c = console(store);
    assert_eq!(c.app.visible.len(), 300);
    press(&mut c, "f"); // as-is only
    assert!(c.app.visible.iter().all(|&i| c.app.rows[i].outcome == Some(DraftOutcome::SentAsIs)));
    let as_is = c.app.visible.len();
    press(&mut c, "g"); // first agent
    assert!(c.app.visible.len() < as_is && c.app.visible.iter().all(|&i| c.app.rows[i].agent == "ana"));
    press(&mut c, "ffffffff"); // back to all
    press(&mut c, "g"); // next agent
    assert!(c.app.visible.iter().all(|&i| c.app.rows[i].agent == "ben"));
    press(&mut c, "gggg"); // past the last: all agents
    assert_eq!(c.app.visible.len(), 300);
    press(&mut c, "sssss"); // sort by time to send
    let t: Vec<i64> = c.app.visible.iter().map(|&i| c.app.rows[i].time_to_send().unwrap_or(-1)).collect();
    assert!(t.windows(2).all(|w| w[0] >= w[1]), "descending");
    press(&mut c, "S");
    let t: Vec<i64> = c.app.visible.iter().map(|&i| c.app.rows[i].time_to_send().unwrap_or(-1)).collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "ascending");
    press(&mut c, "/express");
    assert!(!c.app.visible.is_empty());
    assert!(c.app.visible.iter().all(|&i| c.app.rows[i].generated.to_lowercase().contains("express")));
    code(&mut c, KeyCode::Enter);
    code(&mut c, KeyCode::Esc); // clears the search
    assert_eq!(c.app.visible.len(), 300);
    code(&mut c, KeyCode::End);
    assert_eq!(c.app.selected, 299);
}

#[test]
fn queued_reply_is_decided_once_and_only_then_handed_to_the_agent() {
    let (dir, store) = review_store();
    let mut agent = SqliteStore::open_in(dir.path()).expect("agent store");
    agent.set_agent("kim");
    assert!(agent.take_decided_approvals("kim", 1).expect("poll").is_empty(), "nothing decided yet");
    let mut c = console(store);
    code(&mut c, KeyCode::Tab);
    code(&mut c, KeyCode::Tab);
    assert_eq!(c.app.queue.len(), 1);
    press(&mut c, "e");
    press(&mut c, " Thanks!");
    code(&mut c, KeyCode::Enter);
    assert!(c.app.queue.is_empty());
    let decided = agent.take_decided_approvals("kim", 2).expect("poll");
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0].state, ApprovalState::Approved);
    assert_eq!(decided[0].final_text.as_deref(), Some("Your parcel ships tomorrow. Thanks!"));
    assert!(agent.take_decided_approvals("kim", 3).expect("poll").is_empty(), "handed over once");
    // A returned reply carries the note; deciding twice does nothing.
    let id = agent.submit_approval(&"T-8".into(), None, "Maybe Friday.", 4).expect("queue");
    assert!(agent.decide_approval(id, ApprovalState::Returned, "sup", None, "Give a date", 5).expect("decide"));
    assert!(!agent.decide_approval(id, ApprovalState::Approved, "sup", Some("x"), "", 6).expect("again"));
    let back = agent.take_decided_approvals("kim", 7).expect("poll");
    assert_eq!((back[0].state, back[0].note.as_str()), (ApprovalState::Returned, "Give a date"));
}

#[test]
fn sent_replies_become_masked_training_cases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = SqliteStore::open_in(dir.path()).expect("store");
    s.add_message(&"T-9".into(), &deskpilot::desk::Message::customer("Refund to ana@example.com?", 1)).expect("msg");
    s.put_draft(&draft(
        1,
        "Refunds take 5-7 days.",
        Some("Refunds take 5-7 days, ana@example.com."),
        DraftOutcome::Edited,
    ))
    .expect("draft");
    s.put_draft(&draft(2, "Refunds take 5-7 days.", None, DraftOutcome::Discarded)).expect("draft");
    let flagged = s
        .put_draft(&draft(3, "Refunds are instant.", Some("Refunds are instant."), DraftOutcome::SentAsIs))
        .expect("draft");
    s.add_review(&deskpilot::store::Review {
        draft_id: flagged,
        reviewer: "sup".into(),
        verdict: "flag".into(),
        comment: "wrong".into(),
        at: 2,
    })
    .expect("flag");
    let (lines, report) = deskpilot::review::training::store_cases(&s).expect("cases");
    assert_eq!((report.cases, report.skipped_flagged, report.skipped_unsent), (1, 1, 1));
    let case: serde_json::Value = serde_json::from_str(&lines[0]).expect("json");
    assert_eq!(case["reference"], "Refunds take 5-7 days, [email].");
    assert_eq!(case["turns"][0]["text"], "Refund to [email]?");
    assert_eq!(case["gold"][0], "refund-timeline");
}

#[test]
fn supervisors_get_a_review_tab_in_the_agent_console() {
    use deskpilot::tui::app::{App, Info};
    let (_dir, store) = review_store();
    let mut app = App::new(Theme::new(ThemeName::Mono), Keymap::defaults(), Info::default(), Box::new(|_| None));
    let draw = |app: &App| {
        let mut t = Terminal::new(TestBackend::new(100, 20)).expect("terminal");
        t.draw(|f| deskpilot::tui::render::render(app, f)).expect("draw");
        t.backend().buffer().content().iter().map(|c| c.symbol()).collect::<String>()
    };
    app.on_key(KeyCode::F(9).into());
    assert!(!app.review_open, "agents have no Review tab");
    app.review = Some(Box::new(console(store)));
    app.on_key(KeyCode::F(9).into());
    assert!(app.review_open && draw(&app).contains("Drafts (13/13)"));
    app.on_key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE));
    assert!(!app.review_open && !app.quit, "q leaves the tab, not the console");
    app.on_key(KeyCode::F(9).into());
    app.on_key(KeyCode::F(9).into());
    assert!(!app.review_open);
}

#[test]
fn the_detail_shows_the_handoff_summary_first() {
    let (_dir, mut store) = review_store();
    let mut note = deskpilot::desk::Message::customer(
        "Summary (resolved): Situation: When will my refund arrive? Done: Card refunds take 3-5 business days. Open: Nothing.",
        SEED_T0 + 42 * 86_400_000,
    );
    (note.author, note.internal) = (deskpilot::desk::Author::System, true);
    store.add_message(&"T-9".into(), &note).expect("note");
    let mut c = console(store);
    code(&mut c, KeyCode::Enter);
    let s = crate::util::text_of(&screen(&mut c, 160, 40));
    assert!(s.contains("Summary (resolved): Situation: When will my refund arrive?"), "{s}");
}
