//! The benchmark server for sansweb: the same routes as `hyper_server` and
//! `aiohttp_server.py`, so every scenario runs against each with the same wrk script.
//!
//! - `GET /`: `Hello, World!` (text/plain)
//! - `POST /echo`: parses the JSON body and answers it re-encoded
//! - `POST /upload`: reads the body to its end, answers its length
//! - `GET /download/sized`: 16 MiB with a Content-Length
//! - `GET /download/chunked`: 16 MiB chunked, in 64 KiB pieces
//!
//! sansweb_server ADDR [WORKERS=1]

use bytes::Bytes;
use sansweb::web::{run_app_on, App, HttpError, Request, Response, StreamResponse};

const DOWNLOAD: usize = 16 << 20;
const PIECE: usize = 64 << 10;

async fn hello(req: Request) -> Response {
    while let Ok(Some(_)) = req.chunk().await {}
    Response::text("Hello, World!")
}

async fn echo(req: Request) -> Result<Response, HttpError> {
    let value: serde_json::Value = req.json().await?;
    Ok(Response::json(&value))
}

async fn upload(req: Request) -> Result<Response, HttpError> {
    let mut total = 0usize;
    while let Some(chunk) = req.chunk().await? {
        total += chunk.len();
    }
    Ok(Response::text(total.to_string()))
}

/// One shared 16 MiB body: the scenario measures sending, not allocating.
fn blob() -> Bytes {
    static BLOB: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BLOB.get_or_init(|| Bytes::from(vec![b'x'; DOWNLOAD])).clone()
}

async fn sized(_req: Request) -> Response {
    Response::bytes(blob())
}

async fn chunked(req: Request) -> Response {
    let (response, mut writer) = StreamResponse::new(4);
    let piece = Bytes::from(vec![b'x'; PIECE]);
    let task = async move {
        for _ in 0..DOWNLOAD / PIECE {
            if writer.write(piece.clone()).await.is_err() {
                return;
            }
        }
        writer.write_eof();
    };
    if let Some(rt) = req.runtime() {
        rt.spawn(Box::pin(task));
    }
    response.with_header("content-type", "application/octet-stream")
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let workers = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    let app = App::new()
        .route("GET", "/", hello)
        .route("POST", "/echo", echo)
        .route("POST", "/upload", upload)
        .route("GET", "/download/sized", sized)
        .route("GET", "/download/chunked", chunked);
    let addr = addr.parse().map_err(std::io::Error::other)?;
    println!("sansweb bench server on http://{addr} ({workers} worker(s))");
    run_app_on::<sansweb::rt::TokioRuntime>(app, addr, workers)
}
