//! Client middlewares (aiohttp 3.12's `middlewares=`): order, retry after refreshing a
//! token, short-circuit, and every redirect hop passing through, on every runtime.

mod client_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use client_support::TestServer;
use http::{HeaderMap, StatusCode};
use sansweb::rt::Runtime;
use sansweb::web::{App, HttpError, Request, Response, Server};
use sansweb::{ClientResponse, ClientSession};

type Log = Arc<Mutex<Vec<String>>>;

/// Session middlewares run in order, then the request's; responses unwind in reverse;
/// a redirect sends each hop through the whole chain again.
async fn order_and_redirect_hops<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let log: Log = Arc::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let s = ClientSession::builder_with_runtime(rt)
        .middleware(move |req, next| {
            let log = l1.clone();
            Box::pin(async move {
                log.lock().unwrap().push(format!("s1> {}", req.url.path()));
                let r = next.run(req).await?;
                log.lock()
                    .unwrap()
                    .push(format!("s1< {}", r.status().as_u16()));
                Ok(r)
            })
        })
        .middleware(move |mut req, next| {
            let log = l2.clone();
            Box::pin(async move {
                log.lock().unwrap().push("s2>".into());
                req.headers.insert("x-mw", "s2".parse().unwrap());
                let r = next.run(req).await?;
                log.lock().unwrap().push("s2<".into());
                Ok(r)
            })
        })
        .build()
        .unwrap();
    let mut r = s
        .get(&srv.url("/redirect/1"))
        .middleware(move |req, next| {
            let log = l3.clone();
            Box::pin(async move {
                log.lock().unwrap().push("r1>".into());
                let r = next.run(req).await?;
                log.lock().unwrap().push("r1<".into());
                Ok(r)
            })
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    assert_eq!(r.history().len(), 1);
    assert_eq!(
        *log.lock().unwrap(),
        [
            "s1> /redirect/1",
            "s2>",
            "r1>",
            "r1<",
            "s2<",
            "s1< 302",
            "s1> /text",
            "s2>",
            "r1>",
            "r1<",
            "s2<",
            "s1< 200"
        ]
    );
    // The header a middleware added went out on both hops.
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|r| r.headers["x-mw"] == "s2"));
}

/// A server that wants `Authorization: Bearer fresh` and counts the attempts.
fn secure_app(hits: Arc<AtomicUsize>) -> App {
    App::new().get("/secure", move |req: Request| {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            let ok = req
                .headers()
                .get("authorization")
                .is_some_and(|v| v == "Bearer fresh");
            Ok::<_, HttpError>(if ok {
                Response::text("secret")
            } else {
                Response::text("who are you").with_status(StatusCode::UNAUTHORIZED)
            })
        }
    })
}

/// The auth middleware sends its cached token; on 401 it refreshes the token and
/// retries once with the same (replayable) request.
async fn auth_refresh_and_retry<R: Runtime>(rt: R) {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = Server::new(secure_app(hits.clone()))
        .start(&rt, "127.0.0.1:0".parse().unwrap(), 1)
        .await
        .unwrap();
    let token = Arc::new(Mutex::new("stale".to_owned()));
    let refreshes = Arc::new(AtomicUsize::new(0));
    let (t, n) = (token.clone(), refreshes.clone());
    let s = ClientSession::builder_with_runtime(rt)
        .middleware(move |mut req, next| {
            let (token, refreshes) = (t.clone(), n.clone());
            Box::pin(async move {
                let bearer = |tok: &str| format!("Bearer {tok}").parse().unwrap();
                let current = token.lock().unwrap().clone();
                req.headers.insert("authorization", bearer(&current));
                let retry = req.clone();
                let r = next.run(req).await?;
                if r.status() != StatusCode::UNAUTHORIZED || !retry.is_replayable() {
                    return Ok(r);
                }
                drop(r); // its connection closes; the retry takes another
                refreshes.fetch_add(1, Ordering::SeqCst);
                *token.lock().unwrap() = "fresh".to_owned();
                let mut retry = retry;
                retry.headers.insert("authorization", bearer("fresh"));
                next.run(retry).await
            })
        })
        .build()
        .unwrap();
    let url = format!("http://{}/secure", server.local_addr());
    let mut r = s.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "secret");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "one 401, one retry");
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    // The refreshed token is used straight away next time.
    let mut r = s.get(&url).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "secret");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);
    server.shutdown().await;
}

/// A middleware answers by itself: nothing reaches the server, `raise_for_status`
/// still applies to the made-up response, and the body reads as usual.
async fn short_circuit<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let s = ClientSession::builder_with_runtime(rt)
        .middleware(|req, next| {
            Box::pin(async move {
                if req.url.path() == "/cached" {
                    let mut h = HeaderMap::new();
                    h.insert("x-cache", "hit".parse().unwrap());
                    return Ok(ClientResponse::from_parts(
                        StatusCode::IM_A_TEAPOT,
                        h,
                        req.url,
                        Bytes::from_static(b"from the cache"),
                    ));
                }
                next.run(req).await
            })
        })
        .build()
        .unwrap();
    let mut r = s.get(&srv.url("/cached")).send().await.unwrap();
    assert_eq!(r.status(), 418);
    assert_eq!(r.headers()["x-cache"], "hit");
    assert_eq!(r.text().await.unwrap(), "from the cache");
    let e = s
        .get(&srv.url("/cached"))
        .raise_for_status(true)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, sansweb::ClientError::Response(r) if r.status == 418),
        "{e:?}"
    );
    assert!(srv.seen().is_empty(), "nothing reached the server");
    // Other paths pass through.
    let mut r = s.get(&srv.url("/text")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    assert_eq!(srv.seen().len(), 1);
}

on_every_runtime!(
    order_and_redirect_hops,
    auth_refresh_and_retry,
    short_circuit
);
