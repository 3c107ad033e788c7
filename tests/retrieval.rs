//! Retrieval on the bundled KB and on real index folders.

use crate::util::{bundled_kb, copy_dir};
use deskpilot::desk::Author;
use deskpilot::desk::ports::{RetrievalQuery, Retriever as _};
use deskpilot::retrieval::{Retriever, index_dir_for};
use std::sync::OnceLock;

fn bundled() -> &'static Retriever {
    static R: OnceLock<(Retriever, tempfile::TempDir)> = OnceLock::new();
    &R.get_or_init(|| {
        let data = tempfile::tempdir().expect("tempdir");
        let (r, _) = Retriever::open(&bundled_kb(), data.path(), &|_, _| {}).expect("open bundled KB");
        (r, data)
    })
    .0
}

/// Customer questions, phrased the way customers write, and the article that answers each.
const QUESTIONS: &[(&str, &str)] = &[
    ("how long does standard shipping take?", "shipping-options"),
    ("how much is express delivery", "shipping-options"),
    ("where can I see where my parcel is", "order-tracking"),
    ("I ordered 10 minutes ago and want to cancel it", "change-or-cancel-order"),
    ("do you ship to canada? what about import taxes", "international-shipping"),
    ("tracking says delivered but nothing arrived", "missing-package"),
    ("my vase arrived broken, the box was crushed", "damaged-item"),
    ("I moved, can I change the delivery address of my order", "change-shipping-address"),
    ("when am I charged for a pre-order", "backorders-and-preorders"),
    ("can I still return something I bought 3 weeks ago", "return-policy"),
    ("how do I print a return label", "start-a-return"),
    ("I sent my return back, when do I get my money", "refund-timeline"),
    ("can I swap these shoes for a bigger size", "exchanges"),
    ("can I return a gift card", "gift-cards|non-returnable-items"),
    ("the price dropped right after I bought it", "price-adjustment"),
    ("do you take amex or paypal", "payment-methods"),
    ("my card keeps getting declined at checkout", "payment-declined"),
    ("I was charged twice for one order", "duplicate-charge"),
    ("can I split the payment into instalments", "harborpay-installments"),
    ("I missed my HarborPay payment, is there a fee", "harborpay-late-payment"),
    ("I need an invoice with my company VAT number", "invoices-and-receipts"),
    ("do gift cards expire", "gift-cards"),
    ("can I use two discount codes", "promo-codes"),
    ("forgot my password", "reset-password"),
    ("how do I set up two-factor authentication", "two-factor-authentication"),
    ("my account got locked after too many tries", "account-locked"),
    ("I want to change the email on my account", "update-email-address"),
    ("please delete my account and my data", "close-account"),
    ("I got an email asking for my password, is it you?", "phishing-and-fraud"),
    ("is my blender still under warranty", "warranty-coverage"),
    ("does HarborCare cover accidental damage", "harborcare-protection"),
    ("my speaker is faulty, how do I send it for repair", "start-a-repair"),
    ("my tablet won't turn on at all", "device-wont-turn-on"),
    ("headphones won't pair with my phone", "bluetooth-pairing"),
    ("how do I update the firmware", "firmware-updates"),
    ("is the AH-200 heater recalled", "product-recall"),
    ("can I buy a replacement filter for an old model", "spare-parts"),
    ("what do I get with Harbor+", "harbor-plus-membership"),
    ("how much are my reward points worth", "rewards-points"),
    ("what time does your support open", "contact-and-hours"),
    ("I want to speak to a supervisor", "escalation"),
];

#[test]
fn catalogue_questions_find_their_article_first() {
    let r = bundled();
    let mut misses = Vec::new();
    for (question, slug) in QUESTIONS {
        let result = r.search_text(question, 5).expect("search");
        let got = result.hits.first().map(|h| h.slug.as_str()).unwrap_or("(nothing)");
        if !slug.split('|').any(|s| s == got) {
            misses.push(format!("{question:?}: expected {slug}, got {got}"));
        }
    }
    assert!(misses.is_empty(), "{} of {} missed:\n{}", misses.len(), QUESTIONS.len(), misses.join("\n"));
}

#[test]
fn chinese_queries_find_chinese_articles() {
    let r = bundled();
    for (q, slug) in [
        ("退款多久能到账？", "zh/refund-timeline"),
        ("我忘记密码了怎么办", "zh/reset-password"),
        ("运费多少钱，几天能到", "zh/shipping-options"),
        ("付款被拒绝了", "zh/payment-declined"),
        ("商品收到时已经损坏", "zh/damaged-item"),
    ] {
        let result = r.search_text(q, 3).expect("search");
        assert_eq!(result.hits.first().map(|h| h.slug.as_str()), Some(slug), "{q}");
        assert!(!result.hits[0].highlights.is_empty(), "{q}: highlights");
    }
}

#[test]
fn identifiers_match_exactly() {
    let r = bundled();
    for q in ["AH-200", "ah200", "is model AH-200 affected?"] {
        let result = r.search_text(q, 3).expect("search");
        assert_eq!(result.hits[0].slug, "product-recall", "{q}");
    }
}

