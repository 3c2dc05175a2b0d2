//! The connection policy over real sockets, on every runtime: body and head limits,
//! slowloris, keep-alive, pipelining, handler panics, graceful shutdown.
//! `cargo test -p sansweb --all-features --test web_conn`

mod web_support;

use sansweb::rt::Runtime;
use sansweb::web::{App, Request, Response, ServerConfig};
use std::time::Duration;
use web_support::{get, request, sleep, start, start_with, RawConn};

/// A request with a space in a field name: malformed (RFC 9112 §5.1), answered 400.
const MALFORMED: &str = "GET /n/1 HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n";

fn echo_app() -> App {
    App::new()
        .client_max_size(100)
        .post("/echo", |req: Request| async move {
            req.read().await.map(Response::bytes)
        })
        .get("/n/{n}", |req: Request| async move {
            Response::text(req.param("n").unwrap_or("").to_owned())
        })
        .get("/panic", |_req: Request| async move {
            if std::hint::black_box(true) {
                panic!("handler bug");
            }
            "unreachable"
        })
}

async fn body_over_client_max_size<R: Runtime>(rt: R) {
    let server = start(&rt, echo_app()).await;
    let addr = server.local_addr();
    let ok = "x".repeat(100);
    let r = request(
        &rt,
        addr,
        &format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{ok}"),
    )
    .await;
    assert_eq!((r.status, r.body.len()), (200, 100));
    // Declared too large: refused before reading.
    let big = "x".repeat(101);
    let r = request(
        &rt,
        addr,
        &format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n{big}"),
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.text());
    // Chunked, no length declared: refused once the limit is crossed.
    let r = request(
        &rt,
        addr,
        &format!("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{0}\r\n40\r\n{0}\r\n0\r\n\r\n", "y".repeat(64)),
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.text());
    server.shutdown().await;
}

