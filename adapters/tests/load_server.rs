//! Load on the server (on tokio, smol and async-std in turn), loopback only, bounded loops: 10,000 concurrent keep-alive
//! connections each making requests, 1,000 slowloris connections while a normal client
//! is still answered in time, and 100,000 connect/request/close cycles. After each, the
//! process's open files and resident memory must be back at their baseline (with a
//! tolerance) and the server's live-connection gauge at 0.
//!
//! Sizes are the issue's, times `SANSWEB_LOAD_SCALE` (default [`DEFAULT_SCALE`]):
//! `SANSWEB_LOAD_SCALE=1 cargo test -p sansweb --test load_server -- --nocapture`
//! runs the full sizes and prints the figures. The tests raise the soft file limit to
//! the hard one themselves; they run one at a time (they measure the whole process).
//! The 10,000 client connections live in a child process (this same test binary,
//! re-run with `SANSWEB_LOAD_CHILD` set): with both ends in one process, 10,000
//! connections need 20,000 descriptors, more than a typical hard limit.

mod fault_support;

use fault_support::{open_fds, raise_fd_limit, rss_bytes, trim_heap};
use futures_lite::{future, AsyncRead, AsyncReadExt, AsyncWriteExt};
use sansweb::rt::{Runtime, TokioRuntime};
use sansweb::web::{App, Request, Server, ServerConfig, ServerHandle};
use sansweb::{ClientSession, ClientTimeout};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The scale when `SANSWEB_LOAD_SCALE` is unset: what `cargo test` and CI run (2,000
/// keep-alive, 200 slowloris, 20,000 churn: a few seconds each on 2 busy cores, where the
/// full 100,000-connection churn alone takes minutes in a debug build).
const DEFAULT_SCALE: f64 = 0.2;
/// Set in the child process of [`keep_alive_10k`]: the server's address.
const CHILD_ENV: &str = "SANSWEB_LOAD_CHILD";

/// The load tests measure the whole process: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn scaled(full: usize) -> usize {
    let scale = std::env::var("SANSWEB_LOAD_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(DEFAULT_SCALE);
    ((full as f64 * scale).round() as usize).max(1)
}

fn app() -> App {
    App::new().get("/ok", |_req: Request| async move { "ok" })
}

async fn start_server<R: Runtime>(rt: &R, config: ServerConfig) -> ServerHandle {
    Server::new(app())
        .config(config)
        .start(rt, "127.0.0.1:0".parse().expect("literal"), 1)
        .await
        .expect("server starts")
}

const REQUEST: &[u8] = b"GET /ok HTTP/1.1\r\nHost: t\r\n\r\n";

/// Reads the answer to one [`REQUEST`] (its body is `ok`); false if the connection
/// ended first.
async fn read_ok<S: AsyncRead + Unpin>(s: &mut S) -> bool {
    let mut got = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    while !got.ends_with(b"\r\n\r\nok") {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Open files and resident memory: at the start, the highest seen, at the end.
struct Figures {
    fds: [usize; 3],
    rss: [u64; 3],
}

impl Figures {
    fn baseline() -> Self {
        trim_heap();
        Self {
            fds: [open_fds(); 3],
            rss: [rss_bytes(); 3],
        }
    }

    fn sample(&mut self) {
        self.fds[1] = self.fds[1].max(open_fds());
        self.rss[1] = self.rss[1].max(rss_bytes());
    }

    /// Records the end state and checks it is back at the baseline: the same open
    /// files (± `fd_slack` for lazily created runtime descriptors) and resident memory
    /// within `rss_slack` bytes (freed memory the allocator keeps is not a leak, but a
    /// connection's worth times thousands would be).
    fn finish(&mut self, name: &str, elapsed: Duration, fd_slack: usize, rss_slack: u64) {
        trim_heap();
        self.fds[2] = open_fds();
        self.rss[2] = rss_bytes();
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        eprintln!(
            "{name}: {elapsed:.2?}; fds before/peak/after {}/{}/{}; \
             RSS MiB before/peak/after {:.1}/{:.1}/{:.1}",
            self.fds[0],
            self.fds[1],
            self.fds[2],
            mib(self.rss[0]),
            mib(self.rss[1]),
            mib(self.rss[2]),
        );
        assert!(
            self.fds[2] <= self.fds[0] + fd_slack,
            "{name}: open files {} after, {} before",
            self.fds[2],
            self.fds[0]
        );
        assert!(
            self.rss[2] <= self.rss[0] + rss_slack,
            "{name}: RSS {} after, {} before",
            self.rss[2],
            self.rss[0]
        );
    }
}

/// Samples the figures every 20 ms until `stop`.
fn sampler<R: Runtime>(rt: &R, figures: Arc<Mutex<Figures>>, stop: Arc<AtomicBool>) {
    let rt2 = rt.clone();
    rt.spawn(async move {
        while !stop.load(Ordering::SeqCst) {
            figures.lock().unwrap().sample();
            rt2.sleep_until(rt2.now() + Duration::from_millis(20)).await;
        }
    })
    .detach();
}

async fn wait_until<R: Runtime>(rt: &R, what: &str, limit: Duration, cond: impl FnMut() -> bool) {
    fault_support::wait_until(rt, what, limit, cond).await;
}

/// The client side of [`keep_alive_10k`], run in a child process; a no-op in the
/// normal test run.
#[test]
fn keep_alive_child_process() {
    if let Ok(addr) = std::env::var(CHILD_ENV) {
        keep_alive_child(addr.parse().expect("child address"));
    }
}

/// One `#[test]` per runtime for each load scenario: the server runs on that runtime
/// (the load generators are the same everywhere).
macro_rules! on_every_runtime {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "runtime-tokio")]
        mod tokio {
            $( #[test] fn $name() { super::$name::<sansweb::rt::TokioRuntime>() } )*
        }
        #[cfg(feature = "runtime-smol")]
        mod smol {
            $( #[test] fn $name() { super::$name::<sansweb::rt::SmolRuntime>() } )*
        }
        #[cfg(feature = "runtime-async-std")]
        mod async_std {
            $( #[test] fn $name() { super::$name::<sansweb::rt::AsyncStdRuntime>() } )*
        }
    };
}

on_every_runtime!(keep_alive_10k, slowloris_1000, churn_100k);

fn keep_alive_10k<R: Runtime>() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = scaled(10_000);
    let limit = raise_fd_limit();
    assert!(limit > n as u64 + 256, "file limit {limit} too low for {n}");
    R::block_on_multi_thread(2, |rt| async move {
        let server = start_server(&rt, ServerConfig::default()).await;
        let addr = server.local_addr();
        let mut warm = rt.connect_tcp(addr).await.unwrap();
        warm.write_all(REQUEST).await.unwrap();
        assert!(read_ok(&mut warm).await);
        drop(warm);
        wait_until(&rt, "warm-up closed", Duration::from_secs(5), || {
            server.connection_count() == 0
        })
        .await;
        let figures = Arc::new(Mutex::new(Figures::baseline()));
        let stop = Arc::new(AtomicBool::new(false));
        sampler(&rt, figures.clone(), stop.clone());
        let started = Instant::now();
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "keep_alive_child_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, addr.to_string())
            .env("SANSWEB_LOAD_N", n.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("child starts");
        let ready = Arc::new(AtomicBool::new(false));
        let out = child.stdout.take().unwrap();
        let ready2 = ready.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { return };
                if line.contains("LOAD-READY") {
                    ready2.store(true, Ordering::SeqCst);
                }
            }
        });
        wait_until(
            &rt,
            "every connection answered",
            Duration::from_secs(60),
            || ready.load(Ordering::SeqCst) || child.try_wait().unwrap().is_some(),
        )
        .await;
        assert!(ready.load(Ordering::SeqCst), "the child failed");
        let opened = started.elapsed();
        // All n connections are open at once, each having made a request.
        assert_eq!(server.connection_count(), n);
        figures.lock().unwrap().sample();
        // A second request on each, then the child closes them all.
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        drop(stdin);
        wait_until(&rt, "the child finished", Duration::from_secs(60), || {
            child.try_wait().unwrap().is_some()
        })
        .await;
        assert!(child.wait().unwrap().success(), "the child failed");
        wait_until(
            &rt,
            "server connections back to 0",
            Duration::from_secs(20),
            || server.connection_count() == 0,
        )
        .await;
        stop.store(true, Ordering::SeqCst);
        eprintln!("keep_alive_10k: {n} connections open and answered in {opened:.2?}");
        let per_conn = {
            let f = figures.lock().unwrap();
            (f.rss[1].saturating_sub(f.rss[0])) / n as u64
        };
        eprintln!("keep_alive_10k: peak RSS growth per connection {per_conn} bytes");
        figures
            .lock()
            .unwrap()
            .finish("keep_alive_10k", started.elapsed(), 4, 16 << 20);
        server.shutdown().await;
    })
    .unwrap();
}

