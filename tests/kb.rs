//! The bundled KB states the catalogue's facts; broken KB folders load what they can.

use crate::util::{bundled_kb, deskpilot, stdout};
use deskpilot::knowledge::{ChunkOptions, Severity, approx_tokens, chunk_article, load_kb};

/// The demo catalogue: every slug with the facts it must state, verbatim.
const CATALOGUE: &[(&str, &[&str])] = &[
    ("shipping-options", &["3-5 business days", "$4.99", "$50", "1-2 business days", "$12.99", "2 pm Eastern"]),
    ("order-tracking", &["tracking number", "Account > Orders", "24 hours"]),
    ("change-or-cancel-order", &["30 minutes"]),
    ("international-shipping", &["28 countries", "7-14 business days"]),
    ("missing-package", &["48 hours", "5 business days"]),
    ("damaged-item", &["14 days"]),
    ("change-shipping-address", &["redirect"]),
    ("backorders-and-preorders", &["charged"]),
    ("return-policy", &["30 days", "15%", "60 days"]),
    ("start-a-return", &["Account > Orders > Return items", "7 days"]),
    ("refund-timeline", &["2 business days", "5-7 business days", "instant"]),
    ("exchanges", &["free"]),
    ("non-returnable-items", &["gift cards", "personalised"]),
    ("price-adjustment", &["14 days", "once per order"]),
    ("payment-methods", &["Visa", "Mastercard", "American Express", "PayPal", "HarborPay", "2 gift cards"]),
    ("payment-declined", &["30 minutes", "3-5 business days"]),
    ("duplicate-charge", &["3-5 business days", "2 business days"]),
    ("harborpay-installments", &["Pay in 4", "2 weeks", "$1,500", "6, 12 or 24 months", "19.99% APR"]),
    ("harborpay-late-payment", &["3 days", "$7 late fee", "10-day grace period", "Account > HarborPay"]),
    ("invoices-and-receipts", &["Account > Orders > Invoice", "Account > Business details"]),
    ("gift-cards", &["never expire", "Account > Gift cards"]),
    ("promo-codes", &["one promo code per order"]),
    ("reset-password", &["Forgot password", "60 minutes"]),
    ("two-factor-authentication", &["authenticator app", "SMS", "10 single-use backup codes"]),
    ("account-locked", &["5 failed sign-in attempts", "30 minutes"]),
    ("update-email-address", &["Account > Profile"]),
    ("close-account", &["30 days", "Account > Privacy"]),
    ("phishing-and-fraud", &["security@harborandpine.example"]),
    ("warranty-coverage", &["1-year limited warranty", "2 years", "EU"]),
    ("harborcare-protection", &["2 or 3 years", "30 days", "$29"]),
    ("start-a-repair", &["Account > Orders > Get help", "2 business days", "7-10 business days"]),
    ("device-wont-turn-on", &["30 minutes", "15 seconds"]),
    ("bluetooth-pairing", &["1 metre", "5 seconds"]),
    ("firmware-updates", &["Harbor Home app", "Devices > Update"]),
    ("product-recall", &["Aurora 2", "AH-200"]),
    ("spare-parts", &["5 years"]),
    ("harbor-plus-membership", &["$49 a year", "60-day returns", "prorated"]),
    ("rewards-points", &["1 point per $1", "100 points", "$5", "12 months"]),
    ("contact-and-hours", &["8 am to 10 pm Eastern", "7 days a week", "callback"]),
    ("escalation", &["supervisor", "1 business day"]),
];

const CHINESE: &[(&str, &[&str])] = &[
    ("zh/shipping-options", &["3-5", "$4.99", "$50", "$12.99", "1-2"]),
    ("zh/order-tracking", &["Account > Orders", "24"]),
    ("zh/change-or-cancel-order", &["30 分钟"]),
    ("zh/return-policy", &["30 天", "15%", "60 天"]),
    ("zh/refund-timeline", &["2 个工作日", "5-7 个工作日"]),
    ("zh/payment-declined", &["30 分钟", "3-5"]),
    ("zh/harborpay-installments", &["$50", "$1,500", "19.99%"]),
    ("zh/reset-password", &["Forgot password", "60 分钟"]),
    ("zh/warranty-coverage", &["1 年", "2 年"]),
    ("zh/damaged-item", &["14 天"]),
];

#[test]
fn every_catalogue_article_exists_and_states_its_facts() {
    let kb = load_kb(&bundled_kb());
    assert_eq!(kb.errors(), 0, "{:#?}", kb.issues);
    for (slug, facts) in CATALOGUE.iter().chain(CHINESE) {
        let article = kb.article(slug).unwrap_or_else(|| panic!("missing article {slug}"));
        for fact in *facts {
            assert!(article.body.contains(fact), "{slug} does not state `{fact}`");
        }
        let words = article.body.split_whitespace().count();
        if !slug.starts_with("zh/") {
            assert!((150..=600).contains(&words), "{slug}: {words} words");
        }
        assert!(!article.meta.tags.is_empty() && !article.meta.category.is_empty(), "{slug} front matter");
    }
}

