//! async-std glue for [`Runtime`]. async-std is discontinued upstream: this module is kept
//! minimal so that deleting it (and its feature) is the whole migration.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use async_std::net::{TcpStream, ToSocketAddrs};
#[cfg(unix)]
use async_std::os::unix::net::UnixStream;

use super::{BoxFuture, Listener, Runtime};

/// The async-std runtime (its global executor).
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncStdRuntime;

/// An async-std TCP listener.
#[derive(Debug)]
pub struct AsyncStdTcpListener(async_std::net::TcpListener);

impl Listener for AsyncStdTcpListener {
    type Stream = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        super::net::limit_unsent(&stream);
        Ok((stream, peer))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

/// An async-std Unix-domain listener.
#[cfg(unix)]
#[derive(Debug)]
pub struct AsyncStdUnixListener(async_std::os::unix::net::UnixListener);

#[cfg(unix)]
impl Listener for AsyncStdUnixListener {
    type Stream = UnixStream;
    type Addr = std::os::unix::net::SocketAddr;

    fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, Self::Addr)>> + Send + '_ {
        self.0.accept()
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Runtime for AsyncStdRuntime {
    type TcpStream = TcpStream;
    type TcpListener = AsyncStdTcpListener;
    #[cfg(unix)]
    type UnixStream = UnixStream;
    #[cfg(unix)]
    type UnixListener = AsyncStdUnixListener;
    // async-std has no resettable timer type; `Timer` re-arms by rebuilding this.
    type RawTimer = BoxFuture;

    fn spawn_boxed(&self, future: BoxFuture) {
        // Dropping an async-std JoinHandle detaches the task.
        drop(async_std::task::spawn(future));
    }

    fn raw_timer(&self, deadline: Instant) -> BoxFuture {
        Box::pin(async_std::task::sleep(
            deadline.saturating_duration_since(Instant::now()),
        ))
    }

    // Not `async fn`: that would borrow `self`, and the trait promises `'static`.
    #[allow(clippy::manual_async_fn)]
    fn connect_tcp(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            super::net::limit_unsent(&stream);
            Ok(stream)
        }
    }

    #[allow(clippy::manual_async_fn)]
    fn connect_tcp_from(
        &self,
        addr: SocketAddr,
        local: std::net::IpAddr,
    ) -> impl Future<Output = io::Result<TcpStream>> + Send + 'static {
        // async-std exposes no "wait until writable", so the connect blocks on its
        // blocking pool (rare: only sessions with a local address take this path).
        async move {
            let stream = async_std::task::spawn_blocking(move || {
                let socket = super::net::bound_socket(addr, local)?;
                socket.set_nonblocking(false)?;
                socket.connect(&addr.into())?;
                socket.set_nonblocking(true)?;
                io::Result::Ok(std::net::TcpStream::from(socket))
            })
            .await?;
            Ok(TcpStream::from(stream))
        }
    }

    fn tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<AsyncStdTcpListener> {
        Ok(AsyncStdTcpListener(listener.into()))
    }

    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static {
        // async-std resolves on its blocking pool.
        let host = host.to_owned();
        async move { Ok((host.as_str(), port).to_socket_addrs().await?.collect()) }
    }

    #[cfg(unix)]
    fn connect_unix(
        &self,
        path: &std::path::Path,
    ) -> impl Future<Output = io::Result<UnixStream>> + Send + 'static {
        let path = path.to_owned();
        async move { UnixStream::connect(path).await }
    }

    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<AsyncStdUnixListener> {
        Ok(AsyncStdUnixListener(listener.into()))
    }

    fn block_on<F, Fut>(f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        Ok(async_std::task::block_on(f(AsyncStdRuntime)))
    }

    fn block_on_multi_thread<F, Fut>(_workers: usize, f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        // The global executor is sized once per process by ASYNC_STD_THREAD_COUNT (default:
        // one thread per core); async-std offers no API to size it here.
        Self::block_on(f)
    }
}
