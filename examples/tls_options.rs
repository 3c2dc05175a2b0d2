//! Seed story: TLS settings — verification off (`ssl=False`), a custom CA, a client
//! certificate. Pass an https URL; `--insecure` skips verification, `--ca FILE.der`
//! adds a trusted root (DER).
//!
//! `cargo run --example tls_options -- https://127.0.0.1:8443 --insecure`

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "https://127.0.0.1:8443".to_owned());
    let insecure = args.iter().any(|a| a == "--insecure");
    let ca = args
        .iter()
        .position(|a| a == "--ca")
        .and_then(|i| args.get(i + 1))
        .map(std::fs::read)
        .transpose()?;
    TokioRuntime::block_on(|rt| async move {
        let mut builder = ClientSession::builder_with_runtime(rt).ssl(!insecure);
        if let Some(der) = ca {
            builder = builder.add_root_certificate(der);
        }
        let session = builder.build()?;
        match session.get(&url).send().await {
            Ok(mut r) => println!("{} {}", r.status(), r.text().await?),
            Err(e) => println!(
                "TLS request failed: {e} (connector error: {})",
                e.is_connector()
            ),
        }
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