#[test]
fn bundled_kb_chunks_within_limits() {
    let kb = load_kb(&bundled_kb());
    let opts = ChunkOptions::default();
    for a in &kb.articles {
        let chunks = chunk_article(a, &opts);
        assert!(!chunks.is_empty(), "{}", a.slug);
        for c in &chunks {
            assert!(!c.text.trim().is_empty());
            assert!(approx_tokens(&c.text) <= opts.max, "{}: {} tokens", c.id, approx_tokens(&c.text));
            let source = std::fs::read_to_string(&a.path).expect("read");
            assert!(c.range.end <= source.len() && c.range.start < c.range.end, "{} range", c.id);
            assert_eq!(c.lang, a.meta.lang);
        }
    }
}

#[test]
fn broken_files_get_one_clear_message_each_and_the_rest_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let good =
        "---\ntitle: Good\ncategory: orders\nlang: en\ntags: [a]\n---\n\nA good article. See [bad](bad-link.md).\n";
    std::fs::write(root.join("good.md"), good).expect("write");
    std::fs::write(
        root.join("other.md"),
        good.replace("Good", "Other").replace("[bad](bad-link.md)", "[good](good.md)"),
    )
    .expect("write");
    std::fs::write(root.join("bad-yaml.md"), "---\ntitle: Bad\ntags: [unclosed\n---\n\nBody.\n").expect("write");
    std::fs::write(root.join("binary.md"), [0x89u8, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00, 0x01]).expect("write");
    std::fs::write(root.join("empty.md"), "").expect("write");
    std::fs::write(root.join("no-front-matter.md"), "# Just text\n\nHello.\n").expect("write");
    std::fs::create_dir(root.join("sub")).expect("mkdir");
    std::fs::write(root.join("sub/dup.md"), good.replace("title: Good", "title: Dup\nid: good")).expect("write");

    let kb = load_kb(root);
    let slugs: Vec<&str> = kb.articles.iter().map(|a| a.slug.as_str()).collect();
    assert_eq!(slugs, ["good", "other"]);
    let messages: Vec<String> = kb.issues.iter().map(ToString::to_string).collect();
    let expect = [
        ("bad-yaml.md:4", "invalid front matter"),
        ("binary.md:1", "not UTF-8"),
        ("empty.md", "empty file"),
        ("no-front-matter.md:1", "missing front matter"),
        ("dup.md:1", "duplicate slug `good`"),
        ("good.md:8", "broken link to `bad-link.md`"),
    ];
    for (place, what) in expect {
        let found = messages.iter().filter(|m| m.contains(place) && m.contains(what)).count();
        assert_eq!(found, 1, "expected one `{what}` at {place} in {messages:#?}");
    }
    assert_eq!(kb.issues.len(), expect.len(), "{messages:#?}");
    assert!(kb.issues.iter().all(|i| i.severity == Severity::Error));

    // The command reports the same, exits 1, and still counts the good articles.
    let data = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(data.path(), &["kb", "check", "--kb", root.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("2 articles") && text.contains("6 errors"), "{text}");
    let out = deskpilot(data.path(), &["kb", "check", "--json", "--kb", root.to_str().expect("utf-8 path")]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["articles"], 2);
    assert_eq!(v["issues"].as_array().map(Vec::len), Some(6));
}

#[test]
fn plain_long_text_without_headings_is_chunked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sentence = "The office issues permits to drivers who pass the road test and pay the fee. ";
    let body = (0..12).map(|_| sentence.repeat(8)).collect::<Vec<_>>().join("\n\n");
    std::fs::write(dir.path().join("long.md"), format!("---\ntitle: Long\ncategory: dmv\nlang: en\n---\n\n{body}\n"))
        .expect("write");
    let kb = load_kb(dir.path());
    let chunks = chunk_article(&kb.articles[0], &ChunkOptions::default());
    assert!(chunks.len() >= 6, "{} chunks", chunks.len());
    assert!(chunks.iter().all(|c| approx_tokens(&c.text) <= 200 && c.section.is_empty()));
}

#[test]
fn bundled_kb_check_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["kb", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("0 errors, 0 warnings"), "{}", stdout(&out));
}

/// The customer-phrased sets' labels stay true to the KB: every gold article exists, and every
/// fact is a string of one of them (case and spacing ignored, as the metric does), so a KB edit
/// that drops a fact shows here rather than as a quiet fall in facts stated.
#[test]
fn the_customer_sets_facts_are_in_their_gold_articles() {
    let kb = load_kb(&bundled_kb());
    let squash = |s: &str| s.split_whitespace().collect::<String>().to_lowercase();
    for set in ["customers-dev", "customers-heldout", "customers-tuning"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("assets/eval/{set}.jsonl"));
        let text = std::fs::read_to_string(&path).expect("read set");
        for (n, line) in text.lines().enumerate() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{set}:{}: {e}", n + 1));
            let gold: Vec<&str> = case["gold"].as_array().expect("gold").iter().filter_map(|g| g.as_str()).collect();
            let bodies: Vec<String> = gold
                .iter()
                .map(|g| squash(&kb.article(g).unwrap_or_else(|| panic!("{set}:{}: no article {g}", n + 1)).body))
                .collect();
            for fact in case["facts"].as_array().expect("facts").iter().filter_map(|f| f.as_str()) {
                assert!(
                    bodies.iter().any(|b| b.contains(&squash(fact))),
                    "{set}:{}: `{fact}` is in none of {gold:?}",
                    n + 1
                );
            }
        }
    }
}
