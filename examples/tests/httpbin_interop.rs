//! Real peers nobody here wrote, curl and Python's aiohttp client, drive the httpbin app
//! served in-process on 127.0.0.1 (port 0) on every runtime; their results are asserted.
//!
//! These tests fail, not skip, when a peer is missing. CI installs them with:
//!   apt-get install -y curl python3 python3-pip   and   pip install aiohttp

use sansweb::rt::Runtime;
use sansweb::web::Server;
use sansweb_examples::httpbin::httpbin_app;
use serde_json::{json, Value};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// The httpbin app served on `R` in a thread of its own until dropped.
struct Served {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start<R: Runtime>() -> Self {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            R::block_on(|rt: R| async move {
                let server = Server::new(httpbin_app())
                    .start(&rt, "127.0.0.1:0".parse().expect("literal"), 1)
                    .await
                    .expect("httpbin starts");
                tx.send(server.local_addr()).expect("test waits");
                while !stopped.load(Ordering::SeqCst) {
                    rt.sleep_until(rt.now() + Duration::from_millis(20)).await;
                }
                server.shutdown().await;
            })
            .expect("runtime starts");
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("server address");
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs curl with `args` (and `stdin`), returns stdout; panics with stderr on failure,
/// and with the install command when curl is missing.
fn curl(args: &[&str], stdin: Option<&[u8]>) -> String {
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("curl is required (apt-get install -y curl): {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(input)
            .expect("curl stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn curl_json(args: &[&str], stdin: Option<&[u8]>) -> Value {
    let text = curl(args, stdin);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("curl {args:?}: {e}: {text}"))
}

fn curl_checks(s: &Served) {
    let j = curl_json(&[&s.url("/get?a=1&b=2&b=3")], None);
    assert_eq!(j["args"], json!({"a": "1", "b": ["2", "3"]}));
    assert_eq!(j["url"], s.url("/get?a=1&b=2&b=3"));
    assert_eq!(j["origin"], "127.0.0.1");
    assert!(j["headers"]["User-Agent"]
        .as_str()
        .unwrap()
        .starts_with("curl/"));
    assert_eq!(j["headers"]["Host"], s.addr.to_string());

    let j = curl_json(
        &[
            "-H",
            "Content-Type: application/json",
            "--data",
            r#"{"k":[1,2],"n":null}"#,
            &s.url("/post"),
        ],
        None,
    );
    assert_eq!(j["json"], json!({"k": [1, 2], "n": null}));
    assert_eq!(j["data"], r#"{"k":[1,2],"n":null}"#);

    let j = curl_json(
        &[
            "--data-urlencode",
            "x=1",
            "--data-urlencode",
            "y=two words&more",
            &s.url("/post"),
        ],
        None,
    );
    assert_eq!(j["form"], json!({"x": "1", "y": "two words&more"}));

    let file = std::env::temp_dir().join(format!("sansweb-interop-{}.txt", std::process::id()));
    // Past curl's 1 KiB Expect: 100-continue threshold, with a near-boundary line.
    let content = format!(
        "{}\r\n--------------------------x\r\nend",
        "line\n".repeat(400)
    );
    std::fs::write(&file, &content).expect("temp file");
    let file_arg = format!("file=@{};type=text/plain", file.display());
    let j = curl_json(
        &["-F", "field=value", "-F", &file_arg, &s.url("/post")],
        None,
    );
    let _ = std::fs::remove_file(&file);
    assert_eq!(j["form"], json!({"field": "value"}));
    assert_eq!(j["files"], json!({"file": content}));

    let upload = "streamed through a pipe\n".repeat(2000);
    let j = curl_json(
        &[
            "-H",
            "Transfer-Encoding: chunked",
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            "@-",
            &s.url("/post"),
        ],
        Some(upload.as_bytes()),
    );
    assert_eq!(j["data"], upload.as_str());
    assert_eq!(j["headers"]["Transfer-Encoding"], "chunked");

    let jar = std::env::temp_dir().join(format!("sansweb-jar-{}", std::process::id()));
    let jar = jar.to_str().expect("path");
    let j = curl_json(
        &["-L", "-c", jar, "-b", jar, &s.url("/cookies/set?k=v&k2=v2")],
        None,
    );
    assert_eq!(j, json!({"cookies": {"k": "v", "k2": "v2"}}));
    let j = curl_json(
        &["-L", "-c", jar, "-b", jar, &s.url("/cookies/delete?k")],
        None,
    );
    let _ = std::fs::remove_file(jar);
    assert_eq!(j, json!({"cookies": {"k2": "v2"}}));

    for (path, hops) in [
        ("/redirect/3", "3"),
        ("/absolute-redirect/2", "2"),
        ("/relative-redirect/2", "2"),
        ("/redirect-to?url=/get&status_code=303", "1"),
    ] {
        let out = curl(
            &[
                "-L",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{num_redirects} %{url_effective}",
                &s.url(path),
            ],
            None,
        );
        assert_eq!(out, format!("200 {hops} {}", s.url("/get")), "{path}");
    }

    let out = curl(&["-N", "-i", &s.url("/stream/20")], None);
    let (head, body) = out.split_once("\r\n\r\n").expect("head and body");
    assert!(
        head.to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    let ids: Vec<u64> = body
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("JSON line")["id"]
                .as_u64()
                .expect("id")
        })
        .collect();
    assert_eq!(ids, (0..20).collect::<Vec<_>>());

    for (path, flag) in [("/gzip", "gzipped"), ("/deflate", "deflated")] {
        let j = curl_json(&["--compressed", &s.url(path)], None);
        assert_eq!(j[flag], true, "{path}");
    }
    if curl(&["-V"], None).to_lowercase().contains("brotli") {
        let j = curl_json(&["--compressed", &s.url("/brotli")], None);
        assert_eq!(j["brotli"], true);
    }
    let j = curl_json(&["-u", "user:pw", &s.url("/basic-auth/user/pw")], None);
    assert_eq!(j, json!({"authenticated": true, "user": "user"}));
    let out = curl(
        &[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &s.url("/status/201,201"),
        ],
        None,
    );
    assert_eq!(out, "201");
    let out = curl(
        &[
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{size_download}",
            &s.url("/bytes/5000"),
        ],
        None,
    );
    assert_eq!(out, "5000");

    let body_keys = [
        "args", "data", "files", "form", "headers", "json", "origin", "url",
    ];
    for method in ["PUT", "PATCH", "DELETE"] {
        let path = format!("/{}", method.to_lowercase());
        let j = curl_json(
            &[
                "-X",
                method,
                "-H",
                "Content-Type: text/plain",
                "--data",
                "hey",
                &s.url(&path),
            ],
            None,
        );
        let mut keys: Vec<&str> = j
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            (keys, &j["data"]),
            (body_keys.to_vec(), &json!("hey")),
            "{method}"
        );
    }
    let j = curl_json(&["-X", "PATCH", &s.url("/anything/a/b?q=1")], None);
    assert_eq!(
        (&j["method"], &j["url"]),
        (&json!("PATCH"), &json!(s.url("/anything/a/b?q=1")))
    );
    let j = curl_json(&["-H", "x-custom-thing: 1", &s.url("/headers")], None);
    assert_eq!(j["headers"]["X-Custom-Thing"], "1");
    let code = |args: &[&str]| {
        let mut all = vec!["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}"];
        all.extend_from_slice(args);
        curl(&all, None).trim_end().to_owned()
    };
    assert_eq!(
        code(&["-H", "If-None-Match: \"abc\"", &s.url("/etag/abc")]),
        "304"
    );
    assert_eq!(
        code(&["-H", "If-Match: \"zzz\"", &s.url("/etag/abc")]),
        "412"
    );
    assert_eq!(
        code(&["-H", "If-Modified-Since: x", &s.url("/cache")]),
        "304"
    );
    assert_eq!(code(&[&s.url("/cache")]), "200");
    assert_eq!(
        code(&[&s.url("/status/302")]),
        format!("302 {}", s.url("/redirect/1"))
    );
    assert_eq!(code(&[&s.url("/status/nope")]), "400");
    assert_eq!(code(&[&s.url("/no/such/path")]), "404");
    assert_eq!(code(&["-X", "POST", &s.url("/get")]), "405");
    assert_eq!(
        curl(&[&s.url("/base64/SFRUUEJJTiBpcyBhd2Vzb21l")], None),
        "HTTPBIN is awesome"
    );
    // /drip: every byte, paced over the duration. Its largest size (10 MiB) over 1 s
    // comes within curl's 20 s; it took minutes when every byte had a pause of its own.
    let drip = curl(
        &[&s.url("/drip?numbytes=10485760&duration=1&code=201")],
        None,
    );
    assert!(drip.len() == 10 << 20 && drip.bytes().all(|b| b == b'*'));
    assert_eq!(
        code(&[&s.url("/drip?numbytes=3&duration=0.1&code=201")]),
        "201"
    );
}

fn aiohttp_checks(s: &Served) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/httpbin_aiohttp.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(s.url(""))
        .output()
        .unwrap_or_else(|e| panic!("python3 is required (apt-get install -y python3): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'aiohttp'"),
        "Python's aiohttp is required (pip install aiohttp): {stderr}"
    );
    assert!(
        out.status.success(),
        "aiohttp client failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("aiohttp interop: ") && stdout.contains(" checks passed"),
        "{stdout}"
    );
}

macro_rules! interop_on {
    ($($module:ident: $rt:ty),* $(,)?) => {$(
        mod $module {
            #[test]
            fn curl() {
                let served = super::Served::start::<$rt>();
                super::curl_checks(&served);
            }
            #[test]
            fn aiohttp_client() {
                let served = super::Served::start::<$rt>();
                super::aiohttp_checks(&served);
            }
        }
    )*};
}

interop_on!(
    tokio: sansweb::rt::TokioRuntime,
    smol: sansweb::rt::SmolRuntime,
    async_std: sansweb::rt::AsyncStdRuntime,
);
