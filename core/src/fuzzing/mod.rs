//! Bodies of the fuzz targets in `fuzz/`: each target is one line calling a function here,
//! and the normal test suite replays the committed corpus through the same functions.
//! Invariant for every function: any input either parses or gives a protocol error;
//! never a panic, never unbounded memory.
pub mod cookie;
pub mod differential;
pub mod h1;
pub mod handshake;
pub mod multipart;
pub mod pair;
pub mod pool;
pub mod query;
pub mod router;
pub mod ws;
