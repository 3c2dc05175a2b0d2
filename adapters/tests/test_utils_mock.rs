//! MockServer: patterns, replies, errors, repeat counts, the session pipeline over it
//! (default headers, cookies, redirects, raise_for_status, traces, decompression),
//! recorded requests and the unmatched-request message. On every runtime.
//! `cargo test -p sansweb --all-features --test test_utils_mock`

use std::io::Write;
use std::sync::{Arc, Mutex};

use http::Method;
use sansweb::client::{ConnectorKind, TimeoutKind, TraceEvent};
use sansweb::rt::Runtime;
use sansweb::test_utils::{MockError, MockResponse, MockServer, UrlPattern};
use sansweb::ClientError;

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
    patterns_and_method_filters,
    response_fields_reach_the_client,
    errors_become_typed_client_errors,
    repeat_counts,
    default_headers_and_bodies_are_recorded,
    cookies_round_trip,
    redirects_are_followed,
    raise_for_status_sees_mock_statuses,
    traces_fire,
    gzip_is_decompressed,
    unmatched_requests_fail_with_the_registered_list,
    keep_alive_over_the_mock,
);

async fn text<R: Runtime>(
    session: &sansweb::ClientSession<R>,
    method: Method,
    url: &str,
) -> String {
    let mut r = session.request(method, url).send().await.unwrap();
    r.text().await.unwrap()
}

async fn patterns_and_method_filters<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://api.test/exact")
        .forever()
        .respond(MockResponse::text("exact"));
    mock.any(UrlPattern::prefix("http://api.test/files/"))
        .forever()
        .respond(MockResponse::text("prefix"));
    mock.on(
        Some(Method::DELETE),
        UrlPattern::regex(r"/users/\d+$").unwrap(),
    )
    .forever()
    .respond(MockResponse::text("regex"));
    let s = mock.session(rt);
    assert_eq!(
        text(&s, Method::GET, "http://API.test:80/exact").await,
        "exact"
    );
    assert_eq!(
        text(&s, Method::PUT, "http://api.test/files/a/b").await,
        "prefix"
    );
    assert_eq!(
        text(&s, Method::DELETE, "http://other.test/users/42").await,
        "regex"
    );
    // Method filter: POST to the GET-only exact URL matches nothing.
    let err = s.post("http://api.test/exact").send().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no mock matches POST http://api.test/exact"),
        "{err}"
    );
}

async fn response_fields_reach_the_client<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://api.test/j").respond(
        MockResponse::json(&serde_json::json!({"a": [1, 2]}))
            .status(201)
            .reason("Made It")
            .header("x-one", "1")
            .header("x-one", "2"),
    );
    let s = mock.session(rt);
    let mut r = s.get("http://api.test/j").send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.reason(), "Made It");
    let ones: Vec<_> = r.headers().get_all("x-one").iter().collect();
    assert_eq!(ones, ["1", "2"]);
    assert_eq!(r.content_type().as_deref(), Some("application/json"));
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v, serde_json::json!({"a": [1, 2]}));
}

async fn errors_become_typed_client_errors<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://refused.test/")
        .fail(MockError::ConnectionRefused);
    mock.get("http://nxdomain.test/").fail(MockError::Dns);
    mock.get("http://slow.test/")
        .fail(MockError::ConnectTimeout);
    mock.get("http://flaky.test/").fail(MockError::Disconnect);
    let s = mock.session(rt);
    let e = s.get("http://refused.test/").send().await.unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Connector {
                kind: ConnectorKind::Refused,
                ..
            }
        ),
        "{e:?}"
    );
    let e = s.get("http://nxdomain.test/").send().await.unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Connector {
                kind: ConnectorKind::Dns,
                ..
            }
        ),
        "{e:?}"
    );
    let e = s.get("http://slow.test/").send().await.unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Timeout {
                kind: TimeoutKind::SockConnect,
                request_sent: false
            }
        ),
        "{e:?}"
    );
    let e = s.get("http://flaky.test/").send().await.unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::ServerDisconnected {
                response_started: false
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        mock.requests().len(),
        1,
        "only the disconnect reached a request"
    );
    mock.assert_all_called();
}

async fn repeat_counts<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://api.test/n")
        .times(2)
        .respond(MockResponse::text("first two"));
    mock.get("http://api.test/n")
        .once()
        .respond(MockResponse::text("third"));
    mock.get("http://api.test/n")
        .forever()
        .respond(MockResponse::text("rest"));
    let s = mock.session(rt);
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(text(&s, Method::GET, "http://api.test/n").await);
    }
    assert_eq!(got, ["first two", "first two", "third", "rest", "rest"]);
    assert_eq!(mock.calls("get", "http://api.test/n").len(), 5);
}

