//! RFC 6265 conformance: the http-state test suite (parser.json) and its cookie-date
//! vectors, loaded from `../shared/vectors/http-state/` (see that directory's README).
//!
//! Every case runs as the README says: store each `received` header as coming from
//! `http://home.example.org:8888/cookie-parser?<test>`, then ask for the Cookie header of
//! `sent-to` (resolved against that URL) or of `.../cookie-parser-result?<test>`.
//!
//! The clock is fixed at 2011-04-01 (when the suite was written): several cases expect an
//! `Expires` in 2019 to be still in the future, which only holds on the suite's clock.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sansweb_core::client::{CookieDate, CookieJar};
use serde_json::Value;
use url::Url;

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/http-state")
}

fn load_json(name: &str) -> Value {
    let path = vectors().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // bsd-examples.json opens with a `//` licence comment, which is not JSON.
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The suite's clock: 2011-04-01T00:00:00Z.
fn suite_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_301_616_000)
}

/// Cases this jar is known to answer differently from the suite, with the reason.
/// The test fails if one of them starts passing (so the list stays honest) or if any
/// other case fails.
/// All three are cases the suite itself marks `DISABLED_`.
const KNOWN_FAILURES: &[(&str, &str)] = &[
    (
        "DISABLED_CHROMIUM0022",
        "expects a NUL to truncate the value; we drop a cookie with control characters \
         (RFC 6265bis §5.6), so a NUL can never hide the rest of a value from one parser",
    ),
    (
        "DISABLED_CHROMIUM0023",
        "expects a bare CR to truncate the value; same control-character rule as above",
    ),
    (
        "DISABLED_PATH0029",
        "expects `%6F` in the request path to match `o` in the cookie path; RFC 6265 \
         path-match compares the paths as sent, without percent-decoding",
    ),
];

fn run_case(case: &Value) -> Result<(), String> {
    let test = case["test"].as_str().ok_or("no test name")?;
    let base = Url::parse(&format!(
        "http://home.example.org:8888/cookie-parser?{test}"
    ))
    .map_err(|e| e.to_string())?;
    let mut jar = CookieJar::new();
    let received: Vec<&str> = case["received"]
        .as_array()
        .ok_or("no received")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let _stored = jar.store_response_cookies(&base, &received, suite_now());
    let target = match case.get("sent-to").and_then(Value::as_str) {
        Some(to) => base.join(to).map_err(|e| e.to_string())?,
        None => Url::parse(&format!(
            "http://home.example.org:8888/cookie-parser-result?{test}"
        ))
        .map_err(|e| e.to_string())?,
    };
    let got: Vec<(String, String)> = jar
        .filter_cookies(&target, suite_now())
        .into_iter()
        .map(|c| (c.name.clone(), c.value.clone()))
        .collect();
    let want: Vec<(String, String)> = case["sent"]
        .as_array()
        .ok_or("no sent")?
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    if got == want {
        Ok(())
    } else {
        Err(format!(
            "received {received:?}: sent {got:?}, expected {want:?}"
        ))
    }
}

#[test]
fn http_state_parser_json() {
    let cases = load_json("parser.json");
    let cases = cases.as_array().expect("parser.json is an array");
    let mut passed = 0;
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for case in cases {
        let name = case["test"].as_str().unwrap_or("?");
        let known = KNOWN_FAILURES.iter().find(|(n, _)| *n == name);
        match (run_case(case), known) {
            (Ok(()), None) => passed += 1,
            (Ok(()), Some(_)) => {
                passed += 1;
                fixed.push(name.to_owned());
            }
            (Err(why), Some((_, reason))) => println!("known failure {name}: {reason} ({why})"),
            (Err(why), None) => unexpected.push(format!("{name}: {why}")),
        }
    }
    println!("http-state parser.json: {passed}/{} passed", cases.len());
    assert_eq!(cases.len(), 222, "vector file changed");
    assert!(
        unexpected.is_empty(),
        "unexpected failures:\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "now passing, remove from KNOWN_FAILURES: {fixed:?}"
    );
    assert_eq!(passed, cases.len() - KNOWN_FAILURES.len());
    assert!(passed >= 219, "reached 219 of 222; got {passed}");
}

/// Runs a dates file; returns (passed, total, failures).
fn run_dates(file: &str) -> (usize, usize, Vec<String>) {
    let cases = load_json(file);
    let cases = cases.as_array().expect("dates file is an array");
    let mut failures = Vec::new();
    for case in cases {
        let input = case["test"].as_str().expect("test is a string");
        let expected = case["expected"].as_str();
        let got = CookieDate::parse(input).map(|d| d.to_string());
        if got.as_deref() != expected {
            failures.push(format!("{input:?}: got {got:?}, expected {expected:?}"));
        }
    }
    (cases.len() - failures.len(), cases.len(), failures)
}

#[test]
fn http_state_dates_examples() {
    let (passed, total, failures) = run_dates("dates/examples.json");
    println!("dates/examples.json: {passed}/{total} passed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn http_state_dates_bsd_examples() {
    let (passed, total, failures) = run_dates("dates/bsd-examples.json");
    println!("dates/bsd-examples.json: {passed}/{total} passed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
