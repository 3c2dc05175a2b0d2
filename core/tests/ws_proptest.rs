//! Property tests: frame encode→parse is the identity; messages sent in any
//! fragmentation, with or without deflate, arrive intact however the bytes are split.
#![allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use sansweb_core::ws::frame::{encode_frame, FrameHeader, FrameRules};
use sansweb_core::ws::mask::apply_mask;
use sansweb_core::ws::{Config, DeflateParams, Event, OpCode, Role, SeededMaskKeys, WebSocket};

fn opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

proptest! {
    #[test]
    fn frame_round_trip(
        op in opcode(),
        fin in any::<bool>(),
        rsv1 in any::<bool>(),
        mask in proptest::option::of(any::<[u8; 4]>()),
        payload in proptest::collection::vec(any::<u8>(), 0..70_000),
    ) {
        let control = op.is_control();
        let fin = fin || control;
        let rsv1 = rsv1 && !control;
        let payload = if control { &payload[..payload.len().min(125)] } else { &payload[..] };
        let mut out = BytesMut::new();
        encode_frame(&mut out, op, fin, rsv1, mask, payload);
        let rules = FrameRules {
            role: if mask.is_some() { Role::Server } else { Role::Client },
            allow_rsv1: true,
            max_frame_size: 1 << 20,
        };
        let (h, n) = FrameHeader::parse(&out, &rules).unwrap().unwrap();
        prop_assert_eq!(h, FrameHeader { fin, rsv1, opcode: op, mask, payload_len: payload.len() as u64 });
        // Every prefix of the header asks for more bytes rather than erroring.
        for i in 0..n {
            prop_assert_eq!(FrameHeader::parse(&out[..i], &rules).unwrap(), None);
        }
        let mut body = out[n..].to_vec();
        if let Some(k) = mask {
            apply_mask(&mut body, k);
        }
        prop_assert_eq!(&body[..], payload);
    }
}

#[derive(Debug, Clone)]
enum Msg {
    Text(Vec<String>),
    Binary(Vec<Vec<u8>>),
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        proptest::collection::vec(".{0,40}", 1..5).prop_map(Msg::Text),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..5)
            .prop_map(Msg::Binary),
    ]
}

fn deflate(nct: bool) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: nct,
        client_no_context_takeover: nct,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        compression_level: 6,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn fragmented_messages_round_trip(
        msgs in proptest::collection::vec(msg(), 1..6),
        with_deflate in any::<bool>(),
        nct in any::<bool>(),
        ping_between in any::<bool>(),
        piece in 1usize..200,
        client_sends in any::<bool>(),
    ) {
        let t0 = Instant::now();
        let cfg = Config::default().deflate(with_deflate.then(|| deflate(nct)));
        let mut client = WebSocket::client(cfg.clone(), SeededMaskKeys::new(*b"proptest"), t0);
        let mut server = WebSocket::server(cfg, t0);
        let (tx, rx) = if client_sends { (&mut client, &mut server) } else { (&mut server, &mut client) };
        let mut expected = Vec::new();
        for m in &msgs {
            match m {
                Msg::Text(parts) => {
                    for (i, p) in parts.iter().enumerate() {
                        let last = i + 1 == parts.len();
                        tx.send_text_fragment(p, last).unwrap();
                        if last {
                            expected.push(Event::Text(parts.concat()));
                        }
                        if ping_between {
                            tx.send_ping(b"p").unwrap();
                            expected.push(Event::Ping(Bytes::from_static(b"p")));
                        }
                    }
                }
                Msg::Binary(parts) => {
                    for (i, p) in parts.iter().enumerate() {
                        tx.send_binary_fragment(p, i + 1 == parts.len()).unwrap();
                    }
                    expected.push(Event::Binary(Bytes::from(parts.concat())));
                }
            }
        }
        let mut wire = Vec::new();
        while let Some(b) = tx.poll_transmit() {
            wire.extend_from_slice(&b);
        }
        for chunk in wire.chunks(piece) {
            rx.handle_input(t0, chunk);
        }
        let mut got = Vec::new();
        while let Some(e) = rx.poll_event() {
            got.push(e);
        }
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn text_split_at_any_byte_across_frames(
        text in ".{0,60}",
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut input = BytesMut::new();
        let mut start = 0;
        let mut first = true;
        for &p in points.iter().chain(std::iter::once(&bytes.len())) {
            let op = if first { OpCode::Text } else { OpCode::Continuation };
            encode_frame(&mut input, op, false, false, Some([1, 2, 3, 4]), &bytes[start..p]);
            first = false;
            start = p;
        }
        encode_frame(&mut input, OpCode::Continuation, true, false, Some([5, 6, 7, 8]), b"");
        let t0 = Instant::now();
        let mut server = WebSocket::server(Config::default(), t0);
        server.handle_input(t0, &input);
        prop_assert_eq!(server.poll_event(), Some(Event::Text(text.clone())));
        prop_assert_eq!(server.poll_event(), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        sansweb_core::fuzzing::ws::ws_frames(&data);
    }
}
