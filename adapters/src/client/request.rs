//! [`RequestBuilder`]: one request's overrides, and the exchange loop that sends it.
//!
//! # Theory of operation
//!
//! ```text
//!  send ─▶ Redirects(current) ─▶ exchange ─┬─▶ head ─▶ store Set-Cookie ─▶ redirect? ─┐
//!                ▲                          │                                          │
//!                └──── follow (body drained, connection back to the pool) ◀───────────┘
//!  exchange (request/exchange.rs): acquire ─▶ write head (+Cookie) ─▶ [100-continue
//!            wait] ─▶ body ─▶ wait head
//!            failure on a reused connection before any response byte, idempotent
//!            method ─▶ once more on a fresh connection (Pool::should_retry)
//! ```
//!
//! One [`RequestTimers`] covers the whole logical request, redirects included, and
//! moves on into the response so `sock_read` and `total` keep timing the body.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use futures_lite::Stream;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::Method;
use sansweb_core::client::{
    ClientTimeout, RedirectBody, RedirectDecision, RedirectError, RedirectRequest, Redirects,
    RequestTimers,
};
use url::Url;

use super::error::ClientError;
use super::middleware::{ClientRequest, MiddlewareFuture, Middlewares, Next, Payload, Terminal};
use super::multipart::{Form, FormPayload};
use super::response::ClientResponse;
use super::session::{parse_proxy, ClientSession};
use super::trace::TraceEvent;
use super::url_text::parse_url_text;
use crate::rt::Runtime;

mod exchange;

/// A streamed request body: chunks of bytes or an I/O error.
pub type BodyStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// Most bytes of a redirect response's body read to keep its connection.
const REDIRECT_DRAIN: usize = 64 * 1024;

/// A request being built; finish with [`send`](Self::send).
pub struct RequestBuilder<R: Runtime> {
    session: ClientSession<R>,
    method: Method,
    url: String,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    body: Option<Payload>,
    /// Boxed, as are `error` and `current_url`: set by few requests, and the builder is
    /// written on every request and copied whole into the boxed send future.
    timeout: Option<Box<ClientTimeout>>,
    raise_for_status: Option<bool>,
    follow_redirects: Option<bool>,
    max_redirects: Option<usize>,
    expect_continue: bool,
    proxy: Option<Arc<Url>>,
    error: Option<Box<ClientError>>,
    /// The URL being requested, for trace events (a mutex: hops run through `&self`).
    current_url: Mutex<Option<Box<Url>>>,
    /// This request's own middlewares, after the session's.
    middlewares: Middlewares<R>,
}

impl<R: Runtime> RequestBuilder<R> {
    pub(crate) fn new(session: ClientSession<R>, method: Method, url: &str) -> Self {
        Self {
            session,
            method,
            url: url.to_owned(),
            headers: HeaderMap::new(),
            query: Vec::new(),
            body: None,
            timeout: None,
            raise_for_status: None,
            follow_redirects: None,
            max_redirects: None,
            expect_continue: false,
            proxy: None,
            error: None,
            current_url: Mutex::new(None),
            middlewares: Vec::new(),
        }
    }

    fn fail(&mut self, why: String) {
        self.error
            .get_or_insert_with(|| Box::new(ClientError::Request(why)));
    }

