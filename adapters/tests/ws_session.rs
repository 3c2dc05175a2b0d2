//! `session.ws_connect(url)` on every runtime: the session's cookie jar (sent with the
//! handshake, the 101's Set-Cookie stored), default headers, base URL and auth; wss://
//! with custom roots and with `ssl(false)`; ws:// and wss:// through an HTTP proxy; the
//! handshake timeout.
//!
//! The WebSocket peer is a small server on std threads (plain or rustls) that records each
//! upgrade request, answers 101 with a cookie and echoes through the sans-IO core.

mod client_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use client_support::proxy::TestProxy;
use client_support::tls::{certs, Certs};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sansweb::client::ClientError;
use sansweb::core::ws::{accept_key, CloseCode, Config, Event, WebSocket as CoreWs};
use sansweb::rt::Runtime;
use sansweb::ws::{WsError, WsMessage};
use sansweb::ClientSession;

/// Upgrade requests as the server saw them: (request line, lower-cased headers).
type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

struct WsServer {
    addr: SocketAddr,
    seen: Seen,
}

impl WsServer {
    fn start(tls: Option<&Certs>) -> WsServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Seen = Arc::default();
        let seen2 = seen.clone();
        let config = tls.map(server_config);
        thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { return };
                let seen = seen2.clone();
                let config = config.clone();
                thread::spawn(move || match config {
                    Some(config) => {
                        let conn = rustls::ServerConnection::new(config).unwrap();
                        serve(rustls::StreamOwned::new(conn, tcp), &seen);
                    }
                    None => serve(tcp, &seen),
                });
            }
        });
        WsServer { addr, seen }
    }

    fn seen(&self) -> Vec<(String, Vec<(String, String)>)> {
        self.seen.lock().unwrap().clone()
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn server_config(certs: &Certs) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(certs.server_cert.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certs.server_key.clone())),
        )
        .unwrap();
    Arc::new(config)
}

/// Reads the upgrade request, answers 101 (with `Set-Cookie: visit=N`), then echoes
/// text and binary messages until the close handshake is over.
#[allow(clippy::disallowed_methods)] // the test server's clock
fn serve<S: Read + Write>(stream: S, seen: &Seen) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        if h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let key = header(&headers, "sec-websocket-key")
        .unwrap_or("")
        .to_owned();
    let visit = {
        let mut seen = seen.lock().unwrap();
        seen.push((line.trim_end().to_owned(), headers));
        seen.len()
    };
    let leftover = reader.buffer().to_vec();
    let mut stream = reader.into_inner();
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSet-Cookie: visit={visit}; Path=/\r\n\r\n",
        accept_key(key.as_bytes())
    );
    if stream.write_all(reply.as_bytes()).is_err() {
        return;
    }
    let now = Instant::now();
    let mut ws = CoreWs::server(Config::default(), now);
    ws.handle_input(now, &leftover);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        while let Some(event) = ws.poll_event() {
            let _ = match event {
                Event::Text(t) => ws.send_text(&t),
                Event::Binary(b) => ws.send_binary(&b),
                _ => Ok(()),
            };
        }
        while let Some(out) = ws.poll_transmit() {
            if stream.write_all(&out).is_err() {
                return;
            }
        }
        let _ = stream.flush();
        if ws.should_close_transport() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => ws.handle_input(Instant::now(), &buf[..n]),
        }
    }
}

async fn echo_once(ws: &mut sansweb::ws::WebSocket, text: &str) {
    ws.send_str(text).await.unwrap();
    match ws.receive().await {
        WsMessage::Text(t) => assert_eq!(t, text),
        other => panic!("expected the echo, got {other:?}"),
    }
}

async fn cookies_headers_base_url<R: Runtime>(rt: R) {
    let srv = WsServer::start(None);
    let s = ClientSession::builder_with_runtime(rt)
        .base_url(&format!("http://127.0.0.1:{}/", srv.addr.port()))
        .header("x-default", "d")
        .header("x-replaced", "session")
        .basic_auth("user", "pass")
        // aiohttp's default jar ignores cookies from IP addresses.
        .cookie_jar_unsafe()
        .build()
        .unwrap();
    let mut ws = s
        .ws_connect("/chat?room=1")
        .header("x-replaced", "call")
        .compress(false)
        .await
        .unwrap();
    echo_once(&mut ws, "first").await;
    ws.close(CloseCode::NORMAL, "").await.unwrap();
    // The 101's cookie is in the jar, and goes with the next handshake.
    let mut ws = s
        .ws_connect(&format!("ws://127.0.0.1:{}/again", srv.addr.port()))
        .await
        .unwrap();
    echo_once(&mut ws, "second").await;
    drop(ws);

    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    let (line, h) = &seen[0];
    assert_eq!(line, "GET /chat?room=1 HTTP/1.1");
    assert_eq!(header(h, "x-default"), Some("d"));
    assert_eq!(header(h, "x-replaced"), Some("call"));
    assert_eq!(header(h, "authorization"), Some("Basic dXNlcjpwYXNz"));
    assert_eq!(header(h, "cookie"), None);
    assert_eq!(header(h, "sec-websocket-extensions"), None);
    let (line, h) = &seen[1];
    assert_eq!(line, "GET /again HTTP/1.1");
    assert_eq!(header(h, "cookie"), Some("visit=1"));
    assert_eq!(header(h, "x-replaced"), Some("session"));
    assert!(
        header(h, "sec-websocket-extensions").is_some_and(|v| v.starts_with("permessage-deflate"))
    );
    let jar = s.cookie_jar().unwrap().lock().unwrap();
    assert_eq!(jar.len(), 1);
}

