//! hyper 1.x with the routes of `sansweb_server` (see there), at its best settings: one
//! current-thread runtime per worker, HTTP/1.1 only, `pipeline_flush(true)`, keep-alive.
//!
//! hyper_server ADDR [WORKERS=1]

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

const DOWNLOAD: usize = 16 << 20;
const PIECE: usize = 64 << 10;

/// 16 MiB in 64 KiB frames with no length: hyper sends it chunked.
struct Pieces {
    piece: Bytes,
    left: usize,
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(Frame::data(self.piece.clone()))))
    }
}

/// One shared 16 MiB body: the scenario measures sending, not allocating.
fn blob() -> Bytes {
    static BLOB: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BLOB.get_or_init(|| Bytes::from(vec![b'x'; DOWNLOAD])).clone()
}

type Out = Response<BoxBody<Bytes, Infallible>>;

fn full(content_type: &'static str, body: impl Into<Bytes>) -> Out {
    let mut response = Response::new(Full::new(body.into()).boxed());
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    response
}

async fn route(req: Request<Incoming>) -> Result<Out, Infallible> {
    let (parts, body) = req.into_parts();
    Ok(match (parts.method, parts.uri.path()) {
        (Method::GET, "/") => {
            let _ = body.collect().await;
            full("text/plain; charset=utf-8", Bytes::from_static(b"Hello, World!"))
        }
        (Method::POST, "/echo") => {
            let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(value) => full("application/json", serde_json::to_vec(&value).unwrap()),
                Err(_) => {
                    let mut r = full("text/plain", "bad json");
                    *r.status_mut() = StatusCode::BAD_REQUEST;
                    r
                }
            }
        }
        (Method::POST, "/upload") => {
            let mut body = body;
            let mut total = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    total += data.len();
                }
            }
            full("text/plain; charset=utf-8", total.to_string())
        }
        (Method::GET, "/download/sized") => full("application/octet-stream", blob()),
        (Method::GET, "/download/chunked") => {
            let mut response = Response::new(
                Pieces {
                    piece: Bytes::from(vec![b'x'; PIECE]),
                    left: DOWNLOAD / PIECE,
                }
                .boxed(),
            );
            response
                .headers_mut()
                .insert("content-type", "application/octet-stream".parse().unwrap());
            response
        }
        _ => {
            let mut r = full("text/plain", "not found");
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
    })
}

async fn serve(listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .pipeline_flush(true)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(route))
                .await;
        });
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr: std::net::SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8081".into())
        .parse()
        .unwrap();
    let workers: usize = args.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    println!("hyper bench server on http://{addr} ({workers} worker(s))");
    // One current-thread runtime per worker, each with its own SO_REUSEPORT listener,
    // as sansweb's workers do.
    let threads: Vec<_> = (0..workers)
        .map(|_| {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let socket = socket2::Socket::new(
                        socket2::Domain::for_address(addr),
                        socket2::Type::STREAM,
                        None,
                    )
                    .unwrap();
                    socket.set_reuse_address(true).unwrap();
                    socket.set_reuse_port(true).unwrap();
                    socket.set_nonblocking(true).unwrap();
                    socket.bind(&addr.into()).unwrap();
                    socket.listen(1024).unwrap();
                    let listener = tokio::net::TcpListener::from_std(socket.into()).unwrap();
                    serve(listener).await
                })
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}
