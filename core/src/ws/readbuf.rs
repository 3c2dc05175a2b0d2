//! The connection's read buffer: bytes from the transport, parsed and unmasked in place,
//! handed out as `Bytes` without a copy.
//!
//! # Theory of operation
//!
//! The driver may read straight into this buffer ([`WebSocket::input_buffer`] then
//! [`WebSocket::handle_read`]) instead of reading into its own and having the core copy
//! (`handle_input`). The core forbids `unsafe`, so it cannot lend out uninitialized
//! capacity; instead `buf.len()` is the *initialized* part and `filled` the part that
//! holds data:
//!
//! ```text
//!   buf: [ data (parsed, unmasked in place) | spare, initialized, lent for reads | capacity ]
//!          0 ........................ filled ............................ buf.len()
//! ```
//!
//! Spare bytes are zeroed once, when the buffer grows, never per read. A complete frame's
//! payload is split off the front (`split_to` + `freeze`): the message shares the
//! allocation, and the remainder keeps the spare for the next reads.
//!
//! Growth reuses the allocation when no message handed out still shares it, and otherwise
//! moves the `filled` bytes to a new one, so memory held by a message already handed to
//! the user is not kept alive by the buffer longer than needed.
//!
//! # Recycling large payloads
//!
//! Zeroing the room of a megabyte frame costs a pass over a megabyte (and fresh pages
//! fault in one by one), for every such message. So the buffer keeps a `Bytes` clone of
//! the last [`RECYCLE_SLOTS`] large payloads it handed out ([`split_frozen`]). Once the
//! user has dropped one (the clone is the only owner left), growth takes it back
//! (`Bytes::try_into_mut`): its bytes are initialized already, so nothing is zeroed. Three
//! slots, because an echo can hold two messages in its send queue (the adapters let a
//! sender queue while up to `SEND_HIGH_WATER`, 1 MiB, is unwritten, and the kernel takes
//! only 64 KiB unsent at a time, see `TCP_NOTSENT_LOWAT` there) while the next arrives;
//! with two slots every 1 MiB echo zeroed a fresh buffer (memset: 6% of a server's CPU,
//! perf). The connection drops the slots when it has not used them for a while
//! ([`drop_recycled`]), so an idle connection holds no buffer.
//!
//! ```text
//!   split_frozen(big) ──clone──▶ slots [oldest, .., newest]  (a fourth evicts the oldest)
//!   growth: a slot the user let go of (unique) ──try_into_mut──▶ the new buffer
//! ```
//!
//! [`split_frozen`]: ReadBuf::split_frozen
//! [`drop_recycled`]: ReadBuf::drop_recycled
//!
//! [`WebSocket::input_buffer`]: super::WebSocket::input_buffer
//! [`WebSocket::handle_read`]: super::WebSocket::handle_read

use bytes::{Buf, Bytes, BytesMut};

/// Payloads at least this long are kept for recycling; smaller ones fit the regular
/// read room, which is not zeroed again once it exists.
pub(crate) const RECYCLE_MIN: usize = 64 * 1024;
/// How many large payloads are kept for recycling.
pub(crate) const RECYCLE_SLOTS: usize = 3;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    buf: BytesMut,
    filled: usize,
    /// Large payloads handed out, oldest first (see the module docs).
    recycle: Vec<Bytes>,
    /// A payload was kept or taken back since the last [`take_activity`](Self::take_activity).
    recycle_active: bool,
}

impl ReadBuf {
    /// Bytes held (read but not consumed).
    pub(crate) fn len(&self) -> usize {
        self.filled
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Initialized bytes beyond the data, ready to be read into.
    pub(crate) fn spare_len(&self) -> usize {
        self.buf.len() - self.filled
    }

    /// The data.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.filled]
    }

