//! What reading a customer message costs the console before retrieval is dispatched: the key
//! details of the message, the mood of the whole conversation (20 customer turns), the sentiment
//! head on a vector, and the handoff summary.

use criterion::{Criterion, criterion_group, criterion_main};
use deskpilot::desk::{Message, Status};
use deskpilot::understand::{details, head::Head, mood, summarize};
use std::hint::black_box;

const TURNS: [&str; 4] = [
    "Hi, my order HP-20417 arrived broken last Tuesday, I paid $329 for it.",
    "It's been two weeks and still nothing, this is the third time I'm writing!",
    "If this isn't fixed by Friday I'm cancelling my Harbor+ membership.",
    "我的订单 HP-1042 还没到，已经第三次联系你们了，太差了！",
];

fn bench(c: &mut Criterion) {
    let turns: Vec<&str> = (0..20).map(|i| TURNS[i % TURNS.len()]).collect();
    c.bench_function("details of one message", |b| b.iter(|| details(black_box(TURNS[0]), 1_796_212_800_000)));
    c.bench_function("mood of a 20-turn conversation", |b| b.iter(|| mood::assess(black_box(&turns), 1)));
    if let Some(h) = Head::bundled().filter(|h| h.dim > 0) {
        let v = vec![1.0 / (h.dim as f32).sqrt(); h.dim];
        c.bench_function("sentiment head on one vector", |b| b.iter(|| h.classify(black_box(&v))));
    }
    let messages: Vec<Message> = turns
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i % 2 == 0 {
                Message::customer(*t, i as i64)
            } else {
                Message::agent("I've arranged a replacement.", i as i64)
            }
        })
        .collect();
    c.bench_function("summary of a 20-message conversation", |b| {
        b.iter(|| summarize(black_box(&messages), Status::Resolved))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
