//! [`SessionWsConnect`]: `session.ws_connect(url)`, a WebSocket opened through a
//! [`ClientSession`] (aiohttp's `ClientSession.ws_connect`).
//!
//! # Theory of operation
//!
//! The session lends what it knows about reaching an origin; the WebSocket handshake is
//! the standalone client's ([`WsConnect`]).
//!
//! ```text
//!   url ─► base URL join, ws→http / wss→https (the cookie jar's and the pool's view)
//!       ─► proxy pick (explicit, session, environment)
//!       ─► open_stream: TCP | proxy (CONNECT tunnel for wss, plain for ws) | TLS
//!            bounded by the session's connect timeouts
//!       ─► head: default headers < call headers, jar cookies, Proxy-Authorization
//!       ─► WsConnect handshake ─► 101: its Set-Cookies go into the jar
//! ```
//!
//! The connection never enters the pool: an upgraded socket is never reused for HTTP.
//! The whole thing, connecting included, is bounded by the handshake timeout too.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use base64::Engine;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Uri};
use sansweb_core::client::{PoolKey, RequestTimers};
use sansweb_core::h1::RequestHead;
use sansweb_core::ws::DeflateConfig;
use url::Url;

use super::{WebSocket, WsConnect, WsError};
use crate::client::{
    open_stream, parse_url_text, pick_proxy, proxy_authorization, with_timers, ClientError,
};
use crate::rt::Runtime;
use crate::ClientSession;

/// A WebSocket connection being set up through a session; `.await` it (or call
/// [`connect`](Self::connect)). Made by [`ClientSession::ws_connect`].
///
/// ```no_run
/// # async fn demo() -> Result<(), sansweb::ws::WsError> {
/// use std::time::Duration;
/// let session = sansweb::ClientSession::new();
/// let mut ws = session
///     .ws_connect("wss://example.com/chat")
///     .protocols(&["chat"])
///     .heartbeat(Duration::from_secs(30))
///     .await?;
/// ws.send_str("hello").await?;
/// # Ok(()) }
/// ```
#[must_use = "a ws_connect does nothing until awaited"]
pub struct SessionWsConnect<R: Runtime> {
    session: ClientSession<R>,
    url: String,
    options: WsConnect,
    headers: HeaderMap,
    proxy: Option<String>,
    error: Option<WsError>,
}

impl<R: Runtime> SessionWsConnect<R> {
    pub(crate) fn new(session: ClientSession<R>, url: &str) -> Self {
        SessionWsConnect {
            session,
            url: url.to_owned(),
            options: WsConnect::new(),
            headers: HeaderMap::new(),
            proxy: None,
            error: None,
        }
    }

    /// Subprotocols to offer, in order of preference.
    pub fn protocols(mut self, protocols: &[&str]) -> Self {
        self.options = self.options.protocols(protocols);
        self
    }

