//! [`VirtualClockRuntime`]: any runtime, with its clock and timers replaced by a
//! [`VirtualClock`] that only moves when a test advances it.
//!
//! # Theory of operation
//!
//! sansweb reads time in exactly two places: [`Runtime::now`] and the timers armed with
//! [`Runtime::raw_timer`] (every deadline — client timeouts, pool keep-alive, DNS TTL,
//! server head/idle timeouts, mock delays — goes through [`Runtime::sleep_until`], which
//! uses both). The wrapper keeps the inner runtime for everything else (spawning,
//! sockets, resolving) and answers those two from the virtual clock:
//!
//! ```text
//!   now()            ──▶ VirtualClock::now()            (base Instant + advanced offset)
//!   raw_timer(t)     ──▶ VirtualTimer { t }: Ready once the virtual now ≥ t, else parks
//!                         its waker in the clock's table
//!   clock.advance(d) ──▶ now += d; wakes every parked timer whose deadline is reached
//! ```
//!
//! So a 30-second `sock_read` timeout fires as soon as the test advances the clock,
//! after microseconds of real time, on tokio, smol and async-std alike: the switch is
//! at sansweb's [`Runtime`] trait, not inside the runtime, so no runtime's own support
//! (such as tokio's paused time) is needed.
//!
//! Where it does not reach, and why:
//! - Wall-clock reads: cookie expiry (`client/request.rs`, `SystemTime::now()` passed to
//!   the core's cookie jar) and the server's `Date` header (`web/conn.rs`) use the system
//!   wall clock, which this wrapper cannot move; a cookie's `Max-Age` still counts real
//!   seconds.
//! - Real sockets: a connect or read over TCP takes real time whatever the clock says;
//!   use it with [`MockServer`](super::MockServer) or [`MemoryServer`](super::MemoryServer)
//!   for fully virtual tests.
//! - Code outside sansweb that arms the runtime's own timers (`tokio::time::sleep` in
//!   a handler) follows real time; handlers should use `Request::sleep`/the runtime
//!   handle they are given.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::rt::{BoxFuture, Runtime};

#[derive(Debug)]
struct ClockState {
    now: Instant,
    next_id: u64,
    /// Parked timers: id → (deadline, waker).
    timers: HashMap<u64, (Instant, Waker)>,
}

