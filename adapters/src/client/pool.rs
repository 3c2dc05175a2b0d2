//! The session's pool: the core [`Pool`] decides, this file owns the idle sockets and
//! wakes the requests queued for a slot.
//!
//! # Theory of operation
//!
//! ```text
//!  acquire ──checkout──▶ Reuse(id) ─▶ take the idle Connection ─────────────┐
//!     │                  Connect(t) ─▶ open socket (guard: connect_failed) ─┤─▶ Lease
//!     │                  Wait(w) ───▶ park; woken by WaiterReady / timer ───┘
//!  Lease ── checkin(reusable) ─▶ idle map (or closed by a Close event)
//!        ── drop without checkin ─▶ release: the socket is closed, never reused
//! ```
//!
//! Every pool call is followed by `drain`, which acts on the core's events at once:
//! waiters are woken, `Close`/`CloseIdle` connections are dropped (closing the socket).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::Duration;

use sansweb_core::client::{
    Checkout, CheckoutOptions, ConnectTicket, Pool, PoolConfig, PoolEvent, PoolKey, RequestTimers,
    WaiterId,
};
use sansweb_core::h1::Config;

use super::connection::{open_stream, with_timers, Connection};
use super::dns::{Dns, DnsConfig};
use super::error::ClientError;
use super::trace::{TraceEvent, Tracer};
use crate::rt::Runtime;

enum WaiterOutcome {
    Ready(Checkout<u64>),
    TimedOut,
}

#[derive(Default)]
struct WaiterSlot {
    waker: Option<Waker>,
    outcome: Option<WaiterOutcome>,
}

/// The maps' hasher: rustc's FxHash, not SipHash (~290 instructions a request, callgrind,
/// 50 concurrent requests). Unkeyed is safe here: the keys are connection ids and waiter
/// ids this process counts up, never chosen by a peer.
type FastHash = rustc_hash::FxBuildHasher;

struct State<R: Runtime> {
    pool: Pool<u64>,
    /// Boxed: a connection moves between the map and leases on every request, and a
    /// pointer is cheaper to move than the ~600-byte state.
    idle: HashMap<u64, Box<Connection<R>>, FastHash>,
    waiters: HashMap<WaiterId, WaiterSlot, FastHash>,
    next_id: u64,
}

impl<R: Runtime> State<R> {
    fn drain(&mut self) {
        while let Some(event) = self.pool.poll_event() {
            match event {
                PoolEvent::WaiterReady { waiter, checkout } => {
                    self.wake(waiter, WaiterOutcome::Ready(checkout))
                }
                PoolEvent::WaiterTimedOut { waiter } => self.wake(waiter, WaiterOutcome::TimedOut),
                PoolEvent::CloseIdle(id) | PoolEvent::Close(id) => {
                    // Dropping the connection closes its socket.
                    self.idle.remove(&id);
                }
            }
        }
    }

    fn wake(&mut self, waiter: WaiterId, outcome: WaiterOutcome) {
        if let Some(slot) = self.waiters.get_mut(&waiter) {
            slot.outcome = Some(outcome);
            if let Some(w) = slot.waker.take() {
                w.wake();
            }
        }
    }
}

/// Shared pool state of a session.
pub(crate) struct SessionPool<R: Runtime> {
    state: Mutex<State<R>>,
    rt: R,
    h1: Config,
    pub(crate) tls: Option<Arc<rustls::ClientConfig>>,
    pub(crate) tracer: Tracer,
    /// Every connection goes to this Unix socket (aiohttp's `UnixConnector`).
    pub(crate) unix: Option<std::path::PathBuf>,
    pub(crate) dns: Dns,
    /// Replaces TCP/proxy/TLS when set (`ClientSessionBuilder::connector`).
    pub(crate) connector: Option<Arc<dyn super::connector::Connect>>,
    /// Leases out right now (requests on the wire), counted without the lock: a request
    /// about to write asks whether others are in flight (see `RequestBuilder`'s
    /// `send_and_wait`).
    leased: AtomicUsize,
}

