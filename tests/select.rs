//! The learned answer selector end to end: the bundled selector over real hybrid retrieval
//! (encoder, sentence vectors beside the index) picks the sentences that answer, in the
//! customer's language, and abstains where the KB has no answer.

use crate::hybrid::bundled_hybrid;
use deskpilot::desk::ports::{DraftRequest, Drafter, Flow, RetrievalQuery, Retriever as _};
use deskpilot::desk::{Customer, Message, RequestId, Tier};
use deskpilot::model::ExtractiveDrafter;
use deskpilot::select::Selector;
use std::path::Path;
use std::sync::Arc;

fn selector() -> Arc<Selector> {
    Arc::new(Selector::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/selector")).expect("bundled selector"))
}

fn draft(text: &str, name: &str, lang: &str) -> (String, bool) {
    let r = &bundled_hybrid().0;
    let messages = vec![Message::customer(text, 1)];
    let query = RetrievalQuery {
        turns: vec![(deskpilot::desk::Author::Customer, text.to_owned())],
        tags: vec![],
        k: 5,
        language: None,
    };
    let retrieval = r.retrieve(&query).expect("retrieve");
    let request = DraftRequest {
        request: RequestId(1),
        conversation: "T-1".into(),
        customer: Some(Customer {
            id: "c".into(),
            name: name.into(),
            email: "c@example.com".into(),
            language: lang.into(),
            tier: Tier::Standard,
            notes: String::new(),
        }),
        messages,
        retrieval,
        details: vec![],
    };
    let mut d = ExtractiveDrafter { selector: Some(selector()), ..ExtractiveDrafter::default() };
    let out = d.draft(&request, &mut |_| Flow::Continue).expect("draft");
    assert!(out.model_version.starts_with("extractive-1+"), "{}", out.model_version);
    (out.text, out.abstained)
}

#[test]
fn the_selector_quotes_the_answering_sentence() {
    // Written for this test, in no eval set (quality is measured by `deskpilot eval`).
    let (text, abstained) = draft("hi, how much does express shipping cost?", "Kai Müller", "en");
    assert!(!abstained && text.contains("$12.99"), "{text}");
    assert!(text.starts_with("Hi Kai,"), "{text}");
}

#[test]
fn an_initial_is_never_used_as_a_name() {
    let (text, _) = draft("how much is express delivery", "M. Rossi", "en");
    assert!(text.starts_with("Hi M. Rossi,"), "{text}");
}

#[test]
fn chinese_questions_get_chinese_answers_without_english_fragments() {
    let (text, abstained) = draft("我想退货，期限是几天？", "王芳", "zh");
    assert!(!abstained, "{text}");
    assert!(text.starts_with("王芳您好！"), "{text}");
    // Only the company's own names stay in Latin letters.
    let latin: Vec<&str> =
        text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty() && *w != "Harbor").collect();
    assert!(latin.is_empty(), "English {latin:?} in {text}");
}

#[test]
fn questions_the_kb_cannot_answer_are_not_answered() {
    let (text, abstained) = draft("what time does the football match start tonight?", "Kai Müller", "en");
    assert!(abstained, "{text}");
}

/// `deskpilot train-selector` on a small KB: synthetic questions, labelled dev cases fitted out of
/// fold, an ensemble saved with its provenance, and a draft that uses it.
#[test]
fn train_selector_fits_an_ensemble_that_the_drafter_then_uses() {
    use crate::util::{bundled_kb, deskpilot, stderr, stdout};
    let dir = tempfile::tempdir().expect("tempdir");
    let kb = dir.path().join("kb");
    std::fs::create_dir_all(&kb).expect("kb dir");
    for a in ["damaged-item.md", "refund-timeline.md", "shipping-options.md"] {
        std::fs::copy(bundled_kb().join(a), kb.join(a)).expect("copy article");
    }
    let dev = dir.path().join("dev.jsonl");
    let case = |id: &str, text: &str, gold: &str, fact: &str| {
        serde_json::json!({"id": id, "turns": [{"role": "customer", "text": text}], "gold": [gold], "facts": [fact]})
            .to_string()
    };
    let lines = [
        case("d1", "how many days for normal delivery", "shipping-options", "3-5 business days"),
        case("d2", "my vase came smashed, how long do i have to tell you", "damaged-item", "within 14 days of delivery"),
        case("d3", "sent my return back, when is the money on my card", "refund-timeline", "5-7 business days"),
        case("d4", "what does standard shipping cost", "shipping-options", "$4.99"),
        serde_json::json!({"id": "d5", "turns": [{"role": "customer", "text": "who won the match last night"}], "abstain": true, "gold": [], "facts": []}).to_string(),
    ];
    std::fs::write(&dev, lines.join("\n") + "\n").expect("write dev");
    let out = dir.path().join("selector");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let args =
        ["train-selector", "--kb", &s(&kb), "--dev", &s(&dev), "--cross-fit", "--per-passage", "2", "--steps", "40"];
    let o = deskpilot(dir.path(), &[&args[..], &["--members", "2", "--out", &s(&out)]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("selector.json")).expect("selector.json"))
            .expect("json");
    assert_eq!(file["members"], 2, "{file}");
    assert_eq!(file["provenance"]["dev"]["answerable"], 4, "{file}");
    assert!(file["provenance"]["synthetic_questions"].as_u64().unwrap_or(0) > 10, "{file}");
    let version = file["version"].as_str().expect("version").to_owned();
    let loaded = Selector::load(&out).expect("the trained selector loads");
    assert_eq!(loaded.file.members, 2);

    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[model]\nselector = {:?}\n", s(&out))).expect("config");
    let o = deskpilot(
        dir.path(),
        &[
            "draft",
            "--config",
            &s(&config),
            "--kb",
            &s(&kb),
            "--drafter",
            "extractive",
            "--json",
            "standard",
            "shipping",
            "cost",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("draft json");
    // The drafter names the selector it used: `extractive-1+` and the first six of its hash.
    let short = &version.trim_start_matches("selector-")[..6];
    assert!(v["model"].as_str().unwrap_or("").ends_with(short), "{v}");
}
