//! [`ClientResponse`]: the head at once, the body as the user pulls it.
//!
//! # Theory of operation
//!
//! ```text
//!   Streaming(lease) ──Data──▶ (decode) ──▶ chunk to the user
//!        │ End ──▶ check the connection in (reusable if the core says so) ──▶ Done
//!        │ error ──▶ the lease is dropped (socket closed) ──▶ Failed
//!   drop while Streaming ──▶ the lease is dropped: closed, never reused
//! ```
//!
//! Nothing is read ahead: each `chunk()` reads the socket at most until one piece of
//! body is available, so memory stays bounded whatever the body's size. Leftovers of
//! `read(n)`, `readline()` and `iter_chunked(n)` wait in `buffer`.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, StatusCode, Version};
use sansweb_core::client::RequestTimers;
use sansweb_core::h1::{Event, HeaderFields, ResponseHead};
use url::Url;

use super::decode::Decoder;
use super::error::{ClientError, History, ResponseError};
use super::pool::Lease;
use super::trace::{TraceEvent, Tracer};
use crate::rt::Runtime;

/// A cookie a response set, as sent (name, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value.
    pub value: String,
}

/// The response to a request (aiohttp's `ClientResponse`).
pub struct ClientResponse<R: Runtime> {
    /// One box for the head and the body: a response is returned by value through every
    /// layer of `send` (hop, middleware chain, redirect loop, the boxed send future), and
    /// with many requests in flight each of those moves wrote ~320 bytes into memory gone
    /// cold in the cache (callgrind, 50 concurrent requests); a pointer moves in one word.
    inner: Box<Parts<R>>,
}

struct Parts<R: Runtime> {
    status: StatusCode,
    reason: String,
    version: Version,
    /// Built into a map only when first read: a caller that never looks at the headers
    /// (most of a fast client's requests) never pays for hashing them.
    headers: HeaderFields,
    url: Url,
    history: History,
    body: Body<R>,
}

pub(crate) struct Body<R: Runtime> {
    lease: Option<Lease<R>>,
    timers: RequestTimers,
    decoder: Option<Box<Decoder>>,
    buffer: VecDeque<Bytes>,
    keep_alive_hint: Option<Duration>,
    done: bool,
    /// A failure met while prefetching, reported at the next read.
    failed: Option<ClientError>,
    tracer: Tracer,
}

impl<R: Runtime> Body<R> {
    pub(crate) fn new(
        lease: Lease<R>,
        timers: RequestTimers,
        decoder: Option<Decoder>,
        keep_alive_hint: Option<Duration>,
        tracer: Tracer,
    ) -> Self {
        let mut timers = timers;
        // Until the user asks for the body, silence is ours, not the server's.
        timers.handle_read_paused();
        Self {
            lease: Some(lease),
            timers,
            decoder: decoder.map(Box::new),
            buffer: VecDeque::new(),
            keep_alive_hint,
            done: false,
            failed: None,
            tracer,
        }
    }

