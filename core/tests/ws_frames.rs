//! Frame tables: raw bytes in → events and bytes out, fed whole, split at every byte
//! position, and one byte at a time (all must agree).
#![allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansweb_core::ws::frame::encode_frame;
use sansweb_core::ws::{
    CloseCode, CloseFrame, Config, Error, Event, OpCode, ProtocolError, SeededMaskKeys, WebSocket,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked (client → server) frame.
fn cf(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, op, fin, false, Some(KEY), payload);
    out.to_vec()
}

/// An unmasked (server → client) frame.
fn sf(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, op, fin, false, None, payload);
    out.to_vec()
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn feed(server: bool, config: &Config, pieces: &[&[u8]]) -> (Vec<Event>, Vec<u8>, bool) {
    let t0 = Instant::now();
    let mut ws = if server {
        WebSocket::server(config.clone(), t0)
    } else {
        WebSocket::client(config.clone(), SeededMaskKeys::new(*b"12345678"), t0)
    };
    let mut events = Vec::new();
    let mut out = Vec::new();
    for p in pieces {
        ws.handle_input(t0, p);
        while let Some(e) = ws.poll_event() {
            events.push(e);
        }
        while let Some(b) = ws.poll_transmit() {
            out.extend_from_slice(&b);
        }
    }
    (events, out, ws.should_close_transport())
}

