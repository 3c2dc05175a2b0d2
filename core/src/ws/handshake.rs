//! The opening handshake (RFC 6455 §4) for both roles, on `http` types.
//!
//! Client: [`ClientHandshake::new`] takes 16 random bytes from the caller (the core has
//! no RNG), builds the upgrade request, and [`ClientHandshake::check_response`] verifies
//! the server's 101 (accept key, subprotocol, extensions).
//!
//! Server: [`UpgradeRequest::parse`] validates a request head (GET, HTTP/1.1,
//! `Upgrade: websocket`, `Connection: upgrade`, version 13, a 16-byte key);
//! [`UpgradeRequest::accept`] picks a subprotocol and negotiates permessage-deflate and
//! gives the 101 response head. A refused request comes with the response to send
//! ([`HandshakeError::response`]): 400, 405, or 426 with `Sec-WebSocket-Version: 13`.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::{
    ALLOW, CONNECTION, CONTENT_LENGTH, HOST, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS,
    SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use sha1::{Digest, Sha1};

use super::deflate::{
    parse_extensions, DeflateConfig, DeflateParams, ExtensionOffer, NegotiationError,
    PERMESSAGE_DEFLATE,
};

/// The GUID RFC 6455 appends to the key before hashing.
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` value: base64(SHA-1(key + GUID)).
#[must_use]
pub fn accept_key(key: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(key);
    h.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(&h.finalize()[..])
}

/// What the handshake agreed on; feed `deflate` into [`Config`](super::Config).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Negotiated {
    /// The chosen subprotocol.
    pub protocol: Option<String>,
    /// The permessage-deflate agreement.
    pub deflate: Option<DeflateParams>,
}

/// Why a handshake failed. The first group is the client's fault (the server answers
/// with [`response`](Self::response)); the second is the server's (the client gives up).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Request method is not GET (405).
    MethodNotGet,
    /// Request is not HTTP/1.1 (400).
    NotHttp11,
    /// No `websocket` token in `Upgrade` (400).
    MissingUpgrade,
    /// No `upgrade` token in `Connection` (400).
    MissingConnectionUpgrade,
    /// `Sec-WebSocket-Version` missing or not 13 (426).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing, repeated, or not base64 of 16 bytes (400).
    InvalidKey,
    /// The request announces a body (`Transfer-Encoding`, or a `Content-Length` other
    /// than 0) (400). The opening handshake is a bodiless GET; after the 101 every byte
    /// is a frame, so a body would be read as one (Python's `websockets` refuses it too).
    RequestBody,
    /// The server answered with another status than 101.
    NotSwitching(StatusCode),
    /// The response lacks `Upgrade: websocket` or `Connection: upgrade`.
    ResponseNotUpgrade,
    /// `Sec-WebSocket-Accept` missing or wrong.
    AcceptMismatch,
    /// The server chose a subprotocol the client did not offer.
    UnexpectedProtocol(String),
    /// The server's extension answer is unacceptable.
    Extension(NegotiationError),
}

impl HandshakeError {
    /// The status a server answers with, for errors in the client's request.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        Some(match self {
            HandshakeError::MethodNotGet => StatusCode::METHOD_NOT_ALLOWED,
            HandshakeError::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            HandshakeError::NotHttp11
            | HandshakeError::MissingUpgrade
            | HandshakeError::MissingConnectionUpgrade
            | HandshakeError::InvalidKey
            | HandshakeError::RequestBody => StatusCode::BAD_REQUEST,
            _ => return None,
        })
    }

    /// The response head a server sends for this error (400 for client-side errors that
    /// have no status of their own).
    #[must_use]
    pub fn response(&self) -> Response<()> {
        let mut resp = Response::new(());
        *resp.status_mut() = self.status().unwrap_or(StatusCode::BAD_REQUEST);
        match self {
            HandshakeError::UnsupportedVersion => {
                resp.headers_mut()
                    .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            HandshakeError::MethodNotGet => {
                resp.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET"));
            }
            _ => {}
        }
        resp
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::MethodNotGet => f.write_str("client: WebSocket upgrade must use GET"),
            HandshakeError::NotHttp11 => f.write_str("client: WebSocket upgrade must be HTTP/1.1"),
            HandshakeError::MissingUpgrade => f.write_str("client: no `Upgrade: websocket`"),
            HandshakeError::MissingConnectionUpgrade => {
                f.write_str("client: no `Connection: upgrade`")
            }
            HandshakeError::UnsupportedVersion => {
                f.write_str("client: Sec-WebSocket-Version missing or not 13")
            }
            HandshakeError::InvalidKey => {
                f.write_str("client: Sec-WebSocket-Key is not base64 of 16 bytes")
            }
            HandshakeError::RequestBody => {
                f.write_str("client: a WebSocket upgrade request must not have a body")
            }
            HandshakeError::NotSwitching(s) => write!(f, "server answered {s} instead of 101"),
            HandshakeError::ResponseNotUpgrade => {
                f.write_str("server: 101 without Upgrade: websocket / Connection: upgrade")
            }
            HandshakeError::AcceptMismatch => f.write_str("server: wrong Sec-WebSocket-Accept"),
            HandshakeError::UnexpectedProtocol(p) => {
                write!(f, "server chose subprotocol {p:?} which was not offered")
            }
            HandshakeError::Extension(e) => write!(f, "server: {e}"),
        }
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HandshakeError::Extension(e) => Some(e),
            _ => None,
        }
    }
}

/// Every comma-separated token of every `name` header, trimmed.
fn tokens<'a>(headers: &'a HeaderMap, name: &http::HeaderName) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn has_token(headers: &HeaderMap, name: &http::HeaderName, token: &str) -> bool {
    tokens(headers, name).any(|t| t.eq_ignore_ascii_case(token))
}

/// The client's side of the handshake.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    key: String,
    protocols: Vec<String>,
    deflate: Option<DeflateConfig>,
}

impl ClientHandshake {
    /// A handshake whose `Sec-WebSocket-Key` is the base64 of `key_bytes`, which must be
    /// random (RFC 6455 §4.1): the caller draws them from its RNG.
    #[must_use]
    pub fn new(key_bytes: [u8; 16]) -> Self {
        ClientHandshake {
            key: STANDARD.encode(key_bytes),
            protocols: Vec::new(),
            deflate: None,
        }
    }

    /// Offers these subprotocols, in order of preference.
    #[must_use]
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Offers permessage-deflate.
    #[must_use]
    pub fn deflate(mut self, config: DeflateConfig) -> Self {
        self.deflate = Some(config);
        self
    }

    /// The `Sec-WebSocket-Key` value.
    #[must_use]
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Adds the upgrade headers to a request's headers.
    pub fn add_headers(&self, headers: &mut HeaderMap) {
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        if let Ok(v) = HeaderValue::from_str(&self.key) {
            headers.insert(SEC_WEBSOCKET_KEY, v);
        }
        if !self.protocols.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&self.protocols.join(", ")) {
                headers.insert(SEC_WEBSOCKET_PROTOCOL, v);
            }
        }
        if let Some(d) = &self.deflate {
            if let Ok(v) = HeaderValue::from_str(&d.offer()) {
                headers.insert(SEC_WEBSOCKET_EXTENSIONS, v);
            }
        }
    }

    /// The upgrade request head for `uri` (`Host` from its authority).
    #[must_use]
    pub fn request(&self, uri: Uri) -> Request<()> {
        let mut req = Request::new(());
        if let Some(host) = uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
        {
            req.headers_mut().insert(HOST, host);
        }
        *req.uri_mut() = uri;
        *req.version_mut() = Version::HTTP_11;
        self.add_headers(req.headers_mut());
        req
    }

    /// Verifies the server's response head.
    pub fn check_response(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<Negotiated, HandshakeError> {
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(HandshakeError::NotSwitching(status));
        }
        if !has_token(headers, &UPGRADE, "websocket") || !has_token(headers, &CONNECTION, "upgrade")
        {
            return Err(HandshakeError::ResponseNotUpgrade);
        }
        let expected = accept_key(self.key.as_bytes());
        let mut accepts = headers.get_all(SEC_WEBSOCKET_ACCEPT).iter();
        match (accepts.next(), accepts.next()) {
            (Some(v), None) if v.as_bytes() == expected.as_bytes() => {}
            _ => return Err(HandshakeError::AcceptMismatch),
        }
        let chosen: Vec<&str> = tokens(headers, &SEC_WEBSOCKET_PROTOCOL).collect();
        let protocol = match chosen.as_slice() {
            [] => None,
            [p] if self.protocols.iter().any(|o| o == p) => Some((*p).to_owned()),
            _ => return Err(HandshakeError::UnexpectedProtocol(chosen.join(", "))),
        };
        let mut deflate = None;
        for v in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
            let v = v
                .to_str()
                .map_err(|_| HandshakeError::Extension(NegotiationError::Syntax))?;
            for ext in parse_extensions(v).map_err(HandshakeError::Extension)? {
                let cfg = match &self.deflate {
                    Some(cfg) if ext.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) => cfg,
                    _ => {
                        return Err(HandshakeError::Extension(
                            NegotiationError::UnknownExtension(ext.name),
                        ))
                    }
                };
                if deflate.is_some() {
                    return Err(HandshakeError::Extension(NegotiationError::Duplicate));
                }
                deflate = Some(
                    cfg.check_response(&ext)
                        .map_err(HandshakeError::Extension)?,
                );
            }
        }
        Ok(Negotiated { protocol, deflate })
    }
}

/// A validated upgrade request, ready to be accepted.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    key: String,
    protocols: Vec<String>,
    extensions: Vec<ExtensionOffer>,
}

impl UpgradeRequest {
    /// Validates a request head: a bodiless HTTP/1.1 GET with the WebSocket headers.
    pub fn parse(
        method: &Method,
        version: Version,
        headers: &HeaderMap,
    ) -> Result<Self, HandshakeError> {
        if method != Method::GET {
            return Err(HandshakeError::MethodNotGet);
        }
        if version != Version::HTTP_11 {
            return Err(HandshakeError::NotHttp11);
        }
        if !has_token(headers, &UPGRADE, "websocket") {
            return Err(HandshakeError::MissingUpgrade);
        }
        if !has_token(headers, &CONNECTION, "upgrade") {
            return Err(HandshakeError::MissingConnectionUpgrade);
        }
        let mut versions = headers.get_all(SEC_WEBSOCKET_VERSION).iter();
        match (versions.next(), versions.next()) {
            (Some(v), None) if v.as_bytes().trim_ascii() == b"13" => {}
            _ => return Err(HandshakeError::UnsupportedVersion),
        }
        let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
        let key = match (keys.next(), keys.next()) {
            (Some(k), None) => k.to_str().map_err(|_| HandshakeError::InvalidKey)?.trim(),
            _ => return Err(HandshakeError::InvalidKey),
        };
        match STANDARD.decode(key) {
            Ok(bytes) if bytes.len() == 16 => {}
            _ => return Err(HandshakeError::InvalidKey),
        }
        let bodiless = headers
            .get_all(CONTENT_LENGTH)
            .iter()
            .all(|v| v.as_bytes().trim_ascii() == b"0");
        if !bodiless || headers.contains_key(TRANSFER_ENCODING) {
            return Err(HandshakeError::RequestBody);
        }
        let protocols = tokens(headers, &SEC_WEBSOCKET_PROTOCOL)
            .map(str::to_owned)
            .collect();
        // A malformed extension header only costs the client its extensions.
        let extensions = headers
            .get_all(SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| parse_extensions(v).ok())
            .flatten()
            .collect();
        Ok(UpgradeRequest {
            key: key.to_owned(),
            protocols,
            extensions,
        })
    }

    /// Validates a request's head (one that announces a body is refused).
    pub fn from_request<B>(req: &Request<B>) -> Result<Self, HandshakeError> {
        Self::parse(req.method(), req.version(), req.headers())
    }

    /// The subprotocols the client offered, in its order of preference.
    #[must_use]
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// The extensions the client offered.
    #[must_use]
    pub fn extensions(&self) -> &[ExtensionOffer] {
        &self.extensions
    }

    /// Accepts the upgrade: chooses the client's most preferred subprotocol among
    /// `supported`, accepts the first permessage-deflate offer `deflate` can honour, and
    /// gives the 101 response head with what was agreed.
    #[must_use]
    pub fn accept(
        &self,
        supported: &[&str],
        deflate: Option<&DeflateConfig>,
    ) -> (Response<()>, Negotiated) {
        let protocol = self
            .protocols
            .iter()
            .find(|p| supported.contains(&p.as_str()))
            .cloned();
        let mut agreed = None;
        if let Some(cfg) = deflate {
            agreed = self
                .extensions
                .iter()
                .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
                .find_map(|e| cfg.accept(e).ok());
        }
        let mut resp = Response::new(());
        *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = resp.headers_mut();
        h.insert(UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        if let Ok(v) = HeaderValue::from_str(&accept_key(self.key.as_bytes())) {
            h.insert(SEC_WEBSOCKET_ACCEPT, v);
        }
        if let Some(p) = protocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            h.insert(SEC_WEBSOCKET_PROTOCOL, p);
        }
        if let Some((_, header)) = &agreed {
            if let Ok(v) = HeaderValue::from_str(header) {
                h.insert(SEC_WEBSOCKET_EXTENSIONS, v);
            }
        }
        (
            resp,
            Negotiated {
                protocol,
                deflate: agreed.map(|(p, _)| p),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_accept_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
