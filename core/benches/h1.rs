//! HTTP/1.1 codec benchmarks: what the codec costs over the raw tokenizer it wraps.
//!
//! - `request_head`: a ~500-byte browser request head through `Conn<Server>` (fresh
//!   connection, `handle_input` + `poll_event` to `Head` and `End`) vs
//!   `httparse::Request::parse` on the same bytes;
//! - `response_head`: a ~150-byte response through `Conn<Client>` (after
//!   `send_request`) vs `httparse::Response::parse`;
//! - `chunked_16mib`: a 16 MiB body in 4 KiB chunks through `Conn<Server>`, fed in
//!   64 KiB reads, every `Data` event drained.
//!
//! Run: `cargo bench -p sansweb-core --bench h1`.
//!
//! Instructions per head (noise-free): with `H1_COUNT=n` set, the binary skips criterion
//! and runs each `request_head` variant `n` times in a plain loop, one `#[inline(never)]`
//! function per variant, for callgrind to count:
//! `H1_COUNT=20000 valgrind --tool=callgrind --callgrind-out-file=/tmp/h1.cg target/release/deps/h1-* --bench`,
//! then `callgrind_annotate --inclusive=yes /tmp/h1.cg | grep count_` and divide by `n`.
#![allow(clippy::disallowed_methods)] // one clock reading as the codec's `now`

use bytes::Bytes;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};
use http::Method;
use sansweb_core::h1::{Client, Config, Conn, Event, RequestHead, Server};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// What Firefox sends for a page load: 12 header fields.
const BROWSER_REQUEST: &[u8] = b"GET /articles/2024/sans-io-http-parsers?ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
Sec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Site: same-origin\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n\
Cache-Control: max-age=0\r\n\
\r\n";

/// A small JSON API response: 5 header fields.
const SMALL_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\
Server: sansweb\r\n\
Content-Type: application/json\r\n\
Cache-Control: no-cache\r\n\
Content-Length: 13\r\n\
\r\n\
{\"ok\": true}\n";

/// Drains a connection's events up to the message's `End`; returns body bytes seen.
fn drain_to_end<R: sansweb_core::h1::Role>(conn: &mut Conn<R>) -> usize {
    let mut body = 0;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Head(head) => {
                black_box(&head);
            }
            Event::Data(data) => body += data.len(),
            Event::End => return body,
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("message incomplete");
}

fn request_head(c: &mut Criterion) {
    assert_eq!(
        BROWSER_REQUEST.len() / 100,
        5,
        "about 500 bytes: {}",
        BROWSER_REQUEST.len()
    );
    let now = Instant::now();
    let mut group = c.benchmark_group("request_head");
    group.throughput(Throughput::Bytes(BROWSER_REQUEST.len() as u64));
    group.bench_function("conn_server", |b| {
        b.iter_batched(
            || Conn::<Server>::new(Config::server(), now),
            |mut conn| {
                conn.handle_input(now, black_box(BROWSER_REQUEST));
                drain_to_end(&mut conn);
                conn
            },
            BatchSize::SmallInput,
        );
    });
    // The same with the header map built (what a handler reading any header pays):
    // received heads build their `HeaderMap` on first use.
    group.bench_function("conn_server_with_header_map", |b| {
        b.iter_batched(
            || Conn::<Server>::new(Config::server(), now),
            |mut conn| {
                conn.handle_input(now, black_box(BROWSER_REQUEST));
                while let Some(event) = conn.poll_event() {
                    match event {
                        Event::Head(head) => {
                            black_box(head.headers.len());
                        }
                        Event::End => break,
                        _ => {}
                    }
                }
                conn
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("conn_server_incl_new", |b| {
        b.iter(|| {
            let mut conn = Conn::<Server>::new(Config::server(), now);
            conn.handle_input(now, black_box(BROWSER_REQUEST));
            drain_to_end(&mut conn)
        });
    });
    group.bench_function("httparse", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut headers);
            let status = req.parse(black_box(BROWSER_REQUEST)).expect("valid");
            assert!(status.is_complete());
            black_box(req.headers.len())
        });
    });
    group.finish();
}

fn client_after_request(now: Instant) -> Conn<Client> {
    let mut conn = Conn::<Client>::new(Config::client(), now);
    let uri = "http://api.example.com/v1/status".parse().expect("uri");
    conn.send_request(now, RequestHead::new(Method::GET, uri))
        .expect("request");
    conn.send_end(now, None).expect("end");
    while conn.poll_transmit().is_some() {}
    conn
}

fn response_head(c: &mut Criterion) {
    let now = Instant::now();
    let mut group = c.benchmark_group("response_head");
    group.throughput(Throughput::Bytes(SMALL_RESPONSE.len() as u64));
    group.bench_function("conn_client", |b| {
        b.iter_batched(
            || client_after_request(now),
            |mut conn| {
                conn.handle_input(now, black_box(SMALL_RESPONSE));
                assert_eq!(drain_to_end(&mut conn), 13);
                conn
            },
            BatchSize::SmallInput,
        );
    });
    group.bench_function("httparse", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut res = httparse::Response::new(&mut headers);
            let status = res.parse(black_box(SMALL_RESPONSE)).expect("valid");
            assert!(status.is_complete());
            black_box(res.code)
        });
    });
    group.finish();
}

