//! Property tests (proptest) of every parser of outside input: the KB loader (front matter and
//! Markdown), the conversation JSON of `draft --conversation` and evaluation cases, the config
//! file with its environment overrides, the key map, and the demo scenarios file.
//!
//! Inputs are built from the grammar's own pieces (keys, delimiters, headings, links, CJK,
//! control characters, huge and odd numbers) and then mutated (truncated, bytes flipped), so
//! most cases get past the first parse error. Each property checks more than "no panic": a file
//! that does not load is named by an error, and what loads is within its documented bounds.
//!
//! `PROPTEST_CASES` sets the cases per property (64 by default here); `scripts/fuzz.sh` runs
//! them longer. A crash found becomes a named regression test at the end of this file.

use deskpilot::channel::demo::{DemoChannel, Scenarios};
use deskpilot::desk::ports::{Channel, ChannelEvent, DraftRequest, Drafter, Flow, RetrievalQuery, Retriever as _};
use deskpilot::desk::{Message, RequestId};
use deskpilot::knowledge::{ChunkOptions, Severity, chunk_article, load_kb};
use deskpilot::model::extractive::ExtractiveDrafter;
use deskpilot::retrieval::Retriever;
use proptest::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Text pieces that matter to the parsers: delimiters, Markdown syntax, CJK, emoji, controls.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("---\n".to_owned()),
        Just("---\r\n".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("# Heading\n".to_owned()),
        Just("## Sub > section\n".to_owned()),
        Just("###### deep\n".to_owned()),
        Just("- item\n  - nested\n".to_owned()),
        Just("1. first\n2) second\n".to_owned()),
        Just("```\ncode ---\n```\n".to_owned()),
        Just("```".to_owned()),
        Just("> quote\n".to_owned()),
        Just("| a | b |\n|---|---|\n| 1 | 2 |\n".to_owned()),
        Just("[link](other.md)".to_owned()),
        Just("[up](../x.md#frag)".to_owned()),
        Just("![img](a.png)".to_owned()),
        Just("<div>html</div>".to_owned()),
        Just("title: ".to_owned()),
        Just("tags: [a, b]\n".to_owned()),
        Just("tags: {x: 1}\n".to_owned()),
        Just("lang: zh\n".to_owned()),
        Just("audience: internal\n".to_owned()),
        Just("audience: nobody\n".to_owned()),
        Just("id: dup\n".to_owned()),
        Just("&anchor *anchor".to_owned()),
        Just("!!binary aGk=".to_owned()),
        Just("退款会在 2 个工作日内发放。".to_owned()),
        Just("👩‍👩‍👧 é\u{301}".to_owned()),
        Just("\u{202E}\u{1b}[31m\u{0}\u{7}".to_owned()),
        Just("AH-200 $4.99 3-5 days.".to_owned()),
        Just("\t   ".to_owned()),
        "[a-zA-Z0-9 .,:!?-]{0,40}",
        any::<String>().prop_map(|s| s.chars().take(20).collect()),
    ]
}

fn text_of(pieces: Vec<String>) -> String {
    pieces.concat()
}

/// Article text: often a plausible front matter and body, sometimes anything.
fn article() -> impl Strategy<Value = Vec<u8>> {
    let plausible = (
        prop::option::of("[A-Za-z 退款]{0,20}"),
        prop::collection::vec(piece(), 0..6),
        prop::collection::vec(piece(), 0..24),
    )
        .prop_map(|(title, front, body)| {
            let mut s = String::from("---\n");
            if let Some(t) = title {
                s.push_str(&format!("title: {t}\n"));
            }
            s.push_str(&text_of(front));
            s.push_str("\n---\n");
            s.push_str(&text_of(body));
            s.into_bytes()
        })
        .boxed();
    let mutated = (plausible.clone(), any::<u16>(), any::<u8>()).prop_map(|(mut b, at, byte)| {
        if !b.is_empty() {
            let i = at as usize % b.len();
            if byte % 2 == 0 {
                b.truncate(i);
            } else {
                b[i] = byte;
            }
        }
        b
    });
    prop_oneof![4 => plausible, 2 => mutated, 1 => prop::collection::vec(any::<u8>(), 0..200)]
}

