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
//! The hasher is rustc's FxHash, from the `rustc-hash` crate.
//!
//! [`PoolKey`]: super::PoolKey

/// `HashMap` builder for the pool's tables.
pub(crate) type FastHash = rustc_hash::FxBuildHasher;