/// Runs `input` whole, split in two at every position, and byte by byte; asserts all
/// agree and returns the result.
fn all_splits(server: bool, config: &Config, input: &[u8]) -> (Vec<Event>, Vec<u8>, bool) {
    let whole = feed(server, config, &[input]);
    // Every position for small inputs; for big ones the edges and a stride (the middle
    // of a long payload exercises nothing new, and 70 000 runs of 70 KB are slow).
    let positions: Vec<usize> = if input.len() <= 2048 {
        (0..=input.len()).collect()
    } else {
        (0..64)
            .chain((input.len() - 64)..=input.len())
            .chain((64..input.len() - 64).step_by(997))
            .collect()
    };
    for i in positions {
        let (a, b) = input.split_at(i);
        assert_eq!(feed(server, config, &[a, b]), whole, "split at {i}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(feed(server, config, &bytes), whole, "byte by byte");
    whole
}

fn failed(e: ProtocolError) -> Event {
    Event::Failed(Error::Protocol(e))
}

fn close_payload(code: u16) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

#[test]
fn server_role_table() {
    let cfg = Config::default();
    type Row = (&'static str, Vec<u8>, Vec<Event>, Vec<u8>);
    let table: Vec<Row> = vec![
        (
            "single text",
            cf(OpCode::Text, true, b"Hello"),
            vec![Event::Text("Hello".into())],
            vec![],
        ),
        (
            "binary 16-bit length",
            cf(OpCode::Binary, true, &[7u8; 300]),
            vec![Event::Binary(Bytes::from(vec![7u8; 300]))],
            vec![],
        ),
        (
            "binary 64-bit length",
            cf(OpCode::Binary, true, &[9u8; 70_000]),
            vec![Event::Binary(Bytes::from(vec![9u8; 70_000]))],
            vec![],
        ),
        (
            "empty text",
            cf(OpCode::Text, true, b""),
            vec![Event::Text(String::new())],
            vec![],
        ),
        (
            "fragmented with ping in the middle",
            cat(&[
                cf(OpCode::Text, false, b"Hel"),
                cf(OpCode::Ping, true, b"p"),
                cf(OpCode::Continuation, false, b""),
                cf(OpCode::Continuation, true, b"lo"),
            ]),
            vec![
                Event::Ping(Bytes::from_static(b"p")),
                Event::Text("Hello".into()),
            ],
            sf(OpCode::Pong, true, b"p"),
        ),
        (
            "ping gets a pong with the same payload",
            cf(OpCode::Ping, true, b"abc"),
            vec![Event::Ping(Bytes::from_static(b"abc"))],
            sf(OpCode::Pong, true, b"abc"),
        ),
        (
            "pong is reported, not answered",
            cf(OpCode::Pong, true, b"x"),
            vec![Event::Pong(Bytes::from_static(b"x"))],
            vec![],
        ),
        (
            "close is echoed; nothing after it is read",
            cat(&[
                cf(OpCode::Close, true, b"\x03\xe8bye"),
                cf(OpCode::Text, true, b"ignored"),
            ]),
            vec![Event::Close(CloseFrame {
                code: CloseCode::NORMAL,
                reason: "bye".into(),
            })],
            sf(OpCode::Close, true, &close_payload(1000)),
        ),
        (
            "empty close is echoed empty",
            cf(OpCode::Close, true, b""),
            vec![Event::Close(CloseFrame {
                code: CloseCode::NO_STATUS,
                reason: String::new(),
            })],
            sf(OpCode::Close, true, b""),
        ),
        (
            "unmasked frame from a client",
            sf(OpCode::Text, true, b"Hello"),
            vec![failed(ProtocolError::UnmaskedFrame)],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "reserved opcode",
            {
                let mut f = cf(OpCode::Binary, true, b"");
                f[0] = 0x83;
                f
            },
            vec![failed(ProtocolError::ReservedOpcode(3))],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "reserved control opcode",
            {
                let mut f = cf(OpCode::Ping, true, b"");
                f[0] = 0x8B;
                f
            },
            vec![failed(ProtocolError::ReservedOpcode(0xB))],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "RSV1 without deflate",
            {
                let mut f = cf(OpCode::Text, true, b"x");
                f[0] |= 0x40;
                f
            },
            vec![failed(ProtocolError::ReservedBitsSet(4))],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "fragmented ping",
            cf(OpCode::Ping, false, b""),
            vec![failed(ProtocolError::FragmentedControlFrame)],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "continuation without a message",
            cf(OpCode::Continuation, true, b"x"),
            vec![failed(ProtocolError::UnexpectedContinuation)],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "new message during a fragmented one",
            cat(&[cf(OpCode::Text, false, b"a"), cf(OpCode::Text, true, b"b")]),
            vec![failed(ProtocolError::ExpectedContinuation)],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "invalid UTF-8 in a single frame",
            cf(OpCode::Text, true, b"\xce\xba\xff"),
            vec![failed(ProtocolError::InvalidUtf8)],
            sf(OpCode::Close, true, &close_payload(1007)),
        ),
        (
            "invalid UTF-8 fails on its fragment, before FIN",
            cat(&[
                cf(OpCode::Text, false, b"ok"),
                cf(OpCode::Continuation, false, b"\xed\xa0\x80"),
            ]),
            vec![failed(ProtocolError::InvalidUtf8)],
            sf(OpCode::Close, true, &close_payload(1007)),
        ),
        (
            "truncated code point at FIN",
            cat(&[
                cf(OpCode::Text, false, b"ok"),
                cf(OpCode::Continuation, true, b"\xe2\x82"),
            ]),
            vec![failed(ProtocolError::InvalidUtf8)],
            sf(OpCode::Close, true, &close_payload(1007)),
        ),
        (
            "close with 1-byte payload",
            cf(OpCode::Close, true, b"\x03"),
            vec![failed(ProtocolError::CloseOneBytePayload)],
            sf(OpCode::Close, true, &close_payload(1002)),
        ),
        (
            "close reason not UTF-8",
            cf(OpCode::Close, true, b"\x03\xe8\xff"),
            vec![failed(ProtocolError::CloseReasonNotUtf8)],
            sf(OpCode::Close, true, &close_payload(1007)),
        ),
    ];
    for (name, input, events, out) in table {
        let (got_events, got_out, _) = all_splits(true, &cfg, &input);
        assert_eq!(got_events, events, "{name}");
        assert_eq!(got_out, out, "{name}");
    }
}

#[test]
fn control_frame_of_126_bytes_is_rejected() {
    // Built by hand: the encoder would happily write it, the parser must refuse it.
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Ping, true, false, Some(KEY), &[0u8; 126]);
    let (events, bytes, close) = all_splits(true, &Config::default(), &out);
    assert_eq!(
        events,
        vec![failed(ProtocolError::ControlFrameTooLong(126))]
    );
    assert_eq!(bytes, sf(OpCode::Close, true, &close_payload(1002)));
    assert!(close);
    // 125 is fine.
    let mut out = BytesMut::new();
    encode_frame(&mut out, OpCode::Ping, true, false, Some(KEY), &[0u8; 125]);
    let (events, _, _) = feed(true, &Config::default(), &[&out]);
    assert_eq!(events, vec![Event::Ping(Bytes::from(vec![0u8; 125]))]);
}

#[test]
fn client_role_table() {
    let cfg = Config::default();
    let (events, out, _) = all_splits(false, &cfg, &sf(OpCode::Text, true, b"hi"));
    assert_eq!(events, vec![Event::Text("hi".into())]);
    assert!(out.is_empty());
    // A masked frame from the server is a protocol error; our close frame is masked.
    let (events, out, close) = all_splits(false, &cfg, &cf(OpCode::Text, true, b"hi"));
    assert_eq!(events, vec![failed(ProtocolError::MaskedFrame)]);
    assert_eq!(out.len(), 2 + 4 + 2);
    assert_eq!(out[0], 0x88);
    assert_eq!(out[1], 0x80 | 2);
    assert!(close);
    // The client's pong is masked too and unmasks to the ping's payload.
    let (_, out, _) = feed(false, &cfg, &[&sf(OpCode::Ping, true, b"abcdef")]);
    assert_eq!(out[..2], [0x8A, 0x80 | 6]);
    let mut payload = out[6..].to_vec();
    sansweb_core::ws::mask::apply_mask(&mut payload, [out[2], out[3], out[4], out[5]]);
    assert_eq!(payload, b"abcdef");
}

#[test]
fn oversized_message_fails_on_the_header_before_its_payload() {
    let cfg = Config::default().max_message_size(1000);
    // Only the header of a 1001-byte frame: the error comes at once (1009).
    let f = cf(OpCode::Binary, true, &[0u8; 1001]);
    let (events, out, close) = feed(true, &cfg, &[&f[..8]]);
    assert_eq!(
        events,
        vec![failed(ProtocolError::FrameTooLarge {
            declared: 1001,
            limit: 1000
        })]
    );
    assert_eq!(out, sf(OpCode::Close, true, &close_payload(1009)));
    assert!(close);
    // Fragments that add up past the limit: the third header is refused.
    let cfg = Config::default().max_message_size(1000);
    let input = cat(&[
        cf(OpCode::Binary, false, &[0u8; 400]),
        cf(OpCode::Continuation, false, &[0u8; 400]),
        cf(OpCode::Continuation, true, &[0u8; 400])[..8].to_vec(),
    ]);
    let (events, out, _) = all_splits(true, &cfg, &input);
    assert_eq!(
        events,
        vec![failed(ProtocolError::MessageTooLarge { limit: 1000 })]
    );
    assert_eq!(out, sf(OpCode::Close, true, &close_payload(1009)));
    // A declared 2^62-byte frame is refused without allocating.
    let mut huge = vec![0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0];
    huge.extend_from_slice(&KEY);
    let (events, _, _) = feed(true, &Config::default(), &[&huge]);
    assert!(matches!(
        events[..],
        [Event::Failed(Error::Protocol(
            ProtocolError::FrameTooLarge { .. }
        ))]
    ));
}

#[test]
fn utf8_split_across_fragments_at_every_position() {
    let text = "aé€𝄞z — καλημέρα";
    let bytes = text.as_bytes();
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            let input = cat(&[
                cf(OpCode::Text, false, &bytes[..i]),
                cf(OpCode::Continuation, false, &bytes[i..j]),
                cf(OpCode::Continuation, true, &bytes[j..]),
            ]);
            let (events, _, _) = feed(true, &Config::default(), &[&input]);
            assert_eq!(events, vec![Event::Text(text.into())], "splits {i},{j}");
        }
    }
    // And an invalid sequence split at every position still fails with 1007.
    let bad = b"ab\xf0\x9d\x84\xc0cd";
    for i in 0..=bad.len() {
        let input = cat(&[
            cf(OpCode::Text, false, &bad[..i]),
            cf(OpCode::Continuation, true, &bad[i..]),
        ]);
        let (events, out, _) = feed(true, &Config::default(), &[&input]);
        assert_eq!(
            events,
            vec![failed(ProtocolError::InvalidUtf8)],
            "split {i}"
        );
        assert_eq!(out, sf(OpCode::Close, true, &close_payload(1007)));
    }
}

#[test]
fn non_minimal_lengths_are_rejected() {
    // 5 bytes announced with the 16-bit form.
    let mut f = vec![0x82, 0xFE, 0x00, 0x05];
    f.extend_from_slice(&KEY);
    f.extend_from_slice(b"hello");
    let (events, _, _) = all_splits(true, &Config::default(), &f);
    assert_eq!(events, vec![failed(ProtocolError::InvalidLength)]);
}
