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

/// The proxy for a request: the request's own, else the session's.
pub(crate) fn pick(session: Option<&Arc<Url>>, request: Option<&Arc<Url>>) -> Option<Arc<Url>> {
    request.or(session).cloned()
}
