//! ClientSession end to end against a std-thread test server, on tokio, smol and
//! async-std (each scenario runs once per runtime).

mod client_support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use client_support::{refused_port, TestServer};
use sansweb::client::{ClientError, ClientTimeout, ConnectorKind, TimeoutKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

fn session<R: Runtime>(rt: R) -> ClientSession<R> {
    ClientSession::with_runtime(rt)
}

async fn get_text<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    let mut r = s.get(&srv.url("/text")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.reason(), "OK");
    assert_eq!(r.url().as_str(), srv.url("/text"));
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    let mut r = s.get(&srv.url("/latin1")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "café");
}

async fn get_json<R: Runtime>(rt: R) {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Doc {
        name: String,
        n: u32,
    }
    let srv = TestServer::start();
    let s = session(rt);
    let mut r = s.get(&srv.url("/json")).send().await.unwrap();
    assert_eq!(r.content_type().as_deref(), Some("application/json"));
    let doc: Doc = r.json().await.unwrap();
    assert_eq!(
        doc,
        Doc {
            name: "sansweb".into(),
            n: 3
        }
    );
}

async fn post_json_and_form<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    let v = serde_json::json!({"key": "value", "list": [1, 2]});
    let mut r = s.post(&srv.url("/echo")).json(&v).send().await.unwrap();
    assert_eq!(r.headers()["x-method"], "POST");
    assert_eq!(r.headers()["content-type"], "application/json");
    let back: serde_json::Value = r.json().await.unwrap();
    assert_eq!(back, v);

    let mut r = s
        .put(&srv.url("/echo"))
        .form(&[("a", "1 2"), ("b", "é&")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-method"], "PUT");
    assert_eq!(
        r.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(r.text().await.unwrap(), "a=1+2&b=%C3%A9%26");

    // Query parameters are appended, percent-encoded.
    let mut r = s
        .get(&srv.url("/target?x=1"))
        .query(&[("q", "a b"), ("r", "ü")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "/target?x=1&q=a+b&r=%C3%BC");
}

async fn keep_alive_reuse<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    for _ in 0..3 {
        let mut r = s.get(&srv.url("/text")).send().await.unwrap();
        r.text().await.unwrap();
        assert_eq!(s.idle_connections(), 1);
    }
    let seen = srv.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|r| r.conn == seen[0].conn),
        "one TCP connection served every request: {seen:?}"
    );
    // Bodies that came with the head (or none at all: HEAD) complete at once, so the
    // connection is reused even when the user never reads them.
    let before = srv.seen().len();
    let r = s.head(&srv.url("/text")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.is_eof());
    drop(r);
    let r = s.get(&srv.url("/json")).send().await.unwrap();
    assert_eq!(
        s.idle_connections(),
        1,
        "a small body came with the head: checked in"
    );
    assert!(!r.is_eof(), "but not yet read by the user");
    drop(r);
    assert_eq!(s.idle_connections(), 1);
    let seen = srv.seen();
    assert_eq!(seen.len(), before + 2);
    assert!(seen.iter().all(|r| r.conn == seen[0].conn), "{seen:?}");
    // force_close: a new connection for every request.
    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(s.runtime().clone())
        .force_close(true)
        .build()
        .unwrap();
    for _ in 0..2 {
        s.get(&srv.url("/text"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    }
    let seen = srv.seen();
    assert_ne!(seen[0].conn, seen[1].conn);
}

async fn cookies_set_then_sent<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(rt)
        .cookie_jar_unsafe()
        .build()
        .unwrap();
    let mut r = s.get(&srv.url("/set-cookie")).send().await.unwrap();
    let names: Vec<String> = r.cookies().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["session", "theme"]);
    r.text().await.unwrap();
    let mut r = s.get(&srv.url("/cookies")).send().await.unwrap();
    let sent = r.text().await.unwrap();
    assert!(sent.contains("session=abc123"), "{sent}");
    assert!(sent.contains("theme=dark"), "{sent}");
    assert_eq!(s.cookie_jar().unwrap().lock().unwrap().len(), 2);
    // The default jar refuses IP hosts like aiohttp's CookieJar(unsafe=False).
    let strict = ClientSession::builder_with_runtime(s.runtime().clone())
        .build()
        .unwrap();
    strict
        .get(&srv.url("/set-cookie"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut r = strict.get(&srv.url("/cookies")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "");
}

async fn default_headers<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(rt)
        .header("x-api-key", "k1")
        .header("user-agent", "my-agent/1.0")
        .build()
        .unwrap();
    let mut r = s
        .get(&srv.url("/headers"))
        .header("x-extra", "e")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(text.contains("x-api-key: k1"), "{text}");
    assert!(text.contains("user-agent: my-agent/1.0"), "{text}");
    assert!(text.contains("x-extra: e"), "{text}");
    assert!(
        text.contains("accept-encoding: gzip, deflate, br, zstd"),
        "{text}"
    );
    // A request header replaces the default of the same name.
    let mut r = s
        .get(&srv.url("/headers"))
        .header("x-api-key", "k2")
        .send()
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert!(
        text.contains("x-api-key: k2") && !text.contains("k1"),
        "{text}"
    );
}

async fn sock_read_timeout<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    let t = ClientTimeout {
        sock_read: Some(Duration::from_millis(200)),
        ..ClientTimeout::default()
    };
    let err = s
        .get(&srv.url("/slow"))
        .timeout(t)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                kind: TimeoutKind::SockRead,
                request_sent: true
            }
        ),
        "{err:?}"
    );
    assert!(err.may_have_reached_server());
    // During the body too: the head arrives, the rest stalls.
    let mut r = s
        .get(&srv.url("/slow-body"))
        .timeout(t)
        .send()
        .await
        .unwrap();
    let err = r.bytes().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    // A user who pauses between reads is not the server being silent: the 600 ms gap
    // is 350 ms of ours plus 250 ms of the server's, under the 400 ms limit.
    let t4 = ClientTimeout {
        sock_read: Some(Duration::from_millis(400)),
        ..ClientTimeout::default()
    };
    let mut r = s.get(&srv.url("/gap")).timeout(t4).send().await.unwrap();
    assert_eq!(&r.chunk().await.unwrap().unwrap()[..], b"a");
    let rt = s.runtime().clone();
    rt.sleep_until(rt.now() + Duration::from_millis(350)).await;
    assert_eq!(&r.chunk().await.unwrap().unwrap()[..], b"b");
    // Total.
    let t = ClientTimeout {
        total: Some(Duration::from_millis(300)),
        ..ClientTimeout::default()
    };
    let err = s
        .get(&srv.url("/slow"))
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
}

