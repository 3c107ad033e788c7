//! The SQLite store on real files: round trips, unclean shutdown, corrupt and foreign files.

use deskpilot::desk::{
    Author, Conversation, ConversationId, Customer, Draft, DraftOutcome, DraftTimings, Message, Priority, RequestId,
    Source, Status, SuggestionEvent, Tier,
};
use deskpilot::store::{Review, SqliteStore, StoreError};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn conversation(id: &str) -> Conversation {
    Conversation {
        id: ConversationId::from(id),
        customer: "cus-1".into(),
        channel: "demo".into(),
        status: Status::Open,
        priority: Priority::High,
        tags: vec!["billing".into()],
        assignee: Some("sam".into()),
        created: 1,
        updated: 2,
    }
}

fn draft(conv: &str, request: u64) -> Draft {
    Draft {
        conversation: ConversationId::from(conv),
        request: RequestId(request),
        generated: "Refunds reach your card in 5-7 business days.".into(),
        sources: vec![Source { slug: "refund-timeline".into(), title: "Refund timeline".into() }],
        model_version: "test-1".into(),
        timings: DraftTimings { retrieval_ms: 1.5, first_token_ms: 20.0, total_ms: 300.0, tokens: 12 },
        final_text: None,
        outcome: None,
    }
}

#[test]
fn round_trip_every_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite3");
    let mut s = SqliteStore::open(&path).expect("open");
    let customer = Customer {
        id: "cus-1".into(),
        name: "Ana Li".into(),
        email: "ana@example.com".into(),
        language: "zh".into(),
        tier: Tier::Plus,
        notes: "prefers chat".into(),
    };
    s.put_customer(&customer).expect("customer");
    s.put_conversation(&conversation("T-1")).expect("conversation");
    s.add_message(&"T-1".into(), &Message::customer("退款多久到账？ 🙂", 10)).expect("message");
    s.add_message(&"T-1".into(), &Message { author: Author::Agent, internal: true, text: "VIP".into(), at: 11 })
        .expect("note");
    let id = s.put_draft(&draft("T-1", 7)).expect("draft");
    let mut sent = draft("T-1", 7);
    sent.final_text = Some("Refunds reach your card in 5-7 business days. Sorry!".into());
    sent.outcome = Some(DraftOutcome::Edited);
    assert_eq!(s.put_draft(&sent).expect("update draft"), id, "same request updates the same row");
    s.add_event(&"T-1".into(), Some(RequestId(7)), SuggestionEvent::Shown, 12).expect("event");
    s.add_event(&"T-1".into(), Some(RequestId(7)), SuggestionEvent::Sent, 13).expect("event");
    s.add_review(&Review {
        draft_id: id,
        reviewer: "lee".into(),
        verdict: "approved".into(),
        comment: "good".into(),
        at: 14,
    })
    .expect("review");
    s.set_status(&"T-1".into(), Status::Resolved, 15).expect("status");
    s.put_autosave(&"T-1".into(), "half-typed reply", 16).expect("autosave");
    drop(s);

    let s = SqliteStore::open(&path).expect("reopen");
    assert_eq!(s.schema_version().expect("version"), deskpilot::store::LATEST_SCHEMA);
    assert_eq!(s.customer("cus-1").expect("customer"), Some(customer));
    let convs = s.conversations().expect("conversations");
    assert_eq!(convs.len(), 1);
    assert_eq!(convs[0].status, Status::Resolved);
    assert_eq!(convs[0].tags, ["billing"]);
    let msgs = s.messages(&"T-1".into()).expect("messages");
    assert_eq!(msgs[0].text, "退款多久到账？ 🙂");
    assert!(msgs[1].internal);
    let drafts = s.drafts(None).expect("drafts");
    assert_eq!(drafts.len(), 1);
    assert_eq!(drafts[0].draft, sent);
    assert_eq!(s.events(&"T-1".into()).expect("events"), ["shown", "sent"]);
    assert_eq!(s.reviews(id).expect("reviews")[0].verdict, "approved");
    assert_eq!(
        s.autosaves().expect("autosaves"),
        vec![(ConversationId::from("T-1"), "half-typed reply".to_owned(), 16)]
    );
}

