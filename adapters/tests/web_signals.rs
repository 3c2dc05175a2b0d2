//! Signals: startup, cleanup_ctx, shutdown, cleanup, response_prepare, in order; a
//! failing setup tears down the earlier ones in reverse. On every runtime.
//! `cargo test -p sansweb --all-features --test web_signals`

mod web_support;

use sansweb::rt::Runtime;
use sansweb::web::{App, AppRef, BoxError, Request, Server};
use std::sync::{Arc, Mutex};
use web_support::{get, start};

type Log = Arc<Mutex<Vec<String>>>;

/// A signal handler that logs `what` and succeeds.
fn logs(
    log: &Log,
    what: &'static str,
) -> impl Fn(AppRef) -> std::future::Ready<Result<(), BoxError>> + Send + Sync + 'static {
    let log = log.clone();
    move |_app| {
        log.lock().unwrap().push(what.to_owned());
        std::future::ready(Ok(()))
    }
}

fn taken(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

async fn signal_order<R: Runtime>(rt: R) {
    let log: Log = Arc::default();
    let prepared = log.clone();
    let app = App::new()
        .on_startup(logs(&log, "startup 1"))
        .on_startup(logs(&log, "startup 2"))
        .cleanup_ctx(logs(&log, "ctx A setup"), logs(&log, "ctx A teardown"))
        .cleanup_ctx(logs(&log, "ctx B setup"), logs(&log, "ctx B teardown"))
        .on_shutdown(logs(&log, "shutdown"))
        .on_cleanup(logs(&log, "cleanup"))
        .on_response_prepare(move |req: &Request, resp| {
            prepared
                .lock()
                .unwrap()
                .push(format!("prepare {}", req.path()));
            resp.headers_mut()
                .insert("x-prepared", http::HeaderValue::from_static("yes"));
        })
        .get("/", |_req: Request| async { "hi" });
    let server = start(&rt, app).await;
    assert_eq!(
        taken(&log),
        ["startup 1", "startup 2", "ctx A setup", "ctx B setup"]
    );
    let r = get(&rt, server.local_addr(), "/").await;
    assert_eq!(r.header("x-prepared"), Some("yes"));
    assert_eq!(taken(&log), ["prepare /"]);
    server.shutdown().await;
    assert_eq!(
        taken(&log),
        ["shutdown", "ctx B teardown", "ctx A teardown", "cleanup"]
    );
}

async fn failing_setup_tears_down_in_reverse<R: Runtime>(rt: R) {
    let log: Log = Arc::default();
    let failing = log.clone();
    let app = App::new()
        .on_startup(logs(&log, "startup"))
        .cleanup_ctx(logs(&log, "A setup"), logs(&log, "A teardown"))
        .cleanup_ctx(logs(&log, "B setup"), logs(&log, "B teardown"))
        .cleanup_ctx(
            move |_app| {
                failing.lock().unwrap().push("C setup fails".into());
                std::future::ready(Err::<(), BoxError>("no database".into()))
            },
            logs(&log, "C teardown"),
        )
        .cleanup_ctx(logs(&log, "D setup"), logs(&log, "D teardown"))
        .get("/", |_req: Request| async { "never served" });
    let result = Server::new(app)
        .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
        .await;
    let error = result.err().expect("a failed setup fails the start");
    assert!(error.to_string().contains("no database"), "{error}");
    assert_eq!(
        taken(&log),
        [
            "startup",
            "A setup",
            "B setup",
            "C setup fails",
            "B teardown",
            "A teardown"
        ]
    );
}

on_all_runtimes!(signal_order, failing_setup_tears_down_in_reverse);
