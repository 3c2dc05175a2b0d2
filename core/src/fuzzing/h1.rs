//! Fuzz bodies for the HTTP/1.1 codec ([`crate::h1`]): requests through `Conn<Server>`,
//! responses through `Conn<Client>`, chunked bodies through a `Conn<Server>` that was
//! given a chunked request head.
//!
//! # Theory of operation
//!
//! Each body runs the same input twice through a fresh connection driven like a real
//! driver (feed, drain events, answer, write every transmit; then EOF and drain):
//!
//! ```text
//!  data ──► [mode byte][split byte][input ...]
//!              │           │
//!              │           └─► chunk sizes for the split run (1, 2, 3 .. 4096 bytes)
//!              └─► limits (default or tiny), when the server answers, which requests
//!                  the client sent, which chunked head precedes the input
//!
//!  run(whole input) ──► trace A ─┐
//!                                ├─ equal (adjacent Data merged)?  else panic
//!  run(split input) ──► trace B ─┘
//! ```
//!
//! Invariants checked on every run (a panic is a fuzz finding):
//! - events are well-ordered: a head before its `Data`/`Trailers`/`End`, nothing after
//!   `Error` or `Upgrade`, only an `Error` after `Closed`;
//! - after EOF the connection has ended (`Closed`, `Error` or `Upgrade` was reported):
//!   the codec never waits forever on a finished transport;
//! - the body bytes delivered never exceed the bytes fed;
//! - a server that fails on the peer's bytes queues exactly one `4xx`/`5xx` answer
//!   (when no response was under way), and never more responses than requests + 1;
//! - answering a request the moment it is complete is always accepted;
//! - whole and split feeding give the same events and the same output bytes;
//! - for the chunked body, a body the codec accepted decodes to the same bytes with a
//!   naive reference decoder.

use crate::h1::{Blame, Client, Config, Conn, ErrorKind, Event, RequestHead, ResponseHead, Server};
use bytes::Bytes;
use http::{Method, StatusCode};
use std::fmt::Debug;
use std::time::Instant;

/// What one body does with its input.
#[derive(Debug, Clone, Copy)]
struct Mode {
    /// Small limits, so every size limit is reachable by short inputs.
    tiny: bool,
    /// Server: answer at the head instead of at the end (exercises body discarding).
    respond_at_head: bool,
    /// Remaining bits, role-specific meaning.
    extra: u8,
}

impl Mode {
    fn from_byte(b: u8) -> Self {
        Self {
            tiny: b & 1 == 1,
            respond_at_head: b & 2 == 2,
            extra: b >> 2,
        }
    }
}

/// Splits `data` into (mode, split seed, input); short inputs get zeros.
fn header(data: &[u8]) -> (Mode, u8, &[u8]) {
    match data {
        [m, s, rest @ ..] => (Mode::from_byte(*m), *s, rest),
        [m] => (Mode::from_byte(*m), 0, &[]),
        [] => (Mode::from_byte(0), 0, &[]),
    }
}

/// Limits small enough that a fuzz input of a few hundred bytes reaches each of them.
fn tiny(mut config: Config) -> Config {
    config.max_line_size = 48;
    config.max_field_size = 48;
    config.max_headers = 6;
    config.max_head_size = 200;
    config.max_chunk_extension_size = 16;
    config.max_trailer_size = 64;
    config.max_body_size = Some(100);
    config.max_buffered_input = 256;
    config
}

fn config(base: Config, mode: Mode) -> Config {
    if mode.tiny {
        tiny(base)
    } else {
        base
    }
}

/// The read sizes of the split run: a xorshift sequence bounded by a maximum the seed
/// picks, so both byte-at-a-time and large uneven reads occur.
fn split_sizes(seed: u8, total: usize) -> Vec<usize> {
    const MAX: [u32; 8] = [1, 2, 3, 7, 16, 64, 512, 4096];
    let max = MAX[usize::from(seed & 7)];
    let mut state = u32::from(seed).wrapping_mul(0x9E37_79B9) | 1;
    let mut sizes = Vec::new();
    let mut left = total;
    while left > 0 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let size = (1 + state % max) as usize;
        let size = size.min(left);
        sizes.push(size);
        left -= size;
    }
    sizes
}