async fn default_headers_and_bodies_are_recorded<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.post("http://api.test/items")
        .respond(MockResponse::new().status(204));
    let s = mock
        .session_builder(rt)
        .header("x-api-key", "secret")
        .build()
        .unwrap();
    s.post("http://api.test/items")
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let req = mock.assert_called_once_with("POST", "http://api.test/items");
    assert_eq!(req.header("x-api-key"), Some("secret"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(&req.body[..], br#"{"name":"x"}"#);
    mock.assert_not_called("GET", "http://api.test/items");
}

async fn cookies_round_trip<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://site.test/login")
        .respond(MockResponse::new().header("set-cookie", "sid=abc; Path=/"));
    mock.get("http://site.test/me")
        .respond(MockResponse::text("me"));
    let s = mock.session(rt);
    s.get("http://site.test/login")
        .send()
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    s.get("http://site.test/me")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let me = mock.assert_called_with("GET", "http://site.test/me");
    assert_eq!(me.header("cookie"), Some("sid=abc"));
}

async fn redirects_are_followed<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://a.test/old").respond(
        MockResponse::new()
            .status(302)
            .header("location", "http://b.test/new"),
    );
    mock.get("http://b.test/new")
        .respond(MockResponse::text("moved here"));
    let s = mock.session(rt);
    let mut r = s.get("http://a.test/old").send().await.unwrap();
    assert_eq!(r.url().as_str(), "http://b.test/new");
    assert_eq!(r.history().len(), 1);
    assert_eq!(r.text().await.unwrap(), "moved here");
    assert_eq!(mock.connections_opened(), 2, "one per origin");
}

async fn raise_for_status_sees_mock_statuses<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://api.test/gone")
        .respond(MockResponse::new().status(410).reason("Long Gone"));
    let s = mock
        .session_builder(rt)
        .raise_for_status(true)
        .build()
        .unwrap();
    let e = s.get("http://api.test/gone").send().await.unwrap_err();
    match e {
        ClientError::Response(r) => {
            assert_eq!(r.status, 410);
            assert_eq!(r.message, "Long Gone");
        }
        other => panic!("{other:?}"),
    }
}

async fn traces_fire<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://api.test/t")
        .respond(MockResponse::new().status(200));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let s = mock
        .session_builder(rt)
        .trace(move |ev: &TraceEvent<'_>| {
            let name = match ev {
                TraceEvent::RequestStart { .. } => "start",
                TraceEvent::ConnectionCreateStart => "create",
                TraceEvent::RequestEnd { .. } => "end",
                _ => return,
            };
            log.lock().unwrap().push(name);
        })
        .build()
        .unwrap();
    s.get("http://api.test/t")
        .send()
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), ["start", "create", "end"]);
}

async fn gzip_is_decompressed<R: Runtime>(rt: R) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"squeezed text").unwrap();
    let body = gz.finish().unwrap();
    let mock = MockServer::new(&rt);
    mock.get("http://api.test/gz").respond(
        MockResponse::new()
            .header("content-encoding", "gzip")
            .body(body),
    );
    let s = mock.session(rt);
    assert_eq!(
        text(&s, Method::GET, "http://api.test/gz").await,
        "squeezed text"
    );
    let req = mock.assert_called_once_with("GET", "http://api.test/gz");
    assert!(req.header("accept-encoding").unwrap_or("").contains("gzip"));
}

async fn unmatched_requests_fail_with_the_registered_list<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get("http://api.test/a")
        .respond(MockResponse::text("a"));
    mock.post(UrlPattern::prefix("http://api.test/b/"))
        .times(3)
        .fail(MockError::Disconnect);
    mock.any(UrlPattern::regex("^https://").unwrap())
        .forever()
        .respond(MockResponse::new().status(500));
    let s = mock.session(rt);
    let e = s.get("http://api.test/zzz").send().await.unwrap_err();
    let expected = "no mock matches GET http://api.test/zzz; registered:\n  \
                    GET http://api.test/a -> 200 (once, used 0)\n  \
                    POST http://api.test/b/* -> disconnect (3 times, used 0)\n  \
                    ANY regex(^https://) -> 500 (forever, used 0)";
    assert!(matches!(e, ClientError::Io(_)), "{e:?}");
    assert_eq!(e.to_string(), format!("connection error: {expected}"));
    assert_eq!(mock.unmatched(), [expected]);
}

async fn keep_alive_over_the_mock<R: Runtime>(rt: R) {
    let mock = MockServer::new(&rt);
    mock.get(UrlPattern::prefix("http://api.test/"))
        .forever()
        .respond(MockResponse::text("k"));
    let s = mock.session(rt);
    for path in ["/1", "/2", "/3"] {
        assert_eq!(
            text(&s, Method::GET, &format!("http://api.test{path}")).await,
            "k"
        );
    }
    assert_eq!(mock.connections_opened(), 1);
}
