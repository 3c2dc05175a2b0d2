//! Opening handshake: server validation table, client response checks.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Request, StatusCode, Version};
use sansweb_core::ws::deflate::NegotiationError;
use sansweb_core::ws::{
    accept_key, ClientHandshake, DeflateConfig, HandshakeError, UpgradeRequest,
};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

fn good() -> Vec<(&'static str, &'static str)> {
    vec![
        ("host", "example.com"),
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-key", KEY),
        ("sec-websocket-version", "13"),
    ]
}

fn with(replace: &str, value: Option<&'static str>) -> HeaderMap {
    let mut v: Vec<_> = good().into_iter().filter(|(k, _)| *k != replace).collect();
    if let Some(val) = value {
        v.push((Box::leak(replace.to_owned().into_boxed_str()), val));
    }
    headers(&v)
}

#[test]
fn server_validation_table() {
    let get = Method::GET;
    let h11 = Version::HTTP_11;
    let table: Vec<(Method, Version, HeaderMap, Result<(), HandshakeError>)> = vec![
        (get.clone(), h11, headers(&good()), Ok(())),
        (get.clone(), h11, with("upgrade", Some("WebSocket")), Ok(())),
        (
            get.clone(),
            h11,
            with("upgrade", Some("h2c, websocket")),
            Ok(()),
        ),
        (
            get.clone(),
            h11,
            with("connection", Some("keep-alive, UPGRADE")),
            Ok(()),
        ),
        (
            Method::POST,
            h11,
            headers(&good()),
            Err(HandshakeError::MethodNotGet),
        ),
        (
            get.clone(),
            Version::HTTP_10,
            headers(&good()),
            Err(HandshakeError::NotHttp11),
        ),
        (
            get.clone(),
            h11,
            with("upgrade", None),
            Err(HandshakeError::MissingUpgrade),
        ),
        (
            get.clone(),
            h11,
            with("upgrade", Some("websockets")),
            Err(HandshakeError::MissingUpgrade),
        ),
        (
            get.clone(),
            h11,
            with("connection", Some("keep-alive")),
            Err(HandshakeError::MissingConnectionUpgrade),
        ),
        (
            get.clone(),
            h11,
            with("sec-websocket-version", None),
            Err(HandshakeError::UnsupportedVersion),
        ),
        (
            get.clone(),
            h11,
            with("sec-websocket-version", Some("8")),
            Err(HandshakeError::UnsupportedVersion),
        ),
        (
            get.clone(),
            h11,
            with("sec-websocket-key", None),
            Err(HandshakeError::InvalidKey),
        ),
        (
            get.clone(),
            h11,
            with("sec-websocket-key", Some("c2hvcnQ=")),
            Err(HandshakeError::InvalidKey),
        ),
        (
            get.clone(),
            h11,
            with("sec-websocket-key", Some("not base64!!")),
            Err(HandshakeError::InvalidKey),
        ),
        // A bodiless GET only: after the 101 a body's bytes would be read as frames.
        (get.clone(), h11, with("content-length", Some("0")), Ok(())),
        (
            get.clone(),
            h11,
            with("content-length", Some("5")),
            Err(HandshakeError::RequestBody),
        ),
        (
            get.clone(),
            h11,
            with("transfer-encoding", Some("chunked")),
            Err(HandshakeError::RequestBody),
        ),
    ];
    for (i, (m, v, h, expect)) in table.into_iter().enumerate() {
        assert_eq!(
            UpgradeRequest::parse(&m, v, &h).map(|_| ()),
            expect,
            "row {i}"
        );
    }
}

#[test]
fn error_responses() {
    let r = HandshakeError::UnsupportedVersion.response();
    assert_eq!(r.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(r.headers()["sec-websocket-version"], "13");
    assert_eq!(
        HandshakeError::InvalidKey.response().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        HandshakeError::RequestBody.response().status(),
        StatusCode::BAD_REQUEST
    );
    let r = HandshakeError::MethodNotGet.response();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["allow"], "GET");
}

