//! Body framing and connection persistence (RFC 9112 §6, §9.3), decided once per head.
//!
//! Shared by both roles: the same header facts (Content-Length, Transfer-Encoding,
//! Connection, Upgrade, Expect) are gathered in one pass over the parsed fields, and then
//! [`request_framing`] or [`response_framing`] apply each role's rules. Anything
//! ambiguous is rejected rather than guessed at, since two parsers guessing differently
//! is what request smuggling is made of.

use super::error::ErrorKind;
use super::head::trim_ows;
use http::{header, HeaderName, Method, StatusCode, Version};

/// How a message body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body at all.
    Empty,
    /// Exactly this many bytes (`Content-Length`).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the connection closes (responses only).
    CloseDelimited,
}

/// Facts about a head's fields that decide framing and persistence.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldFacts {
    pub content_length: Option<u64>,
    pub transfer_encoding: bool,
    pub chunked_final: bool,
    /// A coding came after chunked (or chunked twice).
    pub chunked_not_final: bool,
    pub unknown_coding: bool,
    pub host_count: u32,
    /// A Host value with bytes outside `uri-host [":" port]`.
    pub host_invalid: bool,
    pub connection_close: bool,
    pub connection_keep_alive: bool,
    pub connection_upgrade: bool,
    pub upgrade: bool,
    pub expect_continue: bool,
    /// An Expect member other than `100-continue` (a request is answered 417).
    pub expect_unknown: bool,
}

impl FieldFacts {
    /// Takes one field into account. Errors on duplicate or malformed framing fields.
    pub fn observe(&mut self, name: &HeaderName, value: &[u8]) -> Result<(), ErrorKind> {
        // `HeaderName`s of the standard set compare by a one-byte tag: no text compare.
        let kind = if *name == header::CONTENT_LENGTH {
            Framing::ContentLength
        } else if *name == header::TRANSFER_ENCODING {
            Framing::TransferEncoding
        } else if *name == header::HOST {
            Framing::Host
        } else if *name == header::CONNECTION {
            Framing::Connection
        } else if *name == header::UPGRADE {
            Framing::Upgrade
        } else if *name == header::EXPECT {
            Framing::Expect
        } else {
            return Ok(());
        };
        self.observe_kind(kind, value)
    }

    /// [`FieldFacts::observe`] for a name as received (any case), before any
    /// `HeaderName` exists: parsing decides framing without building a header map.
    #[inline]
    pub fn observe_raw(&mut self, name: &[u8], value: &[u8]) -> Result<(), ErrorKind> {
        // The length first: most fields are none of these, and that costs one compare.
        let kind = match name.len() {
            14 if token_is(name, b"content-length") => Framing::ContentLength,
            17 if token_is(name, b"transfer-encoding") => Framing::TransferEncoding,
            4 if token_is(name, b"host") => Framing::Host,
            10 if token_is(name, b"connection") => Framing::Connection,
            7 if token_is(name, b"upgrade") => Framing::Upgrade,
            6 if token_is(name, b"expect") => Framing::Expect,
            _ => return Ok(()),
        };
        self.observe_kind(kind, value)
    }

    fn observe_kind(&mut self, kind: Framing, value: &[u8]) -> Result<(), ErrorKind> {
        match kind {
            Framing::ContentLength => {
                if self.content_length.is_some() {
                    return Err(ErrorKind::DuplicateContentLength);
                }
                self.content_length = Some(parse_content_length(value)?);
            }
            Framing::TransferEncoding => {
                self.transfer_encoding = true;
                for coding in value.split(|&b| b == b',') {
                    let coding = trim_ows(coding);
                    if coding.is_empty() {
                        continue;
                    }
                    if self.chunked_final {
                        // Something after chunked: chunked is not final (or given twice).
                        self.chunked_final = false;
                        self.chunked_not_final = true;
                    }
                    if coding.eq_ignore_ascii_case(b"chunked") {
                        if !self.chunked_not_final {
                            self.chunked_final = true;
                        }
                    } else if !is_registered_coding(coding) {
                        self.unknown_coding = true;
                    }
                }
            }
            Framing::Host => {
                self.host_count += 1;
                // RFC 9112 §3.2: a Host that is not `uri-host [":" port]` (a list such as
                // `a, b`, whitespace, controls) is answered with 400, like a duplicate: two
                // readers would pick different hosts (aiohttp CVE-2026-34525).
                self.host_invalid |= !all_host_bytes(value);
            }
            Framing::Connection => {
                // Most values are one keyword (a browser's `keep-alive`): the whole value
                // is compared first, without walking it for commas.
                if !self.connection_token(value) {
                    for token in value.split(|&b| b == b',') {
                        self.connection_token(trim_ows(token));
                    }
                }
            }
            Framing::Upgrade => self.upgrade = true,
            Framing::Expect => {
                for member in value.split(|&b| b == b',') {
                    let member = trim_ows(member);
                    if token_is(member, b"100-continue") {
                        self.expect_continue = true;
                    } else if !member.is_empty() {
                        self.expect_unknown = true;
                    }
                }
            }
        }
        Ok(())
    }

