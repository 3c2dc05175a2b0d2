//! # sansweb-core
//!
//! The sans-IO core of sansweb: pure state machines for HTTP/1.1 (both roles), WebSocket,
//! the client's connection pool, cookies, redirects and timeouts, and the server's router.
//! Nothing here opens a socket, reads a clock or spawns a task: bytes go in with
//! `handle_*` methods, events and bytes to write come out of `#[must_use] poll_*` methods,
//! and time is always a parameter (`now: Instant`).
//!
//! See [`h1`] for the run loop every driver follows.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod fuzzing;
pub mod h1;
pub mod server;
pub mod time;
pub mod ws;
