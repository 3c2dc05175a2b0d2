//! The socket task's transport: reads land directly in the core's buffer.
//!
//! The shared `driver::Transport` reads into a per-thread scratch buffer and hands the
//! bytes to the core, which copies them into its own buffer. For WebSocket payloads of
//! megabytes that copy was a fifth of the CPU of an echo, so this transport reads into
//! the core's buffer ([`CoreWs::input_buffer`]), where frames are unmasked in place and
//! a binary message leaves as a `Bytes` slice of the bytes the kernel wrote: the only
//! copy on the way in is the kernel's. Writes are gathered like the driver's: the
//! core's queued frames (with large payloads as their own slices) leave in one
//! vectored write.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, Bytes};
use futures_io::{AsyncRead, AsyncWrite};
use sansweb_core::ws::WebSocket as CoreWs;

/// Most slices handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// A byte stream plus the bytes waiting to be written to it.
pub(crate) struct WsTransport<S> {
    stream: S,
    pending: VecDeque<Bytes>,
    read_closed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WsTransport<S> {
    pub(crate) fn new(stream: S) -> Self {
        WsTransport {
            stream,
            pending: VecDeque::new(),
            read_closed: false,
        }
    }

    /// Whether the peer closed its side.
    pub(crate) fn read_closed(&self) -> bool {
        self.read_closed
    }

    /// Reads once into the core's buffer and has the core process the bytes (or the EOF).
    pub(crate) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        ws: &mut CoreWs,
        now: impl FnOnce() -> Instant,
    ) -> Poll<io::Result<usize>> {
        if self.read_closed {
            return Poll::Ready(Ok(0));
        }
        // Once the core reads nothing more (the peer's close seen, or failed), its
        // buffer is empty; bytes still arriving are read into a throwaway buffer, so
        // the EOF that ends the connection is still seen.
        let mut discard = [0u8; 512];
        let direct = !ws.input_buffer().is_empty();
        let buf = if direct {
            ws.input_buffer()
        } else {
            &mut discard[..]
        };
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(0)) => {
                self.read_closed = true;
                ws.handle_eof(now());
                Poll::Ready(Ok(0))
            }
            Poll::Ready(Ok(n)) => {
                if direct {
                    ws.handle_read(now(), n);
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Takes everything the core has to send and writes it, gathered. `Ready(Ok)` once
    /// all of it is written and flushed.
    pub(crate) fn poll_write_from(
        &mut self,
        cx: &mut Context<'_>,
        ws: &mut CoreWs,
    ) -> Poll<io::Result<()>> {
        while let Some(bytes) = ws.poll_transmit() {
            if !bytes.is_empty() {
                self.pending.push_back(bytes);
            }
        }
        while !self.pending.is_empty() {
            let poll = if self.pending.len() == 1 {
                Pin::new(&mut self.stream).poll_write(cx, &self.pending[0])
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = self.pending.len().min(MAX_IOVECS);
                for (slot, bytes) in slices.iter_mut().zip(&self.pending) {
                    *slot = IoSlice::new(bytes);
                }
                Pin::new(&mut self.stream).poll_write_vectored(cx, &slices[..count])
            };
            match poll {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(written)) => self.consume(written),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(&mut self.stream).poll_flush(cx)
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
}
