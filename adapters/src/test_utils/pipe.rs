//! An in-memory duplex byte pipe: two connected ends, each `AsyncRead + AsyncWrite`
//! (futures-io), on no runtime in particular.
//!
//! # Theory of operation
//!
//! A pipe is two one-way channels, one per direction. Each channel is a bounded byte
//! buffer behind a mutex plus the waker of the one reader and the one writer:
//!
//! ```text
//!   end A ── write ──▶ [ channel A→B: ≤ capacity bytes ] ── read ──▶ end B
//!   end A ◀── read ─── [ channel B→A: ≤ capacity bytes ] ◀── write ── end B
//!
//!   channel:  Open ──writer closes / drops──▶ WriteClosed (reader drains, then EOF)
//!               └────reader drops──────────▶ ReadClosed  (writer gets BrokenPipe)
//! ```
//!
//! A write takes only what fits and is `Pending` (waker kept) when the buffer is full, so
//! a fast writer is held back by a slow reader exactly as a socket's send buffer holds
//! it (back-pressure). A read is `Pending` while the buffer is empty and the writer is
//! still there. Every state change wakes the other side. Dropping an end closes both of
//! its directions: the peer reads EOF and its writes fail with `BrokenPipe`.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_io::{AsyncRead, AsyncWrite};

/// Default capacity of each direction: about one socket buffer.
pub const DEFAULT_PIPE_CAPACITY: usize = 64 * 1024;

#[derive(Default)]
struct Channel {
    buf: VecDeque<u8>,
    /// The writing end closed or dropped: EOF once `buf` is drained.
    write_closed: bool,
    /// The reading end dropped: writes fail.
    read_closed: bool,
    /// Reported to the reader (once `buf` is drained) instead of EOF: a test double's
    /// way to fail the peer's read with a message.
    error: Option<(io::ErrorKind, String)>,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

struct Shared {
    channel: Mutex<Channel>,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Channel> {
        // A panic while holding this lock leaves a consistent buffer (no multi-step
        // update), so a poisoned lock is still usable.
        self.channel.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One end of a [`pipe`]: reads what the other end writes, and the other way round.
pub struct PipeEnd {
    /// The channel this end reads from.
    incoming: Arc<Shared>,
    /// The channel this end writes to.
    outgoing: Arc<Shared>,
}

/// Two connected ends, each direction buffering at most `capacity` bytes (at least 1).
///
/// ```
/// use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
/// use sansweb::test_utils::pipe;
///
/// future::block_on(async {
///     let (mut a, mut b) = pipe(16);
///     a.write_all(b"ping").await.unwrap();
///     a.close().await.unwrap();
///     let mut got = Vec::new();
///     b.read_to_end(&mut got).await.unwrap();
///     assert_eq!(got, b"ping");
/// });
/// ```
pub fn pipe(capacity: usize) -> (PipeEnd, PipeEnd) {
    let capacity = capacity.max(1);
    let a_to_b = Arc::new(Shared {
        channel: Mutex::default(),
        capacity,
    });
    let b_to_a = Arc::new(Shared {
        channel: Mutex::default(),
        capacity,
    });
    (
        PipeEnd {
            incoming: b_to_a.clone(),
            outgoing: a_to_b.clone(),
        },
        PipeEnd {
            incoming: a_to_b,
            outgoing: b_to_a,
        },
    )
}

fn wake(waker: &mut Option<Waker>) {
    if let Some(w) = waker.take() {
        w.wake();
    }
}

impl PipeEnd {
    /// Closes this end for writing so that the other end's reads fail with `kind` and
    /// `message` (after what was already written), instead of seeing EOF.
    pub fn close_with_error(&self, kind: io::ErrorKind, message: impl Into<String>) {
        let mut ch = self.outgoing.lock();
        ch.write_closed = true;
        ch.error = Some((kind, message.into()));
        wake(&mut ch.reader);
    }

    /// Bytes written by this end that the other end has not read yet.
    pub fn unread_outgoing(&self) -> usize {
        self.outgoing.lock().buf.len()
    }
}

impl AsyncRead for PipeEnd {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut ch = self.incoming.lock();
        if ch.buf.is_empty() {
            if let Some((kind, msg)) = &ch.error {
                return Poll::Ready(Err(io::Error::new(*kind, msg.clone())));
            }
            if ch.write_closed {
                return Poll::Ready(Ok(0));
            }
            ch.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = out.len().min(ch.buf.len());
        let (front, back) = ch.buf.as_slices();
        let from_front = n.min(front.len());
        out[..from_front].copy_from_slice(&front[..from_front]);
        out[from_front..n].copy_from_slice(&back[..n - from_front]);
        ch.buf.drain(..n);
        wake(&mut ch.writer);
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for PipeEnd {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let capacity = self.outgoing.capacity;
        let mut ch = self.outgoing.lock();
        if ch.read_closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "pipe: the other end is gone",
            )));
        }
        if ch.write_closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "pipe: this end was closed for writing",
            )));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = capacity.saturating_sub(ch.buf.len());
        if room == 0 {
            ch.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(data.len());
        ch.buf.extend(&data[..n]);
        wake(&mut ch.reader);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Written bytes are visible to the reader at once; there is nothing to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut ch = self.outgoing.lock();
        ch.write_closed = true;
        wake(&mut ch.reader);
        Poll::Ready(Ok(()))
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        {
            let mut ch = self.outgoing.lock();
            ch.write_closed = true;
            wake(&mut ch.reader);
        }
        let mut ch = self.incoming.lock();
        ch.read_closed = true;
        // What was never read is dropped with the reader, as a closed socket drops it.
        ch.buf.clear();
        wake(&mut ch.writer);
    }
}

