//! Criterion benchmarks of the workloads W1–W4 (`support/mod.rs` says what each does) on the exact
//! bytes of `benches/data/fixture.json`: `cargo bench -p wechat-tower-core`. The group `raw floor` runs the same workloads
//! written directly on the crates, so the two compare within one run.

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};

mod support;

fn workloads(c: &mut Criterion) {
    let w = support::Workloads::load();
    w.self_check();
    let mut group = c.benchmark_group("workloads");
    group.bench_function("W1 verify URL signature", |b| b.iter(|| black_box(&w).w1()));
    group.bench_function("W2 parse text message", |b| b.iter(|| black_box(&w).w2()));
    group.bench_function("W3 safe-mode inbound", |b| b.iter(|| black_box(&w).w3()));
    group.bench_function("W4 safe-mode reply", |b| b.iter(|| black_box(&w).w4()));
    group.finish();
    let mut raw = c.benchmark_group("raw floor");
    raw.bench_function("W1 verify URL signature", |b| {
        b.iter(|| black_box(&w).raw_w1())
    });
    raw.bench_function("W2 parse text message", |b| {
        b.iter(|| black_box(&w).raw_w2())
    });
    raw.bench_function("W3 safe-mode inbound", |b| {
        b.iter(|| black_box(&w).raw_w3())
    });
    raw.bench_function("W4 safe-mode reply", |b| b.iter(|| black_box(&w).raw_w4()));
    raw.finish();
}

criterion_group!(benches, workloads);
criterion_main!(benches);
