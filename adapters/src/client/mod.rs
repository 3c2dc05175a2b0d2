//! The HTTP client: aiohttp's `ClientSession`, on every runtime.
//!
//! # Theory of operation
//!
//! The session's decisions live in the sans-IO core (`sansweb_core::client`: the pool,
//! the cookie jar, the redirect policy, the request deadlines; `sansweb_core::h1`: the
//! wire protocol). This module only moves bytes and wakes tasks:
//!
//! ```text
//!  ClientSession ── get(url) ──▶ RequestBuilder ── send() ──▶ ClientResponse
//!    │ SessionPool (core Pool + idle sockets)        │ chunk()/text()/json()
//!    │ CookieJar, defaults, TLS config               ▼
//!    └──────────────── Lease<Connection> ◀── drives Conn<Client> inline, read on demand
//! ```
//!
//! Connections are *not* driven by spawned tasks: the future that holds a connection
//! (the request, then its response) polls it, so the socket is read only as fast as the
//! user consumes the body (bounded memory) and a dropped response closes its socket at
//! once (never reused half-read). See `connection.rs` for the trade-off.
//!
//! ```no_run
//! # #[cfg(feature = "runtime-tokio")]
//! # fn main() -> std::io::Result<()> {
//! use sansweb::rt::{Runtime, TokioRuntime};
//! use sansweb::ClientSession;
//! TokioRuntime::block_on(|rt| async move {
//!     let session = ClientSession::builder_with_runtime(rt)
//!         .header("x-api-key", "secret")
//!         .build()?;
//!     let mut r = session.get("http://127.0.0.1:8080/get").query(&[("a", "1")]).send().await?;
//!     r.raise_for_status()?;
//!     let body: serde_json::Value = r.json().await?;
//!     println!("{body}");
//!     Ok::<_, sansweb::ClientError>(())
//! })?
//! .map_err(std::io::Error::other)
//! # }
//! # #[cfg(not(feature = "runtime-tokio"))] fn main() {}
//! ```

mod connection;
mod connector;
mod decode;
mod dns;
mod error;
mod happy_eyeballs;
mod middleware;
mod multipart;
mod pool;
mod proxy;
mod request;
mod response;
mod session;
mod tls;
mod trace;
mod url_text;

pub use connector::{Connect, ConnectFuture, ConnectTarget};
pub use dns::{Resolve, ResolveFuture, StaticResolver};
pub use error::{ClientError, ConnectorKind, History, ResponseError, TimeoutKind};
pub use middleware::{ClientMiddleware, ClientRequest, MiddlewareFuture, Next};
pub use multipart::{Form, Part};
// For the WebSocket client (`ws::session_connect`), which opens its own connections.
pub(crate) use connection::{open_stream, with_timers};
pub(crate) use proxy::{pick as pick_proxy, proxy_authorization};
pub(crate) use request::add_jar_cookies;
pub use request::{BodyStream, RequestBuilder};
pub use response::{ClientResponse, ResponseCookie};
pub use sansweb_core::client::{ClientTimeout, CookieJar, CookieJarConfig};
pub(crate) use session::parse_proxy;
pub use session::{ClientSession, ClientSessionBuilder, DEFAULT_MAX_DECOMPRESSED};
pub use tls::TlsOptions;
pub use trace::TraceEvent;
pub(crate) use url_text::parse_url_text;
