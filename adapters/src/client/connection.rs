//! One client connection, driven inline by whoever holds it.
//!
//! # Theory of operation
//!
//! A [`Connection`] is the driver's one loop (see `driver.rs`) run *by the caller's own
//! future*, not by a spawned task: the request future while it sends and waits for the
//! head, then the [`ClientResponse`](super::ClientResponse) while the user pulls the body.
//!
//! ```text
//!   poll_event(cx, timers):
//!     ┌─▶ core.poll_event() ── Some(ev) ──▶ Ready(ev)
//!     │   write core.poll_transmit() (gathered)            ─ error ─▶ Io
//!     │   read once into core ── bytes ──▶ sock_read re-armed ─┐
//!     │                        └ EOF with no event ─▶ ServerDisconnected
//!     └───────────────────────────────────────────────────────┘
//!         nothing ready: sleep until min(core deadline, request deadline) ─▶ Timeout
//! ```
//!
//! Why inline: the socket is read only when the user asks for more, so a 10 GB body never
//! sits in memory (the core holds at most one read's worth); a dropped response drops its
//! socket at once, so it can never be reused by mistake; and there is no per-connection
//! task or channel hop on the hot path. The cost: an idle pooled connection is not
//! watched, so a server's close while idle is noticed at the next use, which is exactly
//! the case the retry-once rule (`Pool::should_retry`) exists for.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use sansweb_core::client::{PoolKey, RequestTimers};
use sansweb_core::h1::{Client, Config, Conn, Event, ResponseHead};

use super::dns::Dns;
use super::error::{ClientError, ConnectorKind};
use super::trace::Tracer;
use crate::driver::Transport;
use crate::rt::{Runtime, Stream, Timer};

/// A read at least this large means a bulk body is streaming in: the next reads go
/// straight into the core's buffer (`Transport::poll_read_direct`, no copy). Smaller reads
/// (heads, small bodies) go through the driver's scratch buffer, which copies only the
/// bytes read where a direct read would first zero all the room it lends.
const BULK_READ: usize = 16 * 1024;
/// Room of the first direct read; doubled while reads fill it, up to the maximum.
const DIRECT_ROOM_MIN: usize = 64 * 1024;
/// Fewer, larger reads cut the syscalls per byte (strace, a 16 MiB download on loopback:
/// ~270 reads through the 64 KiB scratch buffer, ~77 direct ones growing up to 256 KiB,
/// ~46 up to 512 KiB, which also took the least CPU). hyper's cap is ~400 KiB; this is
/// what a connection holds at most while a body streams, released once it is idle.
const DIRECT_ROOM_MAX: usize = 512 * 1024;

/// The room of the next read after one that read `n` bytes into `room` (`0`: through
/// the scratch buffer): doubled when the read filled it, else the power of two that
/// holds what came, so the zeroing of room a read leaves unfilled stays under half.
fn next_read_room(room: usize, n: usize) -> usize {
    if n < BULK_READ {
        0
    } else if room == 0 {
        DIRECT_ROOM_MIN
    } else if n >= room {
        (room * 2).min(DIRECT_ROOM_MAX)
    } else {
        n.next_power_of_two()
            .clamp(DIRECT_ROOM_MIN, DIRECT_ROOM_MAX)
    }
}

/// Any runtime's socket, plain or TLS.
pub(crate) type BoxStream = Box<dyn Stream>;

/// An open HTTP/1.1 connection and its protocol state.
pub(crate) struct Connection<R: Runtime> {
    pub(crate) id: u64,
    transport: Transport<BoxStream>,
    pub(crate) conn: Conn<Client>,
    /// Served an earlier request (so a failure before any byte may be a stale socket).
    pub(crate) reused: bool,
    /// Some byte of the current response arrived.
    pub(crate) bytes_seen: bool,
    rt: R,
    timer: Option<Timer<R>>,
    /// Room lent to the next direct read; `0`: read through the scratch buffer.
    read_room: usize,
}

impl<R: Runtime> Connection<R> {
    pub(crate) fn new(id: u64, stream: BoxStream, rt: R, config: Config) -> Self {
        let now = rt.now();
        Self {
            id,
            transport: Transport::new(stream),
            conn: Conn::new(config, now),
            reused: false,
            bytes_seen: false,
            rt,
            timer: None,
            read_room: 0,
        }
    }

    /// The runtime's clock.
    pub(crate) fn now(&self) -> Instant {
        self.rt.now()
    }

    /// Gives the socket back after an `Upgrade` (a CONNECT tunnel), with the bytes the
    /// peer already sent beyond the HTTP exchange.
    pub(crate) fn into_stream(self) -> (BoxStream, bytes::Bytes) {
        let (stream, _written) = self.transport.into_parts();
        let upgraded = self.conn.into_upgraded();
        (stream, upgraded.read_buf)
    }

