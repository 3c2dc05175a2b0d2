//! WebSocket faults on real loopback sockets, on every runtime: a reset in the middle of
//! a frame (seen by the server and by the client), and a peer that vanishes (stops
//! reading and answering) so that only the heartbeat can notice. Each case checks the
//! typed error, that the handler (server) ends, and that the socket is closed (client).
//! `cargo test -p sansweb --test fault_ws`

mod fault_support;
mod web_support;

use fault_support::{
    connect, join, masked_frame, read_head, read_to_end, script_server, wait_until,
    write_then_reset, Gauge, WS_UPGRADE,
};
use sansweb::core::ws::Error as CoreError;
use sansweb::rt::Runtime;
use sansweb::web::{App, Request, ServerHandle};
use sansweb::ws::{WebSocketResponse, WsConnect, WsError, WsMessage};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use web_support::{get, start};

type Log = Arc<Mutex<Vec<String>>>;

/// `/ws`: a handler that receives until the end, logging each message's kind (errors
/// in full); it holds one unit of `live` while it runs.
async fn ws_server<R: Runtime>(
    rt: &R,
    heartbeat: Option<Duration>,
    log: Log,
    live: Gauge,
) -> ServerHandle {
    let app = App::new()
        .get("/ws", move |req: Request| {
            let (log, live) = (log.clone(), live.clone());
            async move {
                let mut options = WebSocketResponse::new().compress(false);
                if let Some(every) = heartbeat {
                    options = options.heartbeat(every);
                }
                options.prepare(&req, move |mut ws| async move {
                    let _live = live.enter();
                    loop {
                        let msg = ws.receive().await;
                        let entry = match &msg {
                            WsMessage::Error(e) => format!("error {e:?}"),
                            other => other.kind().to_owned(),
                        };
                        log.lock().unwrap().push(entry);
                        if msg.is_end() {
                            return;
                        }
                    }
                })
            }
        })
        .get("/ok", |_req: Request| async move { "ok" });
    start(rt, app).await
}

async fn client_resets_mid_frame<R: Runtime>(rt: R) {
    let (log, live) = (Log::default(), Gauge::default());
    let server = ws_server(&rt, None, log.clone(), live.clone()).await;
    let addr = server.local_addr();
    // A whole text frame, then a text frame that declares 100 bytes and carries 10;
    // then a frame cut inside its 2-byte extended length.
    let whole = masked_frame(0x81, b"whole");
    let cut_payload = masked_frame(0x81, &[b'p'; 100])[..2 + 4 + 10].to_vec();
    let cut_header = masked_frame(0x82, &[b'h'; 200])[..3].to_vec();
    for partial in [cut_payload, cut_header] {
        log.lock().unwrap().clear();
        let whole = whole.clone();
        let peer = thread::spawn(move || {
            let mut s = connect(addr);
            s.write_all(WS_UPGRADE).unwrap();
            let head = read_head(&mut s).expect("101");
            assert!(head.starts_with("HTTP/1.1 101"), "{head}");
            s.write_all(&whole).unwrap();
            write_then_reset(s, &partial, 100);
        });
        join(&rt, peer).await;
        wait_until(&rt, "the handler ended", Duration::from_secs(5), || {
            live.get() == 0 && log.lock().unwrap().len() >= 2
        })
        .await;
        let log = log.lock().unwrap().clone();
        assert_eq!(log[0], "text", "{log:?}");
        // The cut frame is never delivered: a typed error, then the end.
        assert!(log[1].starts_with("error "), "{log:?}");
        assert!(log.iter().all(|e| e != "binary"), "{log:?}");
        assert_eq!(server.connection_count(), 0);
        assert_eq!(get(&rt, addr, "/ok").await.text(), "ok");
    }
    server.shutdown().await;
}