async fn refused_is_connector_error<R: Runtime>(rt: R) {
    let s = session(rt);
    let url = format!("http://127.0.0.1:{}/", refused_port());
    let err = s.get(&url).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connector {
                kind: ConnectorKind::Refused,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.may_have_reached_server());
    assert_eq!(s.open_connections(), 0, "the connect slot was given back");
    let err = s
        .get("http://no-such-host.invalid/")
        .send()
        .await
        .unwrap_err();
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
    let err = s.get("ftp://example.com/").send().await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidUrl(_)), "{err:?}");
}

async fn status_404_raise_for_status<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt.clone());
    let r = s.get(&srv.url("/status/404")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let err = r.raise_for_status().unwrap_err();
    match &err {
        ClientError::Response(e) => {
            assert_eq!(e.status, 404);
            assert_eq!(e.message, "Not Found");
            assert_eq!(e.url.as_str(), srv.url("/status/404"));
        }
        other => panic!("{other:?}"),
    }
    let strict = ClientSession::builder_with_runtime(rt)
        .raise_for_status(true)
        .build()
        .unwrap();
    let err = strict
        .get(&srv.url("/status/500"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    // Per request override.
    let r = strict
        .get(&srv.url("/status/500"))
        .raise_for_status(false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
}

async fn streaming_bounded<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt.clone());
    let mut r = s.get(&srv.url("/chunked")).send().await.unwrap();
    let mut total = 0usize;
    let mut largest = 0usize;
    while let Some(chunk) = r.chunk().await.unwrap() {
        largest = largest.max(chunk.len());
        total += chunk.len();
    }
    assert_eq!(total, 128 * 64 * 1024);
    // Each piece is at most one socket read: the body is never collected.
    assert!(largest <= 64 * 1024, "largest piece {largest}");
    assert_eq!(s.idle_connections(), 1, "read to the end: back in the pool");

    // iter_chunked(n) gives exact sizes across chunk boundaries.
    let mut r = s.get(&srv.url("/chunked")).send().await.unwrap();
    let mut n = 0usize;
    while let Some(piece) = r.iter_chunked(100_000).await.unwrap() {
        n += piece.len();
        if n < 128 * 64 * 1024 {
            assert_eq!(piece.len(), 100_000);
        }
    }
    assert_eq!(n, 128 * 64 * 1024);

    // readline and read(n).
    let mut r = s.get(&srv.url("/lines")).send().await.unwrap();
    assert_eq!(&r.readline().await.unwrap()[..], b"one\n");
    assert_eq!(&r.read(2).await.unwrap()[..], b"tw");
    assert_eq!(&r.readline().await.unwrap()[..], b"o\n");
    assert_eq!(&r.readline().await.unwrap()[..], b"\n");
    assert_eq!(&r.readline().await.unwrap()[..], b"three");
    assert!(r.readline().await.unwrap().is_empty());

    // Nothing is read ahead: the server stalls once the socket buffers are full.
    let mut r = s.get(&srv.url("/endless")).send().await.unwrap();
    let first = r.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    // The kernel's buffers grow as they fill (tcp_rmem goes to 32 MiB here), which takes
    // longer on a loaded machine: wait until the server's count holds still for 300 ms,
    // for up to 20 s. The wait is the runtime's, so a client task that read ahead would
    // run meanwhile and keep the count moving.
    let mut a = srv.endless_written.load(Ordering::SeqCst);
    let mut settled = false;
    for _ in 0..66 {
        rt.sleep_until(rt.now() + Duration::from_millis(300)).await;
        let b = srv.endless_written.load(Ordering::SeqCst);
        if a == b {
            settled = true;
            break;
        }
        a = b;
    }
    assert!(
        settled,
        "server blocked while the client does not read: {a}"
    );
    assert!(
        a < 64 << 20,
        "socket buffers, not the client, hold the backlog: {a}"
    );
    drop(r);
}

async fn dropped_half_read_not_reused<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    let mut r = s.get(&srv.url("/big")).send().await.unwrap();
    let _ = r.chunk().await.unwrap();
    drop(r);
    assert_eq!(s.open_connections(), 0, "closed, not pooled");
    let mut r = s.get(&srv.url("/text")).send().await.unwrap();
    r.text().await.unwrap();
    let seen = srv.seen();
    assert_ne!(
        seen[0].conn, seen[1].conn,
        "a new connection after the drop"
    );
}

