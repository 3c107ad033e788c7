//! `deskpilot privacy`: the detector on the hand-labelled set, and `scan` naming line and column.

use crate::util::{deskpilot, stderr, stdout};

#[test]
fn the_detector_keeps_precision_and_recall_on_the_labelled_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = deskpilot(dir.path(), &["privacy", "eval", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let (labelled, found, right) = (
        v["all"]["labelled"].as_f64().unwrap(),
        v["all"]["found"].as_f64().unwrap(),
        v["all"]["right"].as_f64().unwrap(),
    );
    assert!(labelled >= 40.0, "{v}");
    // Measured when the set was written (before any tuning on it): 0.975 and 0.951.
    assert!(
        right / found >= 0.95 && right / labelled >= 0.95,
        "precision {} recall {}",
        right / found,
        right / labelled
    );
}

#[test]
fn scan_names_each_finding_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chat.txt");
    std::fs::write(&file, "hello\nmail ana@example.com or call +1 415 555 0100\n卡号 4111 1111 1111 1111\n").unwrap();
    let out = deskpilot(dir.path(), &["privacy", "scan", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let s = stdout(&out);
    assert!(s.contains(":2:6: email \"ana@example.com\" -> [email]"), "{s}");
    assert!(s.contains(":2:30: phone \"+1 415 555 0100\""), "{s}");
    assert!(s.contains(":3:4: card \"4111 1111 1111 1111\""), "{s}");
    assert!(s.contains("3 findings in 3 lines"), "{s}");
    let out = deskpilot(dir.path(), &["privacy", "scan", "--kinds", "card", file.to_str().unwrap()]);
    assert!(stdout(&out).contains("1 findings"), "{}", stdout(&out));
    let missing = deskpilot(dir.path(), &["privacy", "scan", "/nonexistent/file.txt"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("/nonexistent/file.txt"), "{}", stderr(&missing));
}

use deskpilot::desk::{
    Conversation, ConversationId, Customer, Draft, DraftOutcome, DraftTimings, Message, Priority, RequestId, Source,
    Status, SuggestionEvent, Tier,
};
use deskpilot::store::SqliteStore;

const T0: i64 = 1_764_633_600_000; // 2025-12-02

/// A customer with one resolved conversation: a question the KB could not answer, the agent's
/// reply, a draft with a review and a coaching note, an approval and an autosave.
fn seed_customer(s: &mut SqliteStore, n: usize, name: &str, email: &str, question: &str, answer: &str) -> String {
    let (cid, conv) = (format!("cus-{n}"), ConversationId(format!("T-{n}")));
    s.put_customer(&Customer {
        id: cid.as_str().into(),
        name: name.into(),
        email: email.into(),
        language: "en".into(),
        tier: Tier::Standard,
        notes: format!("prefers e-mail: {email}"),
    })
    .unwrap();
    let at = T0 + n as i64 * 60_000;
    s.put_conversation(&Conversation {
        id: conv.clone(),
        customer: cid.as_str().into(),
        channel: "demo".into(),
        status: Status::Resolved,
        priority: Priority::Normal,
        tags: vec![],
        assignee: Some("ana".into()),
        created: at,
        updated: at,
    })
    .unwrap();
    s.add_message(&conv, &Message::customer(format!("Hi, I'm {name} ({email}). {question}"), at)).unwrap();
    s.add_message(&conv, &Message::customer(question, at + 1)).unwrap();
    let request = RequestId(n as u64 + 1);
    s.add_event_detail(&conv, Some(request), SuggestionEvent::KbGap, question, at + 2).unwrap();
    let reply = format!("Hi {}, {answer} Anything else I can help with?", name.split(' ').next().unwrap());
    let id = s
        .put_draft(&Draft {
            conversation: conv.clone(),
            request,
            generated: format!("Hi {name}, let me check."),
            sources: vec![Source { slug: "shipping-options".into(), title: "Shipping options".into() }],
            model_version: "test".into(),
            timings: DraftTimings::default(),
            final_text: Some(reply.clone()),
            outcome: Some(DraftOutcome::Rewritten),
        })
        .unwrap();
    s.add_message(&conv, &Message::agent(reply, at + 3)).unwrap();
    s.add_coaching_note(id, "sup", &format!("{name} asked twice"), at + 4).unwrap();
    s.submit_approval(&conv, Some(request), &format!("Dear {name}, done."), at + 5).unwrap();
    s.put_autosave(&conv, &format!("draft for {email}"), at + 6).unwrap();
    conv.0
}

fn seeded(dir: &std::path::Path) -> Vec<String> {
    let mut s = SqliteStore::open_in(dir).unwrap();
    s.set_agent("ana");
    let iceland = [
        ("Ana Souza", "ana.souza@example.com", "Do you ship to Iceland?"),
        ("Ben Okafor", "ben@example.org", "Can you ship my order to Iceland?"),
        ("Chen Wei", "chen.wei@example.net", "do you ship to iceland"),
    ];
    let mut ids = Vec::new();
    for (i, (name, email, q)) in iceland.iter().enumerate() {
        let answer = "yes, we ship to Iceland with DHL Express: 7-10 business days, $29 flat.";
        ids.push(seed_customer(&mut s, i + 1, name, email, q, answer));
    }
    ids.push(seed_customer(
        &mut s,
        4,
        "Dara Quinn",
        "dara@example.com",
        "Is the sofa fabric vegan?",
        "yes, it is 100% polyester.",
    ));
    s.record_export("review --export csv", "stdout", false, &ids).unwrap();
    s.checkpoint().unwrap();
    ids
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let (hay, needle) = (hay.to_ascii_lowercase(), needle.to_ascii_lowercase().into_bytes());
    hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// Every file under `dir` holding `needle`.
fn files_with(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in walk(dir) {
        if std::fs::read(&e).is_ok_and(|b| contains(&b, needle)) {
            found.push(e.display().to_string());
        }
    }
    found
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn gaps_become_article_drafts_that_pass_kb_check_and_cite_their_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seeded(dir.path());
    let out = deskpilot(dir.path(), &["kb", "gaps", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["questions"], 4, "{v}");
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1, "one cluster is asked in 2+ conversations: {v}");
    assert_eq!(clusters[0]["conversations"], serde_json::json!(ids[..3]), "{v}");
    let file = clusters[0]["file"].as_str().unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains("title: \"Do you ship to Iceland?\""), "{text}");
    assert!(text.contains("sources: [\"T-1\", \"T-2\", \"T-3\"]"), "{text}");
    assert!(text.contains("Yes, we ship to Iceland with DHL Express: 7-10 business days, $29 flat."), "{text}");
    // What agents answered, without the customers' names, addresses or the pleasantries.
    for gone in ["Ana", "Souza", "ana.souza@example.com", "Anything else"] {
        assert!(!text.contains(gone), "{gone} in {text}");
    }
    let gaps_dir = std::path::Path::new(file).parent().unwrap();
    let check = deskpilot(dir.path(), &["kb", "check", "--json", "--kb", gaps_dir.to_str().unwrap()]);
    assert!(check.status.success(), "{}", stdout(&check));
    let c: serde_json::Value = serde_json::from_str(&stdout(&check)).unwrap();
    assert_eq!(
        (c["articles"].as_u64(), c["errors"].as_u64(), c["warnings"].as_u64()),
        (Some(1), Some(0), Some(0)),
        "{c}"
    );
    // Without the encoder, by shared words: the same cluster.
    let lexical = deskpilot(dir.path(), &["kb", "gaps", "--lexical", "--dry-run", "--json"]);
    let l: serde_json::Value = serde_json::from_str(&stdout(&lexical)).unwrap();
    assert_eq!(l["clusters"][0]["conversations"], clusters[0]["conversations"], "{l}");
}

#[test]
fn forget_removes_every_trace_of_a_customer_and_keeps_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seeded(dir.path());
    // The drafts folder holds an article citing Ana's conversation.
    assert!(deskpilot(dir.path(), &["kb", "gaps", "--lexical"]).status.success());
    // Log lines about her conversation, and one about someone else's.
    let log = dir.path().join("state").join("deskpilot.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let mut lines = std::fs::read_to_string(&log).unwrap_or_default();
    lines += &format!(
        "INFO draft failed conversation={} customer=cus-1\nINFO draft ready conversation={}\n",
        ids[0], ids[3]
    );
    std::fs::write(&log, lines).unwrap();
    // The training export `train --from-store` writes.
    let (cases, _) = deskpilot::review::training::store_cases(&SqliteStore::open_in(dir.path()).unwrap()).unwrap();
    assert_eq!(cases.len(), 4);
    std::fs::write(dir.path().join(deskpilot::privacy::erase::TRAINING_EXPORT), cases.join("\n") + "\n").unwrap();

    let dry = deskpilot(dir.path(), &["privacy", "forget", "--customer", "ANA.SOUZA@example.com", "--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    assert!(contains(&std::fs::read(dir.path().join("deskpilot.sqlite3")).unwrap(), "ana.souza@example.com"));

    let out = deskpilot(dir.path(), &["privacy", "forget", "--customer", "ANA.SOUZA@example.com", "--json"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let r: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(r["conversations"], serde_json::json!([ids[0]]), "{r}");
    assert_eq!(r["store"]["messages"], 3, "{r}");
    assert_eq!((r["store"]["drafts"].as_u64(), r["store"]["coaching_notes"].as_u64()), (Some(1), Some(1)), "{r}");
    assert_eq!((r["store"]["approvals"].as_u64(), r["store"]["autosaves"].as_u64()), (Some(1), Some(1)), "{r}");
    assert_eq!(r["store"]["customers"], 1, "{r}");
    assert_eq!(r["log_lines_removed"], 1, "{r}");
    assert_eq!(r["training_lines_removed"], 1, "{r}");
    assert_eq!(r["gap_drafts_removed"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["exports"][0]["masked"], false, "the unmasked export is listed: {r}");
    assert_eq!(r["remaining_traces"], serde_json::json!([]), "{r}");

    // Searched afterwards: the store (and its write-ahead log), the index, the logs, the drafts.
    for needle in ["ana.souza@example.com", "Ana Souza", "Souza", "cus-1\"", &format!("{}\"", ids[0])] {
        assert_eq!(files_with(dir.path(), needle), Vec::<String>::new(), "{needle}");
    }
    // The others are untouched.
    let s = SqliteStore::open_in(dir.path()).unwrap();
    assert_eq!(s.messages(&ConversationId(ids[1].clone())).unwrap().len(), 3);
    assert!(s.customers_by_email("ben@example.org").unwrap().len() == 1);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains(&format!("conversation={}", ids[3])), "{log}");
    assert!(!log.contains(&format!("conversation={} ", ids[0])), "{log}");
}

#[test]
fn retention_anonymises_old_resolved_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let ids = seeded(dir.path());
    let run = |extra: &[(&str, &str)], args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_deskpilot"));
        c.args(args).env("DESKPILOT_DATA_DIR", dir.path()).env("XDG_CONFIG_HOME", dir.path().join("config"));
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let off = run(&[], &["privacy", "retain"]);
    assert!(stdout(&off).contains("Retention is off"), "{}", stdout(&off));
    let days = [("DESKPILOT_PRIVACY_RETENTION_DAYS", "30")];
    let dry = run(&days, &["privacy", "retain", "--dry-run", "--json"]);
    let d: serde_json::Value = serde_json::from_str(&stdout(&dry)).unwrap();
    assert_eq!(d["conversations"], serde_json::json!(ids), "{d}");
    let done = run(&days, &["privacy", "retain", "--json"]);
    assert!(done.status.success(), "{}", stderr(&done));
    let s = SqliteStore::open_in(dir.path()).unwrap();
    let first = s.messages(&ConversationId(ids[0].clone())).unwrap();
    assert_eq!(first[0].text, "Hi, I'm [name] ([email]). Do you ship to Iceland?");
    assert_eq!(first.len(), 3, "anonymised, not deleted");
    assert!(s.customers_by_email("ana.souza@example.com").unwrap().is_empty());
    drop(s);
    assert!(!contains(&std::fs::read(dir.path().join("deskpilot.sqlite3")).unwrap(), "ana.souza@example.com"));
    // Purging deletes them.
    let purge = run(&[days[0], ("DESKPILOT_PRIVACY_RETENTION", "purge")], &["privacy", "retain", "--json"]);
    let p: serde_json::Value = serde_json::from_str(&stdout(&purge)).unwrap();
    assert_eq!(p["store"]["conversations"], 4, "{p}");
    let bad = run(&[("DESKPILOT_PRIVACY_RETENTION", "delete")], &["privacy", "retain"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("DESKPILOT_PRIVACY_RETENTION: [privacy] retention = \"delete\""), "{}", stderr(&bad));
}
