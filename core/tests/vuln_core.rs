//! Known vulnerability classes of HTTP libraries (aiohttp, hyper, llhttp, tungstenite,
//! websocket, curl ...) as regression tests on the sans-IO core, one test per class and
//! named after it. Each test cites the advisory it stands for. The same classes over
//! real sockets (the server keeps serving others, the client sends nothing) are in
//! `adapters/tests/vuln_adapters.rs`.
//!
//! Every parser input is fed whole, one byte at a time and in 7-byte reads: the outcome
//! must not depend on how the peer split its writes.
#![allow(clippy::disallowed_methods)] // Instant::now() as the virtual clock's base

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use sansweb_core::h1::{
    Blame, Client, Config, Conn, ErrorKind, Event, RequestHead, ResponseHead, Server,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

// ---------------------------------------------------------------------------------
// A per-thread allocation meter: what a parser allocates while it handles one input.
// ---------------------------------------------------------------------------------

/// Counts live bytes and their peak, per thread (tests run on several threads).
struct Metered;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn account(delta: isize) {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call forwards to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Metered {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            account(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        account(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            account(new_size as isize - layout.size() as isize);
        }
        p
    }
}

#[global_allocator]
static METER: Metered = Metered;

/// Runs `f` and returns its result with the most bytes it had allocated at once on this
/// thread (beyond what was live when it started).
fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let out = f();
    let peak = PEAK.with(Cell::get);
    (out, usize::try_from(peak - start).unwrap_or(0))
}

// ---------------------------------------------------------------------------------
// h1 helpers
// ---------------------------------------------------------------------------------

/// What a server did with some input: the heads it delivered (targets), the first
/// error, and the bytes it wrote.
#[derive(Debug)]
struct Served {
    targets: Vec<String>,
    error: Option<sansweb_core::h1::Error>,
    out: Vec<u8>,
}

/// Feeds `input` to a server in reads of `step` bytes, answering every complete request
/// with an empty 200 (as an application would), then EOF.
fn serve(input: &[u8], step: usize, config: &Config) -> Served {
    let now = Instant::now();
    let mut conn = Conn::<Server>::new(config.clone(), now);
    let mut served = Served {
        targets: Vec::new(),
        error: None,
        out: Vec::new(),
    };
    let drain = |conn: &mut Conn<Server>, served: &mut Served| {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Head(head) => served.targets.push(head.uri.to_string()),
                Event::End => conn
                    .send_full_response(now, ResponseHead::new(StatusCode::OK), Bytes::new())
                    .expect("answering a complete request"),
                Event::Error(e) if served.error.is_none() => served.error = Some(e),
                _ => {}
            }
        }
        served
            .out
            .extend(std::iter::from_fn(|| conn.poll_transmit()).flatten());
    };
    for piece in input.chunks(step.max(1)) {
        conn.handle_input(now, piece);
        drain(&mut conn, &mut served);
    }
    conn.handle_eof(now);
    drain(&mut conn, &mut served);
    served
}

/// `input` is refused with `kind` and `status` however it is split; the 4xx is written
/// with `connection: close`, and no request after the bad one reaches the application
/// (the smuggled request never exists). Returns the targets delivered before the error.
fn refused(input: &[u8], kind: ErrorKind, status: StatusCode) -> Vec<String> {
    refused_with(input, kind, status, &Config::server())
}

fn refused_with(input: &[u8], kind: ErrorKind, status: StatusCode, config: &Config) -> Vec<String> {
    let whole = serve(input, input.len(), config);
    for step in [input.len(), 1, 7] {
        let served = serve(input, step, config);
        let show = String::from_utf8_lossy(input);
        let err = served
            .error
            .unwrap_or_else(|| panic!("accepted {show:?} (reads of {step})"));
        assert_eq!(err.kind(), &kind, "{show:?} (reads of {step})");
        assert_eq!(err.blame(), Blame::Peer);
        assert_eq!(err.status(), Some(status), "{show:?}");
        let text = String::from_utf8_lossy(&served.out);
        let start = format!("HTTP/1.1 {} ", status.as_u16());
        // One answer per request completed before the bad bytes, then the 4xx.
        let answers = text
            .split("\r\n")
            .filter(|l| l.starts_with("HTTP/1.1 "))
            .count();
        assert!(
            (1..=served.targets.len() + 1).contains(&answers),
            "{text:?}"
        );
        assert!(text.contains(&start), "no {status} in {text:?}");
        assert!(text.contains("connection: close\r\n"), "{text:?}");
        assert_eq!(served.targets, whole.targets, "(reads of {step})");
        assert!(
            !served.targets.iter().any(|t| t.contains("smuggled")),
            "a smuggled request reached the application: {:?}",
            served.targets
        );
    }
    whole.targets
}