    /// Acts on one body event: `Some(piece)` to hand out (possibly empty), `None` at the
    /// end of the body. Failures drop the lease, so the connection is closed.
    fn on_event(&mut self, event: Event<ResponseHead>) -> Result<Option<Bytes>, ClientError> {
        let failed = |this: &mut Self, e: ClientError| {
            this.lease = None;
            this.done = true;
            Err(e)
        };
        match event {
            Event::Data(data) => match &mut self.decoder {
                Some(d) => match d.feed(&data) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) => failed(self, e),
                },
                None => Ok(Some(data)),
            },
            Event::End => {
                self.timers.handle_finished();
                self.done = true;
                if let Some(lease) = self.lease.take() {
                    lease.checkin(self.keep_alive_hint);
                }
                match &mut self.decoder {
                    Some(d) => d.finish().map(Some),
                    None => Ok(None),
                }
            }
            Event::Trailers(_) | Event::Informational(_) | Event::Continue => {
                Ok(Some(Bytes::new()))
            }
            Event::Closed => failed(
                self,
                ClientError::ServerDisconnected {
                    response_started: true,
                },
            ),
            Event::Error(e) => failed(self, ClientError::Payload(e.to_string())),
            other => failed(
                self,
                ClientError::Payload(format!("unexpected event in a response body: {other:?}")),
            ),
        }
    }

    /// Takes what the core already holds (no socket read): a body that arrived with the
    /// head, or an empty one (HEAD, 204, 304, `Content-Length: 0`), completes at once, so
    /// its connection goes back to the pool even if the user never reads the body.
    pub(crate) fn prefetch(&mut self) {
        while !self.done {
            let Some(event) = self.lease.as_mut().and_then(|l| l.conn().conn.poll_event()) else {
                return;
            };
            match self.on_event(event) {
                Ok(Some(b)) => {
                    if !b.is_empty() {
                        if !self.tracer.is_empty() {
                            self.tracer
                                .emit(TraceEvent::ResponseChunkReceived { len: b.len() });
                        }
                        self.buffer.push_back(b);
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    self.failed = Some(e);
                    return;
                }
            }
        }
    }

    /// The next decoded piece of body straight from the connection.
    async fn next_raw(&mut self) -> Result<Option<Bytes>, ClientError> {
        loop {
            let Some(lease) = &mut self.lease else {
                return Ok(None);
            };
            let timers = &mut self.timers;
            timers.handle_read_resumed(lease.conn().now());
            let event = std::future::poll_fn(|cx| lease.conn().poll_event(cx, timers)).await;
            timers.handle_read_paused();
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    self.lease = None;
                    self.done = true;
                    return Err(e);
                }
            };
            match self.on_event(event)? {
                Some(b) if b.is_empty() => continue,
                Some(b) => return Ok(Some(b)),
                None => return Ok(None),
            }
        }
    }

    async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        // Buffered pieces were traced when they arrived (prefetch) or are leftovers of
        // pieces already traced (readline, read(n)).
        if let Some(b) = self.buffer.pop_front() {
            return Ok(Some(b));
        }
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let chunk = self.next_raw().await?;
        if let Some(c) = &chunk {
            if !self.tracer.is_empty() {
                self.tracer
                    .emit(TraceEvent::ResponseChunkReceived { len: c.len() });
            }
        }
        Ok(chunk)
    }
}

impl<R: Runtime> ClientResponse<R> {
    pub(crate) fn new(
        status: StatusCode,
        reason: String,
        version: Version,
        headers: HeaderFields,
        url: Url,
        history: History,
        body: Body<R>,
    ) -> Self {
        Self {
            inner: Box::new(Parts {
                status,
                reason,
                version,
                headers,
                url,
                history,
                body,
            }),
        }
    }

    /// A response made up without a connection, e.g. by a middleware that answers from
    /// a cache or short-circuits a request (the body is `body`; the timeouts are the
    /// defaults, and nothing can time out since nothing is read).
    pub fn from_parts(status: StatusCode, headers: HeaderMap, url: Url, body: Bytes) -> Self {
        let mut buffer = VecDeque::new();
        if !body.is_empty() {
            buffer.push_back(body);
        }
        let timers = RequestTimers::new(
            sansweb_core::client::ClientTimeout::default(),
            std::time::Instant::now(),
        );
        Self {
            inner: Box::new(Parts {
                status,
                reason: status.canonical_reason().unwrap_or("").to_owned(),
                version: Version::HTTP_11,
                headers: headers.into(),
                url,
                history: Vec::new(),
                body: Body {
                    lease: None,
                    timers,
                    decoder: None,
                    buffer,
                    keep_alive_hint: None,
                    done: true,
                    failed: None,
                    tracer: Tracer::default(),
                },
            }),
        }
    }

    /// Takes a body the core already holds (see `Body::prefetch`).
    pub(crate) fn prefetch(&mut self) {
        self.inner.body.prefetch();
    }

