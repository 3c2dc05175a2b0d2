//! [`RequestBuilder`]: one request's overrides, and the exchange loop that sends it.
//!
//! # Theory of operation
//!
//! ```text
//!  send ─▶ Redirects(current) ─▶ exchange ─┬─▶ head ─▶ store Set-Cookie ─▶ redirect? ─┐
//!                ▲                          │                                          │
//!                └──── follow (body drained, connection back to the pool) ◀───────────┘
//!  exchange: acquire ─▶ write head (+Cookie) ─▶ [100-continue wait] ─▶ body ─▶ wait head
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
use futures_lite::{Stream, StreamExt};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};
use sansweb_core::client::{
    should_retry, ClientTimeout, PoolKey, RedirectBody, RedirectDecision, RedirectError,
    RedirectRequest, Redirects, RequestTimers,
};
use sansweb_core::h1::{Event, RequestHead, ResponseHead};
use url::Url;

use super::connection::with_timers;
use super::decode::Decoder;
use super::error::ClientError;
use super::middleware::{ClientRequest, MiddlewareFuture, Middlewares, Next, Payload, Terminal};
use super::multipart::{Form, FormPayload};
use super::pool::Lease;
use super::proxy::{pick, proxy_authorization};
use super::response::{keep_alive_hint_of, Body, ClientResponse};
use super::session::{parse_proxy, ClientSession};
use super::trace::TraceEvent;
use super::url_text::parse_url_text;
use crate::rt::Runtime;

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

    /// One hop on the wire, at the end of the middleware chain.
    ///
    /// Takes the parts of the request (not a `ClientRequest`, which the caller already
    /// took apart): every argument of an async fn is a slot of its future, and this
    /// future sits inside every request's.
    async fn hop(
        &self,
        req: &RedirectRequest,
        body: Option<&Payload>,
        timers: &mut RequestTimers,
    ) -> Result<ClientResponse<R>, ClientError> {
        if !self.session.inner.pool.tracer.is_empty() {
            self.set_current_url(&req.url);
        }
        let (head, lease) = self.exchange(req, body, timers).await?;
        Ok(self.make_response(req, head, lease, timers.clone(), Vec::new()))
    }

    fn make_response(
        &self,
        current: &RedirectRequest,
        head: ResponseHead,
        lease: Lease<R>,
        timers: RequestTimers,
        history: Vec<(http::StatusCode, Url)>,
    ) -> ClientResponse<R> {
        let inner = &self.session.inner;
        // Both looked up in the head's bytes: the header map is built only if the user
        // reads the headers.
        let decoder = if inner.auto_decompress && current.method != Method::HEAD {
            head.headers
                .first("content-encoding")
                // What `HeaderValue::to_str` accepts: visible ASCII, space and tab.
                .filter(|v| v.iter().all(|&b| (32..127).contains(&b) || b == b'\t'))
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| Decoder::for_encoding(v, inner.max_decompressed))
        } else {
            None
        };
        let hint = keep_alive_hint_of(&head);
        let reason = head.reason_phrase().to_owned();
        // Prefetched (`ClientResponse::prefetch`) once the chain returns it, so trace
        // events keep their order: request end, then body chunks.
        let body = Body::new(lease, timers, decoder, hint, inner.pool.tracer.clone());
        ClientResponse::new(
            head.status,
            reason,
            head.version,
            head.headers,
            current.url.clone(),
            history,
            body,
        )
    }

    /// One request/response exchange on a pooled connection, retried once on a fresh
    /// connection when a reused one turns out stale.
    async fn exchange(
        &self,
        req: &RedirectRequest,
        body: Option<&Payload>,
        timers: &mut RequestTimers,
    ) -> Result<(ResponseHead, Lease<R>), ClientError> {
        let inner = &self.session.inner;
        let mut key = PoolKey::from_url(&req.url)
            .ok_or_else(|| ClientError::InvalidUrl(format!("{}: no host or port", req.url)))?;
        if key.scheme == "https" {
            key.tls_config = inner.tls_id;
        }
        let proxy = pick(
            inner.proxy.as_ref(),
            self.proxy.as_ref(),
            inner.env_proxies.as_ref(),
            &req.url,
        );
        key.proxy = proxy.as_ref().map(|p| p.to_string());
        let replayable = !matches!(body, Some(Payload::Stream(_)));
        let mut attempt = 0;
        loop {
            let mut lease = inner.pool.acquire(&key, attempt > 0, timers).await?;
            // The head is built and handed to the connection here, between two awaits:
            // a head (320 bytes) kept across an await is a slot in this future, which
            // every request's future carries (and moves), cold, with many in flight.
            let sent = match self
                .request_head(req, body, proxy.as_deref())
                .and_then(|head| self.start(&mut lease, head))
            {
                Ok(sent) => sent,
                Err(e) => {
                    // Nothing was written: the connection is as good as it was.
                    lease.checkin(None);
                    return Err(e);
                }
            };
            match self
                .send_and_wait(&mut lease, &req.url, sent, body, timers)
                .await
            {
                Ok(h) => return Ok((h, lease)),
                Err(e) => {
                    let conn = lease.conn();
                    let retry = attempt == 0
                        && replayable
                        && matches!(
                            e,
                            ClientError::Io(_) | ClientError::ServerDisconnected { .. }
                        )
                        && should_retry(&req.method, conn.reused, conn.bytes_seen);
                    drop(lease);
                    if !retry {
                        return Err(e);
                    }
                    attempt += 1;
                }
            }
        }
    }

    fn request_head(
        &self,
        req: &RedirectRequest,
        body: Option<&Payload>,
        proxy: Option<&Url>,
    ) -> Result<RequestHead, ClientError> {
        let inner = &self.session.inner;
        let origin_form = match req.url.query() {
            Some(q) => format!("{}?{}", req.url.path(), q),
            None => req.url.path().to_owned(),
        };
        // Through a proxy, plain http goes in absolute form (RFC 9112 §3.2.2).
        let plain_proxy = proxy.filter(|_| req.url.scheme() == "http");
        let target = match plain_proxy {
            Some(_) => {
                let mut u = req.url.clone();
                u.set_fragment(None);
                u.to_string()
            }
            None => origin_form,
        };
        let uri: Uri = target
            .parse()
            .map_err(|e| ClientError::InvalidUrl(format!("{}: {e}", req.url)))?;
        let mut head = RequestHead::new(req.method.clone(), uri);
        head.headers = req.headers.clone().into();
        if !head.headers.contains_key(header::HOST) {
            let host = req.url.host_str().unwrap_or_default();
            let value = match req.url.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_owned(),
            };
            let value = HeaderValue::from_str(&value)
                .map_err(|_| ClientError::InvalidUrl(format!("{}: bad host", req.url)))?;
            head.headers.insert(header::HOST, value);
        }
        if let Some(jar) = &inner.cookie_jar {
            add_jar_cookies(jar, &req.url, &mut head.headers);
        }
        if let Some(auth) = plain_proxy.and_then(proxy_authorization) {
            head.headers.insert(header::PROXY_AUTHORIZATION, auth);
        }
        head.headers.remove(header::TRANSFER_ENCODING);
        if matches!(body, Some(Payload::Stream(_))) && self.expect_continue {
            head.headers
                .insert(header::EXPECT, HeaderValue::from_static("100-continue"));
        }
        match body {
            Some(Payload::Stream(_)) => {
                if !head.headers.contains_key(header::CONTENT_LENGTH) {
                    head.headers.insert(
                        header::TRANSFER_ENCODING,
                        HeaderValue::from_static("chunked"),
                    );
                }
            }
            Some(Payload::Bytes(b)) => {
                head.headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(b.len()));
                if self.expect_continue {
                    head.headers
                        .insert(header::EXPECT, HeaderValue::from_static("100-continue"));
                }
            }
            None => {
                head.headers.remove(header::CONTENT_LENGTH);
                // aiohttp sends an explicit empty body for methods that usually have one.
                if matches!(req.method, Method::POST | Method::PUT | Method::PATCH) {
                    head.headers
                        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
                }
            }
        }
        Ok(head)
    }

    /// Hands the head to the connection; what a trace's `RequestHeadersSent` will show
    /// (boxed: a slot of the request's future, empty unless someone traces).
    fn start(&self, lease: &mut Lease<R>, head: RequestHead) -> Result<SentHead, ClientError> {
        let rt = &self.session.inner.rt;
        let tracer = &self.session.inner.pool.tracer;
        let sent =
            (!tracer.is_empty()).then(|| Box::new((head.method.clone(), head.headers.clone())));
        lease
            .conn()
            .conn
            .send_request(rt.now(), head)
            .map_err(|e| ClientError::Request(e.to_string()))?;
        Ok(sent)
    }

    /// The rest of the exchange once the head is queued (see [`start`](Self::start)):
    /// body, flush, the response head.
    async fn send_and_wait(
        &self,
        lease: &mut Lease<R>,
        url: &Url,
        sent: SentHead,
        body: Option<&Payload>,
        timers: &mut RequestTimers,
    ) -> Result<ResponseHead, ClientError> {
        let rt = &self.session.inner.rt;
        let tracer = &self.session.inner.pool.tracer;
        let conn = lease.conn();
        let local = |e: sansweb_core::h1::Error| ClientError::Request(e.to_string());
        let has_body = match &body {
            Some(Payload::Bytes(b)) => !b.is_empty(),
            Some(Payload::Stream(_)) => true,
            None => false,
        };
        if has_body && self.expect_continue {
            std::future::poll_fn(|cx| conn.poll_flush(cx, timers)).await?;
            timers.handle_sent(rt.now());
            loop {
                match std::future::poll_fn(|cx| conn.poll_event(cx, timers)).await? {
                    Event::Continue => break,
                    Event::Informational(_) => continue,
                    // Answered without wanting the body: the core closes the exchange.
                    Event::Head(h) => return Ok(h),
                    other => return Err(head_error(other, conn.bytes_seen)),
                }
            }
        }
        match body {
            Some(Payload::Bytes(b)) if !b.is_empty() => {
                conn.conn.send_data(rt.now(), b.clone()).map_err(local)?;
            }
            Some(Payload::Stream(stream)) => {
                let taken = stream.lock().unwrap_or_else(|p| p.into_inner()).take();
                let Some(mut stream) = taken else {
                    return Err(ClientError::Request(
                        "the streamed body was already sent once".into(),
                    ));
                };
                // One chunk in flight at a time: the upload runs at the socket's pace.
                while let Some(chunk) = with_timers(rt, timers, true, stream.next()).await? {
                    let chunk = chunk.map_err(ClientError::RequestBody)?;
                    if !chunk.is_empty() {
                        conn.conn.send_data(rt.now(), chunk).map_err(local)?;
                        std::future::poll_fn(|cx| conn.poll_flush(cx, timers)).await?;
                    }
                }
            }
            _ => {}
        }
        conn.conn.send_end(rt.now(), None).map_err(local)?;
        // With other requests in flight, yield once before writing: every task woken in
        // this round then queues its request first, and the requests leave back to back.
        // Written at once, each one woke the (idle) server on its own: with 50 concurrent
        // requests the server slept twice as often as with hyper (whose connection tasks
        // write after the request tasks ran), and each wake-up took this client's CPU
        // (involuntary switches: ~0.6 a request against hyper's ~0.2; with the yield both
        // ~0.2, and the server's sleeps match hyper's). Alone, a request gains nothing
        // from waiting, so it does not.
        if self.session.inner.pool.others_leased() {
            yield_once().await;
        }
        std::future::poll_fn(|cx| conn.poll_flush(cx, timers)).await?;
        timers.handle_sent(rt.now());
        if let Some(sent) = &sent {
            let (method, headers) = &**sent;
            tracer.emit(TraceEvent::RequestHeadersSent {
                method,
                url,
                headers,
            });
        }
        loop {
            match std::future::poll_fn(|cx| conn.poll_event(cx, timers)).await? {
                Event::Head(h) => return Ok(h),
                Event::Informational(_) | Event::Continue => continue,
                other => return Err(head_error(other, conn.bytes_seen)),
            }
        }
    }
}

/// Returns `Pending` once (waking itself at once), then `Ready`: the task goes to the
/// back of its executor's queue.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

/// The method and headers sent, kept for the trace event sent once the request is out.
type SentHead = Option<Box<(Method, sansweb_core::h1::HeaderFields)>>;

fn head_error(event: Event<ResponseHead>, bytes_seen: bool) -> ClientError {
    match event {
        Event::Closed => ClientError::ServerDisconnected {
            response_started: bytes_seen,
        },
        Event::Error(_) if !bytes_seen => ClientError::ServerDisconnected {
            response_started: false,
        },
        Event::Error(e) => ClientError::Payload(e.to_string()),
        other => ClientError::Payload(format!("unexpected event before the head: {other:?}")),
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
