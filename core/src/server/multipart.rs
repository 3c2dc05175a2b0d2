//! Streaming `multipart/form-data` (RFC 7578 over RFC 2046 framing): a sans-IO parser
//! fed the request body piece by piece. The adapters' `Request::multipart()` drives it.
//!
//! # Theory of operation
//!
//! The body is `preamble DELIM part (DELIM part)* DELIM "--" epilogue`, where `DELIM` is
//! `CRLF "--" boundary` (the first one may start the body without its CRLF). A part is a
//! header section (CRLF-terminated lines, an empty line) and its content, which runs up
//! to the next `DELIM`: the CRLF before a delimiter belongs to the delimiter, not the
//! content.
//!
//! ```text
//!   Preamble ──DELIM──► AfterDelimiter ──CRLF──► Headers ──empty line──► Body
//!                          │   ▲                                           │
//!                          │   └──────────────────DELIM────────────────────┘
//!                          └──"--"──► Epilogue (ignored; End reported at once)
//! ```
//!
//! Memory stays bounded whatever the peer sends: part content is handed out as it
//! arrives, holding back only the bytes that could be the start of a delimiter (fewer
//! than its length); the preamble and epilogue are dropped; a part's header section is
//! capped in bytes and in fields, and the number of parts is capped. Every byte is
//! looked at a bounded number of times (the header scan resumes where it stopped).
//! Header lines must end in CRLF: a bare LF or CR, obs-fold, or a field that is not
//! `name: value` is the peer's error, as is a body that ends before the close delimiter.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;

/// Caps on what a peer can make the parser hold or count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Bytes of one part's header section, line ends included (default 8 KiB).
    pub max_header_bytes: usize,
    /// Header fields in one part (default 16).
    pub max_headers: usize,
    /// Parts in one body (default 1024).
    pub max_parts: usize,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        Self {
            max_header_bytes: 8 * 1024,
            max_headers: 16,
            max_parts: 1024,
        }
    }
}

/// Why a multipart body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartError {
    /// Local/request setup: the Content-Type is not `multipart/*`.
    NotMultipart,
    /// The peer's Content-Type has no `boundary` parameter.
    MissingBoundary,
    /// The peer's boundary is empty, longer than 70 bytes or has characters RFC 2046
    /// forbids.
    InvalidBoundary,
    /// The peer followed a boundary with something other than CRLF or `--`.
    BadDelimiterLine,
    /// The peer sent a malformed part header line (bare CR/LF, obs-fold, bad name or
    /// value).
    BadHeaderLine(String),
    /// The peer sent a part header section over the byte limit.
    HeadersTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The peer sent more header fields in one part than allowed.
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// The peer sent more parts than allowed.
    TooManyParts {
        /// The limit in force.
        limit: usize,
    },
    /// The peer's body ended before the close delimiter.
    Truncated,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMultipart => f.write_str("request body is not multipart"),
            Self::MissingBoundary => f.write_str("peer sent multipart without a boundary"),
            Self::InvalidBoundary => f.write_str("peer sent an invalid multipart boundary"),
            Self::BadDelimiterLine => {
                f.write_str("peer sent a multipart boundary not followed by CRLF or \"--\"")
            }
            Self::BadHeaderLine(why) => write!(f, "peer sent a bad multipart header: {why}"),
            Self::HeadersTooLarge { limit } => {
                write!(f, "peer sent a multipart header section over {limit} bytes")
            }
            Self::TooManyHeaders { limit } => {
                write!(f, "peer sent more than {limit} headers in a multipart part")
            }
            Self::TooManyParts { limit } => write!(f, "peer sent more than {limit} parts"),
            Self::Truncated => {
                f.write_str("peer's multipart body ended before its close delimiter")
            }
        }
    }
}

impl std::error::Error for MultipartError {}

/// A part's header section, with the `Content-Disposition` parameters picked out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartHead {
    /// Every header field of the part.
    pub headers: HeaderMap,
    /// The form field name (`Content-Disposition: form-data; name=..`).
    pub name: Option<String>,
    /// The file name, if the part is a file (`filename*` preferred over `filename`).
    pub filename: Option<String>,
}

impl PartHead {
    /// The part's `Content-Type`, if given (RFC 7578 defaults it to `text/plain`).
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }
}

/// What the parser reports, in order: `Part`, its `Data`*, `PartEnd`, ..., `End`.
#[derive(Debug, Clone, PartialEq)]
pub enum MultipartEvent {
    /// A part starts.
    Part(PartHead),
    /// Content of the current part.
    Data(Bytes),
    /// The current part's content is complete.
    PartEnd,
    /// The close delimiter was seen; nothing more follows.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter; `at_start` while it may still open the body.
    Preamble {
        at_start: bool,
    },
    AfterDelimiter,
    Headers,
    Body,
    Epilogue,
}

