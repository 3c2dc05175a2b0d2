//! WebSocket benchmarks: masking throughput, word-at-a-time vs a naive byte loop.
//!
//! `cargo bench -p sansweb-core --bench ws`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sansweb_core::ws::mask::{apply_mask_at, apply_mask_naive};
use std::hint::black_box;

fn masking(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut group = c.benchmark_group("mask");
    for size in [1024usize, 64 * 1024, 1024 * 1024] {
        let mut buf = vec![0xA5u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("word", size), &size, |b, _| {
            b.iter(|| apply_mask_at(black_box(&mut buf), black_box(key), 0));
        });
        group.bench_with_input(BenchmarkId::new("naive", size), &size, |b, _| {
            b.iter(|| apply_mask_naive(black_box(&mut buf), black_box(key), 0));
        });
    }
    group.finish();
}

criterion_group!(benches, masking);
criterion_main!(benches);
