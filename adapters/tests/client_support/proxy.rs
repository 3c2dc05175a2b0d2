//! A minimal HTTP proxy on std threads: absolute-form requests are rewritten to origin
//! form and piped to the target; CONNECT opens a tunnel. Every request line and its
//! `Proxy-Authorization` are recorded. `/deny` style: a `required_auth` that does not
//! match gets 407.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct TestProxy {
    pub addr: SocketAddr,
    /// (request line, Proxy-Authorization value or "").
    pub seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl TestProxy {
    pub fn start(required_auth: Option<&'static str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let seen = seen2.clone();
                thread::spawn(move || handle(client, seen, required_auth));
            }
        });
        TestProxy { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn handle(client: TcpStream, seen: Arc<Mutex<Vec<(String, String)>>>, auth: Option<&str>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    let mut proxy_auth = String::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        if h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("proxy-authorization") {
                proxy_auth = v.trim().to_owned();
                continue;
            }
        }
        headers.push(h);
    }
    let request_line = line.trim_end().to_owned();
    seen.lock()
        .unwrap()
        .push((request_line.clone(), proxy_auth.clone()));
    let mut client_w = client.try_clone().unwrap();
    if auth.is_some_and(|a| a != proxy_auth) {
        let _ = client_w.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("");
    let target = parts.next().unwrap_or("");
    let version = parts.next().unwrap_or("HTTP/1.1");
    let (authority, head) = if method == "CONNECT" {
        (target.to_owned(), None)
    } else {
        let rest = target.strip_prefix("http://").unwrap_or(target);
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut head = format!("{method} {path} {version}\r\n");
        for h in &headers {
            head.push_str(h);
        }
        head.push_str("\r\n");
        (authority.to_owned(), Some(head))
    };
    let Ok(mut upstream) = TcpStream::connect(authority.replace("localhost", "127.0.0.1")) else {
        let _ = client_w.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    match head {
        None => {
            let _ = client_w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        }
        Some(head) => {
            let _ = upstream.write_all(head.as_bytes());
        }
    }
    // Bytes the reader buffered past the head belong to the upstream.
    let buffered = reader.buffer().to_vec();
    let _ = upstream.write_all(&buffered);
    let up2 = upstream.try_clone().unwrap();
    thread::spawn(move || pipe(up2, client_w));
    pipe(reader.into_inner(), upstream);
}
