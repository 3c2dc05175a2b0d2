//! Structure-aware fuzz body for a client and a server [`Conn`] wired together in
//! memory: the input decodes to a sequence of operations (send a request, a body
//! chunk, the end; answer; move some bytes either way; let time pass) and the two
//! sides must agree.
//!
//! Invariants: no panic; while no time passes, neither side ever reports the other's
//! bytes as a protocol error (both are ours: whatever one side agreed to send, the other
//! must parse); the server sees exactly the requests the client sent, in order, with
//! their bodies; the client sees exactly the responses the server sent, with their
//! bodies (none for HEAD); the bytes in flight never exceed what was sent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};

use crate::h1::{Blame, Client, Config, Conn, Event, RequestHead, ResponseHead, Server};

/// Most operations decoded from one input.
const MAX_OPS: usize = 256;

/// What one side sent or received for one message.
#[derive(Debug, Default, Clone, PartialEq)]
struct Msg {
    what: String,
    body: Vec<u8>,
    ended: bool,
}

#[derive(Default)]
struct Side {
    sent: Vec<Msg>,
    received: Vec<Msg>,
    peer_errors: usize,
    failed: bool,
}

/// The pair and its bookkeeping.
struct Pair {
    now: Instant,
    client: Conn<Client>,
    server: Conn<Server>,
    c: Side,
    s: Side,
    to_server: VecDeque<u8>,
    to_client: VecDeque<u8>,
    produced_c: usize,
    produced_s: usize,
    /// Methods of the requests, for knowing which responses have no body.
    methods: Vec<Method>,
    time_passed: bool,
}

impl Pair {
    fn pump_out(&mut self) {
        while let Some(b) = self.client.poll_transmit() {
            self.produced_c += b.len();
            self.to_server.extend(b.iter());
        }
        while let Some(b) = self.server.poll_transmit() {
            self.produced_s += b.len();
            self.to_client.extend(b.iter());
        }
        assert!(self.to_server.len() <= self.produced_c && self.to_client.len() <= self.produced_s);
    }

    fn drain(&mut self) {
        while let Some(e) = self.server.poll_event() {
            match e {
                Event::Head(h) => {
                    self.s.received.push(Msg {
                        what: format!("{} {}", h.method, h.uri),
                        ..Msg::default()
                    });
                }
                Event::Data(d) => {
                    if let Some(m) = self.s.received.last_mut() {
                        m.body.extend_from_slice(&d);
                    }
                }
                Event::End => {
                    if let Some(m) = self.s.received.last_mut() {
                        m.ended = true;
                    }
                }
                Event::Error(e) => {
                    self.s.failed = true;
                    if e.blame() == Blame::Peer {
                        self.s.peer_errors += 1;
                    }
                }
                _ => {}
            }
        }
        while let Some(e) = self.client.poll_event() {
            match e {
                Event::Head(h) => {
                    self.c.received.push(Msg {
                        what: h.status.as_u16().to_string(),
                        ..Msg::default()
                    });
                }
                Event::Data(d) => {
                    if let Some(m) = self.c.received.last_mut() {
                        m.body.extend_from_slice(&d);
                    }
                }
                Event::End => {
                    if let Some(m) = self.c.received.last_mut() {
                        m.ended = true;
                    }
                }
                Event::Error(e) => {
                    self.c.failed = true;
                    if e.blame() == Blame::Peer {
                        self.c.peer_errors += 1;
                    }
                }
                _ => {}
            }
        }
        self.pump_out();
        if !self.time_passed {
            assert_eq!(self.s.peer_errors, 0, "server refused the client's bytes");
            assert_eq!(self.c.peer_errors, 0, "client refused the server's bytes");
        }
    }

