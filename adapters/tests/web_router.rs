//! Routing, middlewares, typed state and sub-applications over real connections, on
//! every runtime. `cargo test -p sansweb --all-features --test web_router`

mod web_support;

use sansweb::rt::Runtime;
use sansweb::web::{App, AppKey, HttpError, Request, Response};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use web_support::{get, request, start};

async fn echo_params(req: Request) -> Response {
    let mut pairs: Vec<String> = req
        .match_info()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    pairs.sort();
    Response::text(pairs.join("&"))
}

async fn params_and_regex<R: Runtime>(rt: R) {
    let app = App::new()
        .get("/users/{id:\\d+}", echo_params)
        .get("/users/{name}", echo_params)
        .get("/files/{path:.*}", echo_params)
        .get("/a/{x}/b/{y}", echo_params);
    let server = start(&rt, app).await;
    let addr = server.local_addr();
    let cases = [
        ("/users/42", 200, "id=42"),
        ("/users/alice", 200, "name=alice"),
        ("/users/caf%C3%A9", 200, "name=caf\u{e9}"),
        ("/files/a/b/c.txt", 200, "path=a/b/c.txt"),
        ("/a/1/b/2", 200, "x=1&y=2"),
        ("/a/1/b", 404, "404: Not Found"),
        ("/nothing", 404, "404: Not Found"),
        ("/users/", 404, "404: Not Found"),
    ];
    for (path, status, body) in cases {
        let r = get(&rt, addr, path).await;
        assert_eq!((r.status, r.text().as_str()), (status, body), "{path}");
    }
    server.shutdown().await;
}

async fn method_not_allowed<R: Runtime>(rt: R) {
    let app = App::new()
        .get("/thing", |_req: Request| async { "got" })
        .post("/thing", |_req: Request| async { "posted" })
        .route("*", "/any", |req: Request| async move {
            Response::text(req.method().as_str().to_owned())
        });
    let server = start(&rt, app).await;
    let addr = server.local_addr();
    let r = request(&rt, addr, "DELETE /thing HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 405);
    let mut allow: Vec<&str> = r
        .header("allow")
        .expect("405 carries Allow")
        .split(',')
        .map(str::trim)
        .collect();
    allow.sort();
    assert!(
        allow.contains(&"GET") && allow.contains(&"POST"),
        "{allow:?}"
    );
    let r = request(
        &rt,
        addr,
        "POST /thing HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "posted"));
    // HEAD is answered by a GET route, without a body.
    let r = request(&rt, addr, "HEAD /thing HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    for method in ["PUT", "PATCH", "OPTIONS", "DELETE"] {
        let r = request(
            &rt,
            addr,
            &format!("{method} /any HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"),
        )
        .await;
        assert_eq!((r.status, r.text()), (200, method.to_owned()));
    }
    server.shutdown().await;
}

async fn middleware_order_and_short_circuit<R: Runtime>(rt: R) {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let app = App::new()
        .middleware(move |req, next| {
            let log = l1.clone();
            async move {
                log.lock().unwrap().push(format!("outer in {}", req.path()));
                let r = next.run(req).await;
                log.lock().unwrap().push("outer out".into());
                r.with_header("x-outer", "1")
            }
        })
        .middleware(move |req: Request, next| {
            let log = l2.clone();
            async move {
                log.lock().unwrap().push("inner in".into());
                if req.header("x-deny").is_some() {
                    log.lock().unwrap().push("inner denied".into());
                    return sansweb::web::IntoResponse::into_response(HttpError::new(
                        http::StatusCode::FORBIDDEN,
                    ));
                }
                let r = next.run(req).await;
                log.lock().unwrap().push("inner out".into());
                r
            }
        })
        .get("/", move |_req: Request| {
            let log = l3.clone();
            async move {
                log.lock().unwrap().push("handler".into());
                "ok"
            }
        });
    let server = start(&rt, app).await;
    let addr = server.local_addr();
    let r = get(&rt, addr, "/").await;
    assert_eq!((r.status, r.header("x-outer")), (200, Some("1")));
    assert_eq!(
        std::mem::take(&mut *log.lock().unwrap()),
        [
            "outer in /",
            "inner in",
            "handler",
            "inner out",
            "outer out"
        ]
    );
    let r = request(&rt, addr, "GET / HTTP/1.1\r\nHost: t\r\nX-Deny: 1\r\n\r\n").await;
    assert_eq!((r.status, r.header("x-outer")), (403, Some("1")));
    assert_eq!(
        std::mem::take(&mut *log.lock().unwrap()),
        ["outer in /", "inner in", "inner denied", "outer out"]
    );
    // Middlewares also wrap 404s.
    let r = get(&rt, addr, "/missing").await;
    assert_eq!((r.status, r.header("x-outer")), (404, Some("1")));
    server.shutdown().await;
}

static HITS: AppKey<AtomicU64> = AppKey::new("hits");
static NAME: AppKey<String> = AppKey::new("name");

async fn app_state_and_url_for<R: Runtime>(rt: R) {
    let app = App::new()
        .with_state(&HITS, AtomicU64::new(0))
        .with_state(&NAME, "main".to_owned())
        .named_route("GET", "/items/{id}", "item", |req: Request| async move {
            let hits = req.app().get(&HITS).expect("state set");
            let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
            let name = req.app().get(&NAME).expect("state set");
            let url = req
                .app()
                .url_for("item", &[("id", "7")])
                .unwrap_or_default();
            Response::text(format!("{name} {n} {url}"))
        });
    let server = start(&rt, app).await;
    let addr = server.local_addr();
    for n in 1..=3 {
        let r = get(&rt, addr, "/items/1").await;
        assert_eq!(r.text(), format!("main {n} /items/7"));
    }
    server.shutdown().await;
}

async fn sub_application<R: Runtime>(rt: R) {
    let admin = App::new()
        .with_state(&NAME, "admin".to_owned())
        .middleware(|req, next| async move { next.run(req).await.with_header("x-sub", "1") })
        .get("/", |_req: Request| async { "admin index" })
        .get("/users/{id}", |req: Request| async move {
            let name = req.app().get(&NAME).expect("sub-app state");
            Response::text(format!("{name} user {}", req.param("id").unwrap_or("?")))
        });
    let app = App::new()
        .with_state(&NAME, "main".to_owned())
        .middleware(|req, next| async move { next.run(req).await.with_header("x-main", "1") })
        .get("/", |_req: Request| async { "main index" })
        .subapp("/admin", admin);
    let server = start(&rt, app).await;
    let addr = server.local_addr();
    let r = get(&rt, addr, "/admin/users/9").await;
    assert_eq!((r.status, r.text().as_str()), (200, "admin user 9"));
    assert_eq!(
        (r.header("x-main"), r.header("x-sub")),
        (Some("1"), Some("1"))
    );
    let r = get(&rt, addr, "/admin/").await;
    assert_eq!(r.text(), "admin index");
    let r = get(&rt, addr, "/").await;
    assert_eq!((r.text().as_str(), r.header("x-sub")), ("main index", None));
    let r = get(&rt, addr, "/admin/nothing").await;
    assert_eq!(r.status, 404);
    server.shutdown().await;
}

on_all_runtimes!(
    params_and_regex,
    method_not_allowed,
    middleware_order_and_short_circuit,
    app_state_and_url_for,
    sub_application,
);
