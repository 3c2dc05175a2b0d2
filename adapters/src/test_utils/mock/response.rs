//! What a mock answers: a response, or a failure of the connection.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};

/// A canned response (aioresponses' `status`, `headers`, `body`, `payload`, `reason`).
///
/// ```
/// use sansweb::test_utils::MockResponse;
/// let r = MockResponse::json(&serde_json::json!({"ok": true}))
///     .status(201)
///     .header("x-id", "7")
///     .delay(std::time::Duration::from_millis(5));
/// assert_eq!(r.status_code(), 201);
/// ```
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub(crate) status: StatusCode,
    pub(crate) reason: Option<String>,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
    pub(crate) delay: Option<Duration>,
}

impl Default for MockResponse {
    fn default() -> Self {
        Self::new()
    }
}

impl MockResponse {
    /// `200 OK` with an empty body.
    pub fn new() -> Self {
        Self {
            status: StatusCode::OK,
            reason: None,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: None,
        }
    }

    /// `200 OK` with `body` as `text/plain; charset=utf-8`.
    pub fn text(body: impl Into<String>) -> Self {
        Self::new()
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.into())
    }

    /// `200 OK` with `value` serialised as `application/json`.
    ///
    /// # Panics
    /// When `value` cannot be serialised (a map with non-string keys): test set-up.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("mock response: value is not JSON");
        Self::new()
            .header("content-type", "application/json")
            .body(body)
    }

    /// Sets the status code.
    ///
    /// # Panics
    /// When `status` is not in 100..=999: test set-up.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = StatusCode::from_u16(status).expect("mock response: bad status");
        self
    }

    /// Sets the reason phrase (the canonical one by default).
    #[must_use]
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Adds a header (repeat for several values, e.g. `set-cookie`).
    ///
    /// # Panics
    /// On an invalid name or value: test set-up.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((
            HeaderName::from_bytes(name.as_bytes()).expect("mock response: bad header name"),
            HeaderValue::from_str(value).expect("mock response: bad header value"),
        ));
        self
    }

    /// Sets the body (sent with a `Content-Length`).
    #[must_use]
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits this long (on the runtime's clock) after the request arrived before the
    /// response head is sent: client timeouts fire against it.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// The status code.
    pub fn status_code(&self) -> u16 {
        self.status.as_u16()
    }
}

/// A failure instead of a response; each becomes the client error a real network
/// failure gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MockError {
    /// The connection is refused: `ClientError::Connector { kind: Refused, .. }`.
    ConnectionRefused,
    /// The name does not resolve: `ClientError::Connector { kind: Dns, .. }`.
    Dns,
    /// Connecting times out: `ClientError::Timeout { kind: SockConnect, .. }`.
    ConnectTimeout,
    /// The server reads the request and closes without answering:
    /// `ClientError::ServerDisconnected { response_started: false }`.
    Disconnect,
}

impl MockError {
    /// Whether it happens when connecting (before any request is sent).
    pub(crate) fn at_connect(self) -> bool {
        !matches!(self, MockError::Disconnect)
    }

    pub(crate) fn io_error(self, origin: &str) -> std::io::Error {
        use std::io::{Error, ErrorKind};
        match self {
            MockError::ConnectionRefused => Error::new(
                ErrorKind::ConnectionRefused,
                format!("mock: {origin} refused"),
            ),
            MockError::Dns => Error::new(
                ErrorKind::NotFound,
                format!("mock: {origin} does not resolve"),
            ),
            MockError::ConnectTimeout => Error::new(
                ErrorKind::TimedOut,
                format!("mock: connecting to {origin} timed out"),
            ),
            MockError::Disconnect => Error::new(ErrorKind::ConnectionReset, "mock: disconnected"),
        }
    }
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MockError::ConnectionRefused => "connection refused",
            MockError::Dns => "DNS failure",
            MockError::ConnectTimeout => "connect timeout",
            MockError::Disconnect => "disconnect",
        })
    }
}

/// How many requests a mock answers before it is used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// One request (the default, as aioresponses' `repeat=False`).
    Once,
    /// This many requests.
    N(usize),
    /// Every request (`repeat=True`).
    Forever,
}

impl Times {
    pub(crate) fn allows(self, used: usize) -> bool {
        match self {
            Times::Once => used < 1,
            Times::N(n) => used < n,
            Times::Forever => true,
        }
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Times::Once => f.write_str("once"),
            Times::N(n) => write!(f, "{n} times"),
            Times::Forever => f.write_str("forever"),
        }
    }
}

/// A response or a failure.
#[derive(Debug, Clone)]
pub(crate) enum Reply {
    Response(MockResponse),
    Error(MockError),
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Response(r) => write!(f, "{}", r.status.as_u16()),
            Reply::Error(e) => write!(f, "{e}"),
        }
    }
}
