//! Responses: what handlers return, and HTTP errors that become responses.

use bytes::Bytes;
use futures_lite::Stream;
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use sansweb_core::h1::HeaderFields;
use std::fmt;
use std::pin::Pin;

/// A stream of body chunks; an error ends the response early (the connection closes,
/// so the client sees a truncated body, never a silently complete one).
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static>>;

/// A response body.
pub enum Body {
    /// The whole body, sent with a Content-Length.
    Full(Bytes),
    /// Chunks produced over time, sent chunked (or with the Content-Length the headers
    /// give).
    Stream(BodyStream),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Full(b) => write!(f, "Body::Full({} bytes)", b.len()),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

/// An HTTP response (aiohttp's `web.Response`).
///
/// ```
/// use sansweb::web::Response;
/// let r = Response::text("Hello, World!");
/// assert_eq!(r.status(), http::StatusCode::OK);
/// assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) reason: Option<Bytes>,
    /// A `HeaderMap` to every reader; the constructors' `Content-Type` (and the
    /// server's `Date`) are kept without building one, so a plain response is encoded
    /// straight from them.
    pub(crate) headers: HeaderFields,
    pub(crate) body: Body,
    pub(crate) on_upgrade: Option<super::upgrade::OnUpgrade>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &self.body)
            .field("upgrade", &self.on_upgrade.is_some())
            .finish()
    }
}

impl Default for Response {
    fn default() -> Self {
        Self::new(StatusCode::OK)
    }
}

// Checked once, at compile time: `HeaderValue::from_static` called at run time walks
// every byte on every response.
const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
const TEXT_HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");
const OCTET_STREAM: HeaderValue = HeaderValue::from_static("application/octet-stream");

impl Response {
    /// An empty response with `status`.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            headers: HeaderFields::default(),
            body: Body::Full(Bytes::new()),
            on_upgrade: None,
        }
    }

    /// `101 Switching Protocols` with `headers`; once it is sent, `on_upgrade` gets the
    /// connection (how WebSocket handlers take over).
    pub fn switching_protocols<F, Fut>(headers: HeaderMap, on_upgrade: F) -> Self
    where
        F: FnOnce(super::upgrade::Upgraded) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let mut r = Self::new(StatusCode::SWITCHING_PROTOCOLS);
        r.headers = headers.into();
        r.on_upgrade = Some(Box::new(move |up| Box::pin(on_upgrade(up))));
        r
    }

    /// `text/plain; charset=utf-8`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(StatusCode::OK)
            .with_content_type(TEXT_PLAIN)
            .with_body(Bytes::from(text.into()))
    }

    /// `text/plain; charset=utf-8` from text that lives as long as the program: the body
    /// points at it, with no allocation or copy. A handler returning a `&'static str`
    /// gets this.
    pub fn text_static(text: &'static str) -> Self {
        // Built in place, not through the `with_*` steps: each of those moves the whole
        // response, and this is the constructor of the cheapest answers.
        let mut headers = HeaderFields::default();
        headers.push(header::CONTENT_TYPE, TEXT_PLAIN);
        Self {
            status: StatusCode::OK,
            reason: None,
            headers,
            body: Body::Full(Bytes::from_static(text.as_bytes())),
            on_upgrade: None,
        }
    }

    /// `text/html; charset=utf-8`.
    pub fn html(html: impl Into<String>) -> Self {
        Self::new(StatusCode::OK)
            .with_content_type(TEXT_HTML)
            .with_body(Bytes::from(html.into()))
    }

    /// A JSON body (`application/json`) from any `Serialize` value.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::new(StatusCode::OK)
                .with_content_type(APPLICATION_JSON)
                .with_body(Bytes::from(body)),
            Err(e) => HttpError::internal(format!("JSON encoding failed: {e}")).into_response(),
        }
    }

    /// Raw bytes (`application/octet-stream`).
    pub fn bytes(body: impl Into<Bytes>) -> Self {
        Self::new(StatusCode::OK)
            .with_content_type(OCTET_STREAM)
            .with_body(body.into())
    }

    /// A streamed body (aiohttp's `StreamResponse` with its writes as a stream).
    pub fn stream(
        stream: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) -> Self {
        Self {
            body: Body::Stream(Box::pin(stream)),
            ..Self::new(StatusCode::OK)
        }
    }

    /// Sets the status.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Sets the reason phrase (checked for forbidden bytes when sent).
    #[must_use]
    pub fn with_reason(mut self, reason: impl Into<Bytes>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Replaces the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Body::Full(body.into());
        self
    }

    /// Sets a header (replacing others of the name). Invalid names or values are
    /// refused here, so a header can never smuggle a CR or LF onto the wire.
    ///
    /// # Panics
    /// Never: invalid input is ignored and logged. Use [`Response::try_header`] to
    /// handle it.
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let Err(e) = self.try_header(name, value) {
            tracing::warn!("ignored invalid response header {name:?}: {e}");
        }
        self
    }

    /// Sets a header, or says why it cannot be.
    pub fn try_header(&mut self, name: &str, value: &str) -> Result<(), http::Error> {
        let name = HeaderName::from_bytes(name.as_bytes())?;
        let value = HeaderValue::from_str(value)?;
        self.headers.map_mut().insert(name, value);
        Ok(())
    }

    /// The constructors' content type, on a new response (no fields yet): it is kept
    /// in place, no map built.
    fn with_content_type(mut self, value: HeaderValue) -> Self {
        self.headers.push(header::CONTENT_TYPE, value);
        self
    }

    /// Adds a `Set-Cookie` (aiohttp's `set_cookie`), with optional attributes in
    /// `Set-Cookie` syntax (e.g. `"Path=/; HttpOnly"`).
    #[must_use]
    pub fn with_cookie(mut self, name: &str, value: &str, attributes: &str) -> Self {
        let mut line = format!("{name}={value}");
        if !attributes.is_empty() {
            line.push_str("; ");
            line.push_str(attributes);
        }
        match HeaderValue::from_str(&line) {
            Ok(v) => {
                self.headers.map_mut().append(header::SET_COOKIE, v);
            }
            Err(_) => tracing::warn!("ignored invalid cookie {name:?}"),
        }
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers.map()
    }

    /// The headers, to change.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        self.headers.map_mut()
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The whole body, if it is not streamed.
    pub fn body_bytes(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Full(b) => Some(b),
            Body::Stream(_) => None,
        }
    }
}