/// The sans-IO multipart parser: [`handle_input`](Self::handle_input) /
/// [`handle_eof`](Self::handle_eof) in, [`poll_event`](Self::poll_event) out; `Ok(None)`
/// means "feed me more". Errors are sticky.
#[derive(Debug)]
pub struct MultipartParser {
    /// `CRLF "--" boundary`.
    delimiter: Vec<u8>,
    limits: MultipartLimits,
    buf: BytesMut,
    state: State,
    eof: bool,
    error: Option<MultipartError>,
    /// Header section of the part being read: bytes consumed, where the line scan
    /// resumes, fields so far.
    header_bytes: usize,
    scan_from: usize,
    head: HeaderMap,
    parts: usize,
}

impl MultipartParser {
    /// A parser for `boundary` (as given in the Content-Type).
    pub fn new(boundary: &str, limits: MultipartLimits) -> Result<Self, MultipartError> {
        if !valid_boundary(boundary) {
            return Err(MultipartError::InvalidBoundary);
        }
        let mut delimiter = b"\r\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        Ok(Self {
            delimiter,
            limits,
            buf: BytesMut::new(),
            state: State::Preamble { at_start: true },
            eof: false,
            error: None,
            header_bytes: 0,
            scan_from: 0,
            head: HeaderMap::new(),
            parts: 0,
        })
    }

    /// A parser for the boundary in a `Content-Type` header value.
    pub fn from_content_type(
        content_type: &str,
        limits: MultipartLimits,
    ) -> Result<Self, MultipartError> {
        Self::new(&boundary_of(content_type)?, limits)
    }

    /// More body bytes.
    pub fn handle_input(&mut self, bytes: &[u8]) {
        if self.state != State::Epilogue {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// The body ended.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// The next event; `Ok(None)` when more input is needed (or after `End`).
    #[must_use = "events carry the parts"]
    pub fn poll_event(&mut self) -> Result<Option<MultipartEvent>, MultipartError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let result = self.step();
        if let Err(e) = &result {
            self.error = Some(e.clone());
        }
        result
    }

    fn step(&mut self) -> Result<Option<MultipartEvent>, MultipartError> {
        loop {
            match self.state {
                State::Preamble { at_start } => {
                    let dash_boundary = &self.delimiter[2..];
                    if at_start {
                        let n = self.buf.len().min(dash_boundary.len());
                        if self.buf[..n] != dash_boundary[..n] {
                            self.state = State::Preamble { at_start: false };
                            continue;
                        }
                        if n < dash_boundary.len() {
                            return self.need_more();
                        }
                        self.buf.advance(n);
                        self.state = State::AfterDelimiter;
                        continue;
                    }
                    match find(&self.buf, &self.delimiter) {
                        Some(at) => {
                            self.buf.advance(at + self.delimiter.len());
                            self.state = State::AfterDelimiter;
                        }
                        None => {
                            let keep = partial_suffix(&self.buf, &self.delimiter);
                            let drop = self.buf.len() - keep;
                            self.buf.advance(drop);
                            return self.need_more();
                        }
                    }
                }
                State::AfterDelimiter => {
                    // `--` closes; otherwise optional transport padding, then CRLF.
                    if self.buf.starts_with(b"--") {
                        self.buf.clear();
                        self.state = State::Epilogue;
                        return Ok(Some(MultipartEvent::End));
                    }
                    let pad = self
                        .buf
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    if pad > 64 {
                        return Err(MultipartError::BadDelimiterLine);
                    }
                    let rest = &self.buf[pad..];
                    if rest.starts_with(b"\r\n") {
                        self.buf.advance(pad + 2);
                        self.state = State::Headers;
                        self.header_bytes = 0;
                        self.scan_from = 0;
                        self.head = HeaderMap::new();
                        continue;
                    }
                    let could_continue =
                        rest.is_empty() || rest == b"\r" || (pad == 0 && self.buf.as_ref() == b"-");
                    if !could_continue {
                        return Err(MultipartError::BadDelimiterLine);
                    }
                    return self.need_more();
                }
                State::Headers => match self.header_line()? {
                    HeaderStep::NeedMore => return self.need_more(),
                    HeaderStep::Field => {}
                    HeaderStep::Done(head) => return Ok(Some(MultipartEvent::Part(head))),
                },
                State::Body => {
                    return match find(&self.buf, &self.delimiter) {
                        Some(0) => {
                            self.buf.advance(self.delimiter.len());
                            self.state = State::AfterDelimiter;
                            Ok(Some(MultipartEvent::PartEnd))
                        }
                        Some(at) => Ok(Some(MultipartEvent::Data(self.buf.split_to(at).freeze()))),
                        None => {
                            let keep = partial_suffix(&self.buf, &self.delimiter);
                            let ready = self.buf.len() - keep;
                            if ready > 0 {
                                Ok(Some(MultipartEvent::Data(
                                    self.buf.split_to(ready).freeze(),
                                )))
                            } else {
                                self.need_more()
                            }
                        }
                    };
                }
                State::Epilogue => {
                    self.buf.clear();
                    return Ok(None);
                }
            }
        }
    }

    fn need_more(&self) -> Result<Option<MultipartEvent>, MultipartError> {
        if self.eof {
            Err(MultipartError::Truncated)
        } else {
            Ok(None)
        }
    }

    /// Consumes one complete header line, if buffered. The empty line ends the section
    /// and yields the part's head.
    fn header_line(&mut self) -> Result<HeaderStep, MultipartError> {
        let limit = self.limits.max_header_bytes;
        let Some(lf) = self.buf[self.scan_from..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| i + self.scan_from)
        else {
            self.scan_from = self.buf.len();
            if self.header_bytes + self.buf.len() > limit {
                return Err(MultipartError::HeadersTooLarge { limit });
            }
            return Ok(HeaderStep::NeedMore);
        };
        self.header_bytes += lf + 1;
        if self.header_bytes > limit {
            return Err(MultipartError::HeadersTooLarge { limit });
        }
        if lf == 0 || self.buf[lf - 1] != b'\r' {
            return Err(MultipartError::BadHeaderLine(
                "line not ended by CRLF".into(),
            ));
        }
        let line = self.buf.split_to(lf + 1);
        self.scan_from = 0;
        let line = &line[..lf - 1];
        if line.is_empty() {
            self.parts += 1;
            if self.parts > self.limits.max_parts {
                return Err(MultipartError::TooManyParts {
                    limit: self.limits.max_parts,
                });
            }
            self.state = State::Body;
            let headers = std::mem::take(&mut self.head);
            return Ok(HeaderStep::Done(part_head(headers)));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(MultipartError::BadHeaderLine("obs-fold".into()));
        }
        if line.contains(&b'\r') {
            return Err(MultipartError::BadHeaderLine("bare CR".into()));
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| MultipartError::BadHeaderLine("no colon".into()))?;
        let name = HeaderName::from_bytes(&line[..colon])
            .map_err(|_| MultipartError::BadHeaderLine("bad field name".into()))?;
        let value = trim_ows(&line[colon + 1..]);
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| MultipartError::BadHeaderLine("bad field value".into()))?;
        if self.head.len() >= self.limits.max_headers {
            return Err(MultipartError::TooManyHeaders {
                limit: self.limits.max_headers,
            });
        }
        self.head.append(name, value);
        Ok(HeaderStep::Field)
    }
}

