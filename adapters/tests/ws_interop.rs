//! Interop with a WebSocket implementation nobody here wrote: Python's `websockets`
//! (asyncio API, version 13 or later), both ways, with and without permessage-deflate, on
//! every enabled runtime. CI installs it with `python3 -m pip install 'websockets>=13'`;
//! without it these tests fail (they never skip).

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

fn python() -> Command {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import websockets.asyncio.server, websockets.asyncio.client",
        ])
        .status()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {NEED}"));
    assert!(ok.success(), "{NEED}");
    Command::new("python3")
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

/// A Python echo server; killed on drop.
struct PyServer(Child, u16);

impl PyServer {
    fn start(compression: &str) -> PyServer {
        let mut child = python()
            .args(["-c", PY_SERVER, compression])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("port line");
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("python server printed {line:?}, not a port")
        });
        PyServer(child, port)
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

/// Python's client against our server.
fn python_to_server<R: Runtime>(compression: &'static str) {
    let py = python();
    run::<R, _>(|rt: R| async move {
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let log2 = log.clone();
        let app = App::new().get("/ws", move |req: Request| {
            let log = log2.clone();
            async move {
                WebSocketResponse::new().prepare(&req, move |mut ws| async move {
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
        py.args(["-c", PY_CLIENT, &port, compression]);
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
        let expect = format!("OK compressed={}", compression == "deflate");
        assert_eq!(
            stdout.trim(),
            expect.replace("true", "True").replace("false", "False")
        );
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
        }
    };
}

#[cfg(feature = "runtime-tokio")]
on_runtime!(tokio, sansweb::rt::TokioRuntime);
#[cfg(feature = "runtime-smol")]
on_runtime!(smol, sansweb::rt::SmolRuntime);
#[cfg(feature = "runtime-async-std")]
on_runtime!(async_std, sansweb::rt::AsyncStdRuntime);
