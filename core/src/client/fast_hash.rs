//! A fast, unkeyed hasher for the pool's small tables.
//!
//! Why not the standard `RandomState` (SipHash-1-3): the pool hashes a [`PoolKey`] (two
//! strings, a port, a TLS id, an optional proxy) on every checkout and check-in, and a
//! connection id on several more lookups; under 50 concurrent requests SipHash was ~5% of
//! the client's instructions (callgrind). SipHash's keying defends a table an attacker can
//! fill with colliding keys. Here the caller picks the connection ids (a counter, in
//! sansweb), and a key has an entry only while it has an open (or opening) connection, so
//! a table never holds more keys than there are sockets, however the keys were chosen (a
//! redirect's host included): keys made to collide cost a scan of entries each of which
//! already costs the attacker a socket (and no more than `PoolConfig::limit`, when set).
//!
//! The mixing step is rustc's FxHash: rotate, xor in a word, multiply by an odd constant.
//!
//! [`PoolKey`]: super::PoolKey

use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap` builder for the pool's tables.
pub(crate) type FastHash = BuildHasherDefault<FxHasher>;

/// The multiplier of rustc's FxHash (odd, bits well spread).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// See the [module docs](self).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.add(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash_of<T: Hash>(v: &T) -> u64 {
        FastHash::default().hash_one(v)
    }

    #[test]
    fn equal_values_hash_equal_and_near_values_apart() {
        let key = |host: &str, port: u16| super::super::PoolKey {
            scheme: "http".into(),
            host: host.into(),
            port,
            tls_config: 0,
            proxy: None,
        };
        assert_eq!(
            hash_of(&key("example.com", 80)),
            hash_of(&key("example.com", 80))
        );
        let distinct = [
            hash_of(&key("example.com", 80)),
            hash_of(&key("example.com", 81)),
            hash_of(&key("example.org", 80)),
            hash_of(&key("a", 80)),
            hash_of(&key("a\0", 80)),
            hash_of(&key("", 80)),
        ];
        for (i, a) in distinct.iter().enumerate() {
            for b in &distinct[i + 1..] {
                assert_ne!(a, b);
            }
        }
        // Sequential connection ids land in different buckets of a small table (the low
        // bits hashbrown indexes with differ).
        let buckets: std::collections::HashSet<u64> =
            (0u64..64).map(|id| hash_of(&id) & 127).collect();
        assert!(buckets.len() > 40, "{} distinct buckets", buckets.len());
    }
}