    /// Sets the redirect history (once the redirect loop is done with the response).
    pub(crate) fn set_history(&mut self, history: History) {
        self.inner.history = history;
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// The reason phrase as sent.
    pub fn reason(&self) -> &str {
        &self.inner.reason
    }

    /// The HTTP version of the response.
    pub fn version(&self) -> Version {
        self.inner.version
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        self.inner.headers.map()
    }

    /// The URL that answered (after redirects).
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// The redirects followed to get here, oldest first: (status, URL that answered it).
    pub fn history(&self) -> &[(StatusCode, Url)] {
        &self.inner.history
    }

    /// The cookies this response set (`Set-Cookie` name and value; attributes are in
    /// the session's jar).
    pub fn cookies(&self) -> Vec<ResponseCookie> {
        self.inner
            .headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| {
                let pair = v.split(';').next()?;
                let (name, value) = pair.split_once('=')?;
                Some(ResponseCookie {
                    name: name.trim().to_owned(),
                    value: value.trim().to_owned(),
                })
            })
            .collect()
    }

    /// The `Content-Type` media type, lower case, without parameters.
    pub fn content_type(&self) -> Option<String> {
        let v = self
            .inner
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        Some(v.split(';').next()?.trim().to_ascii_lowercase())
    }

    /// The `charset` parameter of `Content-Type`, if any.
    pub fn charset(&self) -> Option<String> {
        let v = self
            .inner
            .headers
            .get(http::header::CONTENT_TYPE)?
            .to_str()
            .ok()?;
        v.split(';').skip(1).find_map(|p| {
            let (k, val) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("charset")
                .then(|| val.trim().trim_matches('"').to_ascii_lowercase())
        })
    }

    /// Fails with [`ClientError::Response`] if the status is 4xx or 5xx.
    pub fn raise_for_status(&self) -> Result<(), ClientError> {
        if self.inner.status.is_client_error() || self.inner.status.is_server_error() {
            return Err(ClientError::Response(Box::new(ResponseError {
                status: self.inner.status,
                message: self.inner.reason.clone(),
                headers: self.inner.headers.map().clone(),
                history: self.inner.history.clone(),
                url: self.inner.url.clone(),
            })));
        }
        Ok(())
    }

    /// Whether the whole body has been read (or failed).
    pub fn is_eof(&self) -> bool {
        self.inner.body.done
            && self.inner.body.buffer.is_empty()
            && self.inner.body.failed.is_none()
    }

