//! Trace hooks (aiohttp's `TraceConfig` signals) as typed events.
//!
//! A session carries any number of callbacks; each gets every [`TraceEvent`] of every
//! request, synchronously, on the task that made the request. Callbacks must be quick:
//! they run inside the request's poll.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method, StatusCode};
use url::Url;

use super::error::ClientError;

/// Something that happened during a request, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceEvent<'a> {
    /// `on_request_start`: a request is about to be processed.
    RequestStart {
        /// Method.
        method: &'a Method,
        /// Absolute URL.
        url: &'a Url,
        /// Headers as built so far (defaults merged).
        headers: &'a HeaderMap,
    },
    /// `on_request_redirect`: a redirect response is being followed.
    RequestRedirect {
        /// Method of the request that was redirected.
        method: &'a Method,
        /// URL that answered with the redirect.
        url: &'a Url,
        /// The redirect status.
        status: StatusCode,
    },
    /// `on_request_end`: the final response head arrived.
    RequestEnd {
        /// Method.
        method: &'a Method,
        /// URL that answered.
        url: &'a Url,
        /// Its status.
        status: StatusCode,
    },
    /// `on_request_exception`: the request failed.
    RequestException {
        /// Method.
        method: &'a Method,
        /// URL being requested.
        url: &'a Url,
        /// Why.
        error: &'a ClientError,
    },
    /// `on_connection_queued_start`: waiting for a pool slot.
    ConnectionQueuedStart,
    /// `on_connection_queued_end`: the wait is over.
    ConnectionQueuedEnd,
    /// `on_connection_create_start`: opening a new connection.
    ConnectionCreateStart,
    /// `on_connection_create_end`: the new connection is ready.
    ConnectionCreateEnd,
    /// `on_connection_reuseconn`: an idle keep-alive connection is reused.
    ConnectionReuse,
    /// `on_dns_cache_hit`: the name was in the session's DNS cache.
    DnsCacheHit {
        /// Host name.
        host: &'a str,
    },
    /// `on_dns_cache_miss`: the name must be resolved.
    DnsCacheMiss {
        /// Host name.
        host: &'a str,
    },
    /// `on_dns_resolvehost_start`.
    DnsResolveHostStart {
        /// Host name.
        host: &'a str,
    },
    /// `on_dns_resolvehost_end`.
    DnsResolveHostEnd {
        /// Host name.
        host: &'a str,
    },
    /// `on_request_headers_sent`: the request head (and body) were written.
    RequestHeadersSent {
        /// Method.
        method: &'a Method,
        /// URL.
        url: &'a Url,
        /// Headers as sent (Host, Cookie, Content-Length included).
        headers: &'a HeaderMap,
    },
    /// `on_response_chunk_received`: a piece of the body reached the user.
    ResponseChunkReceived {
        /// Its size (after decompression).
        len: usize,
    },
}

type Callback = dyn Fn(&TraceEvent<'_>) + Send + Sync;

/// The callbacks of a session; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Tracer(Arc<Vec<Arc<Callback>>>);

impl Tracer {
    pub(crate) fn with(&self, f: Arc<Callback>) -> Self {
        let mut v: Vec<Arc<Callback>> = self.0.iter().cloned().collect();
        v.push(f);
        Tracer(Arc::new(v))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn emit(&self, event: TraceEvent<'_>) {
        for f in self.0.iter() {
            f(&event);
        }
    }
}

impl fmt::Debug for Tracer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tracer({} callbacks)", self.0.len())
    }
}