const SMUGGLED: &[u8] = b"GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

fn with_smuggled(head: &[u8]) -> Vec<u8> {
    [head, SMUGGLED].concat()
}

// ---------------------------------------------------------------------------------
// Request smuggling
// ---------------------------------------------------------------------------------

/// CL.TE / TE.CL desync: both framings present. aiohttp CVE-2023-47641
/// (GHSA-xx9p-xxvh-7g8j, inconsistent Content-Length vs Transfer-Encoding); hyper
/// CVE-2021-21299 (GHSA-6hfq-h8hq-87mf, `Transfer-Encoding` not ending in `chunked`).
#[test]
fn smuggling_cl_and_te() {
    use ErrorKind::*;
    let bad = StatusCode::BAD_REQUEST;
    for (input, kind) in [
        (
            &b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..],
            ContentLengthWithTransferEncoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n",
            ContentLengthWithTransferEncoding,
        ),
        // TE that does not end in chunked: length unknown, must not fall back to CL.
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
            InvalidTransferEncoding,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            InvalidTransferEncoding,
        ),
        // Lookalikes a lenient parser maps to chunked (`chunked` as a substring).
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
            InvalidTransferEncoding,
        ),
        (
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            TransferEncodingInHttp10,
        ),
    ] {
        refused(&with_smuggled(input), kind, bad);
    }
}

/// Two Content-Length fields, or one a lenient parser reads differently from its
/// neighbour. aiohttp CVE-2023-47627 (GHSA-gfw2-4jvh-wgfg, lenient header parsing);
/// hyper CVE-2021-32715 (GHSA-f3pg-qwvg-p99c, `Content-Length: +3` accepted).
#[test]
fn smuggling_duplicate_content_length() {
    use ErrorKind::*;
    let bad = StatusCode::BAD_REQUEST;
    for (cl, kind) in [
        (
            &b"Content-Length: 3\r\nContent-Length: 3\r\n"[..],
            DuplicateContentLength,
        ),
        (
            b"Content-Length: 3\r\nContent-Length: 40\r\n",
            DuplicateContentLength,
        ),
        (b"Content-Length: 3, 3\r\n", InvalidContentLength),
        (b"Content-Length: 3,40\r\n", InvalidContentLength),
        (b"Content-Length: +3\r\n", InvalidContentLength),
        (b"Content-Length: -3\r\n", InvalidContentLength),
        (b"Content-Length: 0x3\r\n", InvalidContentLength),
        (b"Content-Length: 3 3\r\n", InvalidContentLength),
        (b"Content-Length: \xd9\xa3\r\n", InvalidContentLength), // Arabic-Indic 3
        (
            b"Content-Length: 99999999999999999999999\r\n",
            InvalidContentLength,
        ),
    ] {
        let input = [
            &b"POST / HTTP/1.1\r\nHost: h\r\n"[..],
            cl,
            b"\r\nabc",
            SMUGGLED,
        ]
        .concat();
        refused(&input, kind, bad);
    }
}

/// Chunk sizes a lenient parser reads differently: sign, `0x`, overflow, whitespace,
/// underscores, non-ASCII digits. hyper CVE-2021-32714 (GHSA-5h46-h7hh-c6x9, chunk size
/// integer overflow); aiohttp CVE-2023-47627 (chunk sizes with `+`/`-`/`_`).
#[test]
fn bad_chunk_size() {
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for size in [
        &b"-1"[..],
        b"+5",
        b"0x5",
        b"5_0",
        b"5 5",
        b" 5",
        b"\xd9\xa5", // Arabic-Indic 5
        b"fffffffffffffffff",
        b"10000000000000000",
        b"",
    ] {
        let input = [&head[..], size, b"\r\nhello\r\n0\r\n\r\n", SMUGGLED].concat();
        refused(&input, ErrorKind::InvalidChunkSize, StatusCode::BAD_REQUEST);
    }
}

/// A bare LF inside a chunk extension ends the size line for one parser and not for the
/// next. aiohttp CVE-2024-52304 (GHSA-8495-4g3g-x7pr).
#[test]
fn lf_in_chunk_extension() {
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for tail in [
        &b"5;a\nb\r\nhello\r\n0\r\n\r\n"[..],
        b"5;a=\"b\nc\"\r\nhello\r\n0\r\n\r\n",
        b"5;\n0\r\n\r\n",
        b"0;x\n\r\n\r\n",
        b"5;a=b\rc\r\nhello\r\n0\r\n\r\n",
    ] {
        let input = [&head[..], tail, SMUGGLED].concat();
        let served = serve(&input, input.len(), &Config::server());
        let err = served.error.expect("refused");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::InvalidChunkExtension | ErrorKind::InvalidLineEnding
            ),
            "{:?}: {err}",
            String::from_utf8_lossy(tail)
        );
        refused(&input, err.kind().clone(), StatusCode::BAD_REQUEST);
    }
}

