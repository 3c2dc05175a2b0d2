//! An application served over in-memory pipes: no socket, no port, the real codecs.
//!
//! # Theory of operation
//!
//! [`MemoryServer::start`] runs the app's startup signals and keeps a server with no
//! listener. Its [`MemoryConnector`] is a [`Connect`]: each connection the client's pool
//! opens is a fresh [`pipe`]; one end goes back to the client, the other is handed to the
//! server's own connection loop (the one a TCP accept feeds), spawned on the runtime.
//!
//! ```text
//!   ClientSession ── pool ── connect() ──▶ pipe() ─┬─ client end ─▶ Conn<Client> (session)
//!                                                  └─ server end ─▶ serve_connection (app)
//! ```
//!
//! Everything above the byte stream is what production runs: keep-alive, pooling,
//! cookies, chunked bodies, timeouts. Closing the server runs `on_shutdown`, waits for the
//! connections to drain and runs the cleanup signals; connects after that are refused.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::pipe::{pipe, DEFAULT_PIPE_CAPACITY};
use crate::client::{ClientSession, Connect, ConnectFuture, ConnectTarget};
use crate::rt::Runtime;
use crate::web::{App, Server, ServerConfig, ServerHandle};

/// The base URL in-memory clients use; the host name is never resolved.
pub const MEMORY_BASE_URL: &str = "http://in-memory.test/";

type ServeFn = dyn Fn(super::pipe::PipeEnd) -> io::Result<()> + Send + Sync;

/// An [`App`] served without sockets (see the module doc). Build a session on it with
/// [`MemoryServer::client`], or put its [`MemoryServer::connector`] on any session.
pub struct MemoryServer {
    handle: Option<ServerHandle>,
    connector: MemoryConnector,
}

/// Opens in-memory connections to a [`MemoryServer`], whatever the URL's host.
#[derive(Clone)]
pub struct MemoryConnector {
    serve: Arc<ServeFn>,
    opened: Arc<AtomicUsize>,
}

impl MemoryServer {
    /// Runs `app`'s startup signals on `rt` and serves it in memory.
    pub async fn start<R: Runtime>(rt: &R, app: App) -> io::Result<Self> {
        Self::start_with(rt, app, ServerConfig::default()).await
    }

    /// [`MemoryServer::start`] with a server policy (limits, timeouts).
    pub async fn start_with<R: Runtime>(
        rt: &R,
        app: App,
        config: ServerConfig,
    ) -> io::Result<Self> {
        let handle = Server::new(app).config(config).start_unbound(rt).await?;
        let acceptor = handle.acceptor();
        let rt = rt.clone();
        let serve = move |end| acceptor.serve(&rt, end);
        Ok(Self {
            handle: Some(handle),
            connector: MemoryConnector {
                serve: Arc::new(serve),
                opened: Arc::default(),
            },
        })
    }

    /// A connector to this server, for [`ClientSessionBuilder::connector`](crate::client::ClientSessionBuilder::connector).
    pub fn connector(&self) -> MemoryConnector {
        self.connector.clone()
    }

    /// How many connections clients opened so far.
    pub fn connections_opened(&self) -> usize {
        self.connector.opened.load(Ordering::SeqCst)
    }

    /// Connections the server is serving now.
    pub fn connection_count(&self) -> usize {
        self.handle
            .as_ref()
            .map_or(0, ServerHandle::connection_count)
    }

    /// A session whose relative URLs go to this server ([`MEMORY_BASE_URL`]).
    pub fn client<R: Runtime>(&self, rt: R) -> ClientSession<R> {
        ClientSession::builder_with_runtime(rt)
            .base_url(MEMORY_BASE_URL)
            .connector(self.connector())
            .build()
            .expect("a session with a base URL and a connector always builds")
    }

    /// Graceful shutdown: `on_shutdown`, in-flight requests finish, cleanup signals run.
    pub async fn close(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await;
        }
    }
}

impl Connect for MemoryConnector {
    fn connect(&self, _target: &ConnectTarget) -> ConnectFuture {
        let (client, server) = pipe(DEFAULT_PIPE_CAPACITY);
        let result = (self.serve)(server).map(|()| {
            self.opened.fetch_add(1, Ordering::SeqCst);
            Box::new(client) as Box<dyn crate::rt::Stream>
        });
        Box::pin(std::future::ready(result))
    }
}
