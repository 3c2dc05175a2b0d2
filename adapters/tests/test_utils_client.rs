//! TestClient (socket and in-memory), MemoryServer keep-alive, cleanup signals on close
//! and on drop. On every runtime.
//! `cargo test -p sansweb --all-features --test test_utils_client`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sansweb::rt::Runtime;
use sansweb::test_utils::{MemoryServer, TestClient};
use sansweb::web::{App, AppRef, BoxError, Request, Response};

macro_rules! on_all_runtimes {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn tokio() {
                <sansweb::rt::TokioRuntime as sansweb::rt::Runtime>::block_on(super::$name).expect("runtime");
            }
            #[test]
            fn smol() {
                <sansweb::rt::SmolRuntime as sansweb::rt::Runtime>::block_on(super::$name).expect("runtime");
            }
            #[test]
            fn async_std() {
                <sansweb::rt::AsyncStdRuntime as sansweb::rt::Runtime>::block_on(super::$name).expect("runtime");
            }
        }
    )*};
}

on_all_runtimes!(
    relative_paths_over_a_socket,
    relative_paths_in_memory,
    in_memory_keep_alive_reuses_one_connection,
    close_runs_the_cleanup_signals,
    drop_runs_the_cleanup_signals,
    in_memory_refuses_after_close,
);

/// An app whose cleanup signal counts into `cleaned`.
fn app(cleaned: &Arc<AtomicUsize>) -> App {
    let cleaned = cleaned.clone();
    App::new()
        .get("/", |_req: Request| async { "root" })
        .get("/hello/{name}", |req: Request| async move {
            Response::text(format!("hello {}", req.param("name").unwrap_or("?")))
        })
        .post("/echo", |req: Request| async move {
            Response::text(req.text().await.unwrap_or_default())
        })
        .on_cleanup(move |_app: AppRef| {
            cleaned.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Ok::<(), BoxError>(()))
        })
}

async fn exercise<R: Runtime>(client: &TestClient<R>) {
    let mut r = client.get("/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "root");
    let mut r = client.get("/hello/ann").send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "hello ann");
    let mut r = client.post("/echo").text("ping").send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "ping");
    let r = client.get("/missing").send().await.unwrap();
    assert_eq!(r.status(), 404);
}

async fn relative_paths_over_a_socket<R: Runtime>(rt: R) {
    let cleaned = Arc::default();
    let client = TestClient::new(rt, app(&cleaned)).await.unwrap();
    assert!(client.server_addr().is_some());
    assert!(client.url("/x").starts_with("http://127.0.0.1:"));
    exercise(&client).await;
    client.close().await;
}

async fn relative_paths_in_memory<R: Runtime>(rt: R) {
    let cleaned = Arc::default();
    let client = TestClient::in_memory(rt, app(&cleaned)).await.unwrap();
    assert_eq!(client.server_addr(), None);
    exercise(&client).await;
    client.close().await;
}

async fn in_memory_keep_alive_reuses_one_connection<R: Runtime>(rt: R) {
    let cleaned = Arc::default();
    let server = MemoryServer::start(&rt, app(&cleaned)).await.unwrap();
    let session = server.client(rt.clone());
    for _ in 0..2 {
        let mut r = session.get("/").send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "root");
    }
    assert_eq!(
        server.connections_opened(),
        1,
        "two requests, one connection"
    );
    assert_eq!(session.idle_connections(), 1);
    drop(session);
    server.close().await;
}

async fn close_runs_the_cleanup_signals<R: Runtime>(rt: R) {
    for in_memory in [false, true] {
        let cleaned = Arc::new(AtomicUsize::new(0));
        let client = if in_memory {
            TestClient::in_memory(rt.clone(), app(&cleaned))
                .await
                .unwrap()
        } else {
            TestClient::new(rt.clone(), app(&cleaned)).await.unwrap()
        };
        client.get("/").send().await.unwrap().text().await.unwrap();
        assert_eq!(cleaned.load(Ordering::SeqCst), 0);
        client.close().await;
        assert_eq!(cleaned.load(Ordering::SeqCst), 1, "in_memory={in_memory}");
    }
}

async fn drop_runs_the_cleanup_signals<R: Runtime>(rt: R) {
    for in_memory in [false, true] {
        let cleaned = Arc::new(AtomicUsize::new(0));
        let client = if in_memory {
            TestClient::in_memory(rt.clone(), app(&cleaned))
                .await
                .unwrap()
        } else {
            TestClient::new(rt.clone(), app(&cleaned)).await.unwrap()
        };
        client.get("/").send().await.unwrap().text().await.unwrap();
        drop(client);
        // The shutdown runs on a task: give it (real) time, up to 5 s.
        for _ in 0..500 {
            if cleaned.load(Ordering::SeqCst) == 1 {
                break;
            }
            rt.sleep_until(rt.now() + Duration::from_millis(10)).await;
        }
        assert_eq!(cleaned.load(Ordering::SeqCst), 1, "in_memory={in_memory}");
    }
}

async fn in_memory_refuses_after_close<R: Runtime>(rt: R) {
    let cleaned = Arc::default();
    let server = MemoryServer::start(&rt, app(&cleaned)).await.unwrap();
    let connector = server.connector();
    server.close().await;
    let session = sansweb::ClientSession::builder_with_runtime(rt)
        .connector(connector)
        .build()
        .unwrap();
    let err = session
        .get("http://in-memory.test/")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            sansweb::ClientError::Connector {
                kind: sansweb::client::ConnectorKind::Refused,
                ..
            }
        ),
        "{err:?}"
    );
}
