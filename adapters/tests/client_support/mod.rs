//! Shared by the client tests: a tiny HTTP/1.1 server on std threads (so it does not
//! depend on the project's own server layer), and the every-runtime harness.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use sansweb::rt::Runtime;

pub mod proxy;
pub mod tls;

/// Runs `f` on a fresh executor of runtime `R`.
pub fn run<R: Runtime, F, Fut>(f: F)
where
    F: FnOnce(R) -> Fut,
    Fut: Future<Output = ()>,
{
    R::block_on(f).expect("runtime starts");
}

/// One test per runtime for each scenario `async fn name<R: Runtime>(rt: R)`.
#[macro_export]
macro_rules! on_every_runtime {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn tokio() {
                $crate::client_support::run(|rt: sansweb::rt::TokioRuntime| super::$name(rt))
            }
            #[test]
            fn smol() {
                $crate::client_support::run(|rt: sansweb::rt::SmolRuntime| super::$name(rt))
            }
            #[test]
            fn async_std() {
                $crate::client_support::run(|rt: sansweb::rt::AsyncStdRuntime| {
                    super::$name(rt)
                })
            }
        }
    )*};
}

/// A request as the test server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Which TCP connection (0, 1, ... in accept order) carried it.
    pub conn: usize,
    pub method: String,
    pub target: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

/// The test server: routes below, every request recorded.
pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    /// Bytes of body the server managed to write on `/endless` (back-pressure checks).
    pub endless_written: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let endless_written = Arc::new(AtomicUsize::new(0));
        let (seen2, endless2) = (seen.clone(), endless_written.clone());
        thread::spawn(move || {
            for (conn, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { return };
                let (seen, endless) = (seen2.clone(), endless2.clone());
                thread::spawn(move || serve(conn, stream, addr, seen, endless));
            }
        });
        TestServer {
            addr,
            seen,
            endless_written,
        }
    }
}

fn serve(
    conn: usize,
    stream: TcpStream,
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    endless: Arc<AtomicUsize>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let target = parts.next().unwrap_or("").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        if headers.get("expect").map(String::as_str) == Some("100-continue") {
            let _ = out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
        }
        let body = if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
            match read_chunked(&mut reader) {
                Some(b) => b,
                None => return,
            }
        } else {
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            body
        };
        let req = Seen {
            conn,
            method: method.clone(),
            target: target.clone(),
            headers: headers.clone(),
            body: body.clone(),
        };
        seen.lock().unwrap().push(req.clone());
        if !respond(&mut out, &req, addr, &endless) {
            return;
        }
    }
}

fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            let mut end = String::new();
            reader.read_line(&mut end).ok()?;
            return Some(body);
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).ok()?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).ok()?;
    }
}

fn simple(out: &mut TcpStream, req: &Seen, status: &str, extra: &str, body: &[u8]) -> bool {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    );
    // A response to HEAD has the GET's headers and no body. One write, so a small
    // response arrives in one piece (on loopback, in one read).
    let mut all = head.into_bytes();
    if req.method != "HEAD" {
        all.extend_from_slice(body);
    }
    out.write_all(&all).is_ok()
}

