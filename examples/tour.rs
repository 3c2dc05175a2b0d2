//! The tour: every story of aiohttp's tour (the seed document), in Rust, against the
//! embedded httpbin server on a free loopback port. Prints a heading and what came back
//! for each story; exits non-zero if any story fails, so it doubles as a smoke test.
//!
//! cargo run --example tour [-- --runtime tokio|smol|async-std]

use futures_lite::future::FutureExt;
use sansweb::client::{
    ClientError, ClientSession, ClientTimeout, ConnectorKind, StaticResolver, TimeoutKind,
};
use sansweb::rt::{AsyncStdRuntime, Runtime, SmolRuntime, TokioRuntime};
use sansweb::test_utils::{make_mocked_request, MockResponse, MockServer, TestClient, TestServer};
use sansweb::web::{App, AppKey, Request, Response, Server};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Outcome = Result<String, String>;
type StoryFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

fn main() {
    let args = sansweb_examples::Args::parse();
    let failures = match args.runtime.as_str() {
        "tokio" => TokioRuntime::block_on(tour),
        "smol" => SmolRuntime::block_on(tour),
        "async-std" => AsyncStdRuntime::block_on(tour),
        other => {
            eprintln!("unknown runtime {other:?} (tokio, smol, async-std)");
            std::process::exit(2)
        }
    }
    .unwrap_or_else(|e| {
        eprintln!("could not start the runtime: {e}");
        std::process::exit(1)
    });
    if failures > 0 {
        eprintln!("\n{failures} stories failed");
        std::process::exit(1);
    }
    println!("\nall stories passed on {}", args.runtime);
}