async fn server_resets_mid_frame<R: Runtime>(rt: R) {
    // Answers the handshake, sends one whole text frame, then a frame declaring 100
    // bytes with only 10 of them, and resets.
    let addr = script_server(|_, mut s| {
        if fault_support::ws_accept(&mut s) {
            let mut out = vec![0x81, 5];
            out.extend_from_slice(b"whole");
            out.extend_from_slice(&[0x81, 100]);
            out.extend_from_slice(&[b'p'; 10]);
            write_then_reset(s, &out, 100);
        }
    });
    let mut ws = WsConnect::new()
        .compress(false)
        .connect(&rt, &format!("ws://{addr}/"))
        .await
        .expect("handshake");
    assert_eq!(ws.receive_str().await.unwrap(), "whole");
    match ws.receive().await {
        WsMessage::Error(WsError::Io(_) | WsError::Connection(_)) => {}
        other => panic!("expected a typed connection error, got {other:?}"),
    }
    assert!(matches!(ws.receive().await, WsMessage::Closed));
    assert!(ws.closed());
    assert!(matches!(ws.send_str("late").await, Err(WsError::Closed)));
}

async fn client_vanishes<R: Runtime>(rt: R) {
    let (log, live) = (Log::default(), Gauge::default());
    let every = Duration::from_millis(200);
    let server = ws_server(&rt, Some(every), log.clone(), live.clone()).await;
    let addr = server.local_addr();
    // The peer completes the handshake and then neither reads nor writes anything.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let peer = thread::spawn(move || {
        let mut s = connect(addr);
        s.write_all(WS_UPGRADE).unwrap();
        let head = read_head(&mut s).expect("101");
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let _ = rx.recv_timeout(Duration::from_secs(10));
        // Only now look: the server sent a ping and then closed the TCP connection.
        let rest = read_to_end(&mut s);
        assert_eq!(rest.first(), Some(&0x89), "a ping first: {rest:?}");
    });
    let start = rt.now();
    wait_until(
        &rt,
        "the heartbeat ended the handler",
        Duration::from_secs(5),
        || live.get() == 0 && !log.lock().unwrap().is_empty(),
    )
    .await;
    let waited = rt.now() - start;
    assert!(
        waited >= every && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let entries = log.lock().unwrap().clone();
    assert!(
        entries[0].contains("PeerUnresponsive"),
        "typed heartbeat error: {entries:?}"
    );
    tx.send(()).unwrap();
    join(&rt, peer).await;
    assert_eq!(server.connection_count(), 0);
    assert_eq!(get(&rt, addr, "/ok").await.text(), "ok");
    server.shutdown().await;
}

async fn server_vanishes<R: Runtime>(rt: R) {
    // Answers the handshake, then neither reads nor writes for a while; then reads to
    // EOF, which comes only if the client closed its socket.
    let closed = Arc::new(Mutex::new(false));
    let closed2 = closed.clone();
    let addr = script_server(move |_, mut s| {
        if fault_support::ws_accept(&mut s) {
            thread::sleep(Duration::from_millis(1500));
            let _ = read_to_end(&mut s);
            *closed2.lock().unwrap() = true;
        }
    });
    let every = Duration::from_millis(200);
    let start = rt.now();
    let mut ws = WsConnect::new()
        .heartbeat(every)
        .connect(&rt, &format!("ws://{addr}/"))
        .await
        .expect("handshake");
    match ws.receive().await {
        WsMessage::Error(WsError::Connection(CoreError::PeerUnresponsive)) => {}
        other => panic!("expected PeerUnresponsive, got {other:?}"),
    }
    let waited = rt.now() - start;
    assert!(
        waited >= every && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(matches!(ws.receive().await, WsMessage::Closed));
    drop(ws);
    wait_until(
        &rt,
        "the client's socket closed",
        Duration::from_secs(5),
        || *closed.lock().unwrap(),
    )
    .await;
}

on_all_runtimes!(
    client_resets_mid_frame,
    server_resets_mid_frame,
    client_vanishes,
    server_vanishes,
);