/// A CR not followed by LF is a line end for some parsers and a byte for others.
/// Node.js/llhttp CVE-2022-32214 (CRLF not strictly required); aiohttp CVE-2023-47627.
#[test]
fn bare_cr() {
    for input in [
        &b"GET / HTTP/1.1\rHost: h\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: h\r\n\r\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello\r\n0\r\n\r\n",
        // Bare LF as a line end is the same class.
        b"GET / HTTP/1.1\nHost: h\n\n",
    ] {
        let input = with_smuggled(input);
        let served = serve(&input, input.len(), &Config::server());
        let kind = served.error.expect("refused").kind().clone();
        assert!(
            matches!(
                kind,
                ErrorKind::InvalidLineEnding
                    | ErrorKind::InvalidHeaderValue
                    | ErrorKind::InvalidChunkSize
            ),
            "{kind:?}"
        );
        refused(&input, kind, StatusCode::BAD_REQUEST);
    }
}

/// obs-fold (a header line continued by leading whitespace) joins lines for one parser
/// and starts a new field for another. Node.js CVE-2022-32215 (multi-line
/// Transfer-Encoding); RFC 9112 §5.2 says reject or replace; we reject.
#[test]
fn obs_fold() {
    for input in [
        &b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n",
        b"GET / HTTP/1.1\r\n Host: h\r\n\r\n",
    ] {
        let input = with_smuggled(input);
        let served = serve(&input, input.len(), &Config::server());
        let kind = served.error.expect("refused").kind().clone();
        assert!(
            matches!(kind, ErrorKind::ObsFold | ErrorKind::InvalidHeaderName),
            "{kind:?}"
        );
        refused(&input, kind, StatusCode::BAD_REQUEST);
    }
}

/// The trailer section after the last chunk must be parsed (not skipped to the next
/// blank line) and bounded. aiohttp CVE-2025-53643 (GHSA-9548-qrrj-x5pj, trailers not
/// parsed by the pure-Python parser → smuggling) and CVE-2026-22815
/// (GHSA-w2fm-2cpv-w7v5, unlimited trailer headers).
#[test]
fn unparsed_trailers() {
    let head = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    // A request hidden in what a skipping parser takes for a trailer line.
    for trailers in [
        &b"0\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        b"0\r\nX: y\r\nBad Trailer\r\n\r\n",
        b"0\r\nX: a\r\n b\r\n\r\n",
        b"0\r\nX: a\0b\r\n\r\n",
    ] {
        let input = [&head[..], trailers].concat();
        let served = serve(&input, input.len(), &Config::server());
        let kind = served.error.expect("refused").kind().clone();
        assert!(
            matches!(kind, ErrorKind::InvalidTrailer | ErrorKind::ObsFold),
            "{kind:?}"
        );
        refused(&input, kind, StatusCode::BAD_REQUEST);
    }
    // Unbounded trailer sections: refused at the limit, however they arrive.
    let many = format!("0\r\n{}\r\n", "T: v\r\n".repeat(4000));
    let input = [&head[..], many.as_bytes()].concat();
    refused(
        &input,
        ErrorKind::TrailersTooLarge { limit: 16 * 1024 },
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    );
    // A well-formed trailer section is consumed exactly: the next request is parsed
    // once, after it.
    let input = [
        &head[..],
        b"3\r\nabc\r\n0\r\nT: v\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n",
    ]
    .concat();
    for step in [input.len(), 1, 7] {
        let served = serve(&input, step, &Config::server());
        assert!(served.error.is_none(), "{:?}", served.error);
        assert_eq!(served.targets, ["/", "/next"]);
    }
}

