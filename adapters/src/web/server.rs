//! Running an application: listeners, workers, startup and graceful shutdown
//! (aiohttp's `web.run_app`, `AppRunner`, `TCPSite`).

use super::app::{App, AppInner, AppRef, BoxError};
use super::conn::serve_connection;
use super::upgrade::DynRuntime;
use crate::rt::{Listener, Runtime, Task};
use sansweb_core::h1::Config as H1Config;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::Duration;

/// Server policy: limits and timeouts (aiohttp's defaults).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The HTTP/1.1 limits and timers (line 8190, field 8190, 128 headers, head read
    /// 30 s, keep-alive 75 s).
    pub h1: H1Config,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            h1: H1Config::server(),
            shutdown_timeout: Duration::from_secs(60),
        }
    }
}

/// Where a connection leaves the waker it last waited with.
pub(crate) type WakerSlot = Arc<Mutex<Option<Waker>>>;

/// What every connection of a server shares.
pub(crate) struct ServerShared {
    pub app: Arc<AppInner>,
    pub h1_config: H1Config,
    /// The runtime, for handlers' timers (`Request::sleep`).
    pub runtime: DynRuntime,
    shutting_down: AtomicBool,
    next_id: AtomicU64,
    /// Live connections and the waker each last parked with, to wake them at shutdown.
    connections: Mutex<HashMap<u64, WakerSlot>>,
    drained: Mutex<Option<Waker>>,
}

impl ServerShared {
    pub(crate) fn register_connection(&self) -> (u64, WakerSlot) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = WakerSlot::default();
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, slot.clone());
        (id, slot)
    }

    pub(crate) fn unregister_connection(&self, id: u64) {
        let mut connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        connections.remove(&id);
        if connections.is_empty() {
            if let Some(waker) = self
                .drained
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                waker.wake();
            }
        }
    }

    /// Remembers the waker of a connection about to wait, so shutdown can wake it.
    /// Always kept (in the connection's own slot: an uncontended lock, and no clone
    /// while the task's waker stays the same), because a connection idle since before
    /// shutdown began must still be woken to close.
    pub(crate) fn park(&self, slot: &WakerSlot, waker: &Waker) {
        let mut stored = slot.lock().unwrap_or_else(|e| e.into_inner());
        let first = stored.is_none();
        if !stored.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *stored = Some(waker.clone());
        }
        drop(stored);
        // Shutdown may have swept the slots just before the first waker landed.
        if first && self.is_shutting_down() {
            waker.wake_by_ref();
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Relaxed)
    }

    fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let connections = self.connections.lock().unwrap_or_else(|e| e.into_inner());
        for slot in connections.values() {
            if let Some(waker) = &*slot.lock().unwrap_or_else(|e| e.into_inner()) {
                waker.wake_by_ref();
            }
        }
    }

    fn connection_count(&self) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

/// A cleanup signal bound to its application, to call at shutdown.
type DeferredSignal =
    Box<dyn FnOnce() -> super::app::BoxFuture<Result<(), BoxError>> + Send + Sync>;

/// A server for an [`App`].
pub struct Server {
    app: App,
    config: ServerConfig,
}

/// A running server: its address, and the way to stop it.
pub struct ServerHandle {
    local_addr: SocketAddr,
    shared: Arc<ServerShared>,
    accept_tasks: Vec<Task<()>>,
    cleanups: Vec<DeferredSignal>,
    runtime_sleep: Box<dyn Fn(Duration) -> super::app::BoxFuture<()> + Send + Sync>,
    shutdown_timeout: Duration,
}

impl Server {
    /// A server with aiohttp's defaults.
    pub fn new(app: App) -> Self {
        Self {
            app,
            config: ServerConfig::default(),
        }
    }

    /// Replaces the policy.
    #[must_use]
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }

    /// Runs the startup signals, binds `addr` and starts accepting on `rt`. `workers`
    /// accept loops share the port (SO_REUSEPORT) so a multi-threaded runtime spreads
    /// connections over its threads.
    pub async fn start<R: Runtime>(
        self,
        rt: &R,
        addr: SocketAddr,
        workers: usize,
    ) -> io::Result<ServerHandle> {
        let mut handle = self.start_unbound(rt).await?;
        let first = if workers > 1 {
            rt.bind_tcp_reuse_port(addr)?
        } else {
            rt.bind_tcp(addr)?
        };
        let local_addr = first.local_addr()?;
        let mut listeners = vec![first];
        for _ in 1..workers.max(1) {
            listeners.push(rt.bind_tcp_reuse_port(local_addr)?);
        }
        handle.local_addr = local_addr;
        handle.accept_tasks = listeners
            .into_iter()
            .map(|listener| rt.spawn(accept_loop(rt.clone(), listener, handle.shared.clone())))
            .collect();
        Ok(handle)
    }

    /// Runs the startup signals and gives a handle with no listener (its address is
    /// `0.0.0.0:0`); connections are handed in through [`StreamAcceptor`]. The test
    /// utilities' in-memory server is built on this.
    pub(crate) async fn start_unbound<R: Runtime>(self, rt: &R) -> io::Result<ServerHandle> {
        let inner = self
            .app
            .freeze()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e:?}")))?;
        let app_ref = AppRef(inner.clone());
        // Startup: on_startup, then cleanup_ctx setups; a failure tears down what ran.
        let mut teardowns = Vec::new();
        for signal in &inner.on_startup {
            signal(app_ref.clone())
                .await
                .map_err(|e| io::Error::other(format!("on_startup failed: {e}")))?;
        }
        for (setup, teardown) in &inner.cleanup_ctx {
            match setup(app_ref.clone()).await {
                Ok(()) => teardowns.push(teardown.clone()),
                Err(e) => {
                    for teardown in teardowns.iter().rev() {
                        let _ = teardown(app_ref.clone()).await;
                    }
                    return Err(io::Error::other(format!("cleanup_ctx setup failed: {e}")));
                }
            }
        }
        let shared = Arc::new(ServerShared {
            app: inner.clone(),
            h1_config: self.config.h1.clone(),
            runtime: DynRuntime::new(rt.clone()),
            shutting_down: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            drained: Mutex::new(None),
        });
        // Called at shutdown, not now: a handler may do its work when called.
        let mut cleanups: Vec<DeferredSignal> = Vec::new();
        for teardown in teardowns.iter().rev() {
            let (teardown, app) = (teardown.clone(), app_ref.clone());
            cleanups.push(Box::new(move || teardown(app)));
        }
        for signal in &inner.on_cleanup {
            let (signal, app) = (signal.clone(), app_ref.clone());
            cleanups.push(Box::new(move || signal(app)));
        }
        let sleeper = rt.clone();
        Ok(ServerHandle {
            local_addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            shared,
            accept_tasks: Vec::new(),
            cleanups,
            runtime_sleep: Box::new(move |d| {
                let deadline = sleeper.now() + d;
                Box::pin(sleeper.sleep_until(deadline))
            }),
            shutdown_timeout: self.config.shutdown_timeout,
        })
    }
}

