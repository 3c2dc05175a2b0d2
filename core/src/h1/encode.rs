//! Writing heads, refusing any that could be misread (no CRLF injection).
//!
//! `http` types already reject most bad bytes, but heads can also carry bytes the user
//! supplied directly (reason phrases, extension methods) and values built with unchecked
//! constructors, so every part is checked again here, before a byte is written: nothing
//! reaches the output unless the whole head is valid.

use super::error::ErrorKind;
use super::head::{HeaderFields, RequestHead, ResponseHead};
use bytes::BytesMut;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};

/// A response head's parts, lent: what the encoder reads. A server that keeps its
/// response's fields elsewhere (not in a [`ResponseHead`]) sends them without moving
/// them into one.
#[derive(Clone, Copy)]
pub(crate) struct HeadParts<'a> {
    pub status: http::StatusCode,
    pub reason: Option<&'a [u8]>,
    pub version: Version,
    pub headers: &'a HeaderFields,
}

impl<'a> HeadParts<'a> {
    /// An `HTTP/1.1` head's parts (`reason` `None`: the canonical one).
    pub fn http11(status: StatusCode, reason: Option<&'a [u8]>, headers: &'a HeaderFields) -> Self {
        HeadParts {
            status,
            reason,
            version: Version::HTTP_11,
            headers,
        }
    }
}

impl<'a> From<&'a ResponseHead> for HeadParts<'a> {
    fn from(head: &'a ResponseHead) -> Self {
        HeadParts {
            status: head.status,
            reason: head.reason.as_deref(),
            version: head.version,
            headers: &head.headers,
        }
    }
}

/// The length of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only `Date`
/// form a sender generates (RFC 9110, 5.6.7).
pub(crate) const DATE_LEN: usize = 29;

/// Header lines the connection adds to a head on its own.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AddedFields {
    /// A `Date` value, written unless the head has its own.
    pub date: Option<[u8; DATE_LEN]>,
    pub content_length: Option<u64>,
    pub chunked: bool,
    pub connection: Option<&'static [u8]>,
}

fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Field values and reason phrases: HTAB, SP, VCHAR, obs-text. No CR, LF, NUL or DEL.
pub(crate) fn is_valid_text(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

/// CR, LF or NUL in `value`, a word at a time: a word with no byte below 0x0E holds
/// none of them (the usual case: one subtraction and two masks per 8 bytes), and only a
/// word that has such a byte (a TAB, say) is looked at byte by byte. The bytes after
/// the last whole word are checked as the (overlapping) last word of the value.
fn has_line_breaker(value: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let is_breaker = |&b: &u8| b == b'\r' || b == b'\n' || b == 0;
    let word_has_breaker = |word: &[u8]| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes);
        // Exact for "some byte is below 0x0E" (the classic has-less-than test).
        x.wrapping_sub(ONES * 0x0E) & !x & HIGHS != 0 && word.iter().any(is_breaker)
    };
    if value.len() < 8 {
        return value.iter().any(is_breaker);
    }
    let mut words = value.chunks_exact(8);
    if words.any(word_has_breaker) {
        return true;
    }
    !words.remainder().is_empty() && word_has_breaker(&value[value.len() - 8..])
}

