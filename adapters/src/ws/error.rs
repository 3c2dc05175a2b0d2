//! [`WsError`]: everything a WebSocket call can fail with, saying who is at fault.

use std::fmt;
use std::io;

use sansweb_core::ws::{Error as CoreError, HandshakeError, LocalError};

/// A WebSocket error.
#[derive(Debug)]
#[non_exhaustive]
pub enum WsError {
    /// The URL is not a usable `ws://` URL (local).
    InvalidUrl(String),
    /// The opening handshake was refused or answered wrongly (by the peer; for a server,
    /// the client's request was not a valid upgrade).
    Handshake(HandshakeError),
    /// The HTTP exchange of the opening handshake failed (malformed response, ...).
    Http(sansweb_core::h1::Error),
    /// The opening handshake did not finish in time.
    HandshakeTimeout,
    /// The connection failed: the peer broke the protocol, did not answer our close or the
    /// heartbeat in time, or closed TCP without a close handshake.
    Connection(CoreError),
    /// We misused the protocol (bad close code, control payload over 125 bytes, ...);
    /// nothing was sent.
    Local(LocalError),
    /// The connection is closing or closed: nothing more can be sent.
    Closed,
    /// No message arrived within the receive timeout (the connection stays open).
    ReceiveTimeout,
    /// `receive_str`/`receive_bytes`/`receive_json` got another kind of message.
    UnexpectedMessage {
        /// What the call wanted.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// A JSON message did not decode, or a value did not encode.
    Json(serde_json::Error),
    /// The transport failed (connect, read or write).
    Io(io::Error),
    /// Connecting through a client session failed (DNS, TCP, proxy, TLS, the session's
    /// connect timeout), or the session's settings are unusable.
    Client(crate::client::ClientError),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::InvalidUrl(u) => write!(f, "local: invalid WebSocket URL: {u}"),
            WsError::Handshake(e) => write!(f, "WebSocket handshake failed: {e}"),
            WsError::Http(e) => write!(f, "WebSocket handshake HTTP error: {e}"),
            WsError::HandshakeTimeout => f.write_str("WebSocket handshake timed out"),
            WsError::Connection(e) => write!(f, "WebSocket connection failed: {e}"),
            WsError::Local(e) => write!(f, "local: {e}"),
            WsError::Closed => f.write_str("local: the WebSocket is closing or closed"),
            WsError::ReceiveTimeout => {
                f.write_str("no WebSocket message within the receive timeout")
            }
            WsError::UnexpectedMessage { expected, got } => {
                write!(f, "expected a {expected} message, received {got}")
            }
            WsError::Json(e) => write!(f, "JSON: {e}"),
            WsError::Io(e) => write!(f, "transport: {e}"),
            WsError::Client(e) => write!(f, "connecting: {e}"),
        }
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WsError::Handshake(e) => Some(e),
            WsError::Http(e) => Some(e),
            WsError::Connection(e) => Some(e),
            WsError::Local(e) => Some(e),
            WsError::Json(e) => Some(e),
            WsError::Io(e) => Some(e),
            WsError::Client(e) => Some(e),
            _ => None,
        }
    }
}

impl From<LocalError> for WsError {
    fn from(e: LocalError) -> Self {
        match e {
            LocalError::Closing => WsError::Closed,
            other => WsError::Local(other),
        }
    }
}

impl From<io::Error> for WsError {
    fn from(e: io::Error) -> Self {
        WsError::Io(e)
    }
}

impl From<HandshakeError> for WsError {
    fn from(e: HandshakeError) -> Self {
        WsError::Handshake(e)
    }
}

impl From<serde_json::Error> for WsError {
    fn from(e: serde_json::Error) -> Self {
        WsError::Json(e)
    }
}