    /// Arms the shared timer for `deadline` and polls it.
    ///
    /// Why a timer armed for an earlier deadline is kept: every request on a kept-alive
    /// connection brings a later `total` deadline, and re-arming a runtime timer (out of
    /// the wheel, back in) on each one is a measurable share of a small request. An
    /// early wake-up is harmless (the callers re-check every deadline against the clock),
    /// and this one re-arms itself for the deadline actually wanted.
    fn poll_deadline(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        let timer = match &mut self.timer {
            Some(t) => {
                if deadline < t.deadline() {
                    t.reset(deadline);
                }
                t
            }
            None => self.timer.insert(self.rt.sleep_until(deadline)),
        };
        loop {
            if Pin::new(&mut *timer).poll(cx).is_pending() {
                return Poll::Pending;
            }
            if timer.deadline() >= deadline {
                return Poll::Ready(());
            }
            // A stale, earlier deadline fired: wait for the one wanted.
            timer.reset(deadline);
        }
    }

    /// Checks both deadline sources; `Ready(Err)` when a request deadline passed,
    /// `Ready(Ok)` when the core's own timer fired (it was told), `Pending` otherwise.
    fn poll_timers(
        &mut self,
        cx: &mut Context<'_>,
        timers: &mut RequestTimers,
        request_sent: bool,
    ) -> Poll<Result<(), ClientError>> {
        let deadline = match (self.conn.poll_timeout(), timers.poll_timeout()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(d) => d,
                None => return Poll::Pending,
            },
        };
        if self.poll_deadline(cx, deadline).is_pending() {
            return Poll::Pending;
        }
        let now = self.rt.now();
        if let Some(kind) = timers.handle_timeout(now) {
            return Poll::Ready(Err(ClientError::Timeout { kind, request_sent }));
        }
        self.conn.handle_timeout(now);
        Poll::Ready(Ok(()))
    }

    /// Writes everything the core has queued; `Ready(Ok)` once flushed.
    pub(crate) fn poll_flush(
        &mut self,
        cx: &mut Context<'_>,
        timers: &mut RequestTimers,
    ) -> Poll<Result<(), ClientError>> {
        loop {
            match self.transport.poll_write_from(cx, &mut self.conn) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(ClientError::Io(e))),
                Poll::Pending => {}
            }
            match self.poll_timers(cx, timers, true) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Drives the connection until the core has an event for us.
    pub(crate) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        timers: &mut RequestTimers,
    ) -> Poll<Result<Event<ResponseHead>, ClientError>> {
        loop {
            if let Some(event) = self.conn.poll_event() {
                return Poll::Ready(Ok(event));
            }
            if let Poll::Ready(Err(e)) = self.transport.poll_write_from(cx, &mut self.conn) {
                return Poll::Ready(Err(ClientError::Io(e)));
            }
            if self.transport.read_closed() {
                // The core saw the EOF and still has nothing to say: it was waiting for
                // bytes that will never come.
                return Poll::Ready(Err(ClientError::ServerDisconnected {
                    response_started: self.bytes_seen,
                }));
            }
            let polled = if self.read_room == 0 {
                let rt = &self.rt;
                self.transport
                    .poll_read_into(cx, &mut self.conn, || rt.now())
            } else {
                let now = self.rt.now();
                self.transport
                    .poll_read_direct(cx, &mut self.conn, self.read_room, now)
            };
            match polled {
                Poll::Ready(Ok(n)) => {
                    self.read_room = next_read_room(self.read_room, n);
                    if n > 0 {
                        self.bytes_seen = true;
                        timers.handle_bytes_received(self.rt.now());
                    }
                    continue;
                }
                Poll::Ready(Err(e)) => {
                    return Poll::Ready(Err(if is_disconnect(&e) {
                        ClientError::ServerDisconnected {
                            response_started: self.bytes_seen,
                        }
                    } else {
                        ClientError::Io(e)
                    }))
                }
                Poll::Pending => {}
            }
            match self.poll_timers(cx, timers, true) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// Runs `fut` until it completes or a request deadline passes.
pub(crate) async fn with_timers<R: Runtime, F: Future>(
    rt: &R,
    timers: &mut RequestTimers,
    request_sent: bool,
    fut: F,
) -> Result<F::Output, ClientError> {
    let mut fut = std::pin::pin!(fut);
    let mut timer: Option<Timer<R>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Ok(out));
        }
        loop {
            let Some(deadline) = timers.poll_timeout() else {
                return Poll::Pending;
            };
            let t = timer.get_or_insert_with(|| rt.sleep_until(deadline));
            if t.deadline() != deadline {
                t.reset(deadline);
            }
            if Pin::new(t).poll(cx).is_pending() {
                return Poll::Pending;
            }
            if let Some(kind) = timers.handle_timeout(rt.now()) {
                return Poll::Ready(Err(ClientError::Timeout { kind, request_sent }));
            }
        }
    })
    .await
}

