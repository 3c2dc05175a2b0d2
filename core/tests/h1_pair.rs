//! A client core and a server core wired together in memory, driven by a virtual clock:
//! no runtime, no sockets. Exchanges, pipelining, keep-alive reuse, 100-continue, the
//! upgrade hand-off, and every timer firing at its deadline and not before.
#![allow(clippy::disallowed_methods)] // Instant::now() as the virtual clock's base

use bytes::Bytes;
use http::{header, HeaderMap, Method, StatusCode};
use sansweb_core::h1::{Client, Config, Conn, ErrorKind, Event, RequestHead, ResponseHead, Server};
use std::time::{Duration, Instant};

struct Pair {
    now: Instant,
    client: Conn<Client>,
    server: Conn<Server>,
}

impl Pair {
    fn new() -> Self {
        Self::with_configs(Config::client(), Config::server())
    }

    fn with_configs(client: Config, server: Config) -> Self {
        let now = Instant::now();
        Self {
            now,
            client: Conn::new(client, now),
            server: Conn::new(server, now),
        }
    }

    fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }

    /// Moves every pending transmit across, both ways, until quiet.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(bytes) = self.client.poll_transmit() {
                self.server.handle_input(self.now, &bytes);
                moved = true;
            }
            while let Some(bytes) = self.server.poll_transmit() {
                self.client.handle_input(self.now, &bytes);
                moved = true;
            }
            if !moved {
                break;
            }
        }
    }

    fn server_events(&mut self) -> Vec<Event<RequestHead>> {
        std::iter::from_fn(|| self.server.poll_event()).collect()
    }

    fn client_events(&mut self) -> Vec<Event<ResponseHead>> {
        std::iter::from_fn(|| self.client.poll_event()).collect()
    }
}

fn get(path: &str) -> RequestHead {
    let mut head = RequestHead::new(Method::GET, path.parse().unwrap());
    head.headers
        .insert(header::HOST, "example.com".parse().unwrap());
    head
}

fn post(path: &str, len: usize) -> RequestHead {
    let mut head = RequestHead::new(Method::POST, path.parse().unwrap());
    head.headers
        .insert(header::HOST, "example.com".parse().unwrap());
    head.headers.insert(header::CONTENT_LENGTH, len.into());
    head
}

