//! The mock's side of one connection: the core's server codec, a mock lookup per
//! request, canned bytes back.
//!
//! ```text
//!   read ─▶ Conn<Server>.handle_input ─▶ Head / Data… / End ─▶ MockServer::answer
//!     ▲        Response: [delay] send_full_response ─▶ write transmits ─┐
//!     │        Disconnect: drop the pipe (the client reads EOF)        │
//!     │        no match: fail the client's read with the message       │
//!     └────────────────────────────────────────────────────────────────┘
//! ```
//!
//! The server codec adds nothing of its own beyond framing (`Content-Length`), so the
//! client sees exactly the registered status, reason, headers and body.

use std::io;

use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use sansweb_core::h1::{Config, Conn, Event, RequestHead, ResponseHead, Server};

use super::response::Reply;
use super::{MockServer, RecordedRequest};
use crate::test_utils::pipe::PipeEnd;

/// Largest request body a mock keeps (tests send far less; this bounds a runaway one).
const MAX_RECORDED_BODY: usize = 64 << 20;

/// The absolute URL a request was for, normalised.
fn request_url(scheme: &str, head: &RequestHead) -> String {
    if head.uri.scheme().is_some() {
        // Absolute-form (the client believes it talks to a proxy).
        return super::pattern::normalise(&head.uri.to_string());
    }
    let host = head
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("unknown-host");
    let path = head.uri.path_and_query().map_or("/", |p| p.as_str());
    super::pattern::normalise(&format!("{scheme}://{host}{path}"))
}

/// Serves one mock connection until either side closes.
pub(super) async fn serve(mock: MockServer, scheme: String, mut stream: PipeEnd) {
    let rt = mock.runtime().clone();
    let mut conn: Conn<Server> = Conn::new(Config::server(), rt.now());
    let mut buf = vec![0u8; 16 * 1024];
    let mut head: Option<RequestHead> = None;
    let mut body = BytesMut::new();
    let mut eof = false;
    loop {
        let mut progressed = false;
        while let Some(event) = conn.poll_event() {
            progressed = true;
            match event {
                Event::Head(h) => {
                    head = Some(h);
                    body.clear();
                }
                Event::Data(d) => {
                    if body.len() + d.len() > MAX_RECORDED_BODY {
                        stream.close_with_error(
                            io::ErrorKind::InvalidData,
                            "mock: request body over 64 MiB",
                        );
                        return;
                    }
                    body.extend_from_slice(&d);
                }
                Event::End => {
                    let Some(h) = head.take() else { continue };
                    let request = RecordedRequest {
                        url: request_url(&scheme, &h),
                        method: h.method,
                        headers: h.headers.into_map(),
                        body: body.split().freeze(),
                    };
                    match mock.answer(request) {
                        Ok(Reply::Response(r)) => {
                            if let Some(delay) = r.delay {
                                rt.sleep_until(rt.now() + delay).await;
                            }
                            let mut out = ResponseHead::new(r.status);
                            out.reason = r.reason.map(Bytes::from);
                            for (name, value) in r.headers {
                                out.headers.append(name, value);
                            }
                            if conn.send_full_response(rt.now(), out, r.body).is_err() {
                                return;
                            }
                        }
                        // Dropping the stream is the disconnect: the client reads EOF.
                        Ok(Reply::Error(_)) => return,
                        Err(message) => {
                            stream.close_with_error(io::ErrorKind::NotFound, message);
                            return;
                        }
                    }
                }
                Event::Closed | Event::Error(_) => {
                    // Write what the core still holds (an error response), then close.
                    while let Some(bytes) = conn.poll_transmit() {
                        if stream.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                    return;
                }
                _ => {}
            }
        }
        while let Some(bytes) = conn.poll_transmit() {
            if stream.write_all(&bytes).await.is_err() {
                return;
            }
        }
        if conn.is_closed() || (eof && !progressed) {
            return;
        }
        match stream.read(&mut buf).await {
            Ok(0) => {
                eof = true;
                conn.handle_eof(rt.now());
            }
            Ok(n) => conn.handle_input(rt.now(), &buf[..n]),
            Err(_) => return,
        }
    }
}
