//! Server logic: router matching and multipart parsing.

pub mod multipart;
pub mod router;
