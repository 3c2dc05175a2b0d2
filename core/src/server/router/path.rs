//! Path forms used by the router: the raw request path, its *canonical* ("safe") form
//! that matching runs on, and fully decoded parameter values.
//!
//! Canonical form (aiohttp's `path_safe`): every valid `%XX` escape is decoded, except
//! `%2F` (`/`) and `%25` (`%`), which stay encoded (as uppercase `%2F` / `%25`) so that
//! decoding never invents a segment boundary nor a new escape. A `%` that does not start a
//! valid escape is a literal percent sign and is written `%25`. Consequences:
//!
//! - in canonical form every `%` starts `%2F` or `%25`, so canonicalizing is idempotent
//!   (a prefix resource's tail can be routed again by a sub-router unchanged);
//! - a literal `/` in canonical form is a real segment boundary, `%2F` is data;
//! - if the decoded bytes are not UTF-8 the path has no canonical form: routes are UTF-8
//!   strings, so such a path cannot equal any of them and resolves to "not found".

use std::borrow::Cow;

use percent_encoding::{AsciiSet, CONTROLS};

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Paths up to this long are scanned with a plain loop: `memchr`'s setup costs more
/// than the whole scan of a typical request path (tens of instructions for `/`).
const SHORT_PATH: usize = 64;

/// The first `needle` in `bytes`.
pub(crate) fn find_byte(needle: u8, bytes: &[u8]) -> Option<usize> {
    if bytes.len() <= SHORT_PATH {
        bytes.iter().position(|&b| b == needle)
    } else {
        memchr::memchr(needle, bytes)
    }
}

/// The first `a` or `b` in `bytes`.
pub(crate) fn find_either(a: u8, b: u8, bytes: &[u8]) -> Option<usize> {
    if bytes.len() <= SHORT_PATH {
        bytes.iter().position(|&x| x == a || x == b)
    } else {
        memchr::memchr2(a, b, bytes)
    }
}

/// The last `needle` in `bytes`.
pub(crate) fn rfind_byte(needle: u8, bytes: &[u8]) -> Option<usize> {
    if bytes.len() <= SHORT_PATH {
        bytes.iter().rposition(|&b| b == needle)
    } else {
        memchr::memrchr(needle, bytes)
    }
}

/// The canonical form of `path`, or `None` if its decoded bytes are not UTF-8.
/// Borrows (no allocation) when the path contains no `%`, the common case.
pub(crate) fn canonicalize(path: &str) -> Option<Cow<'_, str>> {
    let bytes = path.as_bytes();
    let Some(first) = find_byte(b'%', bytes) else {
        return Some(Cow::Borrowed(path));
    };
    let mut out = Vec::with_capacity(bytes.len() + 8);
    out.extend_from_slice(&bytes[..first]);
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let escape = bytes
            .get(i + 1)
            .and_then(|&h| hex(h))
            .zip(bytes.get(i + 2).and_then(|&l| hex(l)));
        match escape {
            Some((h, l)) => {
                let decoded = h * 16 + l;
                match decoded {
                    b'/' => out.extend_from_slice(b"%2F"),
                    b'%' => out.extend_from_slice(b"%25"),
                    _ => out.push(decoded),
                }
                i += 3;
            }
            None => {
                out.extend_from_slice(b"%25");
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Decodes a canonical-form value: `%2F` → `/`, `%25` → `%` (the only escapes left).
pub(crate) fn decode_canonical(value: &str) -> String {
    if find_byte(b'%', value.as_bytes()).is_none() {
        return value.to_owned();
    }
    // One left-to-right pass: chained `replace` calls could decode a `%25` into a `%`
    // that the next call would then read as the start of an escape.
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3);
        let (text, len) = match escape {
            Some("%2F") => ("/", 3),
            Some("%25") => ("%", 3),
            // Not produced by `canonicalize`; kept literally if a caller passes it.
            _ => ("%", 1),
        };
        out.push_str(text);
        rest = &rest[at + len..];
    }
    out.push_str(rest);
    out
}

/// Whether a canonical-form value holds an encoded slash (a `/` once decoded).
pub(crate) fn has_encoded_slash(value: &str) -> bool {
    value.contains("%2F")
}

/// RFC 3986 `pchar` is unreserved / sub-delims / `:` / `@`; everything else in a path
/// segment is percent-encoded. `%` is encoded too: values are data, not escapes.
pub(crate) const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Like [`SEGMENT`] but keeps `/`: for values a pattern lets span several segments.
pub(crate) const MULTI_SEGMENT: &AsciiSet = &SEGMENT.remove(b'/');

/// For canonical-form route literals: keeps `/` and the `%2F`/`%25` escapes they hold.
pub(crate) const CANONICAL_LITERAL: &AsciiSet = &MULTI_SEGMENT.remove(b'%');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_table() {
        let table: &[(&str, Option<&str>)] = &[
            ("/plain/path", Some("/plain/path")),
            ("/caf%C3%A9", Some("/café")),
            ("/caf%c3%a9", Some("/café")),
            ("/a%2Fb", Some("/a%2Fb")),
            ("/a%2fb", Some("/a%2Fb")),
            ("/100%25", Some("/100%25")),
            ("/100%", Some("/100%25")),
            ("/%zz", Some("/%25zz")),
            ("/%4", Some("/%254")),
            ("/%%34%31", Some("/%2541")),
            ("/%41%42", Some("/AB")),
            ("/%FF", None),
            ("/%C3", None),
            ("/%00", Some("/\0")),
        ];
        for (raw, want) in table {
            assert_eq!(canonicalize(raw).as_deref(), *want, "{raw}");
            if let Some(c) = want {
                // Idempotent: the canonical form is its own canonical form.
                assert_eq!(canonicalize(c).as_deref(), Some(*c), "{c}");
            }
        }
    }

    #[test]
    fn borrowed_without_percent() {
        assert!(matches!(canonicalize("/x/y"), Some(Cow::Borrowed(_))));
    }

    #[test]
    fn decode_table() {
        assert_eq!(decode_canonical("a%2Fb%25c"), "a/b%c");
        assert_eq!(decode_canonical("%252F"), "%2F");
        assert_eq!(decode_canonical("plain"), "plain");
        assert!(has_encoded_slash("a%2Fb"));
        assert!(!has_encoded_slash("a%252Fb"));
        assert_eq!(decode_canonical("%25%2F"), "%/");
    }
}