/// Records what the server's signals saw.
#[derive(Default)]
struct SignalLog(Mutex<Vec<&'static str>>);

/// The embedded server: the httpbin app, plus what the tour needs to show its stories.
fn server_app(log: Arc<SignalLog>) -> App {
    let startup = log.clone();
    let cleanup = log.clone();
    sansweb_examples::httpbin::httpbin_app()
        // Who is asking, port included: shows that two requests shared one connection.
        .get("/_tour/peer", |req: Request| async move {
            Response::text(req.remote().map(|a| a.to_string()).unwrap_or_default())
        })
        .on_startup(move |_app| {
            let log = startup.clone();
            async move {
                log.0.lock().unwrap().push("on_startup");
                Ok(())
            }
        })
        .on_response_prepare(|_req, response| {
            response.headers_mut().insert(
                "x-tour-signal",
                http::HeaderValue::from_static("on_response_prepare"),
            );
        })
        .on_cleanup(move |_app| {
            let log = cleanup.clone();
            async move {
                log.0.lock().unwrap().push("on_cleanup");
                Ok(())
            }
        })
}

async fn tour<R: Runtime>(rt: R) -> usize {
    let log = Arc::new(SignalLog::default());
    let server = match Server::new(server_app(log.clone()))
        .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
        .await
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("cannot start the embedded httpbin server: {e}");
            return 1;
        }
    };
    let base = format!("http://{}", server.local_addr());
    println!("sansweb tour — embedded httpbin on {base}\n");
    let mut failures = 0;
    let stories: Vec<(&str, StoryFuture<'_>)> = vec![
        (
            "1. Fetch a page: session.get(url).send().await?.text().await?",
            Box::pin(fetch_page(&rt, &base)),
        ),
        (
            "2. Connection reuse: one session, two requests, one connection",
            Box::pin(connection_reuse(&rt, &base)),
        ),
        (
            "3. Cookies: set by a response, sent on the next request",
            Box::pin(cookies(&rt, &base)),
        ),
        (
            "4. Default headers on every request",
            Box::pin(default_headers(&rt, &base)),
        ),
        (
            "5. Timeouts: ClientTimeout { total } against /delay",
            Box::pin(timeouts(&rt, &base)),
        ),
        (
            "6. Custom settings: TLS verification off (ssl=False)",
            Box::pin(tls_off(&rt)),
        ),
        (
            "7. Resource release: dropping the session closes its connections",
            Box::pin(release(&rt, &base, &server)),
        ),
        (
            "8. raise_for_status: 400 becomes ClientError::Response",
            Box::pin(raise_for_status(&rt, &base)),
        ),
        (
            "9. Connection errors: refused port and unknown host",
            Box::pin(connection_errors(&rt)),
        ),
        (
            "10. Timeout error on one request (sock_read)",
            Box::pin(request_timeout(&rt, &base)),
        ),
        (
            "11. General client error: 500",
            Box::pin(server_error(&rt, &base)),
        ),
        (
            "12. Streaming /stream/20 chunk by chunk (iter_any)",
            Box::pin(streaming(&rt, &base)),
        ),
        (
            "13. A small server with a route",
            Box::pin(small_server(&rt)),
        ),
        (
            "14. Signals: on_startup, on_response_prepare (on_cleanup at the end)",
            Box::pin(signals(&rt, &base, &log)),
        ),
        (
            "15. WebSocket echo: session.ws_connect to /ws, send, receive, close",
            Box::pin(websocket(&rt, &base)),
        ),
        (
            "16. Testing: TestServer + client, in-memory TestClient, mocked requests, make_mocked_request",
            Box::pin(testing(&rt)),
        ),
    ];
    for (title, story) in stories {
        println!("== {title}");
        // Every story is bounded: a hang is a failure, not a stuck tour.
        let deadline = rt.now() + Duration::from_secs(20);
        let outcome = story
            .or(async {
                rt.sleep_until(deadline).await;
                Err("story did not finish within 20 s".to_owned())
            })
            .await;
        match outcome {
            Ok(text) => println!("{}\n", indent(&text)),
            Err(why) => {
                failures += 1;
                println!("   FAILED: {why}\n");
            }
        }
    }
    server.shutdown().await;
    let seen = log.0.lock().unwrap().clone();
    println!("== 14 (end). Signals after shutdown: {seen:?}");
    if !seen.contains(&"on_cleanup") {
        failures += 1;
        println!("   FAILED: on_cleanup did not run");
    }
    failures
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("   {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn session<R: Runtime>(rt: &R) -> ClientSession<R> {
    ClientSession::builder_with_runtime(rt.clone())
        .build()
        .expect("default session")
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn fetch_page<R: Runtime>(rt: &R, base: &str) -> Outcome {
    let html = session(rt)
        .get(&format!("{base}/html"))
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    if !html.contains("<h1>") {
        return Err(format!("unexpected page: {html:.80}"));
    }
    let first = html
        .lines()
        .find(|l| l.contains("<h1>"))
        .unwrap_or("")
        .trim();
    Ok(format!("{} bytes of HTML; {first}", html.len()))
}

async fn connection_reuse<R: Runtime>(rt: &R, base: &str) -> Outcome {
    let session = session(rt);
    let url = format!("{base}/_tour/peer");
    let first = session
        .get(&url)
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    let second = session
        .get(&url)
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    if first != second {
        return Err(format!("two connections: {first} then {second}"));
    }
    Ok(format!(
        "both requests came from {first}: one keep-alive connection served both"
    ))
}

async fn cookies<R: Runtime>(rt: &R, base: &str) -> Outcome {
    // The server is an IP address (127.0.0.1): like aiohttp's `CookieJar(unsafe=True)`,
    // cookies for IP hosts are opt-in.
    let session = ClientSession::builder_with_runtime(rt.clone())
        .cookie_jar_unsafe()
        .build()
        .map_err(err)?;
    let mut set = session
        .get(&format!("{base}/cookies/set?cookie_name=cookie_value"))
        .send()
        .await
        .map_err(err)?;
    set.release().await.map_err(err)?;
    let text = session
        .get(&format!("{base}/cookies"))
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(err)?;
    if json["cookies"]["cookie_name"] != "cookie_value" {
        return Err(format!("cookie not sent back: {text}"));
    }
    Ok(format!("GET /cookies -> {}", json))
}

async fn default_headers<R: Runtime>(rt: &R, base: &str) -> Outcome {
    let session = ClientSession::builder_with_runtime(rt.clone())
        .header("Authorization", "Bearer your_token")
        .build()
        .map_err(err)?;
    let json: serde_json::Value = session
        .get(&format!("{base}/headers"))
        .send()
        .await
        .map_err(err)?
        .json()
        .await
        .map_err(err)?;
    let auth = &json["headers"]["Authorization"];
    if auth != "Bearer your_token" {
        return Err(format!("default header missing: {json}"));
    }
    Ok(format!("the server saw Authorization: {auth}"))
}

async fn timeouts<R: Runtime>(rt: &R, base: &str) -> Outcome {
    let timeout = ClientTimeout {
        total: Some(Duration::from_millis(500)),
        ..ClientTimeout::default()
    };
    let session = ClientSession::builder_with_runtime(rt.clone())
        .timeout(timeout)
        .build()
        .map_err(err)?;
    let started = rt.now();
    match session.get(&format!("{base}/delay/3")).send().await {
        Err(ClientError::Timeout {
            kind: TimeoutKind::Total,
            ..
        }) => Ok(format!(
            "total timeout fired after {:?} (the server would have answered after 3 s)",
            rt.now() - started
        )),
        Err(e) => Err(format!("wrong error: {e}")),
        Ok(r) => Err(format!("no timeout: {}", r.status())),
    }
}

async fn tls_off<R: Runtime>(rt: &R) -> Outcome {
    let addr = sansweb_examples::tls_server::start().map_err(err)?;
    let url = format!("https://localhost:{}/", addr.port());
    let resolver = StaticResolver::new().add("localhost", addr.ip());
    let verifying = ClientSession::builder_with_runtime(rt.clone())
        .resolver(resolver.clone())
        .build()
        .map_err(err)?;
    let refused = match verifying.get(&url).send().await {
        Err(ClientError::Connector {
            kind: ConnectorKind::Tls,
            ..
        }) => "verification on: refused (self-signed)".to_owned(),
        Err(e) => return Err(format!("expected a TLS error, got {e}")),
        Ok(_) => return Err("a self-signed certificate was trusted".into()),
    };
    let trusting = ClientSession::builder_with_runtime(rt.clone())
        .resolver(resolver)
        .ssl(false)
        .build()
        .map_err(err)?;
    let body = trusting
        .get(&url)
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    Ok(format!("{refused}\nssl(false): {body}"))
}

async fn release<R: Runtime>(rt: &R, base: &str, server: &sansweb::web::ServerHandle) -> Outcome {
    let before = server.connection_count();
    let during;
    {
        let session = session(rt);
        session
            .get(&format!("{base}/get"))
            .send()
            .await
            .map_err(err)?
            .text()
            .await
            .map_err(err)?;
        during = server.connection_count();
        if during <= before {
            return Err("the request used no connection?".into());
        }
    } // the session is dropped here
    let deadline = rt.now() + Duration::from_secs(5);
    while server.connection_count() > before {
        if rt.now() > deadline {
            return Err(format!(
                "{} connections still open",
                server.connection_count()
            ));
        }
        rt.sleep_until(rt.now() + Duration::from_millis(10)).await;
    }
    Ok(format!(
        "server-side connections: {before} before, {during} while the session was alive, {} after dropping it",
        server.connection_count()
    ))
}

async fn raise_for_status<R: Runtime>(rt: &R, base: &str) -> Outcome {
    let response = session(rt)
        .get(&format!("{base}/status/400"))
        .send()
        .await
        .map_err(err)?;
    match response.raise_for_status() {
        Err(ClientError::Response(e)) => Ok(format!(
            "HTTP Response Error: {} {}",
            e.status.as_u16(),
            e.message
        )),
        Err(e) => Err(format!("wrong error: {e}")),
        Ok(()) => Err("400 passed raise_for_status".into()),
    }
}

async fn connection_errors<R: Runtime>(rt: &R) -> Outcome {
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").map_err(err)?;
    let port = closed.local_addr().map_err(err)?.port();
    drop(closed);
    let refused = match session(rt)
        .get(&format!("http://127.0.0.1:{port}/"))
        .send()
        .await
    {
        Err(
            e @ ClientError::Connector {
                kind: ConnectorKind::Refused,
                ..
            },
        ) => e.to_string(),
        Err(e) => return Err(format!("expected refused, got {e}")),
        Ok(_) => return Err("connected to a closed port".into()),
    };
    // An unknown host, through a resolver that knows no names (no network needed).
    let session = ClientSession::builder_with_runtime(rt.clone())
        .resolver(StaticResolver::new())
        .build()
        .map_err(err)?;
    let dns = match session.get("http://nonexistent.url/").send().await {
        Err(
            e @ ClientError::Connector {
                kind: ConnectorKind::Dns,
                ..
            },
        ) => e.to_string(),
        Err(e) => return Err(format!("expected a DNS error, got {e}")),
        Ok(_) => return Err("resolved a nonexistent host".into()),
    };
    Ok(format!(
        "Connection Error: {refused}\nConnection Error: {dns}"
    ))
}

async fn request_timeout<R: Runtime>(rt: &R, base: &str) -> Outcome {
    let timeout = ClientTimeout {
        sock_read: Some(Duration::from_millis(300)),
        ..ClientTimeout::default()
    };
    match session(rt)
        .get(&format!("{base}/delay/10"))
        .timeout(timeout)
        .send()
        .await
    {
        Err(e @ ClientError::Timeout { .. }) => Ok(format!("Timeout Error: {e}")),
        Err(e) => Err(format!("wrong error: {e}")),
        Ok(r) => Err(format!("no timeout: {}", r.status())),
    }
}

async fn server_error<R: Runtime>(rt: &R, base: &str) -> Outcome {
    match session(rt)
        .get(&format!("{base}/status/500"))
        .raise_for_status(true)
        .send()
        .await
    {
        Err(e) if e.status() == Some(http::StatusCode::INTERNAL_SERVER_ERROR) => {
            Ok(format!("Client Error: {e}"))
        }
        Err(e) => Err(format!("wrong error: {e}")),
        Ok(r) => Err(format!("500 not raised: {}", r.status())),
    }
}

async fn streaming<R: Runtime>(rt: &R, base: &str) -> Outcome {
    let mut response = session(rt)
        .get(&format!("{base}/stream/20"))
        .send()
        .await
        .map_err(err)?;
    let (mut chunks, mut lines, mut first) = (0, 0, String::new());
    while let Some(chunk) = response.iter_any().await.map_err(err)? {
        chunks += 1;
        let text = String::from_utf8_lossy(&chunk);
        lines += text.lines().count();
        if first.is_empty() {
            first = text.lines().next().unwrap_or("").chars().take(70).collect();
        }
    }
    if lines != 20 {
        return Err(format!("{lines} lines, expected 20"));
    }
    Ok(format!(
        "{lines} JSON lines in {chunks} chunks; first: {first}…"
    ))
}

async fn hello(req: Request) -> Response {
    let name = req.param("name").unwrap_or("Anonymous");
    Response::text(format!("Hello, {name}"))
}

async fn small_server<R: Runtime>(rt: &R) -> Outcome {
    let app = App::new().get("/", hello).get("/{name}", hello);
    let server = TestServer::start(rt, app).await.map_err(err)?;
    let client = server.client(rt.clone());
    let named = client
        .get("/Tour")
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    let anonymous = client
        .get("/")
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    drop(client);
    server.close().await;
    if named != "Hello, Tour" || anonymous != "Hello, Anonymous" {
        return Err(format!("got {named:?} and {anonymous:?}"));
    }
    Ok(format!("GET /Tour -> {named}\nGET / -> {anonymous}"))
}

async fn signals<R: Runtime>(rt: &R, base: &str, log: &SignalLog) -> Outcome {
    let response = session(rt)
        .get(&format!("{base}/get"))
        .send()
        .await
        .map_err(err)?;
    let header = response.headers().get("x-tour-signal").cloned();
    let seen = log.0.lock().unwrap().clone();
    if !seen.contains(&"on_startup") {
        return Err(format!("on_startup did not run: {seen:?}"));
    }
    match header {
        Some(v) => Ok(format!(
            "on_startup ran before serving; every response carries x-tour-signal: {}",
            v.to_str().unwrap_or("")
        )),
        None => Err("on_response_prepare did not run".into()),
    }
}

async fn websocket<R: Runtime>(rt: &R, base: &str) -> Outcome {
    use sansweb::ws::WsMessage;
    let url = base.replacen("http://", "ws://", 1) + "/ws";
    // aiohttp's `session.ws_connect(url)`: the handshake goes through the session
    // (its cookies, default headers, TLS and proxy settings).
    let session = ClientSession::builder_with_runtime(rt.clone())
        .build()
        .map_err(err)?;
    let mut ws = session.ws_connect(&url).await.map_err(err)?;
    ws.send_str("hello, websocket").await.map_err(err)?;
    let echoed = match ws.receive().await {
        WsMessage::Text(text) => text,
        other => return Err(format!("expected text, got {other:?}")),
    };
    ws.send_bytes(&[1, 2, 3]).await.map_err(err)?;
    let binary = match ws.receive().await {
        WsMessage::Binary(bytes) => bytes,
        other => return Err(format!("expected binary, got {other:?}")),
    };
    ws.close(sansweb::core::ws::CloseCode::NORMAL, "bye")
        .await
        .map_err(err)?;
    if echoed != "hello, websocket" || binary[..] != [1, 2, 3] {
        return Err(format!("echo mismatch: {echoed:?} {binary:?}"));
    }
    Ok(format!(
        "sent text and binary, got back {echoed:?} and {:?}; closed with 1000",
        &binary[..]
    ))
}

async fn testing<R: Runtime>(rt: &R) -> Outcome {
    static HITS: AppKey<AtomicUsize> = AppKey::new("hits");
    async fn counted(req: Request) -> Response {
        if let Some(hits) = req.app().get(&HITS) {
            hits.fetch_add(1, Ordering::Relaxed);
        }
        Response::text("Hello, world")
    }
    let app = || {
        App::new()
            .with_state(&HITS, AtomicUsize::new(0))
            .get("/", counted)
    };
    // The aiohttp_client fixture: a server on a free port and a client for it.
    let server = TestServer::start(rt, app()).await.map_err(err)?;
    let client = server.client(rt.clone());
    let mut resp = client.get("/").send().await.map_err(err)?;
    let status = resp.status();
    let text = resp.text().await.map_err(err)?;
    drop(client);
    server.close().await;
    if status != http::StatusCode::OK || text != "Hello, world" {
        return Err(format!("test client got {status} {text:?}"));
    }
    // The same app through the real codecs with no socket at all.
    let memory = TestClient::in_memory(rt.clone(), app())
        .await
        .map_err(err)?;
    let mut resp = memory.get("/").send().await.map_err(err)?;
    let in_memory = format!("{} {:?}", resp.status(), resp.text().await.map_err(err)?);
    memory.close().await;
    // aioresponses: an outgoing request answered by a mock, through a real session.
    let mock = MockServer::new(rt);
    mock.get("http://api.test/user")
        .respond(MockResponse::json(&serde_json::json!({"id": 7})));
    let session = mock.session(rt.clone());
    let user: serde_json::Value = session
        .get("http://api.test/user")
        .send()
        .await
        .map_err(err)?
        .json()
        .await
        .map_err(err)?;
    mock.assert_called_once_with("GET", "http://api.test/user");
    if user["id"] != 7 {
        return Err(format!("mocked outgoing request got {user}"));
    }
    // make_mocked_request: the handler alone, no server, no socket.
    let mocked = counted(make_mocked_request("GET", "/", &[])).await;
    let body = mocked.body_bytes().cloned().unwrap_or_default();
    if body != "Hello, world" {
        return Err(format!("mocked request got {body:?}"));
    }
    Ok(format!(
        "test client: {status} {text:?}\nin-memory client (no socket): {in_memory}\nmocked outgoing GET http://api.test/user: {user}\nmocked request: {:?}",
        String::from_utf8_lossy(&body)
    ))
}
