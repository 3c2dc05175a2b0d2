//! nginx (Debian's package), the most common peer of an HTTP/1.1 stack in production, on
//! both sides of us on every runtime:
//! - as a server for our client: keep-alive ended by nginx after `keepalive_requests`
//!   (our pool must open exactly one new connection per three requests), an idle
//!   connection nginx closed after `keepalive_timeout`, gzip from nginx, and TLS from
//!   OpenSSL (a certificate of ours, trusted as a custom root) for HTTP and `wss://`;
//! - as a reverse proxy in front of our server (aiohttp's usual deployment), so nginx is
//!   the HTTP client of our server: its upstream keep-alive over HTTP/1.1, a 1 MiB
//!   request body, a chunked streamed response, and a WebSocket upgraded through it.
//!
//! CI installs nginx with `apt-get install nginx`; without it these tests fail (they never
//! skip).

mod peer_support;
mod web_support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use peer_support::{find_binary, TempDir};
use sansweb::client::TraceEvent;
use sansweb::core::ws::CloseCode;
use sansweb::rt::Runtime;
use sansweb::web::{App, HttpError, Request, Response};
use sansweb::ws::{WebSocketResponse, WsMessage};
use sansweb::ClientSession;
use web_support::{sleep, start};

const NEED: &str = "these tests need Debian's nginx: apt-get install nginx";

/// 100 KB of text that compresses well, served by nginx and gzipped by it.
fn big_text() -> String {
    (0..2000)
        .map(|i| format!("line {i:05} of the file\n"))
        .collect()
}

/// nginx in the foreground, one process, everything under its own directory; killed on
/// drop (then the directory goes).
struct Nginx {
    process: Child,
    dir: TempDir,
    port: u16,
    tls_port: u16,
    /// The DER of the certificate nginx presents on `tls_port` (for `localhost`).
    cert_der: Vec<u8>,
}

