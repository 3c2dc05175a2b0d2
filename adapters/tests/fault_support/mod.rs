//! What the `fault_*` and `load_*` tests share: scripted peers on std threads (a test
//! controls every byte, the half-close and the reset — `SO_LINGER 0` turns a close into
//! an RST, which no async runtime stream exposes), and the gauges a test waits on
//! (server connections, the process's open files and resident memory).

#![allow(dead_code)] // each test file uses a different part of this

use sansweb::rt::Runtime;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A listener on 127.0.0.1 whose every accepted connection runs `script(index, stream)`
/// on its own thread (index 0, 1, ... in accept order). Lives until the process ends.
pub fn script_server<F>(script: F) -> SocketAddr
where
    F: Fn(usize, TcpStream) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let script = Arc::new(script);
    thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
            let script = script.clone();
            thread::spawn(move || script(i, stream));
        }
    });
    addr
}

/// Closes `stream` with an RST instead of a FIN (`SO_LINGER` 0), discarding anything
/// unsent: what a crashed peer or a middlebox looks like.
pub fn reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(stream);
}

/// Writes `bytes`, waits `ms` so the peer has read them, then resets.
pub fn write_then_reset(mut stream: TcpStream, bytes: &[u8], ms: u64) {
    let _ = stream.write_all(bytes);
    let _ = stream.flush();
    thread::sleep(Duration::from_millis(ms));
    reset(stream);
}

/// Half-closes: no more bytes from us, but we still read.
pub fn half_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads a request or response head up to the blank line; `None` at EOF/error first.
pub fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The value of header `name` in a raw head (case-insensitive).
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads one request (head and Content-Length body); `None` if the peer closed first.
pub fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let head = read_head(stream)?;
    let len: usize = header(&head, "content-length").map_or(0, |v| v.parse().unwrap_or(0));
    let mut body = vec![0; len];
    stream.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// Reads until EOF or error; the bytes read.
pub fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = stream.read_to_end(&mut all);
    all
}

/// A blocking client connection to `addr`, with a read timeout so no test hangs.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s
}

/// Waits (polling every 5 ms, up to `limit`) until `cond()` holds; panics naming `what`.
pub async fn wait_until<R: Runtime>(
    rt: &R,
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
) {
    let deadline = rt.now() + limit;
    while !cond() {
        assert!(rt.now() < deadline, "timed out waiting for: {what}");
        rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
    }
}

/// Awaits a std thread without blocking the runtime's executor (which is serving the
/// other end of the thread's connection).
pub async fn join<R: Runtime, T>(rt: &R, handle: JoinHandle<T>) -> T {
    while !handle.is_finished() {
        rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
    }
    handle.join().expect("peer thread panicked")
}

/// The opening handshake of a WebSocket client, byte for byte.
pub const WS_UPGRADE: &[u8] = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// Answers a client's WebSocket handshake with 101 (no extensions); false if the
/// client went away first.
pub fn ws_accept(stream: &mut TcpStream) -> bool {
    let Some(head) = read_head(stream) else {
        return false;
    };
    let Some(key) = header(&head, "sec-websocket-key") else {
        return false;
    };
    let accept = sansweb::core::ws::accept_key(key.as_bytes());
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(answer.as_bytes()).is_ok()
}

/// A client frame (masked with key 0, which RFC 6455 allows) of up to 64 KiB.
pub fn masked_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first_byte];
    if payload.len() < 126 {
        f.push(0x80 | payload.len() as u8);
    } else {
        f.push(0x80 | 126);
        f.extend_from_slice(&u16::try_from(payload.len()).expect("<64 KiB").to_be_bytes());
    }
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Counts live things (handlers, tasks): `enter()` holds one until the guard drops.
#[derive(Clone, Default)]
pub struct Gauge(Arc<AtomicUsize>);

/// One live thing of a [`Gauge`].
pub struct GaugeGuard(Arc<AtomicUsize>);

impl Gauge {
    pub fn enter(&self) -> GaugeGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        GaugeGuard(self.0.clone())
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The largest buffer the kernel may autotune a TCP socket to (`net.ipv4.<name>`'s
/// third field); 6 MiB if unreadable.
pub fn tcp_mem_max(name: &str) -> usize {
    std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
        .ok()
        .and_then(|v| v.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or(6 << 20)
}

/// The process's open file descriptors (entries of /proc/self/fd, minus the one the
/// listing itself holds).
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count().saturating_sub(1))
}

/// The process's resident set size in bytes (/proc/self/statm, second field × page size).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096)
}

/// Raises the soft open-file limit to the hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the duration of each call.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
    }
    lim.rlim_cur
}

/// Returns freed heap to the OS, so that RSS measures what is still in use rather than
/// what the allocator keeps cached.
pub fn trim_heap() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}
