//! url_for → resolve is the identity on parameters, for arbitrary values: either
//! url_for refuses the value (it could not match), or the built URL routes back to the
//! same route with the same, decoded, parameters.

use http::Method;
use proptest::prelude::*;
use sansweb_core::server::router::{Resolution, Router};

/// Built once: compiling the regexes per case would dominate the run time.
fn router() -> &'static Router {
    static ROUTER: std::sync::OnceLock<Router> = std::sync::OnceLock::new();
    ROUTER.get_or_init(build)
}

fn build() -> Router {
    let mut r = Router::new();
    for (name, pattern) in [
        ("one", "/seg/{x}"),
        ("two", "/two/{x}/{y}/end"),
        ("tail", "/t/{x:.*}"),
        ("custom", "/r/{x:[^/]+}"),
        ("catch", "/{x}"),
    ] {
        r.named_route(Method::GET, pattern, name)
            .expect("registers");
    }
    r
}

/// Strings rich in the characters that matter here, plus arbitrary Unicode.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![
                Just('/'),
                Just('%'),
                Just('{'),
                Just('}'),
                Just('?'),
                Just('#'),
                Just('.'),
                Just(' '),
                Just('+'),
                Just('\n'),
                Just('é'),
                proptest::char::range('0', 'z'),
            ],
            0..12
        )
        .prop_map(|cs| cs.into_iter().collect()),
        any::<String>(),
    ]
}

fn plain_ok(v: &str) -> bool {
    !v.is_empty() && !v.contains(['/', '{', '}'])
}

fn round_trip(r: &Router, name: &str, params: &[(&str, &str)], expect_ok: bool) {
    let built = r.url_for(name, params, &[]);
    assert_eq!(built.is_ok(), expect_ok, "{name} {params:?}: {built:?}");
    let Ok(url) = built else { return };
    match r.resolve(&Method::GET, &url) {
        Resolution::Match(m) => {
            assert_eq!(Some(m.resource), r.resource_named(name), "{url}");
            let got: Vec<_> = m.params.iter().collect();
            assert_eq!(got, params.to_vec(), "{url}");
        }
        other => panic!("{name} {params:?} built {url}, which resolves to {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn url_for_then_resolve_recovers_params(x in value(), y in value()) {
        let r = router();
        round_trip(r, "one", &[("x", &x)], plain_ok(&x));
        round_trip(r, "two", &[("x", &x), ("y", &y)], plain_ok(&x) && plain_ok(&y));
        round_trip(r, "tail", &[("x", &x)], !x.contains('\n'));
        round_trip(r, "custom", &[("x", &x)], !x.is_empty() && !x.contains('/'));
    }

    /// Whatever the path, resolving never panics, and a match's params are consistent.
    #[test]
    fn resolve_any_path(path in "/[a-z%0-9A-F/{}.]{0,30}") {
        let r = router();
        if let Resolution::Match(m) = r.resolve(&Method::GET, &path) {
            prop_assert_eq!(m.params.len(), 1);
        }
    }
}

/// Lines shaped like the fuzz body's input: registrations, URL builds and paths made of
/// the characters the pattern and path grammars care about.
fn fuzz_line() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("R/"), Just("P/"), Just("U"), Just("/"), Just("")],
        "[a-z/{}:%.*+?()\\[\\]\\\\0-9F^$|]{0,16}",
    )
        .prop_map(|(kind, rest)| format!("{kind}{rest}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_body_structured(lines in proptest::collection::vec(fuzz_line(), 0..12)) {
        sansweb_core::fuzzing::router::router(lines.join("\n").as_bytes());
    }

    #[test]
    fn fuzz_body_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        sansweb_core::fuzzing::router::router(&data);
    }
}
