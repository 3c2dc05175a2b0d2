//! WebSocket client and server end to end, one test body per behaviour, run on every
//! enabled runtime. Run all three: `cargo test -p sansweb --all-features --test ws_runtimes`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::future;
use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use sansweb::core::ws::{CloseCode, Error as CoreError};
use sansweb::rt::{Listener, Runtime};
use sansweb::web::{App, Request, Response, Server, ServerHandle};
use sansweb::ws::{WebSocket, WebSocketResponse, WsConnect, WsError, WsMessage};

/// Runs `body` on `R`, failing (instead of hanging) after 20 s.
fn run<R: Runtime, Fut: Future<Output = ()>>(body: impl FnOnce(R) -> Fut) {
    R::block_on(|rt: R| async move {
        let deadline = rt.now() + Duration::from_secs(20);
        let guard = rt.clone();
        future::or(body(rt), async move {
            guard.sleep_until(deadline).await;
            panic!("test timed out");
        })
        .await
    })
    .expect("runtime starts");
}

type Log = Arc<Mutex<Vec<String>>>;

/// Starts a server whose `/ws` answers with `options()` and runs `echo_handler`.
async fn serve<R: Runtime>(rt: &R, options: fn() -> WebSocketResponse, log: Log) -> ServerHandle {
    let app = App::new().get("/ws", move |req: Request| {
        let log = log.clone();
        async move { options().prepare(&req, move |ws| echo_handler(ws, log)) }
    });
    Server::new(app)
        .start(rt, "127.0.0.1:0".parse().expect("literal"), 1)
        .await
        .expect("server starts")
}