/// One event as recorded for comparison (heads by their `Debug`, which includes the
/// raw bytes).
#[derive(Debug, Clone, PartialEq)]
enum Rec {
    Head(String),
    Data(Vec<u8>),
    Trailers(String),
    End,
    Informational(String),
    Continue,
    Upgrade,
    Closed,
    Error(crate::h1::Error),
}

/// Where the event sequence is, for the ordering invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between messages.
    Idle,
    /// After a head, before its `End`.
    Message {
        trailers_seen: bool,
    },
    Closed,
    Errored,
    Upgraded,
}

/// What a run saw: events (adjacent `Data` merged) and every byte written.
#[derive(Debug, Default)]
struct Trace {
    events: Vec<Rec>,
    out: Vec<u8>,
    data_len: usize,
    /// How much output there was before the call that reported the error.
    error_at: Option<usize>,
}

impl Trace {
    fn push(&mut self, rec: Rec) {
        if let (Rec::Data(new), Some(Rec::Data(last))) = (&rec, self.events.last_mut()) {
            last.extend_from_slice(new);
            return;
        }
        self.events.push(rec);
    }

    fn transmit<R: crate::h1::Role>(&mut self, conn: &mut Conn<R>) {
        while let Some(bytes) = conn.poll_transmit() {
            self.out.extend_from_slice(&bytes);
        }
    }

    fn ended(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Rec::Closed | Rec::Error(_) | Rec::Upgrade))
    }
}

/// Checks one event against the ordering rules and returns the next phase.
/// `heads_may_overlap`: a server that answered at the head skips the rest of that
/// request (no `End`), so the next head may follow directly.
fn step<H: Debug>(phase: Phase, event: &Event<H>, heads_may_overlap: bool) -> Phase {
    use Phase::*;
    assert!(
        !matches!(phase, Errored | Upgraded),
        "event {event:?} after the connection ended ({phase:?})"
    );
    match event {
        Event::Error(_) => return Errored,
        _ if phase == Closed => panic!("event {event:?} after Closed"),
        _ => {}
    }
    match (event, phase) {
        (Event::Head(_), Idle) => Message {
            trailers_seen: false,
        },
        (Event::Head(_), Message { .. }) if heads_may_overlap => Message {
            trailers_seen: false,
        },
        (Event::Data(_), Message { trailers_seen }) => {
            assert!(!trailers_seen, "Data after Trailers");
            phase
        }
        (Event::Trailers(_), Message { trailers_seen }) => {
            assert!(!trailers_seen, "Trailers twice");
            Message {
                trailers_seen: true,
            }
        }
        (Event::End, Message { .. }) => Idle,
        (Event::Informational(_), Idle) => Idle,
        (Event::Continue, _) => phase,
        (Event::Upgrade, _) => Upgraded,
        (Event::Closed, Idle) => Closed,
        // A server that answered at the head and closed stops mid-request.
        (Event::Closed, Message { .. }) if heads_may_overlap => Closed,
        _ => panic!("event {event:?} out of order in phase {phase:?}"),
    }
}

fn record<H: Debug>(event: &Event<H>) -> Rec {
    match event {
        Event::Head(h) => Rec::Head(format!("{h:?}")),
        Event::Data(d) => Rec::Data(d.to_vec()),
        Event::Trailers(t) => Rec::Trailers(format!("{t:?}")),
        Event::End => Rec::End,
        Event::Informational(h) => Rec::Informational(format!("{h:?}")),
        Event::Continue => Rec::Continue,
        Event::Upgrade => Rec::Upgrade,
        Event::Closed => Rec::Closed,
        Event::Error(e) => Rec::Error(e.clone()),
    }
}

/// The one clock reading: the codec is never given a later time (no timer fires).
#[allow(clippy::disallowed_methods)]
fn base_instant() -> Instant {
    Instant::now()
}

