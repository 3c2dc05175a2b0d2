//! Client middlewares (aiohttp 3.12's `ClientSession(middlewares=...)` and
//! `session.get(..., middlewares=...)`).
//!
//! # Theory of operation
//!
//! A middleware gets the outgoing [`ClientRequest`] of one hop and a [`Next`] handler.
//! It may change the request, call `next.run(request)` zero times (answer by itself),
//! once, or several times (retry), and inspect or replace the response:
//!
//! ```text
//!   hop ─▶ m1(req, next1) ─▶ m2(req, next2) ─▶ … ─▶ send on a pooled connection
//!          ◀── response ◀──────── response ◀──────── response head
//! ```
//!
//! Session middlewares run first, then the request's own, in the order added. Each
//! redirect hop passes through the whole chain again (as in aiohttp), so a middleware
//! that signs requests signs every hop. Cookies, redirects and `raise_for_status` are
//! applied to the response the chain returns.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method};
use url::Url;

use super::error::ClientError;
use super::request::BodyStream;
use super::response::ClientResponse;
use crate::rt::Runtime;

/// What a middleware returns: the response of the hop, boxed.
pub type MiddlewareFuture<'a, R> =
    Pin<Box<dyn Future<Output = Result<ClientResponse<R>, ClientError>> + Send + 'a>>;

/// A client middleware; closures of the right shape are middlewares (see
/// [`ClientSessionBuilder::middleware`](super::ClientSessionBuilder::middleware)).
pub trait ClientMiddleware<R: Runtime>: Send + Sync + 'static {
    /// Handles one hop: usually `next.run(request)`, with work before and after.
    fn handle<'a>(&'a self, request: ClientRequest, next: Next<'a, R>) -> MiddlewareFuture<'a, R>;
}

impl<R, F> ClientMiddleware<R> for F
where
    R: Runtime,
    F: for<'a> Fn(ClientRequest, Next<'a, R>) -> MiddlewareFuture<'a, R> + Send + Sync + 'static,
{
    fn handle<'a>(&'a self, request: ClientRequest, next: Next<'a, R>) -> MiddlewareFuture<'a, R> {
        self(request, next)
    }
}

/// A shared list of middlewares.
pub(crate) type Middlewares<R> = Vec<Arc<dyn ClientMiddleware<R>>>;

/// The end of the chain: sends one hop on the wire.
pub(crate) trait Terminal<R: Runtime>: Sync {
    /// Sends `request` and waits for the response head.
    fn send<'a>(&'a self, request: ClientRequest) -> MiddlewareFuture<'a, R>;
}

/// The rest of the chain, handed to a middleware. Cheap to copy; `run` may be called
/// more than once (to retry).
pub struct Next<'a, R: Runtime> {
    rest: &'a [Arc<dyn ClientMiddleware<R>>],
    terminal: &'a dyn Terminal<R>,
}

impl<R: Runtime> Clone for Next<'_, R> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R: Runtime> Copy for Next<'_, R> {}

impl<'a, R: Runtime> Next<'a, R> {
    pub(crate) fn new(
        chain: &'a [Arc<dyn ClientMiddleware<R>>],
        terminal: &'a dyn Terminal<R>,
    ) -> Self {
        Self {
            rest: chain,
            terminal,
        }
    }

    /// Passes `request` to the next middleware, or sends it when none is left.
    pub fn run(self, request: ClientRequest) -> MiddlewareFuture<'a, R> {
        match self.rest.split_first() {
            Some((first, rest)) => first.handle(
                request,
                Next {
                    rest,
                    terminal: self.terminal,
                },
            ),
            None => self.terminal.send(request),
        }
    }
}

/// A request body as a hop carries it.
#[derive(Clone)]
pub(crate) enum Payload {
    /// In memory: sent with `Content-Length`, replayable for redirects and retries.
    Bytes(Bytes),
    /// Streamed with chunked coding (unless `Content-Length` is set); sent once. Shared
    /// so a cloned request refers to the same stream (which only one send can take).
    Stream(Arc<Mutex<Option<BodyStream>>>),
}

/// One hop's request as a middleware sees it (aiohttp's `ClientRequest`): method, URL
/// and headers can be changed; the body can be read (when in memory) or replaced.
#[derive(Clone)]
pub struct ClientRequest {
    /// The method.
    pub method: Method,
    /// The absolute URL of this hop.
    pub url: Url,
    /// The headers (session defaults merged with the request's; `Host`, `Cookie` and
    /// framing headers are added when it is sent).
    pub headers: HeaderMap,
    pub(crate) body: Option<Payload>,
}

impl ClientRequest {
    pub(crate) fn new(method: Method, url: Url, headers: HeaderMap, body: Option<Payload>) -> Self {
        Self {
            method,
            url,
            headers,
            body,
        }
    }

    /// The body when it is in memory (`None` for no body or a streamed one).
    pub fn body_bytes(&self) -> Option<&Bytes> {
        match &self.body {
            Some(Payload::Bytes(b)) => Some(b),
            _ => None,
        }
    }

    /// Replaces the body with bytes (its `Content-Length` is set when sent).
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = Some(Payload::Bytes(body.into()));
    }

    /// Whether the body can be sent again (no body, or one in memory): a retrying
    /// middleware should check it.
    pub fn is_replayable(&self) -> bool {
        !matches!(self.body, Some(Payload::Stream(_)))
    }
}

impl std::fmt::Debug for ClientRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}
