//! `Hello, World!` on every path and method; reads and discards any request body.
//!
//! cargo run --release --example hello -- --bind 127.0.0.1:8080 --runtime tokio|smol|async-std [--workers N]

use sansweb::web::{run_app_on, App, Request, Response};
use std::net::SocketAddr;

async fn hello(req: Request) -> Response {
    // Drain the body so the connection can be reused whatever the client sent.
    while let Ok(Some(_)) = req.chunk().await {}
    Response::text_static("Hello, World!")
}

fn main() -> std::io::Result<()> {
    let args = sansweb_examples::Args::parse();
    let app = App::new().route("*", "/{tail:.*}", hello);
    let addr: SocketAddr = args.bind;
    println!(
        "hello on http://{addr} ({}, {} worker(s))",
        args.runtime, args.workers
    );
    match args.runtime.as_str() {
        "tokio" => run_app_on::<sansweb::rt::TokioRuntime>(app, addr, args.workers),
        "smol" => run_app_on::<sansweb::rt::SmolRuntime>(app, addr, args.workers),
        "async-std" => run_app_on::<sansweb::rt::AsyncStdRuntime>(app, addr, args.workers),
        other => Err(std::io::Error::other(format!("unknown runtime {other:?}"))),
    }
}
