//! [`ClientSession`] and its builder: the settings every request of a session shares
//! (aiohttp's `ClientSession(...)` arguments) plus its pool and cookie jar.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Method;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sansweb_core::client::{ClientTimeout, CookieJar, CookieJarConfig, PoolConfig, RedirectPolicy};
use url::Url;

use super::connector::Connect;
use super::dns::{DnsConfig, Resolve};
use super::error::ClientError;
use super::middleware::{ClientMiddleware, ClientRequest, MiddlewareFuture, Middlewares, Next};
use super::pool::SessionPool;
use super::proxy::EnvProxies;
use super::request::RequestBuilder;
use super::tls::TlsOptions;
use super::trace::{TraceEvent, Tracer};
use crate::rt::Runtime;

/// Default cap on a decompressed body (a zip bomb fails past it).
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 1 << 30;

pub(crate) struct SessionInner<R: Runtime> {
    pub(crate) rt: R,
    pub(crate) pool: Arc<SessionPool<R>>,
    pub(crate) default_headers: HeaderMap,
    pub(crate) base_url: Option<Url>,
    pub(crate) cookie_jar: Option<Arc<Mutex<CookieJar>>>,
    pub(crate) timeout: ClientTimeout,
    pub(crate) raise_for_status: bool,
    pub(crate) redirects: RedirectPolicy,
    pub(crate) auto_decompress: bool,
    pub(crate) max_decompressed: u64,
    pub(crate) tls_id: u64,
    pub(crate) proxy: Option<Arc<Url>>,
    pub(crate) env_proxies: Option<EnvProxies>,
    pub(crate) middlewares: Middlewares<R>,
    /// The last request URL string and its parse: a client usually hits the same URL
    /// again and again, and parsing one (`url` crate, IDNA host checks) costs more than
    /// the whole HTTP/1.1 exchange's encoding and parsing. Keyed by the exact string, so
    /// a hit is the same parse.
    pub(crate) last_url: Mutex<Option<(String, Url)>>,
}

/// An HTTP client session (aiohttp's `ClientSession`): a connection pool, a cookie jar
/// and default settings shared by its requests. Cheap to clone (clones share
/// everything). Dropping the last clone closes its idle connections.
///
/// ```no_run
/// # async fn demo() -> Result<(), sansweb::client::ClientError> {
/// let session = sansweb::ClientSession::new();
/// let mut response = session.get("http://127.0.0.1:8080/get").send().await?;
/// println!("{} {}", response.status(), response.text().await?);
/// # Ok(()) }
/// ```
pub struct ClientSession<R: Runtime> {
    pub(crate) inner: Arc<SessionInner<R>>,
}

impl<R: Runtime> Clone for ClientSession<R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

#[cfg(any(
    feature = "runtime-tokio",
    feature = "runtime-smol",
    feature = "runtime-async-std"
))]
impl ClientSession<crate::rt::DefaultRuntime> {
    /// A session with aiohttp's defaults on the default runtime.
    ///
    /// # Panics
    /// With tokio as the default runtime: when called outside a tokio runtime (as
    /// `tokio::spawn` does); use [`ClientSession::with_runtime`] to pass one.
    pub fn new() -> Self {
        Self::builder().build_or_default()
    }

    /// A builder on the default runtime (see [`ClientSession::new`] for the panic).
    pub fn builder() -> ClientSessionBuilder<crate::rt::DefaultRuntime> {
        ClientSessionBuilder::new(default_runtime())
    }
}

#[cfg(feature = "runtime-tokio")]
fn default_runtime() -> crate::rt::DefaultRuntime {
    crate::rt::TokioRuntime::try_current()
        .expect("ClientSession::new() outside a tokio runtime: use ClientSession::with_runtime")
}
#[cfg(all(not(feature = "runtime-tokio"), feature = "runtime-smol"))]
fn default_runtime() -> crate::rt::DefaultRuntime {
    crate::rt::SmolRuntime::global()
}
#[cfg(all(
    not(feature = "runtime-tokio"),
    not(feature = "runtime-smol"),
    feature = "runtime-async-std"
))]
fn default_runtime() -> crate::rt::DefaultRuntime {
    crate::rt::AsyncStdRuntime
}

