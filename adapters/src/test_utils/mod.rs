//! Testing utilities (aiohttp's `test_utils` and pytest fixtures), feature `test-utils`.
//!
//! - [`TestServer`]: an [`App`](crate::web::App) on a free loopback port, on any
//!   runtime, with its URL; closing it runs the shutdown and cleanup signals.
//! - [`make_mocked_request`]: a request for unit-testing handlers and middlewares with
//!   no server and no socket at all.

mod mocked;
mod server;

pub use mocked::{make_mocked_request, make_mocked_request_with_body};
pub use server::TestServer;
