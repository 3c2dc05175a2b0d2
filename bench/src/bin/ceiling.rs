//! The ceiling: answers every request head (found by its CRLFCRLF, nothing parsed) with
//! a canned response, all responses for one read in one write. No HTTP server can do
//! less work per request; the gap to it is what parsing and routing cost.
//!
//! The bulk scenarios get their ceiling too, so the table shows what the kernel's copies
//! alone allow: a head starting `GET /download` is answered with 16 MiB (Content-Length,
//! one prebuilt buffer), and a request with a `content-length` (searched for in the head,
//! the one thing looked at) has that many body bytes skipped before its answer.
//!
//! ceiling 127.0.0.1:8082

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: 13\r\n\r\nHello, World!";
const DOWNLOAD_LEN: usize = 16 << 20;

/// The value of a `content-length` field in `head`, if any (ASCII case-insensitive).
fn content_length(head: &[u8]) -> usize {
    const NAME: &[u8] = b"\r\ncontent-length:";
    head.windows(NAME.len())
        .position(|w| w.eq_ignore_ascii_case(NAME))
        .map(|i| {
            head[i + NAME.len()..]
                .iter()
                .skip_while(|b| **b == b' ')
                .take_while(|b| b.is_ascii_digit())
                .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'))
        })
        .unwrap_or(0)
}

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8082".into());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut download = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {DOWNLOAD_LEN}\r\n\r\n"
    )
    .into_bytes();
    download.resize(download.len() + DOWNLOAD_LEN, b'd');
    let download: &'static [u8] = download.leak();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        println!("ceiling on http://{addr}");
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut pending = 0usize; // bytes of an unfinished head carried over
                let mut skip = 0usize; // body bytes still to discard, then answer
                let mut out = Vec::with_capacity(64 * 1024);
                loop {
                    let n = match stream.read(&mut buf[pending..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let end = pending + n;
                    let mut start = 0;
                    loop {
                        if skip > 0 {
                            let dropped = skip.min(end - start);
                            skip -= dropped;
                            start += dropped;
                            if skip > 0 {
                                break;
                            }
                            out.extend_from_slice(RESPONSE);
                        }
                        let Some(i) = buf[start..end].windows(4).position(|w| w == b"\r\n\r\n")
                        else {
                            break;
                        };
                        let head = &buf[start..start + i + 4];
                        if head.starts_with(b"GET /download") {
                            if !out.is_empty() {
                                if stream.write_all(&out).await.is_err() {
                                    return;
                                }
                                out.clear();
                            }
                            if stream.write_all(download).await.is_err() {
                                return;
                            }
                        } else {
                            skip = content_length(head);
                            if skip == 0 {
                                out.extend_from_slice(RESPONSE);
                            }
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