    /// The next piece of the body as it arrives (decompressed), `None` at its end.
    /// aiohttp's `content.iter_any()`, one step.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ClientError> {
        self.inner.body.chunk().await
    }

    /// The same as [`chunk`](Self::chunk): the next piece of any size.
    pub async fn iter_any(&mut self) -> Result<Option<Bytes>, ClientError> {
        self.chunk().await
    }

    /// The next piece of exactly `n` bytes (fewer only at the end of the body).
    /// aiohttp's `content.iter_chunked(n)`, one step. `n` of 0 is taken as 1.
    pub async fn iter_chunked(&mut self, n: usize) -> Result<Option<Bytes>, ClientError> {
        let n = n.max(1);
        let mut out = BytesMut::new();
        while out.len() < n {
            let Some(mut b) = self.inner.body.chunk().await? else {
                break;
            };
            let want = n - out.len();
            if b.len() > want {
                let rest = b.split_off(want);
                self.inner.body.buffer.push_front(rest);
            }
            if out.is_empty() && b.len() == n {
                return Ok(Some(b));
            }
            out.extend_from_slice(&b);
        }
        Ok((!out.is_empty()).then(|| out.freeze()))
    }

    /// Up to `n` bytes: what is buffered or arrives next (aiohttp's `content.read(n)`);
    /// empty at the end of the body.
    pub async fn read(&mut self, n: usize) -> Result<Bytes, ClientError> {
        let Some(mut b) = self.inner.body.chunk().await? else {
            return Ok(Bytes::new());
        };
        if b.len() > n {
            let rest = b.split_off(n);
            self.inner.body.buffer.push_front(rest);
        }
        Ok(b)
    }

    /// The next line, with its `\n` (the last one may lack it); empty at the end.
    /// A line longer than `max_line` bytes is an error (bounded memory).
    pub async fn readline(&mut self) -> Result<Bytes, ClientError> {
        self.readline_max(1 << 20).await
    }

    /// [`readline`](Self::readline) with an explicit line limit.
    pub async fn readline_max(&mut self, max_line: usize) -> Result<Bytes, ClientError> {
        let mut line = BytesMut::new();
        loop {
            let Some(mut b) = self.inner.body.chunk().await? else {
                return Ok(line.freeze());
            };
            if let Some(i) = b.iter().position(|&c| c == b'\n') {
                let rest = b.split_off(i + 1);
                if !rest.is_empty() {
                    self.inner.body.buffer.push_front(rest);
                }
                if line.is_empty() {
                    return Ok(b);
                }
                line.extend_from_slice(&b);
                return Ok(line.freeze());
            }
            line.extend_from_slice(&b);
            if line.len() > max_line {
                return Err(ClientError::Payload(format!(
                    "line longer than {max_line} bytes"
                )));
            }
        }
    }

    /// The whole body. Limited to `max` bytes by [`bytes_max`](Self::bytes_max); this
    /// one reads everything.
    pub async fn bytes(&mut self) -> Result<Bytes, ClientError> {
        self.bytes_max(usize::MAX).await
    }

    /// The whole body, failing (and closing the connection) past `max` bytes.
    pub async fn bytes_max(&mut self, max: usize) -> Result<Bytes, ClientError> {
        let mut all = BytesMut::new();
        let mut first: Option<Bytes> = None;
        while let Some(b) = self.inner.body.chunk().await? {
            let total = all.len() + first.as_ref().map_or(0, Bytes::len) + b.len();
            if total > max {
                self.inner.body.lease = None;
                self.inner.body.done = true;
                return Err(ClientError::Payload(format!(
                    "body larger than {max} bytes"
                )));
            }
            match first.take() {
                None if all.is_empty() => first = Some(b),
                Some(f) => {
                    all.extend_from_slice(&f);
                    all.extend_from_slice(&b);
                }
                None => all.extend_from_slice(&b),
            }
        }
        Ok(match first {
            Some(f) => f,
            None => all.freeze(),
        })
    }

    /// The body as text: the charset from `Content-Type` (any WHATWG label), else
    /// detected (BOM, valid utf-8, then `chardetng`'s guess); invalid sequences become
    /// U+FFFD.
    pub async fn text(&mut self) -> Result<String, ClientError> {
        let charset = self.charset();
        let body = self.bytes().await?;
        decode_text(&body, charset.as_deref())
    }

    /// The body parsed as JSON into `T`.
    pub async fn json<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, ClientError> {
        let body = self.bytes().await?;
        serde_json::from_slice(&body).map_err(|e| ClientError::Decode(format!("JSON: {e}")))
    }

    /// Reads and discards the rest of the body, so the connection can be reused.
    pub async fn release(&mut self) -> Result<(), ClientError> {
        while self.inner.body.chunk().await?.is_some() {}
        Ok(())
    }

    /// Closes the connection now, without reading the rest of the body.
    pub fn close(&mut self) {
        self.inner.body.lease = None;
        self.inner.body.done = true;
        self.inner.body.buffer.clear();
    }
}

impl<R: Runtime> std::fmt::Debug for ClientResponse<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientResponse")
            .field("status", &self.inner.status)
            .field("url", &self.inner.url.as_str())
            .field("headers", self.inner.headers.map())
            .finish_non_exhaustive()
    }
}

/// Most bytes the charset detector looks at (it settles long before this).
const DETECT_LIMIT: usize = 64 * 1024;

/// Decodes `body` with the named charset (a WHATWG label: `utf-8`, `iso-8859-1`,
/// `shift_jis`, `koi8-r`, ...), or, without one, the BOM's, utf-8 if it is valid
/// utf-8, else what `chardetng` guesses (aiohttp: charset-normalizer). Invalid
/// sequences become U+FFFD, as Python's `errors="replace"`.
fn decode_text(body: &[u8], charset: Option<&str>) -> Result<String, ClientError> {
    let encoding = match charset {
        Some(label) => encoding_rs::Encoding::for_label(label.trim().as_bytes())
            .ok_or_else(|| ClientError::Decode(format!("unsupported charset {label:?}")))?,
        None => detect_charset(body),
    };
    // `decode` honours a BOM over the label, as browsers (and Python's utf-8-sig) do.
    let (text, _, _) = encoding.decode(body);
    Ok(text.into_owned())
}