/// A CR inside a reason phrase splits a response for a lenient client (response
/// splitting / header injection, CWE-113); a server must not send one either. llhttp's
/// lenient flags (Node.js CVE-2022-32214 class) and aiohttp CVE-2023-47627.
#[test]
fn cr_in_reason_phrase() {
    let now = Instant::now();
    for response in [
        &b"HTTP/1.1 200 OK\rSet-Cookie: a=1\r\nContent-Length: 0\r\n\r\n"[..],
        b"HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\0\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\nSet-Cookie: a=1\r\nContent-Length: 0\r\n\r\n",
    ] {
        for step in [response.len(), 1] {
            let mut conn = Conn::<Client>::new(Config::client(), now);
            conn.send_request(
                now,
                RequestHead::new(http::Method::GET, "http://h/".parse().unwrap()),
            )
            .unwrap();
            conn.send_end(now, None).unwrap();
            let mut heads = 0;
            let mut error = None;
            for piece in response.chunks(step) {
                conn.handle_input(now, piece);
                while let Some(e) = conn.poll_event() {
                    match e {
                        Event::Head(_) => heads += 1,
                        Event::Error(e) => error = Some(e),
                        _ => {}
                    }
                }
            }
            let err =
                error.unwrap_or_else(|| panic!("accepted {:?}", String::from_utf8_lossy(response)));
            assert_eq!(err.blame(), Blame::Peer);
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::InvalidLineEnding | ErrorKind::InvalidReason
                ),
                "{:?}",
                err.kind()
            );
            assert_eq!(heads, 0, "a split response head reached the user");
        }
    }
    // Outgoing: the server refuses to write one.
    let mut server = Conn::<Server>::new(Config::server(), now);
    server.handle_input(now, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while server.poll_event().is_some() {}
    for reason in [&b"OK\rSet-Cookie: a=1"[..], b"OK\r\nX: 1", b"OK\n", b"O\0K"] {
        let mut head = ResponseHead::new(StatusCode::OK);
        head.reason = Some(Bytes::copy_from_slice(reason));
        let err = server.send_response(now, head).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidOutgoingHead(_)));
        assert!(server.poll_transmit().is_none(), "nothing may be written");
    }
}

/// NUL and other control bytes in names and values: truncated by C-string consumers,
/// ignored by others. aiohttp CVE-2023-47627; hyper/httparse reject them too (RFC 9110
/// §5.5).
#[test]
fn nul_and_controls_in_headers() {
    for (field, kind) in [
        (&b"X: a\0b"[..], ErrorKind::InvalidHeaderValue),
        (b"X: a\x01b", ErrorKind::InvalidHeaderValue),
        (b"X: a\x0bb", ErrorKind::InvalidHeaderValue),
        (b"X: a\x1fb", ErrorKind::InvalidHeaderValue),
        (b"X: a\x7fb", ErrorKind::InvalidHeaderValue),
        (b"X\0Y: a", ErrorKind::InvalidHeaderName),
        (b"X\x01: a", ErrorKind::InvalidHeaderName),
        (b"X : a", ErrorKind::InvalidHeaderName),
        (b"Content-Length\0: 5", ErrorKind::InvalidHeaderName),
        (
            b"Transfer-Encoding: chunked\0",
            ErrorKind::InvalidHeaderValue,
        ),
    ] {
        let input = [
            &b"POST / HTTP/1.1\r\nHost: h\r\n"[..],
            field,
            b"\r\n\r\n",
            SMUGGLED,
        ]
        .concat();
        refused(&input, kind, StatusCode::BAD_REQUEST);
    }
    // In the start line too.
    for input in [
        &b"GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        b"GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
    ] {
        refused(
            &with_smuggled(input),
            ErrorKind::InvalidTarget,
            StatusCode::BAD_REQUEST,
        );
    }
}

/// Two Host fields: a proxy routes by one, the application trusts the other (virtual
/// host confusion, cache poisoning). aiohttp CVE-2026-34525; RFC 9112 §3.2 says 400.
#[test]
fn duplicate_host() {
    for input in [
        &b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n",
    ] {
        let input = with_smuggled(input);
        let served = serve(&input, input.len(), &Config::server());
        let kind = served.error.expect("refused").kind().clone();
        assert!(
            matches!(
                kind,
                ErrorKind::DuplicateHost | ErrorKind::InvalidHeaderValue
            ),
            "{kind:?}"
        );
        refused(&input, kind, StatusCode::BAD_REQUEST);
    }
    refused(
        &with_smuggled(b"GET / HTTP/1.1\r\n\r\n"),
        ErrorKind::MissingHost,
        StatusCode::BAD_REQUEST,
    );
}

// ---------------------------------------------------------------------------------
// Limits and memory
// ---------------------------------------------------------------------------------

