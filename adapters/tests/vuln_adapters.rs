//! Known vulnerability classes of HTTP libraries as regression tests over real loopback
//! sockets: the server answers malformed and hostile input with the right 4xx and keeps
//! serving other connections; the client never writes an injected line, never carries
//! credentials to another origin, never inflates a bomb without bound; static files
//! never leave their root. One test per class, named after it, citing the advisory it
//! stands for. The codec-level classes are in `core/tests/vuln_core.rs`.
//! `cargo test -p sansweb --test vuln_adapters`

use sansweb::client::{ClientError, ClientSession};
use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::test_utils::TestServer;
use sansweb::web::{App, Request, Response};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs `body` on a multi-threaded tokio runtime: the server's tasks run on the
/// workers, so the test body may use blocking `std` sockets to send raw bytes.
fn run<Fut: std::future::Future<Output = ()>>(body: impl FnOnce(TokioRuntime) -> Fut) {
    TokioRuntime::block_on_multi_thread(2, body).expect("runtime starts");
}

/// Sends `bytes` on a fresh connection and reads until the server closes (or 10 s
/// pass); returns the status of the first response and everything read.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> (Option<u16>, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may close before reading everything: a reset here is fine.
    let _ = s.write_all(bytes);
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok());
    (status, text)
}

