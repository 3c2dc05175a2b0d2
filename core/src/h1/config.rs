//! Limits and timeouts of one HTTP/1.1 connection.

use std::time::Duration;

/// Limits and timeouts for one connection. Every limit is checked as bytes arrive, so a
/// peer can never make the core buffer more than the limit, whatever way it splits its
/// writes.
///
/// [`Config::server`] (also `Default`) has aiohttp's server defaults; [`Config::client`]
/// the client's (no idle timer: the pool owns idle expiry on the client side).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Longest request line or status line, CRLF excluded (default 8190). A request line
    /// over it is answered with 414.
    pub max_line_size: usize,
    /// Longest header field line, CRLF excluded (default 8190; 431).
    pub max_field_size: usize,
    /// Most header fields in one head (default 128; 431).
    pub max_headers: usize,
    /// Largest head, start line and CRLFs included (default 64 KiB; 431).
    pub max_head_size: usize,
    /// Most bytes of extensions on one chunk-size line (default 4 KiB; 400).
    pub max_chunk_extension_size: usize,
    /// Largest trailer section (default 16 KiB; 431).
    pub max_trailer_size: usize,
    /// Largest message body, if any (default none; 413). Servers usually enforce
    /// aiohttp's `client_max_size` where the body is read, not here.
    pub max_body_size: Option<u64>,
    /// How long a peer may take to send a whole head, counted from its first byte (and
    /// from the connection's start for the first head). Slowloris protection; server
    /// default 30 s; answered with 408 and a close.
    pub head_read_timeout: Option<Duration>,
    /// How long an idle keep-alive connection is kept between messages (server default
    /// 75 s; client: none, the pool decides).
    pub keep_alive_timeout: Option<Duration>,
    /// Client: how long to wait for `100 Continue` before sending a body anyway after
    /// `Expect: 100-continue` (default 1 s).
    pub expect_continue_timeout: Duration,
    /// Server: reject HTTP/1.1 requests without a Host header with 400 (RFC 9112 §3.2;
    /// default true). Turning it off only suits parser-level testing.
    pub require_host: bool,
    /// Server: accept request methods outside the registered set (RFC 9110, WebDAV,
    /// CalDAV, SSDP, PATCH, QUERY, ...) as long as they are tokens. Default false: an
    /// unknown method is answered with 400, as llhttp's strict mode does.
    pub accept_unregistered_methods: bool,
    /// Most unparsed input held while the connection waits on the application (a
    /// pipelined request behind one being answered). Past it, `wants_read()` turns false
    /// so the driver stops reading: back-pressure instead of an unbounded queue.
    pub max_buffered_input: usize,
}

impl Config {
    /// aiohttp's server defaults.
    #[must_use]
    pub fn server() -> Self {
        Self {
            max_line_size: 8190,
            max_field_size: 8190,
            max_headers: 128,
            max_head_size: 64 * 1024,
            max_chunk_extension_size: 4 * 1024,
            max_trailer_size: 16 * 1024,
            max_body_size: None,
            head_read_timeout: Some(Duration::from_secs(30)),
            keep_alive_timeout: Some(Duration::from_secs(75)),
            expect_continue_timeout: Duration::from_secs(1),
            max_buffered_input: 256 * 1024,
            require_host: true,
            accept_unregistered_methods: false,
        }
    }

    /// Client defaults: the same limits on what the server sends; no head read or idle
    /// timers (the session's `sock_read` timeout and the pool own those).
    #[must_use]
    pub fn client() -> Self {
        Self {
            head_read_timeout: None,
            keep_alive_timeout: None,
            ..Self::server()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::server()
    }
}
