//! Raw request bytes → the error and status a server answers, fed whole and one byte at
//! a time (the outcome must not change). The classes of malformed and ambiguous input
//! that request smuggling is made of, every limit, and outgoing heads that would inject
//! CRLF.
#![allow(clippy::disallowed_methods)] // Instant::now() as the virtual clock's base

use bytes::Bytes;
use http::{header, HeaderValue, Method, StatusCode};
use sansweb_core::h1::{Client, Config, Conn, ErrorKind, Event, RequestHead, ResponseHead, Server};
use std::time::Instant;

/// Feeds `input` in pieces of `step` bytes; returns the first error, if any, and the
/// bytes the server wrote.
fn serve(input: &[u8], step: usize, config: &Config) -> (Option<sansweb_core::h1::Error>, Vec<u8>) {
    let now = Instant::now();
    let mut conn = Conn::<Server>::new(config.clone(), now);
    let mut out = Vec::new();
    for piece in input.chunks(step.max(1)) {
        conn.handle_input(now, piece);
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Error(e) => {
                    out.extend(std::iter::from_fn(|| conn.poll_transmit()).flatten());
                    return (Some(e), out);
                }
                Event::End => conn
                    .send_full_response(now, ResponseHead::new(StatusCode::OK), Bytes::new())
                    .unwrap(),
                _ => {}
            }
        }
        out.extend(std::iter::from_fn(|| conn.poll_transmit()).flatten());
    }
    (None, out)
}

fn rejects(input: &[u8], kind: ErrorKind, status: StatusCode) {
    rejects_with(input, kind, status, &Config::server());
}

fn rejects_with(input: &[u8], kind: ErrorKind, status: StatusCode, config: &Config) {
    for step in [input.len(), 1, 7] {
        let (err, out) = serve(input, step, config);
        let err = err.unwrap_or_else(|| {
            panic!(
                "accepted {:?} (step {step})",
                String::from_utf8_lossy(input)
            )
        });
        assert_eq!(
            err.kind(),
            &kind,
            "input {:?} step {step}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(err.status(), Some(status));
        let expected_start = format!("HTTP/1.1 {} ", status.as_u16());
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.contains(&expected_start),
            "no {status} answer in {text:?}"
        );
        assert!(text.contains("connection: close\r\n"));
    }
}