impl<R: Runtime> SessionPool<R> {
    pub(crate) fn new(
        rt: R,
        config: PoolConfig,
        tls: Option<Arc<rustls::ClientConfig>>,
        tracer: Tracer,
        unix: Option<std::path::PathBuf>,
        dns: DnsConfig,
        connector: Option<Arc<dyn super::connector::Connect>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                pool: Pool::new(config),
                idle: HashMap::default(),
                waiters: HashMap::default(),
                next_id: 0,
            }),
            rt,
            h1: Config::client(),
            tls,
            tracer,
            unix,
            dns: Dns::new(dns),
            connector,
            leased: AtomicUsize::new(0),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State<R>> {
        // A panic elsewhere while holding the lock leaves counts that are still
        // consistent (every method finishes its pool update before anything can panic).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether another request than the caller's holds a connection now.
    pub(crate) fn others_leased(&self) -> bool {
        self.leased.load(Ordering::Relaxed) > 1
    }

    /// Open connections (in use, idle, connecting).
    pub(crate) fn open_count(&self) -> usize {
        self.lock().pool.open_count()
    }

    /// Idle connections kept for reuse.
    pub(crate) fn idle_count(&self) -> usize {
        self.lock().pool.idle_count()
    }

    /// Closes every idle connection.
    pub(crate) fn close_idle(&self) {
        let mut st = self.lock();
        st.pool.close_idle();
        st.drain();
    }

    /// Gets a connection for `key`: reused, new, or after waiting for a slot.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        key: &PoolKey,
        fresh: bool,
        timers: &mut RequestTimers,
    ) -> Result<Lease<R>, ClientError> {
        loop {
            let now = self.rt.now();
            let checkout = {
                let mut st = self.lock();
                st.pool.handle_timeout(now);
                st.drain();
                let c = st.pool.checkout_with(
                    key,
                    now,
                    CheckoutOptions {
                        fresh,
                        queue_deadline: None,
                    },
                );
                st.drain();
                c
            };
            let checkout = match checkout {
                Checkout::Wait(waiter) => {
                    timers.handle_queued(now);
                    self.tracer.emit(TraceEvent::ConnectionQueuedStart);
                    self.lock().waiters.insert(waiter, WaiterSlot::default());
                    let mut guard = WaitGuard {
                        pool: self,
                        waiter: Some(waiter),
                    };
                    let outcome = with_timers(&self.rt, timers, false, guard.wait(waiter)).await?;
                    guard.waiter = None;
                    self.tracer.emit(TraceEvent::ConnectionQueuedEnd);
                    match outcome {
                        WaiterOutcome::Ready(c) => c,
                        WaiterOutcome::TimedOut => {
                            return Err(ClientError::Timeout {
                                kind: sansweb_core::client::TimeoutKind::PoolQueue,
                                request_sent: false,
                            })
                        }
                    }
                }
                other => other,
            };
            match checkout {
                Checkout::Reuse(id) => {
                    let conn = self.lock().idle.remove(&id);
                    match conn {
                        Some(mut conn) if conn.conn.is_reusable() => {
                            conn.reused = true;
                            conn.bytes_seen = false;
                            self.tracer.emit(TraceEvent::ConnectionReuse);
                            return Ok(Lease::new(self.clone(), conn));
                        }
                        _ => {
                            // Went bad while idle: forget it and ask again.
                            let mut st = self.lock();
                            let _ = st.pool.closed(id, now);
                            st.drain();
                        }
                    }
                }
                // Boxed: opening a connection (DNS, happy eyeballs, proxy, TLS) is a
                // future of kilobytes, and every request's future would otherwise carry
                // (and move) that much, though only a few ever connect.
                Checkout::Connect(ticket) => {
                    return Box::pin(self.connect(key, ticket, timers)).await
                }
                Checkout::Wait(_) => {
                    return Err(ClientError::Request(
                        "pool granted a wait to a waiter".into(),
                    ))
                }
            }
        }
    }

    async fn connect(
        self: &Arc<Self>,
        key: &PoolKey,
        ticket: ConnectTicket,
        timers: &mut RequestTimers,
    ) -> Result<Lease<R>, ClientError> {
        let mut guard = TicketGuard {
            pool: self,
            ticket: Some(ticket),
        };
        timers.handle_connecting(self.rt.now());
        self.tracer.emit(TraceEvent::ConnectionCreateStart);
        let stream = with_timers(
            &self.rt,
            timers,
            false,
            open_stream(
                &self.rt,
                key,
                self.tls.as_ref(),
                &self.tracer,
                self.unix.as_deref(),
                &self.dns,
                self.connector.as_deref(),
            ),
        )
        .await??;
        let mut st = self.lock();
        st.next_id += 1;
        let id = st.next_id;
        guard.ticket = None;
        st.pool
            .connected(ticket, id, self.rt.now())
            .map_err(|e| ClientError::Request(e.to_string()))?;
        drop(st);
        let conn = Box::new(Connection::new(
            id,
            stream,
            self.rt.clone(),
            self.h1.clone(),
        ));
        timers.handle_connected(self.rt.now());
        self.tracer.emit(TraceEvent::ConnectionCreateEnd);
        Ok(Lease::new(self.clone(), conn))
    }
}

/// Gives the connect slot back if the connect is abandoned or fails.
struct TicketGuard<'a, R: Runtime> {
    pool: &'a Arc<SessionPool<R>>,
    ticket: Option<ConnectTicket>,
}

impl<R: Runtime> Drop for TicketGuard<'_, R> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            let now = self.pool.rt.now();
            let mut st = self.pool.lock();
            let _ = st.pool.connect_failed(t, now);
            st.drain();
        }
    }
}

