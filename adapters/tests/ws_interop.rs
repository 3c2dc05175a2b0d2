//! Interop with WebSocket implementations nobody here wrote: Python's `websockets`
//! (asyncio API, version 13 or later) and aiohttp's `WebSocketResponse` / `ws_connect`
//! (3.9 or later), both ways, with and without permessage-deflate, on every enabled
//! runtime; plus a message sent in fragments, reassembled by `websockets`. CI installs
//! them with `python3 -m pip install 'websockets>=13' 'aiohttp>=3.9'`; without them these
//! tests fail (they never skip).

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::future;
use sansweb::core::ws::CloseCode;
use sansweb::rt::Runtime;
use sansweb::web::{App, Request, Server};
use sansweb::ws::{WebSocketResponse, WsConnect, WsMessage};

const NEED: &str = "these tests need python3 with the `websockets` package (>= 13): \
                    python3 -m pip install 'websockets>=13'";

/// Runs `body` on `R`, failing (instead of hanging) after 30 s.
fn run<R: Runtime, Fut: Future<Output = ()>>(body: impl FnOnce(R) -> Fut) {
    R::block_on(|rt: R| async move {
        let deadline = rt.now() + Duration::from_secs(30);
        let guard = rt.clone();
        future::or(body(rt), async move {
            guard.sleep_until(deadline).await;
            panic!("test timed out");
        })
        .await
    })
    .expect("runtime starts");
}

const NEED_AIOHTTP: &str = "these tests need python3 with `aiohttp` (>= 3.9): \
                            python3 -m pip install 'aiohttp>=3.9'";

fn python() -> Command {
    python_with(
        "import websockets.asyncio.server, websockets.asyncio.client",
        NEED,
    )
}

/// `python3`, once `import_check` ran in it (else a failure saying what to install).
fn python_with(import_check: &str, need: &str) -> Command {
    let ok = Command::new("python3")
        .args(["-c", import_check])
        .status()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {need}"));
    assert!(ok.success(), "{need}");
    Command::new("python3")
}

fn aiohttp() -> Command {
    python_with("import aiohttp.web", NEED_AIOHTTP)
}

