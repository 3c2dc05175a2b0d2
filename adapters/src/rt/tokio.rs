//! tokio glue for [`Runtime`]: streams go through [`TokioStream`] to speak futures-io.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Instant;

use tokio::runtime::{Builder, Handle};

use super::{BoxFuture, Listener, Runtime, TokioStream};

/// The tokio runtime, through a [`Handle`] to it.
#[derive(Clone, Debug)]
pub struct TokioRuntime {
    handle: Handle,
}

impl TokioRuntime {
    /// The tokio runtime this thread is running in, if any.
    pub fn try_current() -> Option<Self> {
        Handle::try_current().ok().map(Self::from_handle)
    }

    /// Uses the runtime behind `handle` (its time and I/O drivers must be enabled).
    pub fn from_handle(handle: Handle) -> Self {
        TokioRuntime { handle }
    }

    /// The handle to the tokio runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `fut` as a tokio task: tokio sockets register with the reactor of the
    /// runtime they are created in, and this future may be polled from anywhere.
    fn on_runtime<T: Send + 'static>(
        &self,
        fut: impl Future<Output = io::Result<T>> + Send + 'static,
    ) -> impl Future<Output = io::Result<T>> + Send + 'static {
        let mut task = AbortOnDrop(self.handle.spawn(fut));
        async move { (&mut task.0).await.map_err(io::Error::other)? }
    }
}

/// Cancels a connect/resolve that its caller gave up on (a connect timeout, say).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A tokio TCP listener yielding futures-io streams.
#[derive(Debug)]
pub struct TokioTcpListener(tokio::net::TcpListener);

impl Listener for TokioTcpListener {
    type Stream = TokioStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&self) -> io::Result<(Self::Stream, SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        super::net::limit_unsent(&stream);
        Ok((TokioStream::new(stream), peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// A tokio Unix-domain listener yielding futures-io streams.
#[cfg(unix)]
#[derive(Debug)]
pub struct TokioUnixListener(tokio::net::UnixListener);

#[cfg(unix)]
impl Listener for TokioUnixListener {
    type Stream = TokioStream<tokio::net::UnixStream>;
    type Addr = std::os::unix::net::SocketAddr;

    async fn accept(&self) -> io::Result<(Self::Stream, Self::Addr)> {
        let (stream, peer) = self.0.accept().await?;
        Ok((TokioStream::new(stream), peer.into()))
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr().map(Into::into)
    }
}

impl Runtime for TokioRuntime {
    type TcpStream = TokioStream<tokio::net::TcpStream>;
    type TcpListener = TokioTcpListener;
    #[cfg(unix)]
    type UnixStream = TokioStream<tokio::net::UnixStream>;
    #[cfg(unix)]
    type UnixListener = TokioUnixListener;
    type RawTimer = Pin<Box<tokio::time::Sleep>>;

    fn spawn_boxed(&self, future: BoxFuture) {
        drop(self.handle.spawn(future));
    }

    fn raw_timer(&self, deadline: Instant) -> Self::RawTimer {
        // A tokio timer registers with the runtime it is created in.
        let _guard = self.handle.enter();
        Box::pin(tokio::time::sleep_until(deadline.into()))
    }

    fn reset_raw_timer(&self, timer: &mut Self::RawTimer, deadline: Instant) {
        timer.as_mut().reset(deadline.into());
    }

    fn connect_tcp(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + 'static {
        let connect = self.on_runtime(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            super::net::limit_unsent(&stream);
            Ok(stream)
        });
        async move { Ok(TokioStream::new(connect.await?)) }
    }

    fn connect_tcp_from(
        &self,
        addr: SocketAddr,
        local: std::net::IpAddr,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + 'static {
        let socket = super::net::bound_socket(addr, local);
        let connect = self.on_runtime(async move {
            let std_stream: std::net::TcpStream = socket?.into();
            // `bound_socket` set TCP_NODELAY and the unsent bound already (as for smol
            // and async-std, which use it as it is).
            tokio::net::TcpSocket::from_std_stream(std_stream)
                .connect(addr)
                .await
        });
        async move { Ok(TokioStream::new(connect.await?)) }
    }

    fn tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<TokioTcpListener> {
        let _guard = self.handle.enter();
        tokio::net::TcpListener::from_std(listener).map(TokioTcpListener)
    }

    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static {
        let host = host.to_owned();
        // tokio's lookup_host runs getaddrinfo on the runtime's blocking pool.
        self.on_runtime(async move {
            tokio::net::lookup_host((host.as_str(), port))
                .await
                .map(Iterator::collect)
        })
    }

    #[cfg(unix)]
    fn connect_unix(
        &self,
        path: &std::path::Path,
    ) -> impl Future<Output = io::Result<Self::UnixStream>> + Send + 'static {
        let path = path.to_owned();
        let connect = self.on_runtime(tokio::net::UnixStream::connect(path));
        async move { Ok(TokioStream::new(connect.await?)) }
    }

    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<TokioUnixListener> {
        let _guard = self.handle.enter();
        tokio::net::UnixListener::from_std(listener).map(TokioUnixListener)
    }

    fn block_on<F, Fut>(f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        let rt = Builder::new_current_thread().enable_all().build()?;
        let fut = f(Self::from_handle(rt.handle().clone()));
        Ok(rt.block_on(fut))
    }

    fn block_on_multi_thread<F, Fut>(workers: usize, f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        let rt = Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .enable_all()
            .build()?;
        let fut = f(Self::from_handle(rt.handle().clone()));
        Ok(rt.block_on(fut))
    }
}