/// Final (non-1xx) status lines in the server's output. Our bodies and the codec's
/// error bodies never contain `HTTP/1.x ` followed by a digit.
fn final_responses(out: &[u8]) -> usize {
    out.windows(10)
        .filter(|w| {
            w.starts_with(b"HTTP/1.") && w[8] == b' ' && w[9].is_ascii_digit() && w[9] != b'1'
        })
        .count()
}

/// The interim answer a server writes before reading a body the client holds back.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The server side of the driver: answers each request with a small response.
struct ServerDriver {
    respond_at_head: bool,
    phase: Phase,
    heads: usize,
    answered: usize,
    /// Whether the oldest unanswered request is CONNECT (answered without a body).
    connect: Vec<bool>,
    /// Expected error responses (0 or 1).
    error_responses: usize,
    trace: Trace,
}

impl ServerDriver {
    fn answer(&mut self, conn: &mut Conn<Server>, now: Instant) {
        let connect = self.connect.get(self.answered).copied().unwrap_or(false);
        self.answered += 1;
        let result = if connect {
            // A 2xx to CONNECT hands the connection over; it carries no body.
            conn.send_response(now, ResponseHead::new(StatusCode::OK))
        } else {
            conn.send_full_response(
                now,
                ResponseHead::new(StatusCode::OK),
                Bytes::from_static(b"ok"),
            )
        };
        if let Err(err) = result {
            panic!("answering a complete request was refused: {err}");
        }
    }

    fn drain(&mut self, conn: &mut Conn<Server>, now: Instant) {
        loop {
            let mark = self.trace.out.len();
            let Some(event) = conn.poll_event() else {
                break;
            };
            let before = self.phase;
            self.phase = step(self.phase, &event, self.respond_at_head);
            self.trace.push(record(&event));
            match &event {
                Event::Head(head) => {
                    self.heads += 1;
                    self.connect.push(head.method == Method::CONNECT);
                    if self.respond_at_head {
                        self.answer(conn, now);
                    }
                }
                Event::End if self.answered < self.heads => self.answer(conn, now),
                Event::Error(err) => {
                    assert_eq!(err.blame(), Blame::Peer, "input can only be peer's fault");
                    self.trace.transmit(conn);
                    // An interim 100 written in the same step belongs before the error.
                    let written = &self.trace.out[mark..];
                    let interim =
                        written.len() - written.strip_prefix(CONTINUE).unwrap_or(written).len();
                    self.trace.error_at = Some(mark + interim);
                    self.check_error_response(mark + interim, before);
                }
                Event::Informational(_) | Event::Continue => {
                    panic!("a server received {event:?}")
                }
                _ => {}
            }
            self.trace.transmit(conn);
        }
        self.trace.transmit(conn);
    }

    /// After a peer error: when no response was under way, the codec answered it.
    fn check_error_response(&mut self, mark: usize, before: Phase) {
        let written = &self.trace.out[mark..];
        // A response is under way only once the connection was closed by one (answering
        // is synchronous here). Answering at the head may also leave an answered
        // request's body unread, when an error answer would be a second response.
        if before == Phase::Closed || self.respond_at_head {
            return;
        }
        assert!(
            written.starts_with(b"HTTP/1.1 4") || written.starts_with(b"HTTP/1.1 5"),
            "no 4xx/5xx after a peer error: {:?}",
            String::from_utf8_lossy(written)
        );
        self.error_responses = 1;
    }
}