/// Requests pipelined behind one the application has not answered yet must not queue
/// without bound: past `max_buffered_input` the core asks the driver to stop reading.
/// aiohttp's request queue grew without bound with pipelined requests (its
/// THREAT_MODEL.md records the fix: an explicit pipeline-count cap; CWE-770); hyper
/// bounds its read buffer for the same reason (`max_buf_size`).
#[test]
fn unbounded_pipelining_queue() {
    let now = Instant::now();
    let config = Config::server();
    let mut conn = Conn::<Server>::new(config.clone(), now);
    let one = b"GET /p HTTP/1.1\r\nHost: h\r\n\r\n";
    let total = 20_000;
    let stream: Vec<u8> = one.repeat(total);
    let mut fed = 0;
    let mut heads = 0;
    let mut answered = 0;
    let mut responses = 0;
    let mut max_backlog = 0;
    let mut pending = false;
    // A driver that reads 4 KiB whenever the core wants to read, and answers one
    // request only every tenth turn (a slow application).
    for turn in 0.. {
        assert!(turn < 1_000_000, "no progress");
        if conn.wants_read() && fed < stream.len() {
            let end = (fed + 4096).min(stream.len());
            conn.handle_input(now, &stream[fed..end]);
            fed = end;
        }
        max_backlog = max_backlog.max(fed - answered * one.len());
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Head(_) => {
                    heads += 1;
                    assert_eq!(heads, answered + 1, "a second head before the first answer");
                }
                Event::End => pending = true,
                Event::Error(e) => panic!("{e}"),
                _ => {}
            }
        }
        if pending && turn % 10 == 0 {
            conn.send_full_response(now, ResponseHead::new(StatusCode::OK), Bytes::new())
                .unwrap();
            pending = false;
            answered += 1;
        }
        while let Some(out) = conn.poll_transmit() {
            responses += out.windows(9).filter(|w| w == b"HTTP/1.1 ").count();
        }
        if answered == total {
            break;
        }
    }
    assert_eq!(responses, total);
    assert!(
        // The cap, plus the read that crossed it, plus the request being answered.
        max_backlog <= config.max_buffered_input + 4096 + one.len(),
        "backlog grew to {max_backlog}"
    );
    assert!(
        max_backlog >= config.max_buffered_input,
        "test never hit the cap"
    );
}

/// A limit checked only on complete lines can be bypassed by sending a line in many
/// small reads (each read looks short, the buffer grows without bound). aiohttp PR
/// #12826 (its C parser compared each `on_url`/`on_status` fragment, not the whole line,
/// with `max_line_size`) and PR #12832 (chunk-size lines).
#[test]
fn line_limit_split_across_reads() {
    let mut config = Config::server();
    config.max_line_size = 100;
    config.max_field_size = 100;
    config.max_chunk_extension_size = 50;
    config.max_trailer_size = 200;
    config.max_head_size = 1000;
    let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let cases: [(String, usize, ErrorKind); 5] = [
        // Request line, field line, whole head, chunk extension, trailer section: each
        // never terminated, fed one byte at a time.
        (
            format!("GET /{}", "a".repeat(10_000)),
            0,
            ErrorKind::LineTooLong { limit: 100 },
        ),
        (
            format!("GET / HTTP/1.1\r\nX: {}", "b".repeat(10_000)),
            16,
            ErrorKind::HeaderFieldTooLong { limit: 100 },
        ),
        (
            format!("GET / HTTP/1.1\r\n{}", "Xy: 0123456789\r\n".repeat(1000)),
            16,
            ErrorKind::HeadTooLarge { limit: 1000 },
        ),
        (
            format!("{chunked}1;{}", "e".repeat(10_000)),
            chunked.len() + 2,
            ErrorKind::ChunkExtensionTooLong { limit: 50 },
        ),
        (
            format!("{chunked}0\r\n{}", "T: v\r\n".repeat(10_000)),
            chunked.len() + 3,
            ErrorKind::TrailersTooLarge { limit: 200 },
        ),
    ];
    for (input, prefix, kind) in cases {
        let now = Instant::now();
        let mut conn = Conn::<Server>::new(config.clone(), now);
        let mut failed_at = None;
        'feed: for (i, byte) in input.as_bytes().iter().enumerate() {
            conn.handle_input(now, std::slice::from_ref(byte));
            while let Some(event) = conn.poll_event() {
                if let Event::Error(e) = event {
                    assert_eq!(e.kind(), &kind);
                    failed_at = Some(i + 1);
                    break 'feed;
                }
            }
        }
        let at = failed_at.unwrap_or_else(|| panic!("{kind:?}: never refused"));
        let limit = match kind {
            ErrorKind::LineTooLong { limit }
            | ErrorKind::HeaderFieldTooLong { limit }
            | ErrorKind::HeadTooLarge { limit }
            | ErrorKind::ChunkExtensionTooLong { limit }
            | ErrorKind::TrailersTooLarge { limit } => limit,
            _ => unreachable!(),
        };
        // Refused within a couple of bytes of the limit, not at the end of the line.
        assert!(
            at <= prefix + limit + 4,
            "{kind:?}: refused only after {at} bytes"
        );
    }
}

