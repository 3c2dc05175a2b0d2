//! Requests as handlers see them, with the body delivered as the handler reads it.

use super::app::AppRef;
use super::multipart::{read_form, Form, Multipart, MultipartLimits, MultipartParser};
use super::response::HttpError;
use super::upgrade::DynRuntime;
use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, Method, Uri, Version};
use sansweb_core::h1::HeaderFields;
use sansweb_core::server::router::Params;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

/// The request body as it arrives: filled by the connection task, drained by the
/// handler. The connection reads more of the body only while the handler is reading and
/// less than [`BODY_WINDOW`] bytes wait here, so an unread upload never fills memory.
#[derive(Debug, Default)]
pub(crate) struct BodyShared {
    pub chunks: VecDeque<Bytes>,
    pub buffered: usize,
    pub ended: bool,
    pub error: Option<String>,
    pub trailers: Option<HeaderMap>,
    /// The handler asked for the body (what sends `100 Continue`).
    pub wanted: bool,
    pub waker: Option<Waker>,
}

/// Bytes of request body held between the socket and the handler.
pub(crate) const BODY_WINDOW: usize = 64 * 1024;

pub(crate) type BodyHandle = Arc<Mutex<BodyShared>>;

/// An HTTP request (aiohttp's `web.Request`). One pointer wide: requests travel
/// through middlewares and handler futures, and moving a pointer is cheaper than moving
/// the parts.
pub struct Request {
    pub(crate) inner: Box<RequestParts>,
}

/// What a request holds.
pub(crate) struct RequestParts {
    pub(crate) method: Method,
    pub(crate) uri: sansweb_core::h1::RequestTarget,
    pub(crate) version: Version,
    pub(crate) headers: HeaderFields,
    pub(crate) match_info: Params,
    pub(crate) remote: Option<SocketAddr>,
    pub(crate) app: AppRef,
    /// `None` for a request without a body (most GETs): no channel is set up for it.
    pub(crate) body: Option<BodyHandle>,
    pub(crate) client_max_size: usize,
    /// The path a sub-application sees (its prefix removed), if any.
    pub(crate) rel_path: Option<String>,
    /// The runtime serving the request (timers for handlers).
    /// `None` only for mocked requests (`test_utils`).
    pub(crate) runtime: Option<DynRuntime>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Request {} {}>", self.inner.method, self.inner.uri)
    }
}

impl Request {
    /// The method.
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// The request target as received.
    pub fn uri(&self) -> &Uri {
        &self.inner.uri
    }

    /// The path, percent-encoded as sent.
    pub fn path(&self) -> &str {
        self.inner.uri.path()
    }

    /// The raw query string (after `?`), if any.
    pub fn query_string(&self) -> &str {
        self.inner.uri.query().unwrap_or("")
    }

