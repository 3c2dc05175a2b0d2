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

/// Binds a non-blocking Unix-domain listener at `path`.
#[cfg(unix)]
pub(crate) fn bind_unix(path: &std::path::Path) -> io::Result<std::os::unix::net::UnixListener> {
    let listener = std::os::unix::net::UnixListener::bind(path)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}