/// An HTTP error a handler returns to answer with a status (aiohttp's
/// `HTTPNotFound`, `HTTPBadRequest`, redirects, ...).
#[derive(Debug, Clone)]
pub struct HttpError {
    /// The status to answer with.
    pub status: StatusCode,
    /// The body text (defaults to `"<code>: <reason>"` like aiohttp).
    pub text: String,
    /// Extra headers (`Location` for redirects, `Allow` for 405, ...).
    pub headers: HeaderMap,
}

impl HttpError {
    /// An error with `status` and aiohttp's default text.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            text: format!(
                "{}: {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            ),
            headers: HeaderMap::new(),
        }
    }

    /// Replaces the text.
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }

    /// 400 Bad Request with `text`.
    pub fn bad_request(text: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST).with_text(text)
    }

    /// 404 Not Found.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND)
    }

    /// 405 with the `Allow` header.
    pub fn method_not_allowed(allow: &[http::Method]) -> Self {
        let mut e = Self::new(StatusCode::METHOD_NOT_ALLOWED);
        let list = allow
            .iter()
            .map(http::Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        if let Ok(v) = HeaderValue::from_str(&list) {
            e.headers.insert(header::ALLOW, v);
        }
        e
    }

    /// 413 Payload Too Large (aiohttp's `HTTPRequestEntityTooLarge`).
    pub fn payload_too_large(limit: usize, actual: u64) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE).with_text(format!(
            "Maximum request body size {limit} exceeded, actual body size {actual}"
        ))
    }

    /// 500 Internal Server Error with `text` logged, not sent (clients see the generic
    /// text: internals stay private).
    pub fn internal(text: impl Into<String>) -> Self {
        tracing::error!("internal server error: {}", text.into());
        Self::new(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// A redirect (301, 302, 303, 307 or 308) to `location`.
    pub fn redirect(status: StatusCode, location: &str) -> Self {
        let mut e = Self::new(status);
        match HeaderValue::from_str(location) {
            Ok(v) => {
                e.headers.insert(header::LOCATION, v);
            }
            Err(_) => return Self::internal(format!("invalid redirect location {location:?}")),
        }
        e
    }

    /// 302 Found (aiohttp's `HTTPFound`).
    pub fn found(location: &str) -> Self {
        Self::redirect(StatusCode::FOUND, location)
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status.as_u16(), self.text)
    }
}

impl std::error::Error for HttpError {}

/// What a handler may return.
pub trait IntoResponse {
    /// Converts into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut r = Response::text(self.text).with_status(self.status);
        for (name, value) in &self.headers {
            r.headers.map_mut().insert(name.clone(), value.clone());
        }
        r
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        }
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        Response::text_static(self)
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        Response::text(self)
    }
}

impl IntoResponse for StatusCode {
    fn into_response(self) -> Response {
        HttpError::new(self).into_response()
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        self.1.into_response().with_status(self.0)
    }
}

#[cfg(test)]
mod static_text_tests {
    use super::{Body, IntoResponse, Response};

    #[test]
    fn static_text_is_neither_allocated_nor_copied() {
        static GREETING: &str = "Hello, World!";
        for response in [Response::text_static(GREETING), GREETING.into_response()] {
            let Body::Full(body) = &response.body else {
                panic!("a full body");
            };
            assert_eq!(body.as_ptr(), GREETING.as_ptr());
            assert_eq!(&body[..], GREETING.as_bytes());
            assert_eq!(
                response.headers().get("content-type").unwrap(),
                "text/plain; charset=utf-8"
            );
        }
    }
}