/// A port nobody listens on now: nginx cannot report one it picked itself.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Nginx {
    /// Serves `dir/html/static/` and proxies `/app/` and `/ws` to `upstream`.
    fn start(upstream: SocketAddr) -> Nginx {
        let scratch = TempDir::new("nginx");
        let dir = scratch.path();
        std::fs::create_dir_all(dir.join("html/static")).expect("nginx dir");
        std::fs::create_dir_all(dir.join("tmp")).expect("nginx tmp dir");
        std::fs::write(dir.join("html/static/small.txt"), "small file\n").unwrap();
        std::fs::write(dir.join("html/static/big.txt"), big_text()).unwrap();
        let (port, tls_port) = (free_port(), free_port());
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(dir.join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type text/plain;
    upstream app {{ server {upstream}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{port};
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        keepalive_requests 3;
        keepalive_timeout 1s;
        client_max_body_size 8m;
        gzip on;
        gzip_types text/plain;
        gzip_min_length 1000;
        location /static/ {{ root {d}/html; }}
        location /app/ {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location /ws {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }}
    }}
}}
"#
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let binary = find_binary(&["nginx", "/usr/sbin/nginx"], "-v", NEED);
        let process = Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("nginx starts ({e}); {NEED}"));
        let mut nginx = Nginx {
            process,
            dir: scratch,
            port,
            tls_port,
            cert_der: cert.cert.der().to_vec(),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok() {
                return nginx;
            }
            if let Ok(Some(status)) = nginx.process.try_wait() {
                let log =
                    std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nginx did not listen on {tls_port}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn tls_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.tls_port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The app nginx proxies to; `peers` collects the address of every request's connection.
fn upstream_app(peers: Arc<Mutex<HashSet<SocketAddr>>>) -> App {
    App::new()
        .get("/app/hello", move |req: Request| {
            let peers = peers.clone();
            async move {
                peers.lock().unwrap().extend(req.remote());
                Ok::<_, HttpError>(Response::text("hello from sansweb"))
            }
        })
        .post("/app/echo", |req: Request| async move {
            Ok::<_, HttpError>(Response::bytes(req.read().await?))
        })
        .get("/app/stream", |_req: Request| async {
            let chunks = (0..100u8).map(|i| Ok(Bytes::from(vec![b'a' + i % 26; 1000])));
            Ok::<_, HttpError>(Response::stream(futures_lite::stream::iter(chunks)))
        })
        .get("/ws", |req: Request| async move {
            WebSocketResponse::new().prepare(&req, |mut ws| async move {
                loop {
                    let sent = match ws.receive().await {
                        WsMessage::Text(t) => ws.send_str(&t).await,
                        WsMessage::Binary(b) => ws.send_bytes_owned(b).await,
                        _ => return,
                    };
                    if sent.is_err() {
                        return;
                    }
                }
            })
        })
}

async fn nginx_both_sides<R: Runtime>(rt: R) {
    let peers = Arc::new(Mutex::new(HashSet::new()));
    let server = start(&rt, upstream_app(peers.clone())).await;
    let nginx = Nginx::start(server.local_addr());
    let created = Arc::new(AtomicUsize::new(0));
    let counter = created.clone();
    let session = ClientSession::builder_with_runtime(rt.clone())
        .trace(move |e| {
            if matches!(e, TraceEvent::ConnectionCreateStart) {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .unwrap();

    // nginx ends each connection after its third response (`Connection: close`).
    for i in 0..10 {
        let mut resp = session
            .get(&nginx.url("/static/small.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "request {i}");
        assert_eq!(resp.text().await.unwrap(), "small file\n", "request {i}");
    }
    assert_eq!(
        created.load(Ordering::SeqCst),
        4,
        "10 requests, 3 per connection"
    );

    // An idle pooled connection that nginx closed (keepalive_timeout 1s) is not used.
    let mut resp = session
        .get(&nginx.url("/static/small.txt"))
        .send()
        .await
        .unwrap();
    resp.text().await.unwrap();
    assert_eq!(session.idle_connections(), 1);
    sleep(&rt, 1500).await;
    let mut resp = session
        .get(&nginx.url("/static/small.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.text().await.unwrap(),
        "small file\n",
        "after nginx's idle close"
    );

    // gzip from nginx, decoded by the client.
    let mut resp = session
        .get(&nginx.url("/static/big.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    assert!(
        resp.text().await.unwrap() == big_text(),
        "gzipped file differs"
    );

    // nginx as our server's client: one upstream keep-alive connection carries them all.
    for _ in 0..20 {
        let mut resp = session.get(&nginx.url("/app/hello")).send().await.unwrap();
        assert_eq!(resp.text().await.unwrap(), "hello from sansweb");
    }
    let upstream_connections = peers.lock().unwrap().len();
    assert!(
        (1..=2).contains(&upstream_connections),
        "nginx opened {upstream_connections} upstream connections for 20 sequential requests"
    );

    // A 1 MiB body through nginx (it buffers it and sends it with a Content-Length).
    let body: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut resp = session
        .post(&nginx.url("/app/echo"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.unwrap() == body, "echoed body differs");

    // A body over nginx's client_max_body_size: nginx answers 413 from the head alone
    // and closes; the client reports that answer, not the failed rest of its upload.
    let too_big = vec![b'x'; 20 << 20];
    let resp = session
        .post(&nginx.url("/app/echo"))
        .body(too_big)
        .send()
        .await
        .expect("nginx's early answer");
    assert_eq!(resp.status(), 413);

    // Our chunked stream, re-framed by nginx.
    let mut resp = session.get(&nginx.url("/app/stream")).send().await.unwrap();
    let streamed = resp.bytes().await.unwrap();
    assert_eq!(streamed.len(), 100_000);
    assert!(
        streamed[..1000].iter().all(|&b| b == b'a')
            && streamed[99_000..].iter().all(|&b| b == b'v')
    );

    // A WebSocket upgraded through nginx.
    let ws_url = nginx.url("/ws").replacen("http://", "ws://", 1);
    let mut ws = session
        .ws_connect(&ws_url)
        .await
        .expect("upgrade through nginx");
    ws.send_str("through nginx").await.unwrap();
    assert_eq!(ws.receive_str().await.unwrap(), "through nginx");
    let payload = vec![7u8; 300_000];
    ws.send_bytes(&payload).await.unwrap();
    assert!(ws.receive_bytes().await.unwrap() == payload);
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(ws.close_code(), Some(CloseCode::NORMAL));

    // TLS from OpenSSL: refused without trusting our certificate, then HTTP and wss://.
    let err = session
        .get(&nginx.tls_url("/static/small.txt"))
        .send()
        .await
        .expect_err("an unknown issuer is refused");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    let tls_session = ClientSession::builder_with_runtime(rt.clone())
        .add_root_certificate(nginx.cert_der.clone())
        .build()
        .unwrap();
    for _ in 0..4 {
        let mut resp = tls_session
            .get(&nginx.tls_url("/static/small.txt"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.text().await.unwrap(), "small file\n");
    }
    let mut resp = tls_session
        .get(&nginx.tls_url("/static/big.txt"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.text().await.unwrap() == big_text(),
        "file over TLS differs"
    );
    let wss_url = nginx.tls_url("/ws").replacen("https://", "wss://", 1);
    let mut ws = tls_session
        .ws_connect(&wss_url)
        .await
        .expect("wss through nginx");
    ws.send_bytes(&payload).await.unwrap();
    assert!(ws.receive_bytes().await.unwrap() == payload);
    ws.close(CloseCode::NORMAL, "bye").await.unwrap();
    drop(nginx);
}

on_all_runtimes!(nginx_both_sides);
