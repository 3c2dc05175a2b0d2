//! Connecting: happy eyeballs over a name with a broken and a working address, and
//! local address binding, on tokio, smol and async-std, over real loopback sockets.

mod client_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support::{refused_port, TestServer};
use sansweb::client::{ClientError, ClientTimeout, StaticResolver, TimeoutKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;
use socket2::{Domain, Socket, Type};

/// A listener that never accepts, with its accept queue already full: the kernel drops
/// further SYNs, so a connect to it hangs (a black-holed route, on loopback).
struct BlackHole {
    _listener: Socket,
    _fillers: Vec<Socket>,
}

const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);
const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// [::1 black hole, 127.0.0.1 ok]: the v4 attempt starts after the delay and wins; the
/// request does not wait for the v6 connect to time out.
async fn happy_eyeballs_skips_a_black_hole<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let port = srv.addr.port();
    // Both addresses share the URL's port: the v4 server owns 127.0.0.1:port, the
    // black hole [::1]:port.
    let hole6 = black_hole_on(SocketAddr::new(V6, port));
    let s = ClientSession::builder_with_runtime(rt)
        .resolver(
            StaticResolver::new()
                .add("dual.test", V6)
                .add("dual.test", V4),
        )
        .happy_eyeballs_delay(Some(Duration::from_millis(100)))
        .timeout(ClientTimeout {
            sock_connect: Some(Duration::from_secs(20)),
            ..ClientTimeout::default()
        })
        .build()
        .unwrap();
    let t0 = Instant::now();
    let mut r = s
        .get(&format!("http://dual.test:{port}/text"))
        .send()
        .await
        .unwrap();
    let took = t0.elapsed();
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    assert!(
        took >= Duration::from_millis(90),
        "v4 started early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "waited on the black hole: {took:?}"
    );
    assert_eq!(srv.seen().len(), 1);
    drop(hole6);
}

/// A black hole on exactly `addr` (for the dual-stack test, where both addresses share
/// the URL's port).
fn black_hole_on(addr: SocketAddr) -> BlackHole {
    let listener = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    if addr.is_ipv6() {
        listener.set_only_v6(true).unwrap();
    }
    listener.bind(&addr.into()).unwrap();
    listener.listen(0).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
        std::thread::sleep(Duration::from_millis(20));
    }
    let probe = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300));
    assert!(probe.is_err(), "black hole accepted a connect");
    BlackHole {
        _listener: listener,
        _fillers: fillers,
    }
}

/// [::1 closed, 127.0.0.1 ok], one at a time (`None`): the refusal moves on at once.
async fn sequential_falls_through_a_refusal<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let port = srv.addr.port();
    // Nothing listens on [::1]:port (the server is v4-only): refused.
    let s = ClientSession::builder_with_runtime(rt)
        .resolver(
            StaticResolver::new()
                .add("dual.test", V6)
                .add("dual.test", V4),
        )
        .happy_eyeballs_delay(None)
        .build()
        .unwrap();
    let mut r = s
        .get(&format!("http://dual.test:{port}/text"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    // Every address refused: a connector error naming the host.
    let closed = refused_port();
    let e = s
        .get(&format!("http://dual.test:{closed}/"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Connector { .. }), "{e:?}");
}

/// Sequential mode waits on the black hole until the connect timeout: proof that the
/// staggering above came from the delay.
async fn sequential_waits_on_a_black_hole<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let port = srv.addr.port();
    let _hole = black_hole_on(SocketAddr::new(V6, port));
    let s = ClientSession::builder_with_runtime(rt)
        .resolver(
            StaticResolver::new()
                .add("dual.test", V6)
                .add("dual.test", V4),
        )
        .happy_eyeballs_delay(None)
        .timeout(ClientTimeout {
            sock_connect: Some(Duration::from_millis(400)),
            ..ClientTimeout::default()
        })
        .build()
        .unwrap();
    let e = s
        .get(&format!("http://dual.test:{port}/text"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Timeout {
                kind: TimeoutKind::SockConnect | TimeoutKind::Connect,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(srv.seen().is_empty());
}

/// A one-request server that records the peer address of each connection.
fn peer_recording_server() -> (SocketAddr, Arc<Mutex<Vec<SocketAddr>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peers = Arc::new(Mutex::new(Vec::new()));
    let peers2 = peers.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            peers2.lock().unwrap().push(stream.peer_addr().unwrap());
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    (addr, peers)
}

/// `local_addr(127.0.0.2)`: the server sees the connection come from 127.0.0.2.
async fn local_address_binding<R: Runtime>(rt: R) {
    let (addr, peers) = peer_recording_server();
    let local: IpAddr = "127.0.0.2".parse().unwrap();
    let s = ClientSession::builder_with_runtime(rt)
        .local_addr(local)
        .build()
        .unwrap();
    let mut r = s.get(&format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ok");
    let seen = peers.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].ip(), local, "server saw {:?}", seen[0]);
    // A v4 local address cannot reach a v6 host: a connector error, not a panic.
    let e = s.get("http://[::1]:9/").send().await.unwrap_err();
    assert!(matches!(e, ClientError::Connector { .. }), "{e:?}");
}

on_every_runtime!(
    happy_eyeballs_skips_a_black_hole,
    sequential_falls_through_a_refusal,
    sequential_waits_on_a_black_hole,
    local_address_binding,
);