    /// Sets a header (replacing the session default of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => self.fail(format!("invalid header {name:?}")),
        }
        self
    }

    /// Sets every header of `headers`.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        for (n, v) in &headers {
            self.headers.append(n.clone(), v.clone());
        }
        self
    }

    /// Appends query parameters (aiohttp's `params`), percent-encoded.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        for (k, v) in pairs {
            self.query
                .push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        }
        self
    }

    /// The body as raw bytes.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.set_body(Payload::Bytes(body.into()));
        self
    }

    /// A streamed body (aiohttp's async-generator `data`): each item is sent as it comes,
    /// with chunked coding unless a `Content-Length` header was set. It can be sent only
    /// once, so a 307/308 redirect fails with [`ClientError::Redirect`] and a stale
    /// connection is not retried.
    pub fn body_stream<S>(mut self, stream: S) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        self.set_body(Payload::Stream(Arc::new(Mutex::new(Some(Box::pin(
            stream,
        ))))));
        self
    }

    /// The body as text (`Content-Type: text/plain; charset=utf-8` unless set).
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.set_default_type("text/plain; charset=utf-8");
        self.set_body(Payload::Bytes(Bytes::from(text.into())));
        self
    }

    /// The body as JSON (`Content-Type: application/json` unless set).
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(v) => {
                self.set_default_type("application/json");
                self.set_body(Payload::Bytes(Bytes::from(v)));
            }
            Err(e) => self.fail(format!("JSON body: {e}")),
        }
        self
    }

    /// The body as an urlencoded form (`application/x-www-form-urlencoded`).
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k.as_ref(), v.as_ref());
        }
        self.set_default_type("application/x-www-form-urlencoded");
        self.set_body(Payload::Bytes(Bytes::from(ser.finish())));
        self
    }

    /// The body as `multipart/form-data` (aiohttp's `FormData`): fields in memory, file
    /// and stream parts streamed as they are read. Sent with `Content-Length` when every
    /// part's length is known, chunked otherwise; a form of in-memory parts only can be
    /// replayed on redirects and retries, a streamed one cannot (see
    /// [`body_stream`](Self::body_stream)).
    pub fn multipart(mut self, form: Form) -> Self {
        let (content_type, payload) = form.into_body();
        match HeaderValue::from_str(&content_type) {
            Ok(v) => {
                self.headers.insert(header::CONTENT_TYPE, v);
            }
            Err(_) => self.fail(format!("invalid multipart boundary in {content_type:?}")),
        }
        match payload {
            FormPayload::Bytes(b) => self.set_body(Payload::Bytes(b)),
            FormPayload::Stream(stream, len) => {
                if let Some(len) = len {
                    self.headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                }
                self.set_body(Payload::Stream(Arc::new(Mutex::new(Some(stream)))));
            }
        }
        self
    }

    fn set_body(&mut self, payload: Payload) {
        self.body = Some(payload);
    }

    /// Adds a middleware for this request only; it runs after the session's (see
    /// [`ClientSessionBuilder::middleware`](super::ClientSessionBuilder::middleware)).
    pub fn middleware<F>(mut self, f: F) -> Self
    where
        F: for<'a> Fn(ClientRequest, Next<'a, R>) -> MiddlewareFuture<'a, R>
            + Send
            + Sync
            + 'static,
    {
        self.middlewares.push(Arc::new(f));
        self
    }

    fn set_default_type(&mut self, value: &'static str) {
        if !self.headers.contains_key(header::CONTENT_TYPE) {
            self.headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
        }
    }

    /// HTTP Basic authorization.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {token}"))
    }

    /// Adds a cookie to this request only (aiohttp's `cookies=`), next to the jar's.
    pub fn cookie(self, name: &str, value: &str) -> Self {
        let pair = format!("{name}={value}");
        let merged = match self
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
        {
            Some(own) => format!("{own}; {pair}"),
            None => pair,
        };
        let mut this = self;
        match HeaderValue::from_str(&merged) {
            Ok(v) => {
                this.headers.insert(header::COOKIE, v);
            }
            Err(_) => this.fail(format!("invalid cookie {name:?}")),
        }
        this
    }

    /// Timeouts of this request (replacing the session's).
    pub fn timeout(mut self, timeout: ClientTimeout) -> Self {
        self.timeout = Some(Box::new(timeout));
        self
    }

    /// Overrides the session's `raise_for_status`.
    pub fn raise_for_status(mut self, on: bool) -> Self {
        self.raise_for_status = Some(on);
        self
    }

    /// Overrides whether redirects are followed (aiohttp's `allow_redirects`).
    pub fn follow_redirects(mut self, on: bool) -> Self {
        self.follow_redirects = Some(on);
        self
    }

    /// Overrides the redirect limit.
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.max_redirects = Some(n);
        self
    }

    /// Sends `Expect: 100-continue` and the body only once the server agrees (or after
    /// a short wait, as curl does).
    pub fn expect_continue(mut self, on: bool) -> Self {
        self.expect_continue = on;
        self
    }

    /// Sends this request through an HTTP proxy (overriding the session's).
    pub fn proxy(mut self, url: &str) -> Self {
        match parse_proxy(url) {
            Ok(u) => self.proxy = Some(Arc::new(u)),
            Err(e) => {
                self.error.get_or_insert(Box::new(e));
            }
        }
        self
    }

    fn resolve_url(&self) -> Result<Url, ClientError> {
        let inner = &self.session.inner;
        let cached = {
            let last = inner.last_url.lock().unwrap_or_else(|p| p.into_inner());
            last.as_ref()
                .filter(|(s, _)| *s == self.url)
                .map(|(_, u)| u.clone())
        };
        let mut url = match cached {
            Some(u) => u,
            None => {
                let url = parse_url_text(inner.base_url.as_ref(), &self.url)
                    .map_err(ClientError::InvalidUrl)?;
                *inner.last_url.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((self.url.clone(), url.clone()));
                url
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::InvalidUrl(format!(
                "{url}: only http and https are supported"
            )));
        }
        if url.host_str().map_or(true, str::is_empty) {
            return Err(ClientError::InvalidUrl(format!("{url}: no host")));
        }
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &self.query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// Sends the request; resolves once the response head arrived (and redirects were
    /// followed). The body is read from the returned [`ClientResponse`].
    pub fn send(self) -> impl Future<Output = Result<ClientResponse<R>, ClientError>> {
        // Boxed: the exchange's state is kilobytes, moved piecewise as it runs. Inline, it
        // would live in the caller's task, and with many tasks each one's state has gone
        // cold in the cache by its next request (callgrind, 50 concurrent requests: most
        // of the client's L1 write misses were these moves). A fresh box reuses the block
        // the previous request freed, still cached; the allocation costs less than the
        // misses. The builder moves into the box at once, so the caller holds a pointer.
        // An async block, not an async fn taking `self`: an async fn keeps a by-value
        // argument twice in its future (the argument and the local it is moved into),
        // and this future is copied whole into its box.
        let mut this = self;
        Box::pin(async move {
            let result = this.send_inner().await;
            if let Err(error) = &result {
                this.trace_exception(error);
            }
            result
        })
    }

    fn trace_exception(&mut self, error: &ClientError) {
        let tracer = &self.session.inner.pool.tracer;
        let url = self
            .current_url
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let (false, Some(url)) = (tracer.is_empty(), &url) {
            tracer.emit(TraceEvent::RequestException {
                method: &self.method,
                url,
                error,
            });
        }
    }

    /// Everything the redirect loop needs, made before its first await: a local of
    /// `send_inner` that lives across no await still takes room in its future (the URL
    /// and header map it was built from, say), so they live here instead.
    fn prepare(&mut self) -> Result<Prepared<R>, ClientError> {
        if let Some(e) = self.error.take() {
            return Err(*e);
        }
        let url = self.resolve_url()?;
        let inner = self.session.inner.clone();
        let mut headers = inner.default_headers.clone();
        let mut last: Option<HeaderName> = None;
        for (name, value) in std::mem::take(&mut self.headers) {
            // `HeaderMap` iteration gives `None` for repeated values of the same name.
            match name {
                Some(n) => {
                    headers.insert(n.clone(), value);
                    last = Some(n);
                }
                None => {
                    if let Some(n) = &last {
                        headers.append(n.clone(), value);
                    }
                }
            }
        }
        if !headers.contains_key(header::USER_AGENT) {
            headers.insert(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("sansweb/", env!("CARGO_PKG_VERSION"))),
            );
        }
        if !headers.contains_key(header::ACCEPT) {
            headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        }
        if inner.auto_decompress && !headers.contains_key(header::ACCEPT_ENCODING) {
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static("gzip, deflate, br, zstd"),
            );
        }
        let mut policy = inner.redirects;
        if let Some(f) = self.follow_redirects {
            policy.follow = f;
        }
        if let Some(m) = self.max_redirects {
            policy.max_redirects = m;
        }
        let body = self.body.take();
        let tracer = inner.pool.tracer.clone();
        // Kept only for trace events (a URL clone per request otherwise).
        if !tracer.is_empty() {
            *self
                .current_url
                .get_mut()
                .unwrap_or_else(|p| p.into_inner()) = Some(Box::new(url.clone()));
        }
        tracer.emit(TraceEvent::RequestStart {
            method: &self.method,
            url: &url,
            headers: &headers,
        });
        let redirects = Redirects::new(
            policy,
            RedirectRequest {
                method: self.method.clone(),
                url,
                headers,
                body: match &body {
                    None => RedirectBody::None,
                    Some(Payload::Bytes(_)) => RedirectBody::Replayable,
                    Some(Payload::Stream(_)) => RedirectBody::NotReplayable,
                },
            },
        );
        let timeout = self.timeout.as_deref().copied().unwrap_or(inner.timeout);
        let raise = self.raise_for_status.unwrap_or(inner.raise_for_status);
        let chain: Middlewares<R> = inner
            .middlewares
            .iter()
            .chain(&self.middlewares)
            .cloned()
            .collect();
        Ok(Prepared {
            redirects,
            body,
            tracer,
            chain,
            timers: RequestTimers::new(timeout, inner.rt.now()),
            raise,
        })
    }

    async fn send_inner(&mut self) -> Result<ClientResponse<R>, ClientError> {
        let Prepared {
            mut redirects,
            body,
            tracer,
            chain,
            timers,
            raise,
        } = self.prepare()?;
        let mut timers = timers;
        let this: &Self = self;
        let inner = &this.session.inner;
        let tracing = !tracer.is_empty();
        loop {
            let (method, body_now) = {
                let current = redirects.current();
                if tracing {
                    this.set_current_url(&current.url);
                }
                let body_now = match current.body {
                    RedirectBody::None => None,
                    _ => body.clone(),
                };
                (current.method.clone(), body_now)
            };
            // Without middlewares, no boxed chain: the hop's future stays inline, and
            // reads the request where the redirect state keeps it (no copy of its URL
            // and header map per request).
            let mut response = if chain.is_empty() {
                // The deadlines are this future's own: no `Hop` (its mutex and the copy
                // of the timers a hop works on would be two more slots in it).
                this.hop(redirects.current(), body_now.as_ref(), &mut timers)
                    .await?
            } else {
                let current = redirects.current();
                let request = ClientRequest::new(
                    current.method.clone(),
                    current.url.clone(),
                    current.headers.clone(),
                    body_now,
                );
                let hop = Hop {
                    builder: this,
                    timers: Mutex::new(timers.clone()),
                };
                let result = Next::new(&chain, &hop).run(request).await;
                timers = hop.timers.into_inner().unwrap_or_else(|p| p.into_inner());
                result?
            };
            if let Some(jar) = &inner.cookie_jar {
                let values: Vec<&str> = response
                    .headers()
                    .get_all(header::SET_COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                if !values.is_empty() {
                    let mut jar = jar.lock().unwrap_or_else(|p| p.into_inner());
                    jar.store_response_cookies(response.url(), values, SystemTime::now());
                }
            }
            let status = response.status();
            // Only a redirect status needs `Location` (and so the header map).
            let location = if status.is_redirection() {
                response
                    .headers()
                    .get(header::LOCATION)
                    .map(|v| v.as_bytes())
            } else {
                None
            };
            let decision = redirects.handle_response(status, location);
            let history = || -> Vec<(http::StatusCode, Url)> {
                redirects
                    .history()
                    .iter()
                    .map(|h| (h.status, h.url.clone()))
                    .collect()
            };
            match decision {
                Ok(RedirectDecision::Done) => {
                    tracer.emit(TraceEvent::RequestEnd {
                        method: &method,
                        url: response.url(),
                        status,
                    });
                    response.set_history(history());
                    response.prefetch();
                    if raise {
                        response.raise_for_status()?;
                    }
                    return Ok(response);
                }
                Ok(RedirectDecision::Follow(_)) => {
                    tracer.emit(TraceEvent::RequestRedirect {
                        method: &method,
                        url: response.url(),
                        status,
                    });
                    // Read a small redirect body to its end so its connection is reused;
                    // a large one is cheaper to close.
                    let _ = response.bytes_max(REDIRECT_DRAIN).await;
                }
                Err(RedirectError::TooManyRedirects { max }) => {
                    let mut history = history();
                    history.push((status, response.url().clone()));
                    return Err(ClientError::TooManyRedirects { max, history });
                }
                Err(e) => return Err(ClientError::Redirect(e)),
            }
        }
    }

    fn set_current_url(&self, url: &Url) {
        *self.current_url.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(url.clone()));
    }
}

