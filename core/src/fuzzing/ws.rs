//! WebSocket frame fuzzing: arbitrary bytes into both roles, with and without
//! permessage-deflate.

use std::time::{Duration, Instant};

use crate::ws::{Config, DeflateParams, Event, SeededMaskKeys, WebSocket};

/// Small limits keep each run's memory bounded (a bomb stops at 64 KiB + one step).
const FUZZ_MAX_MESSAGE: usize = 64 * 1024;

/// Feeds `data` to a server-role and a client-role [`WebSocket`], each with and without
/// permessage-deflate, first whole and then in 7-byte pieces. Any input must give events
/// or a protocol error, never a panic; the events must not depend on how input is split.
pub fn ws_frames(data: &[u8]) {
    // The fuzz harness needs one base instant; the core itself never reads the clock.
    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let deflate = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: true,
        server_max_window_bits: 15,
        client_max_window_bits: 15,
        compression_level: 1,
    };
    for with_deflate in [false, true] {
        for server in [true, false] {
            let config = Config::default()
                .max_message_size(FUZZ_MAX_MESSAGE)
                .deflate(with_deflate.then_some(deflate));
            let whole = run(server, &config, t0, data, data.len().max(1));
            let split = run(server, &config, t0, data, 7);
            assert_eq!(whole, split, "events depend on how input is split");
        }
    }
}

fn run(server: bool, config: &Config, t0: Instant, data: &[u8], piece: usize) -> Vec<Event> {
    let mut ws = if server {
        WebSocket::server(config.clone(), t0)
    } else {
        WebSocket::client(config.clone(), SeededMaskKeys::new(*b"fuzzseed"), t0)
    };
    let mut events = Vec::new();
    let mut out_bytes = 0usize;
    for chunk in data.chunks(piece) {
        ws.handle_input(t0, chunk);
        while let Some(e) = ws.poll_event() {
            events.push(e);
        }
        while let Some(b) = ws.poll_transmit() {
            out_bytes += b.len();
        }
    }
    // Replies (pongs, echoes) never outgrow what came in plus a few headers per frame.
    assert!(
        out_bytes <= data.len() * 3 + 64,
        "{out_bytes} bytes out for {} in",
        data.len()
    );
    let _ = ws.send_text("after");
    ws.handle_eof(t0);
    ws.handle_timeout(t0 + Duration::from_secs(60));
    while let Some(e) = ws.poll_event() {
        events.push(e);
    }
    while ws.poll_transmit().is_some() {}
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_seeds() {
        let seeds: &[&[u8]] = &[
            b"",
            b"\x81\x05Hello",
            b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
            b"\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00",
            b"\xc1\x87\x01\x02\x03\x04\xf3\x4a\xce\xcd\xc8\x05\x03",
            b"\x01\x03abc\x89\x00\x80\x02de",
            b"\x88\x02\x03\xe8\x81\x00",
            b"\x82\x7f\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\x82\x7f\x00\x00\x00\x00\x00\x10\x00\x00",
        ];
        for s in seeds {
            ws_frames(s);
        }
        // A cheap deterministic sweep of garbage.
        let mut x: u32 = 1;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            ws_frames(&bytes);
        }
    }
}
