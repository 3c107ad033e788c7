//! Retrieval benchmark: a synthetic KB (Zipf-distributed vocabulary, English function words)
//! written as real Markdown files, indexed through the same path as a real KB, then queried with
//! conversation-like and keyword queries. Shared by `deskpilot bench retrieval` and `benches/`.

use super::{Retriever, index::KbIndex};
use crate::knowledge::{Audience, Chunk};
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Deterministic xorshift generator (benchmarks must not vary between runs).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Zipf-like rank in 0..n (s = 1), by inverse-CDF on the harmonic approximation.
    pub fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let r = ((n as f64 + 1.0).ln() * u).exp() - 1.0;
        (r as usize).min(n - 1)
    }
}

const FUNCTION: &[&str] = &[
    "the", "a", "to", "of", "and", "you", "your", "is", "in", "for", "on", "with", "it", "can", "be", "if", "we",
    "this", "that", "are", "or", "from", "at", "as", "will", "by", "an", "our", "have", "not",
];
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ren", "tas", "vel", "dor", "pin", "qua", "sul", "ber", "con", "tri", "mon", "gal", "fer", "lux",
    "nar", "pol", "sen", "tur", "wen", "zy", "ap", "ex", "or", "un", "el", "is", "os",
];

/// A synthetic vocabulary of `n` distinct pseudo-words.
pub fn vocabulary(n: usize) -> Vec<String> {
    let mut words = Vec::with_capacity(n);
    let s = SYLLABLES.len();
    let mut i = 0usize;
    while words.len() < n {
        let mut w = String::new();
        let mut x = i;
        loop {
            w.push_str(SYLLABLES[x % s]);
            x /= s;
            if x == 0 {
                break;
            }
        }
        if w.len() > 3 {
            words.push(w);
        }
        i += 1;
    }
    words
}

