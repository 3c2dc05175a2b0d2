//! Redirect policy (aiohttp's `allow_redirects` / `max_redirects` handling).
//!
//! # Theory of operation
//!
//! [`Redirects`] follows one logical request through its redirects:
//!
//! ```text
//!  new(request) ──▶ send current() ──▶ handle_response(status, Location)
//!                        ▲                 │
//!                        │ Follow(next)    ├─ not 301/302/303/307/308, no Location,
//!                        └─────────────────┤  or following disabled ──▶ Done
//!                                          └─ bad target / too many / body not
//!                                             replayable / forbidden downgrade ──▶ Err
//! ```
//!
//! Method and body: 303 turns anything but HEAD into a body-less GET; 301 and 302 turn
//! POST into GET (what browsers and aiohttp do, though RFC 9110 allows keeping POST);
//! 307 and 308 keep method and body, so the body must be replayable. The `Location`
//! is resolved against the current URL; a target without a fragment inherits the
//! current one (RFC 9110 §10.2.2). Only `http` and `https` targets are followed.
//!
//! Credentials: when the scheme, host or port changes, `Authorization`, `Cookie`,
//! `Proxy-Authorization` (and a hand-set `Host`) are removed, so a redirect cannot leak
//! them to another origin; cookies for the new origin come from the jar again. An
//! `https` → `http` redirect is reported in [`FollowRedirect::downgraded`], and can be
//! refused with [`RedirectPolicy::forbid_https_downgrade`].

use std::fmt;

use http::header::{self, HeaderMap, HeaderName};
use http::{Method, StatusCode};
use url::Url;

/// Redirect settings. Defaults are aiohttp's: follow, at most 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// Follow redirects at all (`allow_redirects`).
    pub follow: bool,
    /// Most redirects followed for one request; one more is [`RedirectError::TooManyRedirects`].
    pub max_redirects: usize,
    /// Refuse `https` → `http` redirects instead of following them.
    pub forbid_https_downgrade: bool,
}

impl Default for RedirectPolicy {
    fn default() -> Self {
        Self {
            follow: true,
            max_redirects: 10,
            forbid_https_downgrade: false,
        }
    }
}

/// The request body, as far as redirects care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectBody {
    /// No body.
    None,
    /// A body that can be sent again (bytes in memory, a reopenable file).
    Replayable,
    /// A body that can be sent only once (a stream).
    NotReplayable,
}

/// The parts of a request a redirect changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectRequest {
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: Url,
    /// Headers the caller set (not the ones the codec adds).
    pub headers: HeaderMap,
    /// The body.
    pub body: RedirectBody,
}

/// One redirect response in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectHop {
    /// Its status (301, 302, 303, 307 or 308).
    pub status: StatusCode,
    /// The URL that answered with it.
    pub url: Url,
}

/// What to send next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowRedirect {
    /// The next request (also available as [`Redirects::current`]).
    pub request: RedirectRequest,
    /// Credentials were removed because the origin changed.
    pub credentials_stripped: bool,
    /// The redirect went from `https` to `http`.
    pub downgraded: bool,
}

/// The outcome of [`Redirects::handle_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectDecision {
    /// This response is the final one.
    Done,
    /// Send the next request.
    Follow(Box<FollowRedirect>),
}

/// Why a redirect was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectError {
    /// Local policy: more than `max` redirects.
    TooManyRedirects {
        /// The limit.
        max: usize,
    },
    /// Peer error: `Location` is not a URL (or not UTF-8).
    InvalidLocation {
        /// The header value, lossily decoded.
        location: String,
    },
    /// Peer sent a target that is not `http`/`https`.
    NonHttpLocation {
        /// The resolved target.
        url: Url,
    },
    /// Local: a 307/308 needs the body again, and it was a one-shot stream.
    BodyNotReplayable {
        /// The status that asked for the body again.
        status: StatusCode,
    },
    /// Local policy: `https` → `http` redirect refused.
    InsecureDowngrade {
        /// The `http` target.
        url: Url,
    },
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::TooManyRedirects { max } => write!(f, "too many redirects (max {max})"),
            RedirectError::InvalidLocation { location } => {
                write!(f, "server sent an invalid redirect Location: {location:?}")
            }
            RedirectError::NonHttpLocation { url } => {
                write!(f, "server redirected to a non-HTTP URL: {url}")
            }
            RedirectError::BodyNotReplayable { status } => write!(
                f,
                "redirect {status} requires sending the body again, but it is a one-shot stream"
            ),
            RedirectError::InsecureDowngrade { url } => {
                write!(f, "refused https to http redirect to {url}")
            }
        }
    }
}

