//! HTTP/1.1 (RFC 9112) for both roles, sans-IO.
//!
//! One connection state machine, [`Conn`], serves both roles: `Conn<Server>` parses
//! requests and sends responses, `Conn<Client>` sends requests and parses responses.
//! Head parsing (httparse underneath), head encoding, body framing (Content-Length,
//! chunked, close-delimited), keep-alive, pipelining, `Expect: 100-continue` and the
//! upgrade hand-off are shared.
//!
//! # The run loop
//!
//! Every driver, whatever its runtime, does the same thing: feed what it read, drain
//! events, write every transmit, sleep until the next deadline.
//!
//! ```
//! use sansweb_core::h1::{Config, Conn, Event, ResponseHead, Server};
//! use bytes::Bytes;
//! use std::time::{Duration, Instant};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let mut now = Instant::now(); // a driver reads its runtime's clock; the core never does
//! let mut conn = Conn::<Server>::new(Config::server(), now);
//! let mut written = Vec::new();
//!
//! // 1. bytes arrive from the socket
//! conn.handle_input(now, b"GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n");
//! // 2. drain events; answer requests
//! while let Some(event) = conn.poll_event() {
//!     match event {
//!         Event::Head(request) => {
//!             assert_eq!(request.uri.path(), "/hello");
//!             let response = ResponseHead::new(http::StatusCode::OK);
//!             conn.send_full_response(now, response, Bytes::from_static(b"Hello, World!"))
//!                 .unwrap();
//!         }
//!         Event::End => {}
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! // 3. write every transmit (all ready responses come out together)
//! while let Some(bytes) = conn.poll_transmit() {
//!     written.extend_from_slice(&bytes);
//! }
//! assert!(written.starts_with(b"HTTP/1.1 200 OK\r\n"));
//! assert!(written.ends_with(b"\r\n\r\nHello, World!"));
//! // 4. sleep until the next deadline (here: the 75 s keep-alive idle timer), then
//! //    tell the connection the time has come
//! let deadline = conn.poll_timeout().unwrap();
//! assert_eq!(deadline, now + Duration::from_secs(75));
//! now = deadline;
//! conn.handle_timeout(now);
//! assert_eq!(conn.poll_event(), Some(Event::Closed));
//! assert!(conn.is_closed());
//! ```

mod chunked;
mod config;
mod conn;
mod encode;
mod error;
mod exchanges;
mod framing;
mod head;
mod parse;
mod role;
mod scan;
mod target;

pub use config::Config;
pub use conn::{Conn, Event, Upgraded};
pub use error::{Blame, Error, ErrorKind};
pub use framing::BodyFraming;
pub use head::{HeaderFields, RawHeaders, RequestHead, ResponseHead};
pub use role::{Client, Role, Server};
pub use target::RequestTarget;