/// The end of a request's middleware chain: one hop on the wire, with the request's
/// deadlines carried from hop to hop (a retrying middleware keeps the same clock).
struct Hop<'b, R: Runtime> {
    builder: &'b RequestBuilder<R>,
    timers: Mutex<RequestTimers>,
}

impl<R: Runtime> Hop<'_, R> {
    /// Takes the request by reference: a by-value argument is kept twice in an async
    /// fn's future, and this one sits inline in every request's.
    async fn run(
        &self,
        req: &RedirectRequest,
        body: Option<&Payload>,
    ) -> Result<ClientResponse<R>, ClientError> {
        let mut timers = self
            .timers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let result = self.builder.hop(req, body, &mut timers).await;
        *self.timers.lock().unwrap_or_else(|p| p.into_inner()) = timers;
        result
    }
}

impl<R: Runtime> Terminal<R> for Hop<'_, R> {
    fn send<'a>(&'a self, request: ClientRequest) -> MiddlewareFuture<'a, R> {
        Box::pin(async move {
            let req = RedirectRequest {
                method: request.method,
                url: request.url,
                headers: request.headers,
                body: if request.body.is_some() {
                    RedirectBody::Replayable
                } else {
                    RedirectBody::None
                },
            };
            self.run(&req, request.body.as_ref()).await
        })
    }
}

/// What [`RequestBuilder::prepare`] hands the redirect loop.
struct Prepared<R: Runtime> {
    redirects: Redirects,
    body: Option<Payload>,
    tracer: super::trace::Tracer,
    chain: Middlewares<R>,
    timers: RequestTimers,
    raise: bool,
}

/// Adds the jar's cookies for `url` to `headers`, after any `Cookie` the caller set
/// (one header, `; `-joined, as browsers and aiohttp send it).
pub(crate) fn add_jar_cookies(
    jar: &Mutex<sansweb_core::client::CookieJar>,
    url: &Url,
    headers: &mut HeaderMap,
) {
    let jar = jar.lock().unwrap_or_else(|p| p.into_inner());
    let Some(cookies) = jar.cookie_header_for(url, SystemTime::now()) else {
        return;
    };
    let merged = match headers.get(header::COOKIE).and_then(|v| v.to_str().ok()) {
        Some(own) => format!("{own}; {cookies}"),
        None => cookies,
    };
    if let Ok(v) = HeaderValue::from_str(&merged) {
        headers.insert(header::COOKIE, v);
    }
}