/// A good request on another connection is still answered.
fn still_serving(addr: SocketAddr) {
    let (status, text) = exchange(
        addr,
        b"GET /ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, Some(200), "{text}");
    assert!(text.ends_with("ok"), "{text}");
}

// ---------------------------------------------------------------------------------
// Server: request smuggling over sockets
// ---------------------------------------------------------------------------------

/// Every h1 smuggling class of `core/tests/vuln_core.rs` (aiohttp CVE-2023-47627,
/// CVE-2023-47641, CVE-2024-52304, CVE-2025-53643, CVE-2026-34525; hyper CVE-2021-32714,
/// CVE-2021-32715, CVE-2021-21299; Node.js CVE-2022-32214/32215) sent to a real server:
/// each gets its 4xx and a close, the request hidden behind it never reaches a handler,
/// and another connection is served normally right after.
#[test]
fn smuggling_classes_answer_4xx_and_keep_serving() {
    run(|rt| async move {
        let smuggled = Arc::new(AtomicUsize::new(0));
        let hits = smuggled.clone();
        let app = App::new()
            .get("/ok", |_r: Request| async { "ok" })
            .post("/", |r: Request| async move {
                r.read().await.map(Response::bytes)
            })
            .get("/", |_r: Request| async { "root" })
            .route("*", "/smuggled", move |_r: Request| {
                hits.fetch_add(1, Ordering::SeqCst);
                async { "SMUGGLED" }
            });
        let server = TestServer::start(&rt, app).await.expect("server");
        let addr = server.addr();
        let te = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        let cases: Vec<(&str, String, u16)> = vec![
            ("cl+te", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
            ("te not final", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n".into(), 400),
            ("duplicate cl", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc".into(), 400),
            ("cl list", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\n\r\nabc".into(), 400),
            ("cl plus", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc".into(), 400),
            ("chunk size 0x", format!("{te}0x3\r\nabc\r\n0\r\n\r\n"), 400),
            ("chunk size overflow", format!("{te}fffffffffffffffff\r\nabc\r\n0\r\n\r\n"), 400),
            ("lf in chunk ext", format!("{te}3;a\nb\r\nabc\r\n0\r\n\r\n"), 400),
            ("bare cr", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n".into(), 400),
            ("obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n".into(), 400),
            ("bad trailer", format!("{te}0\r\nBad Trailer\r\n\r\n"), 400),
            ("nul in value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\0b\r\n\r\n".into(), 400),
            ("control in name", "GET / HTTP/1.1\r\nHost: t\r\nX\x01: a\r\n\r\n".into(), 400),
            ("duplicate host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
            ("missing host", "GET / HTTP/1.1\r\n\r\n".into(), 400),
            ("huge line", format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000)), 414),
            ("huge field", format!("GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n", "b".repeat(9000)), 431),
        ];
        for (name, head, status) in cases {
            let input = format!("{head}GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n");
            let (got, text) = exchange(addr, input.as_bytes());
            assert_eq!(got, Some(status), "{name}: {text}");
            assert!(
                text.to_ascii_lowercase().contains("connection: close"),
                "{name}: {text}"
            );
            assert!(!text.contains("SMUGGLED"), "{name}: {text}");
            // Also split into single bytes: the same answer.
            let mut s = TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.set_nodelay(true).unwrap();
            for b in input.as_bytes().iter().take(400) {
                if s.write_all(std::slice::from_ref(b)).is_err() {
                    break;
                }
            }
            let _ = s.write_all(input.as_bytes().get(400..).unwrap_or_default());
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            assert!(
                out.starts_with(&format!("HTTP/1.1 {status} ")),
                "{name} (bytes): {out}"
            );
            still_serving(addr);
        }
        assert_eq!(
            smuggled.load(Ordering::SeqCst),
            0,
            "a smuggled request was handled"
        );
        server.close().await;
    });
}

/// Pipelined requests behind an unanswered one are read only as far as the server's
/// buffer allows (back-pressure, not an unbounded queue); all are answered in order,
/// and other connections are served meanwhile. aiohttp THREAT_MODEL.md (pipeline-count
/// cap added after the request queue grew without bound; CWE-770).
#[test]
fn unbounded_pipelining_queue() {
    run(|rt| async move {
        let app = App::new()
            .get("/ok", |_r: Request| async { "ok" })
            .get("/n/{n}", |r: Request| async move {
                Response::text(r.param("n").unwrap_or("").to_owned())
            });
        let server = TestServer::start(&rt, app).await.expect("server");
        let addr = server.addr();
        let n = 20_000;
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut writer = stream.try_clone().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let done_w = done.clone();
        let feeder = std::thread::spawn(move || {
            let mut all = Vec::new();
            for i in 0..n {
                all.extend_from_slice(format!("GET /n/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
            }
            writer.write_all(&all).unwrap();
            done_w.store(true, Ordering::SeqCst);
        });
        // While the flood sits unread, another client is served.
        still_serving(addr);
        // Read every answer, in order.
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut next = 0;
        let mut at = 0;
        while next < n {
            let k = stream.read(&mut chunk).expect("read");
            assert!(k > 0, "closed after {next} responses");
            buf.extend_from_slice(&chunk[..k]);
            // Parse complete responses: head, then a Content-Length body.
            while let Some(end) = buf[at..].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[at..at + end]).to_ascii_lowercase();
                let len: usize = head
                    .split("\r\n")
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .and_then(|v| v.trim().parse().ok())
                    .expect("content-length");
                let body_at = at + end + 4;
                if buf.len() < body_at + len {
                    break;
                }
                assert!(head.starts_with("http/1.1 200"), "{head}");
                assert_eq!(&buf[body_at..body_at + len], next.to_string().as_bytes());
                next += 1;
                at = body_at + len;
            }
            if at > 1 << 20 {
                buf.drain(..at);
                at = 0;
            }
        }
        feeder.join().unwrap();
        assert!(done.load(Ordering::SeqCst));
        server.close().await;
    });
}

// ---------------------------------------------------------------------------------
// Client: CRLF injection (aiohttp CVE-2023-49081 GHSA-q3qx-c6g2-7pw2 via version,
// CVE-2023-49082 GHSA-qvrw-v9rv-5rjx via method; Python urllib CVE-2019-9740 via target)
// ---------------------------------------------------------------------------------

/// A plain TCP listener that records every request head it receives and answers each
/// with an empty 200 and a close.
struct Recorder {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, st) = (heads.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(mut conn) = conn else { continue };
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                h.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&got).into_owned());
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Self {
            addr,
            heads,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// No recorded head has a line the client did not mean to send: every line after the
/// request line is a `name: value` field with a name we know.
fn assert_no_injected_line(heads: &[String]) {
    for head in heads {
        // A CR/LF stripped or encoded leaves "Injected" inside the target, which is
        // harmless; a line of its own is the injection.
        assert!(
            !head
                .split("\r\n")
                .skip(1)
                .any(|l| l.to_ascii_lowercase().starts_with("injected")),
            "injected line in {head:?}"
        );
        let mut lines = head.trim_end_matches("\r\n\r\n").split("\r\n");
        let start = lines.next().unwrap_or("");
        let parts: Vec<&str> = start.split(' ').collect();
        assert_eq!(parts.len(), 3, "request line {start:?}");
        assert_eq!(parts[2], "HTTP/1.1", "request line {start:?}");
        assert!(!head.contains('\0'));
    }
}

fn session(rt: &TokioRuntime) -> ClientSession<TokioRuntime> {
    ClientSession::builder_with_runtime(rt.clone())
        .build()
        .expect("session")
}

/// The method is a token (`http::Method`): CR, LF, space and NUL cannot be in it, so a
/// method cannot carry a second request line (aiohttp CVE-2023-49082). An extension
/// method goes out verbatim.
#[test]
fn client_crlf_injection_method() {
    for bad in [
        &b"GET / HTTP/1.1\r\nInjected: 1\r\n\r\nGET"[..],
        b"GET\r\n",
        b"GET X",
        b"G\0T",
        b"GET\n",
    ] {
        assert!(
            http::Method::from_bytes(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    run(|rt| async move {
        let rec = Recorder::start();
        let m = http::Method::from_bytes(b"PURGE").unwrap();
        let r = session(&rt)
            .request(m, &rec.url("/p"))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
        let heads = rec.heads();
        assert_no_injected_line(&heads);
        assert!(heads[0].starts_with("PURGE /p HTTP/1.1\r\n"), "{heads:?}");
    });
}

/// CR/LF or spaces in the URL path or query never reach the request line: the URL is
/// percent-encoded (or refused). Python urllib CVE-2019-9740 / CVE-2019-9947; aiohttp
/// CVE-2023-49082's target variant.
#[test]
fn client_crlf_injection_target() {
    run(|rt| async move {
        let rec = Recorder::start();
        let s = session(&rt);
        let evil = [
            "/a\r\nInjected: 1\r\n\r\nGET /x",
            "/a HTTP/1.1\r\nInjected: 1\r\nX: y",
            "/a?q=1\r\nInjected: 1",
            "/a%0d%0aInjected:%201",
            "/a\nInjected: 1",
            "/a#\r\nInjected: 1",
        ];
        for path in evil {
            // A raw control character is refused outright (the URL parser would
            // silently delete CR/LF/tab and send a different request); an encoded one
            // is sent encoded.
            let result = s.get(&rec.url(path)).send().await;
            if path.bytes().any(|b| b.is_ascii_control()) {
                match result {
                    Err(ClientError::InvalidUrl(why)) => {
                        assert!(why.contains("control character"), "{why}")
                    }
                    other => panic!("{path:?}: expected InvalidUrl, got {other:?}"),
                }
            }
        }
        // The same through session.ws_connect.
        let ws = s.ws_connect(&rec.url("/a\r\nInjected: 1")).await;
        assert!(
            matches!(ws, Err(sansweb::ws::WsError::InvalidUrl(_))),
            "{ws:?}"
        );
        let _ = s
            .get(&rec.url("/q"))
            .query(&[("k\r\nInjected: 1", "v\r\nInjected: 2 HTTP/1.1")])
            .send()
            .await
            .expect("query values are encoded");
        let heads = rec.heads();
        assert!(!heads.is_empty());
        assert_no_injected_line(&heads);
    });
}

/// The version is an `http::Version`, not a string (aiohttp CVE-2023-49081 let a
/// version string carry CRLF): the client writes `HTTP/1.1`, and the core refuses a
/// version it cannot speak rather than writing it.
#[test]
fn client_crlf_injection_version() {
    use sansweb_core::h1::{Client, Config, Conn, ErrorKind, RequestHead};
    #[allow(clippy::disallowed_methods)] // the codec's `now`
    let now = std::time::Instant::now();
    for v in [
        http::Version::HTTP_2,
        http::Version::HTTP_3,
        http::Version::HTTP_09,
    ] {
        let mut conn = Conn::<Client>::new(Config::client(), now);
        let mut head = RequestHead::new(http::Method::GET, "http://h/".parse().unwrap());
        head.version = v;
        let err = conn.send_request(now, head).expect_err("refused");
        assert!(
            matches!(err.kind(), ErrorKind::InvalidOutgoingHead(_)),
            "{v:?}: {err}"
        );
        assert!(conn.poll_transmit().is_none(), "{v:?}: bytes were written");
    }
    run(|rt| async move {
        let rec = Recorder::start();
        session(&rt).get(&rec.url("/v")).send().await.expect("sent");
        let heads = rec.heads();
        assert_no_injected_line(&heads);
        assert!(heads[0].starts_with("GET /v HTTP/1.1\r\n"), "{heads:?}");
    });
}

/// A header name with CR/LF, ':' or spaces is refused before anything is sent.
#[test]
fn client_crlf_injection_header_name() {
    run(|rt| async move {
        let rec = Recorder::start();
        let s = session(&rt);
        for name in [
            "X-A\r\nInjected",
            "X-A: 1\r\nInjected",
            "X A",
            "X-A\n",
            "X\0A",
            "",
        ] {
            let r = s.get(&rec.url("/h")).header(name, "1").send().await;
            assert!(r.is_err(), "{name:?} was accepted");
        }
        assert!(
            rec.heads().is_empty(),
            "a request went out: {:?}",
            rec.heads()
        );
        // Default headers of a session: refused when the session is built.
        let built = ClientSession::builder_with_runtime(rt.clone())
            .header("X-A\r\nInjected", "1")
            .build();
        assert!(built.is_err());
    });
}

/// A header value (or a cookie, or basic-auth credentials) with CR/LF/NUL is refused
/// before anything is sent; aiohttp GHSA-qvrw-v9rv-5rjx class.
#[test]
fn client_crlf_injection_header_value() {
    run(|rt| async move {
        let rec = Recorder::start();
        let s = session(&rt);
        for value in [
            "1\r\nInjected: 1",
            "1\nInjected: 1",
            "1\rInjected: 1",
            "1\0",
        ] {
            let r = s.get(&rec.url("/h")).header("X-A", value).send().await;
            assert!(r.is_err(), "{value:?} was accepted");
            let r = s.get(&rec.url("/c")).cookie("a", value).send().await;
            assert!(r.is_err(), "cookie {value:?} was accepted");
        }
        assert!(
            rec.heads().is_empty(),
            "a request went out: {:?}",
            rec.heads()
        );
        // Credentials are base64-encoded: CRLF in them cannot escape the header.
        s.get(&rec.url("/b"))
            .basic_auth("u\r\nInjected: 1", "p\r\n")
            .send()
            .await
            .expect("sent");
        let heads = rec.heads();
        assert_eq!(heads.len(), 1);
        assert_no_injected_line(&heads);
        let built = ClientSession::builder_with_runtime(rt.clone())
            .header("X-A", "1\r\nInjected: 1")
            .build();
        assert!(built.is_err());
    });
}

// ---------------------------------------------------------------------------------
// Static files (aiohttp CVE-2024-23334 GHSA-5h86-8mv2-jq9f: traversal with
// follow_symlinks; CVE-2024-42367 GHSA-jwhx-xcg6-8xhj: precompressed sibling symlinks)
// ---------------------------------------------------------------------------------

const SECRET: &str = "TOP-SECRET-CONTENT";
const HELLO: &str = "hello static world";

/// `<tmp>/secret.txt` and `<tmp>/outside/` (secrets), the served root `<tmp>/root`
/// with `hello.txt`, `sub/`, and (Unix) symlinks pointing out of the root.
fn tree() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir().join(format!(
        "sansweb-vuln-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(base.join("outside")).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    std::fs::write(base.join("secret.txt.gz"), SECRET).unwrap();
    std::fs::write(base.join("outside/secret.txt"), SECRET).unwrap();
    std::fs::write(root.join("hello.txt"), HELLO).unwrap();
    std::fs::write(root.join("sub/page.txt"), HELLO).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::symlink;
        symlink(base.join("secret.txt"), root.join("link.txt")).unwrap();
        symlink(base.join("outside"), root.join("linkdir")).unwrap();
        // Precompressed siblings that point out of the root.
        symlink(base.join("secret.txt.gz"), root.join("hello.txt.gz")).unwrap();
        symlink(base.join("secret.txt"), root.join("hello.txt.br")).unwrap();
    }
    base
}

/// Serves `tree()` under `/static` and checks that no attempt leaks a secret, each gets
/// 400/403/404, and the server keeps serving.
fn no_escape(attempts: &[&str], headers: &str) {
    let base = tree();
    let root = base.join("root");
    let attempts: Vec<String> = attempts
        .iter()
        .map(|a| a.replace("{base}", &base.display().to_string()))
        .collect();
    run(|rt| async move {
        let app = App::new()
            .get("/ok", |_r: Request| async { "ok" })
            .static_files("/static", root);
        let server = TestServer::start(&rt, app).await.expect("server");
        let addr = server.addr();
        let (status, text) = exchange(
            addr,
            format!(
                "GET /static/hello.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n"
            )
            .as_bytes(),
        );
        assert_eq!(status, Some(200), "{text}");
        for path in &attempts {
            let (status, text) = exchange(
                addr,
                format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{headers}\r\n")
                    .as_bytes(),
            );
            assert!(matches!(status, Some(400 | 403 | 404)), "{path}: {text}");
            assert!(!text.contains(SECRET), "{path} leaked the secret");
            assert!(!text.contains("root:x:"), "{path} leaked /etc/passwd");
        }
        still_serving(addr);
        server.close().await;
    });
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn static_traversal_dotdot() {
    no_escape(
        &[
            "/static/../secret.txt",
            "/static/../../../../../../etc/passwd",
            "/static/sub/../../secret.txt",
            "/static/./../secret.txt",
            "/static/sub/./../.././secret.txt",
            "/static/..",
            "/static/../outside/secret.txt",
        ],
        "",
    );
}

#[test]
fn static_traversal_encoded() {
    no_escape(
        &[
            "/static/%2e%2e/secret.txt",
            "/static/%2E%2E/secret.txt",
            "/static/.%2e/secret.txt",
            "/static/%2e%2e%2fsecret.txt",
            "/static/..%2fsecret.txt",
            "/static/%252e%252e/secret.txt",
            "/static/%252e%252e%252fsecret.txt",
            "/static/%c0%ae%c0%ae/secret.txt",
            "/static/%e0%80%ae%e0%80%ae/secret.txt",
            "/static/%2fetc%2fpasswd",
            "/static/%00/../secret.txt",
            "/static/hello.txt%00../../secret.txt",
            "/static/{base}/secret.txt",
            "/static/%2f{base}/secret.txt",
        ],
        "",
    );
}

#[test]
fn static_traversal_symlink() {
    #[cfg(unix)]
    no_escape(
        &[
            "/static/link.txt",
            "/static/linkdir/secret.txt",
            "/static/linkdir/",
        ],
        "",
    );
}

/// The precompressed sibling (`hello.txt.gz`) is a symlink out of the root: the plain
/// file (or an error) is served, never the sibling's target.
#[test]
fn static_traversal_precompressed_symlink() {
    #[cfg(unix)]
    {
        no_escape(
            &["/static/link.txt", "/static/../secret.txt"],
            "Accept-Encoding: gzip, br\r\n",
        );
        let base = tree();
        let root = base.join("root");
        run(|rt| async move {
            let server = TestServer::start(&rt, App::new().static_files("/static", root))
                .await
                .expect("server");
            for enc in ["gzip", "br", "gzip, br", "br;q=1, gzip;q=0.5"] {
                let (status, text) = exchange(
                    server.addr(),
                    format!("GET /static/hello.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {enc}\r\nConnection: close\r\n\r\n").as_bytes(),
                );
                assert!(
                    !text.contains(SECRET),
                    "{enc}: served the symlinked sibling: {text}"
                );
                assert!(
                    !text.to_ascii_lowercase().contains("content-encoding"),
                    "{enc}: {text}"
                );
                assert_eq!(status, Some(200), "{text}");
                assert!(text.ends_with(HELLO), "{text}");
            }
            server.close().await;
        });
        let _ = std::fs::remove_dir_all(base);
    }
}

/// Backslashes are separators on Windows: `..\` must not climb out of the root there,
/// and is refused everywhere. Go CVE-2022-41722 (filepath.Clean on Windows), aiohttp
/// CVE-2024-23334 class.
#[test]
fn static_traversal_windows_backslash() {
    no_escape(
        &[
            "/static/..\\secret.txt",
            "/static/sub\\..\\..\\secret.txt",
            "/static/..%5csecret.txt",
            "/static/..%5Csecret.txt",
            "/static/%2e%2e%5csecret.txt",
            "/static/sub%5c..%5c..%5csecret.txt",
            "/static/C:\\Windows\\win.ini",
            "/static/C:/Windows/win.ini",
            "/static/c:%5cwindows%5cwin.ini",
            "/static/hello.txt::$DATA",
        ],
        "",
    );
}

/// UNC and device paths (`\\server\share`, `\\?\C:\`, `//?/`) name another machine or a
/// raw device on Windows. Go CVE-2023-45283 (`\??\` prefixes), CVE-2022-41722.
#[test]
fn static_traversal_unc() {
    no_escape(
        &[
            "/static/\\\\127.0.0.1\\c$\\secret.txt",
            "/static/%5c%5c127.0.0.1%5cc$%5csecret.txt",
            "/static/\\\\?\\C:\\secret.txt",
            "/static/%5c%5c%3f%5cC:%5csecret.txt",
            "/static///127.0.0.1/c$/secret.txt",
            "/static/%2f%2f127.0.0.1%2fshare",
            "/static/\\??\\C:\\secret.txt",
            "/static//?/C:/secret.txt",
            "/static/\\\\.\\pipe\\x",
        ],
        "",
    );
}

// ---------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------

/// A path like `//evil.example/` must never come back as `Location: //evil.example/`
/// (a protocol-relative URL the browser follows off-site). aiohttp CVE-2021-21330
/// (GHSA-v6wp-4m6f-gcjg, normalize_path_middleware open redirect).
#[test]
fn open_redirect_path_normalisation() {
    let base = tree();
    let root = base.join("root");
    run(|rt| async move {
        let app = App::new()
            .get("/ok", |_r: Request| async { "ok" })
            .get("/a/", |_r: Request| async { "a" })
            .static_files("/static", root);
        let server = TestServer::start(&rt, app).await.expect("server");
        let addr = server.addr();
        for path in [
            "//evil.example",
            "//evil.example/",
            "//evil.example/%2e%2e",
            "//evil.example/%2e%2e%2f",
            "///evil.example/",
            "/\\evil.example",
            "/\\/evil.example/",
            "/%2f%2fevil.example",
            "/%5cevil.example",
            "/a//evil.example",
            "/a",
            "//evil.example/a",
            "/static/sub",
            "//evil.example/static/sub",
            "/static//evil.example/",
            "/..//evil.example",
            "http://evil.example/",
        ] {
            let (status, text) = exchange(
                addr,
                format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
            );
            let status = status.unwrap_or_else(|| panic!("{path}: no answer: {text}"));
            let head = text
                .split("\r\n\r\n")
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if let Some(loc) = head.split("\r\n").find_map(|l| l.strip_prefix("location:")) {
                let loc = loc.trim();
                assert!(
                    loc.starts_with('/') && !loc.starts_with("//") && !loc.starts_with("/\\"),
                    "{path}: {status} to {loc:?}"
                );
                assert!(!loc.contains("evil.example"), "{path}: {status} to {loc:?}");
            }
        }
        still_serving(addr);
        server.close().await;
    });
    let _ = std::fs::remove_dir_all(base);
}

/// Credentials set for one origin (Authorization, Cookie, Proxy-Authorization headers
/// and the jar's cookies) must not follow a redirect to another origin. curl
/// CVE-2018-1000007 and CVE-2022-27776; Python requests CVE-2018-18074.
#[test]
fn cross_origin_redirect_strips_cookies_and_authorization() {
    run(|rt| async move {
        let echo = |r: Request| async move {
            let h = |n: &str| r.header(n).unwrap_or("-").to_owned();
            Response::text(format!(
                "auth={} cookie={} proxy={}",
                h("authorization"),
                h("cookie"),
                h("proxy-authorization")
            ))
        };
        let other = TestServer::start(&rt, App::new().get("/echo", echo))
            .await
            .expect("server");
        // The other origin: another host name (and port) for the same loopback server.
        let other_url = format!("http://127.0.0.1:{}/echo", other.addr().port());
        let to = other_url.clone();
        let app = App::new()
            .get("/echo", echo)
            .get("/set", |_r: Request| async {
                Response::text("set").with_header("set-cookie", "jar=1; Path=/")
            })
            .get("/away", move |_r: Request| {
                let to = to.clone();
                async move { sansweb::web::HttpError::found(&to) }
            })
            .get("/here", |_r: Request| async {
                sansweb::web::HttpError::found("/echo")
            });
        let origin = TestServer::start(&rt, app).await.expect("server");
        let base = format!("http://localhost:{}", origin.addr().port());
        let s = session(&rt);
        s.get(&format!("{base}/set")).send().await.expect("set");
        let send = |path: &str| {
            s.get(&format!("{base}{path}"))
                .header("Authorization", "Bearer s3cret")
                .header("Proxy-Authorization", "Basic cDpw")
                .header("Cookie", "sid=s3cret")
                .send()
        };
        // Same origin: everything is kept (the test can tell).
        let text = send("/here")
            .await
            .expect("same origin")
            .text()
            .await
            .unwrap();
        assert!(text.contains("auth=Bearer s3cret"), "{text}");
        assert!(
            text.contains("sid=s3cret") && text.contains("jar=1"),
            "{text}"
        );
        // Another origin: nothing of it arrives.
        let mut r = send("/away").await.expect("cross origin");
        assert_eq!(r.url().as_str(), other_url);
        let text = r.text().await.unwrap();
        assert_eq!(text, "auth=- cookie=- proxy=-");
        origin.close().await;
        other.close().await;
    });
}

/// A small compressed body that inflates past the session's cap fails with an error at
/// the cap instead of exhausting memory. aiohttp CVE-2025-69223 (GHSA-6mq8-rvhq-8wgg,
/// auto_decompress zip bomb); urllib3 CVE-2025-66471.
#[test]
fn zip_bomb_auto_decompress() {
    use flate2::{write::GzEncoder, write::ZlibEncoder, Compression};
    let zeros = vec![0u8; 16 << 20]; // 16 MiB: 16x the cap below
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&zeros).unwrap();
    let gz = gz.finish().unwrap();
    let mut zl = ZlibEncoder::new(Vec::new(), Compression::best());
    zl.write_all(&zeros).unwrap();
    let zl = zl.finish().unwrap();
    let mut br = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut br, 4096, 5, 22);
        w.write_all(&zeros).unwrap();
    }
    let mut zs = zstd::stream::encode_all(&zeros[..], 3).unwrap();
    zs.shrink_to_fit();
    drop(zeros);
    assert!(gz.len() < 200_000 && zl.len() < 200_000 && br.len() < 200_000 && zs.len() < 200_000);
    let bodies = Arc::new(vec![
        ("gzip", gz),
        ("deflate", zl),
        ("br", br),
        ("zstd", zs),
    ]);
    run(|rt| async move {
        let b = bodies.clone();
        let app = App::new().get("/ok", |_r: Request| async { "ok" }).get(
            "/bomb/{i}",
            move |r: Request| {
                let (enc, body) = b[r.param("i").unwrap().parse::<usize>().unwrap()].clone();
                async move { Response::bytes(body).with_header("content-encoding", enc) }
            },
        );
        let server = TestServer::start(&rt, app).await.expect("server");
        let cap = 1 << 20;
        let s = ClientSession::builder_with_runtime(rt.clone())
            .max_decompressed_size(cap)
            .build()
            .unwrap();
        for (i, (enc, _)) in bodies.iter().enumerate() {
            let url = server.url(&format!("/bomb/{i}"));
            let mut r = s.get(&url).send().await.expect("head");
            assert!(
                r.bytes().await.is_err(),
                "{enc}: the whole bomb was inflated"
            );
            // Streaming: what comes out before the error stays under the cap.
            let mut r = s.get(&url).send().await.expect("head");
            let mut total = 0u64;
            let failed = loop {
                match r.chunk().await {
                    Ok(Some(c)) => total += c.len() as u64,
                    Ok(None) => break false,
                    Err(_) => break true,
                }
            };
            assert!(failed, "{enc}: inflated {total} bytes without error");
            assert!(total <= cap, "{enc}: {total} bytes past the {cap}-byte cap");
        }
        // The session and server still work afterwards.
        let mut ok = s.get(&server.url("/ok")).send().await.expect("ok");
        assert_eq!(ok.text().await.unwrap(), "ok");
        server.close().await;
    });
}
