//! WebSocket (RFC 6455, RFC 7692): frames, messages, close handshake, permessage-deflate.
//!
//! Sans-IO, both roles. After the opening handshake ([`handshake`]) the connection is a
//! [`WebSocket`]: bytes in with `handle_input`, events out with `poll_event`, bytes to
//! write with `poll_transmit`, deadlines with `poll_timeout`/`handle_timeout`. See
//! [`conn`] for the theory of operation and state diagram.
//!
//! ```
//! use std::time::Instant;
//! use sansweb_core::ws::{CloseCode, Config, Event, SeededMaskKeys, WebSocket};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let now = Instant::now(); // a driver passes its clock in
//! let mut client = WebSocket::client(Config::default(), SeededMaskKeys::new(*b"rngbytes"), now);
//! let mut server = WebSocket::server(Config::default(), now);
//! client.send_text("hello").unwrap();
//! // The driver loop: write what the core wants written, feed what was read.
//! while let Some(bytes) = client.poll_transmit() {
//!     server.handle_input(now, &bytes);
//! }
//! assert_eq!(server.poll_event(), Some(Event::Text("hello".into())));
//! server.send_close(now, CloseCode::NORMAL, "bye").unwrap();
//! while let Some(bytes) = server.poll_transmit() {
//!     client.handle_input(now, &bytes);
//! }
//! // The client's echo was queued by the core itself.
//! while let Some(bytes) = client.poll_transmit() {
//!     server.handle_input(now, &bytes);
//! }
//! assert!(server.should_close_transport()); // the server closes TCP first
//! ```

pub mod close;
pub mod config;
pub mod conn;
#[cfg(test)]
mod conn_io_tests;
pub mod deflate;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;
mod message;
mod negotiation;
mod readbuf;
pub mod utf8;
mod writebuf;

pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Heartbeat};
pub use conn::{Event, MaskKeySource, SeededMaskKeys, State, WebSocket};
pub use deflate::{DeflateConfig, DeflateParams};
pub use error::{Error, LocalError, ProtocolError};
pub use frame::{OpCode, Role};
pub use handshake::{accept_key, ClientHandshake, HandshakeError, Negotiated, UpgradeRequest};