#[test]
fn accept_produces_101_with_rfc_accept_key() {
    let mut h = good();
    h.push(("sec-websocket-protocol", "chat, superchat"));
    h.push((
        "sec-websocket-extensions",
        "permessage-deflate; server_max_window_bits=10, permessage-deflate; client_max_window_bits",
    ));
    let req = UpgradeRequest::parse(&Method::GET, Version::HTTP_11, &headers(&h)).unwrap();
    assert_eq!(req.protocols(), ["chat", "superchat"]);
    let (resp, agreed) = req.accept(&["superchat", "chat"], Some(&DeflateConfig::default()));
    assert_eq!(resp.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        resp.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    // The client's order of preference wins.
    assert_eq!(resp.headers()["sec-websocket-protocol"], "chat");
    // The first offer (a 10-bit window for our compressor) is taken and honoured.
    assert_eq!(
        resp.headers()["sec-websocket-extensions"],
        "permessage-deflate; server_max_window_bits=10"
    );
    assert_eq!(agreed.deflate.unwrap().server_max_window_bits, 10);
    // Without deflate configured, no extension is accepted.
    let (resp, agreed) = req.accept(&[], None);
    assert!(resp.headers().get("sec-websocket-extensions").is_none());
    assert!(resp.headers().get("sec-websocket-protocol").is_none());
    assert_eq!(agreed.deflate, None);
}

#[test]
fn client_checks_the_response() {
    let hs = ClientHandshake::new([7u8; 16]).protocols(["a"]);
    let req: Request<()> = hs.request("ws://h/p".parse().unwrap());
    assert_eq!(req.method(), Method::GET);
    assert_eq!(req.headers()["sec-websocket-version"], "13");
    assert_eq!(req.headers()["sec-websocket-key"], hs.key());
    let accept = accept_key(hs.key().as_bytes());
    let ok = |extra: &[(&str, &str)]| {
        let mut h = vec![
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
            ("sec-websocket-accept", accept.as_str()),
        ];
        h.extend_from_slice(extra);
        hs.check_response(StatusCode::SWITCHING_PROTOCOLS, &headers(&h))
    };
    assert_eq!(ok(&[]).unwrap().protocol, None);
    assert_eq!(
        ok(&[("sec-websocket-protocol", "a")])
            .unwrap()
            .protocol
            .as_deref(),
        Some("a")
    );
    assert!(matches!(
        ok(&[("sec-websocket-protocol", "b")]),
        Err(HandshakeError::UnexpectedProtocol(_))
    ));
    assert_eq!(
        ok(&[("sec-websocket-extensions", "permessage-deflate")]),
        Err(HandshakeError::Extension(
            NegotiationError::UnknownExtension("permessage-deflate".into())
        ))
    );
    assert_eq!(
        hs.check_response(StatusCode::OK, &headers(&[])),
        Err(HandshakeError::NotSwitching(StatusCode::OK))
    );
    let bad = headers(&[
        ("upgrade", "websocket"),
        ("connection", "upgrade"),
        ("sec-websocket-accept", "AAAA"),
    ]);
    assert_eq!(
        hs.check_response(StatusCode::SWITCHING_PROTOCOLS, &bad),
        Err(HandshakeError::AcceptMismatch)
    );
    let no_upgrade = headers(&[
        ("connection", "upgrade"),
        ("sec-websocket-accept", accept.as_str()),
    ]);
    assert_eq!(
        hs.check_response(StatusCode::SWITCHING_PROTOCOLS, &no_upgrade),
        Err(HandshakeError::ResponseNotUpgrade)
    );
    let hs = ClientHandshake::new([7u8; 16]).deflate(DeflateConfig::default());
    let accept = accept_key(hs.key().as_bytes());
    let resp = |ext: &str| {
        headers(&[
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
            ("sec-websocket-accept", accept.as_str()),
            (
                "sec-websocket-extensions",
                Box::leak(ext.to_owned().into_boxed_str()),
            ),
        ])
    };
    let agreed = hs
        .check_response(
            StatusCode::SWITCHING_PROTOCOLS,
            &resp("permessage-deflate; server_no_context_takeover"),
        )
        .unwrap();
    assert!(agreed.deflate.unwrap().server_no_context_takeover);
    assert!(hs
        .check_response(
            StatusCode::SWITCHING_PROTOCOLS,
            &resp("permessage-deflate, permessage-deflate")
        )
        .is_err());
    // We offer client_max_window_bits, so the server may limit our window (with a value).
    let agreed = hs
        .check_response(
            StatusCode::SWITCHING_PROTOCOLS,
            &resp("permessage-deflate; client_max_window_bits=10"),
        )
        .unwrap();
    assert_eq!(agreed.deflate.unwrap().client_max_window_bits, 10);
    assert!(hs
        .check_response(
            StatusCode::SWITCHING_PROTOCOLS,
            &resp("permessage-deflate; client_max_window_bits")
        )
        .is_err());
    assert!(hs
        .check_response(
            StatusCode::SWITCHING_PROTOCOLS,
            &resp("permessage-deflate; client_max_window_bits=7")
        )
        .is_err());
}
