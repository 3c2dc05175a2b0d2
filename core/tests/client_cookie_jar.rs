//! Cookie jar rules beyond the http-state suite: public suffixes, IP hosts, Secure,
//! prefixes, expiry, limits, clearing and save/load.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sansweb_core::client::{CookieJar, CookieJarConfig, CookieRejected};
use url::Url;

fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn header(jar: &CookieJar, u: &str, now: SystemTime) -> Option<String> {
    jar.cookie_header_for(&url(u), now)
}

#[test]
fn store_outcomes_table() {
    use CookieRejected as R;
    let cases: &[(&str, &str, Result<(), R>)] = &[
        ("http://www.example.com/", "a=1", Ok(())),
        ("http://www.example.com/", "a=1; Domain=example.com", Ok(())),
        (
            "http://www.example.com/",
            "a=1; Domain=.com",
            Err(R::PublicSuffix),
        ),
        (
            "http://www.example.co.uk/",
            "a=1; Domain=co.uk",
            Err(R::PublicSuffix),
        ),
        (
            "http://www.example.co.uk/",
            "a=1; Domain=example.co.uk",
            Ok(()),
        ),
        (
            "http://www.example.com/",
            "a=1; Domain=other.com",
            Err(R::DomainMismatch),
        ),
        (
            "http://www.example.com/",
            "a=1; Secure",
            Err(R::SecureOverInsecure),
        ),
        ("https://www.example.com/", "a=1; Secure", Ok(())),
        ("http://www.example.com/", "a", Err(R::Malformed)),
        ("http://www.example.com/", "=1", Err(R::Malformed)),
        ("http://www.example.com/", "a=1\r\nX: y", Err(R::Malformed)),
        ("http://127.0.0.1/", "a=1", Err(R::IpHost)),
        ("http://[::1]/", "a=1", Err(R::IpHost)),
        (
            "https://www.example.com/",
            "__Secure-a=1",
            Err(R::PrefixRule),
        ),
        ("https://www.example.com/", "__Secure-a=1; Secure", Ok(())),
        (
            "http://www.example.com/",
            "__Secure-a=1; Secure",
            Err(R::SecureOverInsecure),
        ),
        (
            "https://www.example.com/",
            "__Host-a=1; Secure; Path=/",
            Ok(()),
        ),
        ("https://www.example.com/", "__Host-a=1; Secure", Ok(())),
        (
            "https://www.example.com/x/y",
            "__Host-a=1; Secure",
            Err(R::PrefixRule),
        ),
        (
            "https://www.example.com/",
            "__Host-a=1; Secure; Path=/x",
            Err(R::PrefixRule),
        ),
        (
            "https://www.example.com/",
            "__Host-a=1; Secure; Path=/; Domain=example.com",
            Err(R::PrefixRule),
        ),
        ("https://www.example.com/", "__host-a=1", Err(R::PrefixRule)),
        ("mailto:x@example.com", "a=1", Err(R::NoHost)),
    ];
    for (u, sc, want) in cases {
        let mut jar = CookieJar::new();
        assert_eq!(jar.try_store(&url(u), sc, t0()), *want, "{u} {sc:?}");
    }
}

#[test]
fn public_suffix_equal_to_host_becomes_host_only() {
    // A site that *is* a public suffix (e.g. a PSL private entry host) may set a cookie
    // naming itself; it is then host-only.
    let mut jar = CookieJar::new();
    assert_eq!(
        jar.try_store(&url("http://github.io/"), "a=1; Domain=github.io", t0()),
        Ok(())
    );
    let c = jar.iter().next().expect("stored");
    assert!(c.host_only);
    assert_eq!(
        header(&jar, "http://github.io/", t0()).as_deref(),
        Some("a=1")
    );
    assert_eq!(header(&jar, "http://x.github.io/", t0()), None);
}

#[test]
fn host_only_versus_domain_cookies() {
    let mut jar = CookieJar::new();
    let from = url("http://www.example.com/");
    jar.store_response_cookies(&from, ["host=1", "dom=2; Domain=example.com"], t0());
    assert_eq!(
        header(&jar, "http://www.example.com/", t0()).as_deref(),
        Some("host=1; dom=2")
    );
    assert_eq!(
        header(&jar, "http://example.com/", t0()).as_deref(),
        Some("dom=2")
    );
    assert_eq!(
        header(&jar, "http://a.www.example.com/", t0()).as_deref(),
        Some("dom=2")
    );
    assert_eq!(header(&jar, "http://notexample.com/", t0()), None);
}

