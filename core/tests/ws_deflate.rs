//! permessage-deflate through the connection: fragments, bombs, bad data.
#![allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base

use std::io::Write;
use std::time::Instant;

use bytes::BytesMut;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use sansweb_core::ws::frame::encode_frame;
use sansweb_core::ws::{
    Config, DeflateParams, Error, Event, OpCode, ProtocolError, SeededMaskKeys, WebSocket,
};

const KEY: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];

fn params() -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        compression_level: 6,
    }
}

/// Raw deflate of `data` with a sync flush and the 4-byte tail removed, made by an
/// independent encoder (flate2's writer) rather than our own.
fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    enc.write_all(data).unwrap();
    enc.flush().unwrap(); // sync flush
    let mut out = enc.get_ref().clone();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn frame(op: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_frame(&mut out, op, fin, rsv1, Some(KEY), payload);
    out.to_vec()
}

fn server_events(config: Config, input: &[u8]) -> (Vec<Event>, Vec<u8>) {
    let t0 = Instant::now();
    let mut ws = WebSocket::server(config, t0);
    ws.handle_input(t0, input);
    let mut events = Vec::new();
    while let Some(e) = ws.poll_event() {
        events.push(e);
    }
    let mut out = Vec::new();
    while let Some(b) = ws.poll_transmit() {
        out.extend_from_slice(&b);
    }
    (events, out)
}

#[test]
fn compressed_message_split_into_fragments_at_every_position() {
    let text = "Hello, permessage-deflate! ".repeat(5);
    let wire = compress(text.as_bytes());
    let cfg = Config::default().deflate(Some(params()));
    for i in 0..=wire.len() {
        let input = [
            frame(OpCode::Text, false, true, &wire[..i]),
            frame(OpCode::Ping, true, false, b"mid"),
            frame(OpCode::Continuation, true, false, &wire[i..]),
        ]
        .concat();
        let (events, _) = server_events(cfg.clone(), &input);
        assert_eq!(events.len(), 2, "split {i}: {events:?}");
        assert_eq!(events[1], Event::Text(text.clone()), "split {i}");
    }
}

#[test]
fn uncompressed_message_on_a_deflate_connection() {
    let cfg = Config::default().deflate(Some(params()));
    let (events, _) = server_events(cfg, &frame(OpCode::Text, true, false, b"plain"));
    assert_eq!(events, vec![Event::Text("plain".into())]);
}

#[test]
fn compression_bomb_fails_with_1009_and_bounded_memory() {
    let zeros = vec![0u8; 64 << 20]; // 64 MiB of zeros → ~64 KiB compressed
    let wire = compress(&zeros);
    assert!(wire.len() < 100_000, "{}", wire.len());
    let cfg = Config::default().deflate(Some(params())); // 4 MiB limit
    let (events, out) = server_events(cfg, &frame(OpCode::Binary, true, true, &wire));
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(
            ProtocolError::MessageTooLarge { limit: 4 << 20 }
        ))]
    );
    assert_eq!(out, [0x88, 0x02, 0x03, 0xF1]);
}

#[test]
fn invalid_compressed_data_fails_with_1002() {
    let cfg = Config::default().deflate(Some(params()));
    let (events, out) = server_events(cfg, &frame(OpCode::Binary, true, true, &[0xff; 16]));
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(
            ProtocolError::InvalidCompressedData
        ))]
    );
    assert_eq!(out, [0x88, 0x02, 0x03, 0xEA]);
}

#[test]
fn rsv1_on_a_continuation_fails() {
    let cfg = Config::default().deflate(Some(params()));
    let wire = compress(b"abc");
    let input = [
        frame(OpCode::Text, false, true, &wire),
        frame(OpCode::Continuation, true, true, b""),
    ]
    .concat();
    let (events, _) = server_events(cfg, &input);
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(
            ProtocolError::CompressedContinuation
        ))]
    );
}

#[test]
fn compressed_invalid_utf8_fails_with_1007() {
    let cfg = Config::default().deflate(Some(params()));
    let wire = compress(b"ok \xff");
    let (events, out) = server_events(cfg, &frame(OpCode::Text, true, true, &wire));
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(ProtocolError::InvalidUtf8))]
    );
    assert_eq!(out, [0x88, 0x02, 0x03, 0xEF]);
}

