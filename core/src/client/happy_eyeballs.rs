//! Happy eyeballs (RFC 8305): which address to try next, and when.
//!
//! # Theory of operation
//!
//! A host with both IPv6 and IPv4 addresses may have one family broken (a black-holed
//! v6 route is the classic). Trying addresses one by one then waits a full connect
//! timeout before the working family gets a chance. Happy eyeballs instead starts the
//! next attempt after a short *connection attempt delay* (250 ms, RFC 8305 §5) while
//! the earlier ones keep going; the first to connect wins and the others are dropped.
//!
//! This scheduler decides only *which* address and *when*; the caller owns the sockets.
//! The addresses are first interleaved by family (§4: the first address's family, then
//! the other, alternating), so a broken family costs one delay, not one per address.
//!
//! ```text
//!             new(addrs, delay, now): attempt 0 due now
//!   ┌──────────────────────────────────────────────────────────┐
//!   │ poll_start(now) ─▶ Some(i, addr) when due (and addresses  │
//!   │                    remain): next one due at now + delay   │
//!   │ handle_failed(i, now) ─▶ next one due now (§5)            │
//!   │ handle_connected(i)   ─▶ Won(i): every other attempt is   │
//!   │                          to be dropped; no more starts    │
//!   │ poll_timeout() ─▶ when the next attempt is due            │
//!   └──────── is_exhausted(): all started and all failed ───────┘
//! ```
//!
//! `delay = None` makes it sequential: the next attempt starts only when the previous
//! one failed (aiohttp's behaviour with `happy_eyeballs_delay=None`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 8305's recommended connection attempt delay.
pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Orders addresses for happy eyeballs: the first address's family first, then
/// alternating families, each family keeping the resolver's order (RFC 8305 §4).
#[must_use]
pub fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let first_v6 = first.is_ipv6();
    let mut preferred = addrs.iter().filter(|a| a.is_ipv6() == first_v6);
    let mut other = addrs.iter().filter(|a| a.is_ipv6() != first_v6);
    let mut out = Vec::with_capacity(addrs.len());
    loop {
        let (a, b) = (preferred.next(), other.next());
        if a.is_none() && b.is_none() {
            return out;
        }
        out.extend(a.copied());
        out.extend(b.copied());
    }
}

/// The happy eyeballs schedule for one connect (see the module docs).
#[derive(Debug, Clone)]
pub struct HappyEyeballs {
    addrs: Vec<SocketAddr>,
    /// Index of the next address to start.
    next: usize,
    delay: Option<Duration>,
    /// When the next attempt may start; `None`: only after a failure (sequential mode).
    next_due: Option<Instant>,
    /// Attempts started and not yet finished.
    in_flight: usize,
    /// The attempt that connected.
    winner: Option<usize>,
}

impl HappyEyeballs {
    /// A schedule over `addrs` (interleaved here), with attempts `delay` apart
    /// (`None`: one at a time). The first attempt is due at `now`.
    pub fn new(addrs: &[SocketAddr], delay: Option<Duration>, now: Instant) -> Self {
        Self {
            addrs: interleave(addrs),
            next: 0,
            delay,
            next_due: Some(now),
            in_flight: 0,
            winner: None,
        }
    }

