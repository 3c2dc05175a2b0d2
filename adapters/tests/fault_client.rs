//! Faults seen by the client, on real loopback sockets, on every runtime: the server
//! closes a pooled connection just before reuse, resets in the middle of a head, a body or
//! a chunk, half-closes; the name does not resolve; the address is a black hole; TLS
//! fails; the upload stream fails halfway. Each case checks the typed error the user
//! gets and that no connection is left behind (`open_connections()`).
//! `cargo test -p sansweb --test fault_client`

mod fault_support;
mod web_support;

use fault_support::{
    half_close, read_head, read_request, read_to_end, reset, script_server, tcp_mem_max,
    write_then_reset,
};
use futures_lite::stream;
use sansweb::client::{ConnectorKind, TimeoutKind};
use sansweb::rt::Runtime;
use sansweb::{ClientError, ClientSession, ClientTimeout};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn session<R: Runtime>(rt: &R) -> ClientSession<R> {
    ClientSession::builder_with_runtime(rt.clone())
        .build()
        .expect("session")
}

fn url(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

fn ok_response(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// `(connection index, method)` of every request a scripted server read.
type RequestLog = Arc<Mutex<Vec<(usize, String)>>>;

/// Every connection answers its first request (keep-alive), then takes the second one
/// and closes without a word — with a FIN, or an RST when `rst` — the race where the
/// server's idle close crosses the client's reuse. Logs `(connection, method)`.
fn closes_before_second_answer(rst: bool) -> (SocketAddr, RequestLog) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let addr = script_server(move |i, mut s: TcpStream| {
        let mut n = 0;
        while let Some((head, _)) = read_request(&mut s) {
            let method = head.split(' ').next().unwrap_or("").to_owned();
            log2.lock().unwrap().push((i, method));
            n += 1;
            if n == 2 {
                if rst {
                    reset(s);
                }
                return;
            }
            s.write_all(&ok_response("ok")).unwrap();
        }
    });
    (addr, log)
}

async fn pooled_connection_closed_before_reuse<R: Runtime>(rt: R) {
    for rst in [false, true] {
        let (addr, log) = closes_before_second_answer(rst);
        let s = session(&rt);
        let mut r = s.get(&url(addr, "/a")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "ok");
        assert_eq!(s.idle_connections(), 1);
        // Idempotent: the stale connection is dropped and the GET retried, once, on a
        // new connection; the user sees only the answer.
        let mut r = s.get(&url(addr, "/b")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "ok");
        assert_eq!(
            *log.lock().unwrap(),
            [(0, "GET".into()), (0, "GET".into()), (1, "GET".into())],
            "rst={rst}"
        );
        assert_eq!((s.open_connections(), s.idle_connections()), (1, 1));
        // Not idempotent: never repeated, and the error says the server may have seen it.
        let err = s
            .post(&url(addr, "/c"))
            .body("side effect")
            .send()
            .await
            .unwrap_err();
        // A reset reads as the server going away, like a FIN.
        assert!(
            matches!(
                err,
                ClientError::ServerDisconnected {
                    response_started: false
                }
            ),
            "rst={rst}: {err:?}"
        );
        assert!(err.may_have_reached_server());
        assert_eq!(log.lock().unwrap().len(), 4, "the POST was sent once");
        assert_eq!(s.open_connections(), 0, "the dead connection is gone");
    }
}

/// A server that resets after sending `partial` of the response to `path`.
fn resets_after(partial: &'static [u8]) -> SocketAddr {
    script_server(move |_, mut s| {
        if read_request(&mut s).is_some() {
            write_then_reset(s, partial, 100);
        }
    })
}

/// A reset after part of a response: the server went away mid-response (the reset
/// is reported as a disconnect, like aiohttp's `ServerDisconnectedError`).
fn is_broken_response(err: &ClientError) -> bool {
    matches!(
        err,
        ClientError::ServerDisconnected {
            response_started: true
        }
    )
}

async fn server_resets_mid_head_body_chunk<R: Runtime>(rt: R) {
    let s = session(&rt);
    // Mid head: no response at all.
    let addr = resets_after(b"HTTP/1.1 200 OK\r\nContent-Le");
    let err = s.get(&url(addr, "/")).send().await.unwrap_err();
    assert!(is_broken_response(&err), "{err:?}");
    assert!(err.may_have_reached_server());
    assert_eq!(s.open_connections(), 0);
    // Mid body: the head arrived, the body fails.
    let mut partial = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n".to_vec();
    partial.extend_from_slice(&[b'b'; 100]);
    let addr = resets_after(partial.leak());
    let mut r = s.get(&url(addr, "/")).send().await.unwrap();
    let err = r.bytes().await.unwrap_err();
    assert!(is_broken_response(&err), "{err:?}");
    drop(r);
    assert_eq!(s.open_connections(), 0);
    // Mid chunk: a chunk of 0x100 bytes stops at 50.
    let mut partial = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n".to_vec();
    partial.extend_from_slice(&[b'c'; 50]);
    let addr = resets_after(partial.leak());
    let mut r = s.get(&url(addr, "/")).send().await.unwrap();
    let err = r.bytes().await.unwrap_err();
    assert!(is_broken_response(&err), "{err:?}");
    drop(r);
    assert_eq!(s.open_connections(), 0);
}

async fn server_half_closes<R: Runtime>(rt: R) {
    let s = session(&rt);
    // The server reads the request, then shuts its side without answering (and keeps
    // reading): the request may have been seen.
    let addr = script_server(|_, mut s| {
        if read_request(&mut s).is_some() {
            half_close(&s);
            read_to_end(&mut s);
        }
    });
    let err = s.get(&url(addr, "/")).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::ServerDisconnected {
                response_started: false
            }
        ),
        "{err:?}"
    );
    assert!(err.may_have_reached_server());
    assert_eq!(s.open_connections(), 0);
    // Half-closed in the middle of a Content-Length body: a truncated body is an error.
    let addr = script_server(|_, mut s| {
        if read_request(&mut s).is_some() {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
            half_close(&s);
            read_to_end(&mut s);
        }
    });
    let mut r = s.get(&url(addr, "/")).send().await.unwrap();
    let err = r.text().await.unwrap_err();
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
    assert_eq!(s.open_connections(), 0);
    // A close-delimited body ends at the half-close: that is a complete response, and
    // the connection is not pooled.
    let addr = script_server(|_, mut s| {
        if read_request(&mut s).is_some() {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n\r\nuntil eof");
            half_close(&s);
            read_to_end(&mut s);
        }
    });
    let mut r = s.get(&url(addr, "/")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "until eof");
    drop(r);
    assert_eq!(s.open_connections(), 0);
}

