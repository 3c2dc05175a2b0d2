//! Fuzz body for the URL pieces the core parses and builds: request paths through the
//! router's percent-decoding (canonical form, parameter values), and `url_for` with
//! arbitrary parameter values and query pairs.
//!
//! Input: lossy UTF-8, split at the first `\n` into a path and a value; the value is
//! also split at `&`/`=` into query pairs. Invariants: no panic; a value put into a URL
//! by `url_for` comes back unchanged when that URL is resolved (path parameters) or
//! parsed as `application/x-www-form-urlencoded` (query pairs); resolving never fails
//! on odd escapes (`%`, `%zz`, `%2f`, non-UTF-8 decodings).

use http::Method;

use crate::server::router::{Resolution, Router};

/// Runs one input.
pub fn url_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (path, value) = text.split_once('\n').unwrap_or((&text, ""));
    let mut router = Router::new();
    let routes = [
        ("one", "/v/{x}"),
        ("tail", "/t/{tail:.*}"),
        ("two", "/p/{x}/q/{y}"),
    ];
    for (name, pattern) in routes {
        assert!(
            router.named_route(Method::GET, pattern, name).is_ok(),
            "{pattern}"
        );
    }
    // Arbitrary request paths: any result, never a panic.
    for p in [path.to_owned(), format!("/v/{path}"), format!("/t/{path}")] {
        let _ = router.resolve(&Method::GET, &p);
    }
    // Round trips through url_for.
    let pairs: Vec<(String, String)> = value
        .split('&')
        .take(16)
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let query: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (name, params) in [
        ("one", vec![("x", value)]),
        ("tail", vec![("tail", value)]),
        ("two", vec![("x", value), ("y", path)]),
    ] {
        let Ok(url) = router.url_for(name, &params, &query) else {
            continue;
        };
        let (url_path, url_query) = url.split_once('?').unwrap_or((&url, ""));
        match router.resolve(&Method::GET, url_path) {
            Resolution::Match(m) => {
                for (k, v) in &params {
                    // A tail's value may legitimately normalise; named segments are exact.
                    if *k != "tail" {
                        assert_eq!(m.params.get(k), Some(*v), "param {k} of {url}");
                    }
                }
            }
            other => panic!("url_for({name}) built {url:?}, which resolves to {other:?}"),
        }
        if !query.is_empty() {
            let back: Vec<(String, String)> = url::form_urlencoded::parse(url_query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(back, pairs, "query of {url}");
        }
    }
}
