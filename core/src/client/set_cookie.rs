//! Parsing one `Set-Cookie` header value (RFC 6265 §5.2, with the RFC 6265bis
//! tightenings browsers ship: control characters void the cookie, size caps).
//!
//! This is the user-agent algorithm, not the server grammar of §4.1: it accepts the
//! sloppy values real servers send (spaces, quotes, unknown attributes) and throws away
//! only what it cannot make sense of. A `Set-Cookie` that fails here is ignored by the
//! jar; it is never an error for the caller, because a server's bad cookie must not fail
//! the request that carried it.

use std::time::{Duration, SystemTime};

use super::cookie_date::CookieDate;

/// The `SameSite` attribute (kept for the caller; the jar does not enforce it, as
/// aiohttp's jar does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None`.
    None,
}

impl SameSite {
    /// The attribute value as sent by servers.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }

    /// Case-insensitive parse of an attribute value.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("strict") {
            Some(SameSite::Strict)
        } else if value.eq_ignore_ascii_case("lax") {
            Some(SameSite::Lax)
        } else if value.eq_ignore_ascii_case("none") {
            Some(SameSite::None)
        } else {
            Option::None
        }
    }
}

/// What a `Set-Cookie` value says, before the jar applies the storage model (§5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSetCookie {
    /// Cookie name (never empty).
    pub name: String,
    /// Cookie value (may be empty).
    pub value: String,
    /// Expiry from `Max-Age` (wins) or `Expires`; `None` = session cookie.
    pub expires: Option<SystemTime>,
    /// The last non-empty `Domain` attribute, lower-cased, leading dot removed.
    pub domain: Option<String>,
    /// The last `Path` attribute that starts with `/`.
    pub path: Option<String>,
    /// `Secure` was present.
    pub secure: bool,
    /// `HttpOnly` was present.
    pub http_only: bool,
    /// The last recognised `SameSite` attribute.
    pub same_site: Option<SameSite>,
}

/// Caps from RFC 6265bis §5.6: name + value, and each attribute value.
pub(crate) const MAX_NAME_VALUE_BYTES: usize = 4096;
const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// Whitespace as §5.2 trims it.
fn trim_wsp(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\t')
}

/// Parses one `Set-Cookie` value received at `now`; `None` means "ignore this cookie".
#[must_use]
pub fn parse_set_cookie(header: &str, now: SystemTime) -> Option<ParsedSetCookie> {
    // A control character (other than HTAB) can smuggle a second header or truncate a
    // value differently in different parsers: drop the whole cookie (RFC 6265bis §5.6).
    if header
        .bytes()
        .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return None;
    }
    let (pair, attributes) = match header.find(';') {
        Some(i) => (&header[..i], Some(&header[i + 1..])),
        None => (header, None),
    };
    let eq = pair.find('=')?;
    let name = trim_wsp(&pair[..eq]);
    let value = trim_wsp(&pair[eq + 1..]);
    if name.is_empty() || name.len() + value.len() > MAX_NAME_VALUE_BYTES {
        return None;
    }
    let mut cookie = ParsedSetCookie {
        name: name.to_owned(),
        value: value.to_owned(),
        expires: None,
        domain: None,
        path: None,
        secure: false,
        http_only: false,
        same_site: None,
    };
    let mut expires = None;
    let mut max_age = None;
    for av in attributes.into_iter().flat_map(|a| a.split(';')) {
        let (key, val) = match av.find('=') {
            Some(i) => (trim_wsp(&av[..i]), trim_wsp(&av[i + 1..])),
            None => (trim_wsp(av), ""),
        };
        if val.len() > MAX_ATTRIBUTE_VALUE_BYTES {
            continue;
        }
        if key.eq_ignore_ascii_case("expires") {
            if let Some(date) = CookieDate::parse(val) {
                expires = Some(date.to_system_time());
            }
        } else if key.eq_ignore_ascii_case("max-age") {
            if let Some(delta) = parse_max_age(val) {
                max_age = Some(delta);
            }
        } else if key.eq_ignore_ascii_case("domain") {
            // An empty Domain is ignored (§5.2.3 "SHOULD ignore the cookie-av").
            if !val.is_empty() {
                let d = val.strip_prefix('.').unwrap_or(val);
                cookie.domain = Some(d.to_ascii_lowercase());
            }
        } else if key.eq_ignore_ascii_case("path") {
            // A Path that does not start with "/" means "use the default path".
            cookie.path = val.starts_with('/').then(|| val.to_owned());
        } else if key.eq_ignore_ascii_case("secure") {
            cookie.secure = true;
        } else if key.eq_ignore_ascii_case("httponly") {
            cookie.http_only = true;
        } else if key.eq_ignore_ascii_case("samesite") {
            if let Some(s) = SameSite::parse(val) {
                cookie.same_site = Some(s);
            }
        }
    }
    cookie.expires = match max_age {
        // Max-Age wins over Expires (§5.3 step 3). Zero or negative: expire now.
        Some(delta) if delta <= 0 => Some(now),
        Some(delta) => Some(
            now.checked_add(Duration::from_secs(delta.unsigned_abs()))
                .unwrap_or_else(far_future),
        ),
        None => expires,
    };
    Some(cookie)
}

