//! Seed story: an async GET and `response.text()`.
//!
//! `cargo run --example client_basic -- http://127.0.0.1:8080` (an httpbin-like server).

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    TokioRuntime::block_on(|rt| async move {
        let session = ClientSession::with_runtime(rt);
        let mut response = session.get(&format!("{base}/get")).send().await?;
        println!("Status: {}", response.status());
        println!("Content-type: {:?}", response.content_type());
        println!("Body: {}", response.text().await?);
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
