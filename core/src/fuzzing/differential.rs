//! Differential fuzz body: our request parser (a `Conn<Server>`) against `httparse` on
//! the heads both accept. Where both accept, they must agree on the method, the target
//! and every header field (name and value, as a multiset). Our parser is stricter by
//! design (RFC 9112: bare CR, obs-fold, bad tokens, duplicate Host ...), so a head only
//! httparse accepts is fine; a head only we accept is a finding, as is any disagreement.

use std::time::Instant;

use crate::h1::{Config, Conn, Event, Server};

/// Most header fields either parser is given room for.
const MAX_HEADERS: usize = 128;

/// Runs one input: the bytes are one request head (and whatever follows it).
pub fn h1_differential(data: &[u8]) {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut theirs = httparse::Request::new(&mut fields);
    let their_result = theirs.parse(data);

    #[allow(clippy::disallowed_methods)] // the fuzz harness's one clock reading
    let now = Instant::now();
    let mut config = Config::server();
    config.max_headers = MAX_HEADERS;
    config.accept_unregistered_methods = true;
    config.require_host = false;
    let mut conn = Conn::<Server>::new(config, now);
    conn.handle_input(now, data);
    let mut ours = None;
    while let Some(event) = conn.poll_event() {
        match event {
            Event::Head(head) => {
                ours = Some(head);
                break;
            }
            Event::Error(_) => break,
            _ => {}
        }
    }
    let Some(ours) = ours else {
        return;
    };
    // We accepted a complete head: httparse must have too (it is the laxer parser).
    let Ok(httparse::Status::Complete(_)) = their_result else {
        panic!("we accepted a head httparse refuses: {their_result:?}");
    };
    assert_eq!(Some(ours.method.as_str()), theirs.method, "method");
    // The target as sent: our `Uri` percent-encodes the visible ASCII `http::Uri`
    // refuses (`` ` ``, `{`, `|` ...), by design; `raw_target` keeps the bytes.
    let their_target = theirs.path.unwrap_or_default();
    assert_eq!(
        ours.raw_target(),
        Some(their_target.as_bytes()),
        "target {their_target:?} (ours: {})",
        ours.uri
    );
    let their_version = match theirs.version {
        Some(0) => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    assert_eq!(ours.version, their_version, "version");
    let trim = |v: &[u8]| -> Vec<u8> {
        let start = v
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t'))
            .unwrap_or(v.len());
        let end = v
            .iter()
            .rposition(|b| !matches!(b, b' ' | b'\t'))
            .map_or(start, |e| e + 1);
        v[start..end].to_vec()
    };
    let mut a: Vec<(String, Vec<u8>)> = theirs
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), trim(h.value)))
        .collect();
    let mut b: Vec<(String, Vec<u8>)> = ours
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), trim(v.as_bytes())))
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "header fields");
}
