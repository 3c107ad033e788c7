//! `deskpilot understand`: one message read, and the scores on the labelled sets.

use crate::util::{deskpilot, stderr, stdout};

#[test]
fn a_message_is_read_for_details_and_mood() {
    let dir = tempfile::tempdir().unwrap();
    let out = deskpilot(
        dir.path(),
        &["understand", "message", "--json", "Third time asking: order #88231, I'll see you in court!"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["details"][0]["value"], "88231", "{v}");
    assert_eq!(v["mood"]["sentiment"], "negative", "{v}");
    assert_eq!((v["mood"]["legal"].as_bool(), v["mood"]["repeat"].as_bool()), (Some(true), Some(true)), "{v}");
}

#[test]
fn the_labelled_sets_score_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let score = |args: &[&str]| -> serde_json::Value {
        let out = deskpilot(dir.path(), args);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    };
    // docs/understanding.md: the blind held-out sets are the honest figures (cues 0.733, encoder
    // head with cues for Chinese 0.900). The key-details sets are no longer blind: they guard what
    // their misses taught (first runs pooled: precision 0.969, recall 0.851).
    let s = score(&["understand", "sentiment", "--json", "assets/eval/sentiment-heldout.jsonl"]);
    assert!(s["agreement"].as_f64().unwrap() >= 0.7, "{s}");
    let s = score(&["understand", "sentiment", "--encoder", "--json", "assets/eval/sentiment-heldout.jsonl"]);
    assert!(s["agreement"].as_f64().unwrap() >= 0.85, "{s}");
    let sets = (1..=13)
        .map(|n| if n == 1 { "details-heldout.jsonl".to_owned() } else { format!("details-heldout-{n}.jsonl") });
    for set in sets.map(|f| format!("assets/eval/{f}")) {
        let set = set.as_str();
        let d = score(&["understand", "details", "--json", set]);
        let (found, right, labelled) = (
            d["all"]["found"].as_f64().unwrap(),
            d["all"]["right"].as_f64().unwrap(),
            d["all"]["labelled"].as_f64().unwrap(),
        );
        assert!(right / found >= 0.9 && right / labelled >= 0.9, "{set}: {d}");
    }
    let bad = deskpilot(dir.path(), &["understand", "sentiment", "Cargo.toml"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("Cargo.toml:1:"), "{}", stderr(&bad));
}

#[test]
fn an_intent_head_trains_on_a_kb_and_scores_cases() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("kb");
    std::fs::create_dir_all(&kb).unwrap();
    let article = |slug: &str, title: &str, body: &str| {
        std::fs::write(
            kb.join(format!("{slug}.md")),
            format!("---\ntitle: {title}\ncategory: {slug}\nlang: en\n---\n\n{body}\n"),
        )
        .unwrap();
    };
    article(
        "returns",
        "Returns",
        "You can return unused items within 30 days of delivery. Refunds go back to the card you paid with.",
    );
    article(
        "shipping",
        "Shipping",
        "Standard shipping takes 3-5 business days. Express shipping takes 1-2 business days and costs $12.99.",
    );
    let head = dir.path().join("head");
    let out = deskpilot(
        dir.path(),
        &["understand", "train-intent", "--kb", kb.to_str().unwrap(), "--out", head.to_str().unwrap(), "--steps", "60"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 articles"), "{}", stdout(&out));
    let cases = dir.path().join("cases.jsonl");
    std::fs::write(
        &cases,
        "{\"id\":\"a\",\"turns\":[{\"role\":\"customer\",\"text\":\"can I send back a lamp I never used?\"}],\"gold\":[\"returns\"]}\n\
         {\"id\":\"b\",\"turns\":[{\"role\":\"customer\",\"text\":\"how fast is express delivery?\"}],\"gold\":[\"shipping\"]}\n",
    )
    .unwrap();
    let out = deskpilot(
        dir.path(),
        &["understand", "intent", "--json", "--head", head.to_str().unwrap(), "--cases", cases.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["cases"], 2, "{v}");
}

#[test]
fn drafts_are_personalised_by_name_and_language() {
    let dir = tempfile::tempdir().unwrap();
    let draft = |args: &[&str]| -> String {
        let mut all = vec!["draft", "--json"];
        all.extend_from_slice(args);
        let out = deskpilot(dir.path(), &all);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        v["draft"].as_str().unwrap_or_default().to_owned()
    };
    for drafter in ["neural", "extractive"] {
        let en = draft(&[
            "--drafter",
            drafter,
            "--name",
            "Sam Lee",
            "--tier",
            "standard",
            "How long do I have to return a lamp?",
        ]);
        assert!(en.starts_with("Hi Sam"), "{drafter}: {en}");
        assert!(en.contains("30 days"), "{drafter}: {en}");
        let zh = draft(&["--drafter", drafter, "--name", "李伟", "--language", "zh", "退货期限是多久？"]);
        assert!(zh.starts_with("李伟您好"), "{drafter}: {zh}");
        assert!(zh.contains("30 天"), "{drafter}: {zh}");
        // Tier rules from the KB: a member is told the members' window, a standard customer is
        // not quoted the members' rule, and a Chinese reply holds no English sentence.
        let plus = draft(&[
            "--drafter",
            drafter,
            "--name",
            "Maya Chen",
            "--tier",
            "plus",
            "How long do I have to return a lamp?",
        ]);
        assert!(plus.contains("60 days"), "{drafter}: {plus}");
        let std_zh = draft(&[
            "--drafter",
            drafter,
            "--name",
            "Wang Fang",
            "--tier",
            "standard",
            "--language",
            "zh",
            "我买的台灯想退货，有多长时间可以退？",
        ]);
        assert!(std_zh.contains("30 天"), "{drafter}: {std_zh}");
        assert!(!std_zh.contains("会员的退货期限"), "{drafter}: {std_zh}");
        for sentence in std_zh.split(['。', '！', '？', '\n']) {
            let latin = sentence.chars().any(|c| c.is_ascii_alphabetic());
            let chinese = sentence.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            assert!(!latin || chinese, "{drafter}: an English sentence in a Chinese reply: {sentence:?} in {std_zh}");
        }
        // The key details reach the draft: the order number the customer just gave is
        // acknowledged, in their language.
        let order =
            draft(&["--drafter", drafter, "--name", "Ana Lima", "my order HP-20386 arrived smashed, what now?"]);
        assert!(order.contains("your order number, HP-20386."), "{drafter}: {order}");
        let zh_order = draft(&[
            "--drafter",
            drafter,
            "--name",
            "李伟",
            "--language",
            "zh",
            "我的订单 HP-20386 还没到，标准配送要多久？",
        ]);
        assert!(zh_order.contains("感谢您提供订单号 HP-20386。"), "{drafter}: {zh_order}");
        let none = draft(&["--drafter", drafter, "How long do I have to return a lamp?"]);
        assert!(!none.contains("order number"), "{drafter}: {none}");
    }
}
