//! Masking (RFC 6455 §5.3): XOR the payload with a 4-byte key repeated.
//!
//! Done word-at-a-time: the key is widened to a `u64` (two key repetitions, so every
//! 8-byte word starts at key phase 0) and XORed with 8-byte words, taken four at a time
//! from 32-byte blocks (`chunks_exact_mut`). LLVM vectorizes this simple loop best: on
//! x86-64 (baseline SSE2) the hot loop is 64 bytes per iteration, four 16-byte `pxor`s
//! (checked with objdump; the earlier 8-byte loop did two, and a `u128` version was lowered
//! to two scalar 64-bit XORs). Only the < 8-byte tail is done per byte.
//! No `unsafe`: the fixed-size copies compile to plain unaligned loads and stores.

/// XORs `buf` with `key`, starting at key phase 0 (the start of a payload).
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4]) {
    apply_mask_at(buf, key, 0);
}

/// XORs `buf` with `key`, where `buf[0]` is byte `offset` of the payload. Lets a payload
/// be unmasked in pieces as it arrives.
pub fn apply_mask_at(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let k = rotate(key, offset);
    // Two copies of the key side by side, in memory order whatever the endianness.
    let k64 = u64::from(u32::from_ne_bytes(k)) * 0x1_0000_0001;
    // 32 bytes per iteration as four independent u64 lanes: LLVM turns the block into
    // wide vector loads/XORs/stores (two 16-byte `pxor`s on baseline SSE2, one 32-byte
    // op with AVX2), and the loop overhead is paid once per 32 bytes instead of per 8.
    let mut blocks = buf.chunks_exact_mut(32);
    for block in &mut blocks {
        for word in block.chunks_exact_mut(8) {
            xor_word(word, k64);
        }
    }
    // 32 and 8 are multiples of 4, so each tail starts at phase 0 of the rotated key.
    let mut words = blocks.into_remainder().chunks_exact_mut(8);
    for word in &mut words {
        xor_word(word, k64);
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= k[i & 3];
    }
}

/// Writes `src` XORed with `key` (from key phase 0) into `dst`, which must be as long:
/// copying and masking in one pass, for an outgoing payload that must be copied anyway
/// (the caller still owns it). One read and one write of each byte, where a copy and then
/// masking in place read and write the destination twice. Same 32-byte blocks of four
/// `u64` lanes as [`apply_mask_at`], which LLVM vectorizes the same way.
///
/// # Panics
///
/// If `dst` and `src` differ in length (a caller bug, never peer input).
pub fn mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    assert_eq!(dst.len(), src.len(), "mask_copy: lengths differ");
    let k64 = u64::from(u32::from_ne_bytes(key)) * 0x1_0000_0001;
    let mut dst_blocks = dst.chunks_exact_mut(32);
    let mut src_blocks = src.chunks_exact(32);
    for (d, s) in (&mut dst_blocks).zip(&mut src_blocks) {
        for (dw, sw) in d.chunks_exact_mut(8).zip(s.chunks_exact(8)) {
            xor_word_from(dw, sw, k64);
        }
    }
    let mut dst_words = dst_blocks.into_remainder().chunks_exact_mut(8);
    let mut src_words = src_blocks.remainder().chunks_exact(8);
    for (dw, sw) in (&mut dst_words).zip(&mut src_words) {
        xor_word_from(dw, sw, k64);
    }
    let tail = dst_words.into_remainder().iter_mut();
    for (i, (d, s)) in tail.zip(src_words.remainder()).enumerate() {
        *d = s ^ key[i & 3];
    }
}

/// `dst = src ^ k64` for one 8-byte word (both slices are 8 long, from `chunks_exact`).
#[inline(always)]
fn xor_word_from(dst: &mut [u8], src: &[u8], k64: u64) {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(src);
    dst.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ k64).to_ne_bytes());
}

/// XORs one 8-byte word with the doubled key. `word.len()` is always 8 (it comes from
/// `chunks_exact_mut(8)`), so the copies compile to plain unaligned loads and stores.
#[inline(always)]
fn xor_word(word: &mut [u8], k64: u64) {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(word);
    word.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ k64).to_ne_bytes());
}

/// The key as seen from payload byte `offset`: `key` rotated left by `offset % 4` bytes.
/// Done on a `u32` (a rotate instruction); the slice `rotate_left` it replaces was a
/// generic call, ~17 instructions per frame, a tenth of a 64 B frame's masking.
#[inline]
fn rotate(key: [u8; 4], offset: usize) -> [u8; 4] {
    // Little-endian on purpose, whatever the target: byte i of the key is bits 8i..8i+8,
    // so moving every byte one place towards the front is a right rotation by 8.
    let bits = 8 * (offset as u32 & 3);
    u32::from_le_bytes(key).rotate_right(bits).to_le_bytes()
}

/// The reference byte-at-a-time implementation: what `apply_mask` must equal, and the
/// baseline of the masking benchmark.
pub fn apply_mask_naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(offset + i) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_equals_naive_for_every_length_and_offset() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in 0..200 {
            for offset in 0..4 {
                let orig: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
                let mut a = orig.clone();
                let mut b = orig.clone();
                apply_mask_at(&mut a, key, offset);
                apply_mask_naive(&mut b, key, offset);
                assert_eq!(a, b, "len {len} offset {offset}");
            }
        }
    }

    #[test]
    fn mask_copy_equals_copy_then_mask_for_every_length() {
        let key = [0x9a, 0xbc, 0xde, 0xf0];
        for len in 0..300 {
            let src: Vec<u8> = (0..len).map(|i| (i * 13 + 5) as u8).collect();
            let mut expected = src.clone();
            apply_mask_naive(&mut expected, key, 0);
            let mut dst = vec![0xEE; len];
            mask_copy(&mut dst, &src, key);
            assert_eq!(dst, expected, "len {len}");
        }
    }

    #[test]
    fn masking_in_pieces_equals_masking_whole() {
        let key = [1, 2, 3, 4];
        let orig: Vec<u8> = (0..100u8).collect();
        let mut whole = orig.clone();
        apply_mask(&mut whole, key);
        for split in 0..orig.len() {
            let mut pieces = orig.clone();
            let (a, b) = pieces.split_at_mut(split);
            apply_mask_at(a, key, 0);
            apply_mask_at(b, key, split);
            assert_eq!(pieces, whole, "split {split}");
        }
    }

    #[test]
    fn rfc_example() {
        // RFC 6455 §5.7: masked "Hello".
        let mut p = *b"\x7f\x9f\x4d\x51\x58";
        apply_mask(&mut p, [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(&p, b"Hello");
    }
}