#[test]
fn smuggling_classes_are_rejected_with_400() {
    use ErrorKind::*;
    let bad = StatusCode::BAD_REQUEST;
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        ContentLengthWithTransferEncoding,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        ContentLengthWithTransferEncoding,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
        DuplicateContentLength,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        DuplicateContentLength,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n",
        InvalidContentLength,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n",
        InvalidContentLength,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n",
        InvalidContentLength,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        InvalidContentLength,
        bad,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        InvalidTransferEncoding,
        bad,
    );
    rejects(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", InvalidTransferEncoding, bad);
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
        InvalidTransferEncoding,
        bad,
    );
    rejects(
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        TransferEncodingInHttp10,
        bad,
    );
    // Bad chunk sizes, LF in chunk extensions, bare CR, unterminated data.
    let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (tail, kind) in [
        (&b"-1\r\n"[..], InvalidChunkSize),
        (b"0x5\r\n", InvalidChunkSize),
        (b"fffffffffffffffff\r\n", InvalidChunkSize),
        (b"5 5\r\n", InvalidChunkSize),
        (b"5;a\nb\r\nhello\r\n", InvalidChunkExtension),
        (b"5;a=\"b\nc\"\r\n", InvalidChunkExtension),
        (b"5\rhello", InvalidLineEnding),
        (b"5\nhello\r\n", InvalidChunkSize),
        (b"5\r\nhelloX\r\n", InvalidChunkDelimiter),
        (b"5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n", InvalidTrailer),
    ] {
        rejects(&[&chunked[..], tail].concat(), kind, bad);
    }
    // Heads: bare LF, bare CR, obs-fold, NUL and controls, whitespace before colon.
    rejects(b"GET / HTTP/1.1\nHost: h\r\n\r\n", InvalidLineEnding, bad);
    rejects(
        b"GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n",
        InvalidLineEnding,
        bad,
    );
    rejects(
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        ObsFold,
        bad,
    );
    rejects(
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n",
        InvalidHeaderValue,
        bad,
    );
    rejects(
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n",
        InvalidHeaderValue,
        bad,
    );
    rejects(
        b"GET / HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n",
        InvalidHeaderValue,
        bad,
    );
    rejects(
        b"GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n",
        InvalidHeaderName,
        bad,
    );
    rejects(
        b"GET / HTTP/1.1\r\nHost: h\r\nX\x00Y: a\r\n\r\n",
        InvalidHeaderName,
        bad,
    );
    // Host rules.
    rejects(b"GET / HTTP/1.1\r\n\r\n", MissingHost, bad);
    rejects(
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        DuplicateHost,
        bad,
    );
    // Start line.
    rejects(b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidMethod, bad);
    rejects(b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", InvalidVersion, bad);
    rejects(b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n", InvalidTarget, bad);
    rejects(
        b"GET /\xce\xb4 HTTP/1.1\r\nHost: h\r\n\r\n",
        InvalidTarget,
        bad,
    );
    rejects(
        b"GET example.com HTTP/1.1\r\nHost: h\r\n\r\n",
        InvalidTarget,
        bad,
    );
    rejects(
        b"CONNECT /path HTTP/1.1\r\nHost: h\r\n\r\n",
        InvalidTarget,
        bad,
    );
    rejects(b"GET / HTTP/1.x\r\nHost: h\r\n\r\n", InvalidVersion, bad);
}

#[test]
fn versions_and_codings_get_their_own_statuses() {
    rejects(
        b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
        ErrorKind::UnsupportedVersion,
        StatusCode::HTTP_VERSION_NOT_SUPPORTED,
    );
    rejects(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        ErrorKind::UnsupportedVersion,
        StatusCode::HTTP_VERSION_NOT_SUPPORTED,
    );
    rejects(
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: pigeons, chunked\r\n\r\n",
        ErrorKind::UnsupportedTransferCoding,
        StatusCode::NOT_IMPLEMENTED,
    );
    for expect in ["pigeons", "100-continue, pigeons", "100-continuex"] {
        rejects(
            format!("POST / HTTP/1.1\r\nHost: h\r\nExpect: {expect}\r\nContent-Length: 1\r\n\r\nx")
                .as_bytes(),
            ErrorKind::UnsupportedExpectation,
            StatusCode::EXPECTATION_FAILED,
        );
    }
    // 100-continue in any case, and an empty Expect, are not refused.
    for expect in ["100-Continue", "", " 100-continue "] {
        let input = format!("GET / HTTP/1.1\r\nHost: h\r\nExpect:{expect}\r\n\r\n");
        let (err, out) = serve(input.as_bytes(), input.len(), &Config::server());
        assert!(err.is_none(), "{expect:?}: {err:?}");
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"), "{expect:?}");
    }
}

#[test]
fn limits_answer_414_431_413_and_cannot_be_split_around() {
    let mut config = Config::server();
    config.max_line_size = 64;
    config.max_field_size = 32;
    config.max_headers = 4;
    config.max_head_size = 200;
    config.max_body_size = Some(10);
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(100));
    rejects_with(
        long_target.as_bytes(),
        ErrorKind::LineTooLong { limit: 64 },
        StatusCode::URI_TOO_LONG,
        &config,
    );
    // Without its CRLF yet: refused as soon as the line is over the limit.
    let (err, _) = serve(&long_target.as_bytes()[..70], 1, &config);
    assert_eq!(err.unwrap().kind(), &ErrorKind::LineTooLong { limit: 64 });
    let long_field = format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n", "b".repeat(40));
    rejects_with(
        long_field.as_bytes(),
        ErrorKind::HeaderFieldTooLong { limit: 32 },
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        &config,
    );
    let many = format!("GET / HTTP/1.1\r\nHost: h\r\n{}\r\n", "A: b\r\n".repeat(4));
    rejects_with(
        many.as_bytes(),
        ErrorKind::TooManyHeaders { limit: 4 },
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        &config,
    );
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
        "Abcdefghijklmnopq: rstuvwxyz0123\r\n".repeat(3)
    );
    let mut big_config = config.clone();
    big_config.max_head_size = 100;
    rejects_with(
        big_head.as_bytes(),
        ErrorKind::HeadTooLarge { limit: 100 },
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        &big_config,
    );
    rejects_with(
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n",
        ErrorKind::BodyTooLarge { limit: 10 },
        StatusCode::PAYLOAD_TOO_LARGE,
        &config,
    );
    let chunked = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n";
    rejects_with(
        chunked,
        ErrorKind::BodyTooLarge { limit: 10 },
        StatusCode::PAYLOAD_TOO_LARGE,
        &config,
    );
    let mut ext_config = Config::server();
    ext_config.max_chunk_extension_size = 16;
    let ext = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;{}\r\na\r\n0\r\n\r\n",
        "e".repeat(20)
    );
    rejects_with(
        ext.as_bytes(),
        ErrorKind::ChunkExtensionTooLong { limit: 16 },
        StatusCode::BAD_REQUEST,
        &ext_config,
    );
    let mut trailer_config = Config::server();
    trailer_config.max_trailer_size = 32;
    let trailers = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: {}\r\n\r\n",
        "t".repeat(40)
    );
    rejects_with(
        trailers.as_bytes(),
        ErrorKind::TrailersTooLarge { limit: 32 },
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        &trailer_config,
    );
}

