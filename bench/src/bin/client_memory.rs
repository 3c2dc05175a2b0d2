//! Client memory per idle keep-alive connection: opens N connections at once (N requests
//! in flight, every response held until all have arrived, so none can share a
//! connection), reads every body (each connection goes back to the pool, idle), then
//! reports this process's RSS, and again after the client is dropped.
//!
//! client_memory sansweb|hyper URL N
//! prints: `RSS before | RSS with connections | KB per connection | RSS after close`

use bytes::Bytes;
use futures_util::future::join_all;
use http_body_util::{BodyExt, Empty};
use std::time::Duration;

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn sansweb_run(rt: sansweb::rt::TokioRuntime, url: String, n: usize) -> (u64, u64, u64) {
    let before = rss_kb();
    let session = sansweb::ClientSession::builder_with_runtime(rt)
        .limit(n + 1)
        .no_cookies()
        .build()
        .expect("session");
    let responses = join_all((0..n).map(|_| session.get(&url).send())).await;
    let mut responses: Vec<_> = responses.into_iter().map(|r| r.expect("response")).collect();
    for r in &mut responses {
        r.bytes().await.expect("body");
    }
    drop(responses);
    assert!(session.idle_connections() >= n * 9 / 10, "connections were shared");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with = rss_kb();
    session.close();
    drop(session);
    tokio::time::sleep(Duration::from_millis(500)).await;
    (before, with, rss_kb())
}

async fn hyper_run(url: String, n: usize) -> (u64, u64, u64) {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let before = rss_kb();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(n + 1)
        .build_http();
    let uri: hyper::Uri = url.parse().unwrap();
    let responses = join_all((0..n).map(|_| client.get(uri.clone()))).await;
    let responses: Vec<_> = responses.into_iter().map(|r| r.expect("response")).collect();
    for r in responses {
        r.into_body().collect().await.expect("body");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let with = rss_kb();
    drop(client);
    tokio::time::sleep(Duration::from_millis(500)).await;
    (before, with, rss_kb())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "sansweb".into());
    let url = args.next().unwrap_or_else(|| "http://127.0.0.1:8081/".into());
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (before, with, after) = match which.as_str() {
        "sansweb" => rt.block_on(async { sansweb_run(sansweb::rt::TokioRuntime::try_current().expect("in tokio"), url, n).await }),
        _ => rt.block_on(hyper_run(url, n)),
    };
    println!(
        "{before} | {with} | {:.2} | {after}",
        (with as f64 - before as f64) / n as f64
    );
}
