//! Trace hooks on every runtime: the events of a request, a reuse, a redirect and a
//! failure arrive in order.

mod client_support;

use std::sync::{Arc, Mutex};

use client_support::{refused_port, TestServer};
use sansweb::client::TraceEvent;
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

on_every_runtime!(trace_events_in_order);
