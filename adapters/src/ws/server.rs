//! The server side: [`WebSocketResponse`], aiohttp's `web.WebSocketResponse`.

use std::future::Future;

use http::HeaderMap;
use sansweb_core::ws::{DeflateConfig, HandshakeError, UpgradeRequest, WebSocket as CoreWs};

use super::handle::Info;
use super::settings::{settings_builders, Settings};
use super::task;
use super::WebSocket;
use crate::web::{HttpError, Request, Response, Upgraded};

/// Answers a WebSocket upgrade from a handler.
///
/// ```no_run
/// use sansweb::web::{App, HttpError, Request, Response};
/// use sansweb::ws::{WebSocketResponse, WsMessage};
///
/// async fn echo(req: Request) -> Result<Response, HttpError> {
///     WebSocketResponse::new().protocols(&["chat"]).prepare(&req, |mut ws| async move {
///         while let Some(msg) = futures_lite::StreamExt::next(&mut ws).await {
///             match msg {
///                 WsMessage::Text(t) => { let _ = ws.send_str(&t).await; }
///                 WsMessage::Binary(b) => { let _ = ws.send_bytes(&b).await; }
///                 _ => {}
///             }
///         }
///     })
/// }
/// let app = App::new().get("/ws", echo);
/// ```
#[derive(Debug, Clone, Default)]
pub struct WebSocketResponse {
    settings: Settings,
    protocols: Vec<String>,
    deflate: DeflateConfig,
}

settings_builders!(WebSocketResponse);

impl WebSocketResponse {
    /// aiohttp's defaults: autoping, compression when offered, 4 MiB messages, no
    /// heartbeat, no receive timeout, 10 s close timeout.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Subprotocols we speak, in our order of preference among those the client offers.
    #[must_use]
    pub fn protocols(mut self, protocols: &[&str]) -> Self {
        self.protocols = protocols.iter().map(|p| (*p).to_owned()).collect();
        self
    }

    /// The permessage-deflate wishes used when compression is on (context takeover,
    /// compression level).
    #[must_use]
    pub fn deflate_config(mut self, config: DeflateConfig) -> Self {
        self.deflate = config;
        self
    }

    /// Whether `req` is a valid WebSocket upgrade (aiohttp's `can_prepare`), and the
    /// subprotocol that would be chosen.
    pub fn can_prepare(&self, req: &Request) -> Result<Option<String>, HandshakeError> {
        let upgrade = UpgradeRequest::parse(req.method(), req.version(), req.headers())?;
        let supported: Vec<&str> = self.protocols.iter().map(String::as_str).collect();
        Ok(upgrade.accept(&supported, None).1.protocol)
    }

    /// Answers the handshake: `Ok(101 response)` whose connection, once the 101 is
    /// written, is handed to `handler` as a [`WebSocket`]; or the error response the
    /// handshake's failure calls for (400, 405 or 426 with `Sec-WebSocket-Version: 13`).
    /// When `handler` returns (and every handle it made is dropped), the connection is
    /// closed with 1000 if it was still open.
    // The handler returns this Result as its response (`IntoResponse`), so the error type
    // is the web layer's own `HttpError`, boxed or not.
    #[allow(clippy::result_large_err)]
    pub fn prepare<F, Fut>(self, req: &Request, handler: F) -> Result<Response, HttpError>
    where
        F: FnOnce(WebSocket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let upgrade =
            UpgradeRequest::parse(req.method(), req.version(), req.headers()).map_err(refusal)?;
        let supported: Vec<&str> = self.protocols.iter().map(String::as_str).collect();
        let deflate = self.settings.compress.then_some(&self.deflate);
        let (head, negotiated) = upgrade.accept(&supported, deflate);
        let (parts, ()) = head.into_parts();
        let settings = self.settings;
        let info = Info {
            protocol: negotiated.protocol,
            compressed: negotiated.deflate.is_some(),
            receive_timeout: settings.receive_timeout,
        };
        let config = settings.core_config(negotiated.deflate);
        Ok(Response::switching_protocols(
            parts.headers,
            move |up: Upgraded| async move {
                let core = CoreWs::server(config, up.runtime.now());
                let ws = task::spawn(
                    &up.runtime,
                    core,
                    settings.autoping,
                    up.stream,
                    &up.read_buf,
                    info,
                );
                handler(ws).await;
            },
        ))
    }
}

/// The HTTP error answering a refused handshake.
fn refusal(e: HandshakeError) -> HttpError {
    let resp = e.response();
    let mut err = HttpError::new(resp.status()).with_text(e.to_string());
    let headers: HeaderMap = resp.headers().clone();
    err.headers.extend(headers);
    err
}