proptest! {
    #![proptest_config(config())]

    /// Every `.md` file becomes an article or an error naming it; passages stay inside the file.
    #[test]
    fn fuzz_kb_loader(files in prop::collection::vec(("[a-z]{1,6}(/[a-z]{1,4})?", article()), 1..5)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut written = std::collections::BTreeMap::new();
        for (name, bytes) in &files {
            let path = dir.path().join(format!("{name}.md"));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, bytes).expect("write");
            written.insert(path, bytes.clone());
        }
        let kb = load_kb(dir.path());
        for path in written.keys() {
            let loaded = kb.articles.iter().any(|a| &a.path == path);
            let refused = kb.issues.iter().any(|i| &i.path == path && i.severity == Severity::Error);
            prop_assert!(loaded || refused, "{} vanished without an error: {:?}", path.display(), kb.issues);
        }
        let mut chunks = Vec::new();
        for a in &kb.articles {
            let source = &written[&a.path];
            for c in chunk_article(a, &ChunkOptions::default()) {
                prop_assert!(c.range.start <= c.range.end && c.range.end <= source.len(), "{:?} outside {} bytes", c.range, source.len());
                prop_assert!(!c.text.trim().is_empty());
                chunks.push(c);
            }
        }
        // What loads can be indexed and found again by its own title.
        let r = Retriever::in_ram(&chunks).expect("index");
        prop_assert_eq!(r.num_passages() as usize, chunks.len());
        for a in &kb.articles {
            let result = r.search_text(&a.meta.title, 3).expect("search");
            prop_assert!(result.hits.len() <= 3 && result.confidence.is_finite());
        }
    }
}

/// One in-memory retriever over the bundled KB, shared by the conversation properties.
fn retriever() -> &'static Retriever {
    static R: OnceLock<Retriever> = OnceLock::new();
    R.get_or_init(|| {
        let kb = load_kb(&crate::util::bundled_kb());
        let chunks: Vec<_> = kb.articles.iter().flat_map(|a| chunk_article(a, &ChunkOptions::default())).collect();
        Retriever::in_ram(&chunks).expect("retriever")
    })
}

fn role() -> impl Strategy<Value = String> {
    prop_oneof![Just("customer".to_owned()), Just("agent".to_owned()), Just("system".to_owned()), "[a-z]{0,8}"]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(Into::into),
        any::<i64>().prop_map(Into::into),
        any::<f64>().prop_map(Into::into),
        text_piece().prop_map(Into::into),
    ]
}

fn text_piece() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..8).prop_map(text_of)
}

/// Conversation JSON: well-formed turns, odd values in place of fields, or mangled text.
fn conversation() -> impl Strategy<Value = String> {
    let turns = prop::collection::vec((role(), text_piece()), 0..6)
        .prop_map(|turns| {
            serde_json::json!({
                "turns": turns.iter().map(|(r, t)| serde_json::json!({"role": r, "text": t})).collect::<Vec<_>>()
            })
        })
        .boxed();
    let odd = (
        turns.clone(),
        prop::sample::select(vec!["turns", "id", "gold", "facts", "abstain", "reference"]),
        json_value(),
    )
        .prop_map(|(mut v, key, val)| {
            v[key] = val;
            v
        });
    let structured = prop_oneof![3 => turns, 1 => odd].prop_map(|v| v.to_string()).boxed();
    let mangled = (structured.clone(), any::<u16>(), any::<char>()).prop_map(|(s, at, c)| {
        let mut chars: Vec<char> = s.chars().collect();
        if !chars.is_empty() {
            let i = at as usize % chars.len();
            if c.is_ascii_digit() { chars.truncate(i) } else { chars[i] = c }
        }
        chars.into_iter().collect()
    });
    prop_oneof![4 => structured, 2 => mangled, 1 => any::<String>()]
}

proptest! {
    #![proptest_config(config())]

    /// A conversation parses into turns ending with the customer's, or an error naming the file;
    /// what parses can be searched.
    #[test]
    fn fuzz_conversation_json(text in conversation()) {
        match deskpilot::eval::parse_conversation(&text, "conv.json") {
            Ok(case) => {
                prop_assert!(case.turns.last().is_some_and(|t| t.role == "customer"));
                let messages: Vec<Message> = deskpilot::eval::generation::case_messages(&case);
                let query = RetrievalQuery {
                    turns: messages.iter().map(|m| (m.author, m.text.clone())).collect(),
                    tags: Vec::new(),
                    k: 5,
                    language: None,
                };
                let result = retriever().search(&query).expect("search");
                prop_assert!(result.hits.len() <= 5);
                prop_assert!(result.confidence.is_finite(), "confidence {}", result.confidence);
                // And drafted from, as `draft --drafter extractive` does.
                let retrieval = retriever().retrieve(&query).expect("retrieve");
                let request = DraftRequest {
                    request: RequestId(1),
                    conversation: "fuzz".into(),
                    customer: None,
                    messages,
                    retrieval,
                    details: vec![],
                };
                let draft = ExtractiveDrafter::default().draft(&request, &mut |_| Flow::Continue).expect("draft");
                prop_assert!(!draft.text.trim().is_empty(), "an empty extractive draft");
            }
            Err(e) => prop_assert!(e.to_string().starts_with("conv.json: "), "{e}"),
        }
    }
}

