//! The connector hook: who opens a session's byte streams.
//!
//! By default a session opens TCP (through its proxy, then TLS for `https`). A
//! [`Connect`] set with
//! [`ClientSessionBuilder::connector`](super::ClientSessionBuilder::connector) replaces
//! all of that: the pool asks it for a stream per new connection and then speaks plain
//! HTTP/1.1 over whatever comes back. That is how the test utilities serve an app in
//! memory, mock outgoing requests and record exchanges, with the session's whole pipeline
//! (pool, cookies, redirects, timeouts, decompression, traces) unchanged above it.
//!
//! Errors map as TCP errors do: `ConnectionRefused` becomes
//! [`ConnectorKind::Refused`](super::ConnectorKind::Refused), a reset becomes `Reset`,
//! `NotFound` becomes `Dns`, and `TimedOut` becomes a
//! [`ClientError::Timeout`](super::ClientError::Timeout) of kind `SockConnect`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;

use super::error::{ClientError, ConnectorKind, TimeoutKind};
use crate::rt::Stream;

/// Where a new connection must go: the request URL's origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectTarget {
    /// `http` or `https`.
    pub scheme: String,
    /// The host as in the URL (IPv6 literals keep their brackets).
    pub host: String,
    /// The port (the scheme's default when the URL has none).
    pub port: u16,
}

impl ConnectTarget {
    /// `scheme://host:port`, the origin as a string.
    pub fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }
}

impl fmt::Display for ConnectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// What [`Connect::connect`] returns: a boxed future of a boxed stream.
pub type ConnectFuture =
    Pin<Box<dyn Future<Output = io::Result<Box<dyn Stream>>> + Send + 'static>>;

/// Opens the byte stream of a new connection (replaces TCP, proxy and TLS).
///
/// ```
/// use sansweb::client::{Connect, ConnectFuture, ConnectTarget};
/// use std::io;
///
/// /// Refuses everything: a session that must never reach the network.
/// struct Offline;
/// impl Connect for Offline {
///     fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
///         let why = format!("offline: {target}");
///         Box::pin(async move { Err(io::Error::new(io::ErrorKind::ConnectionRefused, why)) })
///     }
/// }
/// ```
pub trait Connect: Send + Sync + 'static {
    /// A stream to `target` speaking plain HTTP/1.1 (any TLS is the connector's job).
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture;
}

impl<C: Connect + ?Sized> Connect for std::sync::Arc<C> {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        (**self).connect(target)
    }
}

/// Runs `connector` for `target`, mapping its error as a TCP connect error is mapped.
pub(crate) async fn connect_with(
    connector: &dyn Connect,
    target: ConnectTarget,
) -> Result<Box<dyn Stream>, ClientError> {
    let host_port = format!("{}:{}", target.host, target.port);
    connector
        .connect(&target)
        .await
        .map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut => ClientError::Timeout {
                kind: TimeoutKind::SockConnect,
                request_sent: false,
            },
            io::ErrorKind::NotFound => ClientError::Connector {
                kind: ConnectorKind::Dns,
                host: host_port.clone(),
                source: e,
            },
            _ => ClientError::connect(&host_port, e),
        })
}
