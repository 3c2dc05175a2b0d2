//! A client and a server core wired together in memory on a virtual clock.
#![allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{StatusCode, Uri};
use sansweb_core::ws::{
    ClientHandshake, CloseCode, CloseFrame, Config, DeflateConfig, Error, Event, Heartbeat,
    LocalError, SeededMaskKeys, State, UpgradeRequest, WebSocket,
};

struct Pair {
    now: Instant,
    client: WebSocket,
    server: WebSocket,
    /// Whether each side still reads what the other writes (false = the link is cut).
    link_up: bool,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
}

impl Pair {
    fn new(client_cfg: Config, server_cfg: Config) -> Pair {
        let now = Instant::now();
        Pair {
            now,
            client: WebSocket::client(client_cfg, SeededMaskKeys::new(*b"pairseed"), now),
            server: WebSocket::server(server_cfg, now),
            link_up: true,
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Moves bytes both ways until nothing moves.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(b) = self.client.poll_transmit() {
                moved = true;
                if self.link_up {
                    self.server.handle_input(self.now, &b);
                }
            }
            while let Some(b) = self.server.poll_transmit() {
                moved = true;
                if self.link_up {
                    self.client.handle_input(self.now, &b);
                }
            }
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e);
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push(e);
            }
            if !moved {
                break;
            }
        }
    }

    /// Advances the clock to the earliest deadline of either side and fires it.
    fn advance_to_next_deadline(&mut self) -> Option<Instant> {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()?;
        self.now = self.now.max(next);
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.pump();
        Some(next)
    }
}

#[test]
fn messages_both_ways_and_ping_pong() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.client.send_text("hello").unwrap();
    p.client.send_binary(&[1, 2, 3]).unwrap();
    p.server.send_text("back").unwrap();
    p.client.send_ping(b"are you there").unwrap();
    p.pump();
    assert_eq!(
        p.server_events,
        vec![
            Event::Text("hello".into()),
            Event::Binary(Bytes::from_static(&[1, 2, 3])),
            Event::Ping(Bytes::from_static(b"are you there")),
        ]
    );
    assert_eq!(
        p.client_events,
        vec![
            Event::Text("back".into()),
            Event::Pong(Bytes::from_static(b"are you there")),
        ]
    );
}

#[test]
fn fragmented_send_with_interleaved_ping() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.client.send_text_fragment("frag", false).unwrap();
    assert_eq!(
        p.client.send_text("whole"),
        Err(LocalError::FragmentInProgress)
    );
    assert_eq!(
        p.client.send_binary_fragment(b"x", true),
        Err(LocalError::FragmentKindMismatch)
    );
    p.client.send_ping(b"").unwrap();
    p.client.send_text_fragment("mented", true).unwrap();
    p.pump();
    assert_eq!(
        p.server_events,
        vec![Event::Ping(Bytes::new()), Event::Text("fragmented".into())]
    );
}

#[test]
fn close_handshake_started_by_the_client() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.client
        .send_close(p.now, CloseCode::NORMAL, "done")
        .unwrap();
    assert_eq!(p.client.state(), State::CloseSent);
    assert_eq!(p.client.send_text("late"), Err(LocalError::Closing));
    p.pump();
    assert_eq!(
        p.server_events,
        vec![Event::Close(CloseFrame {
            code: CloseCode::NORMAL,
            reason: "done".into()
        })]
    );
    assert_eq!(
        p.client_events,
        vec![Event::Close(CloseFrame {
            code: CloseCode::NORMAL,
            reason: String::new()
        })]
    );
    // The server closes TCP first; the client waits for it.
    assert!(p.server.should_close_transport());
    assert!(!p.client.should_close_transport());
    assert_eq!(p.client.state(), State::HandshakeDone);
    p.client.handle_eof(p.now);
    assert!(p.client.should_close_transport());
    assert_eq!(p.client.state(), State::Closed);
    assert!(p
        .client_events
        .iter()
        .all(|e| !matches!(e, Event::Failed(_))));
}

#[test]
fn close_handshake_started_by_the_server_and_client_transport_deadline() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.server
        .send_close(p.now, CloseCode::GOING_AWAY, "")
        .unwrap();
    p.pump();
    assert_eq!(p.server.state(), State::HandshakeDone);
    assert!(p.server.should_close_transport());
    // The server never closes TCP: the client gives up waiting after close_timeout.
    assert!(!p.client.should_close_transport());
    let deadline = p.client.poll_timeout().unwrap();
    assert_eq!(deadline, p.now + Duration::from_secs(10));
    p.client.handle_timeout(deadline - Duration::from_millis(1));
    assert!(!p.client.should_close_transport());
    p.client.handle_timeout(deadline);
    assert!(p.client.should_close_transport());
}