/// The child of [`keep_alive_10k`]: opens `SANSWEB_LOAD_N` connections (in waves, so
/// the listen backlog is not overrun), one request each, all kept open; says
/// `LOAD-READY`; on `go` from stdin makes a second request on each and closes them.
fn keep_alive_child(addr: SocketAddr) {
    raise_fd_limit();
    let n: usize = std::env::var("SANSWEB_LOAD_N").unwrap().parse().unwrap();
    TokioRuntime::block_on_multi_thread(2, |rt| async move {
        let mut conns = Vec::with_capacity(n);
        let wave = 500;
        for first in (0..n).step_by(wave) {
            let tasks: Vec<_> = (first..n.min(first + wave))
                .map(|_| {
                    let rt2 = rt.clone();
                    rt.spawn(async move {
                        let mut s = rt2.connect_tcp(addr).await.expect("connect");
                        s.write_all(REQUEST).await.expect("write");
                        assert!(read_ok(&mut s).await, "first answer");
                        s
                    })
                })
                .collect();
            for t in tasks {
                conns.push(t.await.expect("connection task"));
            }
        }
        println!("LOAD-READY {}", conns.len());
        std::io::stdout().flush().unwrap();
        let go = Arc::new(AtomicBool::new(false));
        let go2 = go.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
            go2.store(true, Ordering::SeqCst);
        });
        while !go.load(Ordering::SeqCst) {
            rt.sleep_until(rt.now() + Duration::from_millis(5)).await;
        }
        let answered = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = conns
            .into_iter()
            .map(|mut s| {
                let answered = answered.clone();
                rt.spawn(async move {
                    s.write_all(REQUEST).await.expect("write");
                    if read_ok(&mut s).await {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("second request");
        }
        assert_eq!(
            answered.load(Ordering::SeqCst),
            n,
            "every keep-alive reused"
        );
        println!("LOAD-DONE");
    })
    .unwrap();
}

fn slowloris_1000<R: Runtime>() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = scaled(1_000);
    let limit = raise_fd_limit();
    assert!(
        limit > 2 * n as u64 + 256,
        "file limit {limit} too low for {n}"
    );
    let head_timeout = Duration::from_secs(3);
    R::block_on_multi_thread(2, |rt| async move {
        let mut config = ServerConfig::default();
        config.h1.head_read_timeout = Some(head_timeout);
        let server = start_server(&rt, config).await;
        let addr = server.local_addr();
        let session = ClientSession::builder_with_runtime(rt.clone())
            .timeout(ClientTimeout {
                total: Some(Duration::from_secs(1)),
                ..ClientTimeout::default()
            })
            .build()
            .unwrap();
        let url = format!("http://{addr}/ok");
        assert_eq!(
            session
                .get(&url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "ok"
        );
        session.close();
        wait_until(&rt, "warm-up closed", Duration::from_secs(5), || {
            server.connection_count() == 0
        })
        .await;
        let figures = Arc::new(Mutex::new(Figures::baseline()));
        let stop = Arc::new(AtomicBool::new(false));
        sampler(&rt, figures.clone(), stop.clone());
        let started = Instant::now();
        // Each slow client sends one byte of a never-ending head per second and
        // reports how long after its first byte the server closed it.
        let tricklers: Vec<_> = (0..n)
            .map(|_| {
                let rt2 = rt.clone();
                rt.spawn(async move {
                    let s = rt2.connect_tcp(addr).await.expect("connect");
                    let (mut reader, mut writer) = futures_lite::io::split(s);
                    let first = Instant::now();
                    let head = b"GET /ok HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
                    let trickle = async {
                        for byte in head {
                            if writer.write_all(&[*byte]).await.is_err() {
                                break;
                            }
                            rt2.sleep_until(rt2.now() + Duration::from_secs(1)).await;
                        }
                        future::pending::<()>().await;
                    };
                    let closed = async {
                        let mut sink = Vec::new();
                        let _ = reader.read_to_end(&mut sink).await;
                    };
                    future::or(closed, trickle).await;
                    first.elapsed()
                })
            })
            .collect();
        // Meanwhile a normal client, new connection each time, within its 1 s timeout.
        let mut slowest = Duration::ZERO;
        let mut answered = 0;
        let mut peak_conns = 0;
        while started.elapsed() < head_timeout - Duration::from_millis(500) {
            let t = Instant::now();
            let mut r = session.get(&url).send().await.expect("answered in time");
            assert_eq!(r.text().await.unwrap(), "ok");
            slowest = slowest.max(t.elapsed());
            answered += 1;
            session.close();
            peak_conns = peak_conns.max(server.connection_count());
            rt.sleep_until(rt.now() + Duration::from_millis(50)).await;
        }
        assert!(peak_conns >= n, "{peak_conns} live connections at the peak");
        let mut closed_after = Vec::with_capacity(n);
        for t in tricklers {
            closed_after.push(t.await.expect("trickler"));
        }
        let latest = closed_after.iter().max().copied().unwrap_or_default();
        let earliest = closed_after.iter().min().copied().unwrap_or_default();
        eprintln!(
            "slowloris_1000: {n} slow clients closed {earliest:.2?}..{latest:.2?} after \
             their first byte (deadline {head_timeout:?}); normal client: {answered} \
             answers, slowest {slowest:.2?}"
        );
        assert!(earliest >= head_timeout - Duration::from_millis(100));
        assert!(latest < head_timeout + Duration::from_secs(3));
        drop(session);
        wait_until(
            &rt,
            "server connections back to 0",
            Duration::from_secs(10),
            || server.connection_count() == 0,
        )
        .await;
        stop.store(true, Ordering::SeqCst);
        figures
            .lock()
            .unwrap()
            .finish("slowloris_1000", started.elapsed(), 4, 16 << 20);
        server.shutdown().await;
    })
    .unwrap();
}

fn churn_100k<R: Runtime>() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = scaled(100_000);
    raise_fd_limit();
    let workers = 128.min(n);
    R::block_on_multi_thread(2, |rt| async move {
        let server = start_server(&rt, ServerConfig::default()).await;
        let addr = server.local_addr();
        let mut warm = rt.connect_tcp(addr).await.unwrap();
        warm.write_all(REQUEST).await.unwrap();
        assert!(read_ok(&mut warm).await);
        drop(warm);
        wait_until(&rt, "warm-up closed", Duration::from_secs(5), || {
            server.connection_count() == 0
        })
        .await;
        let figures = Arc::new(Mutex::new(Figures::baseline()));
        let stop = Arc::new(AtomicBool::new(false));
        sampler(&rt, figures.clone(), stop.clone());
        let started = Instant::now();
        let next = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let (rt2, next, done) = (rt.clone(), next.clone(), done.clone());
                rt.spawn(async move {
                    while next.fetch_add(1, Ordering::SeqCst) < n as u64 {
                        let mut s = rt2.connect_tcp(addr).await.expect("connect");
                        s.write_all(REQUEST).await.expect("write");
                        assert!(read_ok(&mut s).await, "answered");
                        drop(s);
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("churn worker");
        }
        assert_eq!(done.load(Ordering::SeqCst), n);
        let elapsed = started.elapsed();
        eprintln!(
            "churn_100k: {n} connect/request/close in {elapsed:.2?} ({:.0}/s)",
            n as f64 / elapsed.as_secs_f64()
        );
        wait_until(
            &rt,
            "server connections back to 0",
            Duration::from_secs(10),
            || server.connection_count() == 0,
        )
        .await;
        stop.store(true, Ordering::SeqCst);
        figures
            .lock()
            .unwrap()
            .finish("churn_100k", started.elapsed(), 4, 16 << 20);
        server.shutdown().await;
    })
    .unwrap();
}
