//! An RFC 6265 cookie jar with aiohttp's `CookieJar` semantics.
//!
//! # Theory of operation
//!
//! The jar is a list of [`StoredCookie`]s and two operations from RFC 6265:
//!
//! ```text
//!  response from URL ──Set-Cookie──▶ parse (§5.2) ──▶ storage model (§5.3) ──▶ jar
//!                                       │ bad              │ domain/path/secure/
//!                                       ▼                  ▼ prefix/size rules fail
//!                                    ignored            ignored
//!  request to URL ◀── Cookie: a=1; b=2 ◀── retrieval (§5.4): match host, path, secure,
//!                                          not expired; longest path first, then oldest
//! ```
//!
//! Both operations take the wall clock (`now: SystemTime`) as a parameter: the jar never
//! reads a clock, so expiry is testable and deterministic. A cookie the server got wrong
//! is dropped silently (the reason is available from [`CookieJar::try_store`] for
//! diagnostics): one bad `Set-Cookie` must not fail the request that carried it.
//!
//! Domain rules: a cookie without `Domain` is *host-only* (sent back to exactly the host
//! that set it); with `Domain` it goes to that domain and its subdomains, and the setting
//! host must be inside it. `Domain` naming a public suffix (`com`, `co.uk`, per the
//! compiled-in Public Suffix List) is refused unless it equals the host, in which case
//! the cookie becomes host-only. IP-address hosts are refused unless
//! [`CookieJarConfig::unsafe_ip_hosts`] is set (aiohttp's `unsafe=True`), and even then
//! only host-only cookies are possible for them.
//!
//! Memory is bounded: at most [`CookieJarConfig::max_per_domain`] cookies per domain and
//! [`CookieJarConfig::max_total`] overall (expired cookies are evicted first, then the
//! oldest), and at most [`CookieJarConfig::max_cookie_bytes`] of name + value each.

use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use url::{Host, Url};

use super::set_cookie::{parse_set_cookie, SameSite, MAX_NAME_VALUE_BYTES};

/// Limits and policy of a [`CookieJar`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieJarConfig {
    /// Accept (host-only) cookies from IP-address hosts (aiohttp's `unsafe=True`).
    /// Off by default, as in aiohttp.
    pub unsafe_ip_hosts: bool,
    /// Most cookies kept per cookie domain (default 50).
    pub max_per_domain: usize,
    /// Most cookies kept in the jar (default 3000).
    pub max_total: usize,
    /// Largest name + value accepted, in bytes (default and maximum 4096).
    pub max_cookie_bytes: usize,
}

impl Default for CookieJarConfig {
    fn default() -> Self {
        Self {
            unsafe_ip_hosts: false,
            max_per_domain: 50,
            max_total: 3000,
            max_cookie_bytes: MAX_NAME_VALUE_BYTES,
        }
    }
}

/// One cookie in the jar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCookie {
    /// Name (never empty).
    pub name: String,
    /// Value.
    pub value: String,
    /// For a host-only cookie, the host that set it; otherwise the `Domain` attribute.
    /// Always lower case, no leading dot.
    pub domain: String,
    /// The cookie's path (starts with `/`).
    pub path: String,
    /// Sent only to exactly [`domain`](Self::domain), not to its subdomains.
    pub host_only: bool,
    /// Sent only over `https`/`wss`.
    pub secure: bool,
    /// `HttpOnly` (kept; every use here is an HTTP API, so it does not filter).
    pub http_only: bool,
    /// `SameSite` (kept, not enforced, as in aiohttp).
    pub same_site: Option<SameSite>,
    /// Expiry; `None` for a session cookie.
    pub expires: Option<SystemTime>,
    /// When the cookie was first stored (kept across replacements, §5.3 step 11.3).
    pub created: SystemTime,
    /// Insertion sequence number: breaks creation-time ties in retrieval order.
    pub(crate) seq: u64,
}

impl StoredCookie {
    /// Whether the cookie has expired at `now`.
    #[must_use]
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    /// Whether this cookie goes with a request to `host` / `path` over a secure (or not)
    /// channel at `now` (RFC 6265 §5.4 step 1).
    #[must_use]
    pub fn matches(&self, host: &str, path: &str, secure_channel: bool, now: SystemTime) -> bool {
        let host_ok = if self.host_only {
            host == self.domain
        } else {
            domain_match(host, &self.domain)
        };
        host_ok
            && path_match(path, &self.path)
            && (!self.secure || secure_channel)
            && !self.is_expired(now)
    }
}

