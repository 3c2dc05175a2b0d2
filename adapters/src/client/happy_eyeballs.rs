//! Connecting to one of several addresses: the core's happy eyeballs schedule
//! ([`sansweb_core::client::HappyEyeballs`]) run against real connect futures.
//!
//! # Theory of operation
//!
//! ```text
//!   loop (one poll_fn):
//!     start every attempt the schedule says is due (runtime connect, boxed)
//!     poll each attempt ── Ok ─▶ return it; the others are dropped with this future
//!                       └─ Err ─▶ schedule.handle_failed (the next is due at once)
//!     all failed ─▶ the last error
//!     sleep until the schedule's next due time (if any), else wait for the attempts
//! ```
//!
//! Dropping a losing connect future closes its socket (every runtime's connect owns
//! its socket until it resolves), so nothing lingers after the winner is picked.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use sansweb_core::client::HappyEyeballs;

use crate::rt::{Runtime, Timer};

/// How resolved addresses are connected (aiohttp's `happy_eyeballs_delay` and
/// `local_addr`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectOptions {
    /// Delay between staggered attempts; `None`: one address at a time.
    pub(crate) happy_eyeballs_delay: Option<Duration>,
    /// Bind the client socket to this local IP before connecting.
    pub(crate) local_addr: Option<IpAddr>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            happy_eyeballs_delay: Some(sansweb_core::client::DEFAULT_ATTEMPT_DELAY),
            local_addr: None,
        }
    }
}

type Attempt<S> = Pin<Box<dyn Future<Output = io::Result<S>> + Send>>;

/// Connects to the first of `addrs` that answers, per the happy eyeballs schedule.
pub(crate) async fn connect<R: Runtime>(
    rt: &R,
    addrs: &[SocketAddr],
    options: ConnectOptions,
) -> io::Result<R::TcpStream> {
    let mut schedule = HappyEyeballs::new(addrs, options.happy_eyeballs_delay, rt.now());
    let mut attempts: Vec<(usize, Attempt<R::TcpStream>)> = Vec::new();
    let mut timer: Option<Timer<R>> = None;
    let mut last_error: Option<io::Error> = None;
    std::future::poll_fn(|cx| loop {
        let now = rt.now();
        while let Some((i, addr)) = schedule.poll_start(now) {
            let attempt: Attempt<R::TcpStream> = match options.local_addr {
                // A local address of the other family cannot reach this one: that
                // attempt fails at once and the schedule moves on.
                Some(local) => Box::pin(rt.connect_tcp_from(addr, local)),
                None => Box::pin(rt.connect_tcp(addr)),
            };
            attempts.push((i, attempt));
        }
        let mut failed = false;
        let mut k = 0;
        while k < attempts.len() {
            let (i, attempt) = &mut attempts[k];
            match attempt.as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => {
                    schedule.handle_connected(*i);
                    attempts.clear(); // the losers, dropped now
                    return Poll::Ready(Ok(stream));
                }
                Poll::Ready(Err(e)) => {
                    schedule.handle_failed(*i, rt.now());
                    last_error = Some(e);
                    drop(attempts.swap_remove(k));
                    failed = true;
                }
                Poll::Pending => k += 1,
            }
        }
        if schedule.is_exhausted() {
            return Poll::Ready(Err(last_error
                .take()
                .unwrap_or_else(|| io::Error::other("no address to connect to"))));
        }
        if failed {
            continue; // the next attempt is due now
        }
        let Some(due) = schedule.poll_timeout() else {
            return Poll::Pending;
        };
        let t = timer.get_or_insert_with(|| rt.sleep_until(due));
        if t.deadline() != due {
            t.reset(due);
        }
        if Pin::new(t).poll(cx).is_pending() {
            return Poll::Pending;
        }
    })
    .await
}