/// Echoes text and binary; logs everything else; `close me` makes it close with 4001.
async fn echo_handler(mut ws: WebSocket, log: Log) {
    log.lock()
        .unwrap()
        .push(format!("compressed={}", ws.compressed()));
    loop {
        let msg = ws.receive().await;
        let sent = match msg {
            WsMessage::Text(t) if t == "close me" => {
                let r = ws.close(CloseCode(4001), "bye").await;
                log.lock().unwrap().push(format!("closed {r:?}"));
                return;
            }
            WsMessage::Text(t) => ws.send_str(&t).await,
            WsMessage::Binary(b) => ws.send_bytes(&b).await,
            // Only seen with autoping off: answering is then our job.
            WsMessage::Ping(p) => {
                log.lock().unwrap().push("ping".into());
                ws.pong(&p).await
            }
            other => {
                log.lock().unwrap().push(describe(&other));
                if other.is_end() || matches!(other, WsMessage::Error(_)) {
                    return;
                }
                Ok(())
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

fn describe(msg: &WsMessage) -> String {
    match msg {
        WsMessage::Close { code, reason } => format!("close {} {reason}", code.0),
        WsMessage::Error(WsError::Connection(CoreError::Protocol(e))) => {
            format!("protocol error {}", e.close_code().0)
        }
        WsMessage::Error(e) => format!("error {e}"),
        other => other.kind().to_owned(),
    }
}

fn url(server: &ServerHandle) -> String {
    format!("ws://{}/ws", server.local_addr())
}

/// Waits (up to 5 s) until `log` holds an entry starting with `prefix`.
async fn wait_for<R: Runtime>(rt: &R, log: &Log, prefix: &str) -> String {
    let deadline = rt.now() + Duration::from_secs(5);
    loop {
        if let Some(e) = log.lock().unwrap().iter().find(|e| e.starts_with(prefix)) {
            return e.clone();
        }
        assert!(
            rt.now() < deadline,
            "no {prefix:?} in {:?}",
            log.lock().unwrap()
        );
        rt.sleep_until(rt.now() + Duration::from_millis(10)).await;
    }
}

fn plain() -> WebSocketResponse {
    WebSocketResponse::new().compress(false)
}

async fn echo_text_binary_json<R: Runtime>(rt: R) {
    let log = Log::default();
    let server = serve(&rt, plain, log.clone()).await;
    let mut ws = WsConnect::new()
        .compress(false)
        .connect(&rt, &url(&server))
        .await
        .expect("connect");
    assert!(!ws.compressed());
    ws.send_str("héllo").await.unwrap();
    assert_eq!(ws.receive_str().await.unwrap(), "héllo");
    ws.send_bytes(&[0, 1, 2, 255]).await.unwrap();
    assert_eq!(&ws.receive_bytes().await.unwrap()[..], &[0, 1, 2, 255]);
    ws.send_json(&serde_json::json!({"a": [1, 2]}))
        .await
        .unwrap();
    let v: serde_json::Value = ws.receive_json().await.unwrap();
    assert_eq!(v, serde_json::json!({"a": [1, 2]}));
    // A binary message where text was expected is a typed error, not a panic.
    ws.send_bytes(b"x").await.unwrap();
    assert!(matches!(
        ws.receive_str().await,
        Err(WsError::UnexpectedMessage {
            expected: "text",
            got: "binary"
        })
    ));
    ws.close(CloseCode::NORMAL, "").await.expect("clean close");
    assert!(matches!(ws.receive().await, WsMessage::Closed));
    assert_eq!(wait_for(&rt, &log, "close").await, "close 1000 ");
}

/// A raw client: handshake, then frames written by hand (mask key 0, which RFC 6455
/// allows: the mask bit is what the server checks).
async fn raw_upgrade<R: Runtime>(rt: &R, addr: SocketAddr) -> R::TcpStream {
    let mut s = rt.connect_tcp(addr).await.expect("connect");
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        s.read_exact(&mut b).await.expect("101 head");
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first_byte];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

async fn fragmented_big_message<R: Runtime>(rt: R) {
    let log = Log::default();
    let server = serve(&rt, plain, log.clone()).await;
    // 1 MiB binary in 16 fragments, with a ping between two of them.
    let data: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let mut s = raw_upgrade(&rt, server.local_addr()).await;
    let mut wire = Vec::new();
    for (i, chunk) in data.chunks(64 * 1024).enumerate() {
        let opcode = if i == 0 { 0x2 } else { 0x0 };
        let fin = if i == 15 { 0x80 } else { 0 };
        wire.extend(masked_frame(fin | opcode, chunk));
        if i == 7 {
            wire.extend(masked_frame(0x89, b"mid"));
        }
    }
    s.write_all(&wire).await.unwrap();
    // Expect the pong, then one unfragmented 1 MiB echo: 0x82 127 <len>.
    let mut pong = [0u8; 5];
    s.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"\x8a\x03mid");
    let mut head = [0u8; 10];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(head[..2], [0x82, 127]);
    assert_eq!(
        u64::from_be_bytes(head[2..].try_into().unwrap()),
        data.len() as u64
    );
    let mut echoed = vec![0u8; data.len()];
    s.read_exact(&mut echoed).await.unwrap();
    assert!(echoed == data, "echo differs");

    // And a 3 MiB message through our own client, both ways.
    let mut ws = WsConnect::new()
        .compress(false)
        .connect(&rt, &url(&server))
        .await
        .unwrap();
    let big = "xyz".repeat(1024 * 1024);
    ws.send_str(&big).await.unwrap();
    assert!(ws.receive_str().await.unwrap() == big);
}

async fn ping_pong<R: Runtime>(rt: R) {
    let log = Log::default();
    let server = serve(
        &rt,
        || WebSocketResponse::new().autoping(false),
        log.clone(),
    )
    .await;
    let mut ws = WsConnect::new()
        .autoping(false)
        .connect(&rt, &url(&server))
        .await
        .unwrap();
    // The server has autoping off too: it sees the ping and answers it itself.
    ws.ping(b"abc").await.unwrap();
    match ws.receive().await {
        WsMessage::Pong(p) => assert_eq!(&p[..], b"abc"),
        other => panic!("expected a pong, got {other:?}"),
    }
    wait_for(&rt, &log, "ping").await;
    assert!(matches!(ws.ping(&[0; 126]).await, Err(WsError::Local(_))));

    // With autoping on (the default), pings and pongs never surface.
    let server2 = serve(&rt, plain, Log::default()).await;
    let mut ws2 = WsConnect::new().connect(&rt, &url(&server2)).await.unwrap();
    ws2.ping(b"hidden").await.unwrap();
    ws2.send_str("after").await.unwrap();
    assert_eq!(ws2.receive_str().await.unwrap(), "after");
}

async fn close_handshake<R: Runtime>(rt: R) {
    let log = Log::default();
    let server = serve(&rt, plain, log.clone()).await;
    // Server-initiated: code and reason reach the client, then Closed.
    let mut ws = WsConnect::new().connect(&rt, &url(&server)).await.unwrap();
    ws.send_str("close me").await.unwrap();
    match ws.receive().await {
        WsMessage::Close { code, reason } => {
            assert_eq!(code, CloseCode(4001));
            assert_eq!(reason, "bye");
        }
        other => panic!("expected close, got {other:?}"),
    }
    assert!(matches!(ws.receive().await, WsMessage::Closed));
    assert_eq!(ws.close_code(), Some(CloseCode(4001)));
    assert!(matches!(ws.send_str("late").await, Err(WsError::Closed)));
    assert_eq!(wait_for(&rt, &log, "closed").await, "closed Ok(())");

    // Client-initiated with a reason; the split halves work from two tasks.
    let ws = WsConnect::new().connect(&rt, &url(&server)).await.unwrap();
    let (tx, mut rx) = ws.split();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let reader = rt.spawn(async move {
        let mut got = Vec::new();
        while let Some(msg) = rx.next().await {
            got.push(describe(&msg));
            seen.fetch_add(1, Ordering::SeqCst);
        }
        got
    });
    for i in 0..10 {
        tx.send_str(&format!("m{i}")).await.unwrap();
    }
    // Close once every echo is in, so none is cut off by the close.
    let deadline = rt.now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < 10 {
        assert!(rt.now() < deadline, "echoes missing");
        rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
    }
    tx.close(CloseCode::GOING_AWAY, "done")
        .await
        .expect("clean close");
    let got = reader.await.unwrap();
    assert_eq!(got.len(), 10, "{got:?}");
    assert_eq!(wait_for(&rt, &log, "close 1001").await, "close 1001 done");
    // Closing again after a clean close is a no-op.
    tx.close(CloseCode::NORMAL, "")
        .await
        .expect("already closed cleanly");
}

async fn invalid_close_code<R: Runtime>(rt: R) {
    let server = serve(&rt, plain, Log::default()).await;
    let ws = WsConnect::new().connect(&rt, &url(&server)).await.unwrap();
    assert!(matches!(
        ws.close(CloseCode(1005), "").await,
        Err(WsError::Local(_))
    ));
    ws.close(CloseCode::NORMAL, "").await.unwrap();
}

/// The server's heartbeat finds a peer that stopped answering, although the handler
/// never calls `receive()`: the peer sees a ping, then the TCP close.
async fn heartbeat_server_detects_dead_peer<R: Runtime>(rt: R) {
    let log = Log::default();
    let log2 = log.clone();
    let rt2 = rt.clone();
    let app = App::new().get("/ws", move |req: Request| {
        let log = log2.clone();
        let rt = rt2.clone();
        async move {
            WebSocketResponse::new()
                .heartbeat(Duration::from_millis(200))
                .prepare(&req, move |ws| async move {
                    // No receive(): only the socket task can notice the dead peer.
                    while !ws.closed() {
                        rt.sleep_until(rt.now() + Duration::from_millis(20)).await;
                    }
                    log.lock().unwrap().push("noticed".into());
                    drop(ws);
                })
        }
    });
    let server = Server::new(app)
        .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
        .await
        .unwrap();
    let start = rt.now();
    let mut s = raw_upgrade(&rt, server.local_addr()).await;
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.expect("read to EOF");
    let waited = rt.now() - start;
    assert_eq!(rest[0], 0x89, "a ping came first: {rest:?}");
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    wait_for(&rt, &log, "noticed").await;
}

/// The client's heartbeat finds a server that answered the handshake and went silent.
async fn heartbeat_client_detects_dead_peer<R: Runtime>(rt: R) {
    let listener = rt.bind_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = rt.spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut req = Vec::new();
        while !req.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            req.push(b[0]);
        }
        let req = String::from_utf8(req).unwrap();
        let key = req
            .lines()
            .find_map(|l| {
                l.strip_prefix("sec-websocket-key: ")
                    .or(l.strip_prefix("Sec-WebSocket-Key: "))
            })
            .unwrap()
            .trim()
            .to_owned();
        let accept = sansweb::core::ws::accept_key(key.as_bytes());
        s.write_all(
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        // Now silent: read (so the client's writes succeed) but never answer.
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink).await;
    });
    let start = rt.now();
    let mut ws = WsConnect::new()
        .heartbeat(Duration::from_millis(200))
        .connect(&rt, &format!("ws://{addr}/"))
        .await
        .unwrap();
    match ws.receive().await {
        WsMessage::Error(WsError::Connection(CoreError::PeerUnresponsive)) => {}
        other => panic!("expected PeerUnresponsive, got {other:?}"),
    }
    let waited = rt.now() - start;
    assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(3));
    assert!(matches!(ws.receive().await, WsMessage::Closed));
    silent.await.unwrap();
}

