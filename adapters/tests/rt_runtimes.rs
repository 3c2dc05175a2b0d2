//! The runtime layer, one test body per behaviour, run on every enabled runtime.
//! Run all three with `cargo test -p sansweb --all-features --test rt_runtimes`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::future::{self, poll_once};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use sansweb::rt::{JoinError, Listener, Runtime};

/// Runs `body` on `R`, failing (instead of hanging) after 20 s.
fn run<R: Runtime, Fut: std::future::Future<Output = ()>>(body: impl FnOnce(R) -> Fut) {
    R::block_on(|rt: R| async move {
        let deadline = rt.now() + Duration::from_secs(20);
        let guard = rt.clone();
        future::or(body(rt), async move {
            guard.sleep_until(deadline).await;
            panic!("test timed out");
        })
        .await
    })
    .expect("runtime starts");
}

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().expect("literal address")
}

async fn tcp_echo<R: Runtime>(rt: R) {
    let listener = rt.bind_tcp(localhost()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    assert_ne!(addr.port(), 0, "port 0 was resolved to a real port");
    let server = rt.spawn(async move {
        let (mut stream, peer) = listener.accept().await?;
        assert!(peer.ip().is_loopback());
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await?;
        stream.write_all(b"pong:").await?;
        stream.write_all(&buf).await?;
        stream.flush().await?;
        io::Result::Ok(buf)
    });
    let mut client = rt.connect_tcp(addr).await.expect("connect");
    client.write_all(b"ping").await.expect("write");
    client.flush().await.expect("flush");
    let mut reply = Vec::new();
    client.read_to_end(&mut reply).await.expect("read to EOF");
    assert_eq!(reply, b"pong:ping");
    assert_eq!(
        server.await.expect("server task").expect("server io"),
        *b"ping"
    );
}

/// Every TCP socket the runtime layer hands out, connected or accepted, has Nagle off and
/// (on Linux) at most 64 KiB of unsent data queued in the kernel (`TCP_NOTSENT_LOWAT`).
#[cfg(unix)]
async fn socket_options<R: Runtime>(rt: R)
where
    R::TcpStream: std::os::fd::AsFd,
{
    fn check(what: &str, stream: &impl std::os::fd::AsFd) {
        let sock = socket2::SockRef::from(stream);
        assert!(
            sock.tcp_nodelay().expect("TCP_NODELAY"),
            "{what}: Nagle is off"
        );
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(
            sock.tcp_notsent_lowat().expect("TCP_NOTSENT_LOWAT"),
            64 << 10,
            "{what}: unsent data is bounded"
        );
    }
    let listener = rt.bind_tcp(localhost()).expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    let client = rt.connect_tcp(addr).await.expect("connect");
    check("connect_tcp", &client);
    let (accepted, _) = listener.accept().await.expect("accept");
    check("accept", &accepted);
    let local = "127.0.0.1".parse().expect("literal address");
    let bound = rt
        .connect_tcp_from(addr, local)
        .await
        .expect("connect_tcp_from");
    check("connect_tcp_from", &bound);
}

async fn connect_refused<R: Runtime>(rt: R) {
    let addr = {
        let l = rt.bind_tcp(localhost()).expect("bind");
        l.local_addr().expect("local_addr")
    };
    let err = rt
        .connect_tcp(addr)
        .await
        .err()
        .expect("nobody listens any more");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[allow(clippy::disallowed_methods)]
async fn sleep_deadlines<R: Runtime>(rt: R) {
    let now = rt.now();
    // A deadline in the past, or exactly now, is acted on at the first poll.
    assert!(poll_once(rt.sleep_until(now - Duration::from_secs(1)))
        .await
        .is_some());
    assert!(poll_once(rt.sleep_until(now)).await.is_some());
    // A future deadline is not reported early.
    let mut far = rt.sleep_until(rt.now() + Duration::from_secs(3600));
    assert!(poll_once(&mut far).await.is_none());
    let deadline = rt.now() + Duration::from_millis(30);
    rt.sleep_until(deadline).await;
    assert!(rt.now() >= deadline);
    assert!(rt.now() - deadline < Duration::from_secs(5));
    // Resetting an armed timer moves it, both earlier and into the past.
    let soon = rt.now() + Duration::from_millis(10);
    far.reset(soon);
    assert_eq!(far.deadline(), soon);
    (&mut far).await;
    assert!(rt.now() >= soon);
    far.reset(rt.now() - Duration::from_millis(1));
    assert!(poll_once(&mut far).await.is_some());
}

async fn spawn_join<R: Runtime>(rt: R) {
    let inner = rt.clone();
    let task = rt.spawn(async move {
        inner
            .sleep_until(inner.now() + Duration::from_millis(5))
            .await;
        6 * 7
    });
    assert_eq!(task.await, Ok(42));
    let panicking = rt.spawn(async {
        if std::hint::black_box(true) {
            panic!("boom");
        }
    });
    assert_eq!(panicking.await, Err(JoinError::Panicked("boom".into())));
}

/// Sets its flag when dropped: proves an aborted future was really dropped.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn abort_and_detach<R: Runtime>(rt: R) {
    let dropped = Arc::new(AtomicBool::new(false));
    let completed = Arc::new(AtomicBool::new(false));
    let (flag, done, inner) = (DropFlag(dropped.clone()), completed.clone(), rt.clone());
    let task = rt.spawn(async move {
        let _flag = flag;
        inner
            .sleep_until(inner.now() + Duration::from_secs(3600))
            .await;
        done.store(true, Ordering::SeqCst);
    });
    // Let it start and park on its timer, then abort.
    rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
    assert!(!task.is_finished());
    task.abort();
    assert_eq!(task.await, Err(JoinError::Aborted));
    assert!(dropped.load(Ordering::SeqCst), "aborted future was dropped");
    assert!(!completed.load(Ordering::SeqCst));

    // Dropping the handle aborts too.
    let dropped = Arc::new(AtomicBool::new(false));
    let (flag, inner) = (DropFlag(dropped.clone()), rt.clone());
    drop(rt.spawn(async move {
        let _flag = flag;
        inner
            .sleep_until(inner.now() + Duration::from_secs(3600))
            .await;
    }));
    wait_for(&rt, &dropped).await;

    // A detached task runs to completion on its own.
    let completed = Arc::new(AtomicBool::new(false));
    let (done, inner) = (completed.clone(), rt.clone());
    rt.spawn(async move {
        inner
            .sleep_until(inner.now() + Duration::from_millis(5))
            .await;
        done.store(true, Ordering::SeqCst);
    })
    .detach();
    wait_for(&rt, &completed).await;
}

/// Polls `flag` every millisecond until it is set (the test's outer timeout bounds it).
async fn wait_for<R: Runtime>(rt: &R, flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        rt.sleep_until(rt.now() + Duration::from_millis(1)).await;
    }
}

