//! Listener setup written once for every runtime: bind with socket2 on a std socket, then
//! each runtime registers the std listener with its reactor (`*_listener_from_std`).
//!
//! Why socket2: std's `TcpListener::bind` cannot set `SO_REUSEPORT` before `bind(2)`,
//! and doing it per runtime would write the same unsafe-free socket dance three times.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// The accept backlog. std uses 128; a server under a connection burst wants more, and
/// the kernel caps it at `somaxconn` anyway.
const BACKLOG: i32 = 1024;

/// Binds a non-blocking TCP listener on `addr`, with `SO_REUSEPORT` when `reuse_port`.
pub(crate) fn bind_tcp(addr: SocketAddr, reuse_port: bool) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Like std: lets a restarted server bind while old connections sit in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    if reuse_port {
        set_reuse_port(&socket)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

#[cfg(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
))]
fn set_reuse_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
)))]
fn set_reuse_port(_socket: &Socket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_REUSEPORT is not available on this platform",
    ))
}

/// How many bytes the kernel may hold unsent on one TCP socket before the socket stops
/// being writable (`TCP_NOTSENT_LOWAT`).
///
/// Why: left unbounded (Linux's default), a fast sender parks megabytes in its send
/// queue whenever the peer's window is shut, and a control frame written now (a WebSocket
/// pong or close, an HTTP response behind a large body) waits behind all of it. That
/// backlog is then transmitted as the peer's ACKs open the window, so on loopback its
/// segments are pushed out from the ACK path rather than from our `write` (perf showed
/// `tcp_write_xmit` and wake-ups in the peer's samples). Bounded, the data waits in our
/// own buffer instead and the socket wakes the writer as soon as the queue runs low.
/// Measured on our WebSocket client echoing 300 × 1 MiB against the fastwebsockets
/// server (`ws_bench`, 9–13 alternating rounds): 16–128 KiB all cut the time by 16–22%,
/// 64 KiB by 20–36%, and the client's CPU by ~30%; 16 MiB HTTP downloads from our server
/// kept their CPU per request and gained 12–15% req/s. Only *unsent* bytes are bounded:
/// bytes in flight (the congestion window) are not, so long fat links keep their
/// throughput. Cloudflare's edge and HTTP/2 servers set the same option for the same
/// head-of-line reason.
pub(crate) const NOTSENT_LOWAT: u32 = 64 << 10;

/// Sets [`NOTSENT_LOWAT`] on a connected TCP socket, where the platform has the option
/// (Linux, Android). Best effort: a kernel without it (before 3.12) or a sandbox refusing
/// it leaves the default, which is correct, only slower.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn limit_unsent(stream: &impl std::os::fd::AsFd) {
    let _ = socket2::SockRef::from(stream).set_tcp_notsent_lowat(NOTSENT_LOWAT);
}

/// Elsewhere socket2 offers no `TCP_NOTSENT_LOWAT`; the kernel's default stays.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn limit_unsent<S>(_stream: &S) {}

/// Binds a non-blocking Unix-domain listener at `path`.
#[cfg(unix)]
pub(crate) fn bind_unix(path: &std::path::Path) -> io::Result<std::os::unix::net::UnixListener> {
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// A TCP socket for `peer`'s family, bound to `local` (port 0: the OS picks one), not
/// yet connected, non-blocking — what a runtime finishes with its own connect (aiohttp's
/// `local_addr`). The runtime's plain `connect_tcp` skips this: no bind, no socket2.
pub(crate) fn bound_socket(peer: SocketAddr, local: std::net::IpAddr) -> io::Result<Socket> {
    if peer.is_ipv4() != local.is_ipv4() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("local address {local} cannot reach {peer} (other address family)"),
        ));
    }
    let socket = Socket::new(Domain::for_address(peer), Type::STREAM, Some(Protocol::TCP))?;
    socket.bind(&SocketAddr::new(local, 0).into())?;
    socket.set_tcp_nodelay(true)?;
    limit_unsent(&socket);
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// Starts a non-blocking connect; `Ok` whether it completed or is in progress.
#[cfg(feature = "runtime-smol")]
pub(crate) fn start_connect(socket: &Socket, peer: SocketAddr) -> io::Result<()> {
    match socket.connect(&peer.into()) {
        Ok(()) => Ok(()),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc_einprogress()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(e),
    }
}

/// `EINPROGRESS`, which std maps to no stable `ErrorKind`.
#[cfg(all(unix, feature = "runtime-smol"))]
fn libc_einprogress() -> i32 {
    // Linux and the BSDs agree on neither number; 115 is Linux's, 36 the BSDs'/macOS's.
    if cfg!(any(target_os = "linux", target_os = "android")) {
        115
    } else {
        36
    }
}