async fn head_limits<R: Runtime>(rt: R) {
    let server = start(&rt, echo_app()).await;
    let addr = server.local_addr();
    let long_target = format!("/n/{}", "a".repeat(9000));
    let mut conn = RawConn::connect(&rt, addr).await;
    conn.send(format!("GET {long_target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .await;
    let r = conn.response(false).await.expect("a 414");
    assert_eq!(r.status, 414);
    assert!(conn.closed().await, "the connection closes after a 4xx");

    let big_header = format!("X-Big: {}", "b".repeat(9000));
    let r = request(
        &rt,
        addr,
        &format!("GET /n/1 HTTP/1.1\r\nHost: t\r\n{big_header}\r\n\r\n"),
    )
    .await;
    assert_eq!(r.status, 431);
    let many: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let r = request(
        &rt,
        addr,
        &format!("GET /n/1 HTTP/1.1\r\nHost: t\r\n{many}\r\n"),
    )
    .await;
    assert_eq!(r.status, 431);
    // Malformed: 400, and other connections are unaffected.
    let r = request(&rt, addr, MALFORMED).await;
    assert_eq!(r.status, 400);
    assert_eq!(get(&rt, addr, "/n/5").await.text(), "5");
    server.shutdown().await;
}

#[allow(clippy::disallowed_methods)]
async fn slowloris_closed_at_deadline<R: Runtime>(rt: R) {
    let mut config = ServerConfig::default();
    config.h1.head_read_timeout = Some(Duration::from_millis(300));
    let server = start_with(&rt, echo_app(), config).await;
    let addr = server.local_addr();
    let mut conn = RawConn::connect(&rt, addr).await;
    let started = std::time::Instant::now();
    // A byte every 50 ms: always active, never a complete head.
    let mut closed_at = None;
    for byte in
        b"GET /n/1 HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter()
    {
        if conn.try_send(&[*byte]).await.is_err() {
            closed_at = Some(started.elapsed());
            break;
        }
        sleep(&rt, 50).await;
    }
    let closed_at = closed_at.unwrap_or_else(|| {
        // Writes may still succeed after the close; the read side tells.
        started.elapsed()
    });
    let rest = conn.response(false).await;
    if let Some(r) = &rest {
        assert_eq!(r.status, 408, "a timeout answer, if any, is 408");
    }
    assert!(conn.closed().await, "closed once the head deadline passed");
    let elapsed = started.elapsed();
    assert!(
        closed_at >= Duration::from_millis(250) && closed_at < Duration::from_millis(1500),
        "closed at {closed_at:?} (total {elapsed:?}), deadline 300 ms"
    );
    // The server still serves others.
    assert_eq!(get(&rt, addr, "/n/2").await.text(), "2");
    server.shutdown().await;
}

async fn keep_alive_reuse<R: Runtime>(rt: R) {
    let server = start(&rt, echo_app()).await;
    let addr = server.local_addr();
    let mut conn = RawConn::connect(&rt, addr).await;
    for i in 0..20 {
        conn.send(format!("GET /n/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await;
        let r = conn
            .response(false)
            .await
            .expect("response on the same connection");
        assert_eq!((r.status, r.text()), (200, i.to_string()));
        let post = format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nb{i:02}");
        conn.send(post.as_bytes()).await;
        let r = conn
            .response(false)
            .await
            .expect("response on the same connection");
        assert_eq!(r.text(), format!("b{i:02}"));
    }
    assert_eq!(server.connection_count(), 1);
    conn.send(b"GET /n/last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(conn.response(false).await.expect("last").text(), "last");
    assert!(conn.closed().await);
    server.shutdown().await;
}

async fn pipelining<R: Runtime>(rt: R) {
    let server = start(&rt, echo_app()).await;
    let addr = server.local_addr();
    let mut conn = RawConn::connect(&rt, addr).await;
    let mut batch = String::new();
    for i in 0..10 {
        if i % 3 == 0 {
            batch.push_str(&format!(
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\np{i:03}"
            ));
        } else {
            batch.push_str(&format!("GET /n/{i} HTTP/1.1\r\nHost: t\r\n\r\n"));
        }
    }
    conn.send(batch.as_bytes()).await;
    for i in 0..10 {
        let r = conn
            .response(false)
            .await
            .expect("every pipelined response");
        let want = if i % 3 == 0 {
            format!("p{i:03}")
        } else {
            i.to_string()
        };
        assert_eq!((r.status, r.text()), (200, want), "response {i} in order");
    }
    server.shutdown().await;
}

async fn handler_panic_is_500<R: Runtime>(rt: R) {
    let server = start(&rt, echo_app()).await;
    let addr = server.local_addr();
    let mut conn = RawConn::connect(&rt, addr).await;
    conn.send(b"GET /panic HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(conn.response(false).await.expect("a 500").status, 500);
    // Same connection, then a new one: still serving.
    conn.send(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(conn.response(false).await.expect("next").text(), "1");
    for _ in 0..3 {
        assert_eq!(get(&rt, addr, "/panic").await.status, 500);
    }
    assert_eq!(get(&rt, addr, "/n/2").await.text(), "2");
    server.shutdown().await;
}

async fn graceful_shutdown_with_request_in_flight<R: Runtime>(rt: R) {
    let app = App::new().get("/slow", |req: Request| async move {
        req.sleep(Duration::from_millis(300)).await;
        "finished"
    });
    let server = start(&rt, app).await;
    let addr = server.local_addr();
    let mut busy = RawConn::connect(&rt, addr).await;
    busy.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let mut idle = RawConn::connect(&rt, addr).await;
    idle.send(b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(idle.response(false).await.expect("404").status, 404);
    sleep(&rt, 50).await; // the slow request is in its handler
    let shutdown = rt.spawn(server.shutdown());
    sleep(&rt, 50).await;
    // The request in flight completes...
    let r = busy
        .response(false)
        .await
        .expect("in-flight request completes");
    assert_eq!((r.status, r.text().as_str()), (200, "finished"));
    assert!(busy.closed().await, "then its connection closes");
    // ... the idle connection was closed...
    assert!(idle.closed().await);
    shutdown.await.expect("shutdown task");
    // ... and new connections are refused.
    let refused = rt
        .connect_tcp(addr)
        .await
        .err()
        .expect("no listener any more");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// The seconds since the epoch of a response's `Date` (which it must carry: RFC 9110
/// §6.6.1, an origin server with a clock sends it on every 4xx).
fn date_secs(r: &web_support::RawResponse) -> u64 {
    let date = r.header("date").expect("a Date header");
    let at = httpdate::parse_http_date(date).expect("an IMF-fixdate");
    at.duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[allow(clippy::disallowed_methods)]
fn wall_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The core answers malformed requests itself; its answers carry the current `Date`,
/// on a new connection (no response of ours set one yet) and on one idle since its last
/// response (its date from then is stale).
async fn core_answers_carry_the_current_date<R: Runtime>(rt: R) {
    let server = start(&rt, echo_app()).await;
    let addr = server.local_addr();
    let before = wall_secs();
    let r = request(&rt, addr, MALFORMED).await;
    assert_eq!(r.status, 400);
    assert!(
        date_secs(&r) >= before,
        "a new connection's 400 is dated now"
    );

    let mut conn = RawConn::connect(&rt, addr).await;
    conn.send(b"GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n").await;
    let first = conn.response(false).await.expect("a response");
    assert_eq!(first.status, 200);
    // Into the next second (at least), then a malformed request on the same connection.
    sleep(&rt, 1100).await;
    let before = wall_secs();
    assert!(before > date_secs(&first));
    conn.send(MALFORMED.as_bytes()).await;
    let r = conn.response(false).await.expect("a 400");
    assert_eq!(r.status, 400);
    assert!(
        date_secs(&r) >= before,
        "the 400 is dated now, not at the last response"
    );
    server.shutdown().await;
}

on_all_runtimes!(
    core_answers_carry_the_current_date,
    body_over_client_max_size,
    head_limits,
    slowloris_closed_at_deadline,
    keep_alive_reuse,
    pipelining,
    handler_panic_is_500,
    graceful_shutdown_with_request_in_flight,
);
