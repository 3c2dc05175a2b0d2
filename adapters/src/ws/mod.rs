//! WebSocket client and server: aiohttp's `ws_connect` and `WebSocketResponse`, on every
//! runtime, over the sans-IO [`sansweb_core::ws`] state machine.
//!
//! # Theory of operation
//!
//! One socket task per connection owns the transport and drives the core: it reads,
//! feeds the core, turns the core's events into [`WsMessage`]s in a bounded queue,
//! writes whatever the core queued (user sends, automatic pongs, close echoes, heartbeat
//! pings) and sleeps until the core's next deadline. The user's handles ([`WebSocket`],
//! or its [`split`](WebSocket::split) halves [`WsSender`] and [`WsReceiver`]) share the
//! core with that task behind one mutex: a send encodes into the core and wakes the task;
//! a receive pops the queue or parks until the task pushes. Because the task runs on its
//! own, heartbeat pings go out and a dead peer is detected even while nobody calls
//! [`receive`](WebSocket::receive).
//!
//! ```text
//!   user: send_str ─► core.send_text ─► wake task            receive ◄─ queue ◄─┐
//!   task: socket ─► core.handle_input ─► events ─► WsMessage ──────────────────┘
//!         core.poll_transmit ─► socket;  sleep until core.poll_timeout()
//!         core.should_close_transport() ─► close socket, mark done ─► Closed
//! ```
//!
//! Flow control: the task stops reading while the receive queue is full (the peer's TCP
//! window then fills), and senders wait while more than [`SEND_HIGH_WATER`] bytes are
//! queued but not yet written. When every handle is dropped the task starts the close
//! handshake (1000) itself, so a handler that returns never leaks a connection.
//!
//! ```no_run
//! # #[cfg(feature = "runtime-tokio")] {
//! use sansweb::rt::{Runtime, TokioRuntime};
//! use sansweb::ws::{ws_connect, WsMessage};
//! TokioRuntime::block_on(|rt| async move {
//!     let mut ws = ws_connect(&rt, "ws://127.0.0.1:9002/").await?;
//!     ws.send_str("hello").await?;
//!     if let WsMessage::Text(t) = ws.receive().await { println!("{t}"); }
//!     ws.close(sansweb::core::ws::CloseCode::NORMAL, "bye").await?;
//!     Ok::<_, sansweb::ws::WsError>(())
//! }).unwrap().unwrap();
//! # }
//! ```

mod client;
mod error;
mod handle;
mod message;
mod server;
mod session_connect;
mod settings;
mod task;

pub use client::{ws_connect, WsConnect};
pub use error::WsError;
pub use handle::{WebSocket, WsReceiver, WsSender};
pub use message::WsMessage;
pub use server::WebSocketResponse;
pub use session_connect::SessionWsConnect;
pub use settings::SEND_HIGH_WATER;
