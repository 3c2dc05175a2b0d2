//! The one drive loop's moving parts, shared by every client and server connection on
//! every runtime.
//!
//! # Theory of operation
//!
//! A connection task owns a core state machine (`Conn<Server>`, `Conn<Client>`, later a
//! WebSocket) and a [`Transport`]. It loops:
//!
//! ```text
//!   ┌────────► poll_read:  socket ──bytes──► core.handle_input(now, ..)  (EOF ► handle_eof)
//!   │          drain core.poll_event()  ──► application
//!   │          poll_write: core.poll_transmit() ──► one vectored write per batch
//!   └──sleep── until: readable | writable | app command | core.poll_timeout()
//! ```
//!
//! The transport never parses and the core never waits. Reads go through one scratch
//! buffer per thread, so an idle connection holds no read buffer of its own (the core
//! allocates only when bytes arrive). Writes are gathered: everything the core made ready
//! since the last write leaves in one `write_vectored` call.

use bytes::{Buf, Bytes};
use futures_io::{AsyncRead, AsyncWrite};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// `ready!` that returns errors and `Pending` from the enclosing poll function.
macro_rules! ready_or_return {
    ($e:expr) => {
        match $e {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    };
}

/// Size of the per-thread read scratch buffer.
const SCRATCH: usize = 64 * 1024;
/// Most slices handed to one vectored write.
const MAX_IOVECS: usize = 64;

thread_local! {
    static SCRATCH_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH].into_boxed_slice());
}

/// Something that consumes bytes read from the transport (a protocol core).
pub(crate) trait Sink {
    /// Bytes arrived.
    fn input(&mut self, now: Instant, bytes: &[u8]);
    /// The peer closed its sending side.
    fn eof(&mut self, now: Instant);
    /// The next bytes to write, in order.
    fn transmit(&mut self) -> Option<Bytes>;
}

impl<R: sansweb_core::h1::Role> Sink for sansweb_core::h1::Conn<R> {
    fn input(&mut self, now: Instant, bytes: &[u8]) {
        self.handle_input(now, bytes);
    }
    fn eof(&mut self, now: Instant) {
        self.handle_eof(now);
    }
    fn transmit(&mut self) -> Option<Bytes> {
        self.poll_transmit()
    }
}

impl Sink for sansweb_core::ws::WebSocket {
    fn input(&mut self, now: Instant, bytes: &[u8]) {
        self.handle_input(now, bytes);
    }
    fn eof(&mut self, now: Instant) {
        self.handle_eof(now);
    }
    fn transmit(&mut self) -> Option<Bytes> {
        self.poll_transmit()
    }
}