/// A TOML value of any type, often at or past a range's edge.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("nan".to_owned()),
        Just("inf".to_owned()),
        Just("-inf".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("0.5".to_owned()),
        Just("7.5".to_owned()),
        Just("100000000000".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("1e300".to_owned()),
        Just("true".to_owned()),
        Just("\"dark\"".to_owned()),
        Just("\"light\"".to_owned()),
        Just("\"neural\"".to_owned()),
        Just("\"extractive\"".to_owned()),
        Just("\"info\"".to_owned()),
        Just("\"deskpilot=debug,warn\"".to_owned()),
        Just("[1, 2]".to_owned()),
        Just("{ a = 1 }".to_owned()),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f32>().prop_map(|f| format!("{f:?}")),
        "\"[a-z=,]{0,10}\"",
    ]
}

const KEYS: [(&str, &str); 14] = [
    ("kb", "dir"),
    ("retrieval", "top_k"),
    ("retrieval", "min_confidence"),
    ("model", "drafter"),
    ("model", "temperature"),
    ("model", "top_p"),
    ("model", "max_tokens"),
    ("model", "copy_continuation"),
    ("model", "plan"),
    ("model", "focus_sentences"),
    ("ui", "theme"),
    ("log", "level"),
    ("retrieval", "topk"),
    ("nosuch", "key"),
];

fn config_file() -> impl Strategy<Value = String> {
    let entries =
        prop::collection::vec((prop::sample::select(KEYS.to_vec()), toml_value()), 0..6).prop_map(|entries| {
            let mut by_section: std::collections::BTreeMap<&str, Vec<(&str, String)>> = Default::default();
            for ((section, key), value) in entries {
                by_section.entry(section).or_default().push((key, value));
            }
            let mut s = String::new();
            for (section, keys) in by_section {
                s.push_str(&format!("[{section}]\n"));
                let mut seen = std::collections::HashSet::new();
                for (k, v) in keys.into_iter().filter(|(k, _)| seen.insert(*k)) {
                    s.push_str(&format!("{k} = {v}\n"));
                }
            }
            s
        });
    prop_oneof![4 => entries, 1 => text_piece()]
}

fn env_vars() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        prop::sample::select(KEYS.to_vec()).prop_map(|(s, k)| format!(
            "DESKPILOT_{}_{}",
            s.to_uppercase(),
            k.to_uppercase()
        )),
        Just("DESKPILOT_RETRIEVAL_TOPK".to_owned()),
        Just("DESKPILOT_DATA_DIR".to_owned()),
    ];
    let value = prop_oneof![toml_value(), "[a-z0-9.]{0,6}"];
    prop::collection::vec((name, value), 0..3)
}