/// `max-age-av`: an optional `-` then digits; anything else means "ignore the attribute".
/// Values beyond i64 saturate (they mean "practically forever").
fn parse_max_age(val: &str) -> Option<i64> {
    let (neg, digits) = match val.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, val),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10).saturating_add(i64::from(b - b'0'))
    });
    Some(if neg { -magnitude } else { magnitude })
}

/// The expiry used when `now + Max-Age` does not fit in a `SystemTime`.
pub(crate) fn far_future() -> SystemTime {
    // Year 9999, the largest year a cookie-date can name.
    std::time::UNIX_EPOCH + Duration::from_secs(253_402_300_799)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_300_000_000)
    }

    #[test]
    fn name_value_and_attributes() {
        let c = parse_set_cookie(
            " a = b c ; Path=/x; Domain=.Example.COM; Secure; HttpOnly; SameSite=lax; Max-Age=10",
            now(),
        )
        .expect("valid");
        assert_eq!((c.name.as_str(), c.value.as_str()), ("a", "b c"));
        assert_eq!(c.path.as_deref(), Some("/x"));
        assert_eq!(c.domain.as_deref(), Some("example.com"));
        assert!(c.secure && c.http_only);
        assert_eq!(c.same_site, Some(SameSite::Lax));
        assert_eq!(c.expires, Some(now() + Duration::from_secs(10)));
    }

    #[test]
    fn max_age_wins_over_expires_in_any_order() {
        for h in [
            "a=b; Max-Age=5; Expires=Wed, 09 Jun 2021 10:18:14 GMT",
            "a=b; Expires=Wed, 09 Jun 2021 10:18:14 GMT; Max-Age=5",
        ] {
            let c = parse_set_cookie(h, now()).expect("valid");
            assert_eq!(c.expires, Some(now() + Duration::from_secs(5)), "{h}");
        }
        let c = parse_set_cookie("a=b; Max-Age=-1", now()).expect("valid");
        assert_eq!(c.expires, Some(now()));
        let c = parse_set_cookie("a=b; Max-Age=1x", now()).expect("valid");
        assert_eq!(c.expires, None);
        let c = parse_set_cookie("a=b; Max-Age=99999999999999999999999", now()).expect("ok");
        assert_eq!(c.expires, Some(far_future()));
    }

    #[test]
    fn ignored_cookies() {
        for h in ["foo", "=bar", " =bar", "a=b\nSet-Cookie: c=d", "a=\x01", ""] {
            assert_eq!(parse_set_cookie(h, now()), None, "{h:?}");
        }
        let big = format!("a={}", "x".repeat(4096));
        assert_eq!(parse_set_cookie(&big, now()), None);
    }
}