#[test]
fn unsafe_ip_hosts_get_host_only_cookies() {
    let mut jar = CookieJar::with_config(CookieJarConfig {
        unsafe_ip_hosts: true,
        ..CookieJarConfig::default()
    });
    let ip = url("http://127.0.0.1:8080/");
    assert_eq!(jar.try_store(&ip, "a=1", t0()), Ok(()));
    assert_eq!(jar.try_store(&ip, "b=2; Domain=127.0.0.1", t0()), Ok(()));
    assert_eq!(
        jar.try_store(&ip, "c=3; Domain=0.0.1", t0()),
        Err(CookieRejected::DomainMismatch)
    );
    assert!(jar.iter().all(|c| c.host_only));
    assert_eq!(
        header(&jar, "http://127.0.0.1/", t0()).as_deref(),
        Some("a=1; b=2")
    );
    assert_eq!(header(&jar, "http://127.0.0.2/", t0()), None);
    let v6 = url("http://[::1]/");
    assert_eq!(jar.try_store(&v6, "d=4", t0()), Ok(()));
    assert_eq!(header(&jar, "http://[::1]/x", t0()).as_deref(), Some("d=4"));
}

#[test]
fn secure_cookies_only_over_https_and_wss() {
    let mut jar = CookieJar::new();
    jar.store_response_cookies(&url("https://a.test/"), ["s=1; Secure", "p=2"], t0());
    assert_eq!(
        header(&jar, "https://a.test/", t0()).as_deref(),
        Some("s=1; p=2")
    );
    assert_eq!(
        header(&jar, "wss://a.test/", t0()).as_deref(),
        Some("s=1; p=2")
    );
    assert_eq!(header(&jar, "http://a.test/", t0()).as_deref(), Some("p=2"));
    assert_eq!(header(&jar, "ws://a.test/", t0()).as_deref(), Some("p=2"));
    // Plain http may not overwrite the Secure cookie.
    assert_eq!(
        jar.try_store(&url("http://a.test/"), "s=evil", t0()),
        Err(CookieRejected::WouldShadowSecure)
    );
}

#[test]
fn expiry_max_age_wins_and_deletion() {
    let mut jar = CookieJar::new();
    let u = url("http://a.test/");
    jar.store_response_cookies(
        &u,
        [
            "a=1; Max-Age=10; Expires=Thu, 01 Jan 1970 00:00:01 GMT",
            "b=2; Expires=Wed, 15 Nov 2023 00:00:00 GMT", // t0 is 2023-11-14T22:13:20Z
            "c=3",
        ],
        t0(),
    );
    assert_eq!(
        header(&jar, "http://a.test/", t0()).as_deref(),
        Some("a=1; b=2; c=3")
    );
    let later = t0() + Duration::from_secs(10);
    assert_eq!(
        header(&jar, "http://a.test/", later - Duration::from_nanos(1)).as_deref(),
        Some("a=1; b=2; c=3")
    );
    assert_eq!(
        header(&jar, "http://a.test/", later).as_deref(),
        Some("b=2; c=3")
    );
    assert_eq!(
        header(&jar, "http://a.test/", t0() + Duration::from_secs(6_400)).as_deref(),
        Some("c=3")
    );
    // Max-Age=0 deletes.
    jar.store_response_cookies(&u, ["c=gone; Max-Age=0"], t0());
    assert_eq!(
        header(&jar, "http://a.test/", t0()).as_deref(),
        Some("a=1; b=2")
    );
    assert_eq!(jar.remove_expired(later), 1);
}

#[test]
fn order_is_longer_path_first_then_creation_and_replacement_keeps_creation() {
    let mut jar = CookieJar::new();
    let u = url("http://a.test/x/y/z");
    jar.store_response_cookies(&u, ["first=1; Path=/"], t0());
    jar.store_response_cookies(&u, ["deep=2; Path=/x/y"], t0() + Duration::from_secs(1));
    jar.store_response_cookies(&u, ["second=3; Path=/"], t0() + Duration::from_secs(2));
    jar.store_response_cookies(&u, ["first=updated; Path=/"], t0() + Duration::from_secs(3));
    assert_eq!(
        header(&jar, "http://a.test/x/y/z", t0() + Duration::from_secs(4)).as_deref(),
        Some("deep=2; first=updated; second=3")
    );
    // Default path of /x/y/z is /x/y.
    jar.store_response_cookies(&u, ["dflt=4"], t0());
    let c = jar.iter().find(|c| c.name == "dflt").expect("stored");
    assert_eq!(c.path, "/x/y");
}

