//! Tests of the zero-copy paths of [`WebSocket`]: reading straight into the core's buffer
//! (`input_buffer` + `handle_read`) and sending owned payloads (`send_binary_owned`).
//! Each must give exactly what the copying paths give.

#![allow(clippy::disallowed_methods)] // one Instant::now() as the base of a virtual clock

use std::time::Instant;

use bytes::Bytes;

use super::{Config, Event, SeededMaskKeys, WebSocket};

fn keys() -> SeededMaskKeys {
    SeededMaskKeys::new(*b"testkeys")
}

fn drain(ws: &mut WebSocket) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(b) = ws.poll_transmit() {
        out.extend_from_slice(&b);
    }
    out
}

fn events(ws: &mut WebSocket) -> Vec<Event> {
    std::iter::from_fn(|| ws.poll_event()).collect()
}

/// Feeds `wire` through `input_buffer`/`handle_read`, at most `chunk` bytes per read.
fn feed_direct(ws: &mut WebSocket, now: Instant, wire: &[u8], chunk: usize) {
    let mut rest = wire;
    while !rest.is_empty() {
        let buf = ws.input_buffer();
        if buf.is_empty() {
            return; // the core reads nothing more
        }
        let n = buf.len().min(chunk).min(rest.len());
        buf[..n].copy_from_slice(&rest[..n]);
        ws.handle_read(now, n);
        rest = &rest[n..];
    }
}

/// A client's frames for: a 1 MiB binary message, a text, a ping, a 200 KiB binary.
fn client_wire(now: Instant) -> (Vec<u8>, Vec<Event>) {
    let mut c = WebSocket::client(Config::default(), keys(), now);
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 31 % 251) as u8).collect();
    let mid: Vec<u8> = (0..200 << 10).map(|i| (i % 7) as u8).collect();
    c.send_binary(&big).unwrap();
    c.send_text("héllo").unwrap();
    c.send_ping(b"p").unwrap();
    c.send_binary(&mid).unwrap();
    let expected = vec![
        Event::Binary(Bytes::from(big)),
        Event::Text("héllo".into()),
        Event::Ping(Bytes::from_static(b"p")),
        Event::Binary(Bytes::from(mid)),
    ];
    (drain(&mut c), expected)
}

#[test]
fn direct_reads_give_the_same_events_as_handle_input_at_any_read_size() {
    let now = Instant::now();
    let (wire, expected) = client_wire(now);
    let mut copied = WebSocket::server(Config::default(), now);
    copied.handle_input(now, &wire);
    assert_eq!(events(&mut copied), expected);
    let pong = drain(&mut copied);
    assert!(!pong.is_empty());
    for chunk in [1, 7, 4096, 65_536, 100_000, usize::MAX] {
        let mut direct = WebSocket::server(Config::default(), now);
        feed_direct(&mut direct, now, &wire, chunk);
        assert_eq!(events(&mut direct), expected, "reads of {chunk}");
        // The pong for the ping is the same too.
        assert_eq!(drain(&mut direct), pong);
    }
}

#[test]
fn a_declared_length_alone_does_not_grow_the_buffer() {
    let now = Instant::now();
    let mut s = WebSocket::server(Config::default(), now);
    // A masked binary frame header declaring 4 MiB (the default limit), no payload.
    let mut wire = vec![0x82, 0x80 | 127];
    wire.extend_from_slice(&(4u64 << 20).to_be_bytes());
    wire.extend_from_slice(&[1, 2, 3, 4]);
    feed_direct(&mut s, now, &wire, usize::MAX);
    assert!(
        s.input_buffer().len() <= 128 << 10,
        "lent {}",
        s.input_buffer().len()
    );
    // As payload really arrives, the room ahead grows with it (and stays bounded by it).
    let payload = vec![0u8; 256 << 10];
    feed_direct(&mut s, now, &payload, usize::MAX);
    let lent = s.input_buffer().len();
    assert!(lent > 256 << 10 && lent <= 16 * (256 << 10), "lent {lent}");
}

#[test]
fn nothing_is_lent_after_the_peers_close() {
    let now = Instant::now();
    let mut c = WebSocket::client(Config::default(), keys(), now);
    c.send_close(now, super::CloseCode::NORMAL, "").unwrap();
    let wire = drain(&mut c);
    let mut s = WebSocket::server(Config::default(), now);
    feed_direct(&mut s, now, &wire, usize::MAX);
    assert!(matches!(events(&mut s)[..], [Event::Close(_)]));
    assert!(s.input_buffer().is_empty());
}

#[test]
fn owned_sends_put_the_same_bytes_on_the_wire() {
    let now = Instant::now();
    for len in [0, 10, 16 << 10, 300 << 10] {
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        // Server: no mask; the payload goes out as its own slice when large.
        let mut a = WebSocket::server(Config::default(), now);
        let mut b = WebSocket::server(Config::default(), now);
        a.send_binary(&data).unwrap();
        b.send_binary_owned(Bytes::from(data.clone())).unwrap();
        a.send_text("after").unwrap();
        b.send_text("after").unwrap();
        assert_eq!(drain(&mut a), drain(&mut b), "server, {len} bytes");
        // Client, sole owner (masked in place) and shared (copied): the same keys, so
        // the same bytes.
        let mut a = WebSocket::client(Config::default(), keys(), now);
        let mut b = WebSocket::client(Config::default(), keys(), now);
        let mut c = WebSocket::client(Config::default(), keys(), now);
        let shared = Bytes::from(data.clone());
        a.send_binary(&data).unwrap();
        b.send_binary_owned(Bytes::from(data.clone())).unwrap();
        c.send_binary_owned(shared.clone()).unwrap();
        let wire = drain(&mut a);
        assert_eq!(wire, drain(&mut b), "client, {len} bytes");
        assert_eq!(wire, drain(&mut c), "client shared, {len} bytes");
        assert_eq!(&shared[..], &data[..], "the caller's bytes are untouched");
        // And the server reads it back.
        let mut s = WebSocket::server(Config::default(), now);
        s.handle_input(now, &wire);
        assert_eq!(events(&mut s), vec![Event::Binary(Bytes::from(data))]);
    }
}

