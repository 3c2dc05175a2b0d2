//! Request timeouts as deadlines (aiohttp's `ClientTimeout`).
//!
//! # Theory of operation
//!
//! A request moves through phases; each phase arms or disarms some of five deadlines,
//! kept in one [`TimerTable`]. The driver asks [`RequestTimers::poll_timeout`] when to
//! wake up and calls [`RequestTimers::handle_timeout`], which says which kind fired.
//!
//! ```text
//!  new ──▶ queued ──▶ connecting ──▶ connected ──▶ sent ──▶ (byte received)* ──▶ finished
//!  total ─────────────────────────────────────────────────────────────────────────▶ off
//!  connect ─────────────────────────────▶ off          (pool wait + connection set-up)
//!          pool_queue ─▶ off                           (only while waiting for a slot)
//!                     sock_connect ─▶ off              (one new connection's set-up)
//!                                        sock_read ──── re-armed on every byte ─────▶ off
//! ```
//!
//! `sock_read` is the longest silence allowed from the server once the request is out:
//! every received byte pushes it back. Reading may be paused by the application (flow
//! control); then silence is ours, not the server's, so the timer is off until resumed.
//! After a deadline fires the request has failed: every timer is off and the kind stays
//! available from [`RequestTimers::fired`].

use std::fmt;
use std::time::{Duration, Instant};

use crate::time::TimerTable;

/// Timeouts of one request (or the session default). `None` disables a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientTimeout {
    /// The whole request, from checkout to the end of the body. Default 300 s.
    pub total: Option<Duration>,
    /// Getting a connection: pool wait plus connection set-up. Default none.
    pub connect: Option<Duration>,
    /// Setting up one new connection (TCP + TLS + proxy). Default 30 s.
    pub sock_connect: Option<Duration>,
    /// Longest silence while reading the response. Default none.
    pub sock_read: Option<Duration>,
    /// Waiting for a pool slot. Default none.
    pub pool_queue: Option<Duration>,
}

impl Default for ClientTimeout {
    fn default() -> Self {
        Self {
            total: Some(Duration::from_secs(300)),
            connect: None,
            sock_connect: Some(Duration::from_secs(30)),
            sock_read: None,
            pool_queue: None,
        }
    }
}

impl ClientTimeout {
    /// No timeout of any kind.
    #[must_use]
    pub fn none() -> Self {
        Self {
            total: None,
            connect: None,
            sock_connect: None,
            sock_read: None,
            pool_queue: None,
        }
    }
}

/// Which deadline passed. The request failed locally because the peer (or the network)
/// was too slow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// [`ClientTimeout::total`].
    Total,
    /// [`ClientTimeout::connect`].
    Connect,
    /// [`ClientTimeout::sock_connect`].
    SockConnect,
    /// [`ClientTimeout::sock_read`].
    SockRead,
    /// [`ClientTimeout::pool_queue`].
    PoolQueue,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Total => "total request timeout",
            TimeoutKind::Connect => "connect timeout (pool wait + connection set-up)",
            TimeoutKind::SockConnect => "socket connect timeout",
            TimeoutKind::SockRead => "socket read timeout: server silent too long",
            TimeoutKind::PoolQueue => "timed out waiting for a pooled connection",
        })
    }
}

impl std::error::Error for TimeoutKind {}

/// Slots in report priority: when several deadlines are due, the narrowest is named,
/// since it says most about what was slow.
const ORDER: [TimeoutKind; 5] = [
    TimeoutKind::PoolQueue,
    TimeoutKind::SockConnect,
    TimeoutKind::Connect,
    TimeoutKind::SockRead,
    TimeoutKind::Total,
];

fn slot(kind: TimeoutKind) -> usize {
    match kind {
        TimeoutKind::PoolQueue => 0,
        TimeoutKind::SockConnect => 1,
        TimeoutKind::Connect => 2,
        TimeoutKind::SockRead => 3,
        TimeoutKind::Total => 4,
    }
}

/// The deadlines of one request. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct RequestTimers {
    timeout: ClientTimeout,
    table: TimerTable<5>,
    fired: Option<TimeoutKind>,
    reading: bool,
}

impl RequestTimers {
    /// Starts the clock for a request at `now`: arms `total` and `connect`.
    #[must_use]
    pub fn new(timeout: ClientTimeout, now: Instant) -> Self {
        let mut t = Self {
            timeout,
            table: TimerTable::new(),
            fired: None,
            reading: false,
        };
        t.arm(TimeoutKind::Total, timeout.total, now);
        t.arm(TimeoutKind::Connect, timeout.connect, now);
        t
    }

    fn arm(&mut self, kind: TimeoutKind, after: Option<Duration>, now: Instant) {
        if self.fired.is_some() {
            return;
        }
        match after.and_then(|d| now.checked_add(d)) {
            Some(deadline) => self.table.set(slot(kind), deadline),
            None => self.table.clear(slot(kind)),
        }
    }

    fn disarm(&mut self, kind: TimeoutKind) {
        self.table.clear(slot(kind));
    }

    /// The request waits for a pool slot: arms `pool_queue`.
    pub fn handle_queued(&mut self, now: Instant) {
        self.arm(TimeoutKind::PoolQueue, self.timeout.pool_queue, now);
    }

    /// A new connection is being set up: the queue wait is over, arms `sock_connect`.
    pub fn handle_connecting(&mut self, now: Instant) {
        self.disarm(TimeoutKind::PoolQueue);
        self.arm(TimeoutKind::SockConnect, self.timeout.sock_connect, now);
    }

    /// The request has a connection (new or reused): connect-phase timers are off.
    pub fn handle_connected(&mut self, _now: Instant) {
        self.disarm(TimeoutKind::PoolQueue);
        self.disarm(TimeoutKind::SockConnect);
        self.disarm(TimeoutKind::Connect);
    }

    /// The request is written: the server's silence is now timed (`sock_read`).
    pub fn handle_sent(&mut self, now: Instant) {
        self.handle_connected(now);
        self.reading = true;
        self.arm(TimeoutKind::SockRead, self.timeout.sock_read, now);
    }

    /// Bytes of the response arrived: re-arms `sock_read` from `now`.
    pub fn handle_bytes_received(&mut self, now: Instant) {
        if self.reading {
            self.arm(TimeoutKind::SockRead, self.timeout.sock_read, now);
        }
    }

    /// The application stopped reading (backpressure): `sock_read` is off meanwhile.
    pub fn handle_read_paused(&mut self) {
        self.reading = false;
        self.disarm(TimeoutKind::SockRead);
    }

    /// The application reads again: `sock_read` restarts from `now`.
    pub fn handle_read_resumed(&mut self, now: Instant) {
        self.reading = true;
        self.arm(TimeoutKind::SockRead, self.timeout.sock_read, now);
    }

    /// The response is complete (or the request was abandoned): every timer is off.
    pub fn handle_finished(&mut self) {
        self.reading = false;
        self.table.clear_all();
    }

    /// The earliest armed deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.table.next_deadline()
    }

    /// Which deadline has passed at `now`, if any. Once one fires the request is failed:
    /// all timers are off and later calls return `None`.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<TimeoutKind> {
        if self.fired.is_some() {
            return None;
        }
        let kind = ORDER
            .into_iter()
            .find(|k| self.table.get(slot(*k)).is_some_and(|d| d <= now))?;
        self.fired = Some(kind);
        self.table.clear_all();
        Some(kind)
    }

    /// The deadline that failed this request, if one did.
    #[must_use]
    pub fn fired(&self) -> Option<TimeoutKind> {
        self.fired
    }
}
