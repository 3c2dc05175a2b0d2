//! The runtime layer: the only place where sansweb meets an async runtime.
//!
//! # Theory of operation
//!
//! Everything async in sansweb (the driver loop, the client, the server) is written once,
//! generic over [`Runtime`] and over `futures_io::{AsyncRead, AsyncWrite}` streams. A
//! runtime module (`tokio.rs`, `smol.rs`, `async_std.rs`) only says how to spawn a boxed
//! future, how to arm a raw timer, how to connect/resolve, and how to wrap a std listener.
//! The shared pieces are here and in the sibling modules:
//!
//! ```text
//!   task.rs   Task<T>: await the output, abort(), detach(); drop = abort   (written once)
//!   timer.rs  Timer<R>: the clock is re-checked when a raw timer fires       (written once)
//!   net.rs    socket2 binds (SO_REUSEADDR, optional SO_REUSEPORT, backlog)   (written once)
//!   tokio.rs / smol.rs / async_std.rs: ~100 lines of glue each, no protocol logic
//! ```
//!
//! Timers: *a timer that fires is re-checked against the clock; a deadline in the past is
//! acted on.* [`Runtime::sleep_until`] completes on its first poll when the deadline has
//! passed, and a raw runtime timer that wakes early (coarse wheels, spurious wake-ups) is
//! re-armed instead of being believed. Drivers therefore never see a deadline "fire" before
//! it is due, and never wait for a deadline that is already due.
//!
//! Streams returned here have `TCP_NODELAY` set: the core batches its writes itself, so
//! Nagle's algorithm would only add latency to the last segment of each batch.
//!
//! ```
//! # #[cfg(feature = "runtime-tokio")] {
//! use sansweb::rt::{DefaultRuntime, Listener, Runtime};
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//!
//! DefaultRuntime::block_on(|rt| async move {
//!     let listener = rt.bind_tcp("127.0.0.1:0".parse().unwrap())?;
//!     let addr = listener.local_addr()?;
//!     let server = rt.spawn(async move {
//!         let (mut s, _peer) = listener.accept().await?;
//!         s.write_all(b"hi").await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut c = rt.connect_tcp(addr).await?;
//!     let mut buf = [0; 2];
//!     c.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hi");
//!     server.await.expect("task ran")?;
//!     std::io::Result::Ok(())
//! })
//! .unwrap()
//! .unwrap();
//! # }
//! ```

use std::any::Any;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Instant;

use futures_io::{AsyncRead, AsyncWrite};

mod net;
mod task;
mod timer;

pub use task::{JoinError, Task};
pub use timer::Timer;

#[cfg(feature = "runtime-async-std")]
mod async_std;
#[cfg(feature = "runtime-smol")]
mod smol;
#[cfg(feature = "runtime-tokio")]
mod tokio;

#[cfg(feature = "runtime-async-std")]
pub use self::async_std::AsyncStdRuntime;
#[cfg(feature = "runtime-smol")]
pub use self::smol::SmolRuntime;
#[cfg(feature = "runtime-tokio")]
pub use self::tokio::TokioRuntime;
#[cfg(feature = "runtime-tokio")]
mod tokio_stream;
#[cfg(feature = "runtime-tokio")]
pub use self::tokio_stream::TokioStream;

/// The runtime chosen by the enabled features: tokio if `runtime-tokio` (the default) is
/// on, else smol, else async-std.
#[cfg(feature = "runtime-tokio")]
pub type DefaultRuntime = TokioRuntime;
/// The runtime chosen by the enabled features: tokio if `runtime-tokio` (the default) is
/// on, else smol, else async-std.
#[cfg(all(not(feature = "runtime-tokio"), feature = "runtime-smol"))]
pub type DefaultRuntime = SmolRuntime;
/// The runtime chosen by the enabled features: tokio if `runtime-tokio` (the default) is
/// on, else smol, else async-std.
#[cfg(all(
    not(feature = "runtime-tokio"),
    not(feature = "runtime-smol"),
    feature = "runtime-async-std"
))]
pub type DefaultRuntime = AsyncStdRuntime;

/// A boxed, sendable future with no output: what a runtime is asked to spawn.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A byte stream every runtime's sockets are adapted to.
///
/// `Any` lets a driver recognise a plain tokio TCP stream behind a `Box<dyn Stream>` and
/// read it into uninitialised memory (futures-io readers need a zeroed slice).
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin + Any {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Stream for T {}

/// A listening socket of some runtime.
pub trait Listener: Send + Sync + 'static {
    /// The accepted connections.
    type Stream: Stream;
    /// The peer address an accept reports.
    type Addr: Send + 'static;
    /// Waits for the next connection; TCP streams come back with `TCP_NODELAY` set.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, Self::Addr)>> + Send + '_;
    /// The address this listener is bound to (to learn the port after binding port 0).
    fn local_addr(&self) -> io::Result<Self::Addr>;
}

