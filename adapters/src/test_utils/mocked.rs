//! Requests made up for unit tests: no server, no socket.

use crate::web::{App, Request};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// A request as a handler would receive it (aiohttp's `make_mocked_request`), with an
/// empty body, an empty application and no peer address.
///
/// ```
/// use sansweb::test_utils::make_mocked_request;
/// let req = make_mocked_request("GET", "/users?id=7", &[("X-Test", "1")]);
/// assert_eq!(req.query_get("id").as_deref(), Some("7"));
/// assert_eq!(req.header("x-test"), Some("1"));
/// ```
///
/// # Panics
/// On an invalid method, path or header: this is test set-up, and a clear panic is the
/// most useful answer there.
pub fn make_mocked_request(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
    make_mocked_request_with_body(method, path, headers, Bytes::new())
}

/// [`make_mocked_request`] with a body the handler can read.
///
/// # Panics
/// As [`make_mocked_request`].
pub fn make_mocked_request_with_body(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Request {
    let method = Method::from_bytes(method.as_bytes()).expect("mocked request: bad method");
    let uri = path.parse().expect("mocked request: bad path");
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("mocked request: bad header name"),
            HeaderValue::from_str(value).expect("mocked request: bad header value"),
        );
    }
    Request::mocked(method, uri, map, body.into(), App::new())
}