/// A length the peer declares (Content-Length, a chunk size, a WebSocket payload
/// length) must never size an allocation before the bytes arrive. websocket-rs
/// CVE-2022-35922 (GHSA-qrjv-rf5q-qpxc, OOM from a declared frame length); hyper
/// CVE-2021-32714 class.
#[test]
fn peer_declared_length_allocation() {
    const BUDGET: usize = 256 * 1024;
    let now = Instant::now();
    let heads: [&[u8]; 3] = [
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999999\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\nabc",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4294967296\r\n\r\nabc",
    ];
    for input in heads {
        let (_, peak) = peak_allocation(|| {
            let mut conn = Conn::<Server>::new(Config::server(), now);
            conn.handle_input(now, input);
            let mut data = 0;
            while let Some(e) = conn.poll_event() {
                if let Event::Data(d) = e {
                    data += d.len();
                }
            }
            assert_eq!(data, 3, "{:?}", String::from_utf8_lossy(input));
        });
        assert!(
            peak < BUDGET,
            "{peak} bytes for {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // WebSocket: a frame declaring the largest allowed payload, and one declaring 2^62
    // bytes, each followed by a few bytes only.
    use sansweb_core::ws::{Config as WsConfig, WebSocket};
    let limit = 64 << 20;
    for len in [limit as u64, 1u64 << 62] {
        let mut frame = vec![0x82, 0xFF];
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(&[1, 2, 3, 4]); // mask
        frame.extend_from_slice(b"abcdef");
        let (_, peak) = peak_allocation(|| {
            let mut ws = WebSocket::server(WsConfig::default().max_message_size(limit), now);
            ws.handle_input(now, &frame);
            while ws.poll_event().is_some() {}
            while ws.poll_transmit().is_some() {}
        });
        assert!(peak < BUDGET, "{peak} bytes for a frame declaring {len}");
    }
}

// ---------------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------------

fn ws_frame(op: sansweb_core::ws::OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    sansweb_core::ws::frame::encode_frame(&mut out, op, fin, rsv1, Some([9, 8, 7, 6]), payload);
    out.to_vec()
}

/// Feeds `input` to a server WebSocket in reads of `step`; returns the events and the
/// bytes written back.
fn ws_server(
    config: sansweb_core::ws::Config,
    input: &[u8],
    step: usize,
) -> (Vec<sansweb_core::ws::Event>, Vec<u8>) {
    let now = Instant::now();
    let mut ws = sansweb_core::ws::WebSocket::server(config, now);
    let mut events = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(step.max(1)) {
        ws.handle_input(now, piece);
        events.extend(std::iter::from_fn(|| ws.poll_event()));
        out.extend(std::iter::from_fn(|| ws.poll_transmit()).flatten());
    }
    (events, out)
}

/// A small compressed message that inflates past the message limit (a deflate bomb)
/// must fail at the limit with 1009, inflating no further. aiohttp CVE-2025-69223
/// (GHSA-6mq8-rvhq-8wgg) is the HTTP-body twin; Python websockets bounds
/// `max_size` after decompression for the same reason.
#[test]
fn zip_bomb_permessage_deflate() {
    use flate2::{write::DeflateEncoder, Compression};
    use sansweb_core::ws::{
        Config as WsConfig, DeflateParams, Error, Event, OpCode, ProtocolError,
    };
    use std::io::Write;
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    enc.write_all(&vec![0u8; 64 << 20]).unwrap(); // 64 MiB of zeros
    enc.flush().unwrap();
    let mut wire = enc.get_ref().clone();
    wire.truncate(wire.len() - 4); // RFC 7692 drops the sync-flush tail
    assert!(wire.len() < 512 * 1024, "{}", wire.len());
    let params = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        compression_level: 6,
    };
    let limit = 1 << 20;
    let config = WsConfig::default()
        .max_message_size(limit)
        .deflate(Some(params));
    let input = ws_frame(OpCode::Binary, true, true, &wire);
    let ((events, out), peak) = peak_allocation(|| ws_server(config.clone(), &input, 64 * 1024));
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(
            ProtocolError::MessageTooLarge { limit }
        ))]
    );
    assert_eq!(out, [0x88, 0x02, 0x03, 0xF1], "close 1009");
    assert!(
        peak < 8 * limit,
        "{peak} bytes allocated for a {limit}-byte limit"
    );
}

