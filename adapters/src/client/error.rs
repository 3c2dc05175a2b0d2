//! One error type for everything a client request can fail with (aiohttp's
//! `ClientError` hierarchy, as one enum).
//!
//! Each variant says who failed (the network, the peer, our own policy) and
//! [`ClientError::may_have_reached_server`] says whether retrying could repeat a side
//! effect: only errors raised before any byte of the request was written are safe.

use std::fmt;
use std::io;

use http::{HeaderMap, StatusCode};
use url::Url;

pub use sansweb_core::client::TimeoutKind;

/// What failed while opening a connection (aiohttp's `ClientConnectorError` family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectorKind {
    /// The host name did not resolve (`ClientConnectorDNSError`).
    Dns,
    /// The server refused the connection (nothing listens on the port).
    Refused,
    /// The connection was reset or aborted while being set up.
    Reset,
    /// The TLS handshake failed (`ClientConnectorSSLError` / certificate errors).
    Tls,
    /// The proxy refused the tunnel or answered badly.
    Proxy,
    /// Another OS error while connecting (unreachable network, ...).
    Other,
}

impl fmt::Display for ConnectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectorKind::Dns => "name resolution failed",
            ConnectorKind::Refused => "connection refused",
            ConnectorKind::Reset => "connection reset during set-up",
            ConnectorKind::Tls => "TLS handshake failed",
            ConnectorKind::Proxy => "proxy refused the connection",
            ConnectorKind::Other => "cannot connect",
        })
    }
}

/// The redirects followed before the response an error is about, oldest first.
pub type History = Vec<(StatusCode, Url)>;

/// A 4xx/5xx response turned into an error (aiohttp's `ClientResponseError`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResponseError {
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase.
    pub message: String,
    /// The response headers.
    pub headers: HeaderMap,
    /// The redirects followed before it.
    pub history: History,
    /// The URL that answered.
    pub url: Url,
}

/// Why a client request failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// A connection to `host:port` could not be opened (network or TLS): the request
    /// was never sent.
    Connector {
        /// What failed.
        kind: ConnectorKind,
        /// `host:port` we tried to reach.
        host: String,
        /// The OS or TLS error.
        source: io::Error,
    },
    /// The server closed the connection before the response was complete (peer).
    ServerDisconnected {
        /// Whether any byte of the response had arrived.
        response_started: bool,
    },
    /// A socket error after the connection was open (reset mid-request, ...).
    Io(io::Error),
    /// The response (head or body) broke HTTP/1.1, or its body could not be decoded
    /// (aiohttp's `ClientPayloadError`), or it exceeded a local size cap.
    Payload(String),
    /// The server answered 4xx/5xx and `raise_for_status` was on
    /// (aiohttp's `ClientResponseError`).
    Response(Box<ResponseError>),
    /// More redirects than allowed (local policy).
    TooManyRedirects {
        /// The limit.
        max: usize,
        /// The redirects followed.
        history: History,
    },
    /// A redirect that cannot be followed (bad `Location`, non-HTTP target, body not
    /// replayable, refused downgrade).
    Redirect(sansweb_core::client::RedirectError),
    /// The URL cannot be requested (not absolute, not http/https, no host, ...).
    InvalidUrl(String),
    /// A deadline of [`ClientTimeout`](sansweb_core::client::ClientTimeout) passed.
    Timeout {
        /// Which one.
        kind: TimeoutKind,
        /// Whether the request had been (at least partly) written when it fired.
        request_sent: bool,
    },
    /// The streamed request body failed (local) after the head was sent.
    RequestBody(io::Error),
    /// The request could not be built (invalid header, body serialisation failed, ...).
    Request(String),
    /// The response body is not valid for what was asked (`json()` on bad JSON,
    /// `text()` with an unknown charset).
    Decode(String),
}

impl ClientError {
    /// Whether the server may have seen (part of) the request, so that sending it again
    /// could repeat a side effect. `false` only when nothing was written.
    #[must_use]
    pub fn may_have_reached_server(&self) -> bool {
        match self {
            ClientError::Connector { .. }
            | ClientError::InvalidUrl(_)
            | ClientError::Request(_) => false,
            ClientError::Timeout { request_sent, .. } => *request_sent,
            _ => true,
        }
    }

    /// The status code, for [`ClientError::Response`].
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Response(e) => Some(e.status),
            _ => None,
        }
    }

    /// Whether this is a timeout (of any kind).
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        matches!(self, ClientError::Timeout { .. })
    }

    /// Whether opening the connection failed.
    #[must_use]
    pub fn is_connector(&self) -> bool {
        matches!(self, ClientError::Connector { .. })
    }

    /// Classifies an error from connecting a socket to `host`.
    pub(crate) fn connect(host: &str, source: io::Error) -> Self {
        let kind = match source.kind() {
            io::ErrorKind::ConnectionRefused => ConnectorKind::Refused,
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => {
                ConnectorKind::Reset
            }
            _ => ConnectorKind::Other,
        };
        ClientError::Connector {
            kind,
            host: host.to_owned(),
            source,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connector { kind, host, source } => {
                write!(f, "cannot connect to {host}: {kind}: {source}")
            }
            ClientError::ServerDisconnected { response_started } => {
                if *response_started {
                    f.write_str("server disconnected before the response was complete")
                } else {
                    f.write_str("server disconnected without sending a response")
                }
            }
            ClientError::Io(e) => write!(f, "connection error: {e}"),
            ClientError::Payload(why) => write!(f, "response payload error: {why}"),
            ClientError::Response(e) => write!(
                f,
                "{}, message={:?}, url={}",
                e.status.as_u16(),
                e.message,
                e.url
            ),
            ClientError::TooManyRedirects { max, history } => {
                let last = history.last().map(|(_, u)| u.as_str()).unwrap_or("");
                write!(f, "too many redirects (max {max}), last from {last}")
            }
            ClientError::Redirect(e) => write!(f, "redirect not followed: {e}"),
            ClientError::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            ClientError::Timeout { kind, .. } => write!(f, "{kind}"),
            ClientError::Request(why) => write!(f, "invalid request (local): {why}"),
            ClientError::RequestBody(e) => write!(f, "request body stream failed (local): {e}"),
            ClientError::Decode(why) => write!(f, "cannot decode response body: {why}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connector { source, .. } => Some(source),
            ClientError::Io(e) | ClientError::RequestBody(e) => Some(e),
            ClientError::Redirect(e) => Some(e),
            ClientError::Timeout { kind, .. } => Some(kind),
            _ => None,
        }
    }
}