async fn wss_custom_roots_and_insecure<R: Runtime>(rt: R) {
    let certs = certs();
    let srv = WsServer::start(Some(&certs));
    let url = format!("wss://localhost:{}/secure", srv.addr.port());

    let trusting = ClientSession::builder_with_runtime(rt.clone())
        .add_root_certificate(certs.server_cert.clone())
        .only_custom_roots(true)
        .build()
        .unwrap();
    let mut ws = trusting.ws_connect(&url).await.unwrap();
    echo_once(&mut ws, "over tls").await;
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    let insecure = ClientSession::builder_with_runtime(rt.clone())
        .ssl(false)
        .build()
        .unwrap();
    let mut ws = insecure.ws_connect(&url).await.unwrap();
    echo_once(&mut ws, "unverified").await;
    drop(ws);

    // The default roots do not know the test certificate: a TLS connector error.
    let default = ClientSession::builder_with_runtime(rt).build().unwrap();
    let err = default.ws_connect(&url).await.unwrap_err();
    assert!(
        matches!(err, WsError::Client(ClientError::Connector { .. })),
        "{err:?}"
    );
    assert_eq!(srv.seen().len(), 2, "no upgrade request after a failed TLS");
}

async fn through_proxy<R: Runtime>(rt: R) {
    let certs = certs();
    let plain = WsServer::start(None);
    let secure = WsServer::start(Some(&certs));
    let proxy = TestProxy::start(Some("Basic cDpx"));
    let s = ClientSession::builder_with_runtime(rt)
        .proxy(&format!("http://p:q@{}", proxy.addr))
        .add_root_certificate(certs.server_cert.clone())
        .build()
        .unwrap();

    let url = format!("ws://127.0.0.1:{}/plain", plain.addr.port());
    let mut ws = s.ws_connect(&url).await.unwrap();
    echo_once(&mut ws, "via proxy").await;
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    let url = format!("wss://localhost:{}/tunnel", secure.addr.port());
    let mut ws = s.ws_connect(&url).await.unwrap();
    echo_once(&mut ws, "via tunnel").await;
    ws.close(CloseCode::NORMAL, "").await.unwrap();

    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (
                format!("GET http://127.0.0.1:{}/plain HTTP/1.1", plain.addr.port()),
                "Basic cDpx".to_owned()
            ),
            (
                format!("CONNECT localhost:{} HTTP/1.1", secure.addr.port()),
                "Basic cDpx".to_owned()
            ),
        ]
    );
    // The origins saw origin-form targets and no proxy credentials.
    let (line, h) = &plain.seen()[0];
    assert_eq!(line, "GET /plain HTTP/1.1");
    assert_eq!(header(h, "proxy-authorization"), None);
    assert_eq!(secure.seen()[0].0, "GET /tunnel HTTP/1.1");
}

async fn handshake_timeout<R: Runtime>(rt: R) {
    // Accepts and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let keep: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    let keep2 = keep.clone();
    thread::spawn(move || {
        for s in listener.incoming().flatten() {
            keep2.lock().unwrap().push(s);
        }
    });
    let s = ClientSession::builder_with_runtime(rt).build().unwrap();
    let err = s
        .ws_connect(&format!("ws://{addr}/"))
        .handshake_timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, WsError::HandshakeTimeout), "{err:?}");

    // A bad scheme is a local error before any connection.
    let err = s.ws_connect("ftp://127.0.0.1/").await.unwrap_err();
    assert!(matches!(err, WsError::InvalidUrl(_)), "{err:?}");
}

on_every_runtime!(
    cookies_headers_base_url,
    wss_custom_roots_and_insecure,
    through_proxy,
    handshake_timeout
);
