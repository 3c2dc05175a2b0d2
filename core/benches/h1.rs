//! HTTP/1.1 core benchmarks (filled in with the codec).
fn main() {}
