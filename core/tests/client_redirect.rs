//! Redirect policy: method/body rewriting, limits, targets, credential stripping.

use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, PROXY_AUTHORIZATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use sansweb_core::client::{
    RedirectBody, RedirectDecision, RedirectError, RedirectPolicy, RedirectRequest, Redirects,
};
use url::Url;

fn request(method: Method, url: &str, body: RedirectBody) -> RedirectRequest {
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic dTpw"));
    headers.insert(COOKIE, HeaderValue::from_static("a=1"));
    headers.insert(PROXY_AUTHORIZATION, HeaderValue::from_static("Basic cDpw"));
    if body != RedirectBody::None {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("3"));
    }
    RedirectRequest {
        method,
        url: Url::parse(url).expect("url"),
        headers,
        body,
    }
}

fn follow(
    r: &mut Redirects,
    status: u16,
    location: &str,
) -> Result<RedirectDecision, RedirectError> {
    r.handle_response(
        StatusCode::from_u16(status).expect("status"),
        Some(location.as_bytes()),
    )
}

#[test]
fn method_and_body_per_status() {
    use Method as M;
    use RedirectBody::{None as NoBody, Replayable};
    // (status, method, body) -> (method, body kept)
    let table = [
        (301, M::POST, Replayable, M::GET, false),
        (302, M::POST, Replayable, M::GET, false),
        (303, M::POST, Replayable, M::GET, false),
        (303, M::PUT, Replayable, M::GET, false),
        (303, M::HEAD, NoBody, M::HEAD, false),
        (301, M::PUT, Replayable, M::PUT, true),
        (302, M::DELETE, NoBody, M::DELETE, false),
        (301, M::HEAD, NoBody, M::HEAD, false),
        (307, M::POST, Replayable, M::POST, true),
        (308, M::PUT, Replayable, M::PUT, true),
        (307, M::GET, NoBody, M::GET, false),
    ];
    for (status, method, body, want_method, body_kept) in table {
        let mut r = Redirects::new(
            RedirectPolicy::default(),
            request(method.clone(), "http://a.test/x", body),
        );
        let Ok(RedirectDecision::Follow(f)) = follow(&mut r, status, "/y") else {
            panic!("{status} {method}")
        };
        assert_eq!(f.request.method, want_method, "{status} {method}");
        assert_eq!(
            f.request.body != NoBody,
            body_kept,
            "{status} {method} body"
        );
        assert_eq!(
            f.request.headers.contains_key(CONTENT_LENGTH),
            body_kept,
            "{status} {method} CL"
        );
        assert_eq!(
            f.request.headers.contains_key(CONTENT_TYPE),
            body_kept,
            "{status} {method} CT"
        );
        assert_eq!(f.request.url.as_str(), "http://a.test/y");
        // Same origin: credentials stay.
        assert!(f.request.headers.contains_key(AUTHORIZATION) && !f.credentials_stripped);
    }
}

#[test]
fn streaming_body_cannot_be_replayed_on_307_308() {
    for status in [307, 308] {
        let mut r = Redirects::new(
            RedirectPolicy::default(),
            request(Method::POST, "http://a.test/", RedirectBody::NotReplayable),
        );
        assert_eq!(
            follow(&mut r, status, "/again"),
            Err(RedirectError::BodyNotReplayable {
                status: StatusCode::from_u16(status).expect("s")
            })
        );
    }
    // 303 drops the body, so a stream is fine there.
    let mut r = Redirects::new(
        RedirectPolicy::default(),
        request(Method::POST, "http://a.test/", RedirectBody::NotReplayable),
    );
    assert!(matches!(
        follow(&mut r, 303, "/done"),
        Ok(RedirectDecision::Follow(_))
    ));
}

#[test]
fn not_a_redirect_or_no_location_is_done() {
    let mut r = Redirects::new(
        RedirectPolicy::default(),
        request(Method::GET, "http://a.test/", RedirectBody::None),
    );
    for status in [200, 300, 304, 305, 404] {
        assert_eq!(
            follow(&mut r, status, "/x"),
            Ok(RedirectDecision::Done),
            "{status}"
        );
    }
    assert_eq!(
        r.handle_response(StatusCode::FOUND, None),
        Ok(RedirectDecision::Done)
    );
    let mut off = Redirects::new(
        RedirectPolicy {
            follow: false,
            ..RedirectPolicy::default()
        },
        request(Method::GET, "http://a.test/", RedirectBody::None),
    );
    assert_eq!(follow(&mut off, 302, "/x"), Ok(RedirectDecision::Done));
}

