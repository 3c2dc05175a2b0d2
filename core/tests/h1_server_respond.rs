//! The server's response paths byte for byte: a head lent as its parts encodes as the
//! same head in a `ResponseHead`; the `Date` the connection is given is written on
//! every response without one, and a head's own `Date` wins.
#![allow(clippy::disallowed_methods)] // Instant::now() as the virtual clock's base

use bytes::Bytes;
use http::{header, HeaderValue, StatusCode};
use sansweb_core::h1::{Config, Conn, Event, HeaderFields, ResponseHead, Server};
use std::time::Instant;

const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

/// A server that has read one `GET /` and has it in hand.
fn server_with_request(now: Instant) -> Conn<Server> {
    let mut conn = Conn::<Server>::new(Config::server(), now);
    conn.handle_input(now, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(conn.poll_event(), Some(Event::Head(_))));
    conn
}

fn written(conn: &mut Conn<Server>) -> Vec<u8> {
    std::iter::from_fn(|| conn.poll_transmit())
        .flat_map(|b| b.to_vec())
        .collect()
}

fn fields(list: &[(header::HeaderName, &'static str)]) -> HeaderFields {
    let mut fields = HeaderFields::default();
    for (name, value) in list {
        fields.push(name.clone(), HeaderValue::from_static(value));
    }
    fields
}

/// Status, reason, fields, body.
type Case = (
    StatusCode,
    Option<&'static [u8]>,
    &'static [(header::HeaderName, &'static str)],
    &'static [u8],
);

#[test]
fn parts_encode_as_the_head_does() {
    let now = Instant::now();
    let cases: &[Case] = &[
        (
            StatusCode::OK,
            None,
            &[(header::CONTENT_TYPE, "text/plain")],
            b"hi",
        ),
        (StatusCode::NOT_FOUND, None, &[], b""),
        (
            StatusCode::IM_A_TEAPOT,
            None,
            &[(header::SERVER, "s")],
            b"tea",
        ),
        (StatusCode::OK, Some(b"Fine"), &[], b"x"),
        (StatusCode::from_u16(599).expect("valid"), None, &[], b""),
    ];
    for &(status, reason, list, body) in cases {
        for date in [None, Some(DATE)] {
            let mut lent = server_with_request(now);
            let mut moved = server_with_request(now);
            assert!(lent.set_date(date) && moved.set_date(date));
            let headers = fields(list);
            lent.send_full_response_parts(now, status, reason, &headers, Bytes::from_static(body))
                .expect("sent");
            let mut head = ResponseHead::new(status);
            head.reason = reason.map(Bytes::copy_from_slice);
            head.headers = fields(list);
            moved
                .send_full_response(now, head, Bytes::from_static(body))
                .expect("sent");
            let (lent, moved) = (written(&mut lent), written(&mut moved));
            assert_eq!(lent, moved, "{status}");
            let text = String::from_utf8(lent).expect("ascii");
            assert_eq!(
                text.contains("date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
                date.is_some()
            );
            assert!(text.ends_with(std::str::from_utf8(body).expect("ascii")));
        }
    }
}

#[test]
fn the_connection_date_is_written_unless_the_head_has_one() {
    let now = Instant::now();
    let mut conn = server_with_request(now);
    assert!(conn.set_date(Some(DATE)));
    let headers = fields(&[(header::DATE, "Mon, 07 Nov 1994 08:49:37 GMT")]);
    conn.send_full_response_parts(
        now,
        StatusCode::OK,
        None,
        &headers,
        Bytes::from_static(b"ok"),
    )
    .expect("sent");
    let text = String::from_utf8(written(&mut conn)).expect("ascii");
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\ndate: Mon, 07 Nov 1994 08:49:37 GMT\r\ncontent-length: 2\r\n\r\nok"
    );

    let mut conn = server_with_request(now);
    assert!(conn.set_date(Some(DATE)));
    conn.send_full_response_parts(now, StatusCode::OK, None, &fields(&[]), Bytes::new())
        .expect("sent");
    let text = String::from_utf8(written(&mut conn)).expect("ascii");
    assert_eq!(
        text,
        "HTTP/1.1 200 OK\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\ncontent-length: 0\r\n\r\n"
    );
}

#[test]
fn a_date_that_could_break_the_head_is_refused() {
    let mut conn = Conn::<Server>::new(Config::server(), Instant::now());
    assert!(!conn.set_date(Some(b"Sun, 06 Nov 1994 08:49:37 GMT\r\nx: y")));
    assert!(!conn.set_date(Some(b"Sun, 06 Nov 1994 08:49:3\r\nGMT")));
    assert!(!conn.set_date(Some(b"short")));
    assert!(conn.set_date(Some(DATE)));
    assert!(conn.set_date(None));
}