/// Runs `input` through a server, fed in `sizes` reads.
fn run_server(config: &Config, mode: Mode, input: &[u8], sizes: &[usize]) -> Trace {
    let now = base_instant();
    let mut conn = Conn::<Server>::new(config.clone(), now);
    let mut driver = ServerDriver {
        respond_at_head: mode.respond_at_head,
        phase: Phase::Idle,
        heads: 0,
        answered: 0,
        connect: Vec::new(),
        error_responses: 0,
        trace: Trace::default(),
    };
    let mut at = 0;
    for &size in sizes {
        conn.handle_input(now, &input[at..at + size]);
        at += size;
        driver.drain(&mut conn, now);
    }
    conn.handle_eof(now);
    driver.drain(&mut conn, now);
    let mut trace = driver.trace;
    assert!(trace.ended(), "EOF did not end the connection: {trace:?}");
    data_len(&mut trace);
    assert!(trace.data_len <= input.len());
    check_body_limit(&trace.events, config.max_body_size);
    let responses = final_responses(&trace.out);
    if mode.respond_at_head {
        assert!(
            responses <= driver.answered + 1,
            "{responses} responses for {} answers",
            driver.answered
        );
    } else {
        assert_eq!(
            responses,
            driver.answered + driver.error_responses,
            "responses written vs answers given: {:?}",
            String::from_utf8_lossy(&trace.out)
        );
    }
    trace
}

/// Feeding whole or split must not change what the connection says or writes.
///
/// Two allowed differences:
/// - when a body outgrows `max_body_size`, how much of it was delivered before the
///   error depends on the reads (never more than the limit);
/// - a malformed head that trickles in is refused at its first bad line, one that
///   arrives whole is refused by the full parse, so the *kind* of a final peer error
///   (and the text of the error response) may differ. Both must still be peer errors
///   at the same point of the event sequence, with the same output before them.
///   `fuzz_corpus.rs` keeps the inputs that showed it as ignored regression tests.
fn compare(whole: &Trace, split: &Trace, sizes: &[usize]) {
    let (mut whole_events, whole_tail) = split_body_too_large(&whole.events);
    let (mut split_events, split_tail) = split_body_too_large(&split.events);
    if let (Some(Rec::Error(a)), Some(Rec::Error(b))) =
        (whole_events.last_mut(), split_events.last_mut())
    {
        if a.kind() != b.kind() {
            assert_eq!(a.blame(), b.blame());
            *b = a.clone();
        }
    }
    assert_eq!(whole_events, split_events, "events differ, split {sizes:?}");
    assert!(
        whole_tail.starts_with(split_tail) || split_tail.starts_with(whole_tail),
        "body before the size error differs, split {sizes:?}"
    );
    assert_eq!(
        whole.error_at, split.error_at,
        "error at other output, split {sizes:?}"
    );
    let end = whole.error_at.unwrap_or(whole.out.len());
    assert_eq!(
        whole.out.get(..end),
        split.out.get(..end),
        "output differs, split {sizes:?}"
    );
    // After an error, each side's answer was checked by its own run.
}

/// For a trace ending in `[Data], Error(BodyTooLarge)`: the trace without that `Data`,
/// and the `Data`.
fn split_body_too_large(events: &[Rec]) -> (Vec<Rec>, &[u8]) {
    let too_large = matches!(
        events.last(),
        Some(Rec::Error(e)) if matches!(e.kind(), ErrorKind::BodyTooLarge { .. })
    );
    match events {
        [rest @ .., Rec::Data(data), error] if too_large => {
            let mut kept = rest.to_vec();
            kept.push(error.clone());
            (kept, data.as_slice())
        }
        _ => (events.to_vec(), &[]),
    }
}

/// No message delivers more body than `max_body_size`.
fn check_body_limit(events: &[Rec], limit: Option<u64>) {
    let Some(limit) = limit else {
        return;
    };
    let mut in_message = 0u64;
    for event in events {
        match event {
            Rec::Head(_) => in_message = 0,
            Rec::Data(d) => {
                in_message += d.len() as u64;
                assert!(
                    in_message <= limit,
                    "{in_message} body bytes, limit {limit}"
                );
            }
            _ => {}
        }
    }
}

fn data_len(trace: &mut Trace) {
    trace.data_len = trace
        .events
        .iter()
        .map(|e| match e {
            Rec::Data(d) => d.len(),
            _ => 0,
        })
        .sum();
}

