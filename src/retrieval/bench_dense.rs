//! The dense half of the retrieval benchmark: encoder load, passages embedded per second, query
//! embedding, and hybrid search latency on the bundled KB (real vectors) and at scale (the
//! synthetic passages get random unit vectors: brute-force cosine costs the same whatever the
//! vectors say, and embedding 100k passages would take a quarter of an hour).

use super::Retriever;
use super::bench::{BUNDLED_QUESTIONS, Latency, Rng, conversation_query};
use super::dense::load_for_kb;
use super::hybrid::{Dense, RetrievalMode, query_vector};
use crate::desk::Author;
use crate::knowledge::Chunk;
use crate::semantic::vectors::VectorFile;
use crate::semantic::{DenseIndex, Encoder};
use anyhow::Result;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// Dense and hybrid figures.
#[derive(Debug, Clone, Serialize)]
pub struct DenseBench {
    pub encoder_load_ms: f64,
    /// Bundled KB passages embedded from scratch, per second (batched, the index-time path).
    pub embed_passages_per_s: f64,
    /// Seconds to embed the bundled KB's passages and sentences at index time (from scratch).
    pub index_time_s: f64,
    pub bundled_passages: usize,
    pub bundled_sentences: usize,
    /// Embedding one customer question.
    pub query_embedding: Latency,
    /// Hybrid search on the bundled KB (query embedding included).
    pub bundled_hybrid: Latency,
    /// Embedding one Chinese customer question with the multilingual encoder (`None`: it is not
    /// installed).
    pub chinese_query_embedding: Option<Latency>,
    /// Hybrid search of the bundled KB's Chinese questions alone (multilingual query embedding
    /// included).
    pub chinese_hybrid: Option<Latency>,
    /// Hybrid search over the synthetic KB with random passage vectors.
    pub synthetic_hybrid: Latency,
    pub synthetic_passages: usize,
}

fn timed(n: usize, mut f: impl FnMut(usize) -> Result<()>) -> Result<Latency> {
    for i in 0..n.min(20) {
        f(i)?; // warm caches
    }
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (p50, p99) = crate::util::p50_p99(&mut times);
    Ok(Latency { queries: n, p50_ms: p50, p99_ms: p99 })
}

/// Random unit rows for `chunks`, labelled like real ones.
fn random_vectors(chunks: &[Chunk], dim: usize, model_sha: [u8; 32]) -> DenseIndex {
    let mut rng = Rng::new(11);
    let mut rows = Vec::with_capacity(chunks.len() * dim);
    for _ in chunks {
        let mut v: Vec<f32> = (0..dim).map(|_| (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5).collect();
        crate::semantic::normalize(&mut v);
        rows.extend(v);
    }
    let passages = VectorFile {
        dim,
        model_sha,
        source: [0; 32],
        labels: chunks.iter().map(|c| (c.id.clone(), c.slug.clone(), c.lang.clone())).collect(),
        keys: chunks.iter().map(|c| crate::semantic::vectors::key_of(&c.id)).collect(),
        rows,
    };
    let mut index = DenseIndex::default();
    index.passages = passages;
    index
}

/// Runs the dense measurements. `synthetic`: the synthetic KB's folder, data dir and chunks.
pub fn run(
    encoder_dir: &Path,
    bundled_kb: &Path,
    tmp: &Path,
    synthetic: (&Path, &Path, &[Chunk]),
    queries: usize,
) -> Result<DenseBench> {
    let started = Instant::now();
    let encoder = Arc::new(Encoder::load(encoder_dir)?);
    let encoder_load_ms = started.elapsed().as_secs_f64() * 1e3;

    // Embedding from scratch: passages alone, then the index-time path (passages and sentences,
    // written beside the index of a fresh data dir, so nothing is reused).
    let kb = crate::knowledge::load_kb(bundled_kb);
    let opts = crate::knowledge::ChunkOptions::default();
    let kb_chunks: Vec<Chunk> = kb.articles.iter().flat_map(|a| crate::knowledge::chunk_article(a, &opts)).collect();
    let started = Instant::now();
    DenseIndex::build(&encoder, &kb_chunks, None, [0; 32], false, &|_, _| {})?;
    let embed_passages_per_s = kb_chunks.len() as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let data = tmp.join("bundled-dense");
    let (mut bundled, report) = Retriever::open(bundled_kb, &data, &|_, _| {})?;
    let n = bundled.num_passages() as usize;
    let started = Instant::now();
    let (dense, r) = load_for_kb(bundled_kb, &data, encoder_dir, &report, n, &|_, _| {})?;
    let index_time_s = started.elapsed().as_secs_f64();
    let sentences = r.sentences;

    let qs: Vec<&str> = (0..queries).map(|i| BUNDLED_QUESTIONS[i % BUNDLED_QUESTIONS.len()]).collect();
    let english: Vec<&str> = BUNDLED_QUESTIONS.iter().copied().filter(|q| !super::analyzers::has_cjk(q)).collect();
    let query_embedding = timed(queries, |i| {
        let turns = [(Author::Customer, english[i % english.len()].to_owned())];
        std::hint::black_box(query_vector(&encoder, &turns, 0.0)?);
        Ok(())
    })?;
    let chinese_qs: Vec<&str> = BUNDLED_QUESTIONS.iter().copied().filter(|q| super::analyzers::has_cjk(q)).collect();
    let chinese_query_embedding = match dense.chinese.as_ref() {
        Some(zh) => Some(timed(queries, |i| {
            std::hint::black_box(super::hybrid::chinese_query_vector(zh, chinese_qs[i % chinese_qs.len()])?);
            Ok(())
        })?),
        None => None,
    };
    let has_chinese = dense.chinese.is_some();
    let _ =
        bundled.dense_slot().set(Dense { encoder: Arc::clone(&encoder), index: dense.index, chinese: dense.chinese });
    bundled.mode = RetrievalMode::Hybrid;
    let bundled_hybrid = timed(queries, |i| {
        std::hint::black_box(bundled.search_text(qs[i], 5)?);
        Ok(())
    })?;
    let chinese_hybrid = if has_chinese {
        Some(timed(queries, |i| {
            std::hint::black_box(bundled.search_text(chinese_qs[i % chinese_qs.len()], 5)?);
            Ok(())
        })?)
    } else {
        None
    };
    drop(bundled);

    let (kb_dir, data, chunks) = synthetic;
    let (mut big, _) = Retriever::open(kb_dir, data, &|_, _| {})?;
    let index = random_vectors(chunks, encoder.dim(), crate::semantic::vectors::sha_bytes(encoder.model_sha256()));
    let _ = big.dense_slot().set(Dense { encoder: Arc::clone(&encoder), index, chinese: None });
    big.mode = RetrievalMode::Hybrid;
    let mut rng = Rng::new(7);
    let conv: Vec<String> = (0..queries)
        .map(|_| {
            let c = &chunks[rng.below(chunks.len())];
            conversation_query(&mut rng, c)
        })
        .collect();
    let synthetic_hybrid = timed(queries, |i| {
        std::hint::black_box(big.search_text(&conv[i], 5)?);
        Ok(())
    })?;
    Ok(DenseBench {
        encoder_load_ms,
        embed_passages_per_s,
        index_time_s,
        bundled_passages: r.passages,
        bundled_sentences: sentences,
        query_embedding,
        bundled_hybrid,
        chinese_query_embedding,
        chinese_hybrid,
        synthetic_hybrid,
        synthetic_passages: chunks.len(),
    })
}