#[test]
fn our_output_is_readable_by_an_independent_inflater_with_context_takeover() {
    use flate2::{Decompress, FlushDecompress};
    let t0 = Instant::now();
    let mut client = WebSocket::client(
        Config::default().deflate(Some(params())),
        SeededMaskKeys::new(*b"deflate!"),
        t0,
    );
    let mut inflater = Decompress::new(false);
    for msg in ["first message first message", "first message again", ""] {
        client.send_text(msg).unwrap();
        let wire = client.poll_transmit().unwrap();
        assert_eq!(wire[0], 0xC1, "FIN + RSV1 + text");
        let len = (wire[1] & 0x7f) as usize;
        let mut payload = wire[6..6 + len].to_vec();
        sansweb_core::ws::mask::apply_mask(&mut payload, [wire[2], wire[3], wire[4], wire[5]]);
        payload.extend_from_slice(&[0, 0, 0xff, 0xff]);
        let mut out = Vec::with_capacity(1024);
        inflater
            .decompress_vec(&payload, &mut out, FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, msg.as_bytes());
    }
}

/// The (rsv1, fin, payload) of each unmasked frame in `wire` (a server's output).
fn server_frames(mut wire: &[u8]) -> Vec<(bool, bool, Vec<u8>)> {
    let mut frames = Vec::new();
    while !wire.is_empty() {
        let (fin, rsv1) = (wire[0] & 0x80 != 0, wire[0] & 0x40 != 0);
        let (len, at) = match wire[1] & 0x7f {
            126 => (u16::from_be_bytes([wire[2], wire[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(wire[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        frames.push((rsv1, fin, wire[at..at + len].to_vec()));
        wire = &wire[at + len..];
    }
    frames
}

/// A peer may ask our compressor for a window smaller than 15 bits
/// (`server_max_window_bits=9` here). We honour it by compressing only whole messages
/// that fit in the window, each from a fresh context (so every compressed payload inflates
/// on its own, referring to nothing before it), and sending the rest uncompressed.
#[test]
fn a_small_peer_window_is_honoured() {
    let t0 = Instant::now();
    let small = DeflateParams {
        server_max_window_bits: 9,
        ..params()
    };
    let mut ws = WebSocket::server(Config::default().deflate(Some(small)), t0);
    let fits = "window ".repeat(70); // 490 bytes <= 512
    let too_big = "window ".repeat(80); // 560 bytes
    ws.send_text(&fits).unwrap();
    ws.send_text(&too_big).unwrap();
    ws.send_text_fragment(&fits[..100], false).unwrap();
    ws.send_text_fragment(&fits[100..], true).unwrap();
    ws.send_text(&fits).unwrap();
    let mut wire = Vec::new();
    while let Some(b) = ws.poll_transmit() {
        wire.extend_from_slice(&b);
    }
    let frames = server_frames(&wire);
    let rsv1: Vec<bool> = frames.iter().map(|f| f.0).collect();
    assert_eq!(rsv1, [true, false, false, false, true]);
    // Each compressed payload inflates alone: no reference into an earlier message.
    for (_, _, payload) in frames.iter().filter(|f| f.0) {
        let mut d = flate2::Decompress::new(false);
        let mut out = Vec::with_capacity(4096);
        let input = [payload.as_slice(), &[0, 0, 0xff, 0xff]].concat();
        d.decompress_vec(&input, &mut out, flate2::FlushDecompress::Sync)
            .unwrap();
        assert_eq!(out, fits.as_bytes());
    }
    assert_eq!(frames[1].2, too_big.as_bytes());
    // And a client with the same agreement reads every message back.
    let mut client = WebSocket::client(
        Config::default().deflate(Some(small)),
        SeededMaskKeys::new([7; 8]),
        t0,
    );
    client.handle_input(t0, &wire);
    let mut texts = Vec::new();
    while let Some(e) = client.poll_event() {
        if let Event::Text(t) = e {
            texts.push(t);
        }
    }
    assert_eq!(texts, [fits.clone(), too_big, fits.clone(), fits]);
}
