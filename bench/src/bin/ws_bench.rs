//! WebSocket echo benchmark: one binary, three implementations, both roles.
//!
//!   ws_bench server sansweb|tungstenite|fastws ADDR [--compress]
//!   ws_bench client sansweb|tungstenite|fastws URL SIZE COUNT [--compress]
//!
//! The server echoes every data message. The client connects, sends COUNT binary messages
//! of SIZE bytes from one task while another task reads the echoes, and prints
//! `SECONDS` (from the first send to the last echo received) on stdout. Every
//! implementation runs on a current-thread tokio runtime (one core, as `ws.sh` pins it).
//! Compression (permessage-deflate) exists in sansweb only: tokio-tungstenite 0.28 and
//! fastwebsockets 0.10 do not implement it, so `--compress` with them is refused.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const MAX_MESSAGE: usize = 64 << 20;

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let compress = args.iter().any(|a| a == "--compress");
    let args: Vec<&str> = args
        .iter()
        .filter(|a| *a != "--compress")
        .map(String::as_str)
        .collect();
    let usage = "usage: ws_bench server IMPL ADDR | client IMPL URL SIZE COUNT [--compress]";
    match args.as_slice() {
        ["server", imp, addr] => {
            let addr: SocketAddr = addr.parse()?;
            if *imp == "sansweb" {
                return sansweb_server(addr, compress);
            }
            refuse_compress(imp, compress)?;
            rt().block_on(async move {
                let listener = TcpListener::bind(addr).await?;
                loop {
                    let (stream, _) = listener.accept().await?;
                    stream.set_nodelay(true)?;
                    let imp = imp.to_string();
                    tokio::spawn(async move {
                        let r = match imp.as_str() {
                            "tungstenite" => tungstenite_echo(stream).await,
                            "fastws" => fastws_echo(stream).await,
                            other => Err(format!("unknown implementation {other}").into()),
                        };
                        if let Err(e) = r {
                            eprintln!("server connection: {e}");
                        }
                    });
                }
            })
        }
        ["client", imp, url, size, count] => {
            let size: usize = size.parse()?;
            let count: usize = count.parse()?;
            let payload = Bytes::from((0..size).map(|i| b'a' + (i % 26) as u8).collect::<Vec<_>>());
            let secs = match *imp {
                "sansweb" => sansweb_client(url, payload, count, compress)?,
                "tungstenite" => {
                    refuse_compress(imp, compress)?;
                    rt().block_on(tungstenite_client(url, payload, count))?
                }
                "fastws" => {
                    refuse_compress(imp, compress)?;
                    rt().block_on(fastws_client(url, payload, count))?
                }
                other => return Err(format!("unknown implementation {other}").into()),
            };
            println!("{secs:.6}");
            Ok(())
        }
        _ => Err(usage.into()),
    }
}