/// What one step of the header section did.
enum HeaderStep {
    /// No complete line buffered.
    NeedMore,
    /// A field line was consumed.
    Field,
    /// The empty line: the section is complete.
    Done(PartHead),
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// First position of `needle` in `hay`: jumps between CRs (the delimiter's first byte),
/// so each byte is looked at about once.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if hay.len() - at < needle.len() {
            return None;
        }
        if &hay[at..at + needle.len()] == needle {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Length of the longest suffix of `hay` that is a proper prefix of `needle` (bytes
/// that might be the start of a delimiter still arriving).
fn partial_suffix(hay: &[u8], needle: &[u8]) -> usize {
    let max = hay.len().min(needle.len() - 1);
    (1..=max)
        .rev()
        .find(|&k| hay[hay.len() - k..] == needle[..k])
        .unwrap_or(0)
}

/// RFC 2046: 1 to 70 of `bchars`, not ending in a space.
fn valid_boundary(b: &str) -> bool {
    !b.is_empty()
        && b.len() <= 70
        && !b.ends_with(' ')
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c))
}

/// The `boundary` parameter of a `multipart/*` Content-Type value.
pub fn boundary_of(content_type: &str) -> Result<String, MultipartError> {
    let (media, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !media.trim().to_ascii_lowercase().starts_with("multipart/") {
        return Err(MultipartError::NotMultipart);
    }
    params_of(params)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v)
        .ok_or(MultipartError::MissingBoundary)
}

/// `; name=value; name="quoted \" value"` → pairs (values unquoted).
fn params_of(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        let Some(eq) = rest.find('=') else { break };
        let name = rest[..eq].trim().to_owned();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let end = rest.find(';').unwrap_or(rest.len());
            value = rest[..end].trim().to_owned();
            rest = &rest[end..];
        }
        if name.is_empty() {
            break;
        }
        out.push((name, value));
    }
    out
}

fn part_head(headers: HeaderMap) -> PartHead {
    let mut head = PartHead {
        headers,
        ..PartHead::default()
    };
    let disposition = head
        .headers
        .get(http::header::CONTENT_DISPOSITION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(d) = disposition {
        let params = d.split_once(';').map(|(_, p)| p).unwrap_or("");
        let mut extended = None;
        for (k, v) in params_of(params) {
            match k.to_ascii_lowercase().as_str() {
                "name" => head.name = Some(v),
                "filename" => head.filename = Some(v),
                // RFC 5987: charset'lang'percent-encoded.
                "filename*" => {
                    extended = v.splitn(3, '\'').nth(2).map(|enc| {
                        percent_encoding::percent_decode_str(enc)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                }
                _ => {}
            }
        }
        if extended.is_some() {
            head.filename = extended;
        }
    }
    head
}

#[cfg(test)]
mod tests;