async fn dns_failure<R: Runtime>(rt: R) {
    let s = session(&rt);
    // RFC 6761: `.invalid` never resolves.
    let err = s
        .get("http://fault-test.invalid/")
        .send()
        .await
        .unwrap_err();
    match &err {
        ClientError::Connector {
            kind: ConnectorKind::Dns,
            host,
            ..
        } => assert_eq!(host, "fault-test.invalid:80"),
        other => panic!("expected Connector{{Dns}}, got {other:?}"),
    }
    assert!(!err.may_have_reached_server());
    assert_eq!(s.open_connections(), 0);
}

/// A listener with backlog 0 whose accept queue is full and never drained: Linux drops
/// further SYNs (the client retransmits them for minutes), so a connect hangs — a black
/// hole on loopback. Returns the address and the sockets that fill the queue.
fn black_hole() -> (SocketAddr, socket2::Socket, Vec<TcpStream>) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&any.into()).unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut filling = Vec::new();
    // Linux queues backlog + 1 connections; connect until one hangs.
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => filling.push(s),
            Err(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::TimedOut, "{e}");
                return (addr, listener, filling);
            }
        }
    }
    panic!(
        "the accept queue never filled: {} connections",
        filling.len()
    );
}

async fn connect_timeout_black_hole<R: Runtime>(rt: R) {
    let (addr, _listener, _filling) = black_hole();
    let s = session(&rt);
    let t = ClientTimeout {
        sock_connect: Some(Duration::from_millis(300)),
        ..ClientTimeout::default()
    };
    let start = rt.now();
    let err = s.get(&url(addr, "/")).timeout(t).send().await.unwrap_err();
    let waited = rt.now() - start;
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                kind: TimeoutKind::SockConnect,
                request_sent: false
            }
        ),
        "{err:?}"
    );
    assert!(!err.may_have_reached_server());
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert_eq!(s.open_connections(), 0);
    // The `connect` budget (pool wait + set-up) fires the same way, with its own kind.
    let t = ClientTimeout {
        connect: Some(Duration::from_millis(200)),
        ..ClientTimeout::default()
    };
    let err = s.get(&url(addr, "/")).timeout(t).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                kind: TimeoutKind::Connect,
                request_sent: false
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.open_connections(), 0);
}