async fn max_message_size<R: Runtime>(rt: R) {
    let log = Log::default();
    let server = serve(
        &rt,
        || WebSocketResponse::new().max_msg_size(1024),
        log.clone(),
    )
    .await;
    // The server refuses a message over its limit with 1009.
    let mut ws = WsConnect::new().connect(&rt, &url(&server)).await.unwrap();
    ws.send_bytes(&[7; 1024]).await.unwrap();
    assert_eq!(ws.receive_bytes().await.unwrap().len(), 1024);
    ws.send_bytes(&[7; 2000]).await.unwrap();
    match ws.receive().await {
        WsMessage::Close { code, .. } => assert_eq!(code, CloseCode::MESSAGE_TOO_BIG),
        other => panic!("expected close 1009, got {other:?}"),
    }
    assert_eq!(wait_for(&rt, &log, "protocol").await, "protocol error 1009");

    // The client enforces its own limit the same way.
    let log = Log::default();
    let server = serve(&rt, plain, log.clone()).await;
    let mut ws = WsConnect::new()
        .max_msg_size(100)
        .connect(&rt, &url(&server))
        .await
        .unwrap();
    // Our own send is not limited; the echo is.
    ws.send_str(&"a".repeat(500)).await.unwrap();
    match ws.receive().await {
        WsMessage::Error(WsError::Connection(CoreError::Protocol(e))) => {
            assert_eq!(e.close_code(), CloseCode::MESSAGE_TOO_BIG)
        }
        other => panic!("expected a 1009 failure, got {other:?}"),
    }
    assert_eq!(wait_for(&rt, &log, "close").await, "close 1009 ");
}