#[cfg(any(
    feature = "runtime-tokio",
    feature = "runtime-smol",
    feature = "runtime-async-std"
))]
impl Default for ClientSession<crate::rt::DefaultRuntime> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Runtime> ClientSession<R> {
    /// A session with aiohttp's defaults on `rt`.
    pub fn with_runtime(rt: R) -> Self {
        ClientSessionBuilder::new(rt).build_or_default()
    }

    /// A builder on `rt`.
    pub fn builder_with_runtime(rt: R) -> ClientSessionBuilder<R> {
        ClientSessionBuilder::new(rt)
    }

    /// A request with any method.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder<R> {
        RequestBuilder::new(self.clone(), method, url)
    }

    /// A GET request.
    pub fn get(&self, url: &str) -> RequestBuilder<R> {
        self.request(Method::GET, url)
    }
    /// A POST request.
    pub fn post(&self, url: &str) -> RequestBuilder<R> {
        self.request(Method::POST, url)
    }
    /// A PUT request.
    pub fn put(&self, url: &str) -> RequestBuilder<R> {
        self.request(Method::PUT, url)
    }
    /// A PATCH request.
    pub fn patch(&self, url: &str) -> RequestBuilder<R> {
        self.request(Method::PATCH, url)
    }
    /// A DELETE request.
    pub fn delete(&self, url: &str) -> RequestBuilder<R> {
        self.request(Method::DELETE, url)
    }
    /// A HEAD request.
    pub fn head(&self, url: &str) -> RequestBuilder<R> {
        self.request(Method::HEAD, url)
    }
    /// An OPTIONS request.
    pub fn options(&self, url: &str) -> RequestBuilder<R> {
        self.request(Method::OPTIONS, url)
    }

    /// Opens a WebSocket through this session (aiohttp's `session.ws_connect`): its
    /// cookies, default headers, base URL, TLS settings, proxy and connect timeout apply.
    /// Set options on the returned builder, then `.await` it.
    pub fn ws_connect(&self, url: &str) -> crate::ws::SessionWsConnect<R> {
        crate::ws::SessionWsConnect::new(self.clone(), url)
    }

    /// The runtime the session runs on.
    pub fn runtime(&self) -> &R {
        &self.inner.rt
    }

    /// The session's cookie jar (shared with clones), if it has one.
    pub fn cookie_jar(&self) -> Option<&Arc<Mutex<CookieJar>>> {
        self.inner.cookie_jar.as_ref()
    }

    /// The headers sent with every request.
    pub fn default_headers(&self) -> &HeaderMap {
        &self.inner.default_headers
    }

    /// The session's default timeouts.
    pub fn timeout(&self) -> ClientTimeout {
        self.inner.timeout
    }

    /// Open connections (in use, idle or connecting).
    pub fn open_connections(&self) -> usize {
        self.inner.pool.open_count()
    }

    /// Idle keep-alive connections waiting for reuse.
    pub fn idle_connections(&self) -> usize {
        self.inner.pool.idle_count()
    }

    /// Closes the idle connections now (aiohttp's `session.close()`; connections in
    /// use close when their responses are done or dropped).
    pub fn close(&self) {
        self.inner.pool.close_idle();
    }
}

impl<R: Runtime> Drop for SessionInner<R> {
    fn drop(&mut self) {
        self.pool.close_idle();
    }
}

/// Builds a [`ClientSession`]; every setting defaults to aiohttp's.
pub struct ClientSessionBuilder<R: Runtime> {
    rt: R,
    headers: HeaderMap,
    base_url: Option<String>,
    cookie_jar: Option<Arc<Mutex<CookieJar>>>,
    timeout: ClientTimeout,
    pool: PoolConfig,
    raise_for_status: bool,
    redirects: RedirectPolicy,
    auto_decompress: bool,
    max_decompressed: u64,
    tls: TlsOptions,
    proxy: Option<String>,
    tracer: Tracer,
    unix: Option<std::path::PathBuf>,
    dns: DnsConfig,
    trust_env: bool,
    connector: Option<Arc<dyn Connect>>,
    middlewares: Middlewares<R>,
    error: Option<ClientError>,
}

