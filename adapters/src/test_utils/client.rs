//! [`TestClient`]: aiohttp's `TestClient` — a session with relative paths that owns the
//! server it talks to.

use std::io;
use std::net::SocketAddr;

use http::Method;

use super::memory::{MemoryServer, MEMORY_BASE_URL};
use super::server::TestServer;
use crate::client::{ClientSession, RequestBuilder};
use crate::rt::Runtime;
use crate::web::App;

enum Backend {
    Socket(TestServer),
    Memory(MemoryServer),
}

impl Backend {
    async fn close(self) {
        match self {
            Backend::Socket(s) => s.close().await,
            Backend::Memory(s) => s.close().await,
        }
    }
}

/// A client for one application (aiohttp's `TestClient` / the `aiohttp_client` fixture):
/// `client.get("/path")` goes to the app, served on a loopback port
/// ([`TestClient::new`]) or in memory with no socket at all ([`TestClient::in_memory`]).
///
/// [`TestClient::close`] shuts the server down gracefully (shutdown and cleanup signals
/// run before it returns); dropping the client starts the same shutdown on a task of
/// the runtime.
///
/// ```
/// # #[cfg(feature = "runtime-tokio")] {
/// use sansweb::rt::{Runtime, TokioRuntime};
/// use sansweb::test_utils::TestClient;
/// use sansweb::web::{App, Request};
///
/// TokioRuntime::block_on(|rt| async move {
///     let app = App::new().get("/", |_req: Request| async { "hello" });
///     let client = TestClient::in_memory(rt, app).await.unwrap();
///     let mut r = client.get("/").send().await.unwrap();
///     assert_eq!(r.status(), 200);
///     assert_eq!(r.text().await.unwrap(), "hello");
///     client.close().await;
/// })
/// .unwrap();
/// # }
/// ```
pub struct TestClient<R: Runtime> {
    session: ClientSession<R>,
    backend: Option<Backend>,
    base: String,
    rt: R,
}

impl<R: Runtime> TestClient<R> {
    /// Starts `app` on a free loopback port and connects a session to it.
    pub async fn new(rt: R, app: App) -> io::Result<Self> {
        let server = TestServer::start(&rt, app).await?;
        Self::with_server(rt, server)
    }

    /// A client for a [`TestServer`] already running (it is closed with the client).
    pub fn with_server(rt: R, server: TestServer) -> io::Result<Self> {
        let base = server.url("/");
        let session = ClientSession::builder_with_runtime(rt.clone())
            .base_url(&base)
            // aiohttp's TestClient: cookies from 127.0.0.1 are kept.
            .cookie_jar_unsafe()
            .build()
            .map_err(io::Error::other)?;
        Ok(Self {
            session,
            backend: Some(Backend::Socket(server)),
            base,
            rt,
        })
    }

    /// Serves `app` in memory (see [`MemoryServer`]) and connects a session to it.
    pub async fn in_memory(rt: R, app: App) -> io::Result<Self> {
        let server = MemoryServer::start(&rt, app).await?;
        Self::with_memory_server(rt, server)
    }

    /// A client for a [`MemoryServer`] already running (it is closed with the client).
    pub fn with_memory_server(rt: R, server: MemoryServer) -> io::Result<Self> {
        let session = server.client(rt.clone());
        Ok(Self {
            session,
            backend: Some(Backend::Memory(server)),
            base: MEMORY_BASE_URL.to_owned(),
            rt,
        })
    }

    /// The session (for its cookie jar, pool counters, or requests to absolute URLs).
    pub fn session(&self) -> &ClientSession<R> {
        &self.session
    }

    /// The absolute URL of `path` on the server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base.trim_end_matches('/'), path)
    }

    /// The server's loopback address (`None` in memory).
    pub fn server_addr(&self) -> Option<SocketAddr> {
        match &self.backend {
            Some(Backend::Socket(s)) => Some(s.addr()),
            _ => None,
        }
    }

    /// Connections the client opened to an in-memory server (`None` on a socket).
    pub fn memory_connections_opened(&self) -> Option<usize> {
        match &self.backend {
            Some(Backend::Memory(s)) => Some(s.connections_opened()),
            _ => None,
        }
    }

    /// A request with any method to `path` (relative to the server).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder<R> {
        self.session.request(method, path)
    }
    /// A GET of `path`.
    pub fn get(&self, path: &str) -> RequestBuilder<R> {
        self.session.get(path)
    }
    /// A POST to `path`.
    pub fn post(&self, path: &str) -> RequestBuilder<R> {
        self.session.post(path)
    }
    /// A PUT to `path`.
    pub fn put(&self, path: &str) -> RequestBuilder<R> {
        self.session.put(path)
    }
    /// A PATCH to `path`.
    pub fn patch(&self, path: &str) -> RequestBuilder<R> {
        self.session.patch(path)
    }
    /// A DELETE of `path`.
    pub fn delete(&self, path: &str) -> RequestBuilder<R> {
        self.session.delete(path)
    }
    /// A HEAD of `path`.
    pub fn head(&self, path: &str) -> RequestBuilder<R> {
        self.session.head(path)
    }
    /// An OPTIONS of `path`.
    pub fn options(&self, path: &str) -> RequestBuilder<R> {
        self.session.options(path)
    }

    /// Closes the session's idle connections, then shuts the server down gracefully:
    /// when this returns, the shutdown and cleanup signals have run.
    pub async fn close(mut self) {
        self.session.close();
        if let Some(backend) = self.backend.take() {
            backend.close().await;
        }
    }
}

impl<R: Runtime> Drop for TestClient<R> {
    fn drop(&mut self) {
        self.session.close();
        if let Some(backend) = self.backend.take() {
            // Drop cannot wait: the graceful shutdown runs on a task, which the runtime
            // completes as long as it keeps running (`close().await` is deterministic).
            self.rt.spawn(backend.close()).detach();
        }
    }
}
