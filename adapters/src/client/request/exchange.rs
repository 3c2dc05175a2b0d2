//! One hop of a request on the wire: a pooled connection, the head and body out, the
//! response head in, a stale reused connection retried once.
//!
//! # Theory of operation
//!
//! ```text
//!  hop ─▶ exchange: acquire ─▶ build the head, queue it (start) ─▶ send_and_wait:
//!           [100-continue wait] ─▶ body ─▶ [yield once if others are in flight] ─▶ flush
//!           ─▶ wait head ─┬─▶ (head, lease) ─▶ make_response
//!                         └─ failure on a reused connection before any response byte,
//!                            idempotent method ─▶ once more on a fresh connection
//! ```
//!
//! Why the shapes here (arguments by reference, no head kept across an await, the
//! response one pointer): this future sits inline in every request's, which is copied
//! whole into its box and, with many requests in flight, lives in memory gone cold in
//! the cache between two polls; every byte of it is a write miss waiting to happen.

use futures_lite::StreamExt;
use http::header::{self, HeaderValue};
use http::{Method, Uri};
use sansweb_core::client::{should_retry, PoolKey, RedirectRequest, RequestTimers};
use sansweb_core::h1::{Event, RequestHead, ResponseHead};
use url::Url;

use super::super::connection::with_timers;
use super::super::decode::Decoder;
use super::super::error::ClientError;
use super::super::middleware::Payload;
use super::super::pool::Lease;
use super::super::proxy::{pick, proxy_authorization};
use super::super::response::{keep_alive_hint_of, Body, ClientResponse};
use super::super::trace::TraceEvent;
use super::{add_jar_cookies, RequestBuilder};
use crate::rt::Runtime;

impl<R: Runtime> RequestBuilder<R> {
    /// One hop on the wire, at the end of the middleware chain.
    ///
    /// Takes the parts of the request (not a `ClientRequest`, which the caller already
    /// took apart): every argument of an async fn is a slot of its future, and this
    /// future sits inside every request's.
    pub(super) async fn hop(
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
            futures_lite::future::yield_now().await;
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