/// The frames of `n` binary messages of `len` bytes each, message `i` filled with `i`.
fn big_messages(now: Instant, n: u8, len: usize) -> Vec<Vec<u8>> {
    let mut c = WebSocket::client(Config::default(), keys(), now);
    (0..n)
        .map(|i| {
            c.send_binary(&vec![i; len]).unwrap();
            drain(&mut c)
        })
        .collect()
}

#[test]
fn an_echo_reads_each_large_message_into_the_memory_of_one_already_sent() {
    let now = Instant::now();
    let len = 256 << 10;
    let mut s = WebSocket::server(Config::default(), now);
    let mut addresses = Vec::new();
    let mut in_flight: Option<Bytes> = None;
    for (i, wire) in big_messages(now, 6, len).iter().enumerate() {
        feed_direct(&mut s, now, wire, 64 << 10);
        let got = match &events(&mut s)[..] {
            [Event::Binary(b)] => b.clone(),
            other => panic!("message {i}: {other:?}"),
        };
        assert_eq!(got.len(), len);
        assert!(got.iter().all(|&x| x == i as u8), "message {i}");
        // Like an echo: the previous message is written (dropped) once this one is in.
        if let Some(prev) = in_flight.replace(got.clone()) {
            assert!(
                prev.iter().all(|&x| x == i as u8 - 1),
                "held message {i} intact"
            );
        }
        addresses.push(got.as_ptr() as usize);
    }
    // From the third message on, each lands where one already sent was (a frame
    // header's length further, at most: the header was read in front of it).
    for i in 2..addresses.len() {
        assert!(
            addresses[..i - 1]
                .iter()
                .any(|&a| (a..=a + super::frame::MAX_HEADER_LEN).contains(&addresses[i])),
            "message {i} in fresh memory"
        );
    }
}

#[test]
fn kept_payloads_are_dropped_after_a_second_unused() {
    let now = Instant::now();
    let mut s = WebSocket::server(Config::default(), now);
    let wire = big_messages(now, 1, 128 << 10).remove(0);
    feed_direct(&mut s, now, &wire, usize::MAX);
    assert!(matches!(events(&mut s)[..], [Event::Binary(_)]));
    // No heartbeat: the only deadline is the recycling one.
    let first = s
        .poll_timeout()
        .expect("a deadline while payloads are kept");
    assert_eq!(first, now + std::time::Duration::from_secs(1));
    // Used since it was set: re-armed; then a second with no use drops them.
    s.handle_timeout(first);
    let second = s.poll_timeout().expect("re-armed");
    assert!(second > first);
    s.handle_timeout(second);
    assert_eq!(s.poll_timeout(), None);
    // Messages still flow afterwards.
    let wire = big_messages(now, 2, 100).remove(1);
    feed_direct(&mut s, second, &wire, usize::MAX);
    assert_eq!(
        events(&mut s),
        vec![Event::Binary(Bytes::from(vec![1u8; 100]))]
    );
}

#[test]
fn large_copied_frames_are_encoded_into_the_memory_of_frames_already_written() {
    let now = Instant::now();
    let len = 300 << 10;
    let mut c = WebSocket::client(Config::default(), keys(), now);
    let mut s = WebSocket::server(Config::default(), now);
    let mut addresses = Vec::new();
    for i in 0..6u8 {
        // A small frame before the large one must stay in front of it.
        c.send_text("x").unwrap();
        c.send_binary(&vec![i; len]).unwrap();
        let parts: Vec<Bytes> = std::iter::from_fn(|| c.poll_transmit()).collect();
        let big = parts.iter().max_by_key(|b| b.len()).unwrap();
        addresses.push(big.as_ptr() as usize);
        for p in &parts {
            s.handle_input(now, p);
        }
        assert_eq!(
            events(&mut s),
            vec![
                Event::Text("x".into()),
                Event::Binary(Bytes::from(vec![i; len]))
            ],
            "message {i}"
        );
        // `parts` dropped here: written, like a transport does.
    }
    assert!(
        addresses[1..].iter().all(|&a| a == addresses[0]),
        "one buffer for every large frame: {addresses:x?}"
    );
    // Kept while used, dropped after a second unused (the recycle timer, armed by input).
    c.handle_input(now, &[]);
    let deadline = c.poll_timeout().expect("a deadline while buffers are kept");
    c.handle_timeout(deadline);
    let deadline = c.poll_timeout().expect("re-armed: used since it was set");
    c.handle_timeout(deadline);
    assert_eq!(c.poll_timeout(), None, "dropped after a second unused");
}
