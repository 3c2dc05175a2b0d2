//! Recycled buffers for large outgoing frames.
//!
//! # Theory of operation
//!
//! A large payload the caller only lends (`send_binary(&[u8])`, a compressed message)
//! must be copied out, masked on the client. Copying it onto the connection's small
//! output buffer made every such frame a fresh allocation: the output is handed to the
//! transport whole (`split().freeze()`), so a megabyte frame left nothing to reuse, and
//! each new megabyte was fresh pages, a page fault per 4 KiB (2,747 faults for 100
//! client messages of 1 MiB, where tokio-tungstenite, writing from one reused buffer,
//! took 1,019).
//!
//! So a large frame is encoded into a buffer of its own (header and payload together, one
//! write slice), and the pool keeps a `Bytes` clone of the last [`SLOTS`] such frames.
//! Once the transport has written one and dropped its handle, the clone is the only owner
//! left and the next large frame takes the buffer back (`Bytes::try_into_mut`): its bytes
//! are initialized and its pages are mapped, so the copy (fused with masking) is the only
//! pass over the memory.
//!
//! ```text
//!   large frame ──take(len)──▶ a unique slot (reused) | a new zeroed buffer
//!        └── encoded, frozen ──keep──▶ slots [older, newer]   (a third evicts the older)
//!                  └──────────────────▶ transport (writes it, drops its handle)
//! ```
//!
//! The connection drops the slots when it has not used them for a while
//! ([`drop_all`](WritePool::drop_all), driven by its recycle timer), so an idle
//! connection holds no buffer; slots are bounded in number and each is one frame the
//! application itself chose to send.

use bytes::{Bytes, BytesMut};

/// Frames at least this long (header included) are encoded into pooled buffers; smaller
/// ones go onto the connection's output buffer, which a small frame reuses anyway.
pub(crate) const POOL_MIN: usize = 64 * 1024;
/// How many frames' buffers are kept. Two: the sender queues a message while the
/// transport still writes the one before it.
pub(crate) const SLOTS: usize = 2;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct WritePool {
    slots: Vec<Bytes>,
    /// A buffer was kept or taken back since the last [`take_activity`](Self::take_activity).
    active: bool,
}

impl WritePool {
    /// A buffer of exactly `len` initialized bytes to encode a frame into: a kept one the
    /// transport has let go of, else a new zeroed one (fresh pages: nothing to write).
    pub(crate) fn take(&mut self, len: usize) -> BytesMut {
        self.active = true;
        while let Some(i) = self.slots.iter().position(Bytes::is_unique) {
            if let Ok(mut buf) = self.slots.remove(i).try_into_mut() {
                if buf.capacity() >= len {
                    // Only what the previous frame did not cover is zeroed.
                    if buf.len() >= len {
                        buf.truncate(len);
                    } else {
                        buf.resize(len, 0);
                    }
                    return buf;
                }
                // Too small for this frame: let it go.
            }
        }
        BytesMut::zeroed(len)
    }

    /// Keeps a clone of a frame handed to the transport, to take it back once written.
    pub(crate) fn keep(&mut self, frame: &Bytes) {
        if self.slots.len() == SLOTS {
            self.slots.remove(0);
        }
        self.slots.push(frame.clone());
        self.active = true;
    }

    /// Whether buffers are kept.
    pub(crate) fn has_kept(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Whether a buffer was kept or taken back since the last call.
    pub(crate) fn take_activity(&mut self) -> bool {
        std::mem::take(&mut self.active)
    }

    /// Lets the kept buffers go (the connection is idle, or over).
    pub(crate) fn drop_all(&mut self) {
        self.slots = Vec::new();
        self.active = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_frame_buffer_is_reused() {
        let mut pool = WritePool::default();
        let mut buf = pool.take(100_000);
        assert_eq!(buf.len(), 100_000);
        buf[0] = 7;
        let frame = buf.freeze();
        let ptr = frame.as_ptr();
        pool.keep(&frame);
        // Still held by the transport: a new buffer.
        let other = pool.take(100_000);
        assert_ne!(other.as_ptr(), ptr);
        drop(frame);
        // Written and dropped: the same memory, resized to the new length.
        let again = pool.take(90_000);
        assert_eq!(again.as_ptr(), ptr);
        assert_eq!(again.len(), 90_000);
        let grown = {
            pool.keep(&again.freeze());
            pool.take(100_000)
        };
        assert_eq!(grown.as_ptr(), ptr, "capacity covers the longer frame");
        assert_eq!(grown.len(), 100_000);
    }

    #[test]
    fn too_small_buffers_are_let_go_and_slots_are_bounded() {
        let mut pool = WritePool::default();
        pool.keep(&pool_frame(&mut WritePool::default(), 70_000));
        let big = pool.take(200_000);
        assert_eq!(big.len(), 200_000);
        assert!(!pool.has_kept(), "the small one was dropped");
        for _ in 0..5 {
            let f = pool_frame(&mut WritePool::default(), 70_000);
            pool.keep(&f);
        }
        assert_eq!(pool.slots.len(), SLOTS);
        assert!(pool.take_activity());
        assert!(!pool.take_activity());
        pool.drop_all();
        assert!(!pool.has_kept());
    }

    fn pool_frame(pool: &mut WritePool, len: usize) -> Bytes {
        pool.take(len).freeze()
    }
}