async fn tls_handshake_failure<R: Runtime>(rt: R) {
    let s = session(&rt);
    // A plain HTTP server on the https port: it answers the ClientHello with a 400.
    let plain = script_server(|_, mut s| {
        let mut hello = [0u8; 64];
        let _ = std::io::Read::read(&mut s, &mut hello);
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        read_to_end(&mut s);
    });
    let err = s
        .get(&format!("https://{plain}/"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connector {
                kind: ConnectorKind::Tls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.may_have_reached_server());
    assert_eq!(s.open_connections(), 0);
    // A server whose certificate no root vouches for.
    let certs = web_support_tls::certs();
    let addr = web_support_tls::tls_server(&certs, false);
    let err = s
        .get(&format!("https://localhost:{}/", addr.port()))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connector {
                kind: ConnectorKind::Tls,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.open_connections(), 0);
    // A server that resets in the middle of the handshake.
    let addr = script_server(|_, mut s| {
        let mut hello = [0u8; 16];
        let _ = std::io::Read::read(&mut s, &mut hello);
        write_then_reset(s, b"\x16\x03\x03\x00", 0);
    });
    let err = s
        .get(&format!("https://localhost:{}/", addr.port()))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connector(), "{err:?}");
    assert_eq!(s.open_connections(), 0);
}

async fn server_stops_reading<R: Runtime>(rt: R) {
    // The server takes the head, then reads nothing more and answers nothing.
    let addr = script_server(|_, mut s| {
        if read_head(&mut s).is_some() {
            std::thread::sleep(Duration::from_secs(4));
        }
    });
    let pulled = Arc::new(AtomicUsize::new(0));
    let pulled2 = pulled.clone();
    let chunk = bytes::Bytes::from(vec![b'u'; 64 * 1024]);
    // An endless upload: the client pulls a chunk only when the last one was written.
    let body = stream::repeat_with(move || {
        pulled2.fetch_add(chunk.len(), Ordering::SeqCst);
        Ok(chunk.clone())
    });
    let s = session(&rt);
    let t = ClientTimeout {
        total: Some(Duration::from_secs(1)),
        ..ClientTimeout::default()
    };
    let err = s
        .post(&url(addr, "/upload"))
        .body_stream(body)
        .timeout(t)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                kind: TimeoutKind::Total,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.may_have_reached_server(), "the head was sent: {err:?}");
    // Back-pressure: what was pulled fits in the kernel's buffers plus a chunk or two.
    let pulled = pulled.load(Ordering::SeqCst);
    let bound = tcp_mem_max("tcp_wmem") + tcp_mem_max("tcp_rmem") + 2 * 64 * 1024;
    assert!(pulled <= bound, "{pulled} bytes pulled, bound {bound}");
    assert_eq!(s.open_connections(), 0);
}