#[test]
fn other_connections_are_unaffected_and_good_requests_pass() {
    // A valid request with every feature: still accepted byte by byte.
    let input = b"\r\nPOST /p?q=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3;name=\"q\\\"v\";x\r\nabc\r\n0\r\nT: v\r\n\r\n";
    for step in [input.len(), 1] {
        let (err, out) = serve(input, step, &Config::server());
        assert!(err.is_none(), "{err:?}");
        assert!(out.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }
}

fn refused_request(head: RequestHead) -> ErrorKind {
    let now = Instant::now();
    let mut conn = Conn::<Client>::new(Config::client(), now);
    let err = conn.send_request(now, head).unwrap_err();
    assert!(conn.poll_transmit().is_none(), "nothing may be written");
    err.kind().clone()
}

#[test]
fn outgoing_heads_cannot_inject_crlf() {
    // http's safe constructors already refuse CR/LF; the unchecked ones are the way in.
    let mut head = RequestHead::new(Method::GET, "/".parse().unwrap());
    head.headers.insert(header::HOST, "h".parse().unwrap());
    head.headers.insert(
        "x-evil",
        HeaderValue::from_maybe_shared(Bytes::from_static(b"a")).unwrap(),
    );
    assert!(HeaderValue::from_bytes(b"a\r\nInjected: 1").is_err());
    assert!(http::Method::from_bytes(b"GET / HTTP/1.1\r\n").is_err());
    assert!("/a b".parse::<http::Uri>().is_err());
    // Reason phrases are ours to check.
    let now = Instant::now();
    let mut server = Conn::<Server>::new(Config::server(), now);
    server.handle_input(now, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    while server.poll_event().is_some() {}
    for reason in [&b"OK\r\nSet-Cookie: x=1"[..], b"OK\nX", b"OK\0", b"OK\rX"] {
        let mut response = ResponseHead::new(StatusCode::OK);
        response.reason = Some(Bytes::copy_from_slice(reason));
        let err = server.send_response(now, response).unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::InvalidOutgoingHead(_)));
        assert!(server.poll_transmit().is_none());
    }
    // A target without an authority and without Host is refused, not guessed at.
    let head = RequestHead::new(Method::GET, "/".parse().unwrap());
    assert!(matches!(
        refused_request(head),
        ErrorKind::InvalidOutgoingHead(_)
    ));
    // Contradictory framing is refused.
    let mut head = RequestHead::new(Method::POST, "http://h/".parse().unwrap());
    head.headers.insert(header::CONTENT_LENGTH, 3.into());
    head.headers
        .insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
    assert!(matches!(
        refused_request(head),
        ErrorKind::InvalidOutgoingHead(_)
    ));
}

#[test]
fn local_body_misuse_is_a_local_error() {
    let now = Instant::now();
    let mut conn = Conn::<Client>::new(Config::client(), now);
    let mut head = RequestHead::new(Method::POST, "http://h/".parse().unwrap());
    head.headers.insert(header::CONTENT_LENGTH, 3.into());
    conn.send_request(now, head).unwrap();
    let err = conn
        .send_data(now, Bytes::from_static(b"four"))
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::BodyTooLong);
    assert_eq!(err.blame(), sansweb_core::h1::Blame::Local);
    conn.send_data(now, Bytes::from_static(b"ab")).unwrap();
    let err = conn.send_end(now, None).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::BodyTooShort);
    // Sticky: the connection is failed from now on.
    assert!(conn.send_data(now, Bytes::from_static(b"c")).is_err());
}
