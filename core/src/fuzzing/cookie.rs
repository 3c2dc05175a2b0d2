//! Fuzz body for the cookie jar: `Set-Cookie` lines for arbitrary URLs, then `Cookie`
//! header look-ups, save/load and the cookie-date parser.
//!
//! Input format (lossy UTF-8, one command per line):
//! - `@<url>` — the URL later lines are stored for / asked about (bad URLs are skipped);
//! - `?` or `?<url>` — ask the jar for the Cookie header of the current (or given) URL;
//! - `+<secs>` — advance the wall clock;
//! - anything else — a `Set-Cookie` value received from the current URL.
//!
//! The first input byte picks the jar configuration (IP hosts allowed, tiny limits), so
//! eviction paths are reached too.

use std::time::{Duration, UNIX_EPOCH};

use url::Url;

use crate::client::{CookieDate, CookieJar, CookieJarConfig};

/// Bound on lines processed, so one input cannot run for long.
const MAX_LINES: usize = 4096;

/// Runs one fuzz input. Never panics.
pub fn set_cookie(data: &[u8]) {
    let (mode, rest) = data.split_first().map_or((0, data), |(m, r)| (*m, r));
    let config = CookieJarConfig {
        unsafe_ip_hosts: mode & 1 == 1,
        max_per_domain: if mode & 2 == 2 { 2 } else { 50 },
        max_total: if mode & 4 == 4 { 3 } else { 3000 },
        ..CookieJarConfig::default()
    };
    let mut jar = CookieJar::with_config(config);
    let mut now = UNIX_EPOCH + Duration::from_secs(1_300_000_000);
    let fallback = Url::parse("http://home.example.org:8888/cookie-parser").ok();
    let mut current = fallback.clone();
    let text = String::from_utf8_lossy(rest);
    for line in text.split('\n').take(MAX_LINES) {
        if let Some(u) = line.strip_prefix('@') {
            if let Ok(parsed) = Url::parse(u) {
                current = Some(parsed);
            }
        } else if let Some(u) = line.strip_prefix('?') {
            let target = if u.is_empty() {
                current.clone()
            } else {
                Url::parse(u).ok()
            };
            if let Some(t) = target {
                let header = jar.cookie_header_for(&t, now);
                let cookies = jar.filter_cookies(&t, now);
                // The header and the filtered list must agree.
                assert_eq!(header.is_some(), !cookies.is_empty());
            }
        } else if let Some(secs) = line.strip_prefix('+') {
            let secs: u64 = secs.trim().parse().unwrap_or(1);
            now = now
                .checked_add(Duration::from_secs(secs % 1_000_000_000))
                .unwrap_or(now);
        } else if let Some(u) = &current {
            let _accepted = jar.store_response_cookies(u, [line], now);
            let _date = CookieDate::parse(line).map(|d| d.to_system_time());
        }
    }
    // Persistence round trip: what was saved loads back to the same jar.
    let saved = jar.save();
    let mut back = CookieJar::with_config(jar.config().clone());
    let loaded = back.load(&saved, now);
    assert!(loaded.is_ok(), "a saved jar must load: {loaded:?}");
    assert!(back.len() <= jar.len());
}

#[cfg(test)]
mod tests {
    use super::set_cookie;

    #[test]
    fn seeds_do_not_panic() {
        let seeds: &[&[u8]] = &[
            b"",
            b"\x00foo=bar\n?",
            b"\x01@http://127.0.0.1/\na=1; Domain=127.0.0.1\n?\n@http://[::1]:80/x\nb=2\n?",
            b"\x06@https://a.b.example.co.uk/p/q\nx=1; Domain=co.uk\ny=2; Domain=example.co.uk; Secure\n+10\n?https://example.co.uk/",
            b"\x00a=b; Max-Age=99999999999999999999999999\nc=d; Expires=Fri, 31 Dec 9999 23:59:59 GMT\n+999999999999\n?",
            b"\x00__Host-x=1; Secure; Path=/\n=\n;;;\n\xff\xfe=\xc3\x28\n?",
            b"\x02@http://x.test/\na=1\nb=2\nc=3\nd=4\n?",
        ];
        for s in seeds {
            set_cookie(s);
        }
    }
}
