//! `Conn::handle_input_with` and `handle_input_buf` (the transport reads straight into the
//! connection's buffer) must give exactly the events `handle_input` gives for the same bytes: fed whole, split
//! at every byte position, through rooms smaller than the input, with reads that fill
//! nothing in between. A table of raw bytes per role; events are compared with body
//! chunks joined (chunk boundaries follow the reads, the bytes must not).
#![allow(clippy::disallowed_methods)] // Instant::now() as the virtual clock's base

use bytes::{Bytes, BytesMut};
use http::{Method, StatusCode};
use sansweb_core::h1::{Client, Config, Conn, Event, RequestHead, ResponseHead, Role, Server};
use std::time::Instant;

/// One way of handing bytes to the connection.
#[derive(Clone, Copy, Debug)]
enum Feed {
    /// `handle_input(piece)`.
    Copy,
    /// `handle_input_with`, room exactly the piece.
    Lend,
    /// `handle_input_with` with this much room (reads of at most that many bytes), an
    /// empty read (not ready) before each.
    LendRoom(usize),
    /// `handle_input_with` with room to spare, the reader claiming more than it was lent.
    LendOverclaim,
    /// `handle_input_buf`, appending at most this many bytes per read (as tokio's
    /// `try_read_buf` fills spare capacity), an empty read before each.
    Buf(usize),
}

/// Events as comparable text, adjacent `Data` joined.
fn push(out: &mut Vec<String>, data: &mut BytesMut, event: Event<impl std::fmt::Debug>) {
    match event {
        Event::Data(d) => data.extend_from_slice(&d),
        other => {
            if !data.is_empty() {
                out.push(format!(
                    "Data({:?})",
                    String::from_utf8_lossy(&data.split())
                ));
            }
            let text = match other {
                Event::Error(e) => format!("Error({:?})", e.kind()),
                other => format!("{other:?}"),
            };
            out.push(text);
        }
    }
}

fn feed<R: Role>(conn: &mut Conn<R>, now: Instant, piece: &[u8], how: Feed) {
    match how {
        Feed::Copy => conn.handle_input(now, piece),
        Feed::Lend => {
            let got = conn.handle_input_with(now, piece.len(), |buf| {
                buf.copy_from_slice(piece);
                (piece.len(), "done")
            });
            assert_eq!(got, "done", "the reader's value comes back");
        }
        Feed::LendRoom(room) => {
            for part in piece.chunks(room) {
                conn.handle_input_with(now, room, |_| (0, ()));
                conn.handle_input_with(now, room, |buf| {
                    assert_eq!(buf.len(), room);
                    assert!(buf.iter().all(|&b| b == 0), "lent room is zeroed");
                    buf[..part.len()].copy_from_slice(part);
                    (part.len(), ())
                });
            }
        }
        Feed::LendOverclaim => conn.handle_input_with(now, piece.len(), |buf| {
            buf.copy_from_slice(piece);
            (piece.len() + 100, ())
        }),
        Feed::Buf(most) => {
            for part in piece.chunks(most) {
                conn.handle_input_buf(now, |buf| buf.reserve(most));
                let got = conn.handle_input_buf(now, |buf| {
                    buf.reserve(part.len());
                    buf.extend_from_slice(part);
                    part.len()
                });
                assert_eq!(got, part.len(), "the reader's value comes back");
            }
        }
    }
}

/// Feeds `pieces`, draining events after each; `answer` reacts to each event (a server
/// responds at `End`). Then EOF, and the events after it.
fn run<R: Role>(
    pieces: &[&[u8]],
    how: Feed,
    mut conn: Conn<R>,
    now: Instant,
    answer: fn(&mut Conn<R>, Instant, &Event<R::Incoming>),
) -> Vec<String>
where
    R::Incoming: std::fmt::Debug,
{
    let (mut out, mut data) = (Vec::new(), BytesMut::new());
    let mut drain = |conn: &mut Conn<R>, out: &mut Vec<String>| {
        while let Some(event) = conn.poll_event() {
            answer(conn, now, &event);
            push(out, &mut data, event);
        }
        while conn.poll_transmit().is_some() {}
    };
    for piece in pieces {
        feed(&mut conn, now, piece, how);
        drain(&mut conn, &mut out);
    }
    conn.handle_eof(now);
    drain(&mut conn, &mut out);
    out.push(format!("reusable-or-closed {}", conn.is_closed()));
    out
}

fn client(requests: usize, now: Instant) -> Conn<Client> {
    let mut conn = Conn::<Client>::new(Config::client(), now);
    for _ in 0..requests {
        let mut head = RequestHead::new(Method::GET, "/".parse().unwrap());
        head.headers
            .insert(http::header::HOST, "h".parse().unwrap());
        conn.send_request(now, head).unwrap();
        conn.send_end(now, None).unwrap();
    }
    conn
}

fn server(now: Instant) -> Conn<Server> {
    Conn::<Server>::new(Config::server(), now)
}