    /// The query parameters, decoded, in order, repeated names kept (aiohttp's
    /// `request.query` multidict).
    pub fn query(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query_string().as_bytes())
            .into_owned()
            .collect()
    }

    /// The first value of query parameter `name`.
    pub fn query_get(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query_string().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn version(&self) -> Version {
        self.inner.version
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The value of header `name` as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.inner.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Host` header.
    pub fn host(&self) -> Option<&str> {
        self.header("host").or_else(|| self.inner.uri.host())
    }

    /// Path parameters of the matched route (aiohttp's `request.match_info`).
    pub fn match_info(&self) -> &Params {
        &self.inner.match_info
    }

    /// Path parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.inner.match_info.get(name)
    }

    /// The peer's address.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.inner.remote
    }

    /// The runtime serving this request: its clock, timers and `spawn` (`None` for a
    /// mocked request, which no runtime serves).
    pub fn runtime(&self) -> Option<&DynRuntime> {
        self.inner.runtime.as_ref()
    }

    /// Waits `duration` on the serving runtime's timer (never blocks the thread). A
    /// mocked request has no runtime: it returns at once.
    pub async fn sleep(&self, duration: std::time::Duration) {
        let Some(runtime) = &self.inner.runtime else {
            return;
        };
        let now = runtime.now();
        // A duration past the clock's range sleeps "forever" (a year), not a panic.
        let deadline = now
            .checked_add(duration)
            .or_else(|| now.checked_add(std::time::Duration::from_secs(365 * 86_400)))
            .unwrap_or(now);
        runtime.sleep_until(deadline).await;
    }

    /// The application (state, `url_for`).
    pub fn app(&self) -> &AppRef {
        &self.inner.app
    }

    /// Cookies the client sent (name → value), parsed from every `Cookie` header.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.inner
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|line| line.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                Some((
                    name.trim().to_owned(),
                    value.trim().trim_matches('"').to_owned(),
                ))
            })
            .collect()
    }

    /// Cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The declared body length, if any.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").and_then(|v| v.parse().ok())
    }

    /// The media type of the body (without parameters), lower-cased.
    pub fn content_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("application/octet-stream")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// The next piece of the body, `None` at its end. Streams any size in bounded
    /// memory (aiohttp's `request.content`).
    pub async fn chunk(&self) -> Result<Option<Bytes>, HttpError> {
        let Some(body) = &self.inner.body else {
            return Ok(None);
        };
        poll_fn(|cx| {
            let mut body = body.lock().unwrap_or_else(|e| e.into_inner());
            body.wanted = true;
            if let Some(chunk) = body.chunks.pop_front() {
                body.buffered -= chunk.len();
                return Poll::Ready(Ok(Some(chunk)));
            }
            if let Some(error) = &body.error {
                return Poll::Ready(Err(HttpError::bad_request(error.clone())));
            }
            if body.ended {
                return Poll::Ready(Ok(None));
            }
            body.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// The whole body, refused with 413 past the application's `client_max_size`
    /// (aiohttp's `request.read()`).
    pub async fn read(&self) -> Result<Bytes, HttpError> {
        let limit = self.inner.client_max_size;
        if let Some(len) = self.content_length() {
            if len > limit as u64 {
                return Err(HttpError::payload_too_large(limit, len));
            }
        }
        let mut all = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if all.len() + chunk.len() > limit {
                return Err(HttpError::payload_too_large(
                    limit,
                    (all.len() + chunk.len()) as u64,
                ));
            }
            if all.is_empty() && chunk.len() == self.content_length().unwrap_or(0) as usize {
                // The common case: one chunk is the whole body, no copy.
                return Ok(chunk);
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }

    /// The body as text (UTF-8; invalid sequences are a 400).
    pub async fn text(&self) -> Result<String, HttpError> {
        let bytes = self.read().await?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| HttpError::bad_request("body is not valid UTF-8"))
    }

    /// The body as JSON.
    pub async fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, HttpError> {
        let bytes = self.read().await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| HttpError::bad_request(format!("invalid JSON body: {e}")))
    }

    /// The form fields, decoded, in order (aiohttp's `request.post()`): a urlencoded
    /// body, or a `multipart/form-data` one whose file parts appear with their content
    /// as text (lossy UTF-8; use [`Request::form`] to get files as bytes). The whole
    /// body is bounded by `client_max_size` (413).
    pub async fn post(&self) -> Result<Vec<(String, String)>, HttpError> {
        let form = self.form().await?;
        let mut fields = form.fields;
        fields.extend(
            form.files
                .into_iter()
                .map(|f| (f.name, String::from_utf8_lossy(&f.content).into_owned())),
        );
        Ok(fields)
    }

    /// The whole form body: text fields and, for `multipart/form-data`, files apart.
    /// A body of another type is read as urlencoded. Bounded by `client_max_size`.
    pub async fn form(&self) -> Result<Form, HttpError> {
        if self.content_type().starts_with("multipart/") {
            return read_form(self.multipart()?, self.inner.client_max_size).await;
        }
        let bytes = self.read().await?;
        Ok(Form {
            fields: form_urlencoded::parse(&bytes).into_owned().collect(),
            files: Vec::new(),
        })
    }

    /// A streaming reader of a `multipart/*` body (aiohttp's `request.multipart()`):
    /// parts one after the other, each part's content as it arrives, in bounded memory.
    /// 415 if the body is not multipart, 400 if its boundary is missing or invalid.
    #[allow(clippy::result_large_err)] // HttpError, as every handler API returns
    pub fn multipart(&self) -> Result<Multipart<'_>, HttpError> {
        self.multipart_with(MultipartLimits::default())
    }

    /// [`Request::multipart`] with other header/part limits.
    #[allow(clippy::result_large_err)] // HttpError, as every handler API returns
    pub fn multipart_with(&self, limits: MultipartLimits) -> Result<Multipart<'_>, HttpError> {
        let content_type = self.header("content-type").unwrap_or("");
        let parser = MultipartParser::from_content_type(content_type, limits)?;
        Ok(Multipart::new(self, parser))
    }

    /// The same request without its body (for hooks that run after the handler).
    pub(crate) fn head_only(&self) -> Request {
        Request::from_parts(RequestParts {
            method: self.inner.method.clone(),
            uri: self.inner.uri.clone(),
            version: self.inner.version,
            headers: self.inner.headers.clone(),
            match_info: self.inner.match_info.clone(),
            remote: self.inner.remote,
            app: self.inner.app.clone(),
            body: None,
            client_max_size: self.inner.client_max_size,
            rel_path: self.inner.rel_path.clone(),
            runtime: self.inner.runtime.clone(),
        })
    }

    /// A request with no connection behind it (for `test_utils`).
    #[cfg(feature = "test-utils")]
    pub(crate) fn mocked(
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
        app: super::App,
    ) -> Request {
        let inner = app
            .freeze()
            .unwrap_or_else(|e| panic!("mocked request app: {e:?}"));
        let len = body.len();
        let mut shared = BodyShared {
            ended: true,
            ..BodyShared::default()
        };
        if len > 0 {
            shared.buffered = len;
            shared.chunks.push_back(body);
        }
        Request::from_parts(RequestParts {
            method,
            uri: uri.into(),
            version: Version::HTTP_11,
            headers: headers.into(),
            match_info: Params::default(),
            remote: None,
            app: AppRef(inner),
            body: Some(Arc::new(Mutex::new(shared))),
            client_max_size: 1024 * 1024,
            rel_path: None,
            runtime: None,
        })
    }

    // Inlined: the parts are then written into the box where they are built, not
    // assembled on the stack and copied in (a few hundred bytes per request).
    #[inline(always)]
    pub(crate) fn from_parts(parts: RequestParts) -> Request {
        Request {
            inner: Box::new(parts),
        }
    }

    /// Trailer fields of a chunked body, once the body was read to its end.
    pub fn trailers(&self) -> Option<HeaderMap> {
        self.inner
            .body
            .as_ref()
            .and_then(|body| body.lock().ok())
            .and_then(|b| b.trailers.clone())
    }
}