    /// Adds a header to the upgrade request; it replaces a session default header of
    /// the same name (the handshake's own headers still win).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => {
                self.error.get_or_insert(WsError::InvalidUrl(format!(
                    "invalid header {name:?}: {value:?}"
                )));
            }
        }
        self
    }

    /// HTTP Basic credentials for the upgrade request (aiohttp's `auth=`).
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {token}"))
    }

    /// Connects through this HTTP proxy instead of the session's.
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(url.to_owned());
        self
    }

    /// Offer permessage-deflate (default on).
    pub fn compress(mut self, on: bool) -> Self {
        self.options = self.options.compress(on);
        self
    }

    /// The permessage-deflate offer made when compression is on.
    pub fn deflate_config(mut self, config: DeflateConfig) -> Self {
        self.options = self.options.deflate_config(config);
        self
    }

    /// Ping every `interval`; the peer is dead when nothing arrives within half of it.
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.options = self.options.heartbeat(interval);
        self
    }

    /// Answer pings automatically and hide pings and pongs (default on).
    pub fn autoping(mut self, on: bool) -> Self {
        self.options = self.options.autoping(on);
        self
    }

    /// How long `receive` waits for a message (default forever).
    pub fn receive_timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.receive_timeout(timeout);
        self
    }

    /// Largest message accepted (default 4 MiB; 0 = no limit).
    pub fn max_msg_size(mut self, bytes: usize) -> Self {
        self.options = self.options.max_msg_size(bytes);
        self
    }

    /// How long `close` waits for the peer's close frame (default 10 s).
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.close_timeout(timeout);
        self
    }

    /// Bound on connecting plus the opening handshake (default 30 s). The session's
    /// connect timeouts bound the connecting part as well.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.options = self.options.handshake_timeout(timeout);
        self
    }

    /// Connects and runs the handshake.
    pub async fn connect(self) -> Result<WebSocket, WsError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let rt = self.session.inner.rt.clone();
        let deadline = rt.now() + self.options.handshake_deadline();
        let timeout = async {
            rt.sleep_until(deadline).await;
            Err(WsError::HandshakeTimeout)
        };
        futures_lite::future::or(self.run(), timeout).await
    }

    async fn run(&self) -> Result<WebSocket, WsError> {
        let inner = &self.session.inner;
        let url = self.http_url()?;
        let bad_url = || WsError::InvalidUrl(format!("{}: no host or port", self.url));
        let mut key = PoolKey::from_url(&url).ok_or_else(bad_url)?;
        if key.scheme == "https" {
            key.tls_config = inner.tls_id;
        }
        let own_proxy = match &self.proxy {
            Some(p) => Some(std::sync::Arc::new(
                crate::client::parse_proxy(p).map_err(WsError::Client)?,
            )),
            None => None,
        };
        let proxy = pick_proxy(
            inner.proxy.as_ref(),
            own_proxy.as_ref(),
            inner.env_proxies.as_ref(),
            &url,
        );
        key.proxy = proxy.as_ref().map(|p| p.to_string());

        let rt = &inner.rt;
        let pool = &inner.pool;
        let mut timers = RequestTimers::new(inner.timeout, rt.now());
        timers.handle_connecting(rt.now());
        let stream = with_timers(
            rt,
            &mut timers,
            false,
            open_stream(
                rt,
                &key,
                pool.tls.as_ref(),
                &pool.tracer,
                pool.unix.as_deref(),
                &pool.dns,
                pool.connector.as_deref(),
            ),
        )
        .await
        .and_then(|r| r)
        .map_err(WsError::Client)?;
        timers.handle_connected(rt.now());

        // Through a plain proxy (ws://), the target is in absolute form.
        let plain_proxy = proxy.as_deref().filter(|_| url.scheme() == "http");
        let head = self.request_head(&url, plain_proxy)?;
        let (ws, headers) = self.options.handshake_head(rt, stream, head).await?;
        if let Some(jar) = &inner.cookie_jar {
            let values: Vec<&str> = headers
                .get_all(header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            if !values.is_empty() {
                let mut jar = jar.lock().unwrap_or_else(|p| p.into_inner());
                jar.store_response_cookies(&url, values, SystemTime::now());
            }
        }
        Ok(ws)
    }

    /// The URL as the jar and the pool see it: joined to the base URL, `ws`→`http`,
    /// `wss`→`https`.
    fn http_url(&self) -> Result<Url, WsError> {
        let bad = |why: String| WsError::InvalidUrl(format!("{}: {why}", self.url));
        let mut url = parse_url_text(self.session.inner.base_url.as_ref(), &self.url)
            .map_err(WsError::InvalidUrl)?;
        let scheme = match url.scheme() {
            "ws" | "http" => "http",
            "wss" | "https" => "https",
            _ => return Err(bad("scheme must be ws:// or wss://".into())),
        };
        url.set_scheme(scheme)
            .map_err(|()| bad("cannot change the scheme".into()))?;
        if url.host_str().map_or(true, str::is_empty) {
            return Err(bad("no host".into()));
        }
        url.set_fragment(None);
        Ok(url)
    }

    fn request_head(&self, url: &Url, plain_proxy: Option<&Url>) -> Result<RequestHead, WsError> {
        let inner = &self.session.inner;
        let target = match plain_proxy {
            Some(_) => url.to_string(),
            None => match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            },
        };
        let bad = || WsError::InvalidUrl(url.to_string());
        let uri: Uri = target.parse().map_err(|_| bad())?;
        let mut head = RequestHead::new(Method::GET, uri);
        head.headers = inner.default_headers.clone().into();
        for name in self.headers.keys() {
            head.headers.remove(name);
        }
        for (name, value) in &self.headers {
            head.headers.append(name, value.clone());
        }
        if !head.headers.contains_key(header::HOST) {
            let host = url.host_str().unwrap_or_default();
            let value = match url.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_owned(),
            };
            head.headers.insert(
                header::HOST,
                HeaderValue::from_str(&value).map_err(|_| bad())?,
            );
        }
        if let Some(jar) = &inner.cookie_jar {
            crate::client::add_jar_cookies(jar, url, &mut head.headers);
        }
        if let Some(auth) = plain_proxy.and_then(proxy_authorization) {
            head.headers.insert(header::PROXY_AUTHORIZATION, auth);
        }
        Ok(head)
    }
}

impl<R: Runtime> IntoFuture for SessionWsConnect<R> {
    type Output = Result<WebSocket, WsError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.connect())
    }
}

impl<R: Runtime> std::fmt::Debug for SessionWsConnect<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionWsConnect")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl From<ClientError> for WsError {
    fn from(e: ClientError) -> Self {
        WsError::Client(e)
    }
}
