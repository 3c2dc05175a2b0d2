//! Seed story: one session, many requests, keep-alive connections reused from its pool.
//!
//! `cargo run --example session_reuse -- http://127.0.0.1:8080`

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    TokioRuntime::block_on(|rt| async move {
        let session = ClientSession::builder_with_runtime(rt)
            .limit(10)
            .limit_per_host(2)
            .build()?;
        for i in 0..5 {
            let mut r = session.get(&format!("{base}/get")).send().await?;
            let n = r.bytes().await?.len();
            println!(
                "request {i}: {} ({n} bytes); open connections: {}, idle: {}",
                r.status(),
                session.open_connections(),
                session.idle_connections()
            );
        }
        session.close();
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