#[test]
fn limits_evict_oldest_and_bound_the_jar() {
    let cfg = CookieJarConfig {
        max_per_domain: 3,
        max_total: 5,
        ..CookieJarConfig::default()
    };
    let mut jar = CookieJar::with_config(cfg);
    for i in 0..5u64 {
        jar.store_response_cookies(
            &url("http://a.test/"),
            [format!("c{i}=v")],
            t0() + Duration::from_secs(i),
        );
    }
    let names: Vec<&str> = jar.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["c2", "c3", "c4"]);
    for d in ["b", "c", "d"] {
        jar.store_response_cookies(
            &url(&format!("http://{d}.test/")),
            ["x=1"],
            t0() + Duration::from_secs(10),
        );
    }
    assert_eq!(jar.len(), 5);
    assert!(jar.iter().all(|c| c.name != "c2"), "the oldest goes first");
    // 4096 bytes of name + value is the most a cookie may hold.
    let mut jar = CookieJar::new();
    let ok = format!("n={}", "v".repeat(4095));
    let big = format!("n={}", "v".repeat(4096));
    assert_eq!(jar.try_store(&url("http://a.test/"), &ok, t0()), Ok(()));
    assert_eq!(
        jar.try_store(&url("http://a.test/"), &big, t0()),
        Err(CookieRejected::Malformed)
    );
}

#[test]
fn clear_and_clear_domain() {
    let mut jar = CookieJar::new();
    jar.store_response_cookies(
        &url("http://a.example.com/"),
        ["a=1", "b=2; Domain=example.com"],
        t0(),
    );
    jar.store_response_cookies(&url("http://other.test/"), ["c=3"], t0());
    assert_eq!(jar.clear_domain("example.com"), 2);
    assert_eq!(jar.len(), 1);
    assert_eq!(jar.clear(|c| c.name == "c"), 1);
    assert!(jar.is_empty());
}

#[test]
fn save_load_round_trip_keeps_host_only() {
    let mut jar = CookieJar::new();
    jar.store_response_cookies(
        &url("https://www.example.com/p/q"),
        [
            "host=1",
            "dom=two words; Domain=example.com; Path=/; Secure; HttpOnly; SameSite=Strict",
            "weird=%20\t;=x", // value with a tab inside and odd characters
            "exp=1; Max-Age=100",
        ],
        t0(),
    );
    let text = jar.save();
    let mut back = CookieJar::new();
    assert_eq!(back.load(&text, t0()), Ok(4));
    let a: Vec<_> = jar
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.value.clone(),
                c.domain.clone(),
                c.path.clone(),
                c.host_only,
                c.secure,
                c.http_only,
                c.same_site,
                c.expires,
                c.created,
            )
        })
        .collect();
    let b: Vec<_> = back
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.value.clone(),
                c.domain.clone(),
                c.path.clone(),
                c.host_only,
                c.secure,
                c.http_only,
                c.same_site,
                c.expires,
                c.created,
            )
        })
        .collect();
    assert_eq!(a, b);
    // The host-only cookie did not turn into a domain cookie.
    assert_eq!(
        header(&back, "https://sub.www.example.com/p/q", t0()).as_deref(),
        Some("dom=two words")
    );
    assert_eq!(back.save(), text);
    // Expired cookies are not loaded.
    let mut late = CookieJar::new();
    assert_eq!(late.load(&text, t0() + Duration::from_secs(100)), Ok(3));
}

mod fuzz_like {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        /// Arbitrary bytes through the fuzz body: never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            sansweb_core::fuzzing::cookie::set_cookie(&data);
        }

        /// Cookie-shaped input (attribute names and separators) reaches deeper paths.
        #[test]
        fn cookie_shaped_input_never_panics(
            mode in any::<u8>(),
            lines in proptest::collection::vec(
                "(@(https?|wss?)://(a|b\\.a|127\\.0\\.0\\.1|\\[::1\\]|co\\.uk|x\\.co\\.uk)(:[0-9]{1,5})?/[a-z/]{0,6}|\\?|\\+[0-9]{1,12}|(__Host-|__Secure-)?[a-z=]{0,4}=[ -~]{0,8}(; ?(Domain|Path|Max-Age|Expires|Secure|HttpOnly|SameSite)(=[ -~]{0,12})?){0,4})",
                0..24,
            ),
        ) {
            let mut data = vec![mode];
            data.extend_from_slice(lines.join("\n").as_bytes());
            sansweb_core::fuzzing::cookie::set_cookie(&data);
        }
    }
}