const PY_SERVER: &str = r#"
import asyncio, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    comp = None if sys.argv[1] == "none" else "deflate"
    async with serve(echo, "127.0.0.1", 0, compression=comp, max_size=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"#;

const PY_CLIENT: &str = r#"
import asyncio, sys
from websockets.asyncio.client import connect
async def main():
    port, comp = sys.argv[1], (None if sys.argv[2] == "none" else "deflate")
    async with connect(f"ws://127.0.0.1:{port}/ws", compression=comp, max_size=None) as ws:
        for m in ["hello", "é" * 1000, b"\x00\x01\xff" * 50000, "x" * 300000]:
            await ws.send(m)
            r = await ws.recv()
            assert r == m, "echo differs"
        await ws.close(4000, "py done")
    print("OK", "compressed=%s" % bool(ws.protocol.extensions), flush=True)
asyncio.run(main())
"#;

/// aiohttp's `WebSocketResponse` echo server (`compress=15` or `0`). A text "close-me"
/// makes it close with 4002 "srv"; when a connection ends it prints the client's close
/// code.
const AIOHTTP_SERVER: &str = r#"
import asyncio, sys
from aiohttp import web, WSMsgType
async def handler(request):
    ws = web.WebSocketResponse(compress=int(sys.argv[1]), max_msg_size=0)
    await ws.prepare(request)
    async for m in ws:
        if m.type == WSMsgType.TEXT and m.data == "close-me":
            await ws.close(code=4002, message=b"srv")
        elif m.type == WSMsgType.TEXT:
            await ws.send_str(m.data)
        elif m.type == WSMsgType.BINARY:
            await ws.send_bytes(m.data)
    print("closed", ws.close_code, "compress", ws.compress, flush=True)
    return ws
async def main():
    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(site._server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Future()
asyncio.run(main())
"#;

/// aiohttp's `ws_connect` client (`compress=15` or `0`) against our echo server.
const AIOHTTP_CLIENT: &str = r#"
import asyncio, sys, aiohttp
async def main():
    port, comp = sys.argv[1], int(sys.argv[2])
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"ws://127.0.0.1:{port}/ws", compress=comp, max_msg_size=0) as ws:
            for m in ["hello", "é" * 1000, b"\x00\x01\xff" * 50000, "x" * 300000, b"z" * (5 << 20)]:
                if isinstance(m, str):
                    await ws.send_str(m)
                    r = await ws.receive_str()
                else:
                    await ws.send_bytes(m)
                    r = await ws.receive_bytes()
                assert r == m, "echo differs"
            await ws.close(code=4000, message=b"py done")
            print("OK", "compressed=%s" % bool(ws.compress), flush=True)
asyncio.run(main())
"#;

/// A Python echo server; killed on drop.
struct PyServer(Child, u16, BufReader<std::process::ChildStdout>);

impl PyServer {
    fn start(compression: &str) -> PyServer {
        Self::spawn(python(), PY_SERVER, compression)
    }

    fn spawn(mut cmd: Command, script: &str, arg: &str) -> PyServer {
        let mut child = cmd
            .args(["-c", script, arg])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let mut out = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        out.read_line(&mut line).expect("port line");
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("python server printed {line:?}, not a port")
        });
        PyServer(child, port, out)
    }

    /// The server's next line of output.
    fn line(&mut self) -> String {
        let mut line = String::new();
        self.2.read_line(&mut line).expect("a line");
        line.trim().to_owned()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Our client against Python's server.
fn client_to_python<R: Runtime>(compression: &'static str) {
    let py = PyServer::start(compression);
    let port = py.1;
    run::<R, _>(|rt| async move {
        let mut ws = WsConnect::new()
            .compress(true)
            .connect(&rt, &format!("ws://127.0.0.1:{port}/"))
            .await
            .expect("connect to python");
        assert_eq!(ws.compressed(), compression == "deflate");
        let big = "python ".repeat(100_000);
        for _ in 0..3 {
            ws.send_str("hello").await.unwrap();
            assert_eq!(ws.receive_str().await.unwrap(), "hello");
            ws.send_bytes(&[9; 70_000]).await.unwrap();
            assert_eq!(ws.receive_bytes().await.unwrap().len(), 70_000);
            ws.send_str(&big).await.unwrap();
            assert!(ws.receive_str().await.unwrap() == big);
        }
        ws.ping(b"p").await.unwrap();
        ws.close(CloseCode::NORMAL, "bye")
            .await
            .expect("clean close");
    });
}

/// A message sent as several frames with control frames in between: `websockets`
/// reassembles it and echoes it whole.
fn fragments_to_python<R: Runtime>(compression: &'static str) {
    let py = PyServer::start(compression);
    let port = py.1;
    run::<R, _>(|rt| async move {
        let mut ws = WsConnect::new()
            .connect(&rt, &format!("ws://127.0.0.1:{port}/"))
            .await
            .expect("connect to python");
        assert_eq!(ws.compressed(), compression == "deflate");
        ws.send_str_fragment("frag", false).await.unwrap();
        ws.ping(b"between").await.unwrap();
        ws.send_str_fragment("mént", false).await.unwrap();
        // Another message may not start inside this one.
        assert!(matches!(
            ws.send_str("interloper").await,
            Err(sansweb::ws::WsError::Local(_))
        ));
        ws.pong(b"unsolicited").await.unwrap();
        ws.send_str_fragment(" done", true).await.unwrap();
        assert_eq!(ws.receive_str().await.unwrap(), "fragmént done");

        let piece: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for i in 0..5 {
            ws.send_bytes_fragment(&piece, i == 4).await.unwrap();
            ws.ping(&[i as u8]).await.unwrap();
        }
        let whole = ws.receive_bytes().await.unwrap();
        assert_eq!(whole.len(), 500_000);
        assert!(whole.chunks(100_000).all(|c| c == piece.as_slice()));
        // Wrong kind of continuation: refused, nothing sent.
        ws.send_str_fragment("t", false).await.unwrap();
        assert!(ws.send_bytes_fragment(b"b", true).await.is_err());
        ws.send_str_fragment("", true).await.unwrap();
        assert_eq!(ws.receive_str().await.unwrap(), "t");
        ws.close(CloseCode::NORMAL, "bye")
            .await
            .expect("clean close");
    });
}

/// Our client against aiohttp's `WebSocketResponse`: text, binary, large messages, the
/// close codes both ways.
fn client_to_aiohttp<R: Runtime>(compress: &'static str) {
    let mut py = PyServer::spawn(aiohttp(), AIOHTTP_SERVER, compress);
    let port = py.1;
    let compressed = compress != "0";
    run::<R, _>(|rt| async move {
        let url = format!("ws://127.0.0.1:{port}/ws");
        let mut ws = WsConnect::new()
            .max_msg_size(0)
            .connect(&rt, &url)
            .await
            .expect("connect to aiohttp");
        assert_eq!(ws.compressed(), compressed);
        let big_text = "aiohttp ".repeat(200_000);
        let big_bin: Vec<u8> = (0..(5u32 << 20)).map(|i| (i % 253) as u8).collect();
        for _ in 0..2 {
            ws.send_str("hello").await.unwrap();
            assert_eq!(ws.receive_str().await.unwrap(), "hello");
            ws.send_str("ünïcödé").await.unwrap();
            assert_eq!(ws.receive_str().await.unwrap(), "ünïcödé");
            ws.send_bytes(&[0, 1, 255]).await.unwrap();
            assert_eq!(&ws.receive_bytes().await.unwrap()[..], &[0, 1, 255]);
            ws.send_str(&big_text).await.unwrap();
            assert!(ws.receive_str().await.unwrap() == big_text);
            ws.send_bytes(&big_bin).await.unwrap();
            assert!(ws.receive_bytes().await.unwrap() == big_bin);
        }
        ws.close(CloseCode(4001), "rust done")
            .await
            .expect("clean close");

        // The server closes: its code and reason arrive.
        let mut ws = WsConnect::new().connect(&rt, &url).await.unwrap();
        ws.send_str("close-me").await.unwrap();
        match ws.receive().await {
            WsMessage::Close { code, reason } => {
                assert_eq!((code.0, reason.as_str()), (4002, "srv"));
            }
            other => panic!("expected the server's close, got {other:?}"),
        }
    });
    let c = if compressed { "15" } else { "0" };
    assert_eq!(py.line(), format!("closed 4001 compress {c}"));
    assert_eq!(py.line(), format!("closed 4002 compress {c}"));
}

/// Python's client against our server.
fn python_to_server<R: Runtime>(compression: &'static str) {
    let script = if compression == "deflate" || compression == "none" {
        (python(), PY_CLIENT, "OK compressed=")
    } else {
        (aiohttp(), AIOHTTP_CLIENT, "OK compressed=")
    };
    let compressed = compression == "deflate" || compression == "15";
    let (py, script, ok) = script;
    run::<R, _>(|rt: R| async move {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let log2 = log.clone();
        let app = App::new().get("/ws", move |req: Request| {
            let log = log2.clone();
            async move {
                WebSocketResponse::new()
                    .max_msg_size(0)
                    .prepare(&req, move |mut ws| async move {
                        loop {
                            let sent = match ws.receive().await {
                                WsMessage::Text(t) => ws.send_str(&t).await,
                                WsMessage::Binary(b) => ws.send_bytes(&b).await,
                                WsMessage::Close { code, reason } => {
                                    log.lock()
                                        .unwrap()
                                        .push(format!("close {} {reason}", code.0));
                                    return;
                                }
                                other => {
                                    log.lock().unwrap().push(format!("{other:?}"));
                                    return;
                                }
                            };
                            sent.expect("echo");
                        }
                    })
            }
        });
        let server = Server::new(app)
            .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
            .await
            .unwrap();
        let port = server.local_addr().port().to_string();
        // The Python process is waited for on a thread, so this executor keeps serving.
        let result = Arc::new(Mutex::new(None));
        let slot = result.clone();
        let mut py = py;
        py.args(["-c", script, &port, compression]);
        std::thread::spawn(move || {
            *slot.lock().unwrap() = Some(py.output().expect("python3 runs"));
        });
        let output = loop {
            if let Some(out) = result.lock().unwrap().take() {
                break out;
            }
            rt.sleep_until(rt.now() + Duration::from_millis(20)).await;
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "python client failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let expect = format!("{ok}{}", if compressed { "True" } else { "False" });
        assert_eq!(stdout.trim(), expect);
        let deadline = rt.now() + Duration::from_secs(5);
        while log.lock().unwrap().is_empty() && rt.now() < deadline {
            rt.sleep_until(rt.now() + Duration::from_millis(10)).await;
        }
        assert_eq!(*log.lock().unwrap(), ["close 4000 py done"]);
    });
}

macro_rules! on_runtime {
    ($name:ident, $rt:ty) => {
        mod $name {
            type R = $rt;
            #[test]
            fn client_to_python_deflate() {
                super::client_to_python::<R>("deflate")
            }
            #[test]
            fn client_to_python_plain() {
                super::client_to_python::<R>("none")
            }
            #[test]
            fn python_to_server_deflate() {
                super::python_to_server::<R>("deflate")
            }
            #[test]
            fn python_to_server_plain() {
                super::python_to_server::<R>("none")
            }
            #[test]
            fn fragments_to_python_deflate() {
                super::fragments_to_python::<R>("deflate")
            }
            #[test]
            fn fragments_to_python_plain() {
                super::fragments_to_python::<R>("none")
            }
            #[test]
            fn client_to_aiohttp_compress15() {
                super::client_to_aiohttp::<R>("15")
            }
            #[test]
            fn client_to_aiohttp_compress0() {
                super::client_to_aiohttp::<R>("0")
            }
            #[test]
            fn aiohttp_to_server_compress15() {
                super::python_to_server::<R>("15")
            }
            #[test]
            fn aiohttp_to_server_compress0() {
                super::python_to_server::<R>("0")
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
