//! permessage-deflate (RFC 7692): negotiation and the per-message codec.
//!
//! **Negotiation** lives in its own file and is re-exported here: [`DeflateConfig`]
//! holds one side's wishes (it makes and answers offers); [`DeflateParams`] is the
//! agreement the connection runs with.
//!
//! **Backend.** flate2 on its default miniz_oxide backend (pure Rust). zlib-rs deflates
//! faster but failed a proptest case here (empty fragments with context takeover; kept in
//! `tests/ws_proptest.proptest-regressions`), so it is not used.
//!
//! **Window bits.** miniz_oxide always compresses with a 15-bit (32 KiB) window; a smaller
//! window is a subset of that, so we *inflate* any size. When the peer asks our compressor
//! to keep to a smaller window (`server_max_window_bits` in a client's offer, or
//! `client_max_window_bits` in a server's answer to ours), we honour it without a smaller
//! LZ77 window: the compressor starts afresh for every message, so no back-reference
//! reaches before the message's first byte, and only a message sent as one frame and no
//! longer than the window (2^bits bytes) is compressed; any other message is sent
//! uncompressed (RSV1 clear), which RFC 7692 allows for any message.
//!
//! **Level.** The default level is 1 (zlib's `Z_BEST_SPEED`), as aiohttp's WebSocket
//! writer uses: on chat/JSON-like text it compresses ~17x faster than level 6 (see the
//! `deflate` benchmark), and WebSocket messages are latency-bound, not size-bound.
//!
//! **Codec.** A message is compressed with a sync flush and its trailing
//! `00 00 ff ff` removed; the receiver appends it back after the last frame. The
//! receiver inflates each frame as it arrives, in bounded steps, into a buffer capped at
//! the message limit: a compression bomb stops at `limit + 1` bytes of output with
//! [`InflateError::TooLarge`], never allocating more.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

pub use super::negotiation::{
    parse_extensions, DeflateConfig, DeflateParams, ExtensionOffer, NegotiationError,
    COMPRESSOR_WINDOW_BITS, PERMESSAGE_DEFLATE,
};

const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Output grows by at most this much per inflate step (or doubles, whichever is less).
const INFLATE_STEP: usize = 64 * 1024;

/// Why inflating a message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// The output would exceed the limit.
    TooLarge,
    /// The input is not raw deflate data.
    Invalid,
}

/// Our side's compressor.
pub(crate) struct Deflater {
    c: Compress,
    reset_each_message: bool,
    /// With a window smaller than 15 bits: the longest message we may compress.
    max_compressed_len: Option<usize>,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("reset_each_message", &self.reset_each_message)
            .field("max_compressed_len", &self.max_compressed_len)
            .finish()
    }
}

impl Deflater {
    /// `window_bits`: the window the peer allows our compressor (8–15).
    pub(crate) fn new(level: u32, no_context_takeover: bool, window_bits: u8) -> Self {
        let small_window = window_bits < COMPRESSOR_WINDOW_BITS;
        Deflater {
            c: Compress::new(Compression::new(level.min(9)), false),
            // A fresh context per message keeps every back-reference inside the
            // message (see the module docs).
            reset_each_message: no_context_takeover || small_window,
            max_compressed_len: small_window.then(|| 1usize << window_bits.max(8)),
        }
    }

    /// Whether a message starting now may be compressed: always with the full window;
    /// with a smaller one, only a whole message (one frame) that fits in the window.
    pub(crate) fn may_compress(&self, whole_message: bool, len: usize) -> bool {
        match self.max_compressed_len {
            None => true,
            Some(max) => whole_message && len <= max,
        }
    }