/// Child side of `unclean_shutdown_keeps_committed_data`: writes until killed.
#[test]
fn store_writer_child() {
    let Some(path) = std::env::var_os("DESKPILOT_TEST_WRITER_DB") else { return };
    let mut s = SqliteStore::open(Path::new(&path)).expect("child open");
    s.put_conversation(&conversation("T-1")).expect("conversation");
    for i in 0.. {
        s.put_autosave(&"T-1".into(), &format!("draft version {i}"), i).expect("autosave");
        s.add_message(&"T-1".into(), &Message::customer(format!("message {i} {}", "x".repeat(2000)), i))
            .expect("message");
    }
}

#[test]
fn unclean_shutdown_keeps_committed_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite3");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "store::store_writer_child", "--nocapture", "--test-threads=1"])
        .env("DESKPILOT_TEST_WRITER_DB", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    // Let it write a while, then kill it mid-write (SIGKILL: no destructors, no checkpoint).
    let started = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let written = SqliteStore::open(&path).ok().and_then(|s| s.messages(&"T-1".into()).ok()).map_or(0, |m| m.len());
        if written >= 200 || started.elapsed() > Duration::from_secs(30) {
            break;
        }
    }
    child.kill().expect("kill writer");
    child.wait().expect("reap writer");

    let s = SqliteStore::open(&path).expect("reopen after kill");
    let messages = s.messages(&"T-1".into()).expect("messages");
    assert!(messages.len() >= 200, "committed rows survive: {}", messages.len());
    let saves = s.autosaves().expect("autosaves");
    assert_eq!(saves.len(), 1);
    let n: usize = saves[0].1.trim_start_matches("draft version ").parse().expect("autosave text intact");
    assert!(n + 1 >= messages.len(), "the autosave is at least as recent as the messages");
}

#[test]
fn garbage_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite3");
    std::fs::write(&path, b"this is not a database, it is a shopping list").expect("write");
    let before = std::fs::read(&path).expect("read");
    let err = SqliteStore::open(&path).err().expect("must refuse");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()), "names the file: {err}");
    assert_eq!(std::fs::read(&path).expect("read"), before, "never overwritten");
}

#[test]
fn damaged_pages_are_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite3");
    {
        let mut s = SqliteStore::open(&path).expect("open");
        for i in 0..300 {
            s.add_message(&"T-1".into(), &Message::customer(format!("msg {i} {}", "y".repeat(300)), i)).expect("msg");
        }
    }
    // Fold the WAL into the main file, then scribble over pages after the header page.
    let conn = rusqlite_checkpoint(&path);
    drop(conn);
    let mut bytes = std::fs::read(&path).expect("read");
    assert!(bytes.len() > 16 * 4096, "database is {} bytes", bytes.len());
    for b in &mut bytes[4096..12 * 4096] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).expect("write");
    let err = SqliteStore::open(&path).err().expect("must refuse");
    assert!(matches!(err, StoreError::Corrupt { .. } | StoreError::Sqlite { .. }), "{err}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

fn rusqlite_checkpoint(path: &Path) -> SqliteStore {
    let s = SqliteStore::open(path).expect("open");
    s.checkpoint().expect("checkpoint");
    s
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite3");
    {
        let s = SqliteStore::open(&path).expect("open");
        s.execute_raw("INSERT INTO schema_version (version, applied_ms) VALUES (99, 0)").expect("bump");
    }
    let err = SqliteStore::open(&path).err().expect("must refuse");
    match &err {
        StoreError::UnknownVersion { found, supported, .. } => {
            assert_eq!((*found, *supported), (99, deskpilot::store::LATEST_SCHEMA))
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("d.sqlite3"), "{err}");
}

#[test]
fn foreign_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("d.sqlite3");
    {
        let s = SqliteStore::open(&path).expect("open");
        s.execute_raw("DROP TABLE schema_version").expect("drop");
    }
    let err = SqliteStore::open(&path).err().expect("must refuse");
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
}
