//! Seed story: cookies set by a response are sent on the session's next requests.
//!
//! `cargo run --example cookies -- http://127.0.0.1:8080`

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::{ClientError, ClientSession};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    TokioRuntime::block_on(|rt| async move {
        // A local server is an IP host: allow its cookies like aiohttp's CookieJar(unsafe=True).
        let session = ClientSession::builder_with_runtime(rt)
            .cookie_jar_unsafe()
            .build()?;
        let mut r = session
            .get(&format!("{base}/cookies/set"))
            .query(&[("session_id", "12345")])
            .send()
            .await?;
        r.release().await?;
        let mut r = session.get(&format!("{base}/cookies")).send().await?;
        println!("server saw: {}", r.text().await?);
        if let Some(jar) = session.cookie_jar() {
            for c in jar.lock().expect("jar").iter() {
                println!(
                    "jar: {}={} (domain {}, path {})",
                    c.name, c.value, c.domain, c.path
                );
            }
        }
        Ok::<_, ClientError>(())
    })??;
    Ok(())
}
