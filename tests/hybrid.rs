//! Hybrid retrieval end to end: the real encoder, vectors beside the index, fusion, fallbacks.

use crate::util::{bundled_kb, deskpilot, stdout};
use deskpilot::retrieval::{DenseChoice, RetrievalMode, Retriever, index_dir_for, load_for_kb};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn encoder_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/encoder")
}

fn hybrid() -> DenseChoice {
    let intent_dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/understand/intent"));
    DenseChoice { mode: RetrievalMode::Hybrid, encoder_dir: encoder_dir(), dense_weight: 1.0, intent_dir }
}

/// The bundled KB with dense evidence, built once, and its data dir (vectors included).
pub fn bundled_hybrid() -> &'static (Retriever, tempfile::TempDir) {
    static R: OnceLock<(Retriever, tempfile::TempDir)> = OnceLock::new();
    R.get_or_init(|| {
        let data = tempfile::tempdir().expect("tempdir");
        let (r, _) = Retriever::open_with(&bundled_kb(), data.path(), &hybrid(), &|_, _| {}).expect("open");
        (r, data)
    })
}

#[test]
fn hybrid_finds_paraphrased_questions_and_reports_both_scores() {
    let r = &bundled_hybrid().0;
    assert!(r.dense().is_some(), "encoder loaded");
    assert_eq!(r.effective_mode(), RetrievalMode::Hybrid);
    // Phrasings that share few words with the articles.
    for (q, slug) in [
        ("I can't get into my account, it keeps rejecting my login after several tries", "account-locked"),
        ("the thing I bought shows up smashed to pieces", "damaged-item"),
    ] {
        let res = r.search_text(q, 5).expect("search");
        let top3: Vec<&str> = res.hits.iter().take(3).map(|h| h.slug.as_str()).collect();
        assert!(top3.contains(&slug), "{q:?}: {top3:?}");
        assert_eq!(res.components.len(), res.hits.len());
        assert!(res.components.iter().any(|c| c.dense.is_some() && c.lexical.is_some()), "{:?}", res.components);
        assert!((0.0..=1.0).contains(&res.confidence));
    }
    // Chinese is ranked with the multilingual encoder, over Chinese passages only.
    let zh = r.search_text("我的密码忘了怎么办", 3).expect("search");
    assert!(zh.components.iter().any(|c| c.dense.is_some()), "{:?}", zh.components);
    assert!(zh.hits.iter().all(|h| h.slug.starts_with("zh/")), "{:?}", zh.hits);
    assert_eq!(zh.hits[0].slug, "zh/reset-password");
}

#[test]
fn a_chinese_question_gets_the_multilingual_encoders_vectors() {
    use deskpilot::desk::ports::{RetrievalQuery, Retriever as _};
    let (r, data) = bundled_hybrid();
    let zh = r.dense().and_then(|d| d.chinese.as_ref()).expect("the multilingual encoder beside assets/encoder");
    assert!(zh.index.sentences.as_ref().is_some_and(|s| s.len() > 50), "the KB's Chinese sentences are embedded");
    let dir = index_dir_for(&bundled_kb(), data.path());
    assert!(dir.join("sentences-zh.vec").is_file(), "and kept beside the index");
    // The heads fitted on the English encoder's vectors (intent, sentiment) do not read them.
    let res = r.search_text("退货以后多久能收到退款", 5).expect("search");
    assert!(res.vectors.as_ref().is_some_and(|v| v.multilingual.is_some() && v.english().is_none()));
    let got = r.retrieve(&RetrievalQuery::from_text("退货以后多久能收到退款", 5)).expect("retrieve");
    let v = got.vectors.expect("meaning vectors for a Chinese question");
    assert!(v.multilingual.is_some() && v.latest.len() == 384);
    // The sentence retrieved closest to the question is about the refund.
    let cos = |t: &str| deskpilot::semantic::dot(&v.latest, &v.sentences[t]);
    let (best, _) = v.sentences.keys().map(|t| (t, cos(t))).max_by(|a, b| a.1.total_cmp(&b.1)).expect("sentences");
    assert!(best.contains("退款"), "{best}");
    // English questions keep the English encoder's vectors.
    let en = r.retrieve(&RetrievalQuery::from_text("when do I get my refund", 5)).expect("retrieve");
    assert!(en.vectors.is_some_and(|v| v.multilingual.is_none()));
}

#[test]
fn the_bundled_intent_classifier_tags_english_and_chinese_turns() {
    let r = &bundled_hybrid().0;
    assert!(r.intent_slot().get().is_some(), "the bundled classifier fits the bundled KB and encoder");
    for (q, topic) in [
        ("I sent the blender back last week, when do I get my money?", "refund-timeline"),
        ("the thing I bought shows up smashed to pieces", "damaged-item"),
        ("我的密码忘了怎么办", "zh/reset-password"),
    ] {
        let res = r.search_text(q, 5).expect("search");
        let intent = r.intent_of(&res).expect("an intent");
        assert_eq!(intent.topic, topic, "{q:?}: {intent:?}");
        assert!(!intent.category.is_empty() && (0.0..=1.0).contains(&intent.p), "{intent:?}");
    }
    // A classifier is used only with the KB it was trained for.
    let kb = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        kb.path().join("only.md"),
        "---\ntitle: Only article\ncategory: misc\n---\nThe only article there is, about gift wrapping.\n",
    )
    .expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let (other, _) = Retriever::open_with(kb.path(), data.path(), &hybrid(), &|_, _| {}).expect("open");
    assert!(other.dense().is_some() && other.intent_slot().get().is_none());
}

