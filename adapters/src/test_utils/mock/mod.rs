//! Mocked outgoing requests (Python's aioresponses, done properly): a [`MockServer`] is a
//! [`Connect`] that answers the session's real HTTP/1.1 bytes with canned responses.
//!
//! # Theory of operation
//!
//! The session keeps its whole pipeline: default headers, cookies, redirects,
//! `raise_for_status`, traces, decompression and timeouts run as they do against a real
//! server, because the mock sits *under* them, where TCP would be:
//!
//! ```text
//!   session ── pool ── connect(origin) ──▶ MockServer
//!                        │ a connect-time failure (refused, DNS, connect timeout)
//!                        │ registered for this origin? ──yes──▶ io error ─▶ typed ClientError
//!                        ▼ no
//!                      pipe: client end ◀──▶ server end served by serve.rs with Conn<Server>:
//!                        request parsed ─▶ recorded ─▶ first live mock whose method and URL
//!                        match ─▶ (delay on the runtime's clock) ─▶ response bytes
//!                              └ none ─▶ the client's read fails, naming what was registered
//! ```
//!
//! Mocks are tried in the order they were registered; a used-up mock ([`Times`]) is
//! skipped. A connect-time failure is matched on the origin only (the request is not
//! known yet): exact and prefix patterns by their own origin, regexes against
//! `scheme://host[:port]/`; the method filter does not apply to it.

mod pattern;
mod response;
mod serve;

pub use pattern::UrlPattern;
pub use response::{MockError, MockResponse, Times};

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::{HeaderMap, Method};

use crate::client::{ClientSession, ClientSessionBuilder, Connect, ConnectFuture, ConnectTarget};
use crate::rt::Runtime;
use crate::web::DynRuntime;
use pattern::Matcher;
use response::Reply;

/// A request the mock received.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL, normalised (scheme and host lower case, default port omitted).
    pub url: String,
    /// The headers as sent.
    pub headers: HeaderMap,
    /// The body as sent (after any chunked framing is removed).
    pub body: Bytes,
}

impl RecordedRequest {
    /// The first value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Registered {
    matcher: Matcher,
    reply: Reply,
    times: Times,
    used: usize,
}

#[derive(Default)]
struct State {
    mocks: Vec<Registered>,
    requests: Vec<RecordedRequest>,
    unmatched: Vec<String>,
    connections: usize,
}

pub(crate) struct Inner {
    rt: DynRuntime,
    state: Mutex<State>,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is one step; a poisoned lock still holds consistent lists.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Mocked outgoing requests; see the module doc. Cheap to clone (clones share mocks and
/// records). Put it on a session with [`MockServer::session`] or
/// [`ClientSessionBuilder::connector`].
///
/// ```
/// # #[cfg(feature = "runtime-tokio")] {
/// use sansweb::rt::{Runtime, TokioRuntime};
/// use sansweb::test_utils::{MockResponse, MockServer};
///
/// TokioRuntime::block_on(|rt| async move {
///     let mock = MockServer::new(&rt);
///     mock.get("http://api.test/user").respond(MockResponse::json(&serde_json::json!({"id": 7})));
///     let session = mock.session(rt);
///     let user: serde_json::Value =
///         session.get("http://api.test/user").send().await.unwrap().json().await.unwrap();
///     assert_eq!(user["id"], 7);
///     mock.assert_called_once_with("GET", "http://api.test/user");
/// })
/// .unwrap();
/// # }
/// ```
#[derive(Clone)]
pub struct MockServer {
    inner: Arc<Inner>,
}

/// A mock being registered: say how often, then what it answers.
#[must_use = "a mock is registered by respond() or fail()"]
pub struct MockBuilder<'a> {
    server: &'a MockServer,
    matcher: Matcher,
    times: Times,
}

impl MockBuilder<'_> {
    /// Answers one request (the default).
    pub fn once(mut self) -> Self {
        self.times = Times::Once;
        self
    }

    /// Answers `n` requests.
    pub fn times(mut self, n: usize) -> Self {
        self.times = Times::N(n);
        self
    }

    /// Answers every request.
    pub fn forever(mut self) -> Self {
        self.times = Times::Forever;
        self
    }