/// An async runtime, reduced to what sansweb needs.
///
/// Implementations hold a handle to their executor and are cheap to clone. Required
/// methods are glue; the provided ones (`spawn`, `sleep_until`, `bind_*`) are written
/// once here in terms of them.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// A connected TCP stream.
    type TcpStream: Stream;
    /// A listening TCP socket.
    type TcpListener: Listener<Stream = Self::TcpStream, Addr = SocketAddr>;
    /// A connected Unix-domain stream.
    #[cfg(unix)]
    type UnixStream: Stream;
    /// A listening Unix-domain socket.
    #[cfg(unix)]
    type UnixListener: Listener<Stream = Self::UnixStream, Addr = std::os::unix::net::SocketAddr>;
    /// The runtime's own timer. It may fire early or late; [`Timer`] re-checks the clock.
    type RawTimer: Future + Send + Unpin + 'static;

    /// Spawns `future` detached on this runtime's executor.
    fn spawn_boxed(&self, future: BoxFuture);

    /// Arms the runtime's timer for `deadline`.
    fn raw_timer(&self, deadline: Instant) -> Self::RawTimer;

    /// Re-arms `timer` for `deadline`; runtimes whose timers can be reset in place
    /// override this to avoid an allocation.
    fn reset_raw_timer(&self, timer: &mut Self::RawTimer, deadline: Instant) {
        *timer = self.raw_timer(deadline);
    }

    /// Connects to `addr`; the stream has `TCP_NODELAY` set.
    fn connect_tcp(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + 'static;

    /// Connects to `addr` from the local IP `local` (aiohttp's `local_addr`; the OS picks
    /// the port); the stream has `TCP_NODELAY` set. The socket is made and bound with
    /// socket2 (`net::bound_socket`), then each runtime finishes the connect its own way.
    /// The default (for runtimes written outside this crate) fails as `Unsupported`.
    fn connect_tcp_from(
        &self,
        addr: SocketAddr,
        local: std::net::IpAddr,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + 'static {
        let _ = (addr, local);
        std::future::ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this runtime cannot bind a local address",
        )))
    }

    /// Registers a bound, listening, non-blocking std listener with this runtime.
    fn tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Self::TcpListener>;

    /// Resolves `host` to socket addresses, with the runtime's resolver or on its blocking
    /// pool (never on the executor's threads).
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static;

    /// Connects to the Unix-domain socket at `path`.
    #[cfg(unix)]
    fn connect_unix(
        &self,
        path: &std::path::Path,
    ) -> impl Future<Output = io::Result<Self::UnixStream>> + Send + 'static;

    /// Registers a bound, non-blocking std Unix listener with this runtime.
    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<Self::UnixListener>;

    /// Runs `f(runtime)` to completion on this thread, on a fresh executor of this
    /// runtime (for examples, tests and `main`). Tasks spawned inside run while it runs.
    fn block_on<F, Fut>(f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future;

    /// Like [`Runtime::block_on`], on a multi-threaded executor with `workers` worker
    /// threads (async-std: its global executor, sized by `ASYNC_STD_THREAD_COUNT`).
    fn block_on_multi_thread<F, Fut>(workers: usize, f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future;

    /// The current time. The core never reads a clock; drivers read it here.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// Spawns `future`; the returned [`Task`] yields its output, and aborts it when
    /// dropped unless [`Task::detach`]ed.
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, runner) = task::pair(future);
        self.spawn_boxed(Box::pin(runner));
        task
    }

    /// A timer that completes once `now() >= deadline`: at once if the deadline has
    /// passed, and never earlier even if the runtime's timer wakes early.
    fn sleep_until(&self, deadline: Instant) -> Timer<Self> {
        Timer::new(self.clone(), deadline)
    }

    /// Binds a TCP listener on `addr` (`SO_REUSEADDR` on Unix, as std does).
    fn bind_tcp(&self, addr: SocketAddr) -> io::Result<Self::TcpListener> {
        self.tcp_listener_from_std(net::bind_tcp(addr, false)?)
    }

    /// Binds a TCP listener with `SO_REUSEPORT`, so that several workers (threads or
    /// processes) can each own a listener on the same port and the kernel spreads
    /// connections among them. `Unsupported` where the OS has no such option.
    fn bind_tcp_reuse_port(&self, addr: SocketAddr) -> io::Result<Self::TcpListener> {
        self.tcp_listener_from_std(net::bind_tcp(addr, true)?)
    }

    /// Binds a Unix-domain listener at `path` (which must not exist yet).
    #[cfg(unix)]
    fn bind_unix(&self, path: &std::path::Path) -> io::Result<Self::UnixListener> {
        self.unix_listener_from_std(net::bind_unix(path)?)
    }
}