fn refuse_compress(imp: &str, compress: bool) -> Res<()> {
    if compress {
        return Err(format!("{imp} has no permessage-deflate").into());
    }
    Ok(())
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ----- sansweb -----

fn sansweb_server(addr: SocketAddr, compress: bool) -> Res<()> {
    use sansweb::web::{run_app_on, App};
    let app = App::new().route("GET", "/{tail:.*}", move |req| sansweb_echo(req, compress));
    run_app_on::<sansweb::rt::TokioRuntime>(app, addr, 1)?;
    Ok(())
}

async fn sansweb_echo(
    req: sansweb::web::Request,
    compress: bool,
) -> Result<sansweb::web::Response, sansweb::web::HttpError> {
    use sansweb::ws::{WebSocketResponse, WsMessage};
    WebSocketResponse::new()
        .compress(compress)
        .max_msg_size(MAX_MESSAGE)
        .prepare(&req, |mut ws| async move {
            loop {
                let sent = match ws.receive().await {
                    WsMessage::Text(t) => ws.send_str(&t).await,
                    WsMessage::Binary(b) => ws.send_bytes_owned(b).await,
                    _ => break,
                };
                if sent.is_err() {
                    break;
                }
            }
        })
}

fn sansweb_client(url: &str, payload: Bytes, count: usize, compress: bool) -> Res<f64> {
    use sansweb::rt::{Runtime, TokioRuntime};
    use sansweb::ws::{WsConnect, WsMessage};
    let url = url.to_owned();
    let out = TokioRuntime::block_on(|rt| async move {
        let ws = WsConnect::new()
            .compress(compress)
            .max_msg_size(MAX_MESSAGE)
            .connect(&rt, &url)
            .await?;
        let (tx, mut rx) = ws.split();
        let start = Instant::now();
        let writer = rt.spawn(async move {
            for _ in 0..count {
                tx.send_bytes(&payload).await?;
            }
            Ok::<_, sansweb::ws::WsError>(tx)
        });
        for i in 0..count {
            match rx.receive().await {
                WsMessage::Binary(_) => {}
                other => return Err(format!("message {i}: {other:?}").into()),
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let tx = writer.await??;
        let _ = tx.close(sansweb::core::ws::CloseCode::NORMAL, "").await;
        Ok::<f64, Box<dyn std::error::Error + Send + Sync>>(secs)
    })??;
    Ok(out)
}

// ----- tokio-tungstenite -----

async fn tungstenite_echo(stream: TcpStream) -> Res<()> {
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_MESSAGE);
    let mut ws = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    while let Some(msg) = ws.next().await {
        let msg = msg?;
        if msg.is_text() || msg.is_binary() {
            ws.send(msg).await?;
        } else if msg.is_close() {
            break;
        }
    }
    Ok(())
}

async fn tungstenite_client(url: &str, payload: Bytes, count: usize) -> Res<f64> {
    use tokio_tungstenite::tungstenite::Message;
    let stream = TcpStream::connect(host_port(url)?).await?;
    stream.set_nodelay(true)?;
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    let (mut tx, mut rx) = ws.split();
    let start = Instant::now();
    let writer = tokio::spawn(async move {
        for _ in 0..count {
            tx.feed(Message::Binary(payload.clone())).await?;
        }
        tx.flush().await?;
        Ok::<_, tokio_tungstenite::tungstenite::Error>(tx)
    });
    for i in 0..count {
        match rx.next().await {
            Some(Ok(Message::Binary(_))) => {}
            other => return Err(format!("message {i}: {other:?}").into()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mut tx = writer.await??;
    let _ = tx.send(Message::Close(None)).await;
    Ok(secs)
}

// ----- fastwebsockets -----

/// Reads an HTTP head (up to the blank line) byte-exactly: nothing after it is consumed.
async fn read_head(stream: &mut TcpStream) -> Res<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await? == 0 || head.len() > 16 << 10 {
            return Err("bad handshake".into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8(head)?)
}

async fn fastws_echo(mut stream: TcpStream) -> Res<()> {
    use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
    let head = read_head(&mut stream).await?;
    let key = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_owned())
        })
        .ok_or("no key")?;
    let accept = sansweb::core::ws::accept_key(key.as_bytes());
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(reply.as_bytes()).await?;
    let mut ws = WebSocket::after_handshake(stream, Role::Server);
    ws.set_max_message_size(MAX_MESSAGE);
    let mut ws = FragmentCollector::new(ws);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    Ok(())
}

async fn fastws_client(url: &str, payload: Bytes, count: usize) -> Res<f64> {
    use fastwebsockets::{FragmentCollectorRead, Frame, OpCode, Payload, Role};
    let addr = host_port(url)?;
    let mut stream = TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let path = url.splitn(4, '/').nth(3).unwrap_or("");
    let req = format!(
        "GET /{path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    let head = read_head(&mut stream).await?;
    if !head.starts_with("HTTP/1.1 101") {
        return Err(format!("handshake refused: {head}").into());
    }
    let (r, w) = stream.into_split();
    let (rd, mut wr) = fastwebsockets::after_handshake_split(r, w, Role::Client);
    let mut rd = FragmentCollectorRead::new(rd);
    let start = Instant::now();
    let writer = tokio::spawn(async move {
        for _ in 0..count {
            let frame = Frame::binary(Payload::Owned(payload.to_vec()));
            wr.write_frame(frame).await?;
        }
        Ok::<_, fastwebsockets::WebSocketError>(wr)
    });
    for i in 0..count {
        // Pongs would go through the write half, which the writer task holds; an echo
        // server sends no pings, so none are expected here.
        let frame = rd
            .read_frame::<_, fastwebsockets::WebSocketError>(&mut |_| async { Ok(()) })
            .await?;
        if frame.opcode != OpCode::Binary {
            return Err(format!("message {i}: {:?}", frame.opcode).into());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let mut wr = writer.await??;
    let _ = wr.write_frame(Frame::close(1000, b"")).await;
    Ok(secs)
}

fn host_port(url: &str) -> Res<String> {
    let rest = url.strip_prefix("ws://").ok_or("ws:// URLs only")?;
    Ok(rest.split('/').next().unwrap_or(rest).to_owned())
}
