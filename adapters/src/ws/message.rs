//! What [`receive`](super::WebSocket::receive) returns.

use bytes::Bytes;
use sansweb_core::ws::CloseCode;

use super::WsError;

/// One thing received on a WebSocket (aiohttp's `WSMessage`, typed).
#[derive(Debug)]
#[non_exhaustive]
pub enum WsMessage {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// A ping (only with autoping off; with autoping the core answers and hides it).
    Ping(Bytes),
    /// A pong (only with autoping off, like aiohttp).
    Pong(Bytes),
    /// The peer started the close handshake; our echo is already sent. Next: `Closed`.
    Close {
        /// The peer's close code (1005 when its close frame had none).
        code: CloseCode,
        /// The peer's reason.
        reason: String,
    },
    /// We started the close handshake and it has not finished yet.
    Closing,
    /// The connection is closed; nothing more will come.
    Closed,
    /// The connection failed (protocol error by the peer, dead peer, transport error), or
    /// the receive timeout elapsed (the connection then stays open).
    Error(WsError),
}

impl WsMessage {
    /// A short name of the variant, for errors and logs.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            WsMessage::Text(_) => "text",
            WsMessage::Binary(_) => "binary",
            WsMessage::Ping(_) => "ping",
            WsMessage::Pong(_) => "pong",
            WsMessage::Close { .. } => "close",
            WsMessage::Closing => "closing",
            WsMessage::Closed => "closed",
            WsMessage::Error(_) => "error",
        }
    }

    /// Whether this ends the message stream (aiohttp's `async for` stops on these).
    #[must_use]
    pub fn is_end(&self) -> bool {
        matches!(
            self,
            WsMessage::Close { .. } | WsMessage::Closing | WsMessage::Closed
        )
    }

    /// Bytes this message holds (for the receive queue's bound).
    pub(crate) fn weight(&self) -> usize {
        match self {
            WsMessage::Text(t) => t.len(),
            WsMessage::Binary(b) | WsMessage::Ping(b) | WsMessage::Pong(b) => b.len(),
            _ => 0,
        }
    }
}
