//! Seed story: `ClientTimeout { total, connect, sock_connect, sock_read }`, per session
//! and per request; each kind is reported distinctly.
//!
//! `cargo run --example timeouts -- http://127.0.0.1:8080`

use std::time::Duration;

use sansweb::client::ClientTimeout;
use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    TokioRuntime::block_on(|rt| async move {
        let session = ClientSession::builder_with_runtime(rt)
            .timeout(ClientTimeout {
                total: Some(Duration::from_secs(10)),
                sock_connect: Some(Duration::from_secs(2)),
                ..ClientTimeout::default()
            })
            .build()?;
        let quick = ClientTimeout {
            sock_read: Some(Duration::from_secs(1)),
            ..session.timeout()
        };
        match session
            .get(&format!("{base}/delay/3"))
            .timeout(quick)
            .send()
            .await
        {
            Ok(r) => println!("unexpected: {}", r.status()),
            Err(e @ ClientError::Timeout { .. }) => println!("timed out as expected: {e}"),
            Err(e) => return Err(e),
        }
        let mut r = session.get(&format!("{base}/delay/0")).send().await?;
        println!("fast endpoint: {} {}", r.status(), r.bytes().await?.len());
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
