//! The client connection pool (aiohttp's `TCPConnector` bookkeeping), without sockets.
//!
//! # Theory of operation
//!
//! The pool never opens or closes anything. It hands out *decisions* about connections
//! the caller owns, each named by an id of the caller's choosing (`C`), and keeps count
//! so that limits hold and no connection is ever shared or reused when it must not be.
//!
//! ```text
//!                 checkout(key)
//!                      │
//!     idle conn for key? ──yes──▶ Reuse(id) ─────────────┐
//!                      │ no                              ▼
//!     room under limit / limit_per_host? ──yes──▶ Connect(ticket) ──connected(ticket,id)──▶ IN USE
//!                      │ no (an idle conn of another    │ connect_failed                  │
//!                      │  key is closed to make room     ▼                                 │
//!                      │  when only `limit` is hit)    slot freed                          │
//!                      ▼                                                                    │
//!                  Wait(waiter) ── FIFO ── poll_event: WaiterReady{waiter, Reuse|Connect}  │
//!                      │                   poll_event: WaiterTimedOut (queue deadline)     │
//!                      └── cancel_wait ──▶ slot (or granted connection) given back         │
//!                                                                                           │
//!   IN USE ── checkin(reusable) ──▶ IDLE (expires after keep-alive or `Keep-Alive: timeout`)
//!          ── checkin(!reusable) / release (dropped response) ──▶ Close(id) event
//!          ── closed (peer closed / error) ──▶ forgotten
//!   IDLE  ── expiry / eviction / close_idle ──▶ CloseIdle(id) event; peer close ──▶ closed
//! ```
//!
//! `limit` counts every open connection (in use, idle and being connected), so the
//! process never holds more sockets than configured; `limit_per_host` counts the same
//! per key. Waiters are served strictly in arrival order per key, and a new checkout never
//! overtakes a waiter of its own key. Every input that frees capacity serves waiters at
//! once, so when a waiter exists no capacity is free for it.
//!
//! Timers: idle expiries and waiter queue deadlines; [`Pool::poll_timeout`] gives the
//! earliest, [`Pool::handle_timeout`] acts on those due (a late or early call is safe).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::time::{Duration, Instant};

use url::Url;

use super::fast_hash::FastHash;

/// What connections are shared by: requests with equal keys may reuse each other's
/// connections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// `http`, `https`, `ws` or `wss`, lower case.
    pub scheme: String,
    /// Host name or IP literal, lower case.
    pub host: String,
    /// Port (the scheme's default when the URL has none).
    pub port: u16,
    /// Identifies the TLS settings (verification, CA, client certificate): connections
    /// made with different settings must not be mixed. `0` for the default.
    pub tls_config: u64,
    /// The proxy the connection goes through, if any.
    pub proxy: Option<String>,
}

impl PoolKey {
    /// The key for a direct connection to `url`'s origin with default TLS settings;
    /// `None` if the URL has no host or port.
    #[must_use]
    pub fn from_url(url: &Url) -> Option<Self> {
        Some(Self {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
            tls_config: 0,
            proxy: None,
        })
    }
}

/// Pool limits and policy. Defaults are aiohttp's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most open connections overall; `0` = no limit. Default 100.
    pub limit: usize,
    /// Most open connections per key; `0` = no limit (default).
    pub limit_per_host: usize,
    /// How long an idle connection is kept. Default 15 s.
    pub keep_alive: Duration,
    /// Never keep a connection for reuse (aiohttp's `force_close=True`).
    pub force_close: bool,
    /// How long a checkout may wait for a slot; `None` = forever (default).
    pub queue_timeout: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            limit: 100,
            limit_per_host: 0,
            keep_alive: Duration::from_secs(15),
            force_close: false,
            queue_timeout: None,
        }
    }
}

/// A reservation to open one new connection; hand it back with [`Pool::connected`] or
/// [`Pool::connect_failed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnectTicket(u64);

/// A queued checkout, answered later by a [`PoolEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WaiterId(u64);