    /// Notes one Connection option; whether it was one of the three that matter.
    #[inline(always)]
    fn connection_token(&mut self, token: &[u8]) -> bool {
        if token_is(token, b"keep-alive") {
            self.connection_keep_alive = true;
        } else if token_is(token, b"close") {
            self.connection_close = true;
        } else if token_is(token, b"upgrade") {
            self.connection_upgrade = true;
        } else {
            return false;
        }
        true
    }

    /// Whether the sender of this message allows the connection to persist after it.
    pub fn keep_alive(&self, version: Version) -> bool {
        if self.connection_close {
            return false;
        }
        version == Version::HTTP_11 || self.connection_keep_alive
    }

    /// Whether the message asks to switch protocols (`Connection: upgrade` + `Upgrade`).
    pub fn wants_upgrade(&self) -> bool {
        self.upgrade && self.connection_upgrade
    }
}

/// Whether `name` is `lower` (lower-case letters, digits and `-`) in any case, a word
/// at a time rather than a byte loop: every field name of every head is compared with
/// one of these (a browser's `Sec-Fetch-Mode` with `content-length`, say), and the
/// values of Connection and Expect with their keywords.
///
/// Exact for names and values, which hold no control byte but HTAB: OR-ing 0x20 into a
/// byte maps onto a lower-case letter only that letter and its capital, onto a digit
/// or `-` only itself (the other byte that would is a control), and HTAB onto `)`.
#[inline(always)]
fn token_is(name: &[u8], lower: &'static [u8]) -> bool {
    fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
        let mut word = [0; N];
        word.copy_from_slice(&bytes[at..at + N]);
        word
    }
    let len = lower.len();
    if name.len() != len {
        return false;
    }
    if len >= 8 {
        const FOLD: u64 = 0x2020_2020_2020_2020;
        let at = |i| u64::from_le_bytes(word(name, i)) | FOLD == u64::from_le_bytes(word(lower, i));
        // Words at 0, 8, ... and one ending at the end (overlapping the one before).
        (0..len - 8).step_by(8).all(at) && at(len - 8)
    } else if len >= 4 {
        const FOLD: u32 = 0x2020_2020;
        let at = |i| u32::from_le_bytes(word(name, i)) | FOLD == u32::from_le_bytes(word(lower, i));
        at(0) && at(len - 4)
    } else {
        name.eq_ignore_ascii_case(lower)
    }
}

/// The fields that decide framing and persistence.
#[derive(Debug, Clone, Copy)]
enum Framing {
    ContentLength,
    TransferEncoding,
    Host,
    Connection,
    Upgrade,
    Expect,
}

/// Transfer codings from the IANA registry (RFC 9112 §7) besides chunked. They may
/// precede chunked in a request; the body is passed on de-chunked, still so coded, with
/// the Transfer-Encoding header for the application to see.
fn is_registered_coding(coding: &[u8]) -> bool {
    let coding = match coding.iter().position(|&b| b == b';') {
        Some(i) => trim_ows(&coding[..i]),
        None => coding,
    };
    [
        "gzip",
        "x-gzip",
        "deflate",
        "compress",
        "x-compress",
        "identity",
        "br",
        "zstd",
    ]
    .iter()
    .any(|known| coding.eq_ignore_ascii_case(known.as_bytes()))
}

