//! Turning a complete head (found by the scanner) into `http` types, once.
//!
//! httparse does the tokenising; this module maps its verdicts to typed errors, builds
//! `Method`/`Uri`/`HeaderMap` without copying (values are `Bytes` slices of the head),
//! checks the request-target form against the method, and gathers the framing facts in
//! the same pass over the fields.

use super::error::ErrorKind;
use super::framing::FieldFacts;
use super::head::{trim_ows, HeaderFields, RequestHead, ResponseHead};
use super::scan::classify_refused_head;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use std::mem::MaybeUninit;

/// Headers parsed on the stack up to this count; heads with more use the heap.
const STACK_HEADERS: usize = 64;

/// Offset of `part` inside `whole` (both slices of the same buffer).
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

fn map_httparse(err: httparse::Error, for_request: bool) -> ErrorKind {
    match err {
        httparse::Error::HeaderName => ErrorKind::InvalidHeaderName,
        httparse::Error::HeaderValue => ErrorKind::InvalidHeaderValue,
        httparse::Error::NewLine => ErrorKind::InvalidLineEnding,
        httparse::Error::Status => ErrorKind::InvalidStatus,
        httparse::Error::Token if for_request => ErrorKind::InvalidMethod,
        httparse::Error::Token => ErrorKind::InvalidReason,
        httparse::Error::Version => ErrorKind::InvalidVersion,
        httparse::Error::TooManyHeaders => ErrorKind::InvalidHead,
    }
}

/// httparse says "version" for anything that is not exactly `HTTP/1.0` or `HTTP/1.1`.
/// A well-formed `HTTP/d.d` with other digits is a version we do not speak (505);
/// anything else is malformed (400).
fn classify_version(version: &[u8]) -> ErrorKind {
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() && *major != b'1' =>
        {
            ErrorKind::UnsupportedVersion
        }
        [b'H', b'T', b'T', b'P', b'/', major] if major.is_ascii_digit() && *major != b'1' => {
            ErrorKind::UnsupportedVersion
        }
        _ => ErrorKind::InvalidVersion,
    }
}

/// Finds the version token of a start line for error classification.
fn request_version_token(head: &[u8]) -> &[u8] {
    let line_end = memchr::memchr(b'\r', head).unwrap_or(head.len());
    let line = &head[..line_end];
    match memchr::memrchr(b' ', line) {
        Some(i) => &line[i + 1..],
        None => &[],
    }
}

fn to_version(minor: Option<u8>) -> Version {
    if minor == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    }
}

