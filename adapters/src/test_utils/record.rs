//! Record/replay: a [`RecordingConnector`] wraps a real connector and keeps every
//! exchange; a [`Cassette`] saves them as JSON and loads them back into a
//! [`MockServer`].
//!
//! # Theory of operation
//!
//! The recorder is a bystander on the byte stream: it parses what the client writes
//! with a server codec and what it reads with a client codec, mirroring each message
//! into the other codec so both stay in step across keep-alive exchanges. It never
//! changes a byte; if its parsers ever disagree with the traffic, it stops recording
//! that connection and the traffic goes on.
//!
//! ```text
//!   session ── write ──▶ RecordingStream ──▶ real stream      (request bytes → Conn<Server>)
//!           ◀── read ─── RecordingStream ◀── real stream      (response bytes → Conn<Client>)
//!   request End + response End ─▶ Exchange { request, response, elapsed } ─▶ Cassette
//! ```
//!
//! Replay registers each exchange, in order, as a once-only mock for its method and
//! exact URL, optionally with the recorded elapsed time as the mock's delay. The
//! framing headers (`Content-Length`, `Transfer-Encoding`) are recomputed on replay;
//! the body is replayed as received (still compressed if it was), so decompression
//! runs again.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_io::{AsyncRead, AsyncWrite};
use http::HeaderMap;
use sansweb_core::h1::{Client, Config, Conn, Event, RequestHead, ResponseHead, Server};
use serde::{Deserialize, Serialize};

use super::mock::{MockResponse, MockServer, UrlPattern};
use crate::client::{Connect, ConnectFuture, ConnectTarget};
use crate::rt::{Runtime, Stream};
use crate::web::DynRuntime;

/// A body as stored: text when it is UTF-8, base64 otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBody {
    /// The body, when it is valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The body in standard base64, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base64: Option<String>,
}

impl StoredBody {
    fn new(bytes: &[u8]) -> Self {
        match std::str::from_utf8(bytes) {
            Ok(text) => Self {
                text: Some(text.to_owned()),
                base64: None,
            },
            Err(_) => Self {
                text: None,
                base64: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            },
        }
    }

    /// The bytes (an undecodable base64 field gives an error).
    pub fn bytes(&self) -> io::Result<Bytes> {
        match (&self.text, &self.base64) {
            (Some(t), _) => Ok(Bytes::from(t.clone())),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map(Bytes::from)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            (None, None) => Ok(Bytes::new()),
        }
    }
}

/// One recorded request and its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The request method.
    pub method: String,
    /// The absolute request URL.
    pub url: String,
    /// The request headers, in order.
    pub request_headers: Vec<(String, String)>,
    /// The request body (de-chunked).
    pub request_body: StoredBody,
    /// The response status code.
    pub status: u16,
    /// The response reason phrase.
    pub reason: String,
    /// The response headers, in order.
    pub response_headers: Vec<(String, String)>,
    /// The response body as received (de-chunked, not decompressed).
    pub response_body: StoredBody,
    /// From the request's first byte written to the response's last byte read, in ms.
    pub elapsed_ms: u64,
}

/// Recorded exchanges, as saved to and loaded from a JSON file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cassette {
    /// The exchanges, in the order their responses completed.
    pub exchanges: Vec<Exchange>,
}

impl Cassette {
    /// Writes the cassette to `path` as pretty JSON.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        std::fs::write(path, json)
    }

    /// Reads a cassette saved by [`Cassette::save`].
    pub fn load(path: impl AsRef<Path>) -> io::Result<Self> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Registers every exchange on `mock` as a once-only response to its method and
    /// exact URL, in order; with `honour_timing`, each waits its recorded elapsed time
    /// (on the mock's runtime clock) before answering.
    pub fn replay_into(&self, mock: &MockServer, honour_timing: bool) -> io::Result<()> {
        for ex in &self.exchanges {
            let method = http::Method::from_bytes(ex.method.as_bytes())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            let mut response = MockResponse::new()
                .status(ex.status)
                .reason(&ex.reason)
                .body(ex.response_body.bytes()?);
            for (name, value) in &ex.response_headers {
                // Framing is recomputed for the replayed body.
                if name.eq_ignore_ascii_case("content-length")
                    || name.eq_ignore_ascii_case("transfer-encoding")
                {
                    continue;
                }
                response = response.header(name, value);
            }
            if honour_timing {
                response = response.delay(Duration::from_millis(ex.elapsed_ms));
            }
            mock.on(Some(method), UrlPattern::exact(&ex.url))
                .once()
                .respond(response);
        }
        Ok(())
    }
}

