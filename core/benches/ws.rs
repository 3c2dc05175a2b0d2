//! WebSocket benchmarks.
//!
//! `cargo bench -p sansweb-core --bench ws`
//!
//! - `mask/word/N` vs `mask/naive/N`: masking throughput, word-at-a-time vs a byte loop.
//! - `mask_copy/fused/N` vs `mask_copy/copy_then_mask/N`: copying a payload out and
//!   masking it, in one pass or in two (a client sending a borrowed payload).
//! - `send/client_binary/N`: a client encoding N-byte binary messages from a borrowed
//!   payload, each written out (dropped) before the next, as a transport does.
//! - `recv/...`: a server parsing, unmasking and delivering client frames.
//! - `deflate/send/...`, `deflate/recv/...`: permessage-deflate at the default level, a
//!   client compressing + framing messages and a server inflating them (throughput is of
//!   uncompressed payload).

use std::hint::black_box;
use std::time::Instant;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use sansweb_core::ws::deflate::{DeflateConfig, DeflateParams};
use sansweb_core::ws::frame::encode_frame;
use sansweb_core::ws::mask::{apply_mask_at, apply_mask_naive, mask_copy};
use sansweb_core::ws::{Config, Event, OpCode, SeededMaskKeys, WebSocket};

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

fn mask_copying(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut group = c.benchmark_group("mask_copy");
    for size in [64 * 1024usize, 1024 * 1024] {
        let src = vec![0xA5u8; size];
        let mut dst = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("fused", size), &size, |b, _| {
            b.iter(|| mask_copy(black_box(&mut dst), black_box(&src), black_box(key)));
        });
        group.bench_with_input(BenchmarkId::new("copy_then_mask", size), &size, |b, _| {
            b.iter(|| {
                black_box(&mut dst).copy_from_slice(black_box(&src));
                apply_mask_at(&mut dst, black_box(key), 0);
            });
        });
    }
    group.finish();
}

#[allow(clippy::disallowed_methods)] // the benchmark's clock base; the core never reads it
fn send(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("send");
    for size in [64usize, 1024 * 1024] {
        let payload = vec![0xA5u8; size];
        let mut ws = WebSocket::client(Config::default(), SeededMaskKeys::new(*b"benchkey"), now);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("client_binary", size), &size, |b, _| {
            b.iter(|| {
                ws.send_binary(black_box(&payload)).unwrap();
                while let Some(bytes) = ws.poll_transmit() {
                    black_box(bytes);
                }
            });
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

/// Pseudo-English text (words drawn from a small vocabulary by an LCG): compresses about
/// like chat or JSON text does, unlike a run of one byte or random bytes.
fn text(len: usize) -> String {
    const WORDS: [&str; 16] = [
        "the",
        "socket",
        "message",
        "frame",
        "deflate",
        "window",
        "server",
        "client",
        "\"id\":",
        "42,",
        "payload",
        "of",
        "and",
        "{\"type\":",
        "\"text\"}",
        "echo",
    ];
    let mut s = String::with_capacity(len + 16);
    let mut x: u32 = 12345;
    while s.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        s.push_str(WORDS[(x >> 16) as usize % WORDS.len()]);
        s.push(' ');
    }
    s.truncate(len);
    s
}

#[allow(clippy::disallowed_methods)] // the benchmark's clock base; the core never reads it
fn deflate(c: &mut Criterion) {
    let now = Instant::now();
    let params = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        compression_level: DeflateConfig::default().compression_level,
    };
    // The default level, and level 6 (zlib's default) for comparison when they differ.
    let mut levels = vec![params.compression_level];
    if params.compression_level != 6 {
        levels.push(6);
    }
    let mut group = c.benchmark_group("deflate");
    let cases = [
        ("text_64B_x1000", 1000usize, 64usize),
        ("text_64KiB", 1, 64 * 1024),
    ];
    for (level, (name, count, size)) in levels.iter().flat_map(|&l| cases.map(|case| (l, case))) {
        let name = format!("L{level}/{name}");
        let config = Config::default().deflate(Some(DeflateParams {
            compression_level: level,
            ..params
        }));
        let msg = text(size);
        group.throughput(Throughput::Bytes((count * size) as u64));
        // Long-lived connections with context takeover: the steady state.
        let mut client = WebSocket::client(config.clone(), SeededMaskKeys::new([7; 8]), now);
        group.bench_function(format!("send/{name}"), |b| {
            b.iter(|| {
                for _ in 0..count {
                    client.send_text(black_box(&msg)).expect("open");
                }
                while let Some(out) = client.poll_transmit() {
                    black_box(out);
                }
            });
        });
        // What the receiver sees: the compressed frames of `count` messages from a fresh
        // client, fed to a fresh server (its inflater must start where the client's
        // compressor started); building the server is outside the timing.
        let mut sender = WebSocket::client(config.clone(), SeededMaskKeys::new([7; 8]), now);
        for _ in 0..count {
            sender.send_text(&msg).expect("open");
        }
        let mut wire = Vec::new();
        while let Some(out) = sender.poll_transmit() {
            wire.extend_from_slice(&out);
        }
        group.bench_function(format!("recv/{name}"), |b| {
            b.iter_batched(
                || WebSocket::server(config.clone(), now),
                |mut server| {
                    server.handle_input(now, black_box(&wire));
                    let mut n = 0;
                    while let Some(e) = server.poll_event() {
                        if let Event::Text(t) = e {
                            assert_eq!(t.len(), size);
                            n += 1;
                        }
                    }
                    assert_eq!(n, count);
                    server
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, masking, mask_copying, send, receive, deflate);
criterion_main!(benches);
