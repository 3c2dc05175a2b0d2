//! `RequestBuilder::multipart(Form)`: fields and files streamed from disk, against our
//! own server's multipart reader and a real Python aiohttp server, on every runtime.

mod client_support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bytes::Bytes;
use client_support::TestServer;
use sansweb::client::{Form, Part};
use sansweb::rt::Runtime;
use sansweb::web::{App, HttpError, Request, Response, Server};
use sansweb::ClientSession;

/// A file of `len` patterned bytes in a fresh temp dir; returns its path.
fn temp_file(tag: &str, name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!(
        "sansweb-mp-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let content: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &content).unwrap();
    (path, content)
}

fn checksum(b: &[u8]) -> u64 {
    b.iter().fold(0u64, |s, &x| s.wrapping_add(x as u64))
}

/// Our server streams every part and reports name|filename|type|size|sum.
fn parts_app() -> App {
    App::new().post("/parts", |req: Request| async move {
        let mut multipart = req.multipart()?;
        let mut lines = Vec::new();
        while let Some(mut part) = multipart.next_part().await? {
            let (mut size, mut sum) = (0usize, 0u64);
            while let Some(chunk) = part.chunk().await? {
                size += chunk.len();
                sum = sum.wrapping_add(checksum(&chunk));
            }
            lines.push(format!(
                "{}|{}|{}|{size}|{sum}",
                part.name().unwrap_or("-"),
                part.filename().unwrap_or("-"),
                part.content_type().unwrap_or("-"),
            ));
        }
        Ok::<_, HttpError>(Response::text(lines.join("\n")))
    })
}

/// A 3 MiB file (past the server's 1 MiB `client_max_size`: only a streamed read
/// passes), a text field and an in-memory file, with `Content-Length` (all lengths
/// known), then a stream of unknown length (chunked).
async fn multipart_to_our_server<R: Runtime>(rt: R) {
    let server = Server::new(parts_app())
        .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
        .await
        .unwrap();
    let url = format!("http://{}/parts", server.local_addr());
    let (path, content) = temp_file("ours", "big.bin", 3 << 20);
    let s = ClientSession::with_runtime(rt.clone());
    let form = Form::new()
        .text("title", "héllo")
        .file("upload", &path)
        .unwrap()
        .part(
            "note",
            Part::bytes(&b"{\"a\":1}"[..])
                .file_name("n.json")
                .mime_type("application/json"),
        );
    let mut r = s.post(&url).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let want = format!(
        "title|-|-|6|{}\nupload|big.bin|application/octet-stream|{}|{}\nnote|n.json|application/json|7|{}",
        checksum("héllo".as_bytes()),
        content.len(),
        checksum(&content),
        checksum(b"{\"a\":1}")
    );
    assert_eq!(body, want);

    // Unknown length: chunked.
    let chunks = futures_lite::stream::iter((0..10).map(|i| Ok(Bytes::from(vec![i as u8; 1000]))));
    let form = Form::new().part(
        "s",
        Part::stream(chunks, None)
            .file_name("s.txt")
            .mime_type("text/plain"),
    );
    let mut r = s.post(&url).multipart(form).send().await.unwrap();
    let sum: u64 = (0..10u64).map(|i| i * 1000).sum();
    assert_eq!(
        r.text().await.unwrap(),
        format!("s|s.txt|text/plain|10000|{sum}")
    );
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    server.shutdown().await;
}

/// The headers the client sent: `Content-Length` when every length is known, chunked
/// otherwise, and the boundary in `Content-Type`.
async fn multipart_framing<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = ClientSession::with_runtime(rt);
    let form = Form::with_boundary("bnd").text("a", "1");
    s.post(&srv.url("/echo"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let chunks = futures_lite::stream::iter(vec![Ok(Bytes::from_static(b"xyz"))]);
    let form = Form::with_boundary("bnd").part("f", Part::stream(chunks, None));
    s.post(&srv.url("/echo"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let seen = srv.seen();
    assert_eq!(
        seen[0].headers["content-type"],
        "multipart/form-data; boundary=bnd"
    );
    let body0 = "--bnd\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--bnd--\r\n";
    assert_eq!(seen[0].headers["content-length"], body0.len().to_string());
    assert_eq!(String::from_utf8_lossy(&seen[0].body), body0);
    assert_eq!(seen[1].headers["transfer-encoding"], "chunked");
    assert!(!seen[1].headers.contains_key("content-length"));
    assert_eq!(
        String::from_utf8_lossy(&seen[1].body),
        "--bnd\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nxyz\r\n--bnd--\r\n"
    );
}

const PY_APP: &str = r#"
import asyncio, hashlib
from aiohttp import web

async def parts(request):
    reader = await request.multipart()
    out = []
    while True:
        part = await reader.next()
        if part is None:
            break
        data = bytearray()
        while True:
            chunk = await part.read_chunk()
            if not chunk:
                break
            data.extend(chunk)
        out.append("%s|%s|%s|%d|%s" % (part.name, part.filename or "-",
            part.headers.get("Content-Type", "-"), len(data), hashlib.sha256(data).hexdigest()))
    return web.Response(text="\n".join(out))

async def post(request):
    data = await request.post()
    return web.json_response({k: (v if isinstance(v, str) else v.filename) for k, v in data.items()})

app = web.Application(client_max_size=64 * 1024 * 1024)
app.router.add_post("/parts", parts)
app.router.add_post("/post", post)

async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"#;

struct Py(Child, u16);
impl Drop for Py {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn py_server() -> Py {
    let mut child = Command::new("python3")
        .args(["-c", PY_APP])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiohttp is required (CI installs it)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the aiohttp server did not start (pip install aiohttp); it printed {line:?}")
    });
    Py(child, port)
}

fn sha256_hex(b: &[u8]) -> String {
    // Python computes it; ask it too, so the test needs no hashing crate.
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys,hashlib;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b)?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Python aiohttp's multipart reader accepts our form: fields, a streamed file with
/// its name and type, and `request.post()` sees the fields and file names.
async fn multipart_to_aiohttp<R: Runtime>(rt: R) {
    let py = py_server();
    let (path, content) = temp_file("py", "photo.png", 1 << 20);
    let s = ClientSession::with_runtime(rt);
    let form = Form::new()
        .text("name", "sans web")
        .file("photo", &path)
        .unwrap();
    let mut r = s
        .post(&format!("http://127.0.0.1:{}/parts", py.1))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.unwrap(),
        format!(
            "name|-|-|8|{}\nphoto|photo.png|image/png|{}|{}",
            sha256_hex(b"sans web"),
            content.len(),
            sha256_hex(&content)
        )
    );
    let form = Form::new().text("k", "v").file("f", &path).unwrap();
    let mut r = s
        .post(&format!("http://127.0.0.1:{}/post", py.1))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v, serde_json::json!({"k": "v", "f": "photo.png"}));
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

on_every_runtime!(
    multipart_to_our_server,
    multipart_framing,
    multipart_to_aiohttp
);