/// A manually advanced clock, shared by clones.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    state: Arc<Mutex<ClockState>>,
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtualClock {
    /// A clock starting at the real now (its only real clock read).
    #[allow(clippy::disallowed_methods)]
    pub fn new() -> Self {
        Self::starting_at(Instant::now())
    }

    /// A clock starting at `start`.
    pub fn starting_at(start: Instant) -> Self {
        Self {
            state: Arc::new(Mutex::new(ClockState {
                now: start,
                next_id: 0,
                timers: HashMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The virtual now.
    pub fn now(&self) -> Instant {
        self.lock().now
    }

    /// Moves the clock forward by `by` and wakes the timers that are now due.
    pub fn advance(&self, by: Duration) {
        let due: Vec<Waker> = {
            let mut st = self.lock();
            st.now += by;
            let now = st.now;
            let ids: Vec<u64> = st
                .timers
                .iter()
                .filter(|(_, (deadline, _))| *deadline <= now)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| st.timers.remove(&id).map(|(_, w)| w))
                .collect()
        };
        // Woken outside the lock: a woken task may read the clock at once.
        for w in due {
            w.wake();
        }
    }

    /// Moves the clock to the earliest parked timer's deadline (if it is in the
    /// future) and wakes it; returns that deadline, or `None` when no timer is parked.
    pub fn advance_to_next_timer(&self) -> Option<Instant> {
        let (now, next) = {
            let st = self.lock();
            (st.now, st.timers.values().map(|(d, _)| *d).min()?)
        };
        self.advance(next.saturating_duration_since(now));
        Some(next)
    }

    /// Timers parked now (armed, not yet due).
    pub fn parked_timers(&self) -> usize {
        self.lock().timers.len()
    }
}

/// A timer of a [`VirtualClock`]: ready once the virtual now reaches its deadline.
#[derive(Debug)]
pub struct VirtualTimer {
    clock: VirtualClock,
    deadline: Instant,
    id: Option<u64>,
}

impl Future for VirtualTimer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut st = this.clock.lock();
        if st.now >= this.deadline {
            if let Some(id) = this.id.take() {
                st.timers.remove(&id);
            }
            return Poll::Ready(());
        }
        let id = *this.id.get_or_insert_with(|| {
            st.next_id += 1;
            st.next_id
        });
        st.timers.insert(id, (this.deadline, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for VirtualTimer {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.clock.lock().timers.remove(&id);
        }
    }
}

/// Runtime `R` with a [`VirtualClock`] for its clock and timers (see the module doc).
#[derive(Clone)]
pub struct VirtualClockRuntime<R: Runtime> {
    inner: R,
    clock: VirtualClock,
}

impl<R: Runtime> VirtualClockRuntime<R> {
    /// Wraps `inner`; time is `clock`'s.
    pub fn new(inner: R, clock: VirtualClock) -> Self {
        Self { inner, clock }
    }

    /// The clock to advance.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// The wrapped runtime (real time).
    pub fn inner(&self) -> &R {
        &self.inner
    }
}

impl<R: Runtime> Runtime for VirtualClockRuntime<R> {
    type TcpStream = R::TcpStream;
    type TcpListener = R::TcpListener;
    #[cfg(unix)]
    type UnixStream = R::UnixStream;
    #[cfg(unix)]
    type UnixListener = R::UnixListener;
    type RawTimer = VirtualTimer;

    fn spawn_boxed(&self, future: BoxFuture) {
        self.inner.spawn_boxed(future);
    }

    fn raw_timer(&self, deadline: Instant) -> VirtualTimer {
        VirtualTimer {
            clock: self.clock.clone(),
            deadline,
            id: None,
        }
    }

    fn reset_raw_timer(&self, timer: &mut VirtualTimer, deadline: Instant) {
        // Keeps its slot in the table; the next poll re-parks it with the new deadline.
        timer.deadline = deadline;
    }

    fn connect_tcp(
        &self,
        addr: SocketAddr,
    ) -> impl Future<Output = io::Result<Self::TcpStream>> + Send + 'static {
        self.inner.connect_tcp(addr)
    }

    fn tcp_listener_from_std(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Self::TcpListener> {
        self.inner.tcp_listener_from_std(listener)
    }

    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static {
        self.inner.resolve(host, port)
    }

    #[cfg(unix)]
    fn connect_unix(
        &self,
        path: &std::path::Path,
    ) -> impl Future<Output = io::Result<Self::UnixStream>> + Send + 'static {
        self.inner.connect_unix(path)
    }

    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        listener: std::os::unix::net::UnixListener,
    ) -> io::Result<Self::UnixListener> {
        self.inner.unix_listener_from_std(listener)
    }

    fn block_on<F, Fut>(f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        R::block_on(|rt| f(Self::new(rt, VirtualClock::new())))
    }

    fn block_on_multi_thread<F, Fut>(workers: usize, f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future,
    {
        R::block_on_multi_thread(workers, |rt| f(Self::new(rt, VirtualClock::new())))
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_once};

    #[test]
    fn a_timer_completes_only_when_the_clock_reaches_it() {
        let clock = VirtualClock::new();
        let start = clock.now();
        block_on(async {
            let mut t = VirtualTimer {
                clock: clock.clone(),
                deadline: start + Duration::from_secs(30),
                id: None,
            };
            assert!(poll_once(&mut t).await.is_none());
            assert_eq!(clock.parked_timers(), 1);
            clock.advance(Duration::from_secs(29));
            assert!(poll_once(&mut t).await.is_none());
            assert_eq!(
                clock.advance_to_next_timer(),
                Some(start + Duration::from_secs(30))
            );
            assert!(poll_once(&mut t).await.is_some());
            assert_eq!(clock.parked_timers(), 0);
        });
    }

    #[test]
    fn a_dropped_timer_leaves_the_table() {
        let clock = VirtualClock::new();
        block_on(async {
            let mut t = VirtualTimer {
                clock: clock.clone(),
                deadline: clock.now() + Duration::from_secs(1),
                id: None,
            };
            assert!(poll_once(&mut t).await.is_none());
            drop(t);
            assert_eq!(clock.parked_timers(), 0);
            assert_eq!(clock.advance_to_next_timer(), None);
        });
    }
}
