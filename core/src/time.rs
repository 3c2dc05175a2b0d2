//! Deadlines in one place.
//!
//! Every state machine in the core keeps its timers in a [`TimerTable`]: a fixed set of
//! named slots, each either unset or holding an `Instant`. The caller learns the next
//! deadline from [`TimerTable::next_deadline`] (what `poll_timeout()` returns) and calls
//! `handle_timeout(now)` when it arrives; the state machine then asks the table which
//! slots have [`expired`](TimerTable::take_expired) at `now`. A deadline in the past is
//! acted on at once; a timer that fires early does nothing, so drivers may wake spuriously.
//!
//! The table never reads a clock: `now` is always passed in, which is what lets every
//! timeout test run on a virtual clock in microseconds.

use std::time::Instant;

/// A fixed set of timer slots indexed by a small enum `K` (`K: Into<usize>`).
#[derive(Debug, Clone)]
pub struct TimerTable<const N: usize> {
    slots: [Option<Instant>; N],
}

impl<const N: usize> Default for TimerTable<N> {
    fn default() -> Self {
        Self { slots: [None; N] }
    }
}

impl<const N: usize> TimerTable<N> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms slot `slot` to fire at `deadline`, replacing any earlier setting.
    pub fn set(&mut self, slot: usize, deadline: Instant) {
        self.slots[slot] = Some(deadline);
    }

    /// Disarms slot `slot`.
    pub fn clear(&mut self, slot: usize) {
        self.slots[slot] = None;
    }

    /// Disarms every slot.
    pub fn clear_all(&mut self) {
        self.slots = [None; N];
    }

    /// The deadline of slot `slot`, if armed.
    #[must_use]
    pub fn get(&self, slot: usize) -> Option<Instant> {
        self.slots[slot]
    }

    /// The earliest armed deadline.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.slots.iter().flatten().min().copied()
    }

    /// Whether slot `slot` is armed and its deadline is at or before `now`; if so it is
    /// disarmed, so each expiry is reported once.
    #[must_use]
    pub fn take_expired(&mut self, slot: usize, now: Instant) -> bool {
        match self.slots[slot] {
            Some(deadline) if deadline <= now => {
                self.slots[slot] = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    #[allow(clippy::disallowed_methods)] // a base for the virtual clock
    fn next_deadline_is_the_minimum_and_expiry_is_reported_once() {
        let t0 = Instant::now();
        let mut table = TimerTable::<3>::new();
        assert_eq!(table.next_deadline(), None);
        table.set(0, t0 + Duration::from_secs(30));
        table.set(2, t0 + Duration::from_secs(5));
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_secs(5)));
        assert!(!table.take_expired(2, t0 + Duration::from_secs(4)));
        assert!(table.take_expired(2, t0 + Duration::from_secs(5)));
        assert!(!table.take_expired(2, t0 + Duration::from_secs(6)));
        assert_eq!(table.next_deadline(), Some(t0 + Duration::from_secs(30)));
        table.clear(0);
        assert_eq!(table.next_deadline(), None);
    }
}
