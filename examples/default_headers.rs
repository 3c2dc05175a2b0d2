//! Seed story: headers given when the session is built go on every request.
//!
//! `cargo run --example default_headers -- http://127.0.0.1:8080`

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    TokioRuntime::block_on(|rt| async move {
        let session = ClientSession::builder_with_runtime(rt)
            .header("user-agent", "MyApp/1.0")
            .header("authorization", "Bearer token123")
            .build()?;
        let mut r = session.get(&format!("{base}/headers")).send().await?;
        println!("{}", r.text().await?);
        // A request's own header replaces the default of the same name.
        let mut r = session
            .get(&format!("{base}/headers"))
            .header("user-agent", "OneOff/2.0")
            .send()
            .await?;
        println!("{}", r.text().await?);
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
