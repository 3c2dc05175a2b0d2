//! Trace hooks on every runtime: the events of a request, a reuse, a redirect and a
//! failure arrive in order.

mod client_support;

use std::sync::{Arc, Mutex};

use client_support::{refused_port, TestServer};
use std::time::Duration;

use sansweb::client::{ClientError, ConnectorKind, StaticResolver, TraceEvent};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

fn name(e: &TraceEvent<'_>) -> String {
    match e {
        TraceEvent::RequestStart { method, url, .. } => format!("start {method} {}", url.path()),
        TraceEvent::RequestRedirect { status, .. } => format!("redirect {}", status.as_u16()),
        TraceEvent::RequestEnd { status, .. } => format!("end {}", status.as_u16()),
        TraceEvent::RequestException { error, .. } => {
            format!("exception connector={}", error.is_connector())
        }
        TraceEvent::ConnectionQueuedStart => "queued".into(),
        TraceEvent::ConnectionQueuedEnd => "dequeued".into(),
        TraceEvent::ConnectionCreateStart => "create".into(),
        TraceEvent::ConnectionCreateEnd => "created".into(),
        TraceEvent::ConnectionReuse => "reuse".into(),
        TraceEvent::DnsCacheHit { host } => format!("cache-hit {host}"),
        TraceEvent::DnsCacheMiss { host } => format!("cache-miss {host}"),
        TraceEvent::DnsResolveHostStart { host } => format!("dns {host}"),
        TraceEvent::DnsResolveHostEnd { host } => format!("dns-done {host}"),
        TraceEvent::RequestHeadersSent { headers, .. } => {
            format!("sent host={}", headers.contains_key("host"))
        }
        TraceEvent::ResponseChunkReceived { .. } => "chunk".into(),
        _ => "other".into(),
    }
}

async fn trace_events_in_order<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let s = ClientSession::builder_with_runtime(rt)
        .trace(move |e| log2.lock().unwrap().push(name(e)))
        .build()
        .unwrap();
    s.get(&srv.url("/text"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    s.get(&srv.url("/redirect/1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let port = refused_port();
    let _ = s.get(&format!("http://127.0.0.1:{port}/x")).send().await;
    let got = log.lock().unwrap().clone();
    let want = [
        "start GET /text",
        "create",
        "created",
        "sent host=true",
        "end 200",
        "chunk",
        "start GET /redirect/1",
        "reuse",
        "sent host=true",
        "redirect 302",
        "reuse",
        "sent host=true",
        "end 200",
        "chunk",
        "start GET /x",
        "create",
        "exception connector=true",
    ];
    assert_eq!(got, want);
}

async fn custom_resolver_and_dns_cache<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let s = ClientSession::builder_with_runtime(rt.clone())
        .resolver(StaticResolver::new().add("api.test", "127.0.0.1".parse().unwrap()))
        .ttl_dns_cache(Some(Duration::from_millis(150)))
        .force_close(true)
        .trace(move |e| {
            let n = name(e);
            if n.contains("dns") || n.contains("cache") {
                log2.lock().unwrap().push(n);
            }
        })
        .build()
        .unwrap();
    let url = format!("http://api.test:{}/headers", srv.addr.port());
    let text = s.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(
        text.contains(&format!("host: api.test:{}", srv.addr.port())),
        "{text}"
    );
    s.get(&url).send().await.unwrap().text().await.unwrap();
    rt.sleep_until(rt.now() + Duration::from_millis(300)).await;
    s.get(&url).send().await.unwrap().text().await.unwrap();
    let got = log.lock().unwrap().clone();
    assert_eq!(
        got,
        [
            "cache-miss api.test",
            "dns api.test",
            "dns-done api.test",
            "cache-hit api.test",
            "cache-miss api.test",
            "dns api.test",
            "dns-done api.test",
        ]
    );
    let err = s.get("http://other.test/").send().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connector {
                kind: ConnectorKind::Dns,
                ..
            }
        ),
        "{err:?}"
    );
}

on_every_runtime!(trace_events_in_order, custom_resolver_and_dns_cache);