/// Why a `Set-Cookie` was not stored (the jar ignores it; this is for diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieRejected {
    /// The URL has no host (peer-independent: the caller passed such a URL).
    NoHost,
    /// The host is an IP address and `unsafe_ip_hosts` is off.
    IpHost,
    /// The peer sent a `Set-Cookie` without `name=`, with control characters, or too big.
    Malformed,
    /// The peer named a `Domain` the request host is not inside.
    DomainMismatch,
    /// The peer named a public suffix (`com`, `co.uk`) as `Domain`.
    PublicSuffix,
    /// The peer set a `Secure` cookie over an insecure channel.
    SecureOverInsecure,
    /// The peer tried to overwrite a `Secure` cookie over an insecure channel.
    WouldShadowSecure,
    /// The peer broke a `__Secure-` or `__Host-` name prefix rule.
    PrefixRule,
}

impl fmt::Display for CookieRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CookieRejected::NoHost => "request URL has no host",
            CookieRejected::IpHost => "peer is an IP address host and unsafe_ip_hosts is off",
            CookieRejected::Malformed => "peer sent a malformed or oversized Set-Cookie",
            CookieRejected::DomainMismatch => "peer's Domain attribute does not cover the host",
            CookieRejected::PublicSuffix => "peer's Domain attribute is a public suffix",
            CookieRejected::SecureOverInsecure => "peer set a Secure cookie over plain http",
            CookieRejected::WouldShadowSecure => {
                "peer tried to overwrite a Secure cookie over plain http"
            }
            CookieRejected::PrefixRule => "peer broke a __Secure-/__Host- prefix rule",
        })
    }
}

impl std::error::Error for CookieRejected {}

/// An RFC 6265 cookie jar. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    config: CookieJarConfig,
    cookies: Vec<StoredCookie>,
    next_seq: u64,
}

/// Whether `url` is a secure channel for cookies.
fn is_secure_scheme(url: &Url) -> bool {
    matches!(url.scheme(), "https" | "wss")
}

/// The URL's host, lower-cased, and whether it is an IP address.
fn request_host(url: &Url) -> Option<(String, bool)> {
    let host = url.host()?;
    let is_ip = !matches!(host, Host::Domain(_));
    let s = url.host_str()?.to_ascii_lowercase();
    (!s.is_empty()).then_some((s, is_ip))
}

fn looks_like_ip(s: &str) -> bool {
    s.starts_with('[') || s.parse::<IpAddr>().is_ok()
}

/// Domain matching (RFC 6265 §5.1.3): `string` is `domain` or a subdomain of it, and is a
/// host name (never an IP address).
#[must_use]
pub fn domain_match(string: &str, domain: &str) -> bool {
    if string == domain {
        return true;
    }
    string.len() > domain.len()
        && string.ends_with(domain)
        && string.as_bytes()[string.len() - domain.len() - 1] == b'.'
        && !domain.is_empty()
        && !looks_like_ip(string)
}

