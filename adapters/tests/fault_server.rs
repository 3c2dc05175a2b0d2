//! Faults seen by the server, on real loopback sockets, on every runtime: the client
//! resets in the middle of a head, a body or a chunk, half-closes after its request,
//! stops reading a large response; a handler panics; a streamed response fails halfway.
//! Each case checks what the handler or the client is told, that the server's
//! live-connection gauge (`connection_count()`) returns to 0 — the connection's task
//! ended — and that the server still serves.
//! `cargo test -p sansweb --test fault_server`

mod fault_support;
mod web_support;

use fault_support::{
    connect, half_close, join, read_to_end, reset, rss_bytes, tcp_mem_max, wait_until,
    write_then_reset, Gauge,
};
use sansweb::rt::Runtime;
use sansweb::web::{App, Request, Response, ServerHandle, StreamResponse};
use sansweb::{ClientError, ClientSession};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use web_support::{get, start};

type Log = Arc<Mutex<Vec<String>>>;

/// `/upload` reads its whole body and logs the outcome (while it runs, it holds one
/// unit of `live`); `/n/{n}` answers `n`.
fn app(log: Log, live: Gauge) -> App {
    App::new()
        .post("/upload", move |req: Request| {
            let (log, live) = (log.clone(), live.clone());
            async move {
                let _live = live.enter();
                let outcome = match req.read().await {
                    Ok(b) => format!("read {}", b.len()),
                    Err(e) => format!("failed {} {}", e.status.as_u16(), e.text),
                };
                log.lock().unwrap().push(outcome);
                Response::text("done")
            }
        })
        .get("/n/{n}", |req: Request| async move {
            Response::text(req.param("n").unwrap_or("").to_owned())
        })
}

/// Waits until the server has no live connection: every connection task has ended.
async fn no_connections<R: Runtime>(rt: &R, server: &ServerHandle) {
    wait_until(
        rt,
        "server connections back to 0",
        Duration::from_secs(5),
        || server.connection_count() == 0,
    )
    .await;
}

async fn client_resets_mid_head_body_chunk<R: Runtime>(rt: R) {
    let (log, live) = (Log::default(), Gauge::default());
    let server = start(&rt, app(log.clone(), live.clone())).await;
    let addr = server.local_addr();
    let cases: [(&str, Vec<u8>); 3] = [
        ("head", b"GET /n/1 HTTP/1.1\r\nHost: t\r\nAcc".to_vec()),
        (
            "body",
            [
                &b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"[..],
                &[b'b'; 100],
            ]
            .concat(),
        ),
        (
            "chunk",
            [
                &b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n"
                    [..],
                &[b'c'; 50],
            ]
            .concat(),
        ),
    ];
    for (what, partial) in cases {
        let peer = thread::spawn(move || write_then_reset(connect(addr), &partial, 100));
        join(&rt, peer).await;
        no_connections(&rt, &server).await;
        // A transport error ends the connection's task, and with it the handler that
        // was reading the body: cancelled (dropped), never handed a complete body.
        wait_until(&rt, "the handler ended", Duration::from_secs(5), || {
            live.get() == 0
        })
        .await;
        if let Some(outcome) = log.lock().unwrap().pop() {
            assert!(outcome.starts_with("failed 4"), "{what}: {outcome}");
        }
        assert_eq!(get(&rt, addr, "/n/7").await.text(), "7", "after {what}");
        no_connections(&rt, &server).await;
    }
    server.shutdown().await;
}