/// Answers one request; false to close the connection.
fn respond(out: &mut TcpStream, req: &Seen, addr: SocketAddr, endless: &AtomicUsize) -> bool {
    let path = req.target.split('?').next().unwrap_or("");
    match path {
        "/text" => simple(
            out,
            req,
            "200 OK",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "héllo wörld".as_bytes(),
        ),
        "/latin1" => simple(
            out,
            req,
            "200 OK",
            "Content-Type: text/plain; charset=iso-8859-1\r\n",
            b"caf\xe9",
        ),
        "/json" => simple(
            out,
            req,
            "200 OK",
            "Content-Type: application/json\r\n",
            br#"{"name":"sansweb","n":3}"#,
        ),
        "/echo" => {
            let ctype = req.headers.get("content-type").cloned().unwrap_or_default();
            let extra = format!("Content-Type: {ctype}\r\nX-Method: {}\r\n", req.method);
            simple(out, req, "200 OK", &extra, &req.body)
        }
        "/target" => simple(out, req, "200 OK", "", req.target.as_bytes()),
        "/headers" => {
            let mut lines: Vec<String> = req
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            lines.sort();
            simple(out, req, "200 OK", "", lines.join("\n").as_bytes())
        }
        "/set-cookie" => simple(
            out,
            req,
            "200 OK",
            "Set-Cookie: session=abc123; Path=/\r\nSet-Cookie: theme=dark\r\n",
            b"set",
        ),
        "/cookies" => {
            let c = req.headers.get("cookie").cloned().unwrap_or_default();
            simple(out, req, "200 OK", "", c.as_bytes())
        }
        "/slow" => {
            thread::sleep(Duration::from_millis(1500));
            simple(out, req, "200 OK", "", b"late")
        }
        "/slow-body" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
            if out.write_all(head.as_bytes()).is_err() {
                return false;
            }
            thread::sleep(Duration::from_millis(1500));
            out.write_all(b"world").is_ok()
        }
        "/oneshot" => {
            simple(out, req, "200 OK", "", b"once");
            false
        }
        // One byte, 600 ms of silence, one more byte.
        "/gap" => {
            let head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\na";
            if out.write_all(head.as_bytes()).is_err() {
                return false;
            }
            thread::sleep(Duration::from_millis(600));
            out.write_all(b"b").is_ok()
        }
        "/close" => {
            simple(out, req, "200 OK", "Connection: close\r\n", b"bye");
            false
        }
        "/gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(&b"compressed text ".repeat(1000)).unwrap();
            let packed = e.finish().unwrap();
            simple(out, req, "200 OK", "Content-Encoding: gzip\r\n", &packed)
        }
        "/bomb" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            e.write_all(&vec![0u8; 8 << 20]).unwrap();
            let packed = e.finish().unwrap();
            simple(out, req, "200 OK", "Content-Encoding: gzip\r\n", &packed)
        }
        "/lines" => simple(out, req, "200 OK", "", b"one\ntwo\n\nthree"),
        "/big" => simple(out, req, "200 OK", "", &vec![b'x'; 4 << 20]),
        // 8 MiB in 64 KiB chunks, chunked coding, each chunk filled with its index byte.
        "/chunked" => {
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            if out.write_all(head.as_bytes()).is_err() {
                return false;
            }
            for i in 0..128u32 {
                let chunk = vec![(i % 251) as u8; 64 * 1024];
                if out
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .is_err()
                    || out.write_all(&chunk).is_err()
                    || out.write_all(b"\r\n").is_err()
                {
                    return false;
                }
            }
            out.write_all(b"0\r\n\r\n").is_ok()
        }
        // A body that never ends: how much the server could write shows whether the
        // client reads ahead of its user.
        "/endless" => {
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            if out.write_all(head.as_bytes()).is_err() {
                return false;
            }
            let chunk = vec![b'e'; 16 * 1024];
            loop {
                if out.write_all(b"4000\r\n").is_err()
                    || out.write_all(&chunk).is_err()
                    || out.write_all(b"\r\n").is_err()
                {
                    return false;
                }
                endless.fetch_add(chunk.len(), Ordering::SeqCst);
            }
        }
        "/307" => simple(
            out,
            req,
            "307 Temporary Redirect",
            "Location: /echo\r\n",
            b"",
        ),
        _ if path.starts_with("/status/") => {
            let code = &path["/status/".len()..];
            let reason = match code {
                "404" => "Not Found",
                "500" => "Internal Server Error",
                _ => "Whatever",
            };
            simple(out, req, &format!("{code} {reason}"), "", b"status body")
        }
        _ if path.starts_with("/redirect/") => {
            let n: u32 = path["/redirect/".len()..].parse().unwrap_or(0);
            let location = if n <= 1 {
                "/text".to_owned()
            } else {
                format!("http://{addr}/redirect/{}", n - 1)
            };
            simple(
                out,
                req,
                "302 Found",
                &format!("Location: {location}\r\n"),
                b"",
            )
        }
        _ => simple(out, req, "404 Not Found", "", b"no such route"),
    }
}

/// A port with nothing listening on it.
pub fn refused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}
