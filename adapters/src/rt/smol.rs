//! smol glue for [`Runtime`]: smol's sockets already speak futures-io.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Instant;

#[cfg(unix)]
use smol::net::unix::UnixStream;
use smol::net::TcpStream;
use smol::{Executor, Timer};

use super::{BoxFuture, Listener, Runtime};

/// The smol runtime: smol's global executor, or a private [`Executor`].
#[derive(Clone, Debug, Default)]
pub struct SmolRuntime {
    /// `None`: `smol::spawn`. A private executor is held weakly: once its owner drops it,
    /// its tasks are cancelled (and spawning onto it drops the future, which aborts it),
    /// instead of tasks keeping their own executor alive in a cycle.
    executor: Option<Weak<Executor<'static>>>,
}

impl SmolRuntime {
    /// Spawns onto smol's global executor (`smol::spawn`).
    pub fn global() -> Self {
        Self::default()
    }

    /// Spawns onto `executor`; whoever owns it must run it (`executor.run(..)`).
    pub fn with_executor(executor: &Arc<Executor<'static>>) -> Self {
        SmolRuntime {
            executor: Some(Arc::downgrade(executor)),
        }
    }
}

/// A smol TCP listener.
#[derive(Debug)]
pub struct SmolTcpListener(smol::net::TcpListener);

impl Listener for SmolTcpListener {
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

/// A smol Unix-domain listener.
#[cfg(unix)]
#[derive(Debug)]
pub struct SmolUnixListener(smol::net::unix::UnixListener);

#[cfg(unix)]
impl Listener for SmolUnixListener {
    type Stream = UnixStream;
    type Addr = std::os::unix::net::SocketAddr;

    fn accept(&self) -> impl Future<Output = io::Result<(UnixStream, Self::Addr)>> + Send + '_ {
        self.0.accept()
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Runtime for SmolRuntime {
    type TcpStream = TcpStream;
    type TcpListener = SmolTcpListener;
    #[cfg(unix)]
    type UnixStream = UnixStream;
    #[cfg(unix)]
    type UnixListener = SmolUnixListener;
    type RawTimer = Timer;

    fn spawn_boxed(&self, future: BoxFuture) {
        match &self.executor {
            None => smol::spawn(future).detach(),
            Some(weak) => {
                if let Some(executor) = weak.upgrade() {
                    executor.spawn(future).detach();
                }
            }
        }
    }

    fn raw_timer(&self, deadline: Instant) -> Timer {
        Timer::at(deadline)
    }

    fn reset_raw_timer(&self, timer: &mut Timer, deadline: Instant) {
        timer.set_at(deadline);
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
        let socket = super::net::bound_socket(addr, local);
        async move {
            let socket = socket?;
            super::net::start_connect(&socket, addr)?;
            // Connect completes when the socket turns writable; its error says how.
            let stream = smol::Async::new(std::net::TcpStream::from(socket))?;
            stream.writable().await?;
            if let Some(e) = stream.get_ref().take_error()? {
                return Err(e);
            }
            stream.get_ref().peer_addr()?;
            Ok(TcpStream::from(stream))
        }
    }

    fn tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<SmolTcpListener> {
        smol::net::TcpListener::try_from(listener).map(SmolTcpListener)
    }

    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static {
        // async-net resolves on the `blocking` thread pool.
        let host = host.to_owned();
        async move { smol::net::resolve((host.as_str(), port)).await }
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
    ) -> io::Result<SmolUnixListener> {
        smol::net::unix::UnixListener::try_from(listener).map(SmolUnixListener)
    }

    fn block_on<F, Fut>(f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        let executor = Arc::new(Executor::new());
        let fut = f(Self::with_executor(&executor));
        Ok(smol::block_on(executor.run(fut)))
    }

    fn block_on_multi_thread<F, Fut>(workers: usize, f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        let executor = Arc::new(Executor::new());
        let (stop, stopped) = smol::channel::bounded::<()>(1);
        // This thread runs the executor too, so `workers - 1` helpers make `workers`.
        let helpers = (1..workers.max(1))
            .map(|i| {
                let (executor, stopped) = (executor.clone(), stopped.clone());
                std::thread::Builder::new()
                    .name(format!("sansweb-smol-{i}"))
                    .spawn(move || smol::block_on(executor.run(stopped.recv())))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let fut = f(Self::with_executor(&executor));
        let output = smol::block_on(executor.run(fut));
        // Closing the channel ends every helper's `run`.
        drop(stop);
        for helper in helpers {
            // A helper only panics if a task's panic escaped the executor; report it here.
            if helper.join().is_err() {
                return Err(io::Error::other("a smol worker thread panicked"));
            }
        }
        Ok(output)
    }
}