impl std::fmt::Debug for PipeEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeEnd")
            .field("unread_incoming", &self.incoming.lock().buf.len())
            .field("unread_outgoing", &self.outgoing.lock().buf.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};
    use futures_lite::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn bytes_cross_in_both_directions() {
        block_on(async {
            let (mut a, mut b) = pipe(8);
            a.write_all(b"abc").await.unwrap();
            b.write_all(b"xyz").await.unwrap();
            let mut buf = [0; 3];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"abc");
            a.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"xyz");
        });
    }

    #[test]
    fn a_full_buffer_holds_the_writer_back_until_read() {
        block_on(async {
            let (mut a, mut b) = pipe(4);
            assert_eq!(a.write(b"123456").await.unwrap(), 4, "only what fits");
            assert!(poll_once(a.write(b"7")).await.is_none(), "full: pending");
            let mut buf = [0; 2];
            assert_eq!(b.read(&mut buf).await.unwrap(), 2);
            assert_eq!(a.write(b"789").await.unwrap(), 2, "room for two again");
            let mut rest = [0; 4];
            b.read_exact(&mut rest).await.unwrap();
            assert_eq!(&rest, b"3478");
        });
    }

    #[test]
    fn an_empty_pipe_pends_then_close_gives_eof_after_the_data() {
        block_on(async {
            let (mut a, mut b) = pipe(16);
            let mut buf = [0; 8];
            assert!(poll_once(b.read(&mut buf)).await.is_none());
            a.write_all(b"end").await.unwrap();
            a.close().await.unwrap();
            assert_eq!(b.read(&mut buf).await.unwrap(), 3);
            assert_eq!(b.read(&mut buf).await.unwrap(), 0, "EOF");
            assert!(a.write(b"x").await.is_err(), "closed for writing");
            // The other direction is still open.
            b.write_all(b"ok").await.unwrap();
            assert_eq!(a.read(&mut buf).await.unwrap(), 2);
        });
    }

    #[test]
    fn dropping_an_end_gives_eof_and_broken_pipe() {
        block_on(async {
            let (mut a, b) = pipe(16);
            drop(b);
            let mut buf = [0; 4];
            assert_eq!(a.read(&mut buf).await.unwrap(), 0);
            let err = a.write(b"x").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        });
    }

    #[test]
    fn close_with_error_fails_the_peers_read_after_the_data() {
        block_on(async {
            let (a, mut b) = pipe(16);
            let mut a = a;
            a.write_all(b"hi").await.unwrap();
            a.close_with_error(io::ErrorKind::NotFound, "no mock");
            let mut buf = [0; 8];
            assert_eq!(b.read(&mut buf).await.unwrap(), 2);
            let err = b.read(&mut buf).await.unwrap_err();
            assert_eq!(
                (err.kind(), err.to_string()),
                (io::ErrorKind::NotFound, "no mock".into())
            );
        });
    }

    #[test]
    fn a_blocked_writer_is_woken_by_the_reader() {
        // Writer and reader as two futures on one thread: the writer must make progress
        // only through the reader's wake-ups.
        block_on(async {
            let (mut a, mut b) = pipe(3);
            let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
            let expected = data.clone();
            let writer = async move {
                a.write_all(&data).await.unwrap();
                a.close().await.unwrap();
            };
            let reader = async move {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                got
            };
            let ((), got) = futures_lite::future::zip(writer, reader).await;
            assert_eq!(got, expected);
        });
    }
}