async fn accept_loop<R: Runtime>(rt: R, listener: R::TcpListener, shared: Arc<ServerShared>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                rt.spawn(serve_connection(
                    rt.clone(),
                    stream,
                    shared.clone(),
                    Some(peer),
                ))
                .detach();
            }
            Err(e) => {
                // Out of file descriptors and the like: log, back off briefly, go on.
                tracing::warn!(target: "sansweb::server", "accept failed: {e}");
                let deadline = rt.now() + Duration::from_millis(10);
                rt.sleep_until(deadline).await;
            }
        }
    }
}

/// Serves streams handed in by the crate (no listener): the in-memory test server.
#[cfg(feature = "test-utils")]
#[derive(Clone)]
pub(crate) struct StreamAcceptor(Arc<ServerShared>);

#[cfg(feature = "test-utils")]
impl StreamAcceptor {
    /// Serves `stream` as an accepted connection on a task of `rt`; refused once the
    /// server is shutting down, as a closed listener would refuse it.
    pub(crate) fn serve<R: Runtime, S: crate::rt::Stream>(
        &self,
        rt: &R,
        stream: S,
    ) -> io::Result<()> {
        if self.0.is_shutting_down() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                "the server is shutting down",
            ));
        }
        rt.spawn(serve_connection(rt.clone(), stream, self.0.clone(), None))
            .detach();
        Ok(())
    }
}

impl ServerHandle {
    /// Where connections can be handed in without a listener.
    #[cfg(feature = "test-utils")]
    pub(crate) fn acceptor(&self) -> StreamAcceptor {
        StreamAcceptor(self.shared.clone())
    }

    /// The bound address (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Live connections.
    pub fn connection_count(&self) -> usize {
        self.shared.connection_count()
    }

    /// Graceful shutdown: stop accepting, run `on_shutdown`, let requests in flight
    /// finish (up to the shutdown timeout) while idle connections close, then run the
    /// cleanup signals (`cleanup_ctx` teardowns in reverse, then `on_cleanup`).
    pub async fn shutdown(self) {
        for task in self.accept_tasks {
            task.abort();
        }
        let app_ref = AppRef(self.shared.app.clone());
        for signal in &self.shared.app.on_shutdown {
            if let Err(e) = signal(app_ref.clone()).await {
                tracing::error!(target: "sansweb::server", "on_shutdown failed: {e}");
            }
        }
        self.shared.begin_shutdown();
        let shared = self.shared.clone();
        let drained = std::future::poll_fn(move |cx| {
            *shared.drained.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
            if shared.connection_count() == 0 {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        });
        let timeout = (self.runtime_sleep)(self.shutdown_timeout);
        futures_lite::future::or(drained, timeout).await;
        for cleanup in self.cleanups {
            if let Err(e) = cleanup().await {
                tracing::error!(target: "sansweb::server", "cleanup failed: {e}");
            }
        }
    }
}

/// Runs `app` on `addr` with the default runtime until the process ends (aiohttp's
/// `web.run_app`).
#[cfg(any(
    feature = "runtime-tokio",
    feature = "runtime-smol",
    feature = "runtime-async-std"
))]
pub fn run_app(app: App, addr: SocketAddr) -> io::Result<()> {
    run_app_on::<crate::rt::DefaultRuntime>(app, addr, 1)
}

/// Runs `app` on `addr` with runtime `R` and `workers` threads until the process ends.
pub fn run_app_on<R: Runtime>(app: App, addr: SocketAddr, workers: usize) -> io::Result<()> {
    let workers = workers.max(1);
    let run = move |rt: R| async move {
        let handle = Server::new(app).start(&rt, addr, workers).await?;
        tracing::info!(target: "sansweb::server", "serving on http://{}", handle.local_addr());
        std::future::pending::<()>().await;
        io::Result::Ok(())
    };
    if workers == 1 {
        R::block_on(run)?
    } else {
        R::block_on_multi_thread(workers, run)?
    }
}