    /// Registers: matching requests get `response`.
    pub fn respond(self, response: MockResponse) {
        self.register(Reply::Response(response));
    }

    /// Registers: matching requests (or connections, see [`MockError`]) fail.
    pub fn fail(self, error: MockError) {
        self.register(Reply::Error(error));
    }

    fn register(self, reply: Reply) {
        self.server.inner.lock().mocks.push(Registered {
            matcher: self.matcher,
            reply,
            times: self.times,
            used: 0,
        });
    }
}

impl MockServer {
    /// A mock with nothing registered; delays run on `rt`'s clock.
    pub fn new<R: Runtime>(rt: &R) -> Self {
        Self {
            inner: Arc::new(Inner {
                rt: DynRuntime::new(rt.clone()),
                state: Mutex::default(),
            }),
        }
    }

    /// A session (aiohttp's defaults) whose every connection goes to this mock.
    pub fn session<R: Runtime>(&self, rt: R) -> ClientSession<R> {
        self.session_builder(rt)
            .build()
            .expect("a session with only a connector always builds")
    }

    /// A session builder with this mock as its connector, for more settings.
    pub fn session_builder<R: Runtime>(&self, rt: R) -> ClientSessionBuilder<R> {
        ClientSession::builder_with_runtime(rt).connector(self.clone())
    }

