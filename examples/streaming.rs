//! Seed story: streaming a response — `iter_chunked(n)`, `iter_any`, `readline` — in
//! bounded memory, however large the body.
//!
//! `cargo run --example streaming -- http://127.0.0.1:8080`

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    TokioRuntime::block_on(|rt| async move {
        let session = ClientSession::with_runtime(rt);
        let mut r = session.get(&format!("{base}/stream/20")).send().await?;
        let mut lines = 0;
        loop {
            let line = r.readline().await?;
            if line.is_empty() {
                break;
            }
            lines += 1;
        }
        println!("{lines} lines");
        let mut r = session.get(&format!("{base}/bytes/100000")).send().await?;
        let mut total = 0;
        while let Some(chunk) = r.iter_chunked(8192).await? {
            total += chunk.len();
        }
        println!("{total} bytes in chunks of at most 8192");
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
