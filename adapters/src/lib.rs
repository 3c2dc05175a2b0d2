//! # sansweb
//!
//! aiohttp's client session, web server and WebSocket, in Rust, on tokio, async-std and
//! smol. The protocol lives in [`sansweb_core`]; this crate moves bytes between sockets
//! and the core's state machines, once, over `futures-io`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use sansweb_core as core;

pub mod client;
pub mod rt;

pub use client::{ClientError, ClientResponse, ClientSession, ClientTimeout};

#[cfg(any(
    feature = "runtime-tokio",
    feature = "runtime-smol",
    feature = "runtime-async-std"
))]
pub use rt::DefaultRuntime;
pub use rt::{Runtime, Task};

mod driver;
pub mod web;

#[cfg(feature = "test-utils")]
pub mod test_utils;
pub mod ws;

pub use ws::{ws_connect, WebSocketResponse, WsConnect};