/// Leaves the queue if the waiting request is dropped or times out.
struct WaitGuard<'a, R: Runtime> {
    pool: &'a Arc<SessionPool<R>>,
    waiter: Option<WaiterId>,
}

impl<R: Runtime> WaitGuard<'_, R> {
    async fn wait(&self, waiter: WaiterId) -> WaiterOutcome {
        std::future::poll_fn(|cx| {
            let mut st = self.pool.lock();
            let Some(slot) = st.waiters.get_mut(&waiter) else {
                return Poll::Ready(WaiterOutcome::TimedOut);
            };
            match slot.outcome.take() {
                Some(outcome) => {
                    st.waiters.remove(&waiter);
                    Poll::Ready(outcome)
                }
                None => {
                    slot.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl<R: Runtime> Drop for WaitGuard<'_, R> {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            let now = self.pool.rt.now();
            let mut st = self.pool.lock();
            let served = st.waiters.remove(&waiter).and_then(|s| s.outcome);
            match served {
                // Served but not taken: give the grant back.
                Some(WaiterOutcome::Ready(Checkout::Reuse(id))) => {
                    let _ = st.pool.checkin(id, true, None, now);
                }
                Some(WaiterOutcome::Ready(Checkout::Connect(t))) => {
                    let _ = st.pool.connect_failed(t, now);
                }
                _ => {
                    st.pool.cancel_wait(waiter, now);
                }
            }
            st.drain();
        }
    }
}

/// A checked-out connection. Dropping it without [`Lease::checkin`] closes the socket
/// and frees its slot: a half-read response is never reused.
pub(crate) struct Lease<R: Runtime> {
    pool: Arc<SessionPool<R>>,
    conn: Option<Box<Connection<R>>>,
}

impl<R: Runtime> Lease<R> {
    fn new(pool: Arc<SessionPool<R>>, conn: Box<Connection<R>>) -> Self {
        pool.leased.fetch_add(1, Ordering::Relaxed);
        Self {
            pool,
            conn: Some(conn),
        }
    }

    /// The connection (always present until check-in or drop).
    pub(crate) fn conn(&mut self) -> &mut Connection<R> {
        self.conn
            .as_mut()
            .unwrap_or_else(|| unreachable!("lease used after check-in"))
    }

    /// The response was read to its end: back to the pool if the core says the
    /// connection can carry another request.
    pub(crate) fn checkin(mut self, keep_alive_hint: Option<Duration>) {
        let Some(conn) = self.conn.take() else { return };
        self.pool.leased.fetch_sub(1, Ordering::Relaxed);
        let now = self.pool.rt.now();
        let reusable = conn.conn.is_reusable();
        let mut st = self.pool.lock();
        let id = conn.id;
        if reusable {
            st.idle.insert(id, conn);
        }
        if st.pool.checkin(id, reusable, keep_alive_hint, now).is_err() {
            st.idle.remove(&id);
        }
        st.drain();
    }
}

impl<R: Runtime> Drop for Lease<R> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.leased.fetch_sub(1, Ordering::Relaxed);
            let now = self.pool.rt.now();
            let mut st = self.pool.lock();
            let _ = st.pool.release(conn.id, now);
            st.drain();
            drop(st);
            drop(conn);
        }
    }
}

#[cfg(all(test, feature = "runtime-tokio"))]
mod tests {
    use super::*;
    use crate::rt::TokioRuntime;

    fn lease(pool: &Arc<SessionPool<TokioRuntime>>, id: u64) -> Lease<TokioRuntime> {
        let stream: super::super::connection::BoxStream =
            Box::new(futures_lite::io::Cursor::new(Vec::new()));
        let conn = Connection::new(id, stream, pool.rt.clone(), Config::client());
        Lease::new(pool.clone(), Box::new(conn))
    }

    /// The in-flight count behind `others_leased` (which makes a request yield before its
    /// write) follows leases through check-in and drop, once each.
    #[test]
    fn leased_count_follows_checkin_and_drop() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let rt = TokioRuntime::from_handle(runtime.handle().clone());
        let pool = SessionPool::new(
            rt,
            PoolConfig::default(),
            None,
            Tracer::default(),
            None,
            DnsConfig::default(),
            None,
        );
        assert!(!pool.others_leased());
        let a = lease(&pool, 1);
        assert!(!pool.others_leased(), "one lease: no other request");
        let b = lease(&pool, 2);
        assert!(pool.others_leased());
        a.checkin(None);
        assert!(!pool.others_leased());
        let c = lease(&pool, 3);
        assert!(pool.others_leased());
        drop(b);
        drop(c);
        assert_eq!(pool.leased.load(Ordering::Relaxed), 0);
    }
}