/// A chunked request carrying `total` body bytes in `chunk`-byte chunks.
fn chunked_request(total: usize, chunk: usize) -> Vec<u8> {
    let mut out =
        b"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let payload: Vec<u8> = (0..chunk).map(|i| (i % 251) as u8).collect();
    for _ in 0..total / chunk {
        out.extend_from_slice(format!("{chunk:x}\r\n").as_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn chunked_body(c: &mut Criterion) {
    const TOTAL: usize = 16 << 20;
    let input = Bytes::from(chunked_request(TOTAL, 4096));
    let now = Instant::now();
    let mut group = c.benchmark_group("chunked_16mib");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("conn_server_64k_reads", |b| {
        b.iter(|| {
            let mut conn = Conn::<Server>::new(Config::server(), now);
            let mut body = 0;
            let mut ended = false;
            for read in input.chunks(64 * 1024) {
                conn.handle_input(now, read);
                while let Some(event) = conn.poll_event() {
                    match event {
                        Event::Head(_) => {}
                        Event::Data(data) => body += black_box(data).len(),
                        Event::End => ended = true,
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
            assert!(ended && body == TOTAL);
            body
        });
    });
    group.finish();
}

/// `n` heads through a fresh `Conn<Server>` each (`conn_server_incl_new`).
#[inline(never)]
fn count_conn_incl_new(n: usize, now: Instant) -> usize {
    let mut seen = 0;
    for _ in 0..n {
        let mut conn = Conn::<Server>::new(Config::server(), now);
        conn.handle_input(now, black_box(BROWSER_REQUEST));
        seen += drain_to_end(&mut conn);
    }
    seen
}

/// `n` heads through raw httparse (`httparse`).
#[inline(never)]
fn count_httparse(n: usize) -> usize {
    let mut seen = 0;
    for _ in 0..n {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut req = httparse::Request::new(&mut headers);
        let status = req.parse(black_box(BROWSER_REQUEST)).expect("valid");
        assert!(status.is_complete());
        seen += black_box(req.headers.len());
    }
    seen
}

/// `n` heads with the header map built (`conn_server_with_header_map`).
#[inline(never)]
fn count_with_header_map(n: usize, now: Instant) -> usize {
    let mut seen = 0;
    for _ in 0..n {
        let mut conn = Conn::<Server>::new(Config::server(), now);
        conn.handle_input(now, black_box(BROWSER_REQUEST));
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Head(head) => seen += black_box(head.headers.len()),
                Event::End => break,
                _ => {}
            }
        }
    }
    seen
}

/// `n` heads one after the other on one keep-alive connection (no connection set-up:
/// the read buffer and its shared block are allocated once, for the first head).
#[inline(never)]
fn count_keepalive(n: usize, now: Instant) -> usize {
    let mut conn = Conn::<Server>::new(Config::server(), now);
    let mut seen = 0;
    for _ in 0..n {
        conn.handle_input(now, black_box(BROWSER_REQUEST));
        seen += drain_to_end(&mut conn);
        // Answer, as a server must before the next request's events come.
        let response = sansweb_core::h1::ResponseHead::new(http::StatusCode::NO_CONTENT);
        conn.send_full_response(now, response, Bytes::new())
            .expect("response");
        while conn.poll_transmit().is_some() {}
    }
    seen
}

/// The plain loops for callgrind (see the module docs); `None` without `H1_COUNT`.
fn count_mode() -> Option<()> {
    let n: usize = std::env::var("H1_COUNT").ok()?.parse().ok()?;
    let now = Instant::now();
    black_box(count_conn_incl_new(n, now));
    black_box(count_httparse(n));
    black_box(count_with_header_map(n, now));
    black_box(count_keepalive(n, now));
    Some(())
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = request_head, response_head, chunked_body
}
fn main() {
    if count_mode().is_some() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
