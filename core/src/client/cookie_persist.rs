//! Saving and loading a [`CookieJar`] as text (aiohttp's `save`/`load`, without pickle).
//!
//! The format is one line per cookie, `key=value` fields separated by spaces, every
//! value percent-encoded so that no cookie byte can break the line structure:
//!
//! ```text
//! sansweb-cookies 1
//! cookie name=sid value=abc domain=example.com path=/ host_only=1 secure=1 http_only=1 same_site=Lax expires=+1700000000.000000000 created=+1600000000.000000000
//! ```
//!
//! `host_only` is mandatory: a host-only cookie must never come back as a domain cookie
//! (that would send it to every subdomain), so a line without it is an error, not a
//! default. Unknown keys are skipped so later versions may add fields.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::cookie_jar::{CookieJar, StoredCookie};
use super::set_cookie::SameSite;

const HEADER: &str = "sansweb-cookies 1";

/// Everything but `A-Z a-z 0-9 - . _ ~ /` is escaped.
const FIELD: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A saved jar that could not be loaded (the text is at fault, not the jar).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieLoadError {
    /// The first line is not `sansweb-cookies 1`.
    BadHeader,
    /// Line `line` (1-based) is malformed; `reason` says how.
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for CookieLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CookieLoadError::BadHeader => write!(f, "saved cookie jar: missing `{HEADER}` header"),
            CookieLoadError::BadLine { line, reason } => {
                write!(f, "saved cookie jar: line {line}: {reason}")
            }
        }
    }
}

impl std::error::Error for CookieLoadError {}

fn fmt_time(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => format!("+{}.{:09}", d.as_secs(), d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            format!("-{}.{:09}", d.as_secs(), d.subsec_nanos())
        }
    }
}

fn parse_time(s: &str) -> Option<SystemTime> {
    let (sign, rest) = (s.as_bytes().first()?, s.get(1..)?);
    let (secs, nanos) = rest.split_once('.')?;
    if nanos.len() != 9
        || !secs
            .bytes()
            .chain(nanos.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let d = Duration::new(secs.parse().ok()?, nanos.parse().ok()?);
    match sign {
        b'+' => UNIX_EPOCH.checked_add(d),
        b'-' => UNIX_EPOCH.checked_sub(d),
        _ => None,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

fn parse_line(line: &str) -> Result<StoredCookie, &'static str> {
    let rest = line
        .strip_prefix("cookie ")
        .ok_or("does not start with `cookie `")?;
    let (mut name, mut value, mut domain, mut path) = (None, None, None, None);
    let (mut host_only, mut secure, mut http_only) = (None, None, None);
    let (mut same_site, mut expires, mut created) = (None, None, None);
    for field in rest.split(' ').filter(|f| !f.is_empty()) {
        let (k, v) = field.split_once('=').ok_or("field without `=`")?;
        let v = percent_decode_str(v)
            .decode_utf8()
            .map_err(|_| "field is not UTF-8")?
            .into_owned();
        match k {
            "name" => name = Some(v),
            "value" => value = Some(v),
            "domain" => domain = Some(v),
            "path" => path = Some(v),
            "host_only" => host_only = Some(parse_bool(&v).ok_or("bad host_only")?),
            "secure" => secure = Some(parse_bool(&v).ok_or("bad secure")?),
            "http_only" => http_only = Some(parse_bool(&v).ok_or("bad http_only")?),
            "same_site" => same_site = Some(SameSite::parse(&v).ok_or("bad same_site")?),
            "expires" => expires = Some(parse_time(&v).ok_or("bad expires")?),
            "created" => created = Some(parse_time(&v).ok_or("bad created")?),
            _ => {}
        }
    }
    let name = name.filter(|n| !n.is_empty()).ok_or("missing name")?;
    let domain = domain.filter(|d| !d.is_empty()).ok_or("missing domain")?;
    let path = path.filter(|p| p.starts_with('/')).ok_or("missing path")?;
    Ok(StoredCookie {
        name,
        value: value.ok_or("missing value")?,
        domain: domain.to_ascii_lowercase(),
        path,
        host_only: host_only.ok_or("missing host_only")?,
        secure: secure.unwrap_or(false),
        http_only: http_only.unwrap_or(false),
        same_site,
        expires,
        created: created.ok_or("missing created")?,
        seq: 0,
    })
}

impl CookieJar {
    /// The jar as text (see the [module docs](self)); session cookies are included,
    /// as aiohttp's `save` does. Order is insertion order, which `load` keeps.
    #[must_use]
    pub fn save(&self) -> String {
        let mut out = String::from(HEADER);
        out.push('\n');
        for c in self.iter() {
            let enc = |s: &str| utf8_percent_encode(s, FIELD).to_string();
            out.push_str(&format!(
                "cookie name={} value={} domain={} path={} host_only={} secure={} http_only={}",
                enc(&c.name),
                enc(&c.value),
                enc(&c.domain),
                enc(&c.path),
                u8::from(c.host_only),
                u8::from(c.secure),
                u8::from(c.http_only),
            ));
            if let Some(s) = c.same_site {
                out.push_str(" same_site=");
                out.push_str(s.as_str());
            }
            if let Some(e) = c.expires {
                out.push_str(" expires=");
                out.push_str(&enc(&fmt_time(e)));
            }
            out.push_str(" created=");
            out.push_str(&enc(&fmt_time(c.created)));
            out.push('\n');
        }
        out
    }

    /// Adds the cookies saved in `text` to this jar (replacing same name/domain/path),
    /// skipping those already expired at `now`; returns how many were added. On error
    /// nothing is added.
    pub fn load(&mut self, text: &str, now: SystemTime) -> Result<usize, CookieLoadError> {
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some(HEADER) {
            return Err(CookieLoadError::BadHeader);
        }
        let mut parsed = Vec::new();
        for (i, line) in lines.enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let cookie = parse_line(line).map_err(|reason| CookieLoadError::BadLine {
                line: i + 2,
                reason,
            })?;
            parsed.push(cookie);
        }
        let mut added = 0;
        for cookie in parsed {
            if !cookie.is_expired(now) {
                self.insert_loaded(cookie, now);
                added += 1;
            }
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_round_trip() {
        for t in [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_700_000_000, 123),
            UNIX_EPOCH + Duration::new(253_402_300_799, 999_999_999),
        ] {
            assert_eq!(parse_time(&fmt_time(t)), Some(t));
        }
        for bad in [
            "",
            "+",
            "+1",
            "+1.1",
            "1.000000000",
            "+a.000000000",
            "+1.0000000000",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_texts() {
        let mut jar = CookieJar::new();
        let now = UNIX_EPOCH;
        assert_eq!(jar.load("", now), Err(CookieLoadError::BadHeader));
        let no_host_only =
            format!("{HEADER}\ncookie name=a value=b domain=x.org path=/ created=+1.000000000\n");
        assert_eq!(
            jar.load(&no_host_only, now),
            Err(CookieLoadError::BadLine {
                line: 2,
                reason: "missing host_only"
            })
        );
        let junk = format!("{HEADER}\nhello\n");
        assert!(matches!(
            jar.load(&junk, now),
            Err(CookieLoadError::BadLine { line: 2, .. })
        ));
        assert!(jar.is_empty());
    }
}