/// `Content-Length = 1*DIGIT`, nothing else: no sign, no list, no inner spaces.
pub(crate) fn parse_content_length(value: &[u8]) -> Result<u64, ErrorKind> {
    if value.is_empty() || value.len() > 19 {
        // 19 digits always fit in a u64; more may not, and no real body is that large.
        return Err(ErrorKind::InvalidContentLength);
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return Err(ErrorKind::InvalidContentLength);
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Ok(n)
}

/// Whether every byte of `value` may be in `uri-host [":" port]` (RFC 3986 reg-name, IP
/// literals and a port).
///
/// A table, since every request's Host goes through here (a search of the punctuation
/// list, a `memchr` call per `.` or `:`, was most of a short request's field checks);
/// and the table's verdicts are OR-ed eight bytes at a time with one branch per eight,
/// where stopping at the first refused byte cost a compare and a branch per byte
/// (~9 instructions a byte in callgrind, 138 for `127.0.0.1:28481`).
fn all_host_bytes(value: &[u8]) -> bool {
    let refused = |acc: u8, b: &u8| acc | HOST_REFUSED[usize::from(*b)];
    let mut chunks = value.chunks_exact(8);
    for chunk in &mut chunks {
        if chunk.iter().fold(0, refused) != 0 {
            return false;
        }
    }
    chunks.remainder().iter().fold(0, refused) == 0
}

/// 1 for a byte refused in a Host value, 0 for one allowed.
const HOST_REFUSED: [u8; 256] = {
    let allowed = host_bytes();
    let mut table = [1; 256];
    let mut i = 0;
    while i < 256 {
        if allowed[i] {
            table[i] = 0;
        }
        i += 1;
    }
    table
};

/// The bytes of `uri-host [":" port]`.
const fn host_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let punctuation = b"-._~%!$&'()*+,;=:[]";
    let mut i = 0;
    while i < punctuation.len() {
        table[punctuation[i] as usize] = true;
        i += 1;
    }
    let mut b = 0u8;
    loop {
        if b.is_ascii_alphanumeric() {
            table[b as usize] = true;
        }
        if b == u8::MAX {
            break;
        }
        b += 1;
    }
    table
}

/// The framing of a request (server side of RFC 9112 §6.3).
pub(crate) fn request_framing(
    facts: &FieldFacts,
    version: Version,
    require_host: bool,
) -> Result<BodyFraming, ErrorKind> {
    if facts.host_count > 1 {
        return Err(ErrorKind::DuplicateHost);
    }
    if facts.host_invalid {
        return Err(ErrorKind::InvalidHeaderValue);
    }
    if require_host && facts.host_count == 0 && version == Version::HTTP_11 {
        return Err(ErrorKind::MissingHost);
    }
    if facts.expect_unknown {
        // RFC 9110 §10.1.1 allows 417 for an expectation the server cannot meet; aiohttp
        // answers it too, and a client waiting for 100 learns at once that none will come.
        return Err(ErrorKind::UnsupportedExpectation);
    }
    if facts.transfer_encoding {
        if version == Version::HTTP_10 {
            return Err(ErrorKind::TransferEncodingInHttp10);
        }
        if facts.content_length.is_some() {
            return Err(ErrorKind::ContentLengthWithTransferEncoding);
        }
        if !facts.chunked_final {
            // A request body must be chunked last, or its length is unknowable.
            return Err(ErrorKind::InvalidTransferEncoding);
        }
        if facts.unknown_coding {
            return Err(ErrorKind::UnsupportedTransferCoding);
        }
        return Ok(BodyFraming::Chunked);
    }
    Ok(match facts.content_length {
        Some(0) | None => BodyFraming::Empty,
        Some(n) => BodyFraming::Length(n),
    })
}

/// Whether a request's method gives it no body whatever its headers say: CONNECT's
/// bytes after the head belong to the tunnel (RFC 9110 §9.3.6).
pub(crate) fn method_has_no_body(method: &Method) -> bool {
    *method == Method::CONNECT
}

/// The framing of a response to a request with `method` (client side of RFC 9112 §6.3).
pub(crate) fn response_framing(
    facts: &FieldFacts,
    status: StatusCode,
    method: &Method,
) -> Result<BodyFraming, ErrorKind> {
    // Both framing fields: refused whatever the status (RFC 9112 §6.1 calls it a
    // smuggling or splitting attempt), as the early checks refuse them in a head that
    // trickles in; a 204 or HEAD answer must not make the verdict depend on the reads.
    if facts.transfer_encoding && facts.content_length.is_some() {
        return Err(ErrorKind::ContentLengthWithTransferEncoding);
    }
    if *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || (*method == Method::CONNECT && status.is_success())
    {
        return Ok(BodyFraming::Empty);
    }
    if facts.transfer_encoding {
        // RFC 9112 §6.3 (4): chunked not final → read until close.
        return Ok(if facts.chunked_final {
            BodyFraming::Chunked
        } else {
            BodyFraming::CloseDelimited
        });
    }
    Ok(match facts.content_length {
        Some(0) => BodyFraming::Empty,
        Some(n) => BodyFraming::Length(n),
        None => BodyFraming::CloseDelimited,
    })
}

/// Whether a response status/method pair may carry a body when we send one.
pub(crate) fn response_has_body(status: StatusCode, method: &Method) -> bool {
    !(*method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED)
}

