//! sansweb's `ClientSession` on one current-thread tokio runtime.
//!
//! client_sansweb seq|conc|download BASE_URL N [CONCURRENCY]

#[path = "../client_common.rs"]
mod common;

use std::time::Instant;

use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::ClientSession;

fn main() {
    let a = common::args();
    TokioRuntime::block_on(|rt| async move {
        let session = ClientSession::builder_with_runtime(rt.clone())
            .limit(a.concurrency.max(1))
            .no_cookies()
            .auto_decompress(false)
            .build()
            .expect("session");
        let hello = format!("{}/", a.base);
        // Warm-up: connections open, caches filled.
        for _ in 0..100 {
            session
                .get(&hello)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
        }
        let cpu0 = common::cpu_seconds();
        let t0 = Instant::now();
        let units = match a.scenario.as_str() {
            "seq" => {
                for _ in 0..a.n {
                    let body = session
                        .get(&hello)
                        .send()
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap();
                    assert_eq!(body.len(), 13);
                }
                a.n as f64
            }
            "conc" => {
                let per = a.n / a.concurrency;
                let tasks: Vec<_> = (0..a.concurrency)
                    .map(|_| {
                        let (s, url) = (session.clone(), hello.clone());
                        rt.spawn(async move {
                            for _ in 0..per {
                                let body = s.get(&url).send().await.unwrap().bytes().await.unwrap();
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
                let url = format!("{}/16m", a.base);
                let mut total = 0usize;
                for _ in 0..a.n {
                    let mut r = session.get(&url).send().await.unwrap();
                    while let Some(c) = r.chunk().await.unwrap() {
                        total += c.len();
                    }
                }
                assert_eq!(total, a.n << 24);
                (total >> 20) as f64
            }
            other => panic!("unknown scenario {other}"),
        };
        common::report(units, t0.elapsed(), common::cpu_seconds() - cpu0);
    })
    .unwrap();
}