/// A key-map override table, as the config's `[keys]` section.
fn keys_table() -> impl Strategy<Value = String> {
    let mode = prop_oneof![Just("editor"), Just("navigate"), Just("global"), Just("overlay"), Just("nomode")];
    let key = prop_oneof![
        Just("ctrl-j"),
        Just("alt-enter"),
        Just("f12"),
        Just("shift-tab"),
        Just("ctrl-alt-shift-x"),
        Just("ctrl-"),
        Just(""),
        Just("f99"),
        Just("é"),
        Just("ctrl-ctrl-a"),
    ];
    let action = prop_oneof![Just("send"), Just("quit"), Just("help"), Just("no_such_action"), Just("")];
    prop::collection::vec((mode, key, action), 0..5).prop_map(|entries| {
        let mut by_mode: std::collections::BTreeMap<&str, Vec<(&str, &str)>> = Default::default();
        for (m, k, a) in entries {
            by_mode.entry(m).or_default().push((k, a));
        }
        let mut s = String::new();
        for (m, keys) in by_mode {
            s.push_str(&format!("[keys.{m}]\n"));
            let mut seen = std::collections::HashSet::new();
            for (k, a) in keys.into_iter().filter(|(k, _)| seen.insert(*k)) {
                s.push_str(&format!("{k:?} = {a:?}\n"));
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(config())]

    /// A config either resolves to values in range or fails naming the file or the variable.
    #[test]
    fn fuzz_config(file in config_file(), env in env_vars()) {
        match deskpilot::config::resolve(Some((Path::new("/cfg/user.toml"), &file)), &env) {
            Ok((c, _)) => {
                prop_assert!((1..=deskpilot::retrieval::MAX_K).contains(&c.retrieval.top_k));
                prop_assert!((0.0..=1.0).contains(&c.retrieval.min_confidence));
                prop_assert!(c.model.temperature.is_finite() && c.model.temperature >= 0.0);
                prop_assert!(c.model.top_p > 0.0 && c.model.top_p <= 1.0);
                prop_assert!(c.model.max_tokens >= 1);
            }
            Err(e) => {
                let text = format!("{e:#}");
                let named = text.contains("/cfg/user.toml") || env.iter().any(|(k, _)| text.contains(k.as_str()));
                prop_assert!(named, "error names neither file nor variable: {text}");
            }
        }
    }

    /// Key overrides apply or fail naming their source; the help rows still render.
    #[test]
    fn fuzz_keymap(table in keys_table()) {
        let Ok(parsed) = table.parse::<toml::Table>() else { return Ok(()) };
        let keys = parsed.get("keys").and_then(|k| k.as_table());
        match deskpilot::tui::keymap::Keymap::with_overrides(keys, "/cfg/user.toml") {
            Ok(map) => prop_assert!(!map.rows().is_empty()),
            Err(e) => prop_assert!(format!("{e:#}").contains("/cfg/user.toml"), "{e:#}"),
        }
    }
}

/// A scenarios file: customers and conversations with odd times, ids and turns.
fn scenarios() -> impl Strategy<Value = String> {
    let time = prop_oneof![
        Just("0".to_owned()),
        Just("2.5".to_owned()),
        Just("-3".to_owned()),
        Just("nan".to_owned()),
        Just("inf".to_owned()),
        Just("1e18".to_owned()),
        any::<f32>().prop_map(|f| format!("{f:?}"))
    ]
    .boxed();
    let tier = prop_oneof![Just("standard"), Just("plus"), Just("business"), Just("gold"), Just("")];
    let priority = prop_oneof![Just("low"), Just("normal"), Just("high"), Just("urgent"), Just("")];
    let conv =
        ("[a-c]{1,2}", "[a-c]{1,2}", priority, time.clone(), prop::collection::vec((text_piece(), time.clone()), 0..4))
            .prop_map(|(id, customer, priority, start, turns)| {
                let mut s = format!(
                    "[[conversation]]\nid = {id:?}\ncustomer = {customer:?}\npriority = {priority:?}\nstart = {start}\n"
                );
                for (text, delay) in turns {
                    s.push_str(&format!("[[conversation.turn]]\ntext = {text:?}\ndelay = {delay}\n"));
                }
                s
            });
    let customer = ("[a-c]{1,2}", text_piece(), tier).prop_map(|(id, name, tier)| {
        format!("[[customer]]\nid = {id:?}\nname = {name:?}\nemail = \"x@example.com\"\nlanguage = \"en\"\ntier = {tier:?}\n")
    });
    (prop::collection::vec(customer, 0..3), prop::collection::vec(conv, 0..3))
        .prop_map(|(cs, vs)| cs.concat() + &vs.concat())
}

proptest! {
    #![proptest_config(config())]

    /// Scenarios parse or fail naming the file; what parses runs to the end without a panic.
    #[test]
    fn fuzz_scenarios(text in scenarios()) {
        match Scenarios::parse(&text, "/s/scenarios.toml") {
            Ok(s) => {
                let mut ch = DemoChannel::new(s, 0, 1.0, 7);
                let mut now = 0;
                for _ in 0..200 {
                    for ev in ch.poll(now) {
                        if let ChannelEvent::Message { conversation, .. } = ev {
                            let reply = Message::agent("ok", now);
                            ch.deliver(&conversation, &reply).expect("deliver");
                        }
                    }
                    now += 5_000_000;
                }
            }
            Err(e) => prop_assert!(e.to_string().starts_with("/s/scenarios.toml"), "{e}"),
        }
    }
}