/// The size limit applies to the declared length, before the payload arrives: a frame
/// over the limit that is still incomplete must not be buffered to completion.
/// tungstenite CVE-2023-43669 (RUSTSEC-2023-0065) class (unbounded work before a limit
/// check); websocket-rs CVE-2022-35922.
#[test]
fn ws_oversized_incomplete_frame() {
    use sansweb_core::ws::{Config as WsConfig, Error, Event, OpCode, ProtocolError};
    let limit = 1000;
    let config = WsConfig::default().max_message_size(limit);
    let frame = ws_frame(OpCode::Binary, true, false, &vec![7u8; limit + 1]);
    // Only the header and a few payload bytes: refused at once with 1009.
    for cut in [4, 8, 20] {
        for step in [1, cut] {
            let (events, out) = ws_server(config.clone(), &frame[..cut], step);
            assert_eq!(
                events,
                vec![Event::Failed(Error::Protocol(
                    ProtocolError::FrameTooLarge {
                        declared: limit as u64 + 1,
                        limit
                    }
                ))],
                "cut {cut} step {step}"
            );
            assert_eq!(out, [0x88, 0x02, 0x03, 0xF1]);
        }
    }
    // Fragments each under the limit but adding up past it: refused on the header of
    // the fragment that crosses it.
    let input = [
        ws_frame(OpCode::Text, false, false, &[b'a'; 600]),
        ws_frame(OpCode::Continuation, true, false, &[b'a'; 600])[..8].to_vec(),
    ]
    .concat();
    let (events, _) = ws_server(config, &input, 1);
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(
            ProtocolError::MessageTooLarge { limit }
        ))]
    );
}

/// RSV1 set when permessage-deflate was not negotiated must fail the connection (1002),
/// not be inflated or passed through: a peer that smuggles compressed frames past a
/// server that never agreed to inflate (or bounded) them. RFC 6455 §5.2 / RFC 7692 §6;
/// Autobahn test cases 3.x.
#[test]
fn ws_rsv1_without_deflate() {
    use sansweb_core::ws::{Config as WsConfig, Error, Event, OpCode, ProtocolError};
    for (op, fin) in [
        (OpCode::Text, true),
        (OpCode::Binary, true),
        (OpCode::Ping, true),
        (OpCode::Text, false),
    ] {
        let input = ws_frame(op, fin, true, b"\xf2\x48\xcd\xc9\xc9\x07\x00");
        for step in [input.len(), 1] {
            let (events, out) = ws_server(WsConfig::default(), &input, step);
            assert!(
                matches!(
                    events[..],
                    [Event::Failed(Error::Protocol(
                        ProtocolError::ReservedBitsSet(_)
                    ))]
                ),
                "{op:?}: {events:?}"
            );
            assert_eq!(out, [0x88, 0x02, 0x03, 0xEA], "close 1002");
        }
    }
}

// ---------------------------------------------------------------------------------
// Multipart
// ---------------------------------------------------------------------------------

