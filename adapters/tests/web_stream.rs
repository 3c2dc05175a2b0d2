//! StreamResponse: a body written piece by piece from another task, with back-pressure,
//! and an aborted body that the client sees as truncated — on every runtime.

mod web_support;

use sansweb::rt::Runtime;
use sansweb::web::{App, Request, Response, StreamResponse};
use sansweb::{ClientError, ClientSession};

async fn countdown(req: Request) -> Response {
    let (response, mut writer) = StreamResponse::new(2);
    let task = async move {
        for i in 0..100 {
            if writer.write(format!("line {i}\n")).await.is_err() {
                return;
            }
        }
        writer.write_eof();
    };
    req.runtime().expect("served").spawn(Box::pin(task));
    response.with_header("content-type", "text/plain")
}

async fn broken(req: Request) -> Response {
    let (response, mut writer) = StreamResponse::new(2);
    let task = async move {
        let _ = writer.write("partial").await;
        writer.abort("the data source failed");
    };
    req.runtime().expect("served").spawn(Box::pin(task));
    response
}

async fn streamed_body_arrives_whole<R: Runtime>(rt: R) {
    let app = App::new().get("/count", countdown).get("/broken", broken);
    let server = web_support::start(&rt, app).await;
    let session = ClientSession::builder_with_runtime(rt.clone())
        .build()
        .unwrap();
    let url = format!("http://{}/count", server.local_addr());
    let mut response = session.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["transfer-encoding"], "chunked");
    let text = response.text().await.unwrap();
    assert_eq!(text.lines().count(), 100);
    assert_eq!(text.lines().last(), Some("line 99"));
    // A body that fails halfway is not delivered as complete.
    let url = format!("http://{}/broken", server.local_addr());
    let mut response = session.get(&url).send().await.unwrap();
    match response.text().await {
        Err(
            ClientError::ServerDisconnected { .. } | ClientError::Payload(_) | ClientError::Io(_),
        ) => {}
        other => panic!("a truncated body must be an error, got {other:?}"),
    }
    server.shutdown().await;
}

/// 16 MiB in 64 KiB pieces: far more than the socket buffers hold, so the connection
/// must pull the next piece after each write drains. (It stalled after a few MiB when
/// a drained write did not make the connection task look at the stream again.)
async fn sixteen_mib(req: Request) -> Response {
    let (response, mut writer) = StreamResponse::new(4);
    let piece = bytes::Bytes::from(vec![b'x'; 64 << 10]);
    let task = async move {
        for _ in 0..256 {
            if writer.write(piece.clone()).await.is_err() {
                return;
            }
        }
        writer.write_eof();
    };
    req.runtime().expect("served").spawn(Box::pin(task));
    response
}

async fn large_streamed_body_does_not_stall<R: Runtime>(rt: R) {
    let app = App::new().get("/16m", sixteen_mib);
    let server = web_support::start(&rt, app).await;
    let session = ClientSession::builder_with_runtime(rt.clone())
        .timeout(sansweb::ClientTimeout {
            total: Some(std::time::Duration::from_secs(60)),
            ..Default::default()
        })
        .build()
        .unwrap();
    let url = format!("http://{}/16m", server.local_addr());
    let mut response = session.get(&url).send().await.unwrap();
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), 16 << 20);
    server.shutdown().await;
}

on_all_runtimes!(
    streamed_body_arrives_whole,
    large_streamed_body_does_not_stall
);
