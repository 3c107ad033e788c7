//! The binary as a user runs it.

use crate::util::{deskpilot, stderr, stdout};

#[test]
fn help_shows_examples_and_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("Examples:") && text.contains("Exit codes"), "{text}");
    let out = deskpilot(dir.path(), &["--version"]);
    assert!(stdout(&out).starts_with("deskpilot "));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["search"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = deskpilot(dir.path(), &["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn doctor_names_the_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in ["config file", "data dir", "log file", "database", "articles     57", "Terminal"] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    assert!(text.contains(&dir.path().display().to_string()));
}

#[test]
fn bad_config_is_reported_with_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[retrieval]\ntop_k = \"many\"\n").expect("write");
    let out = deskpilot(dir.path(), &["--config", cfg.to_str().expect("utf-8"), "doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("top_k"), "{}", stderr(&out));
    let out = deskpilot(dir.path(), &["--config", "/nonexistent/deskpilot.toml", "doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/deskpilot.toml"), "{}", stderr(&out));
}

#[test]
fn search_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["search", "-k", "3", "--json", "when", "will", "my", "refund", "arrive"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let hits = v.as_array().expect("array");
    assert!(!hits.is_empty() && hits.len() <= 3);
    for key in ["slug", "title", "section", "text", "score", "confidence", "highlights"] {
        assert!(hits[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(hits[0]["slug"], "refund-timeline");
    let out = deskpilot(dir.path(), &["search", "--json", "退款多久到账"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["slug"], "zh/refund-timeline");
}

#[test]
fn index_then_search_reuses_the_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["index"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("57 added"), "{}", stdout(&out));
    let out = deskpilot(dir.path(), &["index"]);
    assert!(stdout(&out).contains("(0 added, 0 updated, 0 removed)"), "{}", stdout(&out));
}

#[test]
fn eval_reports_retrieval_metrics_as_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = dir.path().join("set");
    std::fs::create_dir_all(set.join("kb")).expect("mkdir");
    std::fs::write(
        set.join("kb/parking.md"),
        "---\ntitle: Parking\ncategory: hotel\nlang: en\n---\n\nFree parking is available on site for all guests.\n",
    )
    .expect("write");
    std::fs::write(
        set.join("kb/wifi.md"),
        "---\ntitle: Wifi\ncategory: hotel\nlang: en\n---\n\nWifi is free in all rooms and the lobby.\n",
    )
    .expect("write");
    let case = |id: &str, q: &str, gold: &str, ev: &str| {
        serde_json::json!({"id": id, "turns": [{"role": "customer", "text": q}], "gold": [gold], "gold_passages": [ev], "reference": ev})
            .to_string()
    };
    let lines = [
        case("1", "is parking free?", "parking", "Free parking is available on site"),
        case("2", "do rooms have wifi", "wifi", "Wifi is free in all rooms"),
    ];
    std::fs::write(set.join("dev.jsonl"), lines.join("\n")).expect("write");
    let out_file = dir.path().join("cases.jsonl");
    let out = deskpilot(
        dir.path(),
        &[
            "eval",
            "--set",
            set.to_str().expect("utf-8"),
            "--json",
            "--drafter",
            "extractive",
            "--out",
            out_file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["cases"], 2);
    assert_eq!(v["retrieval"]["hit@1"], 1.0);
    assert_eq!(v["retrieval"]["evidence_recall@5"], 1.0);
    assert!(v["timings"]["retrieval_p50_ms"].is_number());
    let g = &v["generation"];
    assert_eq!(g["cases"], 2);
    for key in ["token_f1", "rouge_l", "bleu", "abstention_rate", "unsupported_rate", "draft_p50_ms"] {
        assert!(g[key].is_number(), "generation.{key} missing: {g}");
    }
    assert!(g["rouge_l"].as_f64().unwrap_or(0.0) > 0.3, "drafts quote the evidence: {g}");
    assert_eq!(std::fs::read_to_string(&out_file).expect("read").lines().count(), 2);
    // The shipped generator drafts too (the default drafter), with its version recorded.
    let out = deskpilot(dir.path(), &["eval", "--set", set.to_str().expect("utf-8"), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["generation"]["drafter"].as_str().unwrap_or("").starts_with("neural-"), "{v}");
    // The ablation: the generator alone, without the answer selector or the content plan.
    let out = deskpilot(dir.path(), &["eval", "--set", set.to_str().expect("utf-8"), "--json", "--drafter", "decoder"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["generation"]["cases"], 2, "{v}");

    std::fs::write(set.join("dev.jsonl"), "{\"id\": \"1\", \"turns\": oops}\n").expect("write");
    let out = deskpilot(dir.path(), &["eval", "--set", set.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("dev.jsonl:1"), "{}", stderr(&out));
}

#[test]
fn draft_streams_text_and_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["draft", "is", "my", "AH-200", "heater", "recalled?"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("AH-200"), "{}", stdout(&out));
    let out = deskpilot(dir.path(), &["draft", "--json", "how", "long", "does", "express", "shipping", "take"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    for key in ["draft", "sources", "confidence", "abstained", "unsupported", "timings"] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    for key in ["retrieval_ms", "first_token_ms", "total_ms", "tokens", "tokens_per_s"] {
        assert!(v["timings"][key].is_number(), "missing timings.{key}");
    }
    assert_eq!(v["sources"][0]["slug"], "shipping-options");
    assert_eq!(v["abstained"], false);
    assert!(v["model"].as_str().unwrap_or("").starts_with("neural-"), "the shipped generator drafts: {v}");
    let out = deskpilot(dir.path(), &["draft", "--json", "--drafter", "extractive", "express", "shipping", "time"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["model"].as_str().unwrap_or("").starts_with("extractive-1"), "{v}");
    let conv = dir.path().join("c.json");
    std::fs::write(&conv, r#"{"turns": [{"role": "customer", "text": "I bought a heater"}, {"role": "agent", "text": "Which model?"}, {"role": "customer", "text": "the AH-200"}]}"#).expect("write");
    let out = deskpilot(dir.path(), &["draft", "--json", "--conversation", conv.to_str().expect("utf-8")]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["sources"][0]["slug"], "product-recall");
    let out =
        deskpilot(dir.path(), &["draft", "--json", "can", "you", "recommend", "a", "pizza", "place", "in", "Rome"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["abstained"], true, "{v}");
}

#[test]
fn the_shipped_generator_states_catalogue_facts_and_abstains_off_topic() {
    // assets/eval/harbor.jsonl: customer questions about the bundled company, each with the
    // catalogue facts a draft must state, and questions the KB cannot answer.
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["eval", "--cases", "assets/eval/harbor.jsonl", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let g = &v["generation"];
    assert!(g["drafter"].as_str().unwrap_or("").starts_with("neural-"), "{g}");
    assert!(g["fact_cases"].as_u64().unwrap_or(0) >= 100, "{g}");
    // Measured 0.809 and 0.556 with the shipped models (lexical retrieval); the floors catch
    // regressions. Whether to answer is the answer selector's call for both drafters. The
    // selector is fitted with hybrid retrieval, where this set gives 0.924 and 0.733; read by
    // words alone, the selector fitted with Chinese vectors (2026-12-07) hands off 25 of the 45,
    // where the one before handed off 31 (docs/quality.md).
    assert!(g["fact_recall"].as_f64().unwrap_or(0.0) >= 0.7, "facts stated: {g}");
    assert!(g["abstain_recall"].as_f64().unwrap_or(0.0) >= 0.5, "abstained off topic: {g}");
    // Measured 0: the selector's sentences are quoted verbatim to their end (the "10-dayress"
    // splice on tune-a-18 is gone); the margin allows for float differences between CPUs.
    assert!(g["unsupported_rate"].as_f64().unwrap_or(1.0) <= 0.01, "{g}");
    assert!(v["retrieval"]["hit@3"].as_f64().unwrap_or(0.0) >= 0.85, "{}", v["retrieval"]);
}

#[test]
fn bench_generation_times_each_stage_of_the_draft_pipeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = deskpilot(dir.path(), &["bench", "generation", "--runs", "1", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(v["model"]["first_token_ms"].is_number(), "{v}");
    let pipelines = v["pipeline"].as_array().expect("pipeline stages");
    assert_eq!(pipelines.len(), 2, "extractive and neural: {v}");
    for p in pipelines {
        for stage in ["retrieval", "first_text", "whole_draft"] {
            assert!(p[stage]["p50_ms"].is_number() && p[stage]["p99_ms"].is_number(), "{stage}: {p}");
        }
        assert!(p["selection"]["p50_ms"].is_number(), "the bundled selector is timed: {p}");
        assert!(p["whole_draft"]["p50_ms"].as_f64() >= p["retrieval"]["p50_ms"].as_f64(), "{p}");
    }
}

#[test]
fn the_neural_draft_quotes_the_selected_sentences_whole() {
    // The selector picks a sentence from the third passage; the prompt keeps it, and the decoder
    // copies it to its end instead of splicing it onto a neighbouring sentence.
    let dir = tempfile::tempdir().expect("tempdir");
    let q = "need the quickest option you have, my wife flies out friday. how much extra is it";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deskpilot"))
        .args(["draft", "--json", "--drafter", "neural", q])
        .env("DESKPILOT_DATA_DIR", dir.path())
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("DESKPILOT_RETRIEVAL_MODE", "hybrid")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run deskpilot");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let text = v["draft"].as_str().unwrap_or("");
    assert!(text.contains("Express takes 1-2 business days and costs $12.99"), "{text}");
    assert_eq!(v["abstained"], false, "{v}");
}

#[test]
fn an_extractive_draft_quotes_a_list_item_with_its_lead_in() {
    // The selector picks the list item that answers; the reply says it with the sentence that
    // leads into the list, not as the fragment "Drops, cracked screens, ... damage."
    let dir = tempfile::tempdir().expect("tempdir");
    let q =
        ["draft", "--json", "--drafter", "extractive", "does the warranty pay for a cracked screen if i dropped it"];
    let out = deskpilot(dir.path(), &q);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let text = v["draft"].as_str().unwrap_or("");
    assert!(
        text.contains("It does not cover: drops, cracked screens, liquid spills or other accidental damage."),
        "{text}"
    );
}