fn server_both(config: &Config, mode: Mode, seed: u8, input: &[u8]) -> Trace {
    let whole = run_server(config, mode, input, &whole_sizes(input));
    let sizes = split_sizes(seed, input.len());
    let split = run_server(config, mode, input, &sizes);
    compare(&whole, &split, &sizes);
    whole
}

/// Fuzz body: arbitrary bytes as requests to a server.
pub fn request(data: &[u8]) {
    let (mode, seed, input) = header(data);
    let config = config(Config::server(), mode);
    let _ = server_both(&config, mode, seed, input);
}

/// The chunked request heads the chunked body can follow.
const CHUNKED_HEADS: [&[u8]; 4] = [
    b"POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nTrailer: x\r\nTransfer-Encoding: chunked\r\n\r\n",
];

/// Fuzz body: arbitrary bytes as the body of a chunked request to a server (and any
/// requests pipelined after it).
pub fn chunked(data: &[u8]) {
    let (mode, seed, body) = header(data);
    let config = config(Config::server(), mode);
    let head = CHUNKED_HEADS[usize::from(mode.extra & 3)];
    let mut input = head.to_vec();
    input.extend_from_slice(body);
    let trace = server_both(&config, mode, seed, &input);
    // The first request's body, when the codec accepted it, is what a naive decoder
    // makes of the same bytes.
    if mode.respond_at_head {
        return;
    }
    let mut events = trace.events.iter().skip(1);
    let data = match events.next() {
        Some(Rec::Data(d)) => d.clone(),
        other => {
            if !matches!(other, Some(Rec::End | Rec::Trailers(_))) {
                return;
            }
            Vec::new()
        }
    };
    let accepted = trace.events.contains(&Rec::End);
    if accepted {
        assert_eq!(
            reference_chunked(body).as_deref(),
            Some(data.as_slice()),
            "the codec's body differs from the reference decoder's"
        );
    }
}

/// A naive chunked decoder for bodies the codec accepted: trusts the extensions and the
/// trailer section (the codec checked them), decodes sizes and data.
fn reference_chunked(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let digits = b.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        let size = u64::from_str_radix(std::str::from_utf8(&b[..digits]).ok()?, 16).ok()?;
        let eol = b.windows(2).position(|w| w == b"\r\n")?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        let n = usize::try_from(size).ok()?;
        if b.len() < n.checked_add(2)? || &b[n..n + 2] != b"\r\n" {
            return None;
        }
        out.extend_from_slice(&b[..n]);
        b = &b[n + 2..];
    }
}

/// One extra header field of a client request.
type ExtraField = Option<(&'static str, &'static str)>;

/// A request the client sends before reading responses.
fn client_requests(extra: u8) -> Vec<(RequestHead, Option<&'static [u8]>)> {
    let kinds = [extra & 7, (extra >> 3) & 7];
    let count = 1 + usize::from(extra >> 5 & 1);
    kinds[..count]
        .iter()
        .map(|kind| {
            let uri: http::Uri = "http://example.com/path".parse().unwrap_or_default();
            let (method, header, body): (Method, ExtraField, Option<&'static [u8]>) = match kind {
                0 => (Method::GET, None, None),
                1 => (Method::HEAD, None, None),
                2 => (Method::POST, Some(("content-length", "5")), Some(b"hello")),
                3 => (
                    Method::POST,
                    Some(("expect", "100-continue")),
                    Some(b"hello"),
                ),
                4 => (Method::CONNECT, None, None),
                5 => (Method::GET, Some(("upgrade", "websocket")), None),
                6 => (Method::GET, Some(("connection", "close")), None),
                _ => (Method::DELETE, None, None),
            };
            let uri = if method == Method::CONNECT {
                "example.com:443".parse().unwrap_or(uri)
            } else {
                uri
            };
            let mut head = RequestHead::new(method, uri);
            if let Some((name, value)) = header {
                head.headers.insert(
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                );
                if name == "upgrade" {
                    head.headers.insert(
                        http::header::CONNECTION,
                        http::HeaderValue::from_static("upgrade"),
                    );
                }
                if name == "expect" {
                    head.headers.insert(
                        http::header::CONTENT_LENGTH,
                        http::HeaderValue::from_static("5"),
                    );
                }
            }
            (head, body)
        })
        .collect()
}

