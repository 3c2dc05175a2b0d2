//! Name resolution for the client: the runtime's resolver or one the user supplies,
//! behind a small cache with a TTL (aiohttp's `use_dns_cache` / `ttl_dns_cache`).
//!
//! The cache is bounded ([`MAX_ENTRIES`]); when full, expired entries go first, then
//! everything (a burst of distinct hosts costs lookups, never memory).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::happy_eyeballs::ConnectOptions;
use super::trace::{TraceEvent, Tracer};
use crate::rt::Runtime;

/// Most cached names.
pub const MAX_ENTRIES: usize = 1024;

/// A boxed lookup future.
pub type ResolveFuture = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send>>;

/// A replacement for the runtime's resolver (aiohttp's `resolver=`).
pub trait Resolve: Send + Sync + 'static {
    /// The addresses of `host` (a name, never an IP literal) for `port`.
    fn resolve(&self, host: &str, port: u16) -> ResolveFuture;
}

/// A resolver from a fixed table, e.g. to point names at loopback in tests; names not
/// in the table fail as not found.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    table: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `host` (case-insensitive) to `ip` (call again to add more addresses).
    pub fn add(mut self, host: &str, ip: IpAddr) -> Self {
        self.table
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push(ip);
        self
    }
}

impl Resolve for StaticResolver {
    fn resolve(&self, host: &str, port: u16) -> ResolveFuture {
        let found = self.table.get(&host.to_ascii_lowercase()).map(|ips| {
            ips.iter()
                .map(|ip| SocketAddr::new(*ip, port))
                .collect::<Vec<_>>()
        });
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "name not in the table"))
        })
    }
}

/// DNS settings of a session.
#[derive(Clone)]
pub(crate) struct DnsConfig {
    pub(crate) resolver: Option<Arc<dyn Resolve>>,
    pub(crate) use_cache: bool,
    /// `None`: cached entries never expire.
    pub(crate) ttl: Option<Duration>,
    /// How the resolved addresses are connected (kept here: it travels with the
    /// resolver to every connect).
    pub(crate) connect: ConnectOptions,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            resolver: None,
            use_cache: true,
            ttl: Some(Duration::from_secs(10)),
            connect: ConnectOptions::default(),
        }
    }
}

/// Cached addresses and when they expire (`None`: never).
type CacheEntry = (Vec<SocketAddr>, Option<Instant>);

/// The session's resolver and cache.
pub(crate) struct Dns {
    config: DnsConfig,
    cache: Mutex<HashMap<(String, u16), CacheEntry>>,
}

impl Dns {
    pub(crate) fn new(config: DnsConfig) -> Self {
        Self {
            config,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Happy eyeballs delay and local address of the session.
    pub(crate) fn connect_options(&self) -> ConnectOptions {
        self.config.connect
    }

    fn cached(&self, host: &str, port: u16, now: Instant) -> Option<Vec<SocketAddr>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let (addrs, expires) = cache.get(&(host.to_owned(), port))?;
        expires.map_or(true, |e| now < e).then(|| addrs.clone())
    }

    fn store(&self, host: &str, port: u16, addrs: &[SocketAddr], now: Instant) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_ENTRIES {
            cache.retain(|_, (_, exp)| exp.map_or(true, |e| now < e));
            if cache.len() >= MAX_ENTRIES {
                cache.clear();
            }
        }
        let expires = self.config.ttl.and_then(|t| now.checked_add(t));
        cache.insert((host.to_owned(), port), (addrs.to_vec(), expires));
    }

    /// The addresses of `host:port`, from the cache or a fresh lookup.
    pub(crate) async fn lookup<R: Runtime>(
        &self,
        rt: &R,
        host: &str,
        port: u16,
        tracer: &Tracer,
    ) -> io::Result<Vec<SocketAddr>> {
        let now = rt.now();
        if self.config.use_cache {
            if let Some(addrs) = self.cached(host, port, now) {
                tracer.emit(TraceEvent::DnsCacheHit { host });
                return Ok(addrs);
            }
            tracer.emit(TraceEvent::DnsCacheMiss { host });
        }
        tracer.emit(TraceEvent::DnsResolveHostStart { host });
        let addrs = match &self.config.resolver {
            Some(r) => r.resolve(host, port).await?,
            None => rt.resolve(host, port).await?,
        };
        tracer.emit(TraceEvent::DnsResolveHostEnd { host });
        if self.config.use_cache && !addrs.is_empty() {
            self.store(host, port, &addrs, rt.now());
        }
        Ok(addrs)
    }
}
