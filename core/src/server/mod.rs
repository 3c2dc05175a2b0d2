//! Server logic: router matching and connection policy.

pub mod router;
