//! Connection settings, with aiohttp's defaults.

use std::time::Duration;

use super::deflate::DeflateParams;

/// Default largest message (and frame): 4 MiB, aiohttp's `max_msg_size`.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// Default close-handshake timeout: 10 s, aiohttp's `timeout` for `close()`.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of one [`WebSocket`](super::WebSocket).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest message accepted, after reassembly and after decompression. A frame header
    /// declaring a length that would exceed it fails the connection with 1009 before the
    /// payload is read.
    pub max_message_size: usize,
    /// Largest single frame accepted (1009 beyond it).
    pub max_frame_size: usize,
    /// Answer every ping with a pong automatically (the event is still reported).
    pub autoping: bool,
    /// How long to wait for the peer's close after ours, and (client role) for the
    /// server to close the transport after the handshake.
    pub close_timeout: Duration,
    /// Optional keep-alive: ping the peer when it has been silent, declare it dead when it
    /// stays silent.
    pub heartbeat: Option<Heartbeat>,
    /// The negotiated permessage-deflate parameters, if the handshake agreed on them
    /// (from [`handshake`](super::handshake)).
    pub deflate: Option<DeflateParams>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            max_frame_size: DEFAULT_MAX_MESSAGE_SIZE,
            autoping: true,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            heartbeat: None,
            deflate: None,
        }
    }
}

impl Config {
    /// Sets the largest message and the largest frame to `limit`.
    #[must_use]
    pub fn max_message_size(mut self, limit: usize) -> Self {
        self.max_message_size = limit;
        self.max_frame_size = limit;
        self
    }

    /// Sets the heartbeat.
    #[must_use]
    pub fn heartbeat(mut self, heartbeat: Option<Heartbeat>) -> Self {
        self.heartbeat = heartbeat;
        self
    }

    /// Sets the negotiated permessage-deflate parameters.
    #[must_use]
    pub fn deflate(mut self, deflate: Option<DeflateParams>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Sets autoping.
    #[must_use]
    pub fn autoping(mut self, on: bool) -> Self {
        self.autoping = on;
        self
    }

    /// Sets the close timeout.
    #[must_use]
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }
}

/// Keep-alive pings: after `interval` without receiving anything, send a ping; if nothing
/// arrives within `timeout` of that ping, the peer is declared dead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Silence before a ping is sent.
    pub interval: Duration,
    /// Silence after the ping before the peer is declared dead.
    pub timeout: Duration,
}

impl Heartbeat {
    /// A heartbeat whose timeout equals its interval.
    #[must_use]
    pub fn new(interval: Duration) -> Self {
        Heartbeat {
            interval,
            timeout: interval,
        }
    }
}
