//! The client side: [`ws_connect`] and [`WsConnect`] (aiohttp's `session.ws_connect`).
//!
//! # Theory of operation
//!
//! ```text
//!   resolve + TCP connect ─► connect_on_stream ─► GET + Upgrade (h1 Conn<Client>)
//!     ─► 101 head: ClientHandshake::check_response (accept key, protocol, deflate)
//!     ─► Conn::into_upgraded(): leftover bytes ─► core WebSocket::client ─► socket task
//! ```
//!
//! `connect_on_stream` takes any connected stream (TLS, a proxy tunnel), so the client
//! session can run the handshake on a connection it made itself. The whole handshake,
//! resolving and connecting included, is bounded by the handshake timeout.

use std::future::poll_fn;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use sansweb_core::h1::{self, Client, Conn, Event, RequestHead};
use sansweb_core::ws::{
    ClientHandshake, DeflateConfig, MaskKeySource, Negotiated, WebSocket as CoreWs,
};

use super::handle::{Info, WebSocket};
use super::settings::{settings_builders, Settings};
use super::{task, WsError};
use crate::driver::Transport;
use crate::rt::{Runtime, Stream};
use crate::web::DynRuntime;

/// Default bound on resolving, connecting and the opening handshake.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects to a `ws://` URL with the default options (aiohttp's `ws_connect(url)`).
pub async fn ws_connect<R: Runtime>(rt: &R, url: &str) -> Result<WebSocket, WsError> {
    WsConnect::new().connect(rt, url).await
}

/// Options of a client connection (aiohttp's `ws_connect` arguments).
///
/// ```no_run
/// # #[cfg(feature = "runtime-tokio")] {
/// use std::time::Duration;
/// use sansweb::rt::{Runtime, TokioRuntime};
/// use sansweb::ws::WsConnect;
/// TokioRuntime::block_on(|rt| async move {
///     let ws = WsConnect::new()
///         .protocols(&["chat"])
///         .heartbeat(Duration::from_secs(30))
///         .connect(&rt, "ws://127.0.0.1:9002/chat")
///         .await?;
///     ws.send_json(&serde_json::json!({"hello": "world"})).await
/// }).unwrap().unwrap();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WsConnect {
    settings: Settings,
    protocols: Vec<String>,
    headers: HeaderMap,
    deflate: DeflateConfig,
    handshake_timeout: Duration,
}

