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