async fn client_half_closes<R: Runtime>(rt: R) {
    let log = Log::default();
    let server = start(&rt, app(log.clone(), Gauge::default())).await;
    let addr = server.local_addr();
    // A request, then shutdown(Write): the server still answers, then closes.
    let peer = thread::spawn(move || {
        let mut s = connect(addr);
        s.write_all(b"GET /n/5 HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        half_close(&s);
        String::from_utf8(read_to_end(&mut s)).unwrap()
    });
    let answer = join(&rt, peer).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(answer.ends_with("\r\n\r\n5"), "{answer:?}");
    no_connections(&rt, &server).await;
    // With a body, and two pipelined requests: both are answered, in order.
    let peer = thread::spawn(move || {
        let mut s = connect(addr);
        s.write_all(
            b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc\
              GET /n/6 HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
        half_close(&s);
        String::from_utf8(read_to_end(&mut s)).unwrap()
    });
    let answer = join(&rt, peer).await;
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer:?}");
    assert!(
        answer.contains("done") && answer.ends_with("6"),
        "{answer:?}"
    );
    assert_eq!(*log.lock().unwrap(), ["read 3"]);
    no_connections(&rt, &server).await;
    // Half-closed before the head was complete: nothing to answer; closed quietly.
    let peer = thread::spawn(move || {
        let mut s = connect(addr);
        s.write_all(b"GET /n/5 HTTP/1.1\r\nHo").unwrap();
        half_close(&s);
        read_to_end(&mut s)
    });
    let answer = join(&rt, peer).await;
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    no_connections(&rt, &server).await;
    server.shutdown().await;
}

/// `/endless` streams 64 KiB chunks until the client is gone, counting what it wrote.
fn endless_app(written: Arc<AtomicUsize>, gone: Log) -> App {
    App::new()
        .get("/endless", move |req: Request| {
            let (written, gone) = (written.clone(), gone.clone());
            async move {
                let (response, mut writer) = StreamResponse::new(4);
                let chunk = bytes::Bytes::from(vec![b'e'; 64 * 1024]);
                let task = async move {
                    loop {
                        if let Err(e) = writer.write(chunk.clone()).await {
                            gone.lock().unwrap().push(e.to_string());
                            return;
                        }
                        written.fetch_add(chunk.len(), Ordering::SeqCst);
                    }
                };
                req.runtime().expect("served").spawn(Box::pin(task));
                response
            }
        })
        .get("/n/{n}", |req: Request| async move {
            Response::text(req.param("n").unwrap_or("").to_owned())
        })
}

async fn client_stops_reading<R: Runtime>(rt: R) {
    let written = Arc::new(AtomicUsize::new(0));
    let gone = Log::default();
    let server = start(&rt, endless_app(written.clone(), gone.clone())).await;
    let addr = server.local_addr();
    let rss_before = rss_bytes();
    // A client that asks for the endless body and never reads a byte of it.
    let mut stalled = fault_support::connect(addr);
    stalled
        .write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // The writes fill the socket buffers, then stop: the writer waits.
    let mut plateau = 0;
    for _ in 0..100 {
        let before = written.load(Ordering::SeqCst);
        rt.sleep_until(rt.now() + Duration::from_millis(100)).await;
        let after = written.load(Ordering::SeqCst);
        if after > 0 && after == before {
            plateau += 1;
            if plateau == 3 {
                break;
            }
        } else {
            plateau = 0;
        }
    }
    assert_eq!(plateau, 3, "the writer never stalled");
    let stalled_at = written.load(Ordering::SeqCst);
    // What left the writer sits in the kernel (the server's send buffer and the
    // client's receive buffer, each autotuned up to its sysctl maximum), in the
    // server's write buffer (one chunk) or in the stream's queue (4 chunks).
    let kernel = tcp_mem_max("tcp_wmem") + tcp_mem_max("tcp_rmem");
    let bound = kernel + 8 * 64 * 1024;
    assert!(
        stalled_at <= bound,
        "{stalled_at} bytes written, bound {bound}"
    );
    // RSS is the whole test process (other tests run alongside), so the bound is wide:
    // without back-pressure the writer would fill memory at GB/s.
    let grown = rss_bytes().saturating_sub(rss_before);
    assert!(grown < 256 << 20, "RSS grew by {grown} bytes");
    // Meanwhile others are served.
    for n in 0..5 {
        assert_eq!(
            get(&rt, addr, &format!("/n/{n}")).await.text(),
            n.to_string()
        );
    }
    rt.sleep_until(rt.now() + Duration::from_millis(300)).await;
    assert_eq!(written.load(Ordering::SeqCst), stalled_at, "still stalled");
    // The client goes away: the write fails, the writer learns it, the task ends.
    reset(stalled);
    wait_until(
        &rt,
        "the writer saw the client go",
        Duration::from_secs(5),
        || !gone.lock().unwrap().is_empty(),
    )
    .await;
    no_connections(&rt, &server).await;
    server.shutdown().await;
}

async fn handler_panics<R: Runtime>(rt: R) {
    let app = App::new()
        .get("/panic", |_req: Request| async move {
            if std::hint::black_box(true) {
                panic!("handler bug (expected by the test)");
            }
            "unreachable"
        })
        .get("/ok", |_req: Request| async move { "ok" });
    let server = start(&rt, app).await;
    let session = ClientSession::builder_with_runtime(rt.clone())
        .build()
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    for _ in 0..3 {
        let mut r = session.get(&format!("{base}/panic")).send().await.unwrap();
        assert_eq!(r.status(), 500);
        r.bytes().await.unwrap();
        let mut r = session.get(&format!("{base}/ok")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "ok");
    }
    // One keep-alive connection carried all six: the panic did not cost it.
    assert_eq!(session.open_connections(), 1);
    assert_eq!(server.connection_count(), 1);
    session.close();
    drop(session);
    no_connections(&rt, &server).await;
    server.shutdown().await;
}

async fn streamed_response_fails_halfway<R: Runtime>(rt: R) {
    let app = App::new()
        .get("/broken", |req: Request| async move {
            let (response, mut writer) = StreamResponse::new(2);
            let task = async move {
                let _ = writer.write("partial ").await;
                let _ = writer.write("data").await;
                writer.abort("the data source failed");
            };
            req.runtime().expect("served").spawn(Box::pin(task));
            response
        })
        .get("/ok", |_req: Request| async move { "ok" });
    let server = start(&rt, app).await;
    let session = ClientSession::builder_with_runtime(rt.clone())
        .build()
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    for _ in 0..3 {
        let mut r = session.get(&format!("{base}/broken")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let err = r.bytes().await.unwrap_err();
        assert!(
            matches!(
                err,
                ClientError::ServerDisconnected {
                    response_started: true
                } | ClientError::Payload(_)
            ),
            "{err:?}"
        );
        drop(r);
        assert_eq!(session.open_connections(), 0, "not reused");
        no_connections(&rt, &server).await;
    }
    let mut r = session.get(&format!("{base}/ok")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    drop(session);
    no_connections(&rt, &server).await;
    server.shutdown().await;
}

async fn upload_stream_fails_halfway<R: Runtime>(rt: R) {
    let (log, live) = (Log::default(), Gauge::default());
    let server = start(&rt, app(log.clone(), live.clone())).await;
    let session = ClientSession::builder_with_runtime(rt.clone())
        .build()
        .unwrap();
    let url = format!("http://{}/upload", server.local_addr());
    let chunks: Vec<std::io::Result<bytes::Bytes>> = vec![
        Ok(bytes::Bytes::from_static(b"first ")),
        Err(std::io::Error::other("the source broke")),
    ];
    let err = session
        .post(&url)
        .body_stream(futures_lite::stream::iter(chunks))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::RequestBody(_)), "{err:?}");
    assert_eq!(session.open_connections(), 0);
    // The handler sees a body that ended early (400), never a complete one.
    wait_until(
        &rt,
        "the handler saw the upload fail",
        Duration::from_secs(5),
        || !log.lock().unwrap().is_empty(),
    )
    .await;
    let outcome = log.lock().unwrap()[0].clone();
    assert!(outcome.starts_with("failed 4"), "{outcome}");
    no_connections(&rt, &server).await;
    assert_eq!(live.get(), 0);
    let ok = session
        .post(&url)
        .body("whole")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ok, "done");
    assert_eq!(log.lock().unwrap()[1], "read 5");
    server.shutdown().await;
}

on_all_runtimes!(
    client_resets_mid_head_body_chunk,
    client_half_closes,
    client_stops_reading,
    handler_panics,
    streamed_response_fails_halfway,
    upload_stream_fails_halfway,
);
