//! [`Timer`]: a deadline, kept honest against the clock.
//!
//! The rule (DESIGN.md): *a timer that fires is re-checked against the clock; a deadline
//! in the past is acted on.* Runtime timers are coarse (tokio rounds to milliseconds,
//! others may wake spuriously), so a raw wake-up is only a hint:
//!
//! ```text
//!   poll ─▶ now >= deadline? ──yes──▶ Ready        (past deadlines never wait)
//!              │ no
//!              ▼
//!           raw timer armed for deadline ─▶ fires ─▶ now >= deadline? ─yes─▶ Ready
//!                                                       │ no: re-arm, Pending
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::Runtime;

/// A future that completes once `runtime.now() >= deadline`; see [`Runtime::sleep_until`].
///
/// It can be moved to a new deadline with [`Timer::reset`] without being rebuilt, which
/// is what a driver does after every input: sleep until the core's next deadline.
pub struct Timer<R: Runtime> {
    runtime: R,
    deadline: Instant,
    /// Armed lazily: a timer whose deadline has passed never touches the runtime.
    raw: Option<R::RawTimer>,
}

// Nothing in a Timer is structurally pinned (the raw timer is `Unpin`), so it may move.
impl<R: Runtime> Unpin for Timer<R> {}

impl<R: Runtime> Timer<R> {
    pub(crate) fn new(runtime: R, deadline: Instant) -> Self {
        Timer {
            runtime,
            deadline,
            raw: None,
        }
    }

    /// The instant this timer completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline (earlier or later); the timer can be polled again even after
    /// it completed.
    pub fn reset(&mut self, deadline: Instant) {
        self.deadline = deadline;
        if let Some(raw) = &mut self.raw {
            self.runtime.reset_raw_timer(raw, deadline);
        }
    }
}

impl<R: Runtime> Future for Timer<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.runtime.now() >= this.deadline {
            return Poll::Ready(());
        }
        let raw = match &mut this.raw {
            Some(raw) => raw,
            None => this.raw.insert(this.runtime.raw_timer(this.deadline)),
        };
        if Pin::new(&mut *raw).poll(cx).is_pending() {
            return Poll::Pending;
        }
        if this.runtime.now() >= this.deadline {
            return Poll::Ready(());
        }
        // Woken early: re-arm. If the re-armed timer is (wrongly) ready at once too, yield
        // to the executor rather than spin here, so a bad timer costs polls, not a thread.
        this.runtime.reset_raw_timer(raw, this.deadline);
        if Pin::new(&mut *raw).poll(cx).is_ready() {
            // Dropped, not kept: a completed future must not be polled again.
            this.raw = None;
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