    /// Appends the compressed form of `data` to `out`, sync-flushed. On the message's
    /// last piece the `00 00 ff ff` tail is removed (RFC 7692 §7.2.1); earlier pieces keep
    /// theirs, which the receiver reads as empty stored blocks.
    pub(crate) fn compress(&mut self, data: &[u8], last: bool, out: &mut Vec<u8>) {
        out.reserve(data.len() / 2 + 64);
        let start = out.len();
        let mut input = data;
        loop {
            let (in_before, out_before) = (self.c.total_in(), self.c.total_out());
            // An in-memory sink cannot fail; an error would only mean a flate2 bug, and
            // then we simply stop with what was produced.
            if self
                .c
                .compress_vec(input, out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            let used = (self.c.total_in() - in_before) as usize;
            let produced = self.c.total_out() - out_before;
            input = &input[used.min(input.len())..];
            // The flush is complete only once all input is taken AND its empty stored
            // block (`00 00 ff ff`) is out: the compressor may stop short of it with room
            // to spare, and a message cut there is not decodable on its own.
            if input.is_empty() && out[start..].ends_with(&TAIL) {
                break;
            }
            if used == 0 && produced == 0 && out.len() < out.capacity() {
                // No progress with room to spare: nothing more will come (defensive).
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if last {
            if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if self.reset_each_message {
                self.c.reset();
            }
        }
    }
}

/// The peer's decompressor.
pub(crate) struct Inflater {
    d: Decompress,
    reset_each_message: bool,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("reset_each_message", &self.reset_each_message)
            .finish()
    }
}

impl Inflater {
    pub(crate) fn new(no_context_takeover: bool) -> Self {
        Inflater {
            d: Decompress::new(false),
            reset_each_message: no_context_takeover,
        }
    }

    /// Inflates `input` (a frame's payload) onto `out`, which may not grow past `cap`.
    pub(crate) fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<(), InflateError> {
        loop {
            if out.len() == out.capacity() {
                // Grow by doubling (amortised O(n) copying), by at most one step, and
                // never past cap + 1: one byte over the cap proves the message too big.
                // `cap` may be `usize::MAX` (no limit): saturate rather than overflow.
                let room = cap.saturating_add(1).saturating_sub(out.len());
                if room == 0 {
                    return Err(InflateError::TooLarge);
                }
                out.reserve_exact(out.len().clamp(1024, INFLATE_STEP).min(room));
            }
            let (in0, out0) = (self.d.total_in(), self.d.total_out());
            let status = self
                .d
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Invalid)?;
            let used = (self.d.total_in() - in0) as usize;
            let produced = self.d.total_out() - out0;
            input = &input[used.min(input.len())..];
            if out.len() > cap {
                return Err(InflateError::TooLarge);
            }
            if status == Status::StreamEnd {
                // A final (BFINAL) block ended the stream; what follows starts afresh.
                self.d.reset(false);
                if input.is_empty() {
                    return Ok(());
                }
                continue;
            }
            let output_full = out.len() == out.capacity();
            if input.is_empty() && !output_full {
                return Ok(());
            }
            if used == 0 && produced == 0 && !output_full {
                // No progress with input left and room to write: the data is broken.
                return Err(InflateError::Invalid);
            }
        }
    }

    /// Ends a message: inflates the implied `00 00 ff ff` tail.
    pub(crate) fn finish_message(
        &mut self,
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<(), InflateError> {
        let r = self.inflate(&TAIL, out, cap);
        if self.reset_each_message {
            self.d.reset(false);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7692_hello_example() {
        // RFC 7692 §7.2.3.1: "Hello" compressed.
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        inf.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        inf.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.2: the second "Hello" with context takeover.
        let mut out = Vec::new();
        inf.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 100)
            .unwrap();
        inf.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.4: a BFINAL block followed by nothing.
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        inf.inflate(
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &mut out,
            100,
        )
        .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        for nct in [false, true] {
            let mut def = Deflater::new(6, nct, 15);
            let mut inf = Inflater::new(nct);
            for i in 0..5 {
                let msg = format!("message number {i} message number {i} message");
                let mut wire = Vec::new();
                def.compress(msg.as_bytes(), true, &mut wire);
                let mut out = Vec::new();
                inf.inflate(&wire, &mut out, 1 << 20).unwrap();
                inf.finish_message(&mut out, 1 << 20).unwrap();
                assert_eq!(out, msg.as_bytes());
            }
        }
    }

    #[test]
    fn no_limit_cap_does_not_overflow() {
        // `max_message_size = usize::MAX` (aiohttp's max_msg_size=0) once panicked with
        // an overflow computing the room left.
        let msg = vec![7u8; 100_000];
        let mut def = Deflater::new(6, false, 15);
        let mut wire = Vec::new();
        def.compress(&msg, true, &mut wire);
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        inf.inflate(&wire, &mut out, usize::MAX).unwrap();
        inf.finish_message(&mut out, usize::MAX).unwrap();
        assert_eq!(out, msg);
    }

    #[test]
    fn bomb_is_capped() {
        let zeros = vec![0u8; 8 << 20];
        let mut def = Deflater::new(9, false, 15);
        let mut wire = Vec::new();
        def.compress(&zeros, true, &mut wire);
        assert!(wire.len() < 20_000, "{}", wire.len());
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            inf.inflate(&wire, &mut out, 1 << 20),
            Err(InflateError::TooLarge)
        );
        assert!(
            out.capacity() <= (1 << 20) + 1,
            "capacity {}",
            out.capacity()
        );
    }

    #[test]
    fn garbage_is_invalid() {
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            inf.inflate(&[0xff, 0xff, 0xff, 0xff], &mut out, 100),
            Err(InflateError::Invalid)
        );
    }
}

#[cfg(test)]
mod flush_tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    /// Every sync-flushed message ends with the empty stored block and decodes on its
    /// own with an independent inflater (context kept across messages), for messages
    /// whose compression needs several passes (large, mixed-entropy windows).
    #[test]
    fn every_message_is_flushed_completely() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut data = vec![0u8; 300_000];
        for (i, b) in data.iter_mut().enumerate() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            // Stretches of noise, of runs and of a small alphabet: output sizes that
            // land on every side of the buffer's capacity.
            *b = match (i / 3000) % 3 {
                0 => seed as u8,
                1 => (i / 64) as u8,
                _ => b'a' + (seed % 7) as u8,
            };
        }
        let mut deflater = Deflater::new(6, false, 15);
        let mut inflater = Decompress::new(false);
        for window in 0..400 {
            let len = 1 + (window * 7919) % 65_536;
            let message = &data[window * 500..window * 500 + len];
            let mut out = Vec::new();
            deflater.compress(message, false, &mut out);
            assert!(out.ends_with(&TAIL), "message {window} not fully flushed");
            let mut decoded = Vec::with_capacity(message.len() + 1024);
            let mut input = &out[..];
            while !input.is_empty() {
                let before = inflater.total_in();
                inflater
                    .decompress_vec(input, &mut decoded, FlushDecompress::Sync)
                    .expect("independent inflater decodes it");
                let used = (inflater.total_in() - before) as usize;
                input = &input[used..];
                if decoded.len() == decoded.capacity() {
                    decoded.reserve(64 * 1024);
                }
            }
            assert_eq!(
                decoded.len(),
                message.len(),
                "message {window} decoded short"
            );
            assert!(decoded == message, "message {window} decoded wrong");
        }
    }
}
