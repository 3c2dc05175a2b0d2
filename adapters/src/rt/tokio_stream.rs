//! A tokio stream seen through futures-io, with vectored writes passed on.
//!
//! `tokio_util::compat::Compat` does not forward `poll_write_vectored`, so futures-io's
//! default wrote only the first non-empty slice of every gathered write: a response's head
//! and body, or sixteen pipelined responses, left in one system call each. This adapter
//! forwards reads, vectored writes, flush and close (tokio's shutdown) one to one.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use tokio::io::ReadBuf;

/// A tokio byte stream (`TcpStream`, `UnixStream`) as a futures-io stream.
#[derive(Debug)]
pub struct TokioStream<T>(T);

impl<T> TokioStream<T> {
    /// Wraps a tokio stream.
    pub fn new(inner: T) -> Self {
        TokioStream(inner)
    }

    /// The tokio stream inside.
    pub fn get_ref(&self) -> &T {
        &self.0
    }

    /// The tokio stream inside, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Unwraps the tokio stream.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// The socket itself, for options sansweb does not set (as smol's and async-std's streams
/// offer it too).
#[cfg(unix)]
impl<T: std::os::fd::AsFd> std::os::fd::AsFd for TokioStream<T> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl<T: tokio::io::AsyncRead + Unpin> AsyncRead for TokioStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut read_buf = ReadBuf::new(buf);
        match Pin::new(&mut self.0).poll_read(cx, &mut read_buf) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read_buf.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> AsyncWrite for TokioStream<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::AsyncWriteExt as _;
    use tokio::io::AsyncReadExt as _;

    /// A gathered write reaches the kernel as one write: the peer's first read returns
    /// all of it (with Compat it returned only the first slice).
    #[test]
    fn a_vectored_write_is_one_write() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (mut server, _) = listener.accept().await.unwrap();
            let mut client = TokioStream::new(client);
            let slices = [IoSlice::new(b"head "), IoSlice::new(b"and body")];
            let written = client.write_vectored(&slices).await.unwrap();
            assert_eq!(written, 13);
            let mut got = vec![0u8; 64];
            let n = server.read(&mut got).await.unwrap();
            assert_eq!(&got[..n], b"head and body");
        });
    }
}