/// Gathers facts from an outgoing header map (already valid `http` types).
pub(crate) fn facts_of<'a>(
    headers: impl Iterator<Item = (&'a HeaderName, &'a http::HeaderValue)>,
) -> Result<FieldFacts, ErrorKind> {
    let mut facts = FieldFacts::default();
    for (name, value) in headers {
        facts
            .observe(name, value.as_bytes())
            .map_err(|_| ErrorKind::InvalidOutgoingHead("contradictory framing headers"))?;
    }
    Ok(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connection options: (close, keep-alive, upgrade) for each value, whole-value
    /// keywords and lists alike.
    #[test]
    fn connection_options() {
        for (value, expected) in [
            (&b"keep-alive"[..], (false, true, false)),
            (b"Close", (true, false, false)),
            (b"UPGRADE", (false, false, true)),
            (b"keep-alive, Upgrade", (false, true, true)),
            (b" close ", (true, false, false)),
            (b"close,", (true, false, false)),
            (b",,keep-alive", (false, true, false)),
            (b"te, close", (true, false, false)),
            (b"keep-alive2", (false, false, false)),
            (b"keep alive", (false, false, false)),
            (b"", (false, false, false)),
            (b"foo", (false, false, false)),
        ] {
            let mut facts = FieldFacts::default();
            facts.observe_raw(b"Connection", value).expect("no error");
            let got = (
                facts.connection_close,
                facts.connection_keep_alive,
                facts.connection_upgrade,
            );
            assert_eq!(got, expected, "{:?}", String::from_utf8_lossy(value));
        }
    }

    /// The word compare agrees with `eq_ignore_ascii_case` for every framing name and
    /// keyword in every case and with every byte position changed to every byte a name
    /// or value may hold (HTAB, SP and up, but DEL).
    #[test]
    fn token_is_matches_a_case_blind_compare() {
        let tchars: Vec<u8> = (0u8..=255)
            .filter(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
            .collect();
        for lower in [
            &b"content-length"[..],
            b"transfer-encoding",
            b"host",
            b"connection",
            b"upgrade",
            b"expect",
            b"close",
            b"keep-alive",
            b"100-continue",
        ] {
            let upper = lower.to_ascii_uppercase();
            assert!(token_is(lower, lower) && token_is(&upper, lower));
            assert!(!token_is(&lower[1..], lower));
            for at in 0..lower.len() {
                for &b in &tchars {
                    let mut name = upper.clone();
                    name[at] = b;
                    assert_eq!(
                        token_is(&name, lower),
                        name.eq_ignore_ascii_case(lower),
                        "{:?} vs {:?}",
                        String::from_utf8_lossy(&name),
                        String::from_utf8_lossy(lower)
                    );
                }
            }
        }
    }

    /// The table holds exactly the bytes of `uri-host [":" port]`: alphanumerics and
    /// the reg-name / IP-literal / port punctuation, nothing else (no space, comma
    /// lists aside, controls, `/`, `@`, obs-text).
    #[test]
    fn typed_and_raw_names_observe_alike() {
        let fields: &[(&str, &[u8])] = &[
            ("content-length", b"12"),
            ("transfer-encoding", b"gzip, chunked"),
            ("host", b"example.com:80"),
            ("connection", b"keep-alive, Upgrade"),
            ("upgrade", b"websocket"),
            ("expect", b"100-continue"),
            ("content-type", b"text/plain"),
            ("x-custom", b"1"),
        ];
        let (mut typed, mut raw) = (FieldFacts::default(), FieldFacts::default());
        for (name, value) in fields {
            let header = HeaderName::from_static(name);
            typed.observe(&header, value).expect("typed");
            raw.observe_raw(name.to_ascii_uppercase().as_bytes(), value)
                .expect("raw");
        }
        assert_eq!(format!("{typed:?}"), format!("{raw:?}"));
        assert_eq!(typed.content_length, Some(12));
        assert!(typed.chunked_final && typed.host_count == 1 && typed.expect_continue);
        assert!(typed.wants_upgrade() && typed.connection_keep_alive);
        // A duplicate Content-Length is refused by both.
        assert!(typed.observe(&header::CONTENT_LENGTH, b"12").is_err());
        assert!(raw.observe_raw(b"Content-Length", b"12").is_err());
    }

    #[test]
    fn host_byte_table_is_the_listed_set() {
        let is_host_byte = |b: u8| all_host_bytes(&[b]);
        for b in 0..=u8::MAX {
            let listed = b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:[]".contains(&b);
            assert_eq!(is_host_byte(b), listed, "byte {b:#04x}");
            // At every position of values across the eight-byte steps and the rest.
            for len in 1..=20 {
                for at in 0..len {
                    let mut value = vec![b'a'; len];
                    value[at] = b;
                    assert_eq!(all_host_bytes(&value), listed, "{b:#04x} at {at} of {len}");
                }
            }
        }
        assert!(all_host_bytes(b""));
        assert!(!is_host_byte(b' ') && !is_host_byte(b'/') && !is_host_byte(b'@'));
        assert!(!is_host_byte(0) && !is_host_byte(0x7f) && !is_host_byte(0xe9));
    }
}