fn detect_charset(body: &[u8]) -> &'static encoding_rs::Encoding {
    if let Some((bom, _)) = encoding_rs::Encoding::for_bom(body) {
        return bom;
    }
    if std::str::from_utf8(body).is_ok() {
        return encoding_rs::UTF_8;
    }
    let sample = &body[..body.len().min(DETECT_LIMIT)];
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(sample, sample.len() == body.len());
    detector.guess(None, true)
}

/// The `timeout` of a response's `Keep-Alive` field, if any.
pub(crate) fn keep_alive_hint_of(head: &ResponseHead) -> Option<Duration> {
    keep_alive_from(std::str::from_utf8(head.headers.first("keep-alive")?).ok()?)
}

#[cfg(test)]
pub(crate) fn keep_alive_hint(headers: &HeaderMap) -> Option<Duration> {
    keep_alive_from(headers.get("keep-alive")?.to_str().ok()?)
}

fn keep_alive_from(v: &str) -> Option<Duration> {
    v.split(',').find_map(|p| {
        let (k, val) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("timeout")
            .then(|| val.trim().parse::<u64>().ok().map(Duration::from_secs))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_charsets() {
        assert_eq!(decode_text(b"caf\xc3\xa9", None).unwrap(), "café");
        assert_eq!(decode_text(b"caf\xe9", Some("iso-8859-1")).unwrap(), "café");
        assert!(decode_text(b"x", Some("x-no-such-charset")).is_err());
    }

    #[test]
    fn text_charset_table() {
        // (body, Content-Type charset, expected text)
        let sjis = b"\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\x90\xa2\x8a\x45";
        let table: &[(&[u8], Option<&str>, &str)] = &[
            (b"plain ascii", None, "plain ascii"),
            ("héllo wörld".as_bytes(), Some("UTF-8"), "héllo wörld"),
            (b"caf\xe9", Some("latin1"), "café"),
            (b"caf\xe9", Some("\"ISO-8859-1\""), "café"),
            (sjis, Some("shift_jis"), "こんにちは世界"),
            (sjis, Some("Shift-JIS"), "こんにちは世界"),
            (b"\xef\xbb\xbfbom", None, "bom"),
            (b"\xff\xfeh\x00i\x00", None, "hi"),
            (b"bad \xff utf8", Some("utf-8"), "bad \u{fffd} utf8"),
            (b"\xc1\xc2\xd4\xd5", Some("koi8-r"), "абту"),
        ];
        for (body, charset, want) in table {
            let charset = charset.map(|c| c.trim_matches('"'));
            assert_eq!(decode_text(body, charset).unwrap(), *want, "{charset:?}");
        }
    }

    #[test]
    fn text_charset_detected_when_absent() {
        // No charset: utf-8 when valid, else chardetng's guess from the bytes.
        let latin1 = "Le café est très bon, déjà prêt à côté de la fenêtre, où il fait été."
            .chars()
            .map(|c| u8::try_from(u32::from(c)).unwrap())
            .collect::<Vec<u8>>();
        assert_eq!(
            decode_text(&latin1, None).unwrap(),
            "Le café est très bon, déjà prêt à côté de la fenêtre, où il fait été."
        );
        let (sjis, _, _) = encoding_rs::SHIFT_JIS
            .encode("日本語のテキストです。これはシフトJISで書かれた文章で、文字コードの自動判定を試します。");
        assert_eq!(
            decode_text(&sjis, None).unwrap(),
            "日本語のテキストです。これはシフトJISで書かれた文章で、文字コードの自動判定を試します。"
        );
        assert_eq!(decode_text("ünïcödé".as_bytes(), None).unwrap(), "ünïcödé");
    }

    #[test]
    fn keep_alive_header() {
        let mut h = HeaderMap::new();
        assert_eq!(keep_alive_hint(&h), None);
        h.insert("keep-alive", "timeout=5, max=100".parse().unwrap());
        assert_eq!(keep_alive_hint(&h), Some(Duration::from_secs(5)));
        h.insert("keep-alive", "max=100".parse().unwrap());
        assert_eq!(keep_alive_hint(&h), None);
    }
}