fn body_of<H>(events: &[Event<H>]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Data(d) => Some(d.to_vec()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn ok(text: &'static str) -> (ResponseHead, Bytes) {
    (
        ResponseHead::new(StatusCode::OK),
        Bytes::from_static(text.as_bytes()),
    )
}

#[test]
fn request_response_and_keep_alive_reuse() {
    let mut p = Pair::new();
    for round in 0..3 {
        p.client
            .send_request(p.now, get(&format!("/r{round}")))
            .unwrap();
        p.client.send_end(p.now, None).unwrap();
        p.pump();
        let events = p.server_events();
        assert!(matches!(&events[0], Event::Head(h) if h.uri.path() == format!("/r{round}")));
        assert_eq!(events[1], Event::End);
        let (head, body) = ok("hello");
        p.server.send_full_response(p.now, head, body).unwrap();
        p.pump();
        let events = p.client_events();
        assert!(matches!(&events[0], Event::Head(h) if h.status == StatusCode::OK));
        assert_eq!(body_of(&events), b"hello");
        assert_eq!(events.last(), Some(&Event::End));
        assert!(
            p.client.is_reusable(),
            "round {round}: connection must be reusable"
        );
        assert!(!p.server.is_closed());
    }
}

#[test]
fn streamed_chunked_body_with_trailers_both_ways() {
    let mut p = Pair::new();
    let mut head = RequestHead::new(Method::PUT, "/upload".parse().unwrap());
    head.headers.insert(header::HOST, "h".parse().unwrap());
    head.headers
        .insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    for part in ["abc", "", "defgh"] {
        p.client.send_data(p.now, Bytes::from(part)).unwrap();
    }
    let mut trailers = HeaderMap::new();
    trailers.insert("x-checksum", "42".parse().unwrap());
    p.client.send_end(p.now, Some(trailers.clone())).unwrap();
    p.pump();
    let events = p.server_events();
    assert_eq!(body_of(&events), b"abcdefgh");
    assert!(events.contains(&Event::Trailers(trailers)));
    // The trailer is not merged into the head's fields.
    match &events[0] {
        Event::Head(h) => assert!(!h.headers.contains_key("x-checksum")),
        other => panic!("{other:?}"),
    }
    assert_eq!(events.last(), Some(&Event::End));
    // No Content-Length: an HTTP/1.1 response is chunked automatically.
    p.server
        .send_response(p.now, ResponseHead::new(StatusCode::OK))
        .unwrap();
    p.server
        .send_data(p.now, Bytes::from_static(b"stream"))
        .unwrap();
    p.server
        .send_data(p.now, Bytes::from(vec![b'x'; 10_000]))
        .unwrap();
    p.server.send_end(p.now, None).unwrap();
    p.pump();
    let events = p.client_events();
    match &events[0] {
        Event::Head(h) => assert_eq!(h.headers[header::TRANSFER_ENCODING], "chunked"),
        other => panic!("{other:?}"),
    }
    assert_eq!(body_of(&events).len(), 6 + 10_000);
    assert!(p.client.is_reusable());
}

#[test]
fn pipelined_requests_are_answered_in_order_in_one_write() {
    let mut p = Pair::new();
    let mut wire = Vec::new();
    for i in 0..5 {
        wire.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
    }
    p.server.handle_input(p.now, &wire);
    let mut seen = Vec::new();
    while let Some(event) = p.server.poll_event() {
        if let Event::Head(h) = &event {
            seen.push(h.uri.path().to_string());
        }
        if event == Event::End {
            let body = Bytes::from(seen.last().unwrap().clone());
            p.server
                .send_full_response(p.now, ResponseHead::new(StatusCode::OK), body)
                .unwrap();
        }
    }
    assert_eq!(seen, ["/0", "/1", "/2", "/3", "/4"]);
    // All five responses leave in one transmit.
    let out = p.server.poll_transmit().unwrap();
    assert!(p.server.poll_transmit().is_none());
    let text = String::from_utf8(out.to_vec()).unwrap();
    let order: Vec<_> = (0..5)
        .map(|i| text.find(&format!("\r\n\r\n/{i}")).unwrap())
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

#[test]
fn the_next_pipelined_request_waits_for_the_response() {
    let mut p = Pair::new();
    p.server.handle_input(
        p.now,
        b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
    );
    let events = p.server_events();
    assert_eq!(events.len(), 2, "only /a until it is answered: {events:?}");
    p.server
        .send_full_response(p.now, ResponseHead::new(StatusCode::OK), Bytes::new())
        .unwrap();
    let events = p.server_events();
    assert!(matches!(&events[0], Event::Head(h) if h.uri.path() == "/b"));
}

#[test]
fn connection_close_ends_the_connection_after_the_response() {
    let mut p = Pair::new();
    let mut head = get("/");
    head.headers
        .insert(header::CONNECTION, "close".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.pump();
    p.server_events();
    let (head, body) = ok("bye");
    p.server.send_full_response(p.now, head, body).unwrap();
    assert_eq!(p.server.poll_event(), Some(Event::Closed));
    assert!(p.server.is_closed());
    p.pump();
    let events = p.client_events();
    match &events[0] {
        Event::Head(h) => assert_eq!(h.headers[header::CONNECTION], "close"),
        other => panic!("{other:?}"),
    }
    assert!(events.contains(&Event::End));
    assert!(p.client.is_closed());
    assert!(!p.client.is_reusable());
}

#[test]
fn http10_client_gets_close_delimited_body_and_close() {
    let now = Instant::now();
    let mut server = Conn::<Server>::new(Config::server(), now);
    server.handle_input(now, b"GET / HTTP/1.0\r\n\r\n");
    assert!(matches!(server.poll_event(), Some(Event::Head(_))));
    assert_eq!(server.poll_event(), Some(Event::End));
    server
        .send_response(now, ResponseHead::new(StatusCode::OK))
        .unwrap();
    server.send_data(now, Bytes::from_static(b"old")).unwrap();
    server.send_end(now, None).unwrap();
    let out = server.poll_transmit().unwrap();
    let text = std::str::from_utf8(&out).unwrap();
    assert!(text.contains("connection: close\r\n"), "{text}");
    assert!(!text.contains("chunked"), "{text}");
    assert!(text.ends_with("\r\n\r\nold"));
    assert!(server.is_closed());
}

#[test]
fn http10_keep_alive_is_honoured_with_a_length() {
    let now = Instant::now();
    let mut server = Conn::<Server>::new(Config::server(), now);
    server.handle_input(now, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let _ = server.poll_event();
    let _ = server.poll_event();
    server
        .send_full_response(
            now,
            ResponseHead::new(StatusCode::OK),
            Bytes::from_static(b"x"),
        )
        .unwrap();
    let out = server.poll_transmit().unwrap();
    assert!(std::str::from_utf8(&out)
        .unwrap()
        .contains("connection: keep-alive\r\n"));
    assert!(!server.is_closed());
}

#[test]
fn head_response_has_no_body() {
    let mut p = Pair::new();
    let head = RequestHead::new(Method::HEAD, "http://example.com/".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.pump();
    p.server_events();
    let mut response = ResponseHead::new(StatusCode::OK);
    response.headers.insert(header::CONTENT_LENGTH, 1000.into());
    p.server.send_response(p.now, response).unwrap();
    p.server
        .send_data(p.now, Bytes::from_static(b"dropped"))
        .unwrap();
    p.server.send_end(p.now, None).unwrap();
    p.pump();
    let events = p.client_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1], Event::End);
    assert!(p.client.is_reusable());
}

#[test]
fn server_sends_100_continue_when_the_body_is_first_read() {
    let mut p = Pair::new();
    let mut head = post("/upload", 5);
    head.headers
        .insert(header::EXPECT, "100-continue".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    assert!(p
        .client
        .send_data(p.now, Bytes::from_static(b"early"))
        .is_err());
    p.pump();
    // The server saw the head; nothing was sent back yet.
    assert!(matches!(p.server.poll_event(), Some(Event::Head(_))));
    assert!(p.server.poll_transmit().is_none());
    // Asking for the body sends 100 Continue.
    assert_eq!(p.server.poll_event(), None);
    p.pump();
    let events = p.client_events();
    assert!(matches!(&events[0], Event::Informational(h) if h.status == StatusCode::CONTINUE));
    assert_eq!(events[1], Event::Continue);
    p.client
        .send_data(p.now, Bytes::from_static(b"hello"))
        .unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.pump();
    let events = p.server_events();
    assert_eq!(body_of(&events), b"hello");
    let (head, body) = ok("done");
    p.server.send_full_response(p.now, head, body).unwrap();
    p.pump();
    assert!(p.client_events().contains(&Event::End));
    assert!(p.client.is_reusable());
}

#[test]
fn client_sends_the_body_when_the_continue_wait_elapses() {
    let mut p = Pair::new();
    let mut head = post("/upload", 2);
    head.headers
        .insert(header::EXPECT, "100-continue".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    let deadline = p.client.poll_timeout().unwrap();
    assert_eq!(deadline, p.now + Duration::from_secs(1));
    p.advance(Duration::from_millis(999));
    assert_eq!(p.client.poll_event(), None, "not before the deadline");
    p.advance(Duration::from_millis(1));
    assert_eq!(p.client.poll_event(), Some(Event::Continue));
    p.client
        .send_data(p.now, Bytes::from_static(b"ok"))
        .unwrap();
    p.client.send_end(p.now, None).unwrap();
}

#[test]
fn a_final_response_instead_of_100_closes_after_it() {
    let mut p = Pair::new();
    let mut head = post("/upload", 100);
    head.headers
        .insert(header::EXPECT, "100-continue".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    p.pump();
    assert!(matches!(p.server.poll_event(), Some(Event::Head(_))));
    // The handler refuses without reading the body.
    let refusal = ResponseHead::new(StatusCode::PAYLOAD_TOO_LARGE);
    p.server
        .send_full_response(p.now, refusal, Bytes::from_static(b"no"))
        .unwrap();
    assert!(
        p.server.is_closed(),
        "the body may or may not follow: close"
    );
    p.pump();
    let events = p.client_events();
    assert!(matches!(&events[0], Event::Head(h) if h.status == StatusCode::PAYLOAD_TOO_LARGE));
    assert!(p.client.send_data(p.now, Bytes::from_static(b"x")).is_err());
    assert!(p.client.is_closed());
}

#[test]
fn unread_request_body_is_discarded_before_the_next_request() {
    let mut p = Pair::new();
    p.client.send_request(p.now, post("/a", 3)).unwrap();
    p.client
        .send_data(p.now, Bytes::from_static(b"abc"))
        .unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.client.send_request(p.now, get("/b")).unwrap();
    p.client.send_end(p.now, None).unwrap();
    // Only part of the first body has arrived when the handler answers.
    let wire: Vec<u8> = std::iter::from_fn(|| p.client.poll_transmit())
        .flatten()
        .collect();
    let split = wire.windows(3).position(|w| w == b"abc").unwrap() + 1;
    p.server.handle_input(p.now, &wire[..split]);
    assert!(matches!(p.server.poll_event(), Some(Event::Head(_))));
    p.server
        .send_full_response(p.now, ResponseHead::new(StatusCode::OK), Bytes::new())
        .unwrap();
    p.server.handle_input(p.now, &wire[split..]);
    let events = p.server_events();
    assert!(
        matches!(&events[0], Event::Head(h) if h.uri.path() == "/b"),
        "{events:?}"
    );
}

#[test]
fn websocket_style_upgrade_hands_over_the_bytes_already_read() {
    let mut p = Pair::new();
    let mut head = get("/ws");
    head.headers
        .insert(header::CONNECTION, "Upgrade".parse().unwrap());
    head.headers
        .insert(header::UPGRADE, "websocket".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    p.client.send_end(p.now, None).unwrap();
    let mut wire: Vec<u8> = std::iter::from_fn(|| p.client.poll_transmit())
        .flatten()
        .collect();
    wire.extend_from_slice(b"\x81\x05hello"); // the client's first frame, right behind
    p.server.handle_input(p.now, &wire);
    assert!(matches!(p.server.poll_event(), Some(Event::Head(_))));
    assert_eq!(p.server.poll_event(), Some(Event::End));
    let mut switch = ResponseHead::new(StatusCode::SWITCHING_PROTOCOLS);
    switch
        .headers
        .insert(header::UPGRADE, "websocket".parse().unwrap());
    switch
        .headers
        .insert(header::CONNECTION, "Upgrade".parse().unwrap());
    p.server.send_response(p.now, switch).unwrap();
    assert_eq!(p.server.poll_event(), Some(Event::Upgrade));
    let mut response: Vec<u8> = std::iter::from_fn(|| p.server.poll_transmit())
        .flatten()
        .collect();
    let server = std::mem::replace(&mut p.server, Conn::new(Config::server(), p.now));
    let upgraded = server.into_upgraded();
    assert_eq!(&upgraded.read_buf[..], b"\x81\x05hello");
    // The client sees 101 then Upgrade, with the server's first bytes handed over.
    response.extend_from_slice(b"\x82\x00");
    p.client.handle_input(p.now, &response);
    assert!(
        matches!(p.client.poll_event(), Some(Event::Head(h)) if h.status == StatusCode::SWITCHING_PROTOCOLS)
    );
    assert_eq!(p.client.poll_event(), Some(Event::Upgrade));
    let client = std::mem::replace(&mut p.client, Conn::new(Config::client(), p.now));
    assert_eq!(&client.into_upgraded().read_buf[..], b"\x82\x00");
}

#[test]
fn connect_tunnel_is_handed_over_on_2xx() {
    let mut p = Pair::new();
    let head = RequestHead::new(Method::CONNECT, "example.com:443".parse().unwrap());
    p.client.send_request(p.now, head).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.pump();
    assert!(matches!(p.server.poll_event(), Some(Event::Head(h)) if h.method == Method::CONNECT));
    assert_eq!(p.server.poll_event(), Some(Event::End));
    p.server
        .send_response(p.now, ResponseHead::new(StatusCode::OK))
        .unwrap();
    assert_eq!(p.server.poll_event(), Some(Event::Upgrade));
    p.pump();
    assert!(matches!(p.client.poll_event(), Some(Event::Head(_))));
    assert_eq!(p.client.poll_event(), Some(Event::Upgrade));
}

#[test]
fn unexpected_101_is_a_peer_error() {
    let mut p = Pair::new();
    p.client.send_request(p.now, get("/")).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.client
        .handle_input(p.now, b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
    match p.client.poll_event() {
        Some(Event::Error(e)) => assert_eq!(e.kind(), &ErrorKind::UnexpectedUpgrade),
        other => panic!("{other:?}"),
    }
}

#[test]
fn slowloris_head_is_cut_at_the_deadline_with_408() {
    let mut p = Pair::new();
    p.server
        .handle_input(p.now, b"GET / HTTP/1.1\r\nHost: h\r\n");
    assert_eq!(p.server.poll_event(), None);
    for _ in 0..29 {
        p.advance(Duration::from_secs(1));
        p.server.handle_input(p.now, b"X-a: b\r\n");
        assert_eq!(p.server.poll_event(), None);
    }
    // 30 s after the head's first byte, not before.
    p.advance(Duration::from_millis(999));
    assert_eq!(p.server.poll_event(), None);
    p.advance(Duration::from_millis(1));
    match p.server.poll_event() {
        Some(Event::Error(e)) => assert_eq!(e.status(), Some(StatusCode::REQUEST_TIMEOUT)),
        other => panic!("{other:?}"),
    }
    let out = p.server.poll_transmit().unwrap();
    assert!(out.starts_with(b"HTTP/1.1 408 "));
    assert!(p.server.is_closed());
}

#[test]
fn a_new_connection_must_send_its_first_head_in_time() {
    let mut p = Pair::new();
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(30))
    );
    p.advance(Duration::from_secs(30));
    assert!(matches!(p.server.poll_event(), Some(Event::Error(_))));
}

#[test]
fn idle_keep_alive_connection_closes_at_75s() {
    let mut p = Pair::new();
    p.client.send_request(p.now, get("/")).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.pump();
    p.server_events();
    p.server
        .send_full_response(p.now, ResponseHead::new(StatusCode::OK), Bytes::new())
        .unwrap();
    p.pump();
    p.client_events();
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(75))
    );
    p.advance(Duration::from_secs(74));
    assert_eq!(p.server.poll_event(), None);
    assert!(!p.server.is_closed());
    // A new request's first byte replaces the idle timer with the head timer.
    p.server.handle_input(p.now, b"G");
    assert_eq!(
        p.server.poll_timeout(),
        Some(p.now + Duration::from_secs(30))
    );
    let mut q = Pair::new();
    q.client.send_request(q.now, get("/")).unwrap();
    q.client.send_end(q.now, None).unwrap();
    q.pump();
    q.server_events();
    q.server
        .send_full_response(q.now, ResponseHead::new(StatusCode::OK), Bytes::new())
        .unwrap();
    q.advance(Duration::from_secs(75));
    assert_eq!(q.server.poll_event(), Some(Event::Closed));
    assert!(q.server.is_closed());
}

#[test]
fn eof_before_the_response_is_an_incomplete_message_for_the_client() {
    let mut p = Pair::new();
    p.client.send_request(p.now, get("/")).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.client.handle_eof(p.now);
    match p.client.poll_event() {
        Some(Event::Error(e)) => assert_eq!(e.kind(), &ErrorKind::IncompleteMessage),
        other => panic!("{other:?}"),
    }
}

#[test]
fn eof_between_requests_is_a_clean_close() {
    let mut p = Pair::new();
    p.server.handle_eof(p.now);
    assert_eq!(p.server.poll_event(), Some(Event::Closed));
    assert!(p.server.is_closed());
}

#[test]
fn close_delimited_response_ends_at_eof() {
    let mut p = Pair::new();
    p.client.send_request(p.now, get("/")).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.client
        .handle_input(p.now, b"HTTP/1.1 200 OK\r\n\r\nall of it");
    p.client.handle_eof(p.now);
    let events = p.client_events();
    assert_eq!(body_of(&events), b"all of it");
    assert!(events.contains(&Event::End));
    assert!(p.client.is_closed());
}

#[test]
fn response_body_over_the_limit_fails_cleanly() {
    let mut config = Config::client();
    config.max_body_size = Some(10);
    let mut p = Pair::with_configs(config, Config::server());
    p.client.send_request(p.now, get("/")).unwrap();
    p.client.send_end(p.now, None).unwrap();
    p.client
        .handle_input(p.now, b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n");
    match p.client.poll_event() {
        Some(Event::Error(e)) => assert_eq!(e.kind(), &ErrorKind::BodyTooLarge { limit: 10 }),
        other => panic!("{other:?}"),
    }
}
