//! WebSocket echo server (text and binary, permessage-deflate on) on every path; what the
//! Autobahn fuzzing client and the interop tests talk to.
//!
//! cargo run --release --example ws_echo_server -- --bind 127.0.0.1:9002 --runtime tokio|smol|async-std

use sansweb::web::{run_app_on, App, HttpError, Request, Response};
use sansweb::ws::{WebSocketResponse, WsMessage};
use std::net::SocketAddr;

/// Autobahn's group 9 sends messages of up to 16 MiB.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

async fn echo(req: Request) -> Result<Response, HttpError> {
    WebSocketResponse::new()
        .compress(true)
        .max_msg_size(MAX_MESSAGE)
        .prepare(&req, |mut ws| async move {
            loop {
                let sent = match ws.receive().await {
                    WsMessage::Text(t) => ws.send_str(&t).await,
                    WsMessage::Binary(b) => ws.send_bytes_owned(b).await,
                    // Close, Closing, Closed, Error: the connection is over.
                    _ => break,
                };
                if sent.is_err() {
                    break;
                }
            }
        })
}

fn main() -> std::io::Result<()> {
    let args = sansweb_examples::Args::parse();
    let app = App::new().route("GET", "/{tail:.*}", echo);
    let addr: SocketAddr = args.bind;
    println!("ws echo on ws://{addr} ({})", args.runtime);
    match args.runtime.as_str() {
        "tokio" => run_app_on::<sansweb::rt::TokioRuntime>(app, addr, args.workers),
        "smol" => run_app_on::<sansweb::rt::SmolRuntime>(app, addr, args.workers),
        "async-std" => run_app_on::<sansweb::rt::AsyncStdRuntime>(app, addr, args.workers),
        other => Err(std::io::Error::other(format!("unknown runtime {other:?}"))),
    }
}
