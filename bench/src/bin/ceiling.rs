//! The ceiling: answers every request head (found by its CRLFCRLF, nothing parsed) with
//! a canned response, all responses for one read in one write. No HTTP server can do
//! less work per request; the gap to it is what parsing and routing cost.
//!
//! ceiling 127.0.0.1:8082

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 13\r\n\r\nHello, World!";

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8082".into());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        println!("ceiling on http://{addr}");
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut pending = 0usize; // bytes of an unfinished head carried over
                let mut out = Vec::with_capacity(64 * 1024);
                loop {
                    let n = match stream.read(&mut buf[pending..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let end = pending + n;
                    let mut start = 0;
                    while let Some(i) = buf[start..end].windows(4).position(|w| w == b"\r\n\r\n") {
                        out.extend_from_slice(RESPONSE);
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