/// Opens a TCP stream to `host:port` (IP literal, or the runtime's resolver).
async fn tcp_connect<R: Runtime>(
    rt: &R,
    host: &str,
    port: u16,
    tracer: &Tracer,
    dns: &Dns,
) -> Result<BoxStream, ClientError> {
    let host_port = format!("{host}:{port}");
    // URL hosts keep IPv6 brackets, which std does not want.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs =
        match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
            Err(_) => dns.lookup(rt, bare, port, tracer).await.map_err(|source| {
                ClientError::Connector {
                    kind: ConnectorKind::Dns,
                    host: host_port.clone(),
                    source,
                }
            })?,
        };
    if addrs.is_empty() {
        return Err(ClientError::Connector {
            kind: ConnectorKind::Dns,
            host: host_port,
            source: io::Error::new(io::ErrorKind::NotFound, "no address for host"),
        });
    }
    // Staggered attempts over both families (or one at a time when the delay is off).
    match super::happy_eyeballs::connect(rt, &addrs, dns.connect_options()).await {
        Ok(s) => Ok(Box::new(s)),
        Err(e) => Err(ClientError::connect(&host_port, e)),
    }
}

/// Opens a stream to `key`'s origin: TCP (through the key's proxy, tunnelled for
/// `https`), then TLS for `https`; or, when the session has a `connector`, whatever it
/// gives (it replaces all of that).
pub(crate) async fn open_stream<R: Runtime>(
    rt: &R,
    key: &PoolKey,
    tls: Option<&Arc<rustls::ClientConfig>>,
    tracer: &Tracer,
    unix: Option<&std::path::Path>,
    dns: &Dns,
    connector: Option<&dyn super::connector::Connect>,
) -> Result<BoxStream, ClientError> {
    if let Some(connector) = connector {
        let target = super::connector::ConnectTarget {
            scheme: key.scheme.clone(),
            host: key.host.clone(),
            port: key.port,
        };
        return super::connector::connect_with(connector, target).await;
    }
    let host = key.host.trim_start_matches('[').trim_end_matches(']');
    let stream = match (&key.proxy, unix) {
        #[cfg(unix)]
        (None, Some(path)) => {
            let stream = rt
                .connect_unix(path)
                .await
                .map_err(|e| ClientError::connect(&path.display().to_string(), e))?;
            Box::new(stream) as BoxStream
        }
        #[cfg(not(unix))]
        (None, Some(_)) => {
            return Err(ClientError::InvalidUrl(
                "Unix sockets are not available on this platform".into(),
            ))
        }
        (None, None) => tcp_connect(rt, &key.host, key.port, tracer, dns).await?,
        (Some(proxy), _) => {
            let proxy = url::Url::parse(proxy)
                .map_err(|e| ClientError::InvalidUrl(format!("proxy {proxy}: {e}")))?;
            let (Some(p_host), Some(p_port)) = (proxy.host_str(), proxy.port_or_known_default())
            else {
                return Err(ClientError::InvalidUrl(format!("proxy {proxy}: no host")));
            };
            let stream = tcp_connect(rt, p_host, p_port, tracer, dns).await?;
            if key.scheme != "https" {
                return Ok(stream);
            }
            super::proxy::tunnel(rt, stream, &proxy, host, key.port).await?
        }
    };
    if key.scheme != "https" {
        return Ok(stream);
    }
    let Some(tls) = tls else {
        return Err(ClientError::InvalidUrl("https needs TLS settings".into()));
    };
    super::tls::handshake(tls, host, stream, &format!("{}:{}", key.host, key.port)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_room_grows_on_bulk_reads_and_drops_back_on_small_ones() {
        const K: usize = 1024;
        // (room, bytes read) -> next room
        let table = [
            (0, 0, 0),
            (0, 300, 0),
            (0, BULK_READ - 1, 0),
            (0, BULK_READ, DIRECT_ROOM_MIN),
            (0, 64 * K, DIRECT_ROOM_MIN),
            (64 * K, 64 * K, 128 * K),
            (128 * K, 128 * K, 256 * K),
            (256 * K, 256 * K, 512 * K),
            (512 * K, 512 * K, DIRECT_ROOM_MAX),
            (512 * K, 300 * K, 512 * K),
            (512 * K, 200 * K, 256 * K),
            (256 * K, 100 * K, 128 * K),
            (256 * K, 50 * K, DIRECT_ROOM_MIN),
            (64 * K, 20 * K, DIRECT_ROOM_MIN),
            (256 * K, 300, 0),
            (256 * K, 0, 0),
        ];
        for (room, n, next) in table {
            assert_eq!(next_read_room(room, n), next, "room {room}, read {n}");
        }
    }
}
