//! HTTP proxies: `http://` targets go to the proxy in absolute form; `https://` targets
//! get a `CONNECT host:port` tunnel, and TLS runs inside it.
//!
//! # Theory of operation
//!
//! ```text
//!  http target:  TCP to proxy ──▶ "GET http://host/path HTTP/1.1" (+Proxy-Authorization)
//!  https target: TCP to proxy ──▶ CONNECT host:port ──2xx──▶ Upgrade ──▶ TLS to host
//!                                                   └─other─▶ Connector{Proxy}
//! ```
//!
//! The CONNECT exchange runs through the same core `Conn<Client>` as any request (so
//! the proxy's answer is parsed by the one parser); its `Upgrade` hands the socket back.

use std::sync::Arc;

use base64::Engine;
use http::header::{HeaderValue, HOST, PROXY_AUTHORIZATION};
use http::{Method, Uri};
use sansweb_core::client::{ClientTimeout, RequestTimers};
use sansweb_core::h1::{Config, Event, RequestHead};
use url::Url;

use super::connection::{BoxStream, Connection};
use super::error::{ClientError, ConnectorKind};
use crate::rt::Runtime;

/// `Proxy-Authorization: Basic ..` from the proxy URL's user info, if any.
pub(crate) fn proxy_authorization(proxy: &Url) -> Option<HeaderValue> {
    if proxy.username().is_empty() {
        return None;
    }
    let user = percent_encoding::percent_decode_str(proxy.username()).decode_utf8_lossy();
    let pass =
        percent_encoding::percent_decode_str(proxy.password().unwrap_or("")).decode_utf8_lossy();
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    HeaderValue::from_str(&format!("Basic {token}")).ok()
}

fn proxy_error(proxy: &str, why: String) -> ClientError {
    ClientError::Connector {
        kind: ConnectorKind::Proxy,
        host: proxy.to_owned(),
        source: std::io::Error::other(why),
    }
}

/// Opens a `CONNECT` tunnel to `host:port` through the proxy connection `stream`.
pub(crate) async fn tunnel<R: Runtime>(
    rt: &R,
    stream: BoxStream,
    proxy: &Url,
    host: &str,
    port: u16,
) -> Result<BoxStream, ClientError> {
    let proxy_name = format!(
        "{}:{}",
        proxy.host_str().unwrap_or_default(),
        proxy.port_or_known_default().unwrap_or(0)
    );
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let uri: Uri = authority
        .parse()
        .map_err(|e| ClientError::InvalidUrl(format!("{authority}: {e}")))?;
    let mut head = RequestHead::new(Method::CONNECT, uri);
    let host_value = HeaderValue::from_str(&authority)
        .map_err(|_| ClientError::InvalidUrl(format!("{authority}: bad host")))?;
    head.headers.insert(HOST, host_value);
    if let Some(auth) = proxy_authorization(proxy) {
        head.headers.insert(PROXY_AUTHORIZATION, auth);
    }
    let mut conn = Connection::new(0, stream, rt.clone(), Config::client());
    let local = |e: sansweb_core::h1::Error| ClientError::Request(e.to_string());
    conn.conn.send_request(rt.now(), head).map_err(local)?;
    conn.conn.send_end(rt.now(), None).map_err(local)?;
    // The caller's sock_connect deadline bounds the whole tunnel set-up.
    let mut timers = RequestTimers::new(ClientTimeout::none(), rt.now());
    let mut status = None;
    loop {
        let event = std::future::poll_fn(|cx| conn.poll_event(cx, &mut timers))
            .await
            .map_err(|e| proxy_error(&proxy_name, format!("CONNECT failed: {e}")))?;
        match event {
            Event::Head(h) if h.status.is_success() => status = Some(h.status),
            Event::Head(h) => {
                return Err(proxy_error(
                    &proxy_name,
                    format!("proxy answered CONNECT with {}", h.status),
                ))
            }
            Event::Informational(_) => {}
            Event::Upgrade if status.is_some() => break,
            other => {
                return Err(proxy_error(
                    &proxy_name,
                    format!("unexpected answer to CONNECT: {other:?}"),
                ))
            }
        }
    }
    let (stream, leftover) = conn.into_stream();
    if !leftover.is_empty() {
        return Err(proxy_error(
            &proxy_name,
            "proxy sent bytes before the tunnel's first byte was asked for".into(),
        ));
    }
    Ok(stream)
}

