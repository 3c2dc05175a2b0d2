//! Testing utilities (aiohttp's `test_utils` and pytest fixtures), feature `test-utils`.
//!
//! - [`TestClient`]: a client with relative paths (`client.get("/")`) that owns the
//!   server of an [`App`](crate::web::App), on a loopback port ([`TestClient::new`]) or
//!   in memory ([`TestClient::in_memory`]); closing or dropping it runs the shutdown and
//!   cleanup signals.
//! - [`TestServer`]: an app on a free loopback port, on any runtime, with its URL.
//! - [`MemoryServer`] and [`pipe`]: the real client and server codecs wired through an
//!   in-memory duplex pipe, no socket at all.
//! - [`MockServer`]: mocked outgoing requests (aioresponses) under a real session.
//! - [`RecordingConnector`] and [`Cassette`]: record real exchanges to a JSON file and
//!   replay them into a [`MockServer`].
//! - [`VirtualClockRuntime`]: a runtime whose clock and timers follow a manually
//!   advanced virtual clock, so timeouts fire in microseconds.
//! - [`make_mocked_request`]: a request for unit-testing handlers and middlewares with
//!   no server and no socket at all.
//!
//! The session side plugs in through [`Connect`](crate::client::Connect), the one hook
//! in the client: everything above the byte stream is production code.

mod client;
mod clock;
mod memory;
mod mock;
mod mocked;
mod pipe;
mod record;
mod server;

pub use client::TestClient;
pub use clock::{VirtualClock, VirtualClockRuntime};
pub use memory::{MemoryConnector, MemoryServer, MEMORY_BASE_URL};
pub use mock::{
    MockBuilder, MockError, MockResponse, MockServer, RecordedRequest, Times, UrlPattern,
};
pub use mocked::{make_mocked_request, make_mocked_request_with_body};
pub use pipe::{pipe, PipeEnd, DEFAULT_PIPE_CAPACITY};
pub use record::{Cassette, Exchange, RecordingConnector, StoredBody, TcpConnector};
pub use server::TestServer;