    /// Starts a mock for requests with `method` (any method if `None`) whose URL
    /// matches `url` (a `&str` is an exact URL; see [`UrlPattern`]).
    pub fn on(&self, method: Option<Method>, url: impl Into<UrlPattern>) -> MockBuilder<'_> {
        MockBuilder {
            server: self,
            matcher: Matcher {
                method,
                url: url.into(),
            },
            times: Times::Once,
        }
    }

    /// A mock for GET requests to `url`.
    pub fn get(&self, url: impl Into<UrlPattern>) -> MockBuilder<'_> {
        self.on(Some(Method::GET), url)
    }
    /// A mock for POST requests to `url`.
    pub fn post(&self, url: impl Into<UrlPattern>) -> MockBuilder<'_> {
        self.on(Some(Method::POST), url)
    }
    /// A mock for PUT requests to `url`.
    pub fn put(&self, url: impl Into<UrlPattern>) -> MockBuilder<'_> {
        self.on(Some(Method::PUT), url)
    }
    /// A mock for DELETE requests to `url`.
    pub fn delete(&self, url: impl Into<UrlPattern>) -> MockBuilder<'_> {
        self.on(Some(Method::DELETE), url)
    }
    /// A mock for requests with any method to `url`.
    pub fn any(&self, url: impl Into<UrlPattern>) -> MockBuilder<'_> {
        self.on(None, url)
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().requests.clone()
    }

    /// The requests received with `method` to exactly `url` (normalised).
    pub fn calls(&self, method: &str, url: &str) -> Vec<RecordedRequest> {
        let url = pattern::normalise(url);
        self.inner
            .lock()
            .requests
            .iter()
            .filter(|r| r.method.as_str().eq_ignore_ascii_case(method) && r.url == url)
            .cloned()
            .collect()
    }

    /// Connections the session opened to the mock (refused ones excluded).
    pub fn connections_opened(&self) -> usize {
        self.inner.lock().connections
    }

    /// The error messages of requests no mock matched.
    pub fn unmatched(&self) -> Vec<String> {
        self.inner.lock().unmatched.clone()
    }

    /// The last request with `method` to `url`.
    ///
    /// # Panics
    /// When there was none, listing the requests received.
    pub fn assert_called_with(&self, method: &str, url: &str) -> RecordedRequest {
        match self.calls(method, url).pop() {
            Some(r) => r,
            None => panic!(
                "expected a request {} {}; received:\n{}",
                method.to_ascii_uppercase(),
                pattern::normalise(url),
                self.describe_requests()
            ),
        }
    }

    /// The one request with `method` to `url`.
    ///
    /// # Panics
    /// When there was not exactly one, listing the requests received.
    pub fn assert_called_once_with(&self, method: &str, url: &str) -> RecordedRequest {
        let mut calls = self.calls(method, url);
        if calls.len() != 1 {
            panic!(
                "expected one request {} {}, got {}; received:\n{}",
                method.to_ascii_uppercase(),
                pattern::normalise(url),
                calls.len(),
                self.describe_requests()
            );
        }
        calls.remove(0)
    }

    /// # Panics
    /// When a request with `method` to `url` was received.
    pub fn assert_not_called(&self, method: &str, url: &str) {
        let n = self.calls(method, url).len();
        assert!(
            n == 0,
            "expected no request {} {}, got {n}",
            method.to_ascii_uppercase(),
            pattern::normalise(url)
        );
    }

    /// # Panics
    /// When a mock registered for a fixed number of requests was not used up (a mock
    /// registered `forever` needs no call).
    pub fn assert_all_called(&self) {
        let st = self.inner.lock();
        let left: Vec<String> = st
            .mocks
            .iter()
            .filter(|m| m.times != Times::Forever && m.times.allows(m.used))
            .map(|m| {
                format!(
                    "  {} -> {} ({}, used {})",
                    m.matcher, m.reply, m.times, m.used
                )
            })
            .collect();
        assert!(left.is_empty(), "mocks not used up:\n{}", left.join("\n"));
    }

    fn describe_requests(&self) -> String {
        let st = self.inner.lock();
        if st.requests.is_empty() {
            return "  (none)".into();
        }
        st.requests
            .iter()
            .map(|r| format!("  {} {}", r.method, r.url))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Finds the reply for a request, records it; `Err(message)` when nothing matches.
    pub(crate) fn answer(&self, request: RecordedRequest) -> Result<Reply, String> {
        let mut st = self.inner.lock();
        let found = st
            .mocks
            .iter_mut()
            .find(|m| m.times.allows(m.used) && m.matcher.matches(&request.method, &request.url));
        let reply = match found {
            // A connect-time failure found at request time (a reused connection, or a
            // regex that did not match the bare origin): the connection is dropped
            // unanswered and not counted, so a retry on a new connection meets it.
            Some(m) if matches!(m.reply, Reply::Error(e) if e.at_connect()) => {
                Ok(Reply::Error(MockError::Disconnect))
            }
            Some(m) => {
                m.used += 1;
                Ok(m.reply.clone())
            }
            None => {
                let mut msg = format!(
                    "no mock matches {} {}; registered:",
                    request.method, request.url
                );
                if st.mocks.is_empty() {
                    msg.push_str(" (nothing)");
                }
                for m in &st.mocks {
                    let _ = write!(
                        msg,
                        "\n  {} -> {} ({}, used {})",
                        m.matcher, m.reply, m.times, m.used
                    );
                }
                st.unmatched.push(msg.clone());
                Err(msg)
            }
        };
        st.requests.push(request);
        reply
    }

    /// A connect-time failure registered for `origin`, used up by this call.
    fn connect_failure(&self, origin: &str) -> Option<MockError> {
        let mut st = self.inner.lock();
        let m = st.mocks.iter_mut().find(|m| {
            matches!(m.reply, Reply::Error(e) if e.at_connect())
                && m.times.allows(m.used)
                && m.matcher.url.matches_origin(origin)
        })?;
        m.used += 1;
        match m.reply {
            Reply::Error(e) => Some(e),
            Reply::Response(_) => None,
        }
    }
}

impl Connect for MockServer {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let origin = pattern::normalise(&format!("{}/", target.origin()));
        if let Some(error) = self.connect_failure(&origin) {
            return Box::pin(std::future::ready(Err(error.io_error(&origin))));
        }
        self.inner.lock().connections += 1;
        let (client, server) = super::pipe::pipe(super::pipe::DEFAULT_PIPE_CAPACITY);
        let rt = self.inner.rt.clone();
        rt.spawn(Box::pin(serve::serve(
            self.clone(),
            target.scheme.clone(),
            server,
        )));
        Box::pin(std::future::ready(Ok(
            Box::new(client) as Box<dyn crate::rt::Stream>
        )))
    }
}

impl MockServer {
    pub(crate) fn runtime(&self) -> &DynRuntime {
        &self.inner.rt
    }
}
