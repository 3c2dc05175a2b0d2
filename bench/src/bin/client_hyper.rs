//! hyper-util's legacy `Client` (hyper 1) on one current-thread tokio runtime, HTTP/1.1
//! keep-alive pool: the baseline for `client_sansweb`.
//!
//! client_hyper seq|conc|download BASE_URL N [CONCURRENCY]

#[path = "../client_common.rs"]
mod common;

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

fn main() {
    let a = common::args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(a.concurrency.max(1))
            .build_http();
        let hello: hyper::Uri = format!("{}/", a.base).parse().unwrap();
        for _ in 0..100 {
            let r = client.get(hello.clone()).await.unwrap();
            r.into_body().collect().await.unwrap();
        }
        let cpu0 = common::cpu_seconds();
        let t0 = Instant::now();
        let units = match a.scenario.as_str() {
            "seq" => {
                for _ in 0..a.n {
                    let r = client.get(hello.clone()).await.unwrap();
                    let body = r.into_body().collect().await.unwrap().to_bytes();
                    assert_eq!(body.len(), 13);
                }
                a.n as f64
            }
            "conc" => {
                let per = a.n / a.concurrency;
                let tasks: Vec<_> = (0..a.concurrency)
                    .map(|_| {
                        let (c, url) = (client.clone(), hello.clone());
                        tokio::spawn(async move {
                            for _ in 0..per {
                                let r = c.get(url.clone()).await.unwrap();
                                let body = r.into_body().collect().await.unwrap().to_bytes();
                                assert_eq!(body.len(), 13);
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
                (per * a.concurrency) as f64
            }
            "download" => {
                let url: hyper::Uri = format!("{}/16m", a.base).parse().unwrap();
                let mut total = 0usize;
                for _ in 0..a.n {
                    let mut body = client.get(url.clone()).await.unwrap().into_body();
                    while let Some(frame) = body.frame().await {
                        if let Ok(d) = frame.unwrap().into_data() {
                            total += d.len();
                        }
                    }
                }
                assert_eq!(total, a.n << 24);
                (total >> 20) as f64
            }
            other => panic!("unknown scenario {other}"),
        };
        common::report(units, t0.elapsed(), common::cpu_seconds() - cpu0);
    });
}