impl std::error::Error for RedirectError {}

/// Headers that describe a body; dropped with the body.
const BODY_HEADERS: [HeaderName; 6] = [
    header::CONTENT_LENGTH,
    header::CONTENT_TYPE,
    header::TRANSFER_ENCODING,
    header::CONTENT_ENCODING,
    header::CONTENT_LANGUAGE,
    header::CONTENT_LOCATION,
];

/// Headers only the original origin may see.
const CREDENTIAL_HEADERS: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::COOKIE,
    header::PROXY_AUTHORIZATION,
    header::HOST,
];

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Follows one request through its redirects. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Redirects {
    policy: RedirectPolicy,
    current: RedirectRequest,
    history: Vec<RedirectHop>,
}

impl Redirects {
    /// Starts with the request as the caller made it.
    #[must_use]
    pub fn new(policy: RedirectPolicy, request: RedirectRequest) -> Self {
        Self {
            policy,
            current: request,
            history: Vec::new(),
        }
    }

    /// The request to send now.
    #[must_use]
    pub fn current(&self) -> &RedirectRequest {
        &self.current
    }

    /// The redirect responses followed so far, oldest first.
    #[must_use]
    pub fn history(&self) -> &[RedirectHop] {
        &self.history
    }

    /// Decides what to do with a response to [`current`](Self::current) that has
    /// `status` and (raw) `Location` header value.
    pub fn handle_response(
        &mut self,
        status: StatusCode,
        location: Option<&[u8]>,
    ) -> Result<RedirectDecision, RedirectError> {
        let code = status.as_u16();
        if !self.policy.follow || !matches!(code, 301 | 302 | 303 | 307 | 308) {
            return Ok(RedirectDecision::Done);
        }
        // A redirect without Location is handed to the caller as the final response.
        let Some(location) = location else {
            return Ok(RedirectDecision::Done);
        };
        if self.history.len() >= self.policy.max_redirects {
            return Err(RedirectError::TooManyRedirects {
                max: self.policy.max_redirects,
            });
        }
        let invalid = || RedirectError::InvalidLocation {
            location: String::from_utf8_lossy(location).into_owned(),
        };
        let text = std::str::from_utf8(location).map_err(|_| invalid())?;
        let mut target = self.current.url.join(text.trim()).map_err(|_| invalid())?;
        if !matches!(target.scheme(), "http" | "https") {
            return Err(RedirectError::NonHttpLocation { url: target });
        }
        if target.host_str().map_or(true, str::is_empty) {
            return Err(invalid());
        }
        if target.fragment().is_none() {
            if let Some(f) = self.current.url.fragment() {
                target.set_fragment(Some(f));
            }
        }
        let downgraded = self.current.url.scheme() == "https" && target.scheme() == "http";
        if downgraded && self.policy.forbid_https_downgrade {
            return Err(RedirectError::InsecureDowngrade { url: target });
        }

        let mut next = self.current.clone();
        let to_get = (code == 303 && next.method != Method::HEAD)
            || (matches!(code, 301 | 302) && next.method == Method::POST);
        if to_get {
            next.method = Method::GET;
            next.body = RedirectBody::None;
            for h in &BODY_HEADERS {
                next.headers.remove(h);
            }
        } else if matches!(code, 307 | 308) && next.body == RedirectBody::NotReplayable {
            return Err(RedirectError::BodyNotReplayable { status });
        }
        let credentials_stripped = !same_origin(&self.current.url, &target)
            && CREDENTIAL_HEADERS
                .iter()
                .any(|h| next.headers.contains_key(h));
        if !same_origin(&self.current.url, &target) {
            for h in &CREDENTIAL_HEADERS {
                next.headers.remove(h);
            }
        }
        next.url = target;

        self.history.push(RedirectHop {
            status,
            url: self.current.url.clone(),
        });
        self.current = next.clone();
        Ok(RedirectDecision::Follow(Box::new(FollowRedirect {
            request: next,
            credentials_stripped,
            downgraded,
        })))
    }
}