    /// The addresses in the order they are tried.
    pub fn addresses(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The next attempt to start, if one is due at `now`: its index and address.
    /// Call until `None` after every input and when the timeout passes.
    #[must_use]
    pub fn poll_start(&mut self, now: Instant) -> Option<(usize, SocketAddr)> {
        if self.winner.is_some() || self.next >= self.addrs.len() {
            return None;
        }
        let due = self.next_due?;
        if now < due {
            return None;
        }
        let i = self.next;
        self.next += 1;
        self.in_flight += 1;
        // Sequential mode waits for a failure; otherwise the next one is due after the
        // delay, whether or not this one is still trying.
        self.next_due = self.delay.and_then(|d| now.checked_add(d));
        Some((i, self.addrs[i]))
    }

    /// When the next attempt becomes due (`None`: not on a timer).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.winner.is_some() || self.next >= self.addrs.len() {
            return None;
        }
        self.next_due
    }

    /// Attempt `i` failed: the next one is due at once (RFC 8305 §5).
    pub fn handle_failed(&mut self, i: usize, now: Instant) {
        if i >= self.next || self.winner.is_some() {
            return; // not an attempt in flight: nothing to learn
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        self.next_due = Some(now);
    }

    /// Attempt `i` connected: it wins; every other attempt is to be dropped.
    pub fn handle_connected(&mut self, i: usize) {
        if i < self.next && self.winner.is_none() {
            self.winner = Some(i);
            self.in_flight = 0;
        }
    }

    /// The attempt that connected, if any.
    #[must_use]
    pub fn winner(&self) -> Option<usize> {
        self.winner
    }

    /// Every address was tried and every attempt failed (the connect failed).
    #[must_use]
    pub fn is_exhausted(&self) -> bool {
        self.winner.is_none() && self.next >= self.addrs.len() && self.in_flight == 0
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // one Instant::now() as the virtual clock's base
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn interleaves_families_from_the_first() {
        let table: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (&["1.1.1.1:80"], &["1.1.1.1:80"]),
            (
                &["[::1]:80", "[::2]:80", "1.1.1.1:80", "2.2.2.2:80"],
                &["[::1]:80", "1.1.1.1:80", "[::2]:80", "2.2.2.2:80"],
            ),
            (
                &["1.1.1.1:80", "2.2.2.2:80", "3.3.3.3:80", "[::1]:80"],
                &["1.1.1.1:80", "[::1]:80", "2.2.2.2:80", "3.3.3.3:80"],
            ),
            (&["[::1]:80", "[::2]:80"], &["[::1]:80", "[::2]:80"]),
        ];
        for (input, want) in table {
            let input: Vec<_> = input.iter().map(|s| a(s)).collect();
            let want: Vec<_> = want.iter().map(|s| a(s)).collect();
            assert_eq!(interleave(&input), want, "{input:?}");
        }
    }

    #[test]
    fn staggered_attempts_every_delay() {
        let t0 = Instant::now();
        let d = Duration::from_millis(250);
        let addrs = [a("[::1]:1"), a("[::2]:1"), a("127.0.0.1:1")];
        let mut he = HappyEyeballs::new(&addrs, Some(d), t0);
        assert_eq!(he.poll_start(t0), Some((0, a("[::1]:1"))));
        assert_eq!(he.poll_start(t0), None, "the next waits for the delay");
        assert_eq!(he.poll_timeout(), Some(t0 + d));
        assert_eq!(he.poll_start(t0 + d - Duration::from_millis(1)), None);
        assert_eq!(he.poll_start(t0 + d), Some((1, a("127.0.0.1:1"))));
        assert_eq!(he.poll_timeout(), Some(t0 + 2 * d));
        he.handle_connected(1);
        assert_eq!(he.winner(), Some(1));
        assert_eq!(he.poll_start(t0 + 3 * d), None, "no start after a winner");
        assert_eq!(he.poll_timeout(), None);
        assert!(!he.is_exhausted());
    }

    #[test]
    fn a_failure_starts_the_next_at_once() {
        let t0 = Instant::now();
        let d = Duration::from_millis(250);
        let addrs = [a("[::1]:1"), a("127.0.0.1:1")];
        let mut he = HappyEyeballs::new(&addrs, Some(d), t0);
        assert_eq!(he.poll_start(t0), Some((0, a("[::1]:1"))));
        let t1 = t0 + Duration::from_millis(3);
        he.handle_failed(0, t1);
        assert_eq!(he.poll_timeout(), Some(t1));
        assert_eq!(he.poll_start(t1), Some((1, a("127.0.0.1:1"))));
        assert!(!he.is_exhausted(), "attempt 1 still in flight");
        he.handle_failed(1, t1);
        assert!(he.is_exhausted());
        assert_eq!(he.poll_timeout(), None);
    }

    #[test]
    fn sequential_without_delay() {
        let t0 = Instant::now();
        let addrs = [a("127.0.0.1:1"), a("127.0.0.2:1")];
        let mut he = HappyEyeballs::new(&addrs, None, t0);
        assert_eq!(he.poll_start(t0), Some((0, a("127.0.0.1:1"))));
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(he.poll_start(later), None, "waits for the failure, forever");
        assert_eq!(he.poll_timeout(), None);
        he.handle_failed(0, later);
        assert_eq!(he.poll_start(later), Some((1, a("127.0.0.2:1"))));
        he.handle_connected(1);
        assert_eq!(he.winner(), Some(1));
    }

    #[test]
    fn stray_inputs_are_ignored() {
        let t0 = Instant::now();
        let mut he = HappyEyeballs::new(&[a("127.0.0.1:1")], None, t0);
        he.handle_failed(5, t0);
        he.handle_connected(3);
        assert_eq!(he.winner(), None);
        assert!(!he.is_exhausted());
        assert_eq!(he.poll_start(t0), Some((0, a("127.0.0.1:1"))));
        he.handle_connected(0);
        he.handle_failed(0, t0); // after a win: ignored
        assert_eq!(he.winner(), Some(0));
        let empty = HappyEyeballs::new(&[], Some(DEFAULT_ATTEMPT_DELAY), t0);
        assert!(empty.is_exhausted());
    }
}
