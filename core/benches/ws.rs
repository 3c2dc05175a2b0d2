//! WebSocket benchmarks.
//!
//! `cargo bench -p sansweb-core --bench ws`
//!
//! - `mask/word/N` vs `mask/naive/N`: masking throughput, word-at-a-time vs a byte loop.
//! - `recv/...`: a server parsing, unmasking and delivering client frames.

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sansweb_core::ws::frame::encode_frame;
use sansweb_core::ws::mask::{apply_mask_at, apply_mask_naive};
use sansweb_core::ws::{Config, OpCode, WebSocket};

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

#[allow(clippy::disallowed_methods)] // the benchmark's clock base; the core never reads it
fn receive(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("recv");
    for (name, count, size, op) in [
        ("text_16B_x1000", 1000usize, 16usize, OpCode::Text),
        ("binary_64KiB", 1, 64 * 1024, OpCode::Binary),
    ] {
        let payload = vec![b'a'; size];
        let mut wire = BytesMut::new();
        for _ in 0..count {
            encode_frame(&mut wire, op, true, false, Some([1, 2, 3, 4]), &payload);
        }
        group.throughput(Throughput::Bytes(wire.len() as u64));
        // One long-lived connection: the steady state, not connection setup.
        let mut ws = WebSocket::server(Config::default(), now);
        group.bench_function(name, |b| {
            b.iter(|| {
                ws.handle_input(now, black_box(&wire));
                let mut n = 0;
                while let Some(e) = ws.poll_event() {
                    black_box(e);
                    n += 1;
                }
                assert_eq!(n, count);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, masking, receive);
criterion_main!(benches);