#[test]
fn close_timeout_when_the_peer_never_answers() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.link_up = false;
    let t0 = p.now;
    p.client.send_close(p.now, CloseCode::NORMAL, "").unwrap();
    p.pump();
    let fired = p.advance_to_next_deadline().unwrap();
    assert_eq!(fired, t0 + Duration::from_secs(10));
    assert_eq!(p.client_events, vec![Event::Failed(Error::CloseTimeout)]);
    assert!(p.client.should_close_transport());
    assert_eq!(p.client.poll_timeout(), None);
}

#[test]
fn heartbeat_keeps_a_live_peer_and_detects_a_dead_one() {
    let hb = Heartbeat::new(Duration::from_secs(5));
    let mut p = Pair::new(Config::default().heartbeat(Some(hb)), Config::default());
    let t0 = p.now;
    // Live peer: the ping at t0+5 is answered at once, the next ping is due at t0+10.
    assert_eq!(
        p.advance_to_next_deadline(),
        Some(t0 + Duration::from_secs(5))
    );
    assert!(matches!(p.server_events[..], [Event::Ping(_)]));
    assert!(matches!(p.client_events[..], [Event::Pong(_)]));
    assert_eq!(p.client.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    // Cut the link: the next ping goes unanswered and the peer is declared dead.
    p.link_up = false;
    assert_eq!(
        p.advance_to_next_deadline(),
        Some(t0 + Duration::from_secs(10))
    );
    assert_eq!(
        p.advance_to_next_deadline(),
        Some(t0 + Duration::from_secs(15))
    );
    assert_eq!(
        p.client_events.last(),
        Some(&Event::Failed(Error::PeerUnresponsive))
    );
    assert!(p.client.should_close_transport());
    assert_eq!(p.client.state(), State::Failed);
}

#[test]
fn eof_before_the_close_handshake_is_abnormal() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.server.handle_eof(p.now);
    assert_eq!(
        p.server.poll_event(),
        Some(Event::Failed(Error::AbnormalClosure))
    );
    assert!(p.server.should_close_transport());
}

#[test]
fn full_handshake_with_deflate_then_messages() {
    let hs = ClientHandshake::new(*b"0123456789abcdef")
        .protocols(["chat", "superchat"])
        .deflate(DeflateConfig {
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        });
    let req = hs.request(Uri::from_static("ws://example.com:8080/chat"));
    assert_eq!(req.headers()["host"], "example.com:8080");
    let upgrade = UpgradeRequest::from_request(&req).unwrap();
    let (resp, server_agreed) = upgrade.accept(&["superchat"], Some(&DeflateConfig::default()));
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    let client_agreed = hs.check_response(resp.status(), resp.headers()).unwrap();
    assert_eq!(client_agreed.protocol.as_deref(), Some("superchat"));
    assert_eq!(server_agreed.protocol.as_deref(), Some("superchat"));
    let (cd, sd) = (
        client_agreed.deflate.unwrap(),
        server_agreed.deflate.unwrap(),
    );
    assert!(cd.client_no_context_takeover && !sd.client_no_context_takeover);
    let mut p = Pair::new(
        Config::default().deflate(Some(cd)),
        Config::default().deflate(Some(sd)),
    );
    let big = "compressible ".repeat(1000);
    for _ in 0..3 {
        p.client.send_text(&big).unwrap();
        p.server.send_text(&big).unwrap();
    }
    p.client.send_binary_fragment(b"part one ", false).unwrap();
    p.client.send_binary_fragment(b"part two", true).unwrap();
    let wire: usize = {
        let mut n = 0;
        let mut moved = Vec::new();
        while let Some(b) = p.client.poll_transmit() {
            n += b.len();
            moved.push(b);
        }
        for b in moved {
            p.server.handle_input(p.now, &b);
        }
        n
    };
    assert!(wire < big.len(), "compressed wire size {wire}");
    p.pump();
    let expected: Vec<Event> = (0..3).map(|_| Event::Text(big.clone())).collect();
    assert_eq!(p.client_events, expected);
    let mut expected = expected;
    expected.push(Event::Binary(Bytes::from_static(b"part one part two")));
    assert_eq!(p.server_events, expected);
}