async fn compression_on_off<R: Runtime>(rt: R) {
    let text = "compress me, compress me, ".repeat(4000);
    for (server_on, client_on) in [(true, true), (true, false), (false, true)] {
        let log = Log::default();
        let options: fn() -> WebSocketResponse = if server_on {
            || WebSocketResponse::new().compress(true)
        } else {
            plain
        };
        let server = serve(&rt, options, log.clone()).await;
        let mut ws = WsConnect::new()
            .compress(client_on)
            .connect(&rt, &url(&server))
            .await
            .unwrap();
        let on = server_on && client_on;
        assert_eq!(ws.compressed(), on);
        assert_eq!(
            wait_for(&rt, &log, "compressed").await,
            format!("compressed={on}")
        );
        for _ in 0..3 {
            ws.send_str(&text).await.unwrap();
            assert!(ws.receive_str().await.unwrap() == text);
            ws.send_bytes(text.as_bytes()).await.unwrap();
            assert!(ws.receive_bytes().await.unwrap() == text.as_bytes());
        }
        ws.close(CloseCode::NORMAL, "").await.unwrap();
    }
}

async fn refused_handshake<R: Runtime>(rt: R) {
    let server = serve(&rt, plain, Log::default()).await;
    // A plain GET to a WebSocket route: 400 from the core's refusal.
    let mut s = rt.connect_tcp(server.local_addr()).await.unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    assert!(
        resp.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&resp)
    );
    // Version 8: 426 with Sec-WebSocket-Version: 13.
    let mut s = rt.connect_tcp(server.local_addr()).await.unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .await
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let resp = String::from_utf8_lossy(&resp).to_lowercase();
    assert!(resp.starts_with("http/1.1 426"), "{resp}");
    assert!(resp.contains("sec-websocket-version: 13"), "{resp}");
    // An upgrade with a body: the client's fault, 400 (it was a 500 when the 101 met the
    // unread body in the core).
    let mut s = rt.connect_tcp(server.local_addr()).await.unwrap();
    s.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
          Content-Length: 5\r\n\r\nhello",
    )
    .await
    .unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let resp = String::from_utf8_lossy(&resp);
    assert!(resp.starts_with("HTTP/1.1 400"), "{resp}");
    assert!(resp.contains("must not have a body"), "{resp}");
    // Our client reports a non-101 answer as a handshake error.
    let app = App::new().get("/", |_req: Request| async { Response::text("no") });
    let plain_http = Server::new(app)
        .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
        .await
        .unwrap();
    let err = WsConnect::new()
        .connect(&rt, &format!("ws://{}/", plain_http.local_addr()))
        .await
        .unwrap_err();
    assert!(matches!(err, WsError::Handshake(_)), "{err}");
    let err = WsConnect::new()
        .connect(&rt, "http//nope")
        .await
        .unwrap_err();
    assert!(matches!(err, WsError::InvalidUrl(_)), "{err}");
}

