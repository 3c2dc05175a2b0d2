//! An application served on a free loopback port, for tests.

use crate::rt::Runtime;
use crate::web::{App, Server, ServerConfig, ServerHandle};
use std::net::SocketAddr;

/// A running test server (aiohttp's `TestServer`): `url("/path")` gives where to send
/// requests. [`TestServer::close`] shuts it down gracefully and runs the cleanup
/// signals; dropping it stops accepting at once.
pub struct TestServer {
    handle: Option<ServerHandle>,
    addr: SocketAddr,
}

impl TestServer {
    /// Starts `app` on `127.0.0.1:0` on runtime `rt`.
    pub async fn start<R: Runtime>(rt: &R, app: App) -> std::io::Result<Self> {
        Self::start_with(rt, app, ServerConfig::default()).await
    }

    /// Starts `app` with a server policy (limits, timeouts).
    pub async fn start_with<R: Runtime>(
        rt: &R,
        app: App,
        config: ServerConfig,
    ) -> std::io::Result<Self> {
        let handle = Server::new(app)
            .config(config)
            .start(rt, "127.0.0.1:0".parse().expect("literal"), 1)
            .await?;
        Ok(Self {
            addr: handle.local_addr(),
            handle: Some(handle),
        })
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Graceful shutdown: in-flight requests finish, then the cleanup signals run.
    pub async fn close(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await;
        }
    }
}

impl TestServer {
    /// A client session whose relative URLs (`client.get("/")`) go to this server
    /// (aiohttp's `TestClient` / the `aiohttp_client` fixture).
    pub fn client<R: Runtime>(&self, rt: R) -> crate::client::ClientSession<R> {
        crate::client::ClientSession::builder_with_runtime(rt)
            .base_url(&self.url("/"))
            .build()
            .expect("a session with only a base URL always builds")
    }
}
