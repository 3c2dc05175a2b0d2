//! Properties: encode → parse is the identity for any valid request and response (with
//! and without chunked bodies and trailers), and any split of the wire bytes gives the
//! same events.
#![allow(clippy::disallowed_methods)] // Instant::now() as the virtual clock's base

use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use proptest::prelude::*;
use sansweb_core::h1::{Client, Config, Conn, Event, RequestHead, ResponseHead, Server};
use std::time::Instant;

#[derive(Debug, Clone)]
struct Message {
    headers: Vec<(String, String)>,
    body: Vec<Vec<u8>>,
    chunked: bool,
    trailers: Vec<(String, String)>,
}

fn token() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9!#$%&'*+.^_`|~-]{0,12}"
}

fn field_value() -> impl Strategy<Value = String> {
    // VCHAR and inner spaces; no leading/trailing whitespace (it is not part of a value).
    "[!-~]([ !-~]{0,30}[!-~])?"
}

fn reserved(name: &str) -> bool {
    matches!(
        name,
        "host"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "upgrade"
            | "expect"
            | "te"
            | "trailer"
    )
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop::collection::vec((token(), field_value()), 0..8),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..4),
        any::<bool>(),
        prop::collection::vec((token(), field_value()), 0..3),
    )
        .prop_map(|(headers, body, chunked, trailers)| Message {
            headers: headers.into_iter().filter(|(n, _)| !reserved(n)).collect(),
            body,
            chunked,
            trailers: if chunked {
                trailers.into_iter().filter(|(n, _)| !reserved(n)).collect()
            } else {
                Vec::new()
            },
        })
}

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (n, v) in pairs {
        map.append(
            HeaderName::from_bytes(n.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

fn body_len(m: &Message) -> usize {
    m.body.iter().map(Vec::len).sum()
}

/// Sends `m` with `send` helpers: framing headers, body pieces, end with trailers.
fn framing_headers(m: &Message, headers: &mut HeaderMap) {
    if m.chunked {
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
    } else {
        headers.insert(header::CONTENT_LENGTH, body_len(m).into());
    }
}

/// Collects events with adjacent Data merged.
fn collect<H: std::fmt::Debug>(events: &mut Vec<String>, body: &mut Vec<u8>, event: Event<H>) {
    match event {
        Event::Data(d) => body.extend_from_slice(&d),
        other => {
            if !body.is_empty() {
                events.push(format!("Data({body:?})"));
                body.clear();
            }
            events.push(format!("{other:?}"));
        }
    }
}

fn check_request(
    method: Method,
    path: String,
    m: Message,
    splits: Vec<usize>,
) -> Result<(), TestCaseError> {
    let now = Instant::now();
    let mut client = Conn::<Client>::new(Config::client(), now);
    let mut head = RequestHead::new(method.clone(), path.parse().unwrap());
    head.headers = header_map(&m.headers).into();
    head.headers
        .insert(header::HOST, HeaderValue::from_static("example.com"));
    framing_headers(&m, &mut head.headers);
    let sent_headers = head.headers.clone();
    client.send_request(now, head).unwrap();
    for piece in &m.body {
        client.send_data(now, Bytes::from(piece.clone())).unwrap();
    }
    let trailers = header_map(&m.trailers);
    client
        .send_end(now, (!trailers.is_empty()).then(|| trailers.clone()))
        .unwrap();
    let wire: Vec<u8> = std::iter::from_fn(|| client.poll_transmit())
        .flatten()
        .collect();

    let run = |cuts: &[usize]| {
        let mut server = Conn::<Server>::new(Config::server(), now);
        let (mut events, mut body) = (Vec::new(), Vec::new());
        let mut heads = Vec::new();
        let mut trailers_seen = None;
        let mut start = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(wire.len());
        for cut in cuts {
            server.handle_input(now, &wire[start..cut]);
            start = cut;
            while let Some(event) = server.poll_event() {
                match &event {
                    Event::Head(h) => heads.push(h.clone()),
                    Event::Trailers(t) => trailers_seen = Some(t.clone()),
                    _ => {}
                }
                collect(&mut events, &mut body, event);
            }
        }
        collect(&mut events, &mut body, Event::<()>::Closed);
        (events, heads, trailers_seen)
    };
    let (whole, heads, trailers_seen) = run(&[]);
    prop_assert_eq!(heads.len(), 1);
    let got = &heads[0];
    prop_assert_eq!(&got.method, &method);
    prop_assert_eq!(got.uri.to_string(), path);
    prop_assert_eq!(&got.headers, &sent_headers);
    let body: Vec<u8> = m.body.concat();
    let expected_data = if body.is_empty() { 0 } else { 1 };
    prop_assert_eq!(
        whole.iter().filter(|e| e.starts_with("Data(")).count(),
        expected_data
    );
    if !body.is_empty() {
        prop_assert_eq!(&whole[1], &format!("Data({body:?})"));
    }
    prop_assert_eq!(trailers_seen.unwrap_or_default(), trailers);
    prop_assert!(whole.iter().any(|e| e == "End"), "{:?}", whole);
    let (split, _, _) = run(&splits);
    prop_assert_eq!(split, whole);
    Ok(())
}

fn check_response(status: u16, m: Message, splits: Vec<usize>) -> Result<(), TestCaseError> {
    let now = Instant::now();
    let status = StatusCode::from_u16(status).unwrap();
    // A server answering a GET.
    let mut server = Conn::<Server>::new(Config::server(), now);
    server.handle_input(now, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while server.poll_event().is_some() {}
    let mut head = ResponseHead::new(status);
    head.headers = header_map(&m.headers).into();
    framing_headers(&m, &mut head.headers);
    let sent_headers = head.headers.clone();
    server.send_response(now, head).unwrap();
    for piece in &m.body {
        server.send_data(now, Bytes::from(piece.clone())).unwrap();
    }
    let trailers = header_map(&m.trailers);
    server
        .send_end(now, (!trailers.is_empty()).then(|| trailers.clone()))
        .unwrap();
    let wire: Vec<u8> = std::iter::from_fn(|| server.poll_transmit())
        .flatten()
        .collect();

    let run = |cuts: &[usize]| {
        let mut client = Conn::<Client>::new(Config::client(), now);
        let mut req = RequestHead::new(Method::GET, "/".parse().unwrap());
        req.headers
            .insert(header::HOST, HeaderValue::from_static("h"));
        client.send_request(now, req).unwrap();
        client.send_end(now, None).unwrap();
        while client.poll_transmit().is_some() {}
        let (mut events, mut body) = (Vec::new(), Vec::new());
        let mut heads = Vec::new();
        let mut start = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        cuts.sort_unstable();
        cuts.push(wire.len());
        for cut in cuts {
            client.handle_input(now, &wire[start..cut]);
            start = cut;
            while let Some(event) = client.poll_event() {
                if let Event::Head(h) = &event {
                    heads.push(h.clone());
                }
                collect(&mut events, &mut body, event);
            }
        }
        collect(&mut events, &mut body, Event::<()>::Closed);
        (events, heads, client.is_reusable())
    };
    let (whole, heads, reusable) = run(&[]);
    prop_assert_eq!(heads.len(), 1);
    prop_assert_eq!(heads[0].status, status);
    prop_assert_eq!(&heads[0].headers, &sent_headers);
    let body: Vec<u8> = m.body.concat();
    if !body.is_empty() {
        prop_assert_eq!(&whole[1], &format!("Data({body:?})"));
    }
    prop_assert!(
        reusable,
        "a complete keep-alive response leaves the connection reusable"
    );
    let (split, _, _) = run(&splits);
    prop_assert_eq!(split, whole);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn request_encode_parse_identity(
        method in prop::sample::select(vec![Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS]),
        path in "/[a-zA-Z0-9._~!$&'()*+,;=:@/-]{0,40}(\\?[a-zA-Z0-9=&%]{0,20})?",
        m in message(),
        splits in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        check_request(method, path, m, splits)?;
    }

    #[test]
    fn response_encode_parse_identity(
        status in prop::sample::select(vec![200u16, 201, 202, 203, 206, 400, 401, 403, 404, 418, 500, 503, 599]),
        m in message(),
        splits in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        check_response(status, m, splits)?;
    }
}
