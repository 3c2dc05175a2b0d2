//! Server logic: router matching and connection policy.