/// Part header sections must be bounded (bytes and fields) and their lines must end in
/// CRLF: a bare CR/LF or obs-fold would inject a header, and an unbounded section is a
/// memory DoS. aiohttp CVE-2026-34516 (GHSA-m5qp-6w8w-w647, multipart header size
/// bypass) and CVE-2024-30251 (GHSA-5m98-qgg9-wh84, multipart parsing DoS).
#[test]
fn multipart_header_limits_and_crlf() {
    use sansweb_core::server::multipart::{
        MultipartError, MultipartEvent, MultipartLimits, MultipartParser,
    };
    let run = |body: &[u8], step: usize| -> Result<Vec<MultipartEvent>, MultipartError> {
        let mut p = MultipartParser::new("XyZ", MultipartLimits::default())?;
        let mut events = Vec::new();
        for piece in body.chunks(step.max(1)) {
            p.handle_input(piece);
            while let Some(e) = p.poll_event()? {
                events.push(e);
            }
        }
        p.handle_eof();
        while let Some(e) = p.poll_event()? {
            events.push(e);
        }
        Ok(events)
    };
    let part = |headers: &str| -> Vec<u8> {
        format!("--XyZ\r\n{headers}\r\n\r\nvalue\r\n--XyZ--\r\n").into_bytes()
    };
    /// Which error a case must end in.
    type Expected = fn(&MultipartError) -> bool;
    let cases: Vec<(Vec<u8>, Expected)> = vec![
        (
            part(&format!(
                "Content-Disposition: form-data; name=\"{}\"",
                "n".repeat(10_000)
            )),
            |e| matches!(e, MultipartError::HeadersTooLarge { limit: 8192 }),
        ),
        (part(&"X-A: b\r\n".repeat(17)).to_vec(), |e| {
            matches!(e, MultipartError::TooManyHeaders { limit: 16 })
        }),
        (
            part("Content-Disposition: form-data; name=\"a\"\nContent-Type: text/html"),
            |e| matches!(e, MultipartError::BadHeaderLine(_)),
        ),
        (
            part("Content-Disposition: form-data; name=\"a\"\rContent-Type: text/html"),
            |e| matches!(e, MultipartError::BadHeaderLine(_)),
        ),
        (
            part("Content-Disposition: form-data;\r\n name=\"a\""),
            |e| matches!(e, MultipartError::BadHeaderLine(_)),
        ),
        (part("Content-Disposition: form-data; name=\"a\0b\""), |e| {
            matches!(e, MultipartError::BadHeaderLine(_))
        }),
        (part("Bad Header: x"), |e| {
            matches!(e, MultipartError::BadHeaderLine(_))
        }),
    ];
    for (body, expected) in cases {
        for step in [body.len(), 1, 7] {
            let result = run(&body, step);
            let err = result.expect_err("refused");
            assert!(
                expected(&err),
                "{err:?} for {:?}",
                String::from_utf8_lossy(&body[..60.min(body.len())])
            );
        }
    }
    // A header section over the limit that never ends is refused at the limit, not
    // buffered: fed one byte at a time.
    let mut p = MultipartParser::new("XyZ", MultipartLimits::default()).unwrap();
    p.handle_input(b"--XyZ\r\nX: ");
    let mut fed = 0;
    let err = loop {
        p.handle_input(b"v");
        fed += 1;
        assert!(fed < 100_000, "never refused");
        match p.poll_event() {
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err, MultipartError::HeadersTooLarge { limit: 8192 });
    assert!(fed <= 8192 + 4, "refused after {fed} bytes");
    // Too many parts.
    let many = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n".repeat(1025)
        + "--XyZ--\r\n";
    assert_eq!(
        run(many.as_bytes(), many.len()).unwrap_err(),
        MultipartError::TooManyParts { limit: 1024 }
    );
}

// ---------------------------------------------------------------------------------
// Cookies
// ---------------------------------------------------------------------------------

mod cookies {
    use sansweb_core::client::{CookieJar, CookieRejected};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    use url::Url;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn t0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    /// A cookie set without `Domain` is host-only; saving and loading the jar must not
    /// turn it into a domain cookie sent to every subdomain. aiohttp PR #12824
    /// (CookieJar.save() dropped the host-only flag, load() rebuilt domain cookies).
    #[test]
    fn host_only_cookie_survives_save_load() {
        let mut jar = CookieJar::new();
        jar.store_response_cookies(
            &url("https://example.com/"),
            ["sid=secret", "pref=1; Domain=example.com"],
            t0(),
        );
        let sub = url("https://evil.example.com/");
        assert_eq!(jar.cookie_header_for(&sub, t0()).as_deref(), Some("pref=1"));
        let saved = jar.save();
        let mut back = CookieJar::new();
        assert_eq!(back.load(&saved, t0()), Ok(2));
        assert_eq!(
            back.cookie_header_for(&url("https://example.com/"), t0())
                .as_deref(),
            Some("sid=secret; pref=1")
        );
        assert_eq!(
            back.cookie_header_for(&sub, t0()).as_deref(),
            Some("pref=1"),
            "host-only cookie leaked to a subdomain after save/load"
        );
        let host_only: Vec<_> = back
            .iter()
            .filter(|c| c.host_only)
            .map(|c| c.name.clone())
            .collect();
        assert_eq!(host_only, ["sid"]);
        // A second round trip is stable.
        let mut again = CookieJar::new();
        assert_eq!(again.load(&back.save(), t0()), Ok(2));
        assert_eq!(
            again.cookie_header_for(&sub, t0()).as_deref(),
            Some("pref=1")
        );
    }

    /// `Domain=.com` (or any public suffix) would make a "supercookie" sent to every
    /// site under it (cookie tossing, session fixation). curl CVE-2014-3620 (cookies for
    /// TLDs accepted); RFC 6265 §5.3 step 5.
    #[test]
    fn domain_public_suffix_rejected() {
        let mut jar = CookieJar::new();
        for (from, set) in [
            ("http://example.com/", "a=1; Domain=.com"),
            ("http://example.com/", "a=1; Domain=com"),
            ("http://www.example.co.uk/", "a=1; Domain=co.uk"),
            ("http://www.example.co.uk/", "a=1; Domain=.uk"),
            ("http://evil.github.io/", "a=1; Domain=github.io"),
            ("http://a.b.kawasaki.jp/", "a=1; Domain=b.kawasaki.jp"),
        ] {
            assert_eq!(
                jar.try_store(&url(from), set, t0()),
                Err(CookieRejected::PublicSuffix),
                "{from} {set}"
            );
        }
        assert_eq!(jar.iter().count(), 0);
        for other in [
            "http://victim.com/",
            "http://bank.co.uk/",
            "http://victim.github.io/",
        ] {
            assert_eq!(jar.cookie_header_for(&url(other), t0()), None);
        }
        // The registrable domain itself is fine.
        assert_eq!(
            jar.try_store(
                &url("http://www.example.co.uk/"),
                "a=1; Domain=example.co.uk",
                t0()
            ),
            Ok(())
        );
    }
}