async fn cancelled_request_frees_its_connection<R: Runtime>(rt: R) {
    // The server takes each request and never answers; it notes when the client's
    // socket closes (EOF).
    let (received, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (received2, closed2) = (received.clone(), closed.clone());
    let addr = script_server(move |_, mut s| {
        if read_request(&mut s).is_some() {
            received2.fetch_add(1, Ordering::SeqCst);
            read_to_end(&mut s);
            closed2.fetch_add(1, Ordering::SeqCst);
        }
    });
    let s = session(&rt);
    // A request future dropped once the server has the request (waiting for the head)...
    let send = s.get(&url(addr, "/")).send();
    let gave_up = futures_lite::future::or(async { send.await.err() }, async {
        fault_support::wait_until(&rt, "the request arrived", Duration::from_secs(5), || {
            received.load(Ordering::SeqCst) == 1
        })
        .await;
        None
    })
    .await;
    assert!(gave_up.is_none(), "{gave_up:?}");
    assert_eq!(s.open_connections(), 0);
    // ... and a spawned request whose task is dropped (which aborts it).
    let (s2, u) = (s.clone(), url(addr, "/"));
    let task = rt.spawn(async move { s2.get(&u).send().await.map(|_| ()) });
    fault_support::wait_until(&rt, "the request is out", Duration::from_secs(5), || {
        s.open_connections() == 1 && received.load(Ordering::SeqCst) == 2
    })
    .await;
    drop(task);
    let deadline = rt.now() + Duration::from_secs(5);
    while s.open_connections() != 0 || closed.load(Ordering::SeqCst) != 2 {
        assert!(
            rt.now() < deadline,
            "both sockets closed: open_connections {}, server saw {} closes",
            s.open_connections(),
            closed.load(Ordering::SeqCst)
        );
        rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
    }
}

#[path = "client_support/tls.rs"]
#[allow(dead_code)]
mod web_support_tls;

async fn upload_stream_fails_halfway<R: Runtime>(rt: R) {
    // The server logs what it saw of each connection: the head, then the raw body
    // bytes up to EOF (chunked: a complete body ends with `0\r\n\r\n`).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let addr = script_server(move |i, mut s| {
        let Some(head) = read_head(&mut s) else {
            return;
        };
        if head.starts_with("POST") {
            let body = read_to_end(&mut s);
            seen2.lock().unwrap().push((i, body));
        } else {
            let _ = s.write_all(&ok_response("fresh"));
            read_to_end(&mut s);
        }
    });
    let s = session(&rt);
    let chunks: Vec<std::io::Result<bytes::Bytes>> = vec![
        Ok(bytes::Bytes::from_static(b"first ")),
        Ok(bytes::Bytes::from_static(b"second ")),
        Err(std::io::Error::other("the source broke")),
        Ok(bytes::Bytes::from_static(b"never sent")),
    ];
    let err = s
        .post(&url(addr, "/upload"))
        .body_stream(stream::iter(chunks))
        .send()
        .await
        .unwrap_err();
    match &err {
        ClientError::RequestBody(e) => assert_eq!(e.to_string(), "the source broke"),
        other => panic!("expected RequestBody, got {other:?}"),
    }
    assert!(err.may_have_reached_server());
    assert_eq!(s.open_connections(), 0, "a half-sent request is not reused");
    // The server saw the first chunks, then EOF without the last-chunk marker: it can
    // tell the body is incomplete.
    let deadline = rt.now() + Duration::from_secs(5);
    while seen.lock().unwrap().is_empty() {
        assert!(rt.now() < deadline, "the server never saw the upload end");
        rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
    }
    let (conn, body) = seen.lock().unwrap()[0].clone();
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(
        body.contains("first ") && body.contains("second "),
        "{body:?}"
    );
    assert!(
        !body.contains("never sent") && !body.ends_with("0\r\n\r\n"),
        "{body:?}"
    );
    // The next request goes on a new connection.
    let mut r = s.get(&url(addr, "/")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "fresh");
    assert_eq!(conn, 0);
}

on_all_runtimes!(
    pooled_connection_closed_before_reuse,
    server_resets_mid_head_body_chunk,
    server_half_closes,
    server_stops_reading,
    dns_failure,
    connect_timeout_black_hole,
    tls_handshake_failure,
    upload_stream_fails_halfway,
    cancelled_request_frees_its_connection,
);
