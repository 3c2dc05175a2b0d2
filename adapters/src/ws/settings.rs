//! Options shared by the client ([`WsConnect`](super::WsConnect)) and the server
//! ([`WebSocketResponse`](super::WebSocketResponse)), with aiohttp's defaults.

use std::time::Duration;

use sansweb_core::ws::config::{DEFAULT_CLOSE_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE};
use sansweb_core::ws::{Config, DeflateParams, Heartbeat};

/// Senders wait while more than this many bytes are queued but not yet written.
pub const SEND_HIGH_WATER: usize = 1024 * 1024;
/// A sender yields to the executor each time this many more bytes are queued, so the
/// socket task writes them while the sender goes on: on a one-thread executor a sender
/// that never yields would encode a whole `SEND_HIGH_WATER` before the first byte
/// leaves, and the peer idles meanwhile.
pub(crate) const SEND_BATCH: usize = 64 * 1024;
/// The socket task stops reading while this many messages wait to be received...
pub(crate) const RECV_QUEUE_MESSAGES: usize = 64;
/// ...or this many bytes.
pub(crate) const RECV_QUEUE_BYTES: usize = 1024 * 1024;

/// Connection options common to both roles.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) heartbeat: Option<Duration>,
    pub(crate) autoping: bool,
    pub(crate) max_msg_size: usize,
    pub(crate) receive_timeout: Option<Duration>,
    pub(crate) close_timeout: Duration,
    pub(crate) compress: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            heartbeat: None,
            autoping: true,
            max_msg_size: DEFAULT_MAX_MESSAGE_SIZE,
            receive_timeout: None,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            compress: true,
        }
    }
}

impl Settings {
    /// The core's configuration once the handshake agreed on `deflate`.
    pub(crate) fn core_config(&self, deflate: Option<DeflateParams>) -> Config {
        // aiohttp: a ping every `heartbeat`, the peer is dead if no pong within half of it.
        let heartbeat = self.heartbeat.map(|interval| Heartbeat {
            interval,
            timeout: interval / 2,
        });
        // aiohttp: max_msg_size=0 means no limit.
        let max = if self.max_msg_size == 0 {
            usize::MAX
        } else {
            self.max_msg_size
        };
        Config::default()
            .max_message_size(max)
            .autoping(self.autoping)
            .close_timeout(self.close_timeout)
            .heartbeat(heartbeat)
            .deflate(deflate)
    }
}

/// Builder methods shared by the two option types (one definition, two impls).
macro_rules! settings_builders {
    ($ty:ty) => {
        impl $ty {
            /// Compress messages with permessage-deflate when the peer agrees (default on).
            #[must_use]
            pub fn compress(mut self, on: bool) -> Self {
                self.settings.compress = on;
                self
            }

            /// Ping the peer every `interval` and declare it dead when no pong (or any
            /// frame) arrives within half of it (aiohttp's `heartbeat`). Default: none.
            #[must_use]
            pub fn heartbeat(mut self, interval: std::time::Duration) -> Self {
                self.settings.heartbeat = Some(interval);
                self
            }

            /// Answer pings automatically and hide pings and pongs from `receive`
            /// (default on, aiohttp's `autoping`).
            #[must_use]
            pub fn autoping(mut self, on: bool) -> Self {
                self.settings.autoping = on;
                self
            }

            /// Largest message accepted (default 4 MiB; 0 means no limit, like aiohttp).
            /// A bigger one fails the connection with close code 1009.
            #[must_use]
            pub fn max_msg_size(mut self, bytes: usize) -> Self {
                self.settings.max_msg_size = bytes;
                self
            }

            /// How long `receive` waits for a message before returning
            /// `WsMessage::Error(WsError::ReceiveTimeout)`. Default: forever.
            #[must_use]
            pub fn receive_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.settings.receive_timeout = Some(timeout);
                self
            }

            /// How long `close` waits for the peer's close frame (default 10 s).
            #[must_use]
            pub fn close_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.settings.close_timeout = timeout;
                self
            }
        }
    };
}
pub(crate) use settings_builders;