/// The client side of the driver: sends its requests, bodies after `Continue`.
struct ClientDriver {
    requests: Vec<(RequestHead, Option<&'static [u8]>)>,
    sent: usize,
    /// The body of the request waiting for `100 Continue`.
    awaiting: Option<&'static [u8]>,
    phase: Phase,
    trace: Trace,
}

impl ClientDriver {
    /// Sends the next requests while the connection takes them. Refusals are expected
    /// (the response may have closed the connection) and end the sending.
    fn pump(&mut self, conn: &mut Conn<Client>, now: Instant) {
        while self.awaiting.is_none() && self.sent < self.requests.len() {
            let (head, body) = self.requests[self.sent].clone();
            let expect = head.headers.contains_key(http::header::EXPECT);
            if conn.send_request(now, head).is_err() {
                return;
            }
            self.sent += 1;
            if expect {
                self.awaiting = body;
                return;
            }
            if let Some(body) = body {
                if conn.send_data(now, Bytes::from_static(body)).is_err() {
                    return;
                }
            }
            if conn.send_end(now, None).is_err() {
                return;
            }
        }
    }

    fn drain(&mut self, conn: &mut Conn<Client>, now: Instant) {
        loop {
            let mark = self.trace.out.len();
            let Some(event) = conn.poll_event() else {
                break;
            };
            self.phase = step(self.phase, &event, false);
            self.trace.push(record(&event));
            match &event {
                Event::Continue => {
                    if let Some(body) = self.awaiting.take() {
                        // The connection may have failed meanwhile: not our concern here.
                        let _ = conn.send_data(now, Bytes::from_static(body));
                        let _ = conn.send_end(now, None);
                    }
                    self.pump(conn, now);
                }
                Event::End => self.pump(conn, now),
                Event::Error(err) => {
                    assert_eq!(err.blame(), Blame::Peer, "input can only be peer's fault");
                    self.trace.error_at = Some(mark);
                }
                _ => {}
            }
            self.trace.transmit(conn);
        }
        self.trace.transmit(conn);
    }
}

fn run_client(config: &Config, mode: Mode, input: &[u8], sizes: &[usize]) -> Trace {
    let now = base_instant();
    let mut conn = Conn::<Client>::new(config.clone(), now);
    let mut driver = ClientDriver {
        requests: client_requests(mode.extra),
        sent: 0,
        awaiting: None,
        phase: Phase::Idle,
        trace: Trace::default(),
    };
    driver.pump(&mut conn, now);
    assert!(driver.sent > 0, "the first request was refused");
    driver.trace.transmit(&mut conn);
    let mut at = 0;
    for &size in sizes {
        conn.handle_input(now, &input[at..at + size]);
        at += size;
        driver.drain(&mut conn, now);
    }
    conn.handle_eof(now);
    driver.drain(&mut conn, now);
    let mut trace = driver.trace;
    assert!(trace.ended(), "EOF did not end the connection: {trace:?}");
    data_len(&mut trace);
    assert!(trace.data_len <= input.len());
    check_body_limit(&trace.events, config.max_body_size);
    trace
}

/// Fuzz body: arbitrary bytes as the responses to one or two requests a client sent.
pub fn response(data: &[u8]) {
    let (mode, seed, input) = header(data);
    let config = config(Config::client(), mode);
    let whole = run_client(&config, mode, input, &whole_sizes(input));
    let sizes = split_sizes(seed, input.len());
    let split = run_client(&config, mode, input, &sizes);
    compare(&whole, &split, &sizes);
}

/// One read of everything (none for an empty input).
fn whole_sizes(input: &[u8]) -> Vec<usize> {
    if input.is_empty() {
        Vec::new()
    } else {
        vec![input.len()]
    }
}
