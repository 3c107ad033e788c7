//! Criterion benchmarks for retrieval: query latency on a synthetic 20k-passage index (kept
//! smaller than `deskpilot bench retrieval`'s 100k so `cargo bench` stays quick) and on the
//! bundled KB, plus index build throughput on 2k passages.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use deskpilot::knowledge::{ChunkOptions, chunk_article, load_kb};
use deskpilot::retrieval::Retriever;
use deskpilot::retrieval::bench::{BUNDLED_QUESTIONS, Rng, conversation_query, keyword_query, synthetic_chunks};
use std::hint::black_box;
use std::path::Path;

fn queries(c: &mut Criterion) {
    let (chunks, _) = synthetic_chunks(20_000, 42);
    let retriever = Retriever::in_ram(&chunks).expect("index");
    let mut rng = Rng::new(7);
    let conv: Vec<String> = (0..256).map(|i| conversation_query(&mut rng, &chunks[(i * 77) % chunks.len()])).collect();
    let kw: Vec<String> = (0..256).map(|i| keyword_query(&mut rng, &chunks[(i * 91) % chunks.len()])).collect();
    let mut g = c.benchmark_group("query_20k");
    let mut i = 0;
    g.bench_function("conversation_top5_snippets", |b| {
        b.iter(|| {
            i += 1;
            black_box(retriever.search_text(&conv[i % conv.len()], 5).expect("search"))
        })
    });
    g.bench_function("keyword_top5_snippets", |b| {
        b.iter(|| {
            i += 1;
            black_box(retriever.search_text(&kw[i % kw.len()], 5).expect("search"))
        })
    });
    g.finish();

    let kb = load_kb(&Path::new(env!("CARGO_MANIFEST_DIR")).join("kb"));
    let bundled: Vec<_> = kb.articles.iter().flat_map(|a| chunk_article(a, &ChunkOptions::default())).collect();
    let retriever = Retriever::in_ram(&bundled).expect("index");
    c.bench_function("query_bundled_kb", |b| {
        b.iter(|| {
            i += 1;
            black_box(retriever.search_text(BUNDLED_QUESTIONS[i % BUNDLED_QUESTIONS.len()], 5).expect("search"))
        })
    });
}

fn indexing(c: &mut Criterion) {
    let (chunks, _) = synthetic_chunks(2_000, 1);
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(chunks.len() as u64));
    g.sample_size(10);
    g.bench_function("2k_passages_in_ram", |b| b.iter(|| black_box(Retriever::in_ram(&chunks).expect("index"))));
    g.finish();
}

criterion_group!(benches, queries, indexing);
criterion_main!(benches);