fn server_answer(
    conn: &mut Conn<Server>,
    now: Instant,
    event: &Event<sansweb_core::h1::RequestHead>,
) {
    if matches!(event, Event::End) {
        conn.send_full_response(
            now,
            ResponseHead::new(StatusCode::OK),
            Bytes::from_static(b"ok"),
        )
        .unwrap();
    }
}

fn no_answer<R: Role>(_: &mut Conn<R>, _: Instant, _: &Event<R::Incoming>) {}

/// Every feeding gives `handle_input`'s events for `input` whole; so does every split
/// into two reads.
fn same_events<R: Role>(
    input: &[u8],
    make: fn(Instant) -> Conn<R>,
    answer: fn(&mut Conn<R>, Instant, &Event<R::Incoming>),
) -> Vec<String>
where
    R::Incoming: std::fmt::Debug,
{
    let now = Instant::now();
    let expected = run(&[input], Feed::Copy, make(now), now, answer);
    let ways = [
        Feed::Lend,
        Feed::LendOverclaim,
        Feed::LendRoom(1),
        Feed::LendRoom(3),
        Feed::LendRoom(64),
        Feed::LendRoom(64 * 1024),
        Feed::Buf(1),
        Feed::Buf(3),
        Feed::Buf(64 * 1024),
    ];
    for how in ways {
        let got = run(&[input], how, make(now), now, answer);
        assert_eq!(
            got,
            expected,
            "{how:?} whole, input {:?}",
            String::from_utf8_lossy(input)
        );
    }
    for at in 0..=input.len() {
        let (a, b) = input.split_at(at);
        let copied = run(&[a, b], Feed::Copy, make(now), now, answer);
        for how in [Feed::Lend, Feed::LendOverclaim, Feed::Buf(64 * 1024)] {
            let got = run(&[a, b], how, make(now), now, answer);
            assert_eq!(got, copied, "{how:?} split at {at}");
        }
    }
    expected
}

#[test]
fn client_responses_give_the_same_events_lent_or_copied() {
    let table: &[(usize, &[u8], &[&str])] = &[
        (
            2,
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            &["Head", "Data(\"hello\")", "End", "Head", "End"],
        ),
        (
            1,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\n",
            &["Head", "Data(\"abcde\")", "Trailers", "End"],
        ),
        (
            1,
            b"HTTP/1.1 200 OK\r\n\r\nclose-delimited body",
            &["Head", "Data(\"close-delimited body\")", "End"],
        ),
        (
            1,
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            &["Informational", "Head", "End"],
        ),
        (
            1,
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
            &["Error(ContentLengthWithTransferEncoding)"],
        ),
        (
            1,
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nxEXTRA",
            &["Head", "Data(\"x\")", "End", "Closed", "Error(DataAfterClose)"],
        ),
        (0, b"HTTP/1.1 200 OK\r\n\r\n", &["Error(UnexpectedResponse)"]),
        (1, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", &["Head", "Data(\"short\")", "Error"]),
    ];
    for &(requests, input, starts) in table {
        let make: fn(Instant) -> Conn<Client> = match requests {
            0 => |now| client(0, now),
            1 => |now| client(1, now),
            _ => |now| client(2, now),
        };
        let events = same_events(input, make, no_answer::<Client>);
        // The table says what the events are, so the comparison is never empty-vs-empty.
        for (event, start) in events.iter().zip(starts) {
            assert!(event.starts_with(start), "{events:?} vs {starts:?}");
        }
        assert!(events.len() > starts.len(), "{events:?} vs {starts:?}");
    }
}

#[test]
fn server_requests_give_the_same_events_lent_or_copied() {
    let table: &[(&[u8], &[&str])] = &[
        (
            b"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbodyGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
            &["Head", "Data(\"body\")", "End", "Head", "End", "Closed"],
        ),
        (
            b"\r\nGET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
            &["Head", "Data(\"z\")", "End", "Closed"],
        ),
        (b"GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", &["Error"]),
        (b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET", &["Head", "End", "Closed", "Error(DataAfterClose)"]),
    ];
    for &(input, starts) in table {
        let events = same_events(input, server, server_answer);
        for (event, start) in events.iter().zip(starts) {
            assert!(event.starts_with(start), "{events:?} vs {starts:?}");
        }
        assert!(events.len() > starts.len(), "{events:?} vs {starts:?}");
    }
}

#[test]
fn a_read_that_fills_nothing_leaves_no_trace() {
    let now = Instant::now();
    let mut conn = client(1, now);
    let _ = conn.poll_transmit();
    for room in [0, 1, 8 * 1024] {
        let back = conn.handle_input_with(now, room, |buf| (0, buf.len()));
        assert_eq!(back, room);
        assert_eq!(conn.poll_event(), None);
    }
    conn.handle_input_with(now, 64, |buf| {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        buf[..r.len()].copy_from_slice(r);
        (r.len(), ())
    });
    assert!(matches!(conn.poll_event(), Some(Event::Head(_))));
    assert_eq!(conn.poll_event(), Some(Event::End));
    // The unfilled room was given back: nothing is left over to make the connection
    // look like it has unread bytes.
    assert!(conn.is_reusable());
}
