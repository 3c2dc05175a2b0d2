//! What every `web_*` test shares: one way to run a test body on each runtime, a server
//! started on port 0, and a raw HTTP/1.1 client over the runtime's own TCP stream (so
//! tests can send malformed, pipelined or slow requests byte for byte).

#![allow(dead_code)] // each test file uses a different part of this

use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use sansweb::rt::Runtime;
use sansweb::web::{App, Server, ServerConfig, ServerHandle};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// Runs `body` on `R`, failing (instead of hanging) after 30 s.
pub fn run<R: Runtime, Fut: Future<Output = ()>>(body: impl FnOnce(R) -> Fut) {
    R::block_on(|rt: R| async move {
        let deadline = rt.now() + Duration::from_secs(30);
        let guard = rt.clone();
        future::or(body(rt), async move {
            guard.sleep_until(deadline).await;
            panic!("test timed out");
        })
        .await
    })
    .expect("runtime starts");
}

/// Expands to one `#[test]` per listed `async fn name<R: Runtime>(rt: R)`, per runtime:
/// `tokio::name`, `smol::name`, `async_std::name`.
#[macro_export]
macro_rules! on_all_runtimes {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "runtime-tokio")]
        mod tokio {
            $( #[test] fn $name() { $crate::web_support::run::<sansweb::rt::TokioRuntime, _>(super::$name) } )*
        }
        #[cfg(feature = "runtime-smol")]
        mod smol {
            $( #[test] fn $name() { $crate::web_support::run::<sansweb::rt::SmolRuntime, _>(super::$name) } )*
        }
        #[cfg(feature = "runtime-async-std")]
        mod async_std {
            $( #[test] fn $name() { $crate::web_support::run::<sansweb::rt::AsyncStdRuntime, _>(super::$name) } )*
        }
    };
}

/// `app` served on 127.0.0.1, port 0, with the default policy.
pub async fn start<R: Runtime>(rt: &R, app: App) -> ServerHandle {
    start_with(rt, app, ServerConfig::default()).await
}

/// `app` served on 127.0.0.1, port 0, with `config`.
pub async fn start_with<R: Runtime>(rt: &R, app: App, config: ServerConfig) -> ServerHandle {
    Server::new(app)
        .config(config)
        .start(rt, "127.0.0.1:0".parse().expect("literal"), 1)
        .await
        .expect("server starts")
}

/// Waits `ms` milliseconds on the runtime.
pub async fn sleep<R: Runtime>(rt: &R, ms: u64) {
    rt.sleep_until(rt.now() + Duration::from_millis(ms)).await;
}

/// A response as the raw client read it.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One client connection, reading responses as the bytes arrive.
pub struct RawConn<R: Runtime> {
    pub stream: R::TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl<R: Runtime> RawConn<R> {
    pub async fn connect(rt: &R, addr: SocketAddr) -> Self {
        Self {
            stream: rt.connect_tcp(addr).await.expect("connect"),
            buf: Vec::new(),
            eof: false,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
        self.stream.flush().await.expect("flush");
    }

    /// Like `send`, but a failure (the server closed) is returned, not a panic.
    pub async fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads until the peer closes; true if it closed with nothing more sent.
    pub async fn closed(&mut self) -> bool {
        while self.fill().await {}
        self.buf.is_empty()
    }

    /// Reads one response (Content-Length, chunked, or up to EOF); `None` if the
    /// connection closed before a complete head. `head_only` for HEAD requests.
    pub async fn response(&mut self, head_only: bool) -> Option<RawResponse> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                let (n, v) = l.split_once(':')?;
                Some((n.trim().to_owned(), v.trim().to_owned()))
            })
            .collect();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let no_body = head_only || status == 204 || status == 304 || (100..200).contains(&status);
        let body = if no_body {
            Vec::new()
        } else if get("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
            self.chunked_body().await?
        } else if let Some(len) = get("content-length") {
            let len: usize = len.parse().ok()?;
            while self.buf.len() < len {
                if !self.fill().await {
                    return None;
                }
            }
            self.buf.drain(..len).collect()
        } else {
            while self.fill().await {}
            std::mem::take(&mut self.buf)
        };
        Some(RawResponse {
            status,
            headers,
            body,
        })
    }

    async fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Some(line);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn chunked_body(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let size_line = self.line().await?;
            let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !self.line().await?.is_empty() {}
                return Some(body);
            }
            while self.buf.len() < size + 2 {
                if !self.fill().await {
                    return None;
                }
            }
            body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
        }
    }
}

/// One request on a fresh connection; the response to it.
pub async fn request<R: Runtime>(rt: &R, addr: SocketAddr, raw: &str) -> RawResponse {
    let mut conn = RawConn::connect(rt, addr).await;
    conn.send(raw.as_bytes()).await;
    conn.response(raw.starts_with("HEAD "))
        .await
        .unwrap_or_else(|| panic!("no response to {raw:?}"))
}

/// `GET path` on a fresh connection.
pub async fn get<R: Runtime>(rt: &R, addr: SocketAddr, path: &str) -> RawResponse {
    request(rt, addr, &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")).await
}
