//! HTTP proxies on every runtime: absolute-form for http targets, CONNECT tunnels for
//! https targets, proxy credentials from the proxy URL, a refusing proxy.

mod client_support;

use client_support::proxy::TestProxy;
use client_support::tls::{certs, tls_server};
use client_support::TestServer;
use sansweb::client::{ClientError, ConnectorKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

async fn http_target_absolute_form<R: Runtime>(rt: R) {
    let srv = TestServer::start();
    let proxy = TestProxy::start(Some("Basic dXNlcjpwYSBzcw=="));
    let s = ClientSession::builder_with_runtime(rt)
        .proxy(&format!("http://user:pa%20ss@{}", proxy.addr))
        .build()
        .unwrap();
    let mut r = s.get(&srv.url("/text")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "héllo wörld");
    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(
            format!("GET {} HTTP/1.1", srv.url("/text")),
            "Basic dXNlcjpwYSBzcw==".to_owned()
        )]
    );
    // The origin saw origin-form, and no proxy credentials.
    let at_origin = srv.seen();
    assert_eq!(at_origin[0].target, "/text");
    assert!(!at_origin[0].headers.contains_key("proxy-authorization"));
}

async fn https_target_through_connect<R: Runtime>(rt: R) {
    let certs = certs();
    let addr = tls_server(&certs, false);
    let proxy = TestProxy::start(None);
    let s = ClientSession::builder_with_runtime(rt.clone())
        .add_root_certificate(certs.server_cert.clone())
        .build()
        .unwrap();
    let url = format!("https://localhost:{}/", addr.port());
    let mut r = s.get(&url).proxy(&proxy.url()).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "secure");
    let seen = proxy.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].0,
        format!("CONNECT localhost:{} HTTP/1.1", addr.port())
    );

    // A proxy that wants credentials we do not have: a connector error, nothing sent.
    let strict = TestProxy::start(Some("Basic c2VjcmV0"));
    let err = s.get(&url).proxy(&strict.url()).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connector {
                kind: ConnectorKind::Proxy,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("407"), "{err}");
    assert!(!err.may_have_reached_server());
}

on_every_runtime!(http_target_absolute_form, https_target_through_connect);
