//! Record real exchanges against a TestServer, stop it, replay from the JSON file with
//! no server; and the virtual clock firing a 1 s sock_read against a 30 s mock delay.
//! On every runtime.
//! `cargo test -p sansweb --all-features --test test_utils_record`

use std::time::{Duration, Instant};

use sansweb::client::TimeoutKind;
use sansweb::rt::Runtime;
use sansweb::test_utils::{
    Cassette, MockResponse, MockServer, RecordingConnector, TcpConnector, TestServer,
    VirtualClockRuntime,
};
use sansweb::web::{App, Request, Response};
use sansweb::{ClientError, ClientTimeout};

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
    record_then_replay_without_a_server,
    virtual_clock_fires_sock_read
);

fn app() -> App {
    App::new()
        .get("/greet/{name}", |req: Request| async move {
            Response::json(&serde_json::json!({"hello": req.param("name")}))
        })
        .post("/echo", |req: Request| async move {
            Response::text(req.text().await.unwrap_or_default())
        })
        .get("/bin", |_req: Request| async {
            Response::bytes(vec![0u8, 159, 255])
        })
}

async fn record_then_replay_without_a_server<R: Runtime>(rt: R) {
    let path = std::env::temp_dir().join(format!(
        "sansweb-cassette-{}-{}.json",
        std::process::id(),
        std::any::type_name::<R>().replace("::", "_")
    ));
    // Record.
    let server = TestServer::start(&rt, app()).await.unwrap();
    let recorder = RecordingConnector::new(&rt, TcpConnector::new(rt.clone()));
    let session = sansweb::ClientSession::builder_with_runtime(rt.clone())
        .connector(recorder.clone())
        .build()
        .unwrap();
    let greet = server.url("/greet/ann");
    let echo = server.url("/echo");
    let bin = server.url("/bin");
    let live_greet = session
        .get(&greet)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let live_echo = session
        .post(&echo)
        .text("ping")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let live_bin = session
        .get(&bin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(live_echo, "ping");
    recorder.save(&path).unwrap();
    drop(session);
    server.close().await;

    let cassette = Cassette::load(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(cassette.exchanges.len(), 3);
    let e = &cassette.exchanges[1];
    assert_eq!(
        (e.method.as_str(), e.url.as_str(), e.status),
        ("POST", echo.as_str(), 200)
    );
    assert_eq!(e.request_body.text.as_deref(), Some("ping"));
    assert_eq!(e.response_body.text.as_deref(), Some("ping"));
    assert!(e.request_headers.iter().any(|(n, _)| n == "host"));
    assert!(
        cassette.exchanges[2].response_body.base64.is_some(),
        "binary stored as base64"
    );

    // Replay: nothing listens on the port any more.
    let mock = MockServer::new(&rt);
    cassette.replay_into(&mock, true).unwrap();
    let session = mock.session(rt.clone());
    assert_eq!(
        session
            .get(&greet)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        live_greet
    );
    assert_eq!(
        session
            .post(&echo)
            .text("ping")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        live_echo
    );
    assert_eq!(
        session
            .get(&bin)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
        live_bin
    );
    mock.assert_all_called();
    let direct = sansweb::ClientSession::with_runtime(rt);
    assert!(
        direct.get(&greet).send().await.unwrap_err().is_connector(),
        "server is gone"
    );
}

async fn virtual_clock_fires_sock_read<R: Runtime>(rt: R) {
    let vrt = VirtualClockRuntime::new(rt.clone(), Default::default());
    let clock = vrt.clock().clone();
    let start = clock.now();
    let mock = MockServer::new(&vrt);
    mock.get("http://slow.test/")
        .respond(MockResponse::text("late").delay(Duration::from_secs(30)));
    let session = mock
        .session_builder(vrt.clone())
        .timeout(ClientTimeout {
            sock_read: Some(Duration::from_secs(1)),
            ..ClientTimeout::default()
        })
        .build()
        .unwrap();
    #[allow(clippy::disallowed_methods)]
    let real = Instant::now();
    let request = rt.spawn(async move { session.get("http://slow.test/").send().await.map(drop) });
    // Wait (yielding, no clock move) until both timers are armed: the mock's 30 s delay
    // and the client's 1 s sock_read; then jump to the earliest.
    let mut spins = 0u32;
    while clock.parked_timers() < 2 {
        spins += 1;
        assert!(spins < 1_000_000, "timers never armed");
        futures_lite::future::yield_now().await;
    }
    let fired_at = clock.advance_to_next_timer().unwrap();
    assert_eq!(fired_at - start, Duration::from_secs(1));
    let result = request.await.unwrap();
    assert!(
        matches!(
            result,
            Err(ClientError::Timeout {
                kind: TimeoutKind::SockRead,
                ..
            })
        ),
        "{result:?}"
    );
    let elapsed = real.elapsed();
    eprintln!("virtual 1 s sock_read fired after {elapsed:?} of real time ({spins} yields)");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}