/// Writes the field lines of `headers`, then the added ones and the empty line; or, if
/// a value could end its line early, truncates `out` to `head_start` (the head's first
/// byte) and fails, so nothing of the head reaches the output.
///
/// `HeaderName` can only hold a lower-case token (http checks it on construction), so
/// names need no second look. Values can be built unchecked (`unsafe`), so the bytes
/// that would end a line or a string early are searched for, in the same walk that
/// writes them (one pass over the fields, not a checking pass and a writing pass).
fn write_fields<'a, I>(
    out: &mut BytesMut,
    head_start: usize,
    headers: I,
    added: AddedFields,
) -> Result<(), ErrorKind>
where
    I: Iterator<Item = (&'a HeaderName, &'a HeaderValue)>,
{
    // No sizing pass: the buffer grows by doubling, and a response's buffer was reserved
    // for a batch of heads already.
    let mut date = added.date.as_ref();
    for (name, value) in headers {
        // The head's own `Date` wins over the connection's.
        if date.is_some() && *name == http::header::DATE {
            date = None;
        }
        let value = value.as_bytes();
        if has_line_breaker(value) {
            out.truncate(head_start);
            return Err(ErrorKind::InvalidOutgoingHead(
                "header value holds CR, LF or NUL",
            ));
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    // The lines the connection adds and the empty line, assembled on the stack with
    // fixed-size copies and written with one call: four to eight small appends were
    // most of the cost of writing a short head.
    let mut tail = [0u8; TAIL_MAX];
    let mut len = 0;
    if let Some(date) = date {
        len = put(&mut tail, len, b"date: ");
        len = put(&mut tail, len, date);
        len = put(&mut tail, len, b"\r\n");
    }
    if let Some(n) = added.content_length {
        len = put(&mut tail, len, b"content-length: ");
        len = put_decimal(&mut tail, len, n);
        len = put(&mut tail, len, b"\r\n");
    }
    if added.chunked {
        len = put(&mut tail, len, b"transfer-encoding: chunked\r\n");
    }
    if let Some(connection) = added.connection {
        len = put(&mut tail, len, b"connection: ");
        len = put(&mut tail, len, connection);
        len = put(&mut tail, len, b"\r\n");
    }
    len = put(&mut tail, len, b"\r\n");
    out.extend_from_slice(&tail[..len]);
    Ok(())
}

/// Room for every line [`AddedFields`] can add: `date: ` and an IMF-fixdate,
/// `content-length: ` and 20 digits,
/// `transfer-encoding: chunked`, `connection: keep-alive` (the longest value given),
/// each with its CRLF, and the empty line.
const TAIL_MAX: usize = 168;

/// Copies `bytes` into `buf` at `at`; gives the end.
fn put(buf: &mut [u8; TAIL_MAX], at: usize, bytes: &[u8]) -> usize {
    buf[at..at + bytes.len()].copy_from_slice(bytes);
    at + bytes.len()
}

/// Writes `n` in decimal into `buf` at `at`; gives the end. The digits go straight to
/// their place (counted first), not through a buffer of their own and a second copy.
fn put_decimal(buf: &mut [u8; TAIL_MAX], at: usize, mut n: u64) -> usize {
    let mut width = 1;
    let mut rest = n / 10;
    while rest > 0 {
        width += 1;
        rest /= 10;
    }
    let end = at + width;
    for slot in buf[at..end].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    end
}

fn version_bytes(version: Version) -> Result<&'static [u8], ErrorKind> {
    match version {
        Version::HTTP_11 => Ok(b"HTTP/1.1"),
        Version::HTTP_10 => Ok(b"HTTP/1.0"),
        _ => Err(ErrorKind::InvalidOutgoingHead(
            "HTTP/1 connections send HTTP/1.0 or HTTP/1.1",
        )),
    }
}

fn write_target(out: &mut BytesMut, uri: &Uri, method: &Method) -> Result<(), ErrorKind> {
    let start = out.len();
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => {
            out.extend_from_slice(scheme.as_bytes());
            out.extend_from_slice(b"://");
            out.extend_from_slice(authority.as_str().as_bytes());
            match uri.path_and_query() {
                Some(pq) if !pq.as_str().is_empty() => {
                    out.extend_from_slice(pq.as_str().as_bytes())
                }
                _ => out.extend_from_slice(b"/"),
            }
        }
        (None, Some(authority)) if *method == Method::CONNECT => {
            out.extend_from_slice(authority.as_str().as_bytes());
        }
        (None, None) => match uri.path_and_query() {
            Some(pq) if pq.as_str().starts_with('/') || pq.as_str() == "*" => {
                out.extend_from_slice(pq.as_str().as_bytes())
            }
            _ => return Err(ErrorKind::InvalidOutgoingHead("request target is empty")),
        },
        _ => {
            return Err(ErrorKind::InvalidOutgoingHead(
                "request target form does not fit the method",
            ))
        }
    }
    if out[start..].iter().any(|&b| b <= b' ' || b == 0x7f) {
        out.truncate(start);
        return Err(ErrorKind::InvalidOutgoingHead(
            "request target holds a space or control byte",
        ));
    }
    Ok(())
}

/// Writes a request head, or nothing and an error.
pub(crate) fn encode_request(
    out: &mut BytesMut,
    head: &RequestHead,
    added: AddedFields,
) -> Result<(), ErrorKind> {
    let version = version_bytes(head.version)?;
    if !head.method.as_str().bytes().all(is_tchar) {
        return Err(ErrorKind::InvalidOutgoingHead("method is not a token"));
    }
    let start = out.len();
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.extend_from_slice(b" ");
    if let Err(e) = write_target(out, &head.uri, &head.method) {
        out.truncate(start);
        return Err(e);
    }
    out.extend_from_slice(b" ");
    out.extend_from_slice(version);
    out.extend_from_slice(b"\r\n");
    write_fields(out, start, head.headers.iter_fields(), added)
}

