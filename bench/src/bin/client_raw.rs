//! The floor for sequential requests: one blocking socket that writes a canned GET and
//! reads back as many bytes as the first answer had. No HTTP parsing, no runtime, no
//! readiness polling — what is left is the round trip through the kernel and the server,
//! which bounds every client's sequential rate on this machine.
//!
//! client_raw seq BASE_URL N

#[path = "../client_common.rs"]
#[allow(dead_code)] // the concurrency argument: one request at a time here
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn main() {
    let a = common::args();
    assert_eq!(a.scenario, "seq", "client_raw runs only the seq scenario");
    let authority = a
        .base
        .strip_prefix("http://")
        .expect("an http:// base URL")
        .trim_end_matches('/');
    let mut socket = TcpStream::connect(authority).expect("connect");
    socket.set_nodelay(true).expect("nodelay");
    let request = format!("GET / HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    let mut buf = vec![0u8; 64 * 1024];
    // The first answer gives the length of every answer (the server's is canned).
    socket.write_all(request.as_bytes()).expect("write");
    let answer_len = read_answer(&mut socket, &mut buf, None);
    for _ in 0..100 {
        socket.write_all(request.as_bytes()).expect("write");
        read_answer(&mut socket, &mut buf, Some(answer_len));
    }
    let cpu0 = common::cpu_seconds();
    let t0 = Instant::now();
    for _ in 0..a.n {
        socket.write_all(request.as_bytes()).expect("write");
        read_answer(&mut socket, &mut buf, Some(answer_len));
    }
    common::report(a.n as f64, t0.elapsed(), common::cpu_seconds() - cpu0);
}

/// Reads one answer: `len` bytes when known, else through the end of a head that
/// carries `content-length`, plus that many body bytes.
fn read_answer(socket: &mut TcpStream, buf: &mut [u8], len: Option<usize>) -> usize {
    let mut got = 0;
    loop {
        let n = socket.read(&mut buf[got..]).expect("read");
        assert!(n > 0, "the server closed the connection");
        got += n;
        let want = len.or_else(|| whole_length(&buf[..got]));
        if want.is_some_and(|want| got >= want) {
            assert_eq!(Some(got), want, "one answer at a time");
            return got;
        }
    }
}

/// The length of head plus body once the head has arrived.
fn whole_length(bytes: &[u8]) -> Option<usize> {
    let head_end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let body: usize = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })?;
    Some(head_end + body)
}