impl Default for WsConnect {
    fn default() -> Self {
        WsConnect {
            settings: Settings::default(),
            protocols: Vec::new(),
            headers: HeaderMap::new(),
            deflate: DeflateConfig::default(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}

settings_builders!(WsConnect);

/// Where a `ws://` URL points.
struct Target {
    host: String,
    port: u16,
    tls: bool,
    authority: String,
    path: Uri,
}

impl Target {
    fn parse(url: &str) -> Result<Target, WsError> {
        let bad = |why: &str| WsError::InvalidUrl(format!("{url}: {why}"));
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let default_port = match uri.scheme_str() {
            Some("ws" | "http") => 80,
            Some("wss" | "https") => 443,
            _ => return Err(bad("scheme must be ws:// or wss://")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|_| bad("bad path"))?;
        Ok(Target {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(default_port),
            tls: default_port == 443,
            authority: authority.as_str().to_owned(),
            path,
        })
    }
}

impl WsConnect {
    /// aiohttp's defaults: compression offered, autoping, 4 MiB messages, no heartbeat,
    /// no receive timeout, 10 s close timeout, 30 s handshake timeout.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Subprotocols to offer, in order of preference.
    #[must_use]
    pub fn protocols(mut self, protocols: &[&str]) -> Self {
        self.protocols = protocols.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// Adds a header to the upgrade request (the handshake's own headers win).
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The permessage-deflate offer made when compression is on.
    #[must_use]
    pub fn deflate_config(mut self, config: DeflateConfig) -> Self {
        self.deflate = config;
        self
    }

    /// Bound on resolving, connecting and the opening handshake (default 30 s).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Resolves the URL's host, connects over TCP and runs the handshake. `wss://` needs
    /// TLS, which this standalone path does not do: use the client session, or connect a
    /// TLS stream yourself and call [`connect_on_stream`](Self::connect_on_stream).
    pub async fn connect<R: Runtime>(&self, rt: &R, url: &str) -> Result<WebSocket, WsError> {
        let target = Target::parse(url)?;
        if target.tls {
            return Err(WsError::InvalidUrl(format!(
                "{url}: wss:// needs TLS; use the client session or connect_on_stream"
            )));
        }
        let deadline = rt.now() + self.handshake_timeout;
        let attempt = async {
            let addrs = rt.resolve(&target.host, target.port).await?;
            let mut last = io::Error::new(io::ErrorKind::NotFound, "host resolved to no address");
            for addr in addrs {
                match rt.connect_tcp(addr).await {
                    Ok(stream) => return self.handshake(rt, stream, &target).await,
                    Err(e) => last = e,
                }
            }
            Err(WsError::Io(last))
        };
        let timeout = async {
            rt.sleep_until(deadline).await;
            Err(WsError::HandshakeTimeout)
        };
        futures_lite::future::or(attempt, timeout).await
    }

    /// Runs the opening handshake for `url` on an already connected `stream` (plain TCP,
    /// TLS, a proxy tunnel) and starts the connection's socket task on `rt`.
    pub async fn connect_on_stream<R: Runtime, S: Stream>(
        &self,
        rt: &R,
        stream: S,
        url: &str,
    ) -> Result<WebSocket, WsError> {
        let target = Target::parse(url)?;
        let deadline = rt.now() + self.handshake_timeout;
        let timeout = async {
            rt.sleep_until(deadline).await;
            Err(WsError::HandshakeTimeout)
        };
        futures_lite::future::or(self.handshake(rt, stream, &target), timeout).await
    }

    async fn handshake<R: Runtime, S: Stream>(
        &self,
        rt: &R,
        stream: S,
        target: &Target,
    ) -> Result<WebSocket, WsError> {
        let mut head = RequestHead::new(Method::GET, target.path.clone());
        let host = HeaderValue::from_str(&target.authority)
            .map_err(|_| WsError::InvalidUrl(target.authority.clone()))?;
        head.headers.insert(http::header::HOST, host);
        let (ws, _) = self.handshake_head(rt, stream, head).await?;
        Ok(ws)
    }

    /// Runs the opening handshake with `head` (its target and `Host` set, plus any
    /// headers of the caller's own: cookies, authorization) and starts the socket task.
    /// Returns the connection and the 101 response's headers (its `Set-Cookie`s).
    pub(crate) async fn handshake_head<R: Runtime, S: Stream>(
        &self,
        rt: &R,
        stream: S,
        mut head: RequestHead,
    ) -> Result<(WebSocket, HeaderMap), WsError> {
        let mut key = [0u8; 16];
        random_bytes(&mut key);
        let mut hs = ClientHandshake::new(key).protocols(self.protocols.iter().cloned());
        if self.settings.compress {
            hs = hs.deflate(self.deflate);
        }
        for (name, value) in &self.headers {
            if !head.headers.contains_key(name) {
                head.headers.append(name, value.clone());
            }
        }
        hs.add_headers(&mut head.headers);

        let (stream, leftover, negotiated, headers) = upgrade(rt, stream, head, &hs).await?;

        let dyn_rt = DynRuntime::new(rt.clone());
        let config = self.settings.core_config(negotiated.deflate);
        let core = CoreWs::client(config, OsMaskKeys::new(), rt.now());
        let info = Info {
            protocol: negotiated.protocol,
            compressed: negotiated.deflate.is_some(),
            receive_timeout: self.settings.receive_timeout,
        };
        let ws = task::spawn(
            &dyn_rt,
            core,
            self.settings.autoping,
            Box::new(stream),
            &leftover,
            info,
        );
        Ok((ws, headers))
    }

    /// The handshake timeout (see [`handshake_timeout`](Self::handshake_timeout)).
    pub(crate) fn handshake_deadline(&self) -> Duration {
        self.handshake_timeout
    }
}

/// Sends the upgrade request and reads the answer: the stream back, the bytes after the
/// 101 head, what was agreed, and the 101 head's headers.
async fn upgrade<R: Runtime, S: Stream>(
    rt: &R,
    stream: S,
    head: RequestHead,
    hs: &ClientHandshake,
) -> Result<(S, Bytes, Negotiated, HeaderMap), WsError> {
    let now = rt.now();
    let mut conn: Conn<Client> = Conn::new(h1::Config::client(), now);
    conn.send_request(now, head).map_err(WsError::Http)?;
    conn.send_end(now, None).map_err(WsError::Http)?;
    let mut transport = Transport::new(stream);
    let mut negotiated = None;
    let mut headers = HeaderMap::new();
    let mut upgraded = false;
    poll_fn(|cx| loop {
        let written = match transport.poll_write_from(cx, &mut conn) {
            Poll::Ready(Ok(())) => true,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(WsError::Io(e))),
            Poll::Pending => false,
        };
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Head(resp) => {
                    negotiated = Some(hs.check_response(resp.status, &resp.headers)?);
                    headers = resp.headers.into_map();
                }
                Event::Upgrade => upgraded = true,
                Event::Error(e) => return Poll::Ready(Err(WsError::Http(e))),
                Event::Closed => {
                    return Poll::Ready(Err(WsError::Io(io::ErrorKind::UnexpectedEof.into())))
                }
                // 1xx interim heads; nothing else comes before a 101 head.
                _ => {}
            }
        }
        if upgraded && negotiated.is_some() {
            if written {
                return Poll::Ready(Ok(()));
            }
            return Poll::Pending;
        }
        if transport.read_closed() {
            return Poll::Ready(Err(WsError::Io(io::ErrorKind::UnexpectedEof.into())));
        }
        match transport.poll_read_into(cx, &mut conn, || rt.now()) {
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(WsError::Io(e))),
            Poll::Pending => return Poll::Pending,
        }
    })
    .await?;
    let (stream, _) = transport.into_parts();
    let leftover = conn.into_upgraded().read_buf;
    let negotiated = negotiated.unwrap_or_default();
    Ok((stream, leftover, negotiated, headers))
}

/// Fills `buf` from the OS RNG. Should the OS refuse (it does not on supported systems),
/// falls back to std's randomly keyed SipHash, which is seeded from the OS too.
fn random_bytes(buf: &mut [u8]) {
    if getrandom::fill(buf).is_ok() {
        return;
    }
    for chunk in buf.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(chunk.as_ptr() as usize);
        let v = h.finish().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// Keys fetched per OS RNG call: 1024 keys, so a stream of small frames makes one
/// `getrandom` call per thousand frames (at 64 keys a call it was a third of the 64 B
/// echo client's system calls; tungstenite's ChaCha makes a few per run).
const KEY_BATCH: usize = 4096;

/// Client masking keys from the OS RNG, fetched [`KEY_BATCH`] bytes at a time so a frame
/// costs no system call.
struct OsMaskKeys {
    buf: Box<[u8; KEY_BATCH]>,
    pos: usize,
}

impl OsMaskKeys {
    fn new() -> Self {
        OsMaskKeys {
            buf: Box::new([0; KEY_BATCH]),
            pos: KEY_BATCH,
        }
    }
}

impl MaskKeySource for OsMaskKeys {
    fn next_key(&mut self) -> [u8; 4] {
        if self.pos + 4 > self.buf.len() {
            random_bytes(&mut self.buf[..]);
            self.pos = 0;
        }
        let mut key = [0; 4];
        key.copy_from_slice(&self.buf[self.pos..self.pos + 4]);
        self.pos += 4;
        key
    }
}
