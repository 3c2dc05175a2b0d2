//! Interop: the client against a real Python aiohttp server, on every runtime.
//!
//! Needs `python3` with aiohttp (`python3 -m pip install aiohttp`); CI installs it, so a
//! missing interpreter or module fails these tests loudly instead of skipping them.

mod client_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sansweb::client::{ClientError, ClientTimeout, TimeoutKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

const APP: &str = r#"
import asyncio, sys
from aiohttp import web

async def text(request):
    return web.Response(text="hello from aiohttp")

async def peer(request):
    # The client's port: equal for two requests on one TCP connection.
    return web.Response(text=str(request.transport.get_extra_info("peername")[1]))

async def echo_json(request):
    data = await request.json()
    return web.json_response({"got": data, "method": request.method})

async def form(request):
    data = await request.post()
    return web.json_response(dict(data))

async def headers(request):
    return web.json_response(dict(request.headers))

async def set_cookie(request):
    resp = web.Response(text="set")
    resp.set_cookie("token", "xyz", path="/")
    return resp

async def cookies(request):
    return web.json_response(dict(request.cookies))

async def delay(request):
    await asyncio.sleep(float(request.match_info["s"]))
    return web.Response(text="late")

async def status(request):
    return web.Response(status=int(request.match_info["code"]), text="status")

async def stream(request):
    resp = web.StreamResponse()
    await resp.prepare(request)
    n = int(request.match_info["n"])
    for i in range(n):
        await resp.write(b"%d:" % i + b"x" * 65536 + b"\n")
    await resp.write_eof()
    return resp

async def gz(request):
    resp = web.Response(text="squeezed " * 500)
    resp.enable_compression()
    return resp

async def redirect(request):
    n = int(request.match_info["n"])
    raise web.HTTPFound("/text" if n <= 1 else "/redirect/%d" % (n - 1))

app = web.Application()
app.router.add_get("/text", text)
app.router.add_get("/peer", peer)
app.router.add_post("/json", echo_json)
app.router.add_post("/form", form)
app.router.add_get("/headers", headers)
app.router.add_get("/set-cookie", set_cookie)
app.router.add_get("/cookies", cookies)
app.router.add_get("/delay/{s}", delay)
app.router.add_get("/status/{code}", status)
app.router.add_get("/stream/{n}", stream)
app.router.add_get("/gzip", gz)
app.router.add_get("/redirect/{n}", redirect)

async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#;

struct PyServer {
    child: Child,
    base: String,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn aiohttp_server() -> PyServer {
    let mut child = Command::new("python3")
        .args(["-c", APP])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 is required for the aiohttp interop tests (CI installs it)");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the port");
    let port: u16 = line.trim().parse().unwrap_or_else(|_| {
        let _ = child.kill();
        panic!(
            "the aiohttp server did not start (is aiohttp installed? \
             `python3 -m pip install aiohttp`); it printed {line:?}"
        )
    });
    PyServer {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn aiohttp_seed_stories<R: Runtime>(rt: R) {
    let py = aiohttp_server();
    let url = |p: &str| format!("{}{}", py.base, p);
    let s = ClientSession::builder_with_runtime(rt.clone())
        .header("x-default", "on-every-request")
        .cookie_jar_unsafe()
        .build()
        .unwrap();

    // GET text.
    let mut r = s.get(&url("/text")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "hello from aiohttp");

    // Reuse: the server sees the same client port for sequential requests.
    let a = s
        .get(&url("/peer"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b = s
        .get(&url("/peer"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(a, b, "one keep-alive connection served both");

    // POST json and form.
    let v = serde_json::json!({"k": [1, 2, 3]});
    let mut r = s.post(&url("/json")).json(&v).send().await.unwrap();
    let back: serde_json::Value = r.json().await.unwrap();
    assert_eq!(back, serde_json::json!({"got": v, "method": "POST"}));
    let mut r = s
        .post(&url("/form"))
        .form(&[("name", "sans web"), ("x", "é")])
        .send()
        .await
        .unwrap();
    let back: serde_json::Value = r.json().await.unwrap();
    assert_eq!(back, serde_json::json!({"name": "sans web", "x": "é"}));

    // Default headers.
    let mut r = s.get(&url("/headers")).send().await.unwrap();
    let h: serde_json::Value = r.json().await.unwrap();
    // Names go out lower case (the `http` crate's form); aiohttp keeps them as received.
    assert_eq!(h["x-default"], "on-every-request");

    // Cookies across requests.
    s.get(&url("/set-cookie"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut r = s.get(&url("/cookies")).send().await.unwrap();
    let c: serde_json::Value = r.json().await.unwrap();
    assert_eq!(c, serde_json::json!({"token": "xyz"}));

    // Timeout against /delay.
    let t = ClientTimeout {
        sock_read: Some(Duration::from_millis(200)),
        ..ClientTimeout::default()
    };
    let err = s.get(&url("/delay/2")).timeout(t).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                kind: TimeoutKind::SockRead,
                ..
            }
        ),
        "{err:?}"
    );

    // Errors on 4xx/5xx.
    for code in [404u16, 503] {
        let r = s
            .get(&url(&format!("/status/{code}")))
            .send()
            .await
            .unwrap();
        let err = r.raise_for_status().unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
    }

    // Streaming a chunked body line by line.
    let mut r = s.get(&url("/stream/50")).send().await.unwrap();
    let mut lines = 0;
    loop {
        let line = r.readline().await.unwrap();
        if line.is_empty() {
            break;
        }
        assert!(line.starts_with(format!("{lines}:").as_bytes()));
        assert_eq!(line.len(), format!("{lines}:").len() + 65536 + 1);
        lines += 1;
    }
    assert_eq!(lines, 50);

    // Compression chosen by aiohttp from our Accept-Encoding.
    let mut r = s.get(&url("/gzip")).send().await.unwrap();
    assert!(r.headers().contains_key("content-encoding"));
    assert_eq!(r.text().await.unwrap(), "squeezed ".repeat(500));

    // Redirects.
    let mut r = s.get(&url("/redirect/3")).send().await.unwrap();
    assert_eq!(r.history().len(), 3);
    assert_eq!(r.url().path(), "/text");
    assert_eq!(r.text().await.unwrap(), "hello from aiohttp");
}

on_every_runtime!(aiohttp_seed_stories);
