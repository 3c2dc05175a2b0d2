#![cfg(unix)] // process groups end proxy.py's forked acceptors
//! Through a real third-party proxy, PyPI's `proxy.py` (started by the test, with
//! basic auth): plain http in absolute form, and https through a CONNECT tunnel to a
//! local rustls server, on every runtime.
//!
//! Needs `proxy.py` (`python3 -m pip install proxy.py`; `.ci/run` installs it): a
//! missing proxy fails the test, it never skips.

mod client_support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support::tls::{certs, tls_server};
use client_support::TestServer;
use sansweb::client::{ClientError, ConnectorKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

struct ProxyPy {
    child: Child,
    port: u16,
    /// proxy.py's log lines (its access log names each upstream it reached).
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for ProxyPy {
    fn drop(&mut self) {
        // proxy.py forks acceptor processes that outlive a killed parent: end the whole
        // process group it was started in.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_proxy_py() -> ProxyPy {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = Command::new("python3")
        .args([
            "-m",
            "proxy",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
            "--basic-auth",
            "user:pa55",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("python3 is required (CI installs proxy.py)");
    let log = Arc::new(Mutex::new(Vec::new()));
    let (stderr, log2) = (child.stderr.take().unwrap(), log.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            log2.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
    });
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if t0.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!(
                "proxy.py did not start (python3 -m pip install proxy.py); it said {:#?}",
                log.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ProxyPy { child, port, log }
}

/// Waits (a few seconds at most) for proxy.py to log a line containing `needle`.
fn logged(proxy: &ProxyPy, needle: &str) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if proxy.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

async fn through_proxy_py<R: Runtime>(rt: R) {
    let proxy = start_proxy_py();
    let with_auth = format!("http://user:pa55@127.0.0.1:{}", proxy.port);

    // Plain http: absolute form through the proxy, which strips its own credentials.
    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(rt.clone())
        .proxy(&with_auth)
        .build()
        .unwrap();
    for _ in 0..2 {
        let mut r = s.get(&srv.url("/text")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "héllo wörld");
    }
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].target, "/text", "the origin got origin-form");
    assert!(!seen[0].headers.contains_key("proxy-authorization"));
    // proxy.py writes its access log line when a connection closes.
    s.close();
    assert!(
        logged(&proxy, &format!("GET 127.0.0.1:{}/text", srv.addr.port())),
        "proxy.py logged no GET: {:#?}",
        proxy.log.lock().unwrap()
    );

    // https: a CONNECT tunnel, TLS end to end with the local rustls server.
    let certs = certs();
    let addr = tls_server(&certs, false);
    let s = ClientSession::builder_with_runtime(rt.clone())
        .add_root_certificate(certs.server_cert.clone())
        .proxy(&with_auth)
        .build()
        .unwrap();
    let mut r = s
        .get(&format!("https://localhost:{}/", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "secure");
    drop(r);
    s.close();
    assert!(
        logged(&proxy, &format!("CONNECT localhost:{}", addr.port())),
        "proxy.py logged no CONNECT: {:#?}",
        proxy.log.lock().unwrap()
    );

    // Wrong credentials: proxy.py answers 407, a connector error for https (nothing
    // reached the origin) and a 407 response for plain http.
    let bad = format!("http://user:wrong@127.0.0.1:{}", proxy.port);
    let e = s
        .get(&format!("https://localhost:{}/", addr.port()))
        .proxy(&bad)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Connector {
                kind: ConnectorKind::Proxy,
                ..
            }
        ),
        "{e:?}"
    );
    let r = s.get(&srv.url("/text")).proxy(&bad).send().await.unwrap();
    assert_eq!(r.status(), 407);
    assert_eq!(srv.seen().len(), 2, "nothing more reached the origin");
}

on_every_runtime!(through_proxy_py);
