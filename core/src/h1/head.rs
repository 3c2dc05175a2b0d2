//! Message heads in `http` crate types, with the raw bytes kept for original order and case.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri, Version};

/// A request head: what a server receives and a client sends.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target as sent: origin-form (`/path?q`), absolute-form (through a
    /// proxy), authority-form (CONNECT) or `*` (OPTIONS).
    pub uri: Uri,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
    /// The header fields (names lower-cased by `http`; see [`RequestHead::raw_headers`]).
    pub headers: HeaderMap,
    pub(crate) raw: Bytes,
}

/// A response head: what a client receives and a server sends.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// The status code.
    pub status: StatusCode,
    /// The reason phrase; `None` sends the canonical one (or none for unknown codes).
    pub reason: Option<Bytes>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
    /// The header fields.
    pub headers: HeaderMap,
    pub(crate) raw: Bytes,
}

impl RequestHead {
    /// A head to send: `HTTP/1.1`, no headers.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri,
            version: Version::HTTP_11,
            headers: HeaderMap::new(),
            raw: Bytes::new(),
        }
    }

    /// For a received head: its header fields in the order they came, with the names in
    /// their original case. Empty for a head built locally.
    #[must_use]
    pub fn raw_headers(&self) -> RawHeaders<'_> {
        RawHeaders::after_start_line(&self.raw)
    }

    /// For a received head: the request target exactly as sent (fragment included, no
    /// normalisation). `None` for a head built locally.
    #[must_use]
    pub fn raw_target(&self) -> Option<&[u8]> {
        let line_end = memchr::memchr(b'\r', &self.raw)?;
        let line = &self.raw[..line_end];
        let first = memchr::memchr(b' ', line)?;
        let last = memchr::memrchr(b' ', line)?;
        (last > first).then(|| &line[first + 1..last])
    }
}

impl ResponseHead {
    /// A head to send: `HTTP/1.1`, the canonical reason, no headers.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            version: Version::HTTP_11,
            headers: HeaderMap::new(),
            raw: Bytes::new(),
        }
    }

    /// For a received head: its header fields in the order they came, with the names in
    /// their original case. Empty for a head built locally.
    #[must_use]
    pub fn raw_headers(&self) -> RawHeaders<'_> {
        RawHeaders::after_start_line(&self.raw)
    }

    /// The reason phrase as text (the received one, else the canonical one).
    #[must_use]
    pub fn reason_phrase(&self) -> &str {
        match &self.reason {
            Some(r) => std::str::from_utf8(r).unwrap_or(""),
            None => self.status.canonical_reason().unwrap_or(""),
        }
    }
}

/// Heads compare by meaning: method/status, target/reason, version and fields (the raw
/// bytes they were parsed from are not compared).
impl PartialEq for RequestHead {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.uri == other.uri
            && self.version == other.version
            && self.headers == other.headers
    }
}

impl PartialEq for ResponseHead {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
            && self.reason_phrase() == other.reason_phrase()
            && self.version == other.version
            && self.headers == other.headers
    }
}

/// Header fields of a received head in their original order and case, as
/// `(name, value)` byte slices. Computed on demand from the head's bytes, so keeping
/// them costs nothing when unused.
#[derive(Debug, Clone)]
pub struct RawHeaders<'a> {
    rest: &'a [u8],
}

impl<'a> RawHeaders<'a> {
    fn after_start_line(raw: &'a [u8]) -> Self {
        let rest = match memchr::memchr(b'\n', raw) {
            Some(i) => &raw[i + 1..],
            None => &[],
        };
        Self { rest }
    }
}

impl<'a> Iterator for RawHeaders<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // The head was validated when it was parsed: every line is `name:value CRLF` and
        // the section ends with an empty line.
        let end = memchr::memchr(b'\n', self.rest)?;
        let line = &self.rest[..end.saturating_sub(1)];
        self.rest = &self.rest[end + 1..];
        if line.is_empty() {
            self.rest = &[];
            return None;
        }
        let colon = memchr::memchr(b':', line)?;
        Some((&line[..colon], trim_ows(&line[colon + 1..])))
    }
}

/// Strips optional whitespace (SP / HTAB) from both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}