async fn resolve_localhost<R: Runtime>(rt: R) {
    let addrs = rt
        .resolve("localhost", 8080)
        .await
        .expect("resolve localhost");
    assert!(!addrs.is_empty());
    for a in &addrs {
        assert!(a.ip().is_loopback(), "{a}");
        assert_eq!(a.port(), 8080);
    }
    let literal = rt.resolve("127.0.0.1", 1).await.expect("resolve a literal");
    assert_eq!(
        literal,
        vec!["127.0.0.1:1".parse::<SocketAddr>().expect("literal")]
    );
}

#[cfg(unix)]
async fn unix_echo<R: Runtime>(rt: R) {
    let path = std::env::temp_dir().join(format!(
        "sansweb-rt-{}-{}.sock",
        std::process::id(),
        std::any::type_name::<R>()
            .rsplit("::")
            .next()
            .unwrap_or("rt")
    ));
    let _ = std::fs::remove_file(&path);
    let listener = rt.bind_unix(&path).expect("bind unix");
    assert_eq!(
        listener.local_addr().expect("local_addr").as_pathname(),
        Some(path.as_path())
    );
    let server = rt.spawn(async move {
        let (mut stream, _peer) = listener.accept().await?;
        let mut buf = [0u8; 5];
        stream.read_exact(&mut buf).await?;
        buf.reverse();
        stream.write_all(&buf).await?;
        stream.flush().await?;
        io::Result::Ok(())
    });
    let mut client = rt.connect_unix(&path).await.expect("connect unix");
    client.write_all(b"hello").await.expect("write");
    let mut reply = [0u8; 5];
    client.read_exact(&mut reply).await.expect("read");
    assert_eq!(&reply, b"olleh");
    server.await.expect("server task").expect("server io");
    std::fs::remove_file(&path).expect("socket file existed");
}

#[cfg(unix)]
async fn reuse_port<R: Runtime>(rt: R) {
    let first = rt
        .bind_tcp_reuse_port(localhost())
        .expect("bind with SO_REUSEPORT");
    let addr = first.local_addr().expect("local_addr");
    let second = rt
        .bind_tcp_reuse_port(addr)
        .expect("second SO_REUSEPORT bind");
    assert_eq!(second.local_addr().expect("local_addr"), addr);
    // Without SO_REUSEPORT the port is taken.
    let err = rt.bind_tcp(addr).err().expect("plain bind must fail");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    // Connections land on one of the two listeners.
    let _client = rt.connect_tcp(addr).await.expect("connect");
    let accepted = future::or(async { first.accept().await.map(|(_, p)| p) }, async {
        second.accept().await.map(|(_, p)| p)
    })
    .await
    .expect("accept");
    assert!(accepted.ip().is_loopback());
}

/// A runtime whose timers first fire 15 ms early (a coarse or sloppy timer wheel); every
/// other method is the inner runtime's.
#[derive(Clone)]
struct EarlyTimers<R>(R);

const EARLY: Duration = Duration::from_millis(15);