async fn redirects_with_history<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    let mut r = s.get(&srv.url("/redirect/3")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.url().as_str(), srv.url("/text"));
    let hist: Vec<String> = r.history().iter().map(|(_, u)| u.to_string()).collect();
    assert_eq!(
        hist,
        [
            srv.url("/redirect/3"),
            srv.url("/redirect/2"),
            srv.url("/redirect/1")
        ]
    );
    assert!(r.history().iter().all(|(s, _)| *s == 302));
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    // The redirect responses' connection was reused throughout.
    let seen = srv.seen();
    assert!(seen.iter().all(|x| x.conn == seen[0].conn), "{seen:?}");

    let err = s
        .get(&srv.url("/redirect/5"))
        .max_redirects(2)
        .send()
        .await
        .unwrap_err();
    match err {
        ClientError::TooManyRedirects { max, history } => {
            assert_eq!(max, 2);
            assert_eq!(history.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    let r = s
        .get(&srv.url("/redirect/2"))
        .follow_redirects(false)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
}

async fn decompression<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt.clone());
    let mut r = s.get(&srv.url("/gzip")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "compressed text ".repeat(1000));
    let capped = ClientSession::builder_with_runtime(rt)
        .max_decompressed_size(1 << 20)
        .build()
        .unwrap();
    let mut r = capped.get(&srv.url("/bomb")).send().await.unwrap();
    let err = r.bytes().await.unwrap_err();
    assert!(matches!(err, ClientError::Payload(_)), "{err:?}");
}