async fn drop_closes<R: Runtime>(rt: R) {
    let log = Log::default();
    let server = serve(&rt, plain, log.clone()).await;
    let ws = WsConnect::new().connect(&rt, &url(&server)).await.unwrap();
    drop(ws);
    // Dropping every handle starts the close handshake with 1000.
    assert_eq!(wait_for(&rt, &log, "close").await, "close 1000 ");
}

async fn receive_timeout<R: Runtime>(rt: R) {
    let server = serve(&rt, plain, Log::default()).await;
    let mut ws = WsConnect::new()
        .receive_timeout(Duration::from_millis(100))
        .connect(&rt, &url(&server))
        .await
        .unwrap();
    assert!(matches!(
        ws.receive().await,
        WsMessage::Error(WsError::ReceiveTimeout)
    ));
    // The connection stays usable.
    ws.send_str("still here").await.unwrap();
    assert_eq!(ws.receive_str().await.unwrap(), "still here");
}

async fn protocols_and_headers<R: Runtime>(rt: R) {
    let app = App::new().get("/ws", |req: Request| async move {
        let token = req.header("x-token").unwrap_or("").to_owned();
        WebSocketResponse::new()
            .protocols(&["chat", "v2"])
            .prepare(&req, move |ws| async move {
                let _ = ws.send_str(&format!("{token} {:?}", ws.protocol())).await;
            })
    });
    let server = Server::new(app)
        .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
        .await
        .unwrap();
    let mut ws = WsConnect::new()
        .protocols(&["v2", "chat"])
        .header(
            http::HeaderName::from_static("x-token"),
            http::HeaderValue::from_static("t0k"),
        )
        .connect(&rt, &url(&server))
        .await
        .unwrap();
    // The client's order of preference wins among what both speak.
    assert_eq!(ws.protocol(), Some("v2"));
    assert_eq!(ws.receive_str().await.unwrap(), "t0k Some(\"v2\")");
    // The handler returned: the server closed with 1000.
    match ws.receive().await {
        WsMessage::Close { code, .. } => assert_eq!(code, CloseCode::NORMAL),
        other => panic!("expected close, got {other:?}"),
    }
    // No common subprotocol: the connection still opens, without one.
    let ws = WsConnect::new()
        .protocols(&["other"])
        .connect(&rt, &url(&server))
        .await
        .unwrap();
    assert_eq!(ws.protocol(), None);
}

macro_rules! on_runtime {
    ($name:ident, $rt:ty) => {
        mod $name {
            type R = $rt;
            #[test]
            fn echo_text_binary_json() {
                super::run::<R, _>(super::echo_text_binary_json::<R>)
            }
            #[test]
            fn fragmented_big_message() {
                super::run::<R, _>(super::fragmented_big_message::<R>)
            }
            #[test]
            fn ping_pong() {
                super::run::<R, _>(super::ping_pong::<R>)
            }
            #[test]
            fn close_handshake() {
                super::run::<R, _>(super::close_handshake::<R>)
            }
            #[test]
            fn invalid_close_code() {
                super::run::<R, _>(super::invalid_close_code::<R>)
            }
            #[test]
            fn heartbeat_server_detects_dead_peer() {
                super::run::<R, _>(super::heartbeat_server_detects_dead_peer::<R>)
            }
            #[test]
            fn heartbeat_client_detects_dead_peer() {
                super::run::<R, _>(super::heartbeat_client_detects_dead_peer::<R>)
            }
            #[test]
            fn max_message_size() {
                super::run::<R, _>(super::max_message_size::<R>)
            }
            #[test]
            fn compression_on_off() {
                super::run::<R, _>(super::compression_on_off::<R>)
            }
            #[test]
            fn refused_handshake() {
                super::run::<R, _>(super::refused_handshake::<R>)
            }
            #[test]
            fn drop_closes() {
                super::run::<R, _>(super::drop_closes::<R>)
            }
            #[test]
            fn protocols_and_headers() {
                super::run::<R, _>(super::protocols_and_headers::<R>)
            }
            #[test]
            fn receive_timeout() {
                super::run::<R, _>(super::receive_timeout::<R>)
            }
        }
    };
}

#[cfg(feature = "runtime-tokio")]
on_runtime!(tokio, sansweb::rt::TokioRuntime);
#[cfg(feature = "runtime-smol")]
on_runtime!(smol, sansweb::rt::SmolRuntime);
#[cfg(feature = "runtime-async-std")]
on_runtime!(async_std, sansweb::rt::AsyncStdRuntime);