/// The proxy for a request to `url`: the request's own, else the session's, else the
/// environment's (when `trust_env` is on).
pub(crate) fn pick(
    session: Option<&Arc<Url>>,
    request: Option<&Arc<Url>>,
    env: Option<&EnvProxies>,
    url: &Url,
) -> Option<Arc<Url>> {
    request
        .or(session)
        .cloned()
        .or_else(|| env.and_then(|e| e.for_url(url)))
}

/// `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (lower case wins, as curl and aiohttp do).
#[derive(Debug, Clone, Default)]
pub(crate) struct EnvProxies {
    http: Option<Arc<Url>>,
    https: Option<Arc<Url>>,
    /// Host suffixes that go direct; `*` means every host.
    no_proxy: Vec<String>,
}

impl EnvProxies {
    /// Reads the variables through `get` (the process environment in production).
    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| {
            get(&name.to_ascii_lowercase())
                .or_else(|| get(name))
                .filter(|v| !v.trim().is_empty())
        };
        // A proxy URL without a scheme is taken as http://, like curl.
        let parse = |v: String| {
            let v = v.trim().to_owned();
            let v = if v.contains("://") {
                v
            } else {
                format!("http://{v}")
            };
            Url::parse(&v).ok().map(Arc::new)
        };
        Self {
            http: var("HTTP_PROXY").and_then(parse),
            https: var("HTTPS_PROXY").and_then(parse),
            no_proxy: var("NO_PROXY")
                .map(|v| {
                    v.split(',')
                        .map(|h| {
                            let h = h.trim().trim_start_matches('.').to_ascii_lowercase();
                            // Ports in NO_PROXY entries are ignored (any port matches).
                            match h.rsplit_once(':') {
                                Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                                    host.to_owned()
                                }
                                _ => h,
                            }
                        })
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// The environment's proxy for `url`, unless `NO_PROXY` exempts its host.
    pub(crate) fn for_url(&self, url: &Url) -> Option<Arc<Url>> {
        let host = url.host_str()?.to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let exempt = self.no_proxy.iter().any(|n| {
            n == "*"
                || host == n
                || (host.ends_with(n.as_str()) && host[..host.len() - n.len()].ends_with('.'))
        });
        if exempt {
            return None;
        }
        match url.scheme() {
            "https" => self.https.clone(),
            _ => self.http.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> EnvProxies {
        let map: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        EnvProxies::from_lookup(|k| map.get(k).cloned())
    }

    fn proxy_for(e: &EnvProxies, url: &str) -> Option<String> {
        e.for_url(&Url::parse(url).unwrap()).map(|u| u.to_string())
    }

    #[test]
    fn scheme_selects_the_variable_and_no_proxy_exempts() {
        let e = env(&[
            ("HTTP_PROXY", "http://p1:3128"),
            ("https_proxy", "p2:8080"),
            ("NO_PROXY", "localhost, .internal.example,10.0.0.1:80"),
        ]);
        let table = [
            ("http://example.com/", Some("http://p1:3128/")),
            ("https://example.com/", Some("http://p2:8080/")),
            ("http://localhost:8000/", None),
            ("http://internal.example/", None),
            ("http://a.b.internal.example/", None),
            ("http://notinternal.example/", Some("http://p1:3128/")),
            ("http://10.0.0.1:9000/", None),
        ];
        for (url, want) in table {
            assert_eq!(proxy_for(&e, url).as_deref(), want, "{url}");
        }
    }

    #[test]
    fn lower_case_wins_and_star_exempts_all() {
        let e = env(&[
            ("HTTP_PROXY", "http://upper:1"),
            ("http_proxy", "http://lower:2"),
        ]);
        assert_eq!(
            proxy_for(&e, "http://x/").as_deref(),
            Some("http://lower:2/")
        );
        let e = env(&[("HTTP_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(proxy_for(&e, "http://x/"), None);
        assert_eq!(proxy_for(&env(&[]), "http://x/"), None);
    }
}