async fn expect_continue_and_close<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    let mut r = s
        .post(&srv.url("/echo"))
        .expect_continue(true)
        .body(&b"payload"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "payload");
    // Connection: close from the server: not pooled, the next request reconnects.
    let mut r = s.get(&srv.url("/close")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "bye");
    assert_eq!(s.idle_connections(), 0);
    s.get(&srv.url("/text"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let seen = srv.seen();
    assert_ne!(seen[1].conn, seen[2].conn);
}

async fn stale_reused_connection_is_retried<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    // The server answers keep-alive, then closes the socket while it sits idle.
    s.get(&srv.url("/oneshot"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(s.idle_connections(), 1);
    std::thread::sleep(Duration::from_millis(100));
    let mut r = s.get(&srv.url("/text")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert_ne!(seen[0].conn, seen[1].conn);
    // Not for POST: it may have reached the server, so it is not repeated.
    s.get(&srv.url("/oneshot"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let err = s
        .post(&srv.url("/echo"))
        .body("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::ServerDisconnected { .. } | ClientError::Io(_)
        ),
        "{err:?}"
    );
}

async fn streamed_upload<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = session(rt);
    let chunks: Vec<std::io::Result<bytes::Bytes>> = (0..100u8)
        .map(|i| Ok(bytes::Bytes::from(vec![i; 10_000])))
        .collect();
    let mut r = s
        .post(&srv.url("/echo"))
        .body_stream(futures_lite::stream::iter(chunks))
        .send()
        .await
        .unwrap();
    let back = r.bytes().await.unwrap();
    assert_eq!(back.len(), 1_000_000);
    assert!(back
        .chunks(10_000)
        .enumerate()
        .all(|(i, c)| c.iter().all(|&b| b == i as u8)));
    let seen = srv.seen();
    assert_eq!(seen[0].headers["transfer-encoding"], "chunked");
    assert!(!seen[0].headers.contains_key("content-length"));
    // A 307 needs the body again: a one-shot stream cannot give it.
    let one: Vec<std::io::Result<bytes::Bytes>> = vec![Ok(bytes::Bytes::from_static(b"x"))];
    let err = s
        .post(&srv.url("/307"))
        .body_stream(futures_lite::stream::iter(one))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Redirect(_)), "{err:?}");
    // An in-memory body follows the 307 with the same method and body.
    let mut r = s.post(&srv.url("/307")).body("again").send().await.unwrap();
    assert_eq!(r.headers()["x-method"], "POST");
    assert_eq!(r.text().await.unwrap(), "again");
    // A failing stream is a local error that may have reached the server.
    let bad: Vec<std::io::Result<bytes::Bytes>> = vec![
        Ok(bytes::Bytes::from_static(b"x")),
        Err(std::io::Error::other("disk gone")),
    ];
    let err = s
        .post(&srv.url("/echo"))
        .body_stream(futures_lite::stream::iter(bad))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::RequestBody(_)), "{err:?}");
    assert!(err.may_have_reached_server());
}

async fn unix_socket_auth_and_request_cookies<R: Runtime>(rt: R) {
    use std::io::{BufRead, BufReader, Write};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = std::env::temp_dir().join(format!("sansweb-client-{nanos}.sock"));
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let mut host = String::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(v) = h.strip_prefix("host: ") {
                host = v.trim().to_owned();
            }
        }
        let body = format!("{}|{host}", first.trim_end());
        let mut out = stream;
        write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    let s = ClientSession::builder_with_runtime(rt.clone())
        .unix_socket(&path)
        .build()
        .unwrap();
    let mut r = s
        .get("http://localhost/over-unix?q=1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.text().await.unwrap(),
        "GET /over-unix?q=1 HTTP/1.1|localhost"
    );
    let _ = std::fs::remove_file(&path);

    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(rt)
        .basic_auth("user", "pass")
        .build()
        .unwrap();
    let text = s
        .get(&srv.url("/headers"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("authorization: Basic dXNlcjpwYXNz"), "{text}");
    let mut r = s
        .get(&srv.url("/cookies"))
        .cookie("a", "1")
        .cookie("b", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "a=1; b=2");
}

/// `ClientSession::new()` picks up the ambient tokio runtime.
#[test]
fn new_on_the_default_runtime() {
    use sansweb::rt::TokioRuntime;
    TokioRuntime::block_on(|_| async {
        let srv = TestServer::start();
        let s = ClientSession::new();
        let mut r = s.get(&srv.url("/text")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "héllo wörld");
    })
    .unwrap();
}

on_every_runtime!(
    unix_socket_auth_and_request_cookies,
    streamed_upload,
    stale_reused_connection_is_retried,
    get_text,
    get_json,
    post_json_and_form,
    keep_alive_reuse,
    cookies_set_then_sent,
    default_headers,
    sock_read_timeout,
    refused_is_connector_error,
    status_404_raise_for_status,
    streaming_bounded,
    dropped_half_read_not_reused,
    redirects_with_history,
    decompression,
    expect_continue_and_close,
);