impl<R: Runtime> Runtime for EarlyTimers<R> {
    type TcpStream = R::TcpStream;
    type TcpListener = R::TcpListener;
    #[cfg(unix)]
    type UnixStream = R::UnixStream;
    #[cfg(unix)]
    type UnixListener = R::UnixListener;
    type RawTimer = R::RawTimer;

    fn spawn_boxed(&self, future: sansweb::rt::BoxFuture) {
        self.0.spawn_boxed(future)
    }
    fn raw_timer(&self, deadline: Instant) -> R::RawTimer {
        self.0.raw_timer(deadline - EARLY)
    }
    fn reset_raw_timer(&self, timer: &mut R::RawTimer, deadline: Instant) {
        self.0.reset_raw_timer(timer, deadline)
    }
    fn connect_tcp(
        &self,
        addr: SocketAddr,
    ) -> impl std::future::Future<Output = io::Result<R::TcpStream>> + Send + 'static {
        self.0.connect_tcp(addr)
    }
    fn tcp_listener_from_std(&self, l: std::net::TcpListener) -> io::Result<R::TcpListener> {
        self.0.tcp_listener_from_std(l)
    }
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl std::future::Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static {
        self.0.resolve(host, port)
    }
    #[cfg(unix)]
    fn connect_unix(
        &self,
        path: &std::path::Path,
    ) -> impl std::future::Future<Output = io::Result<R::UnixStream>> + Send + 'static {
        self.0.connect_unix(path)
    }
    #[cfg(unix)]
    fn unix_listener_from_std(
        &self,
        l: std::os::unix::net::UnixListener,
    ) -> io::Result<R::UnixListener> {
        self.0.unix_listener_from_std(l)
    }
    fn block_on<F, Fut>(f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: std::future::Future,
    {
        R::block_on(|rt| f(EarlyTimers(rt)))
    }
    fn block_on_multi_thread<F, Fut>(workers: usize, f: F) -> io::Result<Fut::Output>
    where
        F: FnOnce(Self) -> Fut,
        Fut: std::future::Future,
    {
        R::block_on_multi_thread(workers, |rt| f(EarlyTimers(rt)))
    }
}

/// A raw timer that fires early is re-checked against the clock, not believed.
async fn early_timer_rechecked<R: Runtime>(rt: R) {
    let rt = EarlyTimers(rt);
    for ms in [20u64, 40] {
        let deadline = rt.now() + Duration::from_millis(ms);
        rt.sleep_until(deadline).await;
        let now = rt.now();
        assert!(now >= deadline, "woke {:?} early", deadline - now);
    }
}

fn multi_thread<R: Runtime>() {
    let sum = R::block_on_multi_thread(2, |rt: R| async move {
        let tasks: Vec<_> = (0..8u64)
            .map(|i| {
                let inner = rt.clone();
                rt.spawn(async move {
                    inner
                        .sleep_until(inner.now() + Duration::from_millis(i))
                        .await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.expect("task ran");
        }
        sum
    })
    .expect("runtime starts");
    assert_eq!(sum, 28);
}

/// One `#[test]` per (runtime, body): a failure names both.
macro_rules! on_runtime {
    ($module:ident, $rt:ty) => {
        mod $module {
            use super::*;
            type R = $rt;
            #[test]
            fn tcp_echo() {
                run::<R, _>(super::tcp_echo::<R>)
            }
            #[cfg(unix)]
            #[test]
            fn socket_options() {
                run::<R, _>(super::socket_options::<R>)
            }
            #[test]
            fn connect_refused() {
                run::<R, _>(super::connect_refused::<R>)
            }
            #[test]
            fn sleep_deadlines() {
                run::<R, _>(super::sleep_deadlines::<R>)
            }
            #[test]
            fn spawn_join() {
                run::<R, _>(super::spawn_join::<R>)
            }
            #[test]
            fn abort_and_detach() {
                run::<R, _>(super::abort_and_detach::<R>)
            }
            #[test]
            fn resolve_localhost() {
                run::<R, _>(super::resolve_localhost::<R>)
            }
            #[cfg(unix)]
            #[test]
            fn unix_echo() {
                run::<R, _>(super::unix_echo::<R>)
            }
            #[cfg(unix)]
            #[test]
            fn reuse_port() {
                run::<R, _>(super::reuse_port::<R>)
            }
            #[test]
            fn early_timer_rechecked() {
                run::<R, _>(super::early_timer_rechecked::<R>)
            }
            #[test]
            fn multi_thread() {
                super::multi_thread::<R>()
            }
        }
    };
}

#[cfg(feature = "runtime-tokio")]
on_runtime!(tokio, sansweb::rt::TokioRuntime);
#[cfg(feature = "runtime-smol")]
on_runtime!(smol, sansweb::rt::SmolRuntime);
#[cfg(feature = "runtime-async-std")]
on_runtime!(async_std, sansweb::rt::AsyncStdRuntime);