#[test]
fn search_json_reports_lexical_and_dense_scores() {
    // The shared data dir already holds the vectors: nothing is embedded again.
    let data = &bundled_hybrid().1;
    let out = deskpilot(data.path(), &["search", "--retrieval", "hybrid", "--json", "-k", "3", "I forgot my password"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let hits: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let first = &hits[0];
    assert_eq!(first["slug"], "reset-password");
    assert_eq!(first["mode"], "hybrid");
    assert!(first["dense_score"].as_f64().is_some_and(|c| c > 0.3), "{first}");
    assert!(first["lexical_score"].as_f64().is_some(), "{first}");
}

fn write_article(dir: &Path, slug: &str, title: &str, body: &str) {
    let md = format!("---\ntitle: {title}\ncategory: test\nlang: en\n---\n\n{body}\n");
    std::fs::write(dir.join(format!("{slug}.md")), md).expect("write article");
}

#[test]
fn vectors_are_incremental_and_a_bad_file_is_rebuilt() {
    let kb = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    write_article(kb.path(), "refunds", "Refunds", "Refunds reach your card within five working days.");
    write_article(kb.path(), "shipping", "Shipping", "Standard shipping takes three to five days.");
    write_article(kb.path(), "hours", "Opening hours", "Our support team is available from 8am to 8pm.");
    let open = || {
        let (r, report) = Retriever::open(kb.path(), data.path(), &|_, _| {}).expect("open");
        let n = r.num_passages() as usize;
        load_for_kb(kb.path(), data.path(), &encoder_dir(), &report, n, &|_, _| {}).expect("vectors").1
    };
    let first = open();
    assert_eq!((first.passages, first.embedded), (3, 3));
    assert!(first.sentences >= 3);
    assert_eq!(open().embedded, 0, "unchanged KB: nothing re-embedded");

    write_article(kb.path(), "hours", "Opening hours", "Our support team is available from 9am to 5pm on weekdays.");
    let edited = open();
    assert_eq!((edited.passages, edited.embedded), (3, 1), "only the edited passage");

    let file = index_dir_for(kb.path(), data.path()).join("passages.vec");
    std::fs::write(&file, b"not a vector file").expect("corrupt");
    let rebuilt = open();
    assert_eq!(rebuilt.embedded, 3);
    assert!(rebuilt.rebuilt.is_some_and(|w| w.contains("magic")));
    assert_eq!(open().embedded, 0, "the rebuilt file is valid");

    // What an interrupted run leaves: a checkpoint with some rows and no KB hash. The next run
    // reuses those rows and embeds the rest.
    let encoder = deskpilot::semantic::Encoder::load(&encoder_dir()).expect("encoder");
    let sha = deskpilot::semantic::vectors::sha_bytes(encoder.model_sha256());
    let mut part = deskpilot::semantic::vectors::VectorFile::read(&file, &sha, encoder.dim()).expect("read");
    part.labels.truncate(2);
    part.keys.truncate(2);
    part.rows.truncate(2 * part.dim);
    part.source = [0; 32];
    part.write(&file).expect("write checkpoint");
    let resumed = open();
    assert_eq!((resumed.passages, resumed.embedded), (3, 1), "two rows came from the checkpoint");
    assert_eq!(open().embedded, 0);
}

#[test]
fn chinese_vectors_are_kept_and_a_bad_file_is_rebuilt() {
    let kb = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    write_article(kb.path(), "refunds", "Refunds", "Refunds reach your card within five working days.");
    std::fs::create_dir_all(kb.path().join("zh")).expect("mkdir");
    std::fs::write(
        kb.path().join("zh/refunds.md"),
        "---\ntitle: 退款\nlang: zh\n---\n仓库收到退货后 2 个工作日内办理退款。退回银行卡需要 5-7 个工作日。\n",
    )
    .expect("write");
    let open = || {
        let (r, report) = Retriever::open(kb.path(), data.path(), &|_, _| {}).expect("open");
        let n = r.num_passages() as usize;
        load_for_kb(kb.path(), data.path(), &encoder_dir(), &report, n, &|_, _| {}).expect("vectors").0
    };
    let rows = |d: &deskpilot::retrieval::Dense| {
        let zh = d.chinese.as_ref().expect("Chinese vectors");
        (zh.index.passages.len(), zh.index.sentences.as_ref().map_or(0, |s| s.len()))
    };
    assert_eq!(rows(&open()), (1, 2));
    let file = index_dir_for(kb.path(), data.path()).join("sentences-zh.vec");
    std::fs::write(&file, b"not a vector file").expect("corrupt");
    assert_eq!(rows(&open()), (1, 2), "re-embedded");
    assert!(std::fs::read(&file).expect("read").len() > 100, "and written again");
    assert_eq!(rows(&open()), (1, 2), "and read back as written");
}

#[test]
fn a_missing_encoder_falls_back_to_lexical() {
    let data = tempfile::tempdir().expect("tempdir");
    let choice = DenseChoice {
        mode: RetrievalMode::Hybrid,
        encoder_dir: data.path().join("no-encoder"),
        dense_weight: 1.0,
        intent_dir: None,
    };
    let (r, _) = Retriever::open_with(&bundled_kb(), data.path(), &choice, &|_, _| {}).expect("open");
    assert!(r.dense().is_none());
    assert_eq!(r.effective_mode(), RetrievalMode::Lexical);
    assert_eq!(r.search_text("reset my password", 3).expect("search").hits[0].slug, "reset-password");
}