#[test]
fn highlights_point_at_query_words() {
    let r = bundled();
    let result = r.search_text("refund to store credit", 3).expect("search");
    let hit = &result.hits[0];
    assert!(!hit.highlights.is_empty());
    for range in &hit.highlights {
        let word = hit.text[range.clone()].to_lowercase();
        assert!(["refund", "refunds", "store", "credit", "refunded"].contains(&word.as_str()), "{word}");
    }
}

#[test]
fn confidence_separates_answers_from_nothing() {
    let r = bundled();
    let strong = r.search_text("how long do card refunds take to show on my statement", 5).expect("search");
    let weak = r.search_text("can you recommend a good pizza place in Rome", 5).expect("search");
    assert!(strong.confidence >= 0.7, "strong {}", strong.confidence);
    assert!(weak.confidence < 0.35, "weak {}", weak.confidence);
    let none = r.search_text("hello thanks", 5).expect("search");
    assert!(none.hits.is_empty() && none.confidence < 0.35);
}

#[test]
fn conversation_context_and_the_port() {
    let r = bundled();
    let query = RetrievalQuery {
        turns: vec![
            (Author::Customer, "Hi, I bought a heater from you last winter".into()),
            (Author::Agent, "Thanks! Which model is it?".into()),
            (Author::Customer, "It's the AH-200. Is it safe?".into()),
        ],
        tags: vec![],
        k: 3,
        language: None,
    };
    let retrieval = r.retrieve(&query).expect("retrieve");
    assert_eq!(retrieval.passages[0].slug, "product-recall");
    assert!(retrieval.passages.len() <= 3);
    let slugs: Vec<&str> = retrieval.passages.iter().map(|p| p.slug.as_str()).collect();
    let mut dedup = slugs.clone();
    dedup.dedup();
    assert_eq!(slugs.len(), dedup.len(), "one passage per article");
}

#[test]
fn unchanged_kb_reopens_without_reindexing_and_edits_are_incremental() {
    let kb = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    copy_dir(&bundled_kb(), kb.path());
    let (_, first) = Retriever::open(kb.path(), data.path(), &|_, _| {}).expect("build");
    assert_eq!(first.added, 57, "every bundled article is indexed on the first open");
    assert!(first.rebuilt.is_some());

    assert!(!deskpilot::retrieval::kb_changed(kb.path(), data.path()));
    let (_, again) = Retriever::open(kb.path(), data.path(), &|_, _| {}).expect("reopen");
    assert_eq!((again.added, again.updated, again.removed), (0, 0, 0));
    assert!(again.rebuilt.is_none());
    assert_eq!(again.passages, first.passages);

    // Edit one article, remove another.
    let path = kb.path().join("gift-cards.md");
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("never expire", "never expire (ask about the zanzibarium programme)"))
        .expect("write");
    std::fs::remove_file(kb.path().join("spare-parts.md")).expect("remove");
    assert!(deskpilot::retrieval::kb_changed(kb.path(), data.path()));
    let (r, edited) = Retriever::open(kb.path(), data.path(), &|_, _| {}).expect("refresh");
    assert_eq!((edited.added, edited.updated, edited.removed), (0, 1, 1));
    assert!(edited.rebuilt.is_none());
    assert_eq!(r.search_text("zanzibarium", 3).expect("search").hits[0].slug, "gift-cards");
    let spare = r.search_text("spare parts discontinued", 5).expect("search");
    assert!(spare.hits.iter().all(|h| h.slug != "spare-parts"));
    let gift_passages = r.search_text("gift card balance", 10).expect("search");
    assert_eq!(gift_passages.hits.iter().filter(|h| h.slug == "gift-cards").count(), 1, "old passages deleted");
}

#[test]
fn corrupt_index_is_rebuilt() {
    let data = tempfile::tempdir().expect("tempdir");
    let kb = bundled_kb();
    Retriever::open(&kb, data.path(), &|_, _| {}).expect("build");
    let dir = index_dir_for(&kb, data.path());
    // Truncate every segment file and garble meta.json.
    for entry in std::fs::read_dir(&dir).expect("read").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "meta.json" {
            std::fs::write(entry.path(), b"{ not json").expect("write");
        } else if name != "manifest.json" && !name.starts_with('.') {
            std::fs::write(entry.path(), b"").expect("truncate");
        }
    }
    let (r, report) = Retriever::open(&kb, data.path(), &|_, _| {}).expect("rebuild");
    assert!(report.rebuilt.as_deref().is_some_and(|w| w.contains("unreadable")), "{:?}", report.rebuilt);
    assert_eq!(r.search_text("AH-200", 1).expect("search").hits[0].slug, "product-recall");
}

#[test]
fn schema_version_mismatch_is_rebuilt() {
    let data = tempfile::tempdir().expect("tempdir");
    let kb = bundled_kb();
    Retriever::open(&kb, data.path(), &|_, _| {}).expect("build");
    let manifest = index_dir_for(&kb, data.path()).join("manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    let bumped = text.replacen(
        &format!("\"schema_version\": {}", deskpilot::retrieval::SCHEMA_VERSION),
        "\"schema_version\": 1",
        1,
    );
    assert_ne!(bumped, text);
    std::fs::write(&manifest, bumped).expect("write");
    let (_, report) = Retriever::open(&kb, data.path(), &|_, _| {}).expect("rebuild");
    assert!(report.rebuilt.as_deref().is_some_and(|w| w.contains("schema version")), "{:?}", report.rebuilt);
}