impl<R: Runtime> ClientSessionBuilder<R> {
    fn new(rt: R) -> Self {
        Self {
            rt,
            headers: HeaderMap::new(),
            base_url: None,
            cookie_jar: Some(Arc::new(Mutex::new(CookieJar::new()))),
            timeout: ClientTimeout::default(),
            pool: PoolConfig::default(),
            raise_for_status: false,
            redirects: RedirectPolicy::default(),
            auto_decompress: true,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            tls: TlsOptions::default(),
            proxy: None,
            tracer: Tracer::default(),
            unix: None,
            dns: DnsConfig::default(),
            trust_env: false,
            connector: None,
            middlewares: Vec::new(),
            error: None,
        }
    }

    /// Adds a header sent with every request (a request's own header replaces it).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => {
                self.headers.append(n, v);
            }
            _ => {
                self.error.get_or_insert(ClientError::Request(format!(
                    "invalid default header {name:?}"
                )));
            }
        }
        self
    }

    /// Adds every header of `headers` to the defaults.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        for (name, value) in &headers {
            self.headers.append(name.clone(), value.clone());
        }
        self
    }

    /// Relative request URLs are joined to this one (aiohttp's `base_url`).
    pub fn base_url(mut self, url: &str) -> Self {
        self.base_url = Some(url.to_owned());
        self
    }

    /// Uses this jar (e.g. one loaded from disk).
    pub fn cookie_jar(mut self, jar: CookieJar) -> Self {
        self.cookie_jar = Some(Arc::new(Mutex::new(jar)));
        self
    }

    /// Shares a jar with other sessions.
    pub fn shared_cookie_jar(mut self, jar: Arc<Mutex<CookieJar>>) -> Self {
        self.cookie_jar = Some(jar);
        self
    }

    /// A jar that also accepts cookies from IP-address hosts (aiohttp's
    /// `CookieJar(unsafe=True)`), handy against servers on 127.0.0.1.
    pub fn cookie_jar_unsafe(self) -> Self {
        self.cookie_jar(CookieJar::with_config(CookieJarConfig {
            unsafe_ip_hosts: true,
            ..CookieJarConfig::default()
        }))
    }

    /// No cookie handling at all (aiohttp's `DummyCookieJar`).
    pub fn no_cookies(mut self) -> Self {
        self.cookie_jar = None;
        self
    }

    /// Default timeouts of every request.
    pub fn timeout(mut self, timeout: ClientTimeout) -> Self {
        self.timeout = timeout;
        self
    }

    /// Most open connections overall (0 = no limit; default 100).
    pub fn limit(mut self, n: usize) -> Self {
        self.pool.limit = n;
        self
    }

    /// Most open connections per host (0 = no limit, the default).
    pub fn limit_per_host(mut self, n: usize) -> Self {
        self.pool.limit_per_host = n;
        self
    }

    /// How long an idle connection is kept (default 15 s).
    pub fn keep_alive(mut self, idle: Duration) -> Self {
        self.pool.keep_alive = idle;
        self
    }

    /// Close every connection after its response (no reuse).
    pub fn force_close(mut self, on: bool) -> Self {
        self.pool.force_close = on;
        self
    }

    /// Turn 4xx/5xx responses into [`ClientError::Response`].
    pub fn raise_for_status(mut self, on: bool) -> Self {
        self.raise_for_status = on;
        self
    }

    /// Follow redirects (default on).
    pub fn follow_redirects(mut self, on: bool) -> Self {
        self.redirects.follow = on;
        self
    }

    /// Most redirects per request (default 10).
    pub fn max_redirects(mut self, n: usize) -> Self {
        self.redirects.max_redirects = n;
        self
    }

    /// Decompress gzip/deflate/br/zstd bodies (default on; `Accept-Encoding` is sent).
    pub fn auto_decompress(mut self, on: bool) -> Self {
        self.auto_decompress = on;
        self
    }

    /// Cap on a decompressed body (default 1 GiB).
    pub fn max_decompressed_size(mut self, bytes: u64) -> Self {
        self.max_decompressed = bytes;
        self
    }

    /// Verify TLS certificates (default true); `false` is aiohttp's `ssl=False`.
    pub fn ssl(mut self, verify: bool) -> Self {
        self.tls.insecure = !verify;
        self
    }

    /// Trusts this CA certificate (DER) in addition to the webpki roots.
    pub fn add_root_certificate(mut self, der: Vec<u8>) -> Self {
        self.tls.extra_roots.push(CertificateDer::from(der));
        self
    }

    /// Trusts only the certificates given with `add_root_certificate`.
    pub fn only_custom_roots(mut self, on: bool) -> Self {
        self.tls.only_extra_roots = on;
        self
    }

    /// Accepts exactly the server certificate whose DER has this SHA-256 digest
    /// (aiohttp's `ssl=Fingerprint(digest)`); chain verification is replaced by the pin.
    pub fn ssl_fingerprint(mut self, sha256: [u8; 32]) -> Self {
        self.tls.fingerprint = Some(sha256);
        self
    }

    /// Presents this client certificate chain (DER) and PKCS#8 key (DER).
    pub fn client_certificate(mut self, chain: Vec<Vec<u8>>, pkcs8_key: Vec<u8>) -> Self {
        let chain = chain.into_iter().map(CertificateDer::from).collect();
        let key = PrivateKeyDer::Pkcs8(pkcs8_key.into());
        self.tls.client_cert = Some((chain, key));
        self
    }

    /// Sends every request through this HTTP proxy (`http://[user:pass@]host:port`):
    /// absolute-form for `http` targets, a `CONNECT` tunnel for `https`.
    pub fn proxy(mut self, url: &str) -> Self {
        self.proxy = Some(url.to_owned());
        self
    }

    /// Resolves names with `resolver` instead of the runtime's (aiohttp's `resolver=`).
    pub fn resolver(mut self, resolver: impl Resolve) -> Self {
        self.dns.resolver = Some(Arc::new(resolver));
        self
    }

    /// Caches resolved names (default on, aiohttp's `use_dns_cache`).
    pub fn use_dns_cache(mut self, on: bool) -> Self {
        self.dns.use_cache = on;
        self
    }

    /// How long a resolved name is cached (default 10 s; `None` = for the session's
    /// life), aiohttp's `ttl_dns_cache`.
    pub fn ttl_dns_cache(mut self, ttl: Option<Duration>) -> Self {
        self.dns.ttl = ttl;
        self
    }

    /// Delay between staggered connection attempts to a host's addresses (happy
    /// eyeballs, RFC 8305; default 250 ms). `None` tries one address at a time, each
    /// after the previous failed (aiohttp's `happy_eyeballs_delay=None`).
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> Self {
        self.dns.connect.happy_eyeballs_delay = delay;
        self
    }

    /// Binds every TCP connection to this local IP (aiohttp's `local_addr`; the OS
    /// picks the port). Addresses of the other family cannot be reached from it.
    pub fn local_addr(mut self, ip: std::net::IpAddr) -> Self {
        self.dns.connect.local_addr = Some(ip);
        self
    }

    /// Connects every request to this Unix-domain socket instead of the URL's host
    /// (aiohttp's `UnixConnector`); the URL still gives `Host` and the path.
    pub fn unix_socket(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.unix = Some(path.into());
        self
    }

    /// HTTP Basic credentials sent with every request (aiohttp's `auth=BasicAuth(..)`);
    /// dropped on redirects to another origin.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {token}"))
    }

    /// Adds a trace callback (aiohttp's `trace_configs`): it sees every
    /// [`TraceEvent`] of every request of the session.
    pub fn trace(mut self, f: impl Fn(&TraceEvent<'_>) + Send + Sync + 'static) -> Self {
        self.tracer = self.tracer.with(Arc::new(f));
        self
    }

    /// Takes proxies from `HTTP_PROXY` / `HTTPS_PROXY` / `NO_PROXY`, read when the
    /// session is built (aiohttp's `trust_env=True`); an explicit proxy wins.
    pub fn trust_env(mut self, on: bool) -> Self {
        self.trust_env = on;
        self
    }

    /// Opens every connection with `connector` instead of TCP (+ proxy + TLS): an
    /// in-memory server, a mock, a recorder. The session speaks plain HTTP/1.1 over what
    /// it returns; see [`Connect`].
    pub fn connector(mut self, connector: impl Connect) -> Self {
        self.connector = Some(Arc::new(connector));
        self
    }

    /// Adds a middleware (aiohttp's `middlewares=`): it sees every hop of every request
    /// and decides what to do with it, in the order added, before the request's own.
    ///
    /// ```no_run
    /// # use sansweb::client::{ClientRequest, MiddlewareFuture, Next};
    /// # use sansweb::rt::TokioRuntime;
    /// # fn demo(rt: TokioRuntime) {
    /// let session = sansweb::ClientSession::builder_with_runtime(rt)
    ///     .middleware(|mut req: ClientRequest, next: Next<'_, TokioRuntime>| -> MiddlewareFuture<'_, TokioRuntime> {
    ///         Box::pin(async move {
    ///             req.headers.insert("x-signed", "yes".parse().unwrap());
    ///             let response = next.run(req).await?;
    ///             println!("{}", response.status());
    ///             Ok(response)
    ///         })
    ///     })
    ///     .build();
    /// # }
    /// ```
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

    /// Adds a middleware given as a [`ClientMiddleware`] value (a struct with state).
    pub fn middleware_value(mut self, m: impl ClientMiddleware<R>) -> Self {
        self.middlewares.push(Arc::new(m));
        self
    }

    /// The session, or the first invalid setting.
    pub fn build(self) -> Result<ClientSession<R>, ClientError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let base_url = match &self.base_url {
            Some(u) => Some(
                Url::parse(u).map_err(|e| ClientError::InvalidUrl(format!("base URL {u}: {e}")))?,
            ),
            None => None,
        };
        let proxy = match &self.proxy {
            Some(p) => Some(Arc::new(parse_proxy(p)?)),
            None => None,
        };
        let tls = self.tls.build()?;
        let tls_id = tls_settings_id(&self.tls);
        let pool = SessionPool::new(
            self.rt.clone(),
            self.pool,
            Some(tls),
            self.tracer,
            self.unix,
            self.dns,
            self.connector,
        );
        Ok(ClientSession {
            inner: Arc::new(SessionInner {
                rt: self.rt,
                pool,
                default_headers: self.headers,
                base_url,
                cookie_jar: self.cookie_jar,
                timeout: self.timeout,
                raise_for_status: self.raise_for_status,
                redirects: self.redirects,
                auto_decompress: self.auto_decompress,
                max_decompressed: self.max_decompressed,
                tls_id,
                proxy,
                env_proxies: self
                    .trust_env
                    .then(|| EnvProxies::from_lookup(|k| std::env::var(k).ok())),
                middlewares: self.middlewares,
                last_url: Mutex::new(None),
            }),
        })
    }

    /// `build()` for the default settings, which cannot fail.
    fn build_or_default(self) -> ClientSession<R> {
        let rt = self.rt.clone();
        self.build().unwrap_or_else(|_| {
            // Only reachable if the default TLS provider failed to initialise; then run
            // without TLS so plain HTTP still works (https requests report an error).
            let pool = SessionPool::new(
                rt.clone(),
                PoolConfig::default(),
                None,
                Tracer::default(),
                None,
                DnsConfig::default(),
                None,
            );
            ClientSession {
                inner: Arc::new(SessionInner {
                    rt,
                    pool,
                    default_headers: HeaderMap::new(),
                    base_url: None,
                    cookie_jar: Some(Arc::new(Mutex::new(CookieJar::new()))),
                    timeout: ClientTimeout::default(),
                    raise_for_status: false,
                    redirects: RedirectPolicy::default(),
                    auto_decompress: true,
                    max_decompressed: DEFAULT_MAX_DECOMPRESSED,
                    tls_id: 0,
                    proxy: None,
                    env_proxies: None,
                    middlewares: Vec::new(),
                    last_url: Mutex::new(None),
                }),
            }
        })
    }
}

/// A number naming the TLS settings, so the pool never mixes connections made with
/// different ones.
fn tls_settings_id(tls: &TlsOptions) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    tls.insecure.hash(&mut h);
    tls.only_extra_roots.hash(&mut h);
    for c in &tls.extra_roots {
        c.as_ref().hash(&mut h);
    }
    tls.fingerprint.hash(&mut h);
    if let Some((chain, _)) = &tls.client_cert {
        for c in chain {
            c.as_ref().hash(&mut h);
        }
    }
    h.finish()
}

/// A proxy URL: `http` only (TLS to the proxy itself is not supported).
pub(crate) fn parse_proxy(p: &str) -> Result<Url, ClientError> {
    let url = Url::parse(p).map_err(|e| ClientError::InvalidUrl(format!("proxy {p}: {e}")))?;
    if url.scheme() != "http" || url.host_str().is_none() {
        return Err(ClientError::InvalidUrl(format!(
            "proxy {p}: only http://host:port proxies are supported"
        )));
    }
    Ok(url)
}