/// Checks httparse's fields for what `http` types need beyond httparse's own rules,
/// gathers the framing facts, and keeps the field section for a map built on demand
/// (see [`HeaderFields`]).
fn check_fields(
    head: &Bytes,
    fields: &[httparse::Header<'_>],
    facts: &mut FieldFacts,
) -> Result<HeaderFields, ErrorKind> {
    for field in fields {
        // httparse checked the name is a token; `HeaderName` also caps its length.
        if field.name.len() > MAX_NAME_LEN {
            return Err(ErrorKind::InvalidHeaderName);
        }
        let value = trim_ows(field.value);
        // httparse accepts DEL (0x7F) in values; RFC 9110 does not.
        // A plain loop for short values: a vectorised search (what `contains` on bytes
        // calls) costs more to set up than it saves there.
        #[allow(clippy::manual_contains)]
        let has_del = if value.len() <= 64 {
            value.iter().any(|&b| b == 0x7f)
        } else {
            memchr::memchr(0x7f, value).is_some()
        };
        if has_del {
            return Err(ErrorKind::InvalidHeaderValue);
        }
        facts.observe_raw(field.name.as_bytes(), value)?;
    }
    Ok(match fields.first() {
        Some(first) => {
            HeaderFields::from_section(head.slice(offset_in(head, first.name.as_bytes())..))
        }
        None => HeaderFields::default(),
    })
}

/// The longest header name `http::HeaderName` takes.
const MAX_NAME_LEN: usize = (1 << 16) - 1;

fn httparse_config() -> httparse::ParserConfig {
    // Strict: no obs-fold, no whitespace before colons, no multiple spaces in start lines.
    httparse::ParserConfig::default()
}

/// Declares `$storage`: room for `$fields` httparse headers, on the stack up to
/// `STACK_HEADERS`, else on the heap (a macro, because the slice borrows locals of the
/// caller's frame).
macro_rules! header_storage {
    ($storage:ident, $fields:expr) => {
        let mut stack = [MaybeUninit::<httparse::Header<'_>>::uninit(); STACK_HEADERS];
        let mut heap;
        let $storage: &mut [MaybeUninit<httparse::Header<'_>>] = if $fields <= STACK_HEADERS {
            &mut stack[..]
        } else {
            heap = vec![MaybeUninit::<httparse::Header<'_>>::uninit(); $fields];
            &mut heap[..]
        };
    };
}

/// Parses a complete request head `head` (ending in CRLF CRLF) holding `fields` fields.
pub(crate) fn parse_request(
    head: Bytes,
    fields: usize,
    accept_unregistered_methods: bool,
) -> Result<(RequestHead, FieldFacts), ErrorKind> {
    header_storage!(storage, fields);
    let mut req = httparse::Request::new(&mut []);
    let status = httparse_config().parse_request_with_uninit_headers(&mut req, &head, storage);
    match status {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ErrorKind::InvalidHead),
        Err(e) => {
            return Err(classify_refused_head(&head, true).unwrap_or(match e {
                httparse::Error::Version => classify_version(request_version_token(&head)),
                e => map_httparse(e, true),
            }))
        }
    }
    let method = req.method.ok_or(ErrorKind::InvalidMethod)?;
    if RTSP_ONLY_METHODS.contains(&method)
        || !(accept_unregistered_methods || REGISTERED_METHODS.contains(&method))
    {
        return Err(ErrorKind::InvalidMethod);
    }
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| ErrorKind::InvalidMethod)?;
    let target = req.path.ok_or(ErrorKind::InvalidTarget)?.as_bytes();
    let uri = parse_target(&head, target, &method)?;
    let version = to_version(req.version);
    let mut facts = FieldFacts::default();
    let headers = check_fields(&head, req.headers, &mut facts)?;
    Ok((
        RequestHead {
            method,
            uri,
            version,
            headers,
            raw: head,
        },
        facts,
    ))
}

/// Methods with a registered meaning over HTTP (the set llhttp's strict mode knows).
const REGISTERED_METHODS: &[&str] = &[
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "CONNECT",
    "OPTIONS",
    "TRACE",
    "PATCH",
    "QUERY",
    "COPY",
    "LOCK",
    "MKCOL",
    "MOVE",
    "PROPFIND",
    "PROPPATCH",
    "SEARCH",
    "UNLOCK",
    "BIND",
    "REBIND",
    "UNBIND",
    "ACL",
    "REPORT",
    "MKACTIVITY",
    "CHECKOUT",
    "MERGE",
    "M-SEARCH",
    "NOTIFY",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "PURGE",
    "MKCALENDAR",
    "LINK",
    "UNLINK",
    "SOURCE",
];

/// Methods defined only for RTSP (RFC 2326/7826); over HTTP they mean a confused or
/// hostile peer (llhttp rejects them too). Other extension methods are accepted.
const RTSP_ONLY_METHODS: &[&str] = &[
    "ANNOUNCE",
    "DESCRIBE",
    "GET_PARAMETER",
    "PAUSE",
    "PLAY",
    "PLAY_NOTIFY",
    "RECORD",
    "REDIRECT",
    "SETUP",
    "SET_PARAMETER",
    "TEARDOWN",
    "FLUSH",
];

/// Checks the request-target form (RFC 9112 §3.2) and builds the `Uri`.
fn parse_target(head: &Bytes, target: &[u8], method: &Method) -> Result<Uri, ErrorKind> {
    let form_ok = match target.first() {
        Some(b'/') => *method != Method::CONNECT,
        // asterisk-form is meant for OPTIONS; SSDP's M-SEARCH uses it too, so any
        // method but CONNECT may carry it and the application decides.
        Some(b'*') => target.len() == 1 && *method != Method::CONNECT,
        Some(_) if *method == Method::CONNECT => {
            // authority-form: host:port, nothing else.
            !target.contains(&b'/') && !target.contains(&b'@') && target.contains(&b':')
        }
        Some(_) => {
            // absolute-form: scheme "://" ...
            memchr::memmem::find(target, b"://").is_some_and(|i| i > 0)
        }
        None => false,
    };
    // RFC 3986 characters only: visible ASCII. (`http::Uri` lets raw UTF-8 through.)
    if !form_ok || target.iter().any(|&b| !(0x21..0x7f).contains(&b)) {
        return Err(ErrorKind::InvalidTarget);
    }
    let start = offset_in(head, target);
    match Uri::from_maybe_shared(head.slice(start..start + target.len())) {
        Ok(uri) => Ok(uri),
        // `http::Uri` refuses some visible ASCII that RFC 9112 recipients meet in the
        // wild (`"`, `{`, `}`, `\`, `^`, `` ` ``, `<`, `>`): percent-encode those for the
        // `Uri`; `RequestHead::raw_target` keeps the bytes as sent.
        Err(_) => {
            let mut encoded = String::with_capacity(target.len() + 16);
            for &b in target {
                if matches!(
                    b,
                    b'"' | b'{' | b'}' | b'\\' | b'^' | b'`' | b'<' | b'>' | b'|'
                ) {
                    encoded.push_str(&format!("%{b:02X}"));
                } else {
                    encoded.push(b as char);
                }
            }
            Uri::try_from(encoded).map_err(|_| ErrorKind::InvalidTarget)
        }
    }
}

/// Parses a complete response head.
pub(crate) fn parse_response(
    head: Bytes,
    fields: usize,
) -> Result<(ResponseHead, FieldFacts), ErrorKind> {
    header_storage!(storage, fields);
    let mut res = httparse::Response::new(&mut []);
    match httparse_config().parse_response_with_uninit_headers(&mut res, &head, storage) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(ErrorKind::InvalidHead),
        Err(e) => {
            return Err(classify_refused_head(&head, false).unwrap_or(match e {
                httparse::Error::Version => {
                    let line_end = memchr::memchr(b' ', &head).unwrap_or(0);
                    classify_version(&head[..line_end])
                }
                e => map_httparse(e, false),
            }))
        }
    }
    let code = res.code.ok_or(ErrorKind::InvalidStatus)?;
    let status = StatusCode::from_u16(code).map_err(|_| ErrorKind::InvalidStatus)?;
    let reason = match res.reason {
        Some(r) if !r.is_empty() => {
            let r = r.as_bytes();
            if r.iter().any(|&b| b == 0x7f || (b < 0x20 && b != b'\t')) {
                return Err(ErrorKind::InvalidReason);
            }
            let start = offset_in(&head, r);
            Some(head.slice(start..start + r.len()))
        }
        _ => None,
    };
    let version = to_version(res.version);
    let mut facts = FieldFacts::default();
    let headers = check_fields(&head, res.headers, &mut facts)?;
    Ok((
        ResponseHead {
            status,
            reason,
            version,
            headers,
            raw: head,
        },
        facts,
    ))
}

/// Parses a complete trailer section (field lines ending in an empty line).
pub(crate) fn parse_trailers(section: Bytes, fields: usize) -> Result<HeaderMap, ErrorKind> {
    let mut storage = vec![httparse::EMPTY_HEADER; fields];
    match httparse::parse_headers(&section, &mut storage) {
        Ok(httparse::Status::Complete((_, parsed))) => {
            let mut map = HeaderMap::with_capacity(parsed.len());
            for field in parsed.iter() {
                let name = HeaderName::from_bytes(field.name.as_bytes())
                    .map_err(|_| ErrorKind::InvalidTrailer)?;
                let value = trim_ows(field.value);
                if value.contains(&0x7f) {
                    return Err(ErrorKind::InvalidTrailer);
                }
                let start = offset_in(&section, value);
                let value =
                    HeaderValue::from_maybe_shared(section.slice(start..start + value.len()))
                        .map_err(|_| ErrorKind::InvalidTrailer)?;
                map.append(name, value);
            }
            Ok(map)
        }
        _ => Err(ErrorKind::InvalidTrailer),
    }
}
