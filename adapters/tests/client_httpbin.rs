//! Interop: our session against the real PyPI `httpbin` served by gunicorn (`gthread`
//! workers, keep-alive on), on every runtime. Connection reuse is asserted from the
//! SERVER's side: gunicorn's access log records each request's client port.
//!
//! Needs `gunicorn` and `httpbin` (`python3 -m pip install httpbin gunicorn`; `.ci/run`
//! installs them). Without gunicorn the test fails under CI (`CI` set) and is skipped
//! with a loud message elsewhere.

mod client_support;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansweb::client::{ClientError, ClientTimeout, Form, Part, TimeoutKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;
use serde_json::Value;

struct Gunicorn {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Gunicorn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Gunicorn {
    /// `(client port, request line)` per logged request, in order.
    fn access_log(&self) -> Vec<(u16, String)> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let (port, rest) = l.split_once(' ')?;
                Some((port.parse().ok()?, rest.to_owned()))
            })
            .collect()
    }
}

fn gunicorn_available() -> bool {
    Command::new("gunicorn")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn start_gunicorn() -> Gunicorn {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = std::env::temp_dir().join(format!(
        "sansweb-gunicorn-{}-{port}.log",
        std::process::id()
    ));
    let mut child = Command::new("gunicorn")
        .args([
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--workers",
            "1",
            "--keep-alive",
            "30",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--access-logfile",
            log.to_str().unwrap(),
            // The client's port per request: equal ports = one reused connection.
            "--access-logformat",
            "%({remote_port}e)s %(r)s %(s)s",
            "httpbin:app",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gunicorn starts");
    // Wait until it answers.
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        // Keep draining its log so it never blocks on a full pipe.
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if line.contains("Exception") || line.contains("Error") {
                eprintln!("gunicorn: {line}");
            }
        }
    });
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "gunicorn did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Gunicorn {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

async fn httpbin_under_gunicorn<R: Runtime>(rt: R) {
    if !gunicorn_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "gunicorn is missing under CI: .ci/run must install it"
        );
        eprintln!("\n!!!!!!!! SKIPPED httpbin_under_gunicorn: gunicorn is not installed (python3 -m pip install httpbin gunicorn) !!!!!!!!\n");
        return;
    }
    let g = start_gunicorn();
    let url = |p: &str| format!("{}{}", g.base, p);
    let s = ClientSession::builder_with_runtime(rt.clone())
        .header("x-default", "on-every-request")
        .cookie_jar_unsafe()
        .build()
        .unwrap();

    // The sequential part: all of it should ride one keep-alive connection.
    let mut r = s.get(&url("/get?a=1")).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["args"]["a"], "1");
    assert_eq!(v["headers"]["X-Default"], "on-every-request");

    let body = serde_json::json!({"k": [1, 2], "s": "é"});
    let mut r = s.post(&url("/post")).json(&body).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["json"], body);

    let mut r = s
        .post(&url("/post"))
        .form(&[("name", "sans web"), ("x", "é")])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["form"], serde_json::json!({"name": "sans web", "x": "é"}));

    let form = Form::new().text("field", "value").part(
        "upload",
        Part::stream(
            futures_lite::stream::iter(vec![
                Ok(Bytes::from_static(b"hello ")),
                Ok(Bytes::from_static(b"file")),
            ]),
            Some(10),
        )
        .file_name("h.txt")
        .mime_type("text/plain"),
    );
    let mut r = s.post(&url("/post")).multipart(form).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["form"]["field"], "value");
    assert_eq!(v["files"]["upload"], "hello file");

    // Cookies: set through a redirect, then sent back.
    let mut r = s
        .get(&url("/cookies/set?flavour=oat"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.history().len(), 1);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["cookies"]["flavour"], "oat");
    let mut r = s.get(&url("/cookies")).send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["cookies"]["flavour"], "oat");

    // Redirects with history.
    let mut r = s.get(&url("/redirect/3")).send().await.unwrap();
    assert_eq!(r.history().len(), 3);
    assert_eq!(r.url().path(), "/get");
    r.bytes().await.unwrap();

    // Decompression.
    for (path, flag) in [
        ("/gzip", "gzipped"),
        ("/deflate", "deflated"),
        ("/brotli", "brotli"),
    ] {
        let mut r = s.get(&url(path)).send().await.unwrap();
        let v: Value = r.json().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(v[flag], true, "{path}");
    }

    // Streaming: /stream/20 is 20 JSON lines, chunked.
    let mut r = s.get(&url("/stream/20")).send().await.unwrap();
    let mut lines = 0;
    loop {
        let line = r.readline().await.unwrap();
        if line.is_empty() {
            break; // end of body
        }
        let v: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(v["id"], lines);
        lines += 1;
    }
    assert_eq!(lines, 20);

    // Basic auth, and status codes as typed errors.
    let mut r = s
        .get(&url("/basic-auth/user/pa55"))
        .basic_auth("user", "pa55")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["authenticated"], true);
    let mut r = s.get(&url("/basic-auth/user/pa55")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    r.bytes().await.unwrap(); // read to the end: the connection goes back for reuse

    // Server side, so far: every request came on ONE keep-alive connection. (From here
    // on, raise_for_status errors drop unread responses, whose connections close.)
    let t0 = Instant::now();
    while g.access_log().len() < 17 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let sequential = g.access_log();
    // get, 3 posts, cookies set + its redirect + get, 3 redirects + the target, 3
    // encodings, a stream, 2 basic-auth.
    assert_eq!(sequential.len(), 17, "logged {sequential:#?}");
    let first = sequential[0].0;
    let other: Vec<_> = sequential.iter().filter(|(p, _)| *p != first).collect();
    assert!(
        other.is_empty(),
        "requests on other connections than port {first}: {other:#?}"
    );

    for code in [418u16, 404, 500, 503] {
        let e = s
            .get(&url(&format!("/status/{code}")))
            .raise_for_status(true)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ClientError::Response(r) if r.status.as_u16() == code),
            "{code}: {e:?}"
        );
    }

    // A timeout against /delay (closes that connection).
    let e = s
        .get(&url("/delay/3"))
        .timeout(ClientTimeout {
            total: Some(Duration::from_millis(500)),
            ..ClientTimeout::default()
        })
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Timeout {
                kind: TimeoutKind::Total,
                ..
            }
        ),
        "{e:?}"
    );
}

on_every_runtime!(httpbin_under_gunicorn);