    fn apply(&mut self, op: u8, arg: u8) {
        let now = self.now;
        let n = usize::from(arg);
        match op % 12 {
            0 | 1 => {
                let (method, framing) = match arg % 5 {
                    0 => (Method::GET, 0),
                    1 => (Method::HEAD, 0),
                    2 => (Method::POST, 1),
                    3 => (Method::PUT, 2),
                    _ => (Method::DELETE, 0),
                };
                let uri: http::Uri = format!("http://example.com/r{}", self.c.sent.len())
                    .parse()
                    .unwrap_or_default();
                // The target goes out as given (absolute form here): record it so.
                let what = format!("{method} {uri}");
                let mut head = RequestHead::new(method.clone(), uri);
                let len = n % 7;
                if framing == 1 {
                    head.headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                } else if framing == 2 {
                    head.headers.insert(
                        header::TRANSFER_ENCODING,
                        HeaderValue::from_static("chunked"),
                    );
                }
                if self.client.send_request(now, head).is_ok() {
                    self.c.sent.push(Msg {
                        what,
                        ..Msg::default()
                    });
                    self.methods.push(method);
                    if framing == 1 {
                        // A declared length is sent in full with the head.
                        let body = vec![b'q'; len];
                        if self
                            .client
                            .send_data(now, Bytes::from(body.clone()))
                            .is_ok()
                        {
                            if let Some(m) = self.c.sent.last_mut() {
                                m.body = body;
                            }
                        }
                    }
                }
            }
            2 => {
                let body = vec![b'a' + (arg % 26); n % 40 + 1];
                if self
                    .client
                    .send_data(now, Bytes::from(body.clone()))
                    .is_ok()
                {
                    if let Some(m) = self.c.sent.last_mut() {
                        m.body.extend_from_slice(&body);
                    }
                }
            }
            3 => {
                if self.client.send_end(now, None).is_ok() {
                    if let Some(m) = self.c.sent.last_mut() {
                        m.ended = true;
                    }
                }
            }
            4 | 5 => {
                // Answer only a request the server has read completely.
                let answered = self.s.sent.len();
                if !self.s.received.get(answered).is_some_and(|m| m.ended) {
                    return;
                }
                let status = [200u16, 201, 204, 404, 500][n % 5];
                let mut head =
                    ResponseHead::new(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
                if arg % 3 == 0 && status != 204 {
                    head.headers.insert(
                        header::TRANSFER_ENCODING,
                        HeaderValue::from_static("chunked"),
                    );
                } else if status != 204 {
                    head.headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(n % 5));
                }
                if self.server.send_response(now, head).is_ok() {
                    self.s.sent.push(Msg {
                        what: status.to_string(),
                        ..Msg::default()
                    });
                    let cl = if arg % 3 == 0 || status == 204 {
                        None
                    } else {
                        Some(n % 5)
                    };
                    if let Some(len) = cl {
                        let body = vec![b'r'; len];
                        if self
                            .server
                            .send_data(now, Bytes::from(body.clone()))
                            .is_ok()
                        {
                            if let Some(m) = self.s.sent.last_mut() {
                                m.body = body;
                            }
                        }
                    }
                }
            }
            6 => {
                let body = vec![b'A' + (arg % 26); n % 40 + 1];
                if self
                    .server
                    .send_data(now, Bytes::from(body.clone()))
                    .is_ok()
                {
                    if let Some(m) = self.s.sent.last_mut() {
                        m.body.extend_from_slice(&body);
                    }
                }
            }
            7 => {
                if self.server.send_end(now, None).is_ok() {
                    if let Some(m) = self.s.sent.last_mut() {
                        m.ended = true;
                    }
                }
            }
            8 | 9 => {
                let k = (n * 4 + 1).min(self.to_server.len());
                let bytes: Vec<u8> = self.to_server.drain(..k).collect();
                self.server.handle_input(now, &bytes);
            }
            10 => {
                let k = (n * 4 + 1).min(self.to_client.len());
                let bytes: Vec<u8> = self.to_client.drain(..k).collect();
                self.client.handle_input(now, &bytes);
            }
            _ => {
                self.now += Duration::from_secs(u64::from(arg));
                self.time_passed |= arg > 0;
                self.client.handle_timeout(self.now);
                self.server.handle_timeout(self.now);
            }
        }
        self.drain();
    }

    /// Delivers everything in flight both ways until nothing moves.
    fn settle(&mut self) {
        for _ in 0..64 {
            if self.to_server.is_empty() && self.to_client.is_empty() {
                break;
            }
            let bytes: Vec<u8> = self.to_server.drain(..).collect();
            self.server.handle_input(self.now, &bytes);
            let bytes: Vec<u8> = self.to_client.drain(..).collect();
            self.client.handle_input(self.now, &bytes);
            self.drain();
        }
    }

    fn check_agreement(&self) {
        if self.time_passed {
            return;
        }
        // The server saw a prefix of what the client sent, each complete message equal.
        assert!(
            self.s.received.len() <= self.c.sent.len(),
            "server saw more requests than sent"
        );
        for (got, sent) in self.s.received.iter().zip(&self.c.sent) {
            assert_eq!(got.what, sent.what, "request line");
            assert!(sent.body.starts_with(&got.body), "request body differs");
            if got.ended {
                assert_eq!(got.body, sent.body, "request body");
            }
        }
        assert!(
            self.c.received.len() <= self.s.sent.len(),
            "client saw more responses than sent"
        );
        for (i, (got, sent)) in self.c.received.iter().zip(&self.s.sent).enumerate() {
            assert_eq!(got.what, sent.what, "status");
            // No body for HEAD, nor for 204: what the server's application wrote is
            // dropped by its core, never put on the wire.
            if self.methods.get(i) == Some(&Method::HEAD) || got.what == "204" {
                assert!(got.body.is_empty(), "a body for HEAD or 204");
                continue;
            }
            assert!(sent.body.starts_with(&got.body), "response body differs");
            if got.ended {
                assert_eq!(got.body, sent.body, "response body");
            }
        }
    }
}

/// Runs one input: every 2 bytes are one operation.
pub fn pair_ops(data: &[u8]) {
    #[allow(clippy::disallowed_methods)] // the fuzz harness's one clock reading
    let now = Instant::now();
    let mut pair = Pair {
        now,
        client: Conn::new(Config::client(), now),
        server: Conn::new(Config::server(), now),
        c: Side::default(),
        s: Side::default(),
        to_server: VecDeque::new(),
        to_client: VecDeque::new(),
        produced_c: 0,
        produced_s: 0,
        methods: Vec::new(),
        time_passed: false,
    };
    for op in data.chunks_exact(2).take(MAX_OPS) {
        pair.apply(op[0], op[1]);
    }
    pair.settle();
    pair.check_agreement();
}