    /// The data, for unmasking in place.
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.filled]
    }

    /// Drops the first `n` bytes of data.
    pub(crate) fn advance(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.buf.advance(n);
        self.filled -= n;
    }

    /// Takes the first `n` bytes of data out (no copy: they share the allocation).
    pub(crate) fn split_to(&mut self, n: usize) -> BytesMut {
        let n = n.min(self.filled);
        self.filled -= n;
        self.buf.split_to(n)
    }

    /// Takes the first `n` bytes of data out as a message, keeping a clone of a large one
    /// to take its memory back once the user drops it (see the module docs).
    #[inline]
    pub(crate) fn split_frozen(&mut self, n: usize) -> Bytes {
        let bytes = self.split_to(n).freeze();
        if bytes.len() >= RECYCLE_MIN {
            self.keep(&bytes);
        }
        bytes
    }

    /// Out of line: small messages, the common case, pay only the length check.
    #[cold]
    #[inline(never)]
    fn keep(&mut self, bytes: &Bytes) {
        if self.recycle.len() == RECYCLE_SLOTS {
            self.recycle.remove(0);
        }
        self.recycle.push(bytes.clone());
        self.recycle_active = true;
    }

    /// A kept payload nobody else holds any more, with room for `target` bytes, as a
    /// buffer whose `len()` bytes are initialized. Unique ones too small are let go.
    fn take_recycled(&mut self, target: usize) -> Option<BytesMut> {
        while let Some(i) = self.recycle.iter().position(Bytes::is_unique) {
            if let Ok(buf) = self.recycle.remove(i).try_into_mut() {
                if buf.capacity() >= target {
                    self.recycle_active = true;
                    return Some(buf);
                }
            }
        }
        None
    }

    /// Whether payloads are kept for recycling.
    pub(crate) fn has_recycled(&self) -> bool {
        !self.recycle.is_empty()
    }

    /// Whether a payload was kept or taken back since the last call.
    pub(crate) fn take_activity(&mut self) -> bool {
        std::mem::take(&mut self.recycle_active)
    }

    /// Lets the kept payloads go (the connection is idle, or over).
    pub(crate) fn drop_recycled(&mut self) {
        self.recycle = Vec::new();
        self.recycle_active = false;
    }

    /// Makes at least `min` spare bytes available (growing to `want` spare bytes when it
    /// must grow) and lends them. Write from the start, then [`commit`](Self::commit).
    pub(crate) fn spare_mut(&mut self, min: usize, want: usize) -> &mut [u8] {
        if self.spare_len() < min {
            let target = self.filled + want.max(min);
            if self.buf.capacity() >= target {
                // Zeroes only the extension; no reallocation.
                self.buf.resize(target, 0);
            } else if let Some(mut fresh) = self.take_recycled(target) {
                // Initialized already: only the data is copied, nothing is zeroed
                // (unless the old payload was shorter than `target`: then the rest).
                let filled = self.filled;
                if fresh.len() < filled {
                    fresh.resize(filled, 0);
                }
                fresh[..filled].copy_from_slice(&self.buf[..filled]);
                if fresh.len() < target {
                    fresh.resize(target, 0);
                }
                self.buf = fresh;
            } else {
                // `reserve` takes the allocation back when every message split off it
                // has been dropped (moving the data to the front), and otherwise moves
                // the data to a new one, letting go of the shared one. Reusing it saves
                // a large buffer's fresh pages (a page fault each, and a munmap when freed):
                // more than the memset of the reused room costs.
                self.buf.truncate(self.filled);
                self.buf.reserve(target - self.filled);
                self.buf.resize(target, 0);
            }
        }
        &mut self.buf[self.filled..]
    }

    /// `n` bytes were written at the start of the slice [`spare_mut`](Self::spare_mut) lent.
    pub(crate) fn commit(&mut self, n: usize) {
        self.filled += n.min(self.spare_len());
    }

    /// Copies `data` in (the path for drivers that read into their own buffer).
    pub(crate) fn extend_from_slice(&mut self, data: &[u8], want: usize) {
        // At least double on growth, so a stream of tiny inputs costs O(n) copying.
        let want = want.max(self.filled);
        self.spare_mut(data.len(), want)[..data.len()].copy_from_slice(data);
        self.commit(data.len());
    }

    /// Releases the buffer (nothing buffered; the next read allocates or recycles).
    /// Kept payloads stay: see [`drop_recycled`](Self::drop_recycled).
    pub(crate) fn release(&mut self) {
        self.buf = BytesMut::new();
        self.filled = 0;
    }

    /// Releases all memory, kept payloads too (nothing more will be read).
    pub(crate) fn release_all(&mut self) {
        *self = ReadBuf::default();
    }

    /// Bytes the allocation behind the buffer can hold from the data's start.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commit_and_split_without_losing_bytes() {
        let mut b = ReadBuf::default();
        let spare = b.spare_mut(4, 16);
        assert_eq!(spare.len(), 16);
        spare[..5].copy_from_slice(b"hello");
        b.commit(5);
        assert_eq!(b.data(), b"hello");
        assert_eq!(b.spare_len(), 11);
        // Enough spare: no growth, the lent slice starts after the data.
        let spare = b.spare_mut(8, 1000);
        assert_eq!(spare.len(), 11);
        spare[..6].copy_from_slice(b" world");
        b.commit(6);
        assert_eq!(&b.split_to(5)[..], b"hello");
        b.advance(1);
        assert_eq!(b.data(), b"world");
        // Growth keeps the data.
        let spare = b.spare_mut(100, 200);
        assert_eq!(spare.len(), 200);
        assert_eq!(b.data(), b"world");
        assert!(b.capacity() >= 205);
    }

    #[test]
    fn commit_and_split_are_clamped() {
        let mut b = ReadBuf::default();
        let _ = b.spare_mut(3, 3);
        b.commit(10);
        assert_eq!(b.len(), 3);
        assert_eq!(b.split_to(10).len(), 3);
        assert!(b.is_empty());
        b.advance(5);
        assert!(b.is_empty());
    }

    #[test]
    fn extend_grows_geometrically_and_keeps_order() {
        let mut b = ReadBuf::default();
        let mut allocations = 0;
        let mut last_cap = 0;
        for i in 0..10_000u32 {
            b.extend_from_slice(&[i as u8], 1);
            if b.capacity() != last_cap {
                allocations += 1;
                last_cap = b.capacity();
            }
        }
        assert_eq!(b.len(), 10_000);
        assert!(b.data().iter().enumerate().all(|(i, &x)| x == i as u8));
        assert!(allocations < 30, "{allocations} allocations");
    }

    #[test]
    fn growth_reuses_the_allocation_once_every_message_is_dropped() {
        let mut b = ReadBuf::default();
        b.spare_mut(1000, 1000).fill(7);
        b.commit(1000);
        let base = b.data().as_ptr();
        drop(b.split_to(1000).freeze());
        // No spare left: growth takes the same allocation back.
        let spare = b.spare_mut(1000, 1000);
        assert_eq!(spare.as_ptr(), base);
        assert!(spare.iter().all(|&x| x == 0), "reused room is zeroed");
    }

    #[test]
    fn growth_never_writes_over_a_message_still_held() {
        let mut b = ReadBuf::default();
        b.spare_mut(1000, 1000).fill(7);
        b.commit(1000);
        let held = b.split_to(1000).freeze();
        b.spare_mut(1000, 1000).fill(9);
        b.commit(1000);
        assert!(held.iter().all(|&x| x == 7));
        assert!(b.data().iter().all(|&x| x == 9));
    }

    /// Reads `n` bytes of `fill` into the buffer the way a driver does.
    fn read(b: &mut ReadBuf, n: usize, fill: u8) {
        b.spare_mut(n, n)[..n].fill(fill);
        b.commit(n);
    }

    #[test]
    fn a_large_payload_the_user_dropped_is_taken_back_unzeroed() {
        let mut b = ReadBuf::default();
        read(&mut b, RECYCLE_MIN, 7);
        let msg = b.split_frozen(RECYCLE_MIN);
        let base = msg.as_ptr();
        assert!(b.has_recycled());
        b.release();
        drop(msg);
        // Growth takes the payload's memory back: same allocation, old bytes still
        // there (nothing was zeroed), and as much room as the payload had.
        let spare = b.spare_mut(100, 1000);
        assert_eq!(spare.as_ptr(), base);
        assert!(spare.len() >= RECYCLE_MIN);
        assert!(spare.iter().all(|&x| x == 7));
        assert!(!b.has_recycled());
        assert!(b.take_activity());
        assert!(!b.take_activity());
    }

    /// An echo whose send queue still holds the last two messages while the next
    /// arrives: the one before them was written and dropped, and is taken back.
    #[test]
    fn an_echo_with_two_messages_queued_still_recycles() {
        let mut b = ReadBuf::default();
        let mut sent = Vec::new();
        for fill in 1..=3u8 {
            read(&mut b, RECYCLE_MIN, fill);
            sent.push(b.split_frozen(RECYCLE_MIN));
            b.release();
        }
        drop(sent.remove(0));
        // Its bytes are still there: taken back, not a fresh (zeroed) allocation.
        let spare = b.spare_mut(RECYCLE_MIN, RECYCLE_MIN);
        assert!(
            spare.iter().all(|&x| x == 1),
            "the written message's memory is reused"
        );
        assert!(sent[0].iter().all(|&x| x == 2) && sent[1].iter().all(|&x| x == 3));
    }

    #[test]
    fn data_already_held_moves_into_the_recycled_buffer() {
        let mut b = ReadBuf::default();
        read(&mut b, RECYCLE_MIN, 7);
        drop(b.split_frozen(RECYCLE_MIN));
        b.release();
        read(&mut b, 10, 3);
        // 10 bytes held in a small buffer; growth past it adopts the recycled one.
        let spare = b.spare_mut(RECYCLE_MIN / 2, RECYCLE_MIN / 2);
        assert!(spare.len() >= RECYCLE_MIN / 2);
        assert_eq!(b.data(), &[3u8; 10][..]);
        assert!(!b.has_recycled());
    }

    #[test]
    fn a_payload_still_held_is_never_reused() {
        let mut b = ReadBuf::default();
        read(&mut b, RECYCLE_MIN, 7);
        let held = b.split_frozen(RECYCLE_MIN);
        b.release();
        read(&mut b, RECYCLE_MIN, 9);
        assert_ne!(b.data().as_ptr(), held.as_ptr());
        assert!(held.iter().all(|&x| x == 7));
        assert!(b.data().iter().all(|&x| x == 9));
        // Still kept, to be taken back once the user lets go of it.
        assert!(b.has_recycled());
    }

    #[test]
    fn small_payloads_are_not_kept_and_slots_are_bounded() {
        let mut b = ReadBuf::default();
        read(&mut b, 100, 1);
        drop(b.split_frozen(100));
        assert!(!b.has_recycled());
        let mut held = Vec::new();
        for i in 0..5u8 {
            read(&mut b, RECYCLE_MIN, i);
            held.push(b.split_frozen(RECYCLE_MIN));
            b.release();
        }
        assert_eq!(b.recycle.len(), RECYCLE_SLOTS);
        // The newest are kept.
        assert_eq!(b.recycle[RECYCLE_SLOTS - 1].as_ptr(), held[4].as_ptr());
        b.drop_recycled();
        assert!(!b.has_recycled());
        assert!(held
            .iter()
            .enumerate()
            .all(|(i, m)| m.iter().all(|&x| x == i as u8)));
    }

    #[test]
    fn a_recycled_buffer_too_small_is_let_go() {
        let mut b = ReadBuf::default();
        read(&mut b, RECYCLE_MIN, 7);
        drop(b.split_frozen(RECYCLE_MIN));
        b.release();
        let spare = b.spare_mut(4 * RECYCLE_MIN, 4 * RECYCLE_MIN);
        assert_eq!(spare.len(), 4 * RECYCLE_MIN);
        assert!(spare.iter().all(|&x| x == 0), "fresh room is zeroed");
        assert!(!b.has_recycled());
    }
}