/// A [`Connect`] that records every exchange passing through `inner` (see the module
/// doc). Cheap to clone; clones share the recording.
#[derive(Clone)]
pub struct RecordingConnector {
    inner: Arc<dyn Connect>,
    rt: DynRuntime,
    cassette: Arc<Mutex<Cassette>>,
}

impl RecordingConnector {
    /// Records what goes through `inner`, timing it with `rt`'s clock.
    pub fn new<R: Runtime>(rt: &R, inner: impl Connect) -> Self {
        Self {
            inner: Arc::new(inner),
            rt: DynRuntime::new(rt.clone()),
            cassette: Arc::default(),
        }
    }

    /// The exchanges recorded so far.
    pub fn cassette(&self) -> Cassette {
        self.cassette
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Saves the exchanges recorded so far to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.cassette().save(path)
    }
}

impl Connect for RecordingConnector {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let connecting = self.inner.connect(target);
        let (rt, cassette, scheme) = (
            self.rt.clone(),
            self.cassette.clone(),
            target.scheme.clone(),
        );
        Box::pin(async move {
            let stream = connecting.await?;
            let recorder = Recorder::new(rt, cassette, scheme);
            Ok(Box::new(RecordingStream { stream, recorder }) as Box<dyn Stream>)
        })
    }
}

/// Plain TCP to the target's host and port with the runtime's resolver: the connector to
/// wrap when recording against a local server (no proxy, no TLS: `https` is refused).
#[derive(Clone)]
pub struct TcpConnector<R: Runtime> {
    rt: R,
}

impl<R: Runtime> TcpConnector<R> {
    /// A plain TCP connector on `rt`.
    pub fn new(rt: R) -> Self {
        Self { rt }
    }
}

impl<R: Runtime> Connect for TcpConnector<R> {
    fn connect(&self, target: &ConnectTarget) -> ConnectFuture {
        let rt = self.rt.clone();
        let target = target.clone();
        Box::pin(async move {
            if target.scheme != "http" {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "TcpConnector speaks plain http only",
                ));
            }
            let host = target.host.trim_start_matches('[').trim_end_matches(']');
            let addrs = match host.parse::<std::net::IpAddr>() {
                Ok(ip) => vec![std::net::SocketAddr::new(ip, target.port)],
                Err(_) => rt.resolve(host, target.port).await?,
            };
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for host");
            for addr in addrs {
                match rt.connect_tcp(addr).await {
                    Ok(s) => return Ok(Box::new(s) as Box<dyn Stream>),
                    Err(e) => last = e,
                }
            }
            Err(last)
        })
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// The two bystander codecs of one connection.
struct Recorder {
    rt: DynRuntime,
    cassette: Arc<Mutex<Cassette>>,
    scheme: String,
    requests: Conn<Server>,
    responses: Conn<Client>,
    request: Option<(RequestHead, BytesMut, Instant)>,
    complete_request: Option<(RequestHead, Bytes, Instant)>,
    /// When the next request's first byte was written.
    first_byte_at: Option<Instant>,
    response: Option<(ResponseHead, BytesMut)>,
    /// The parsers lost track of the traffic: stop recording this connection.
    broken: bool,
}

impl Recorder {
    fn new(rt: DynRuntime, cassette: Arc<Mutex<Cassette>>, scheme: String) -> Self {
        let now = rt.now();
        Self {
            requests: Conn::new(Config::server(), now),
            responses: Conn::new(Config::client(), now),
            rt,
            cassette,
            scheme,
            request: None,
            complete_request: None,
            first_byte_at: None,
            response: None,
            broken: false,
        }
    }

    fn written(&mut self, bytes: &[u8]) {
        if self.broken || bytes.is_empty() {
            return;
        }
        let now = self.rt.now();
        if self.request.is_none() && self.complete_request.is_none() {
            // The clock starts at the request's first byte.
            self.first_byte_at.get_or_insert(now);
        }
        self.requests.handle_input(now, bytes);
        self.drain(now);
    }

