//! The sentence encoders against independent numpy implementations
//! (`scripts/encoder_reference.py` -> `tests/fixtures/encoder_reference.json`,
//! `scripts/e5_reference.py` -> `tests/fixtures/e5_reference.json`).

use deskpilot::semantic::multilingual::Role;
use deskpilot::semantic::{Encoder, Multilingual, dot};
use std::path::Path;
use std::sync::OnceLock;

/// The shipped encoder, loaded once for every test here.
pub fn encoder() -> &'static Encoder {
    static E: OnceLock<Encoder> = OnceLock::new();
    E.get_or_init(|| {
        Encoder::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/encoder")).expect("load assets/encoder")
    })
}

/// The shipped multilingual encoder, loaded once for every test here.
pub fn multilingual() -> &'static Multilingual {
    static E: OnceLock<Multilingual> = OnceLock::new();
    E.get_or_init(|| {
        Multilingual::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/encoder-zh"))
            .expect("load assets/encoder-zh")
    })
}

#[derive(serde::Deserialize)]
struct Case {
    #[serde(default)]
    role: String,
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
fn multilingual_encoder_matches_the_numpy_reference() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e5_reference.json");
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(path).expect("read fixture")).expect("parse");
    let enc = multilingual();
    for role in [Role::Query, Role::Passage] {
        let cases: Vec<&Case> = fixture.cases.iter().filter(|c| (c.role == "query") == (role == Role::Query)).collect();
        let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
        let batched = enc.encode(&texts, role).expect("encode");
        for (case, got) in cases.iter().zip(&batched) {
            assert_eq!(enc.token_ids(&case.text, role).expect("tokens").len(), case.tokens, "{:?}", case.text);
            let cos = dot(got, &case.vector) / dot(&case.vector, &case.vector).sqrt();
            assert!(cos >= 0.9999, "{:?}: cosine {cos} to the reference", case.text);
        }
    }
    // Meaning, in Chinese: a refund question is closer to the refund sentence than to the
    // order-change one.
    let q = &enc.encode(&["退货要多久才能退款？"], Role::Query).expect("encode")[0];
    let p = enc
        .encode(
            &["仓库收到退货后，我们会在 2 个工作日内办理退款。", "订单提交后 30 分钟内可以修改或取消。"],
            Role::Passage,
        )
        .expect("encode");
    assert!(dot(q, &p[0]) > dot(q, &p[1]) + 0.02, "{} vs {}", dot(q, &p[0]), dot(q, &p[1]));
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
