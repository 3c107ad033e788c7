//! The sentence encoder against an independent numpy implementation
//! (`scripts/encoder_reference.py` -> `tests/fixtures/encoder_reference.json`).

use deskpilot::semantic::{Encoder, dot};
use std::path::Path;
use std::sync::OnceLock;

/// The shipped encoder, loaded once for every test here.
pub fn encoder() -> &'static Encoder {
    static E: OnceLock<Encoder> = OnceLock::new();
    E.get_or_init(|| {
        Encoder::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/encoder")).expect("load assets/encoder")
    })
}

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    tokens: usize,
    vector: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[test]
fn encoder_matches_the_numpy_reference() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder_reference.json");
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(path).expect("read fixture")).expect("parse");
    let enc = encoder();
    let texts: Vec<&str> = fixture.cases.iter().map(|c| c.text.as_str()).collect();
    // One batch of mixed lengths (padding and masking at work) and each text alone.
    let batched = enc.encode(&texts).expect("encode");
    for (case, got) in fixture.cases.iter().zip(&batched) {
        assert_eq!(enc.token_ids(&case.text).expect("tokens").len(), case.tokens, "{:?}", case.text);
        assert_eq!(got.len(), enc.dim());
        let cos = dot(got, &case.vector) / dot(&case.vector, &case.vector).sqrt();
        assert!(cos >= 0.9999, "{:?}: cosine {cos} to the reference (batched)", case.text);
        let alone = enc.encode(&[case.text.as_str()]).expect("encode one");
        let cos = dot(&alone[0], &case.vector) / dot(&case.vector, &case.vector).sqrt();
        assert!(cos >= 0.9999, "{:?}: cosine {cos} to the reference (alone)", case.text);
    }
}

#[test]
fn paraphrases_are_closer_than_unrelated_sentences() {
    let enc = encoder();
    let pairs = [
        ("How do I reset my password?", "I forgot my password and can't log in", "What are your opening hours?"),
        ("My parcel arrived broken", "The item was damaged in delivery", "How do I change my email address?"),
        ("Can I get a refund?", "I want my money back", "Do you ship to Canada?"),
        ("Where is my order?", "My package hasn't arrived yet", "How do I delete my account?"),
    ];
    for (a, para, other) in pairs {
        let v = enc.encode(&[a, para, other]).expect("encode");
        let (close, far) = (dot(&v[0], &v[1]), dot(&v[0], &v[2]));
        assert!(close > far + 0.1, "{a:?}: paraphrase {close}, unrelated {far}");
    }
}
