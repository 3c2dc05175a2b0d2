//! Pool behaviour under concurrency, on every runtime: limits hold, queued requests are
//! served as connections free up, a pool-queue timeout fires, dropping a queued request
//! gives its place back.

mod client_support;

use std::collections::HashSet;
use std::time::Duration;

use client_support::TestServer;
use sansweb::client::{ClientError, ClientTimeout, TimeoutKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

async fn limit_per_host_queues_and_serves<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(rt.clone())
        .limit_per_host(2)
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = s.clone();
            let url = srv.url("/text");
            rt.spawn(async move {
                let mut r = s.get(&url).send().await?;
                r.text().await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), "héllo wörld");
    }
    let conns: HashSet<usize> = srv.seen().iter().map(|r| r.conn).collect();
    assert_eq!(srv.seen().len(), 8);
    assert!(conns.len() <= 2, "never more than 2 connections: {conns:?}");
    assert!(s.open_connections() <= 2);
}

async fn pool_queue_timeout_and_cancel<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(rt.clone())
        .limit(1)
        .build()
        .unwrap();
    // Hold the only connection with an unread response.
    let held = s.get(&srv.url("/big")).send().await.unwrap();
    let t = ClientTimeout {
        pool_queue: Some(Duration::from_millis(100)),
        ..ClientTimeout::default()
    };
    let err = s
        .get(&srv.url("/text"))
        .timeout(t)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                kind: TimeoutKind::PoolQueue,
                request_sent: false
            }
        ),
        "{err:?}"
    );
    assert!(!err.may_have_reached_server());
    // A queued request that is dropped leaves the queue; the next one gets the slot
    // once the held response is dropped.
    {
        let fut = s.get(&srv.url("/text")).send();
        let mut fut = std::pin::pin!(fut);
        let polled = futures_lite::future::poll_once(&mut fut).await;
        assert!(polled.is_none(), "queued behind the held connection");
    }
    drop(held);
    let mut r = s.get(&srv.url("/text")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    assert_eq!(s.open_connections(), 1);
}

on_every_runtime!(
    limit_per_host_queues_and_serves,
    pool_queue_timeout_and_cancel
);
