//! Seed story: `raise_for_status` and connection errors as one typed hierarchy.
//!
//! `cargo run --example errors -- http://127.0.0.1:8080`

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    TokioRuntime::block_on(|rt| async move {
        let session = ClientSession::builder_with_runtime(rt)
            .raise_for_status(true)
            .build()?;
        for code in [404, 500] {
            match session.get(&format!("{base}/status/{code}")).send().await {
                Err(ClientError::Response(e)) => {
                    println!("HTTP error {}: {} ({})", e.status, e.message, e.url)
                }
                other => println!("unexpected: {other:?}"),
            }
        }
        // Port 1 on loopback: nothing listens there.
        match session.get("http://127.0.0.1:1/").send().await {
            Err(e) if e.is_connector() => println!(
                "connection error: {e} (may have reached the server: {})",
                e.may_have_reached_server()
            ),
            other => println!("unexpected: {other:?}"),
        }
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