/// A passage of about `words` words: 40% function words, the rest Zipf-distributed content words.
pub fn passage_text(rng: &mut Rng, vocab: &[String], words: usize) -> String {
    let mut out = String::new();
    let mut in_sentence = 0;
    for i in 0..words {
        let w =
            if rng.below(10) < 4 { FUNCTION[rng.below(FUNCTION.len())] } else { vocab[rng.zipf(vocab.len())].as_str() };
        if in_sentence == 0 {
            out.push_str(&w[..1].to_uppercase());
            out.push_str(&w[1..]);
        } else {
            out.push_str(w);
        }
        in_sentence += 1;
        if in_sentence > 12 + rng.below(8) || i + 1 == words {
            out.push_str(". ");
            in_sentence = 0;
        } else {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

/// Synthetic passages as chunks (for in-memory benchmarks).
pub fn synthetic_chunks(n: usize, seed: u64) -> (Vec<Chunk>, Vec<String>) {
    let vocab = vocabulary(30_000);
    let mut rng = Rng::new(seed);
    let chunks = (0..n)
        .map(|i| {
            let words = 110 + rng.below(10);
            Chunk {
                id: format!("art-{}#{}", i / 10, i % 10),
                slug: format!("art-{}", i / 10),
                title: format!("{} {}", vocab[rng.zipf(3000)], vocab[rng.zipf(3000)]),
                section: vec![format!("{} {}", vocab[rng.zipf(5000)], vocab[rng.zipf(5000)])],
                text: passage_text(&mut rng, &vocab, words),
                range: 0..0,
                lang: "en".into(),
                category: "synthetic".into(),
                tags: vec![],
                audience: Audience::Public,
            }
        })
        .collect();
    (chunks, vocab)
}

/// Writes chunks as Markdown articles (10 sections each) under `dir`.
pub fn write_kb(dir: &Path, chunks: &[Chunk]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for group in chunks.chunk_by(|a, b| a.slug == b.slug) {
        let mut md = format!("---\ntitle: {}\ncategory: synthetic\nlang: en\ntags: []\n---\n\n", group[0].title);
        for c in group {
            let _ = write!(md, "## {}\n\n{}\n\n", c.section[0], c.text);
        }
        std::fs::write(dir.join(format!("{}.md", group[0].slug)), md)?;
    }
    Ok(())
}

/// A conversation-like query about a passage: its content words wrapped in function words and filler.
pub fn conversation_query(rng: &mut Rng, chunk: &Chunk) -> String {
    let content: Vec<&str> = chunk.text.split_whitespace().filter(|w| w.len() > 4 && !FUNCTION.contains(w)).collect();
    let pick =
        |rng: &mut Rng| content.get(rng.below(content.len().max(1))).copied().unwrap_or("help").trim_end_matches('.');
    let (a, b, c, d) = (pick(rng), pick(rng), pick(rng), pick(rng));
    format!(
        "Hi, thanks for getting back to me. I was wondering how do I {a} my {b} because the {c} is not working with the {d}, can you help me please?"
    )
}

pub fn keyword_query(rng: &mut Rng, chunk: &Chunk) -> String {
    let content: Vec<&str> = chunk.text.split_whitespace().filter(|w| w.len() > 4 && !FUNCTION.contains(w)).collect();
    (0..3)
        .map(|_| content.get(rng.below(content.len().max(1))).copied().unwrap_or("help").trim_end_matches('.'))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub queries: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub machine: String,
    pub passages: usize,
    /// Passages/s of tantivy indexing alone (chunks in memory -> committed on disk).
    pub index_passages_per_s: f64,
    /// Passages/s from Markdown files to a committed index (parse, chunk, index).
    pub build_from_files_passages_per_s: f64,
    /// Opening the unchanged KB again (median of 5).
    pub reopen_unchanged_ms: f64,
    pub conversation_queries: Latency,
    pub keyword_queries: Latency,
    pub bundled_kb_passages: usize,
    pub bundled_kb_queries: Latency,
    /// Encoder and hybrid figures (absent with `--retrieval lexical` or without an encoder).
    pub dense: Option<super::bench_dense::DenseBench>,
}

fn latency(retriever: &Retriever, queries: &[String]) -> Result<Latency> {
    for q in queries.iter().take(50) {
        retriever.search_text(q, 5)?; // warm caches
    }
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let t = Instant::now();
        let r = retriever.search_text(q, 5)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(r);
    }
    let (p50, p99) = crate::util::p50_p99(&mut times);
    Ok(Latency { queries: queries.len(), p50_ms: p50, p99_ms: p99 })
}

/// Customer questions about the bundled KB, as customers phrase them.
pub const BUNDLED_QUESTIONS: &[&str] = &[
    "hi, how long does standard shipping take and is it free?",
    "I returned my lamp last week, when will I get my refund?",
    "my payment keeps getting declined, what should I do",
    "is my AH-200 heater part of a recall?",
    "I got charged twice for the same order",
    "how do I reset my password? the link expired",
    "can I change my order, I placed it 10 minutes ago",
    "the package says delivered but it's not here",
    "what does HarborCare cover and how much is a claim",
    "my headphones won't pair with my phone",
    "how does pay in 4 work with HarborPay",
    "can I use two promo codes on one order?",
    "my account is locked after too many attempts",
    "what are your support hours?",
    "退款多久能到账？",
    "我的密码忘了怎么办",
];

/// Runs the whole retrieval benchmark; `encoder`: also the dense and hybrid figures, with the
/// encoder in that folder.
pub fn run(bundled_kb: &Path, n: usize, queries: usize, encoder: Option<&Path>) -> Result<BenchReport> {
    let tmp = std::env::temp_dir().join(format!("deskpilot-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (chunks, _) = synthetic_chunks(n, 42);

    // Indexing alone.
    let started = Instant::now();
    {
        let kb_index = KbIndex::create(&tmp.join("raw-index"))?;
        let mut writer = kb_index.writer()?;
        kb_index.add_chunks(&writer, &chunks)?;
        writer.commit()?;
        writer.wait_merging_threads()?;
    }
    let index_rate = n as f64 / started.elapsed().as_secs_f64();

    // From files, through the real open path; then re-open unchanged.
    let kb_dir = tmp.join("kb");
    write_kb(&kb_dir, &chunks)?;
    let data = tmp.join("data");
    let started = Instant::now();
    let (retriever, report) = Retriever::open(&kb_dir, &data, &|_, _| {})?;
    let build_rate = report.passages as f64 / started.elapsed().as_secs_f64();
    drop(retriever);
    let mut reopen = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r = Retriever::open(&kb_dir, &data, &|_, _| {})?;
        reopen.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(r);
    }
    let (reopen_ms, _) = crate::util::p50_p99(&mut reopen);

    let (retriever, _) = Retriever::open(&kb_dir, &data, &|_, _| {})?;
    let mut rng = Rng::new(7);
    let pick = |rng: &mut Rng| chunks[rng.below(chunks.len())].clone();
    let conv: Vec<String> = (0..queries)
        .map(|_| {
            let c = pick(&mut rng);
            conversation_query(&mut rng, &c)
        })
        .collect();
    let kw: Vec<String> = (0..queries)
        .map(|_| {
            let c = pick(&mut rng);
            keyword_query(&mut rng, &c)
        })
        .collect();
    let conversation_queries = latency(&retriever, &conv)?;
    let keyword_queries = latency(&retriever, &kw)?;
    drop(retriever);

    let (bundled, _) = Retriever::open(bundled_kb, &tmp.join("bundled"), &|_, _| {})?;
    let qs: Vec<String> = (0..queries).map(|i| BUNDLED_QUESTIONS[i % BUNDLED_QUESTIONS.len()].to_owned()).collect();
    let bundled_kb_queries = latency(&bundled, &qs)?;
    let bundled_kb_passages = bundled.num_passages() as usize;
    drop(bundled);
    let dense = match encoder {
        Some(dir) => match super::bench_dense::run(dir, bundled_kb, &tmp, (&kb_dir, &data, &chunks), queries) {
            Ok(d) => Some(d),
            Err(e) => {
                tracing::warn!("dense benchmark skipped: {e:#}");
                eprintln!("warning: dense benchmark skipped: {e:#}");
                None
            }
        },
        None => None,
    };
    if std::env::var_os("DESKPILOT_BENCH_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }

    Ok(BenchReport {
        machine: machine(),
        passages: n,
        index_passages_per_s: index_rate,
        build_from_files_passages_per_s: build_rate,
        reopen_unchanged_ms: reopen_ms,
        conversation_queries,
        keyword_queries,
        bundled_kb_passages,
        bundled_kb_queries,
        dense,
    })
}

/// CPU model and core count, for quoting numbers.
pub fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{model}, {cores} cores")
}

impl BenchReport {
    pub fn table(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "machine: {}", self.machine);
        let _ = writeln!(s, "synthetic KB: {} passages (~115 words each)", self.passages);
        let _ = writeln!(s, "  indexing                {:>10.0} passages/s", self.index_passages_per_s);
        let _ = writeln!(s, "  build from Markdown     {:>10.0} passages/s", self.build_from_files_passages_per_s);
        let _ = writeln!(s, "  reopen unchanged        {:>10.1} ms", self.reopen_unchanged_ms);
        let row = |s: &mut String, name: &str, l: &Latency| {
            let _ = writeln!(
                s,
                "  {name:<22}  p50 {:>7.3} ms   p99 {:>7.3} ms   ({} queries, top-5 with snippets)",
                l.p50_ms, l.p99_ms, l.queries
            );
        };
        row(&mut s, "conversation queries", &self.conversation_queries);
        row(&mut s, "keyword queries", &self.keyword_queries);
        let _ = writeln!(s, "bundled KB: {} passages", self.bundled_kb_passages);
        row(&mut s, "customer questions", &self.bundled_kb_queries);
        if let Some(d) = &self.dense {
            let _ = writeln!(s, "sentence encoder: loaded in {:.0} ms", d.encoder_load_ms);
            let _ = writeln!(
                s,
                "  embedding               {:>10.0} passages/s ({} bundled passages; with {} sentences {:.1} s at index time)",
                d.embed_passages_per_s, d.bundled_passages, d.bundled_sentences, d.index_time_s
            );
            row(&mut s, "query embedding", &d.query_embedding);
            row(&mut s, "hybrid, bundled KB", &d.bundled_hybrid);
            if let (Some(e), Some(h)) = (&d.chinese_query_embedding, &d.chinese_hybrid) {
                row(&mut s, "query embedding, zh", e);
                row(&mut s, "hybrid, zh questions", h);
            }
            let name = format!("hybrid, {} synthetic", d.synthetic_passages);
            row(&mut s, &name, &d.synthetic_hybrid);
        }
        s
    }
}
