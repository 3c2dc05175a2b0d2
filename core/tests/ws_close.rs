//! Every close-code rule, received and sent.
#![allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base

use std::time::Instant;

use bytes::BytesMut;
use sansweb_core::ws::frame::encode_frame;
use sansweb_core::ws::{
    CloseCode, CloseFrame, Config, Error, Event, LocalError, OpCode, ProtocolError, State,
    WebSocket,
};

fn receive_close(payload: &[u8]) -> (Vec<Event>, Vec<u8>) {
    let t0 = Instant::now();
    let mut ws = WebSocket::server(Config::default(), t0);
    let mut frame = BytesMut::new();
    encode_frame(
        &mut frame,
        OpCode::Close,
        true,
        false,
        Some([9, 8, 7, 6]),
        payload,
    );
    ws.handle_input(t0, &frame);
    let mut events = Vec::new();
    while let Some(e) = ws.poll_event() {
        events.push(e);
    }
    let mut out = Vec::new();
    while let Some(b) = ws.poll_transmit() {
        out.extend_from_slice(&b);
    }
    assert!(ws.should_close_transport());
    (events, out)
}

fn is_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[test]
fn every_received_code() {
    for code in 0..=u16::MAX {
        let (events, out) = receive_close(&code.to_be_bytes());
        if is_valid(code) {
            assert_eq!(
                events,
                vec![Event::Close(CloseFrame {
                    code: CloseCode(code),
                    reason: String::new()
                })],
                "code {code}"
            );
            // The echo carries the same code.
            assert_eq!(
                out,
                [&[0x88, 0x02][..], &code.to_be_bytes()].concat(),
                "code {code}"
            );
        } else {
            assert_eq!(
                events,
                vec![Event::Failed(Error::Protocol(
                    ProtocolError::InvalidCloseCode(code)
                ))],
                "code {code}"
            );
            assert_eq!(
                out,
                [0x88, 0x02, 0x03, 0xEA],
                "code {code} answered with 1002"
            );
        }
    }
}

#[test]
fn never_on_the_wire_codes_are_protocol_errors() {
    for code in [1004u16, 1005, 1006, 1015, 1016, 2999, 5000, 0, 999] {
        assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        let (events, _) = receive_close(&code.to_be_bytes());
        assert_eq!(
            events,
            vec![Event::Failed(Error::Protocol(
                ProtocolError::InvalidCloseCode(code)
            ))]
        );
    }
}

#[test]
fn payload_shape_rules() {
    // Empty: NO_STATUS, echoed empty.
    let (events, out) = receive_close(b"");
    assert_eq!(
        events,
        vec![Event::Close(CloseFrame {
            code: CloseCode::NO_STATUS,
            reason: String::new()
        })]
    );
    assert_eq!(out, [0x88, 0x00]);
    // One byte: 1002.
    let (events, out) = receive_close(b"\x03");
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(
            ProtocolError::CloseOneBytePayload
        ))]
    );
    assert_eq!(out, [0x88, 0x02, 0x03, 0xEA]);
    // A UTF-8 reason of the maximum length.
    let reason = "é".repeat(61) + "x"; // 123 bytes
    let payload = [&1000u16.to_be_bytes()[..], reason.as_bytes()].concat();
    let (events, _) = receive_close(&payload);
    assert_eq!(
        events,
        vec![Event::Close(CloseFrame {
            code: CloseCode::NORMAL,
            reason
        })]
    );
    // A reason that is not UTF-8: 1007.
    let (events, out) = receive_close(b"\x03\xe8\xce");
    assert_eq!(
        events,
        vec![Event::Failed(Error::Protocol(
            ProtocolError::CloseReasonNotUtf8
        ))]
    );
    assert_eq!(out, [0x88, 0x02, 0x03, 0xEF]);
}

#[test]
fn sending_rules() {
    let t0 = Instant::now();
    for code in [1004u16, 1005, 1006, 1015, 2000, 5000] {
        let mut ws = WebSocket::server(Config::default(), t0);
        assert_eq!(
            ws.send_close(t0, CloseCode(code), ""),
            Err(LocalError::InvalidCloseCode(code))
        );
        assert_eq!(ws.state(), State::Open);
        assert_eq!(ws.poll_transmit(), None);
    }
    let mut ws = WebSocket::server(Config::default(), t0);
    let long = "x".repeat(124);
    assert_eq!(
        ws.send_close(t0, CloseCode::NORMAL, &long),
        Err(LocalError::CloseReasonTooLong(124))
    );
    assert_eq!(
        ws.send_ping(&[0u8; 126]),
        Err(LocalError::ControlPayloadTooLong(126))
    );
    ws.send_close(t0, CloseCode(4000), &"y".repeat(123))
        .unwrap();
    let out = ws.poll_transmit().unwrap();
    assert_eq!(out[..4], [0x88, 125, 0x0F, 0xA0]);
    // Only one close; nothing but waiting after it.
    assert_eq!(
        ws.send_close(t0, CloseCode::NORMAL, ""),
        Err(LocalError::Closing)
    );
    assert_eq!(ws.send_binary(b"x"), Err(LocalError::Closing));
    assert_eq!(ws.send_ping(b""), Err(LocalError::Closing));
}

#[test]
fn data_still_arrives_after_our_close() {
    // RFC 6455 §1.4: after sending close, the endpoint keeps reading until the peer's.
    let t0 = Instant::now();
    let mut ws = WebSocket::server(Config::default(), t0);
    ws.send_close(t0, CloseCode::NORMAL, "").unwrap();
    let mut input = BytesMut::new();
    encode_frame(
        &mut input,
        OpCode::Text,
        true,
        false,
        Some([1, 2, 3, 4]),
        b"in flight",
    );
    encode_frame(
        &mut input,
        OpCode::Close,
        true,
        false,
        Some([1, 2, 3, 4]),
        b"\x03\xe8",
    );
    ws.handle_input(t0, &input);
    assert_eq!(ws.poll_event(), Some(Event::Text("in flight".into())));
    assert!(matches!(ws.poll_event(), Some(Event::Close(_))));
    assert_eq!(ws.state(), State::HandshakeDone);
    // Only our original close went out: no second close as an echo.
    let out = ws.poll_transmit().unwrap();
    assert_eq!(&out[..], &[0x88, 0x02, 0x03, 0xE8]);
    assert_eq!(ws.poll_transmit(), None);
    assert!(ws.should_close_transport());
}
