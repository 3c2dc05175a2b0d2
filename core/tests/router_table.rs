//! Router resolution and URL building, as tables: routes → (method, path) → expected.

use http::Method;
use sansweb_core::server::router::{
    MethodFilter, Resolution, RouteId, Router, RouterError, UrlForError,
};

/// What a case expects: `Ok(route number in the table, params)`, 404, or 405 + Allow.
enum Want {
    Route(usize, &'static [(&'static str, &'static str)]),
    Tail(usize, &'static str),
    NotFound,
    NotAllowed(&'static [&'static str]),
}
use Want::*;

fn m(s: &str) -> Method {
    Method::from_bytes(s.as_bytes()).expect("test method")
}

fn build(routes: &[(&str, &str)]) -> (Router, Vec<RouteId>) {
    let mut router = Router::new();
    let ids = routes
        .iter()
        .map(|(method, pattern)| {
            if let Some(prefix) = pattern.strip_prefix("prefix:") {
                let res = router.add_prefix(prefix, None).expect("prefix registers");
                router.add_route(res, m(method)).expect("route registers")
            } else {
                router.route(m(method), pattern).expect("route registers")
            }
        })
        .collect();
    (router, ids)
}

fn check(routes: &[(&str, &str)], cases: &[(&str, &str, Want)]) {
    let (router, ids) = build(routes);
    for (method, path, want) in cases {
        let got = router.resolve(&m(method), path);
        let ctx = format!("{method} {path}: got {got:?}");
        match (want, got) {
            (Route(i, params), Resolution::Match(found)) => {
                assert_eq!(found.route, ids[*i], "{ctx}");
                let got: Vec<_> = found.params.iter().collect();
                assert_eq!(got, params.to_vec(), "{ctx}");
                assert_eq!(found.tail, None, "{ctx}");
            }
            (Tail(i, tail), Resolution::Match(found)) => {
                assert_eq!(found.route, ids[*i], "{ctx}");
                assert_eq!(found.tail.as_deref(), Some(*tail), "{ctx}");
            }
            (NotFound, Resolution::NotFound) => {}
            (NotAllowed(allow), Resolution::MethodNotAllowed { allow: got }) => {
                let got: Vec<_> = got.iter().map(Method::as_str).collect();
                assert_eq!(got, allow.to_vec(), "{ctx}");
            }
            _ => panic!("unexpected: {ctx}"),
        }
    }
}

#[test]
fn static_and_dynamic_segments() {
    check(
        &[
            ("GET", "/"),
            ("GET", "/users"),
            ("GET", "/users/{id}"),
            ("GET", "/users/{id}/posts/{post}"),
            ("GET", "/users/me"),
            ("GET", "/a/"),
        ],
        &[
            ("GET", "/", Route(0, &[])),
            ("GET", "/users", Route(1, &[])),
            ("GET", "/users/", NotFound),
            ("GET", "/users/42", Route(2, &[("id", "42")])),
            // The static resource is under a longer index key: tried first (aiohttp 3.9+).
            ("GET", "/users/me", Route(4, &[])),
            (
                "GET",
                "/users/42/posts/7",
                Route(3, &[("id", "42"), ("post", "7")]),
            ),
            ("GET", "/users/42/posts", NotFound),
            ("GET", "/users/42/posts/7/x", NotFound),
            ("GET", "/users//posts/7", NotFound),
            ("GET", "/a/", Route(5, &[])),
            ("GET", "/a", NotFound),
            ("GET", "/users/42?x=1", Route(2, &[("id", "42")])),
            ("GET", "/users/42#frag", Route(2, &[("id", "42")])),
            ("GET", "users/42", NotFound),
            ("GET", "*", NotFound),
            ("GET", "", NotFound),
            ("GET", "/nowhere", NotFound),
        ],
    );
}

#[test]
fn methods_head_any_and_405() {
    check(
        &[
            ("GET", "/r"),
            ("POST", "/r"),
            ("*", "/any"),
            ("PUT", "/p/{x}"),
            ("DELETE", "/p/{y}"),
            ("HEAD", "/h"),
            ("GET", "/h"),
            ("GET", "/q/{x}"),
            ("POST", "/{all}"),
        ],
        &[
            ("GET", "/r", Route(0, &[])),
            ("POST", "/r", Route(1, &[])),
            ("HEAD", "/r", Route(0, &[])), // HEAD falls back to GET
            ("PATCH", "/r", NotAllowed(&["GET", "HEAD", "POST"])),
            ("PATCH", "/any", Route(2, &[])),
            ("BREW", "/any", Route(2, &[])),
            ("PUT", "/p/1", Route(3, &[("x", "1")])),
            // Two resources under one key: first with the method wins, in order.
            ("DELETE", "/p/1", Route(4, &[("y", "1")])),
            ("GET", "/p/1", NotAllowed(&["DELETE", "PUT"])),
            ("HEAD", "/h", Route(5, &[])), // an explicit HEAD route wins
            ("GET", "/h", Route(6, &[])),
            // A less specific resource with the method wins over a 405 further in.
            ("POST", "/q", Route(8, &[("all", "q")])),
            ("PUT", "/q", NotAllowed(&["POST"])),
            ("PUT", "/q/1", NotAllowed(&["GET", "HEAD"])),
        ],
    );
}

#[test]
fn regex_and_mixed_pieces() {
    check(
        &[
            ("GET", r"/n/{id:\d+}"),
            ("GET", "/n/{name}"),
            ("GET", "/files/{name}.{ext}"),
            ("GET", "/static/{tail:.*}"),
            ("GET", r"/v/{major:\d{1,2}}.{minor:\d+}"),
            ("GET", "/x{a}"),
        ],
        &[
            ("GET", "/n/12", Route(0, &[("id", "12")])),
            ("GET", "/n/ab", Route(1, &[("name", "ab")])),
            (
                "GET",
                "/files/a.b.txt",
                Route(2, &[("name", "a.b"), ("ext", "txt")]),
            ),
            ("GET", "/files/noext", NotFound),
            (
                "GET",
                "/static/css/site.css",
                Route(3, &[("tail", "css/site.css")]),
            ),
            ("GET", "/static/", Route(3, &[("tail", "")])),
            (
                "GET",
                "/v/10.3",
                Route(4, &[("major", "10"), ("minor", "3")]),
            ),
            ("GET", "/v/100.3", NotFound),
            ("GET", "/xyz", Route(5, &[("a", "yz")])),
            ("GET", "/x", NotFound),
        ],
    );
}

#[test]
fn percent_decoding() {
    check(
        &[
            ("GET", "/u/{name}"),
            ("GET", "/t/{tail:.*}"),
            ("GET", "/café"),
            ("GET", "/s/{one:[^/]+}"),
            ("GET", "/lit%2Fslash"),
        ],
        &[
            ("GET", "/u/ren%C3%A9", Route(0, &[("name", "rené")])),
            ("GET", "/u/a%20b", Route(0, &[("name", "a b")])),
            ("GET", "/u/100%25", Route(0, &[("name", "100%")])),
            ("GET", "/u/100%", Route(0, &[("name", "100%")])),
            ("GET", "/u/%252F", Route(0, &[("name", "%2F")])),
            // An encoded slash is data, and `{name}` refuses it.
            ("GET", "/u/a%2Fb", NotFound),
            // A regex that allows '/' takes it, decoded.
            ("GET", "/t/a%2Fb/c", Route(1, &[("tail", "a/b/c")])),
            // A custom regex that refuses '/' refuses the decoded value too.
            ("GET", "/s/a%2Fb", NotFound),
            ("GET", "/s/a%20b", Route(3, &[("one", "a b")])),
            // Invalid UTF-8 once decoded: no route can be that path.
            ("GET", "/u/%FF", NotFound),
            ("GET", "/caf%C3%A9", Route(2, &[])),
            ("GET", "/café", Route(2, &[])),
            ("GET", "/lit%2fslash", Route(4, &[])),
            ("GET", "/lit/slash", NotFound),
            // `{name}` is `[^{}/]+`: braces never match it.
            ("GET", "/u/%7Bx%7D", NotFound),
        ],
    );
}

#[test]
fn prefix_resources() {
    check(
        &[
            ("GET", "prefix:/static"),
            ("*", "prefix:/api/"),
            ("GET", "/api/special"),
        ],
        &[
            ("GET", "/static", Tail(0, "")),
            ("GET", "/static/", Tail(0, "/")),
            ("GET", "/static/css/a%20b.css", Tail(0, "/css/a b.css")),
            ("GET", "/static/x%2Fy", Tail(0, "/x%2Fy")),
            ("HEAD", "/static/a", Tail(0, "/a")),
            ("POST", "/static/a", NotAllowed(&["GET", "HEAD"])),
            ("GET", "/staticfoo", NotFound),
            ("DELETE", "/api/v1/things", Tail(1, "/v1/things")),
            // The more specific static path is tried before the prefix.
            ("GET", "/api/special", Route(2, &[])),
        ],
    );
}

#[test]
fn registration_errors() {
    let mut r = Router::new();
    let bad = [
        "",
        "users",
        "/{",
        "/}",
        "/{}",
        "/{1x}",
        "/{a b}",
        "/{a:}",
        "/{a}/{a}",
        "/{a:(}",
        "/{a:[}",
        "/x%FF",
        "/{a:\\d{99999999}}",
    ];
    for pattern in bad {
        let err = r.add_resource(pattern, None).expect_err(pattern);
        assert!(
            matches!(err, RouterError::InvalidPattern { .. }),
            "{pattern}: {err}"
        );
        assert!(!err.to_string().is_empty());
    }
    assert_eq!(r.resource_count(), 0, "failed registrations leave no trace");
    assert!(r.add_prefix("/", None).is_err());
    assert!(r.add_prefix("/{x}", None).is_err());

    let res = r.add_resource("/a", Some("a")).expect("ok");
    assert_eq!(
        r.add_resource("/b", Some("a")),
        Err(RouterError::DuplicateName("a".into()))
    );
    assert!(matches!(
        r.add_resource("/b", Some("1bad")),
        Err(RouterError::InvalidName(_))
    ));
    assert!(r.add_resource("/b", Some("api.v1:users-list")).is_ok());
    r.add_route(res, Method::GET).expect("first GET");
    assert!(matches!(
        r.add_route(res, Method::GET),
        Err(RouterError::DuplicateRoute { .. })
    ));
    r.add_route(res, MethodFilter::Any)
        .expect("* after GET is reachable");
    assert!(matches!(
        r.add_route(res, Method::POST),
        Err(RouterError::DuplicateRoute { .. })
    ));
}

#[test]
fn route_reuses_last_resource() {
    let mut r = Router::new();
    let get = r.route(Method::GET, "/x/{id}").expect("ok");
    let post = r.route(Method::POST, "/x/{id}").expect("ok");
    assert_eq!(r.resource_of(get), r.resource_of(post));
    assert_eq!(r.resource_count(), 1);
}

#[test]
fn url_for_table() {
    let mut r = Router::new();
    r.named_route(Method::GET, "/users/{id}/posts/{post}", "post")
        .expect("ok");
    r.named_route(Method::GET, "/static/{tail:.*}", "tail")
        .expect("ok");
    r.named_route(Method::GET, r"/n/{id:\d+}", "num")
        .expect("ok");
    r.named_route(Method::GET, "/café", "cafe").expect("ok");
    let res = r.add_prefix("/files", Some("files")).expect("ok");
    r.add_route(res, Method::GET).expect("ok");

    type Pairs = &'static [(&'static str, &'static str)];
    let ok: &[(&str, Pairs, Pairs, &str)] = &[
        (
            "post",
            &[("id", "7"), ("post", "a b")],
            &[],
            "/users/7/posts/a%20b",
        ),
        (
            "post",
            &[("id", "ré"), ("post", "%2F?#")],
            &[],
            "/users/r%C3%A9/posts/%252F%3F%23",
        ),
        (
            "post",
            &[("id", "1"), ("post", "2")],
            &[("q", "a b"), ("x", "&")],
            "/users/1/posts/2?q=a+b&x=%26",
        ),
        (
            "tail",
            &[("tail", "css/a b.css")],
            &[],
            "/static/css/a%20b.css",
        ),
        ("tail", &[("tail", "")], &[], "/static/"),
        ("num", &[("id", "42")], &[], "/n/42"),
        ("cafe", &[], &[], "/caf%C3%A9"),
        ("files", &[], &[], "/files"),
        (
            "files",
            &[("filename", "a/b c.txt")],
            &[],
            "/files/a/b%20c.txt",
        ),
    ];
    for (name, params, query, want) in ok {
        assert_eq!(
            r.url_for(name, params, query).as_deref(),
            Ok(*want),
            "{name}"
        );
    }
    let err = |name, params: &[(&str, &str)]| r.url_for(name, params, &[]).expect_err(name);
    assert_eq!(err("nope", &[]), UrlForError::UnknownName("nope".into()));
    assert_eq!(
        err("post", &[("id", "1")]),
        UrlForError::MissingParam("post".into())
    );
    assert!(matches!(
        err("post", &[("id", "1"), ("post", "2"), ("x", "3")]),
        UrlForError::UnknownParam(_)
    ));
    assert!(matches!(
        err("post", &[("id", "a/b"), ("post", "2")]),
        UrlForError::InvalidParam { .. }
    ));
    assert!(matches!(
        err("post", &[("id", ""), ("post", "2")]),
        UrlForError::InvalidParam { .. }
    ));
    assert!(matches!(
        err("post", &[("id", "{"), ("post", "2")]),
        UrlForError::InvalidParam { .. }
    ));
    assert!(matches!(
        err("num", &[("id", "x")]),
        UrlForError::InvalidParam { .. }
    ));
}
