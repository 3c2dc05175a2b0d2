//! The tour: every story of aiohttp's tour, run against the embedded httpbin server.
//!
//! Not yet: the tour lands with the testing-utilities issue, once the client, server and
//! WebSocket layers exist. Until then this prints what is ready and exits successfully.

fn main() {
    println!("sansweb tour: not yet — the HTTP/1.1 core is in place; the client, server and");
    println!("WebSocket layers the tour drives are still being built (see README).");
}
