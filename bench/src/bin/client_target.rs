//! The server every client benchmark talks to: the ceiling's trick (find each request
//! head's CRLFCRLF, parse nothing else, answer with canned bytes, all answers for one
//! read in one write), plus `GET /16m`, a 16 MiB body, for the download scenario.
//!
//! client_target 127.0.0.1:18095

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 13\r\n\r\nHello, World!";
const BIG: usize = 16 << 20;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18095".into());
    let mut big = format!("HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {BIG}\r\n\r\n").into_bytes();
    big.resize(big.len() + BIG, b'x');
    let big: &'static [u8] = Box::leak(big.into_boxed_slice());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        println!("client_target on http://{addr}");
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut pending = 0usize;
                let mut out = Vec::with_capacity(64 * 1024);
                loop {
                    let n = match stream.read(&mut buf[pending..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let end = pending + n;
                    let mut start = 0;
                    while let Some(i) = buf[start..end].windows(4).position(|w| w == b"\r\n\r\n") {
                        if buf[start..end].starts_with(b"GET /16m") {
                            if !out.is_empty() && stream.write_all(&out).await.is_err() {
                                return;
                            }
                            out.clear();
                            if stream.write_all(big).await.is_err() {
                                return;
                            }
                        } else {
                            out.extend_from_slice(HELLO);
                        }
                        start += i + 4;
                    }
                    buf.copy_within(start..end, 0);
                    pending = end - start;
                    if !out.is_empty() {
                        if stream.write_all(&out).await.is_err() {
                            return;
                        }
                        out.clear();
                    }
                }
            });
        }
    });
}