/// The answer to a checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkout<C> {
    /// Use this idle connection; it is now in use by the caller.
    Reuse(C),
    /// Open a new connection, then report it with [`Pool::connected`].
    Connect(ConnectTicket),
    /// No room: wait for a [`PoolEvent`] about this waiter. Never inside `WaiterReady`.
    Wait(WaiterId),
}

/// Something the caller must act on, from [`Pool::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolEvent<C> {
    /// The waiter may go on with `checkout` (`Reuse` or `Connect`, never `Wait`).
    WaiterReady {
        /// The waiter served.
        waiter: WaiterId,
        /// What it got.
        checkout: Checkout<C>,
    },
    /// The waiter's queue deadline passed; it is no longer queued.
    WaiterTimedOut {
        /// The waiter dropped.
        waiter: WaiterId,
    },
    /// Close this idle connection (expired, evicted to make room, or pool closing).
    CloseIdle(C),
    /// Close this connection: it was checked in as not reusable, or released.
    Close(C),
}

/// Misuse of the pool by its caller (the peer cannot cause these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolError {
    /// The ticket was not issued by this pool or was already used.
    UnknownTicket,
    /// The connection id is not in the pool.
    UnknownConnection,
    /// The connection is idle, not checked out, so it cannot be checked in or released.
    NotInUse,
    /// `connected` was given an id that is already in the pool.
    DuplicateConnection,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PoolError::UnknownTicket => "local error: unknown or already used connect ticket",
            PoolError::UnknownConnection => "local error: connection is not in the pool",
            PoolError::NotInUse => "local error: connection is not checked out",
            PoolError::DuplicateConnection => "local error: connection id already in the pool",
        })
    }
}

impl std::error::Error for PoolError {}

/// Whether a failed request may be sent again on a fresh connection (aiohttp's rule):
/// it failed on a connection that was *reused* (the server may have closed it while
/// idle) before any response byte arrived, and the method is idempotent. The retry
/// itself runs on a new connection ([`CheckoutOptions::fresh`]), so it is never retried
/// twice by this rule.
#[must_use]
pub fn should_retry(method: &http::Method, was_reused: bool, response_bytes_seen: bool) -> bool {
    was_reused && !response_bytes_seen && method.is_idempotent()
}

/// Options of [`Pool::checkout_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckoutOptions {
    /// Do not reuse an idle connection (a retry after a stale reused one).
    pub fresh: bool,
    /// Queue deadline for this checkout, overriding [`PoolConfig::queue_timeout`].
    pub queue_deadline: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnState {
    InUse,
    Idle,
}

#[derive(Debug, Clone)]
struct ConnEntry {
    key: PoolKey,
    state: ConnState,
    /// Valid while idle: when it was checked in and when it expires.
    idle_since: Instant,
    idle_expires: Instant,
}

#[derive(Debug, Clone)]
struct Waiter {
    id: WaiterId,
    key: PoolKey,
    fresh: bool,
    deadline: Option<Instant>,
}

/// The connection pool. See the [module docs](self).
#[derive(Debug)]
pub struct Pool<C> {
    config: PoolConfig,
    conns: HashMap<C, ConnEntry, FastHash>,
    /// Idle connections per key, oldest check-in first (reuse takes the newest).
    idle: HashMap<PoolKey, Vec<C>, FastHash>,
    tickets: HashMap<ConnectTicket, PoolKey, FastHash>,
    open_per_key: HashMap<PoolKey, usize, FastHash>,
    waiters: VecDeque<Waiter>,
    events: VecDeque<PoolEvent<C>>,
    next_id: u64,
    /// No idle connection expires before this (a lower bound, exact after a scan), so
    /// `handle_timeout`, called before every checkout, skips the O(idle) scan until an
    /// expiry may be due.
    idle_scan_at: Option<Instant>,
}