/// Path matching (RFC 6265 §5.1.4).
#[must_use]
pub fn path_match(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/')
                || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// The default cookie path of a request URL (RFC 6265 §5.1.4).
#[must_use]
pub fn default_path(url: &Url) -> String {
    let path = url.path();
    if !path.starts_with('/') {
        return "/".to_owned();
    }
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

/// Whether `domain` is a public suffix (a TLD or a registry like `co.uk`). Unknown TLDs
/// count as public suffixes too (the list's implicit `*` rule), as in browsers.
fn is_public_suffix(domain: &str) -> bool {
    let d = domain.trim_end_matches('.');
    match psl::suffix(d.as_bytes()) {
        Some(s) => s.as_bytes() == d.as_bytes(),
        None => false,
    }
}

impl CookieJar {
    /// An empty jar with default limits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty jar with `config`.
    #[must_use]
    pub fn with_config(config: CookieJarConfig) -> Self {
        Self {
            config,
            cookies: Vec::new(),
            next_seq: 0,
        }
    }

    /// The jar's configuration.
    #[must_use]
    pub fn config(&self) -> &CookieJarConfig {
        &self.config
    }

    /// Stores every `Set-Cookie` value of a response from `url`, received at `now`.
    /// Cookies the rules refuse are ignored; returns how many were accepted (a deletion
    /// by a past expiry counts as accepted).
    pub fn store_response_cookies<I, S>(
        &mut self,
        url: &Url,
        set_cookie_values: I,
        now: SystemTime,
    ) -> usize
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        set_cookie_values
            .into_iter()
            .filter(|v| self.try_store(url, v.as_ref(), now).is_ok())
            .count()
    }

    /// Stores one `Set-Cookie` value from `url`, or says why it was refused.
    pub fn try_store(
        &mut self,
        url: &Url,
        set_cookie: &str,
        now: SystemTime,
    ) -> Result<(), CookieRejected> {
        let (host, is_ip) = request_host(url).ok_or(CookieRejected::NoHost)?;
        if is_ip && !self.config.unsafe_ip_hosts {
            return Err(CookieRejected::IpHost);
        }
        let parsed = parse_set_cookie(set_cookie, now).ok_or(CookieRejected::Malformed)?;
        if parsed.name.len() + parsed.value.len() > self.config.max_cookie_bytes {
            return Err(CookieRejected::Malformed);
        }
        let secure_channel = is_secure_scheme(url);
        if parsed.secure && !secure_channel {
            return Err(CookieRejected::SecureOverInsecure);
        }

        let mut domain_attr = parsed.domain;
        if let Some(d) = &domain_attr {
            if is_public_suffix(d) {
                if *d == host {
                    domain_attr = None;
                } else {
                    return Err(CookieRejected::PublicSuffix);
                }
            }
        }
        let (domain, host_only) = match domain_attr {
            // An IP host can only ever be the exact match, so it stays host-only.
            Some(d) if is_ip => {
                if d == host || format!("[{d}]") == host {
                    (host, true)
                } else {
                    return Err(CookieRejected::DomainMismatch);
                }
            }
            Some(d) => {
                if !domain_match(&host, &d) {
                    return Err(CookieRejected::DomainMismatch);
                }
                (d, false)
            }
            None => (host, true),
        };
        let path = parsed.path.unwrap_or_else(|| default_path(url));

        // Name prefixes (RFC 6265bis §4.1.3), matched case-insensitively as browsers do.
        let lower_prefix = parsed.name.get(..9).map(str::to_ascii_lowercase);
        let lower_host_prefix = parsed.name.get(..7).map(str::to_ascii_lowercase);
        if lower_prefix.as_deref() == Some("__secure-") && !(parsed.secure && secure_channel) {
            return Err(CookieRejected::PrefixRule);
        }
        if lower_host_prefix.as_deref() == Some("__host-")
            && !(parsed.secure && secure_channel && host_only && path == "/")
        {
            return Err(CookieRejected::PrefixRule);
        }

        // An insecure origin may not overwrite (or shadow) a Secure cookie (6265bis §5.7).
        if !secure_channel
            && self.cookies.iter().any(|c| {
                c.secure
                    && c.name == parsed.name
                    && (domain_match(&c.domain, &domain) || domain_match(&domain, &c.domain))
                    && path_match(&path, &c.path)
            })
        {
            return Err(CookieRejected::WouldShadowSecure);
        }

        let mut created = now;
        if let Some(i) = self
            .cookies
            .iter()
            .position(|c| c.name == parsed.name && c.domain == domain && c.path == path)
        {
            created = self.cookies.remove(i).created;
        }
        let cookie = StoredCookie {
            name: parsed.name,
            value: parsed.value,
            domain,
            path,
            host_only,
            secure: parsed.secure,
            http_only: parsed.http_only,
            same_site: parsed.same_site,
            expires: parsed.expires,
            created,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        // A cookie that arrives already expired is a deletion: the old one is gone above.
        if cookie.is_expired(now) {
            return Ok(());
        }
        let cookie_domain = cookie.domain.clone();
        self.cookies.push(cookie);
        self.evict(now, Some(&cookie_domain));
        Ok(())
    }

    /// Enforces the per-domain and total limits: expired cookies go first, then the
    /// oldest (by creation time, then insertion order).
    fn evict(&mut self, now: SystemTime, domain: Option<&str>) {
        if let Some(d) = domain {
            let count = self.cookies.iter().filter(|c| c.domain == d).count();
            if count > self.config.max_per_domain {
                self.cookies.retain(|c| c.domain != d || !c.is_expired(now));
                self.evict_oldest(|c| c.domain == d, self.config.max_per_domain);
            }
        }
        if self.cookies.len() > self.config.max_total {
            self.remove_expired(now);
            self.evict_oldest(|_| true, self.config.max_total);
        }
    }

    fn evict_oldest(&mut self, in_scope: impl Fn(&StoredCookie) -> bool, keep: usize) {
        let mut scoped: Vec<(SystemTime, u64)> = self
            .cookies
            .iter()
            .filter(|c| in_scope(c))
            .map(|c| (c.created, c.seq))
            .collect();
        if scoped.len() <= keep {
            return;
        }
        scoped.sort_unstable();
        let doomed: std::collections::HashSet<u64> = scoped[..scoped.len() - keep]
            .iter()
            .map(|(_, s)| *s)
            .collect();
        self.cookies.retain(|c| !doomed.contains(&c.seq));
    }

    /// The cookies to send with a request to `url` at `now`, in `Cookie` header order
    /// (longer paths first, then earlier creation) — aiohttp's `filter_cookies`.
    #[must_use]
    pub fn filter_cookies(&self, url: &Url, now: SystemTime) -> Vec<&StoredCookie> {
        let Some((host, _)) = request_host(url) else {
            return Vec::new();
        };
        let path = if url.path().starts_with('/') {
            url.path()
        } else {
            "/"
        };
        let secure = is_secure_scheme(url);
        let mut out: Vec<&StoredCookie> = self
            .cookies
            .iter()
            .filter(|c| c.matches(&host, path, secure, now))
            .collect();
        out.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.created.cmp(&b.created))
                .then(a.seq.cmp(&b.seq))
        });
        out
    }

    /// The `Cookie` header value for a request to `url` at `now`, if any cookie applies.
    #[must_use]
    pub fn cookie_header_for(&self, url: &Url, now: SystemTime) -> Option<String> {
        let cookies = self.filter_cookies(url, now);
        if cookies.is_empty() {
            return None;
        }
        let mut header = String::new();
        for (i, c) in cookies.iter().enumerate() {
            if i > 0 {
                header.push_str("; ");
            }
            header.push_str(&c.name);
            header.push('=');
            header.push_str(&c.value);
        }
        Some(header)
    }

    /// Removes every cookie for which `predicate` is true; returns how many.
    pub fn clear<F: FnMut(&StoredCookie) -> bool>(&mut self, mut predicate: F) -> usize {
        let before = self.cookies.len();
        self.cookies.retain(|c| !predicate(c));
        before - self.cookies.len()
    }

    /// Removes every cookie.
    pub fn clear_all(&mut self) {
        self.cookies.clear();
    }

    /// Removes the cookies of `domain` and its subdomains (aiohttp's `clear_domain`).
    pub fn clear_domain(&mut self, domain: &str) -> usize {
        let d = domain.trim_start_matches('.').to_ascii_lowercase();
        self.clear(|c| domain_match(&c.domain, &d))
    }

    /// Removes the cookies that have expired at `now`; returns how many.
    pub fn remove_expired(&mut self, now: SystemTime) -> usize {
        self.clear(|c| c.is_expired(now))
    }

    /// Every cookie, in insertion order (expired ones included until removed).
    pub fn iter(&self) -> impl Iterator<Item = &StoredCookie> {
        self.cookies.iter()
    }

    /// Number of cookies held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the jar holds no cookie.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Adds an already-validated cookie (used by loading); keeps limits.
    pub(crate) fn insert_loaded(&mut self, mut cookie: StoredCookie, now: SystemTime) {
        cookie.seq = self.next_seq;
        self.next_seq += 1;
        self.cookies.retain(|c| {
            !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
        });
        let d = cookie.domain.clone();
        self.cookies.push(cookie);
        self.evict(now, Some(&d));
    }
}

impl<'a> IntoIterator for &'a CookieJar {
    type Item = &'a StoredCookie;
    type IntoIter = std::slice::Iter<'a, StoredCookie>;
    fn into_iter(self) -> Self::IntoIter {
        self.cookies.iter()
    }
}