/// A byte stream plus the bytes waiting to be written to it.
pub(crate) struct Transport<S> {
    stream: S,
    pending: VecDeque<Bytes>,
    read_closed: bool,
    /// Bytes went to the stream since its last completed flush (a TLS stream may still
    /// hold some of them).
    unflushed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Transport<S> {
    pub(crate) fn new(stream: S) -> Self {
        Self {
            stream,
            pending: VecDeque::new(),
            read_closed: false,
            unflushed: false,
        }
    }

    /// Whether the peer closed its side.
    pub(crate) fn read_closed(&self) -> bool {
        self.read_closed
    }

    /// Reads once and feeds the bytes (or the EOF) to `sink`.
    pub(crate) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut impl Sink,
        now: impl FnOnce() -> Instant,
    ) -> Poll<io::Result<usize>> {
        if self.read_closed {
            return Poll::Ready(Ok(0));
        }
        SCRATCH_BUF.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            match Pin::new(&mut self.stream).poll_read(cx, &mut scratch[..]) {
                Poll::Ready(Ok(0)) => {
                    self.read_closed = true;
                    sink.eof(now());
                    Poll::Ready(Ok(0))
                }
                Poll::Ready(Ok(n)) => {
                    sink.input(now(), &scratch[..n]);
                    Poll::Ready(Ok(n))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }

    /// [`poll_read_into`](Self::poll_read_into) without the scratch buffer: the stream
    /// reads straight into `conn`'s read buffer, lent `room` bytes (at least 1) of it, so
    /// what it reads is never copied. For bulk bodies: the lent room is zeroed first (a
    /// futures-io reader takes an initialised slice), which costs more than copying a
    /// small read out of the scratch buffer. A plain tokio TCP stream skips the zeroing: it
    /// reads into the buffer's spare capacity (`Conn::handle_input_buf`, `try_read_buf`).
    pub(crate) fn poll_read_direct<R: sansweb_core::h1::Role>(
        &mut self,
        cx: &mut Context<'_>,
        conn: &mut sansweb_core::h1::Conn<R>,
        room: usize,
        now: Instant,
    ) -> Poll<io::Result<usize>>
    where
        S: 'static,
    {
        if self.read_closed {
            return Poll::Ready(Ok(0));
        }
        // Room 0 would read 0 bytes, which is EOF.
        let polled = self.fill_direct(cx, conn, room.max(1), now);
        if let Poll::Ready(Ok(0)) = polled {
            self.read_closed = true;
            conn.handle_eof(now);
        }
        polled
    }

    /// One read into `conn`'s buffer: into spare capacity on a plain tokio TCP stream,
    /// else into `room` zeroed bytes lent by the core.
    fn fill_direct<R: sansweb_core::h1::Role>(
        &mut self,
        cx: &mut Context<'_>,
        conn: &mut sansweb_core::h1::Conn<R>,
        room: usize,
        now: Instant,
    ) -> Poll<io::Result<usize>>
    where
        S: 'static,
    {
        #[cfg(feature = "runtime-tokio")]
        if let Some(tcp) = tokio_tcp(&mut self.stream) {
            return conn.handle_input_buf(now, |buf| {
                buf.reserve(room);
                poll_tokio_read_buf(tcp, cx, buf)
            });
        }
        let stream = &mut self.stream;
        conn.handle_input_with(now, room, |buf| {
            let polled = Pin::new(stream).poll_read(cx, buf);
            let filled = match polled {
                Poll::Ready(Ok(n)) => n,
                _ => 0,
            };
            (filled, polled)
        })
    }

    /// Reads once straight into a WebSocket's own buffer
    /// ([`input_buffer`](sansweb_core::ws::WebSocket::input_buffer)), where frames are
    /// unmasked in place and a binary message leaves as a `Bytes` slice of what the kernel
    /// wrote: for megabyte payloads the scratch-buffer copy was a fifth of an echo's CPU.
    /// Once the core reads nothing more (the peer's close seen, or failed) its buffer is
    /// empty; bytes still arriving are read into a throwaway buffer, so the EOF that ends
    /// the connection is still seen.
    pub(crate) fn poll_read_ws(
        &mut self,
        cx: &mut Context<'_>,
        ws: &mut sansweb_core::ws::WebSocket,
        now: impl FnOnce() -> Instant,
    ) -> Poll<io::Result<usize>> {
        if self.read_closed {
            return Poll::Ready(Ok(0));
        }
        let mut discard = [0u8; 512];
        let direct = !ws.input_buffer().is_empty();
        let buf = if direct {
            ws.input_buffer()
        } else {
            &mut discard[..]
        };
        let n = ready_or_return!(Pin::new(&mut self.stream).poll_read(cx, buf));
        if n == 0 {
            self.read_closed = true;
            ws.handle_eof(now());
        } else if direct {
            ws.handle_read(now(), n);
        }
        Poll::Ready(Ok(n))
    }

    /// Takes everything `sink` has to send and writes it, gathered. `Ready(Ok)` once all
    /// of it is written and flushed.
    pub(crate) fn poll_write_from(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut impl Sink,
    ) -> Poll<io::Result<()>> {
        while let Some(bytes) = sink.transmit() {
            if !bytes.is_empty() {
                self.pending.push_back(bytes);
            }
        }
        if !self.pending.is_empty() {
            self.unflushed = true;
        }
        while !self.pending.is_empty() {
            let written = if self.pending.len() == 1 {
                ready_or_return!(Pin::new(&mut self.stream).poll_write(cx, &self.pending[0]))
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = self.pending.len().min(MAX_IOVECS);
                for (slot, bytes) in slices.iter_mut().zip(&self.pending) {
                    *slot = IoSlice::new(bytes);
                }
                ready_or_return!(
                    Pin::new(&mut self.stream).poll_write_vectored(cx, &slices[..count])
                )
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.consume(written);
        }
        let flushed = Pin::new(&mut self.stream).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            self.unflushed = false;
        }
        flushed
    }

    /// Whether [`poll_write_from`](Self::poll_write_from) has anything to do besides
    /// asking the sink: no bytes wait and every write was flushed. A connection loop
    /// whose core has nothing to send skips the write poll then.
    pub(crate) fn is_write_idle(&self) -> bool {
        self.pending.is_empty() && !self.unflushed
    }

    /// Whether bytes are still waiting to be written.
    pub(crate) fn has_pending_writes(&self) -> bool {
        !self.pending.is_empty()
    }

    fn consume(&mut self, mut written: usize) {
        while written > 0 {
            let Some(front) = self.pending.front_mut() else {
                return;
            };
            if front.len() <= written {
                written -= front.len();
                self.pending.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }

    /// Closes the write side.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_close(cx)
    }

    /// Gives the stream back (after an upgrade), with any bytes still to write.
    pub(crate) fn into_parts(self) -> (S, VecDeque<Bytes>) {
        (self.stream, self.pending)
    }
}

/// The tokio TCP stream inside `stream` (itself or a `Box<dyn Stream>` holding one): such a
/// stream can read into a buffer's uninitialised spare capacity with no `unsafe` of ours
/// (`try_read_buf`), where a futures-io reader needs zeroed room. TLS and the other runtimes
/// are not recognised and read through futures-io.
#[cfg(feature = "runtime-tokio")]
fn tokio_tcp<S: 'static>(stream: &mut S) -> Option<&mut tokio::net::TcpStream> {
    use crate::rt::{Stream, TokioStream};
    use std::any::Any;
    let any: &mut dyn Any = stream;
    if any.is::<Box<dyn Stream>>() {
        let boxed = any.downcast_mut::<Box<dyn Stream>>()?;
        let inner: &mut dyn Any = &mut **boxed;
        return inner
            .downcast_mut::<TokioStream<tokio::net::TcpStream>>()
            .map(TokioStream::get_mut);
    }
    any.downcast_mut::<TokioStream<tokio::net::TcpStream>>()
        .map(TokioStream::get_mut)
}

/// One read of `tcp` into `buf`'s spare capacity: `Ready(Ok(n))` with the `n` bytes
/// appended (0 at EOF), or `Pending` with the waker registered for readiness.
#[cfg(feature = "runtime-tokio")]
fn poll_tokio_read_buf(
    tcp: &mut tokio::net::TcpStream,
    cx: &mut Context<'_>,
    buf: &mut bytes::BytesMut,
) -> Poll<io::Result<usize>> {
    loop {
        match tcp.try_read_buf(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ready_or_return!(tcp.poll_read_ready(cx));
            }
            done => return Poll::Ready(done),
        }
    }
}