impl<C: Copy + Eq + Hash + fmt::Debug> Pool<C> {
    /// An empty pool.
    #[must_use]
    pub fn new(config: PoolConfig) -> Self {
        Self {
            config,
            conns: HashMap::default(),
            idle: HashMap::default(),
            tickets: HashMap::default(),
            open_per_key: HashMap::default(),
            waiters: VecDeque::new(),
            events: VecDeque::new(),
            next_id: 0,
            idle_scan_at: None,
        }
    }

    /// The pool's configuration.
    #[must_use]
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Asks for a connection to `key` (reusing an idle one if possible).
    pub fn checkout(&mut self, key: &PoolKey, now: Instant) -> Checkout<C> {
        self.checkout_with(key, now, CheckoutOptions::default())
    }

    /// [`checkout`](Self::checkout) with options.
    pub fn checkout_with(
        &mut self,
        key: &PoolKey,
        now: Instant,
        opts: CheckoutOptions,
    ) -> Checkout<C> {
        // FIFO: never overtake a queued waiter of the same key.
        if !self.waiters.iter().any(|w| w.key == *key) {
            if let Some(grant) = self.try_grant(key, opts.fresh, now) {
                return grant;
            }
        }
        let id = WaiterId(self.fresh_id());
        let deadline = opts
            .queue_deadline
            .or_else(|| self.config.queue_timeout.and_then(|t| now.checked_add(t)));
        self.waiters.push_back(Waiter {
            id,
            key: key.clone(),
            fresh: opts.fresh,
            deadline,
        });
        Checkout::Wait(id)
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Reuse an idle connection or reserve a connect slot, if possible right now.
    fn try_grant(&mut self, key: &PoolKey, fresh: bool, now: Instant) -> Option<Checkout<C>> {
        if !fresh {
            while let Some(id) = self.idle.get_mut(key).and_then(Vec::pop) {
                let Some(entry) = self.conns.get_mut(&id) else {
                    continue;
                };
                if entry.idle_expires <= now {
                    // Expired but not yet reaped by handle_timeout: never hand it out.
                    self.forget(id);
                    self.events.push_back(PoolEvent::CloseIdle(id));
                    continue;
                }
                entry.state = ConnState::InUse;
                return Some(Checkout::Reuse(id));
            }
        }
        if !self.make_room(key) {
            return None;
        }
        let ticket = ConnectTicket(self.fresh_id());
        self.tickets.insert(ticket, key.clone());
        *self.open_per_key.entry(key.clone()).or_insert(0) += 1;
        Some(Checkout::Connect(ticket))
    }

    /// Whether a new connection to `key` fits; closes one idle connection if that is
    /// what it takes (same key first for the per-host limit, oldest overall otherwise).
    fn make_room(&mut self, key: &PoolKey) -> bool {
        let per_host_full = self.config.limit_per_host > 0
            && self.open_count_for(key) >= self.config.limit_per_host;
        let total_full = self.config.limit > 0 && self.open_count() >= self.config.limit;
        if per_host_full {
            // Closing one of this key's idle connections frees both limits at once.
            let Some(id) = self.idle.get(key).and_then(|v| v.first().copied()) else {
                return false;
            };
            self.forget(id);
            self.events.push_back(PoolEvent::CloseIdle(id));
            return true;
        }
        if total_full {
            let oldest = self
                .idle
                .values()
                .filter_map(|v| v.first())
                .filter_map(|id| self.conns.get(id).map(|e| (e.idle_since, *id)))
                .min_by_key(|(since, _)| *since);
            let Some((_, id)) = oldest else { return false };
            self.forget(id);
            self.events.push_back(PoolEvent::CloseIdle(id));
        }
        true
    }

    /// Removes `id` from every table (idle list, counts).
    fn forget(&mut self, id: C) {
        let Some(entry) = self.conns.remove(&id) else {
            return;
        };
        if let Some(list) = self.idle.get_mut(&entry.key) {
            list.retain(|c| *c != id);
            if list.is_empty() {
                self.idle.remove(&entry.key);
            }
        }
        self.dec_open(&entry.key);
    }

    fn dec_open(&mut self, key: &PoolKey) {
        if let Some(n) = self.open_per_key.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.open_per_key.remove(key);
            }
        }
    }

    /// Serves queued waiters, in order, while capacity allows.
    fn serve_waiters(&mut self, now: Instant) {
        let mut blocked: Vec<PoolKey> = Vec::new();
        let mut i = 0;
        while i < self.waiters.len() {
            let key = self.waiters[i].key.clone();
            if blocked.contains(&key) {
                i += 1;
                continue;
            }
            let fresh = self.waiters[i].fresh;
            match self.try_grant(&key, fresh, now) {
                Some(checkout) => {
                    let waiter = self.waiters[i].id;
                    self.waiters.remove(i);
                    self.events
                        .push_back(PoolEvent::WaiterReady { waiter, checkout });
                }
                None => {
                    blocked.push(key);
                    i += 1;
                }
            }
        }
    }

    /// The connection for `ticket` is open and in use by the ticket's holder.
    pub fn connected(
        &mut self,
        ticket: ConnectTicket,
        id: C,
        now: Instant,
    ) -> Result<(), PoolError> {
        if self.conns.contains_key(&id) {
            return Err(PoolError::DuplicateConnection);
        }
        let key = self
            .tickets
            .remove(&ticket)
            .ok_or(PoolError::UnknownTicket)?;
        self.conns.insert(
            id,
            ConnEntry {
                key,
                state: ConnState::InUse,
                idle_since: now,
                idle_expires: now,
            },
        );
        Ok(())
    }

    /// Opening the connection for `ticket` failed (or was abandoned): the slot is freed.
    pub fn connect_failed(&mut self, ticket: ConnectTicket, now: Instant) -> Result<(), PoolError> {
        let key = self
            .tickets
            .remove(&ticket)
            .ok_or(PoolError::UnknownTicket)?;
        self.dec_open(&key);
        self.serve_waiters(now);
        Ok(())
    }

    /// The request using `id` is done. `reusable` only if the response was read to its
    /// end and both sides allow keep-alive; `keep_alive_hint` is the server's
    /// `Keep-Alive: timeout=N`, which can only shorten the idle time.
    pub fn checkin(
        &mut self,
        id: C,
        reusable: bool,
        keep_alive_hint: Option<Duration>,
        now: Instant,
    ) -> Result<(), PoolError> {
        let entry = self
            .conns
            .get_mut(&id)
            .ok_or(PoolError::UnknownConnection)?;
        if entry.state != ConnState::InUse {
            return Err(PoolError::NotInUse);
        }
        let idle_for =
            keep_alive_hint.map_or(self.config.keep_alive, |h| h.min(self.config.keep_alive));
        // A keep-alive too large for the clock is clamped to a century: still "forever".
        let expires = now
            .checked_add(idle_for)
            .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
            .unwrap_or(now);
        if reusable && !self.config.force_close && !idle_for.is_zero() && expires > now {
            entry.state = ConnState::Idle;
            entry.idle_since = now;
            entry.idle_expires = expires;
            self.idle_scan_at = Some(self.idle_scan_at.map_or(expires, |t| t.min(expires)));
            // The key's list usually exists (checkout pops, it does not remove): no
            // key clone, one hash, on the per-request path.
            match self.idle.get_mut(&entry.key) {
                Some(list) => list.push(id),
                None => {
                    self.idle.insert(entry.key.clone(), vec![id]);
                }
            }
        } else {
            self.forget(id);
            self.events.push_back(PoolEvent::Close(id));
        }
        self.serve_waiters(now);
        Ok(())
    }

    /// The checked-out `id` was dropped without a proper check-in (a cancelled request,
    /// a response not read to the end): it must be closed, and its slot is freed.
    pub fn release(&mut self, id: C, now: Instant) -> Result<(), PoolError> {
        let entry = self.conns.get(&id).ok_or(PoolError::UnknownConnection)?;
        if entry.state != ConnState::InUse {
            return Err(PoolError::NotInUse);
        }
        self.forget(id);
        self.events.push_back(PoolEvent::Close(id));
        self.serve_waiters(now);
        Ok(())
    }

    /// `id` is closed already (the server closed it, or it failed), in use or idle.
    pub fn closed(&mut self, id: C, now: Instant) -> Result<(), PoolError> {
        if !self.conns.contains_key(&id) {
            return Err(PoolError::UnknownConnection);
        }
        self.forget(id);
        self.serve_waiters(now);
        Ok(())
    }

    /// The waiter gave up. If it was already served but the event not yet polled, the
    /// grant is taken back (a reused connection goes back to idle, a connect slot is
    /// freed) and passed on. Returns whether the waiter was found.
    pub fn cancel_wait(&mut self, waiter: WaiterId, now: Instant) -> bool {
        if let Some(i) = self.waiters.iter().position(|w| w.id == waiter) {
            self.waiters.remove(i);
            // A cancelled waiter may have been what held its key's later waiters back.
            self.serve_waiters(now);
            return true;
        }
        let Some(i) = self
            .events
            .iter()
            .position(|e| matches!(e, PoolEvent::WaiterReady { waiter: w, .. } if *w == waiter))
        else {
            return false;
        };
        match self.events.remove(i) {
            Some(PoolEvent::WaiterReady {
                checkout: Checkout::Reuse(id),
                ..
            }) => {
                if let Some(entry) = self.conns.get_mut(&id) {
                    // Back to idle with its original expiry: being granted and revoked
                    // must not extend its life.
                    entry.state = ConnState::Idle;
                    let expires = entry.idle_expires;
                    self.idle_scan_at = Some(self.idle_scan_at.map_or(expires, |t| t.min(expires)));
                    let key = entry.key.clone();
                    self.idle.entry(key).or_default().push(id);
                }
            }
            Some(PoolEvent::WaiterReady {
                checkout: Checkout::Connect(ticket),
                ..
            }) => {
                if let Some(key) = self.tickets.remove(&ticket) {
                    self.dec_open(&key);
                }
            }
            _ => {}
        }
        self.serve_waiters(now);
        true
    }

    /// Closes every idle connection now (session close); in-use ones are unaffected.
    pub fn close_idle(&mut self) {
        let ids: Vec<C> = self.idle.values().flatten().copied().collect();
        for id in ids {
            self.forget(id);
            self.events.push_back(PoolEvent::CloseIdle(id));
        }
    }

    /// The next thing the caller must do, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<PoolEvent<C>> {
        self.events.pop_front()
    }

    /// The earliest idle expiry or waiter deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let idle = self
            .idle
            .values()
            .flatten()
            .filter_map(|id| self.conns.get(id).map(|e| e.idle_expires));
        let waiters = self.waiters.iter().filter_map(|w| w.deadline);
        idle.chain(waiters).min()
    }

    /// Expires idle connections and waiters whose time has come at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let idle_due = self.idle_scan_at.is_some_and(|t| t <= now);
        if !idle_due && self.waiters.is_empty() {
            // Nothing can be due: with no waiter there is nothing to serve either (every
            // input that frees capacity serves waiters at once).
            return;
        }
        if idle_due {
            let mut expired = Vec::new();
            let mut next: Option<Instant> = None;
            for id in self.idle.values().flatten() {
                let Some(e) = self.conns.get(id) else {
                    continue;
                };
                if e.idle_expires <= now {
                    expired.push(*id);
                } else {
                    next = Some(next.map_or(e.idle_expires, |t| t.min(e.idle_expires)));
                }
            }
            self.idle_scan_at = next;
            for id in expired {
                self.forget(id);
                self.events.push_back(PoolEvent::CloseIdle(id));
            }
        }
        let mut i = 0;
        while i < self.waiters.len() {
            if self.waiters[i].deadline.is_some_and(|d| d <= now) {
                let waiter = self.waiters[i].id;
                self.waiters.remove(i);
                self.events.push_back(PoolEvent::WaiterTimedOut { waiter });
            } else {
                i += 1;
            }
        }
        // Closing expired idle connections may have made room.
        self.serve_waiters(now);
    }

    /// Connections checked out (in use), not counting ones being connected.
    #[must_use]
    pub fn in_use_count(&self) -> usize {
        self.conns
            .values()
            .filter(|e| e.state == ConnState::InUse)
            .count()
    }

    /// Idle connections kept for reuse.
    #[must_use]
    pub fn idle_count(&self) -> usize {
        self.idle.values().map(Vec::len).sum()
    }

    /// Connect slots reserved by outstanding tickets.
    #[must_use]
    pub fn connecting_count(&self) -> usize {
        self.tickets.len()
    }

    /// Every open or opening connection (what `limit` bounds).
    #[must_use]
    pub fn open_count(&self) -> usize {
        self.conns.len() + self.tickets.len()
    }

    /// Open or opening connections for `key` (what `limit_per_host` bounds).
    #[must_use]
    pub fn open_count_for(&self, key: &PoolKey) -> usize {
        self.open_per_key.get(key).copied().unwrap_or(0)
    }

    /// Queued waiters.
    #[must_use]
    pub fn waiting_count(&self) -> usize {
        self.waiters.len()
    }

    /// Whether `id` is checked out.
    #[must_use]
    pub fn is_in_use(&self, id: C) -> bool {
        self.conns
            .get(&id)
            .is_some_and(|e| e.state == ConnState::InUse)
    }

    /// Whether `id` is idle in the pool.
    #[must_use]
    pub fn is_idle(&self, id: C) -> bool {
        self.conns
            .get(&id)
            .is_some_and(|e| e.state == ConnState::Idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PoolKey {
        PoolKey::from_url(&Url::parse("http://a.test/").expect("url")).expect("key")
    }

    /// Opens connection `id` (in use) at `now`.
    fn open(pool: &mut Pool<u64>, id: u64, now: Instant) {
        let Checkout::Connect(ticket) = pool.checkout(&key(), now) else {
            panic!("expected a connect slot");
        };
        pool.connected(ticket, id, now).expect("connected");
    }

    fn events(pool: &mut Pool<u64>) -> Vec<PoolEvent<u64>> {
        std::iter::from_fn(|| pool.poll_event()).collect()
    }

    // The skipped scan (`idle_scan_at`) must never hide an expiry: each connection is
    // closed exactly at its own deadline, whatever the order of check-ins and calls.
    #[test]
    #[allow(clippy::disallowed_methods)]
    fn idle_expiries_fire_on_time_with_the_scan_skipped_in_between() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut pool = Pool::new(PoolConfig::default()); // keep-alive 15 s
        open(&mut pool, 1, t0);
        open(&mut pool, 2, t0);
        pool.checkin(1, true, None, t0).expect("checkin");
        pool.checkin(2, true, None, t0 + s(5)).expect("checkin");
        for at in [s(0), s(7), s(14)] {
            pool.handle_timeout(t0 + at);
            assert!(events(&mut pool).is_empty(), "nothing due at {at:?}");
        }
        pool.handle_timeout(t0 + s(15));
        assert_eq!(events(&mut pool), vec![PoolEvent::CloseIdle(1)]);
        pool.handle_timeout(t0 + s(19));
        assert!(events(&mut pool).is_empty());
        // Reused and checked in again: its new, later expiry is the one that counts.
        assert_eq!(pool.checkout(&key(), t0 + s(19)), Checkout::Reuse(2));
        pool.checkin(2, true, None, t0 + s(19)).expect("checkin");
        pool.handle_timeout(t0 + s(20));
        assert!(events(&mut pool).is_empty(), "old expiry must not close it");
        pool.handle_timeout(t0 + s(34));
        assert_eq!(events(&mut pool), vec![PoolEvent::CloseIdle(2)]);
        assert_eq!(pool.idle_count(), 0);
        assert_eq!(pool.poll_timeout(), None);
    }
}
