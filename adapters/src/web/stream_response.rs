//! aiohttp's `StreamResponse`: a response whose body the application writes piece by
//! piece, with back-pressure.
//!
//! `StreamResponse::new()` gives the [`Response`] to return from the handler (its head
//! goes out at once) and a [`StreamWriter`] to write the body with, typically from a
//! task the handler spawned on `req.runtime()`. `write` waits while `capacity` chunks are
//! queued and unsent, so a fast producer cannot outrun a slow client; dropping the writer
//! (or `write_eof`) ends the body, and an `abort` ends the connection so the client sees
//! a truncated body rather than a complete one.

use super::response::Response;
use bytes::Bytes;
use futures_lite::Stream;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct Shared {
    chunks: VecDeque<Bytes>,
    capacity: usize,
    ended: bool,
    aborted: Option<String>,
    receiver_gone: bool,
    /// The connection task, waiting for a chunk.
    reader: Option<Waker>,
    /// The writer, waiting for room.
    writer: Option<Waker>,
}

/// Writes the body of a [`StreamResponse`].
pub struct StreamWriter {
    shared: Arc<Mutex<Shared>>,
}

/// aiohttp's `web.StreamResponse`, as a (response, writer) pair.
///
/// ```
/// use sansweb::web::{Request, Response, StreamResponse};
/// async fn countdown(req: Request) -> Response {
///     let (response, mut writer) = StreamResponse::new(4);
///     let rt = req.runtime().cloned();
///     let task = async move {
///         for i in (0..3).rev() {
///             if writer.write(format!("{i}\n")).await.is_err() {
///                 return; // the client went away
///             }
///         }
///         writer.write_eof();
///     };
///     match rt {
///         Some(rt) => rt.spawn(Box::pin(task)),
///         None => {} // a mocked request has no runtime to write from
///     }
///     response.with_header("content-type", "text/plain")
/// }
/// ```
pub struct StreamResponse;

impl StreamResponse {
    /// A streamed response (200, chunked) and its writer; at most `capacity` chunks
    /// wait unsent before `write` waits.
    #[allow(clippy::new_ret_no_self)] // aiohttp's name, Rust's pair
    pub fn new(capacity: usize) -> (Response, StreamWriter) {
        let shared = Arc::new(Mutex::new(Shared {
            capacity: capacity.max(1),
            ..Shared::default()
        }));
        let body = BodyReader {
            shared: shared.clone(),
        };
        (Response::stream(body), StreamWriter { shared })
    }
}

impl StreamWriter {
    /// Queues `data`, waiting while the queue is full. Fails once the client is gone.
    pub async fn write(&mut self, data: impl Into<Bytes>) -> io::Result<()> {
        let mut data = Some(data.into());
        poll_fn(|cx| {
            let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
            if shared.receiver_gone {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "client gone",
                )));
            }
            if shared.chunks.len() >= shared.capacity {
                shared.writer = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if let Some(chunk) = data.take() {
                shared.chunks.push_back(chunk);
            }
            if let Some(reader) = shared.reader.take() {
                reader.wake();
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// Ends the body (also done by dropping the writer).
    pub fn write_eof(self) {}

    /// Ends the response as failed: the connection closes after what was written, so
    /// the client can tell the body is incomplete.
    pub fn abort(self, why: impl Into<String>) {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.aborted = Some(why.into());
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.ended = true;
        if let Some(reader) = shared.reader.take() {
            reader.wake();
        }
    }
}

/// The connection task's side: the body as a stream of chunks.
struct BodyReader {
    shared: Arc<Mutex<Shared>>,
}

impl Stream for BodyReader {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(chunk) = shared.chunks.pop_front() {
            if let Some(writer) = shared.writer.take() {
                writer.wake();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if let Some(why) = shared.aborted.take() {
            return Poll::Ready(Some(Err(io::Error::other(why))));
        }
        if shared.ended {
            return Poll::Ready(None);
        }
        shared.reader = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for BodyReader {
    fn drop(&mut self) {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.receiver_gone = true;
        if let Some(writer) = shared.writer.take() {
            writer.wake();
        }
    }
}