#[test]
fn max_redirects_then_too_many() {
    let mut r = Redirects::new(
        RedirectPolicy::default(),
        request(Method::GET, "http://a.test/0", RedirectBody::None),
    );
    for i in 1..=10 {
        assert!(
            matches!(
                follow(&mut r, 302, &format!("/{i}")),
                Ok(RedirectDecision::Follow(_))
            ),
            "hop {i}"
        );
    }
    assert_eq!(r.history().len(), 10);
    assert_eq!(r.history()[0].url.as_str(), "http://a.test/0");
    assert_eq!(r.current().url.as_str(), "http://a.test/10");
    assert_eq!(
        follow(&mut r, 302, "/11"),
        Err(RedirectError::TooManyRedirects { max: 10 })
    );
}

#[test]
fn relative_locations_and_fragments() {
    let table = [
        ("http://a.test/a/b?q=1", "c", "http://a.test/a/c"),
        ("http://a.test/a/b", "../x?y=2", "http://a.test/x?y=2"),
        ("http://a.test/a/b", "//b.test/p", "http://b.test/p"),
        ("http://a.test/a#frag", "/new", "http://a.test/new#frag"),
        (
            "http://a.test/a#frag",
            "/new#other",
            "http://a.test/new#other",
        ),
        ("https://a.test/", "/caf\u{e9}", "https://a.test/caf%C3%A9"),
    ];
    for (from, location, want) in table {
        let mut r = Redirects::new(
            RedirectPolicy::default(),
            request(Method::GET, from, RedirectBody::None),
        );
        let Ok(RedirectDecision::Follow(f)) = follow(&mut r, 301, location) else {
            panic!("{location}")
        };
        assert_eq!(f.request.url.as_str(), want, "{from} + {location}");
    }
}

#[test]
fn bad_targets_are_errors() {
    let mut r = Redirects::new(
        RedirectPolicy::default(),
        request(Method::GET, "http://a.test/", RedirectBody::None),
    );
    for location in [
        "ftp://a.test/x",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "mailto:x@a.test",
    ] {
        assert!(
            matches!(
                follow(&mut r, 302, location),
                Err(RedirectError::NonHttpLocation { .. })
            ),
            "{location}"
        );
    }
    for location in ["http://[::1", "http://", "https://a b/"] {
        assert!(
            matches!(
                follow(&mut r, 302, location),
                Err(RedirectError::InvalidLocation { .. })
            ),
            "{location}"
        );
    }
    assert!(matches!(
        r.handle_response(StatusCode::FOUND, Some(b"/\xff\xfe")),
        Err(RedirectError::InvalidLocation { .. })
    ));
}

#[test]
fn credentials_are_stripped_when_the_origin_changes() {
    let table = [
        ("http://a.test/", "http://b.test/", true),
        ("http://a.test/", "http://a.test:8080/", true),
        ("http://a.test/", "https://a.test/", true),
        ("http://a.test/", "http://a.test:80/other", false),
        ("https://a.test/", "https://a.test:443/x", false),
        ("http://a.test/", "http://sub.a.test/", true),
    ];
    for (from, to, stripped) in table {
        let mut r = Redirects::new(
            RedirectPolicy::default(),
            request(Method::GET, from, RedirectBody::None),
        );
        let Ok(RedirectDecision::Follow(f)) = follow(&mut r, 302, to) else {
            panic!("{to}")
        };
        assert_eq!(f.credentials_stripped, stripped, "{from} -> {to}");
        for h in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
            assert_eq!(
                f.request.headers.contains_key(&h),
                !stripped,
                "{from} -> {to}: {h}"
            );
        }
    }
}

#[test]
fn https_to_http_is_reported_or_refused() {
    let mut r = Redirects::new(
        RedirectPolicy::default(),
        request(Method::GET, "https://a.test/", RedirectBody::None),
    );
    let Ok(RedirectDecision::Follow(f)) = follow(&mut r, 302, "http://a.test/") else {
        panic!()
    };
    assert!(f.downgraded && f.credentials_stripped);
    assert!(!f.request.headers.contains_key(AUTHORIZATION));
    let strict = RedirectPolicy {
        forbid_https_downgrade: true,
        ..RedirectPolicy::default()
    };
    let mut r = Redirects::new(
        strict,
        request(Method::GET, "https://a.test/", RedirectBody::None),
    );
    assert!(matches!(
        follow(&mut r, 302, "http://a.test/"),
        Err(RedirectError::InsecureDowngrade { .. })
    ));
    assert!(r.history().is_empty());
}