/// Writes a response head, or nothing and an error.
pub(crate) fn encode_response(
    out: &mut BytesMut,
    head: HeadParts<'_>,
    added: AddedFields,
) -> Result<(), ErrorKind> {
    // The usual status lines, whole: one copy, no reason lookup or check.
    if head.reason.is_none() && head.version == Version::HTTP_11 {
        if let Some(line) = common_status_line(head.status) {
            let head_start = out.len();
            out.extend_from_slice(line);
            return write_fields(out, head_start, head.headers.iter_fields(), added);
        }
    }
    let version = version_bytes(head.version)?;
    let reason: &[u8] = match head.reason {
        Some(reason) => reason,
        None => head.status.canonical_reason().unwrap_or("").as_bytes(),
    };
    if !is_valid_text(reason) {
        return Err(ErrorKind::InvalidOutgoingHead(
            "reason phrase holds CR, LF, NUL or another control byte",
        ));
    }
    let head_start = out.len();
    // `HTTP/1.1 200 ` as one fixed-size copy (a few moves, not five copy calls).
    let mut start = [b' '; 13];
    start[..8].copy_from_slice(version);
    start[9..12].copy_from_slice(head.status.as_str().as_bytes());
    out.extend_from_slice(&start);
    out.extend_from_slice(reason);
    out.extend_from_slice(b"\r\n");
    write_fields(out, head_start, head.headers.iter_fields(), added)
}

/// `HTTP/1.1 <code> <canonical reason>\r\n` for the statuses most responses have.
fn common_status_line(status: StatusCode) -> Option<&'static [u8]> {
    Some(match status.as_u16() {
        200 => b"HTTP/1.1 200 OK\r\n",
        201 => b"HTTP/1.1 201 Created\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        301 => b"HTTP/1.1 301 Moved Permanently\r\n",
        302 => b"HTTP/1.1 302 Found\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        400 => b"HTTP/1.1 400 Bad Request\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        500 => b"HTTP/1.1 500 Internal Server Error\r\n",
        _ => return None,
    })
}

/// Writes a trailer section (after the last chunk's `0\r\n`), or nothing and an error.
pub(crate) fn encode_trailers(out: &mut BytesMut, trailers: &HeaderMap) -> Result<(), ErrorKind> {
    let start = out.len();
    write_fields(out, start, trailers.iter(), AddedFields::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_in_place() {
        for n in [0, 7, 9, 10, 13, 99, 100, 65_535, 1 << 40, u64::MAX] {
            let mut buf = [b'x'; TAIL_MAX];
            let end = put_decimal(&mut buf, 3, n);
            assert_eq!(&buf[3..end], n.to_string().as_bytes());
            assert_eq!(buf[2], b'x');
            assert_eq!(buf[end], b'x');
        }
    }

    #[test]
    fn common_status_lines_are_the_canonical_ones() {
        for code in 100..600u16 {
            let Ok(status) = StatusCode::from_u16(code) else {
                continue;
            };
            if let Some(line) = common_status_line(status) {
                let reason = status.canonical_reason().expect("known");
                assert_eq!(line, format!("HTTP/1.1 {code} {reason}\r\n").as_bytes());
            }
        }
        assert!(common_status_line(StatusCode::OK).is_some());
    }

    #[test]
    fn line_breakers_are_found_at_every_position() {
        // Every length up to 3 words, a breaker (or a harmless TAB / 0x0E / DEL) at every
        // position: the word-at-a-time search must agree with a plain one.
        for len in 1..=24 {
            for at in 0..len {
                for b in [b'\r', b'\n', 0, b'\t', 0x0e, 0x7f, 0x80, 0xff] {
                    let mut value = vec![b'a'; len];
                    value[at] = b;
                    let plain = value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0);
                    assert_eq!(has_line_breaker(&value), plain, "{value:?}");
                }
            }
        }
        assert!(!has_line_breaker(b""));
        assert!(!has_line_breaker(
            b"text/plain; charset=utf-8\tSun, 06 Nov 1994"
        ));
    }
}