    fn read(&mut self, bytes: &[u8]) {
        if self.broken {
            return;
        }
        let now = self.rt.now();
        if bytes.is_empty() {
            self.responses.handle_eof(now);
        } else {
            self.responses.handle_input(now, bytes);
        }
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        if let Err(()) = self.try_drain(now) {
            self.broken = true;
        }
        // The bystanders' own output (100-continue, error responses) goes nowhere.
        while self.requests.poll_transmit().is_some() {}
        while self.responses.poll_transmit().is_some() {}
    }

    fn try_drain(&mut self, now: Instant) -> Result<(), ()> {
        while let Some(event) = self.requests.poll_event() {
            match event {
                Event::Head(head) => {
                    let started = self.first_byte_at.take().unwrap_or(now);
                    // Mirror into the client codec so it knows what response to expect.
                    let mut mirror = head.clone();
                    mirror.headers.remove(http::header::EXPECT);
                    self.responses.send_request(now, mirror).map_err(drop)?;
                    self.request = Some((head, BytesMut::new(), started));
                }
                Event::Data(d) => {
                    let (_, body, _) = self.request.as_mut().ok_or(())?;
                    body.extend_from_slice(&d);
                    self.responses.send_data(now, d).map_err(drop)?;
                }
                Event::End => {
                    let (head, body, started) = self.request.take().ok_or(())?;
                    self.responses.send_end(now, None).map_err(drop)?;
                    self.complete_request = Some((head, body.freeze(), started));
                }
                Event::Trailers(_) | Event::Continue | Event::Informational(_) => {}
                _ => return Err(()),
            }
        }
        while let Some(event) = self.responses.poll_event() {
            match event {
                Event::Head(head) => {
                    let mut mirror = head.clone();
                    mirror.headers.remove(http::header::CONNECTION);
                    self.requests.send_response(now, mirror).map_err(drop)?;
                    self.response = Some((head, BytesMut::new()));
                }
                Event::Data(d) => {
                    let (_, body) = self.response.as_mut().ok_or(())?;
                    body.extend_from_slice(&d);
                    self.requests.send_data(now, d).map_err(drop)?;
                }
                Event::End => {
                    let (head, body) = self.response.take().ok_or(())?;
                    let (req, req_body, started) = self.complete_request.take().ok_or(())?;
                    self.requests.send_end(now, None).map_err(drop)?;
                    self.save(req, req_body, started, head, body.freeze(), now);
                }
                Event::Trailers(_) | Event::Informational(_) | Event::Continue => {}
                Event::Closed => {}
                _ => return Err(()),
            }
        }
        Ok(())
    }

    fn save(
        &self,
        req: RequestHead,
        req_body: Bytes,
        started: Instant,
        resp: ResponseHead,
        resp_body: Bytes,
        now: Instant,
    ) {
        let url = if req.uri.scheme().is_some() {
            req.uri.to_string()
        } else {
            let host = req
                .headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("unknown-host");
            let path = req.uri.path_and_query().map_or("/", |p| p.as_str());
            format!("{}://{host}{path}", self.scheme)
        };
        let exchange = Exchange {
            method: req.method.to_string(),
            url: url::Url::parse(&url).map_or(url, String::from),
            request_headers: header_pairs(&req.headers),
            request_body: StoredBody::new(&req_body),
            status: resp.status.as_u16(),
            reason: resp.reason_phrase().to_owned(),
            response_headers: header_pairs(&resp.headers),
            response_body: StoredBody::new(&resp_body),
            elapsed_ms: u64::try_from(now.saturating_duration_since(started).as_millis())
                .unwrap_or(u64::MAX),
        };
        self.cassette
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .exchanges
            .push(exchange);
    }
}

/// A stream that shows every byte to its [`Recorder`] on the way through.
struct RecordingStream {
    stream: Box<dyn Stream>,
    recorder: Recorder,
}

impl AsyncRead for RecordingStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            if !buf.is_empty() {
                this.recorder.read(&buf[..n]);
            }
        }
        result
    }
}

impl AsyncWrite for RecordingStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            this.recorder.written(&buf[..n]);
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_close(cx)
    }
}
