//! Fuzz body for the WebSocket opening handshake ([`crate::ws::handshake`]): arbitrary
//! request header fields through the server's validation and negotiation, and arbitrary
//! response header fields through the client's check.
//!
//! Input: lossy UTF-8 lines `name: value`; lines before a blank line are the request's,
//! after it the response's. Invariants: no panic; whatever the server accepts, a client
//! that sent that request accepts the server's 101 (same key, same offers).

use base64::Engine as _;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

use crate::ws::handshake::{ClientHandshake, UpgradeRequest};
use crate::ws::DeflateConfig;

fn fields(text: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in text.lines().take(64) {
        let Some((n, v)) = line.split_once(':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(n.trim().as_bytes()),
            HeaderValue::from_str(v.trim()),
        ) {
            map.append(n, v);
        }
    }
    map
}

/// Runs one input.
pub fn ws_handshake(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (req, resp) = text.split_once("\n\n").unwrap_or((&text, ""));
    let req_fields = fields(req);
    // The client's check against arbitrary response fields: any result, no panic.
    let client = ClientHandshake::new([7; 16]).deflate(DeflateConfig::default());
    let _ = client.check_response(StatusCode::SWITCHING_PROTOCOLS, &fields(resp));
    let Ok(upgrade) = UpgradeRequest::parse(&Method::GET, Version::HTTP_11, &req_fields) else {
        return;
    };
    let (response, _agreed) = upgrade.accept(&["chat", "v2"], Some(&DeflateConfig::default()));
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    // A client that sent this key with these offers accepts the answer.
    let key = req_fields
        .get("sec-websocket-key")
        .and_then(|k| k.to_str().ok())
        .and_then(|k| {
            base64::engine::general_purpose::STANDARD
                .decode(k.trim())
                .ok()
        });
    let Some(Ok(key)) = key.map(<[u8; 16]>::try_from) else {
        return;
    };
    let mut client = ClientHandshake::new(key).protocols(upgrade.protocols().iter().cloned());
    if !upgrade.extensions().is_empty() {
        client = client.deflate(DeflateConfig::default());
    }
    let checked = client.check_response(response.status(), response.headers());
    assert!(
        checked.is_ok(),
        "the server's own 101 was refused: {checked:?}"
    );
}
