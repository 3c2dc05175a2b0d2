//! Turning a complete head (found by the scanner) into `http` types, once.
//!
//! httparse does the tokenising; this module maps its verdicts to typed errors, builds
//! `Method`/`Uri`/`HeaderMap` without copying (values are `Bytes` slices of the head),
//! checks the request-target form against the method, and gathers the framing facts in
//! the same pass over the fields.

use super::conn::Event;
use super::error::ErrorKind;
use super::framing::FieldFacts;
use super::head::{trim_ows, HeaderFields, RequestHead, ResponseHead};
use super::scan::{classify_refused_head, ScanLimits};
use super::target::RequestTarget;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use std::mem::MaybeUninit;
use std::ops::Range;

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

/// Checks httparse's fields for what `http` types need beyond httparse's own rules and
/// gathers the framing facts. Gives the offset in `buf` where the field section starts
/// (`None` without fields), for a map built on demand (see [`HeaderFields`]).
///
/// What httparse (1.10) already guarantees is not checked again, since every field of
/// every head goes through here: names are tokens; values hold no byte below 0x20 but
/// HTAB and no DEL (0x7F), and come without their leading and trailing SP/HTAB (the
/// test `httparse_checks_values_as_strictly_as_http_needs` holds it to that, on every
/// length its vectorised and byte-wise paths take).
fn check_fields(
    buf: &[u8],
    fields: &[httparse::Header<'_>],
    facts: &mut FieldFacts,
) -> Result<Option<usize>, ErrorKind> {
    // `HeaderName` caps a name's length; httparse does not. A name is no longer than the
    // buffer it is in, so only a buffer over the cap needs the check per field.
    let long_names_possible = buf.len() > MAX_NAME_LEN;
    for field in fields {
        if long_names_possible && field.name.len() > MAX_NAME_LEN {
            return Err(ErrorKind::InvalidHeaderName);
        }
        facts.observe_raw(field.name.as_bytes(), field.value)?;
    }
    Ok(fields
        .first()
        .map(|first| offset_in(buf, first.name.as_bytes())))
}

/// The `fields` fields of `head` from the section offset [`check_fields`] gave (none:
/// the section is the final empty line).
fn fields_of(head: Bytes, section_start: Option<usize>, fields: usize) -> HeaderFields {
    let start = section_start.unwrap_or(head.len().saturating_sub(2));
    HeaderFields::from_section(head, start, fields)
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
    let (method, target) = check_request_line(&head, &req, accept_unregistered_methods)?;
    let uri = target_of(&head, target)?;
    let version = to_version(req.version);
    let mut facts = FieldFacts::default();
    let section_start = check_fields(&head, req.headers, &mut facts)?;
    let fields = req.headers.len();
    Ok((
        RequestHead {
            method,
            uri,
            version,
            headers: fields_of(head, section_start, fields),
        },
        facts,
    ))
}

/// A request head found and checked in place, at the front of a read buffer, by
/// [`parse_request_prefix`]: what is left to do needs the head as `Bytes`
/// ([`ParsedRequest::finish`]).
pub(crate) struct ParsedRequest {
    /// The head's length, final CRLF included.
    pub len: usize,
    method: Method,
    target: Range<usize>,
    version: Version,
    section_start: Option<usize>,
    fields: usize,
    facts: FieldFacts,
}

/// The fast path for a head that arrived whole: httparse finds its end itself (no
/// separate scan for the empty line), then the limits the scanner would have enforced
/// are checked on what it found, and the request line and fields are checked.
///
/// `None` unless all of that passes: the caller then takes the scanner's path, which
/// gives the same verdict as before for any head this refuses, partial, malformed or over
/// a limit (the errors, their order and the early refusals all stay the scanner's and
/// `parse_request`'s). So this only ever accepts what that path accepts, and accepts it
/// the same way.
pub(crate) fn parse_request_prefix(
    buf: &[u8],
    limits: &ScanLimits,
    accept_unregistered_methods: bool,
) -> Option<ParsedRequest> {
    let mut storage = [MaybeUninit::<httparse::Header<'_>>::uninit(); STACK_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match httparse_config().parse_request_with_uninit_headers(&mut req, buf, &mut storage)
    {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return None,
    };
    if !lines_within_limits(buf, len, req.headers, limits) {
        return None;
    }
    let (method, target) = check_request_line(buf, &req, accept_unregistered_methods).ok()?;
    let mut facts = FieldFacts::default();
    let section_start = check_fields(buf, req.headers, &mut facts).ok()?;
    Some(ParsedRequest {
        len,
        method,
        target,
        version: to_version(req.version),
        section_start,
        fields: req.headers.len(),
        facts,
    })
}

impl ParsedRequest {
    /// Builds the head from its bytes (`head` is the `len` bytes the checks looked at)
    /// straight into the event that reports it, and what the caller derives from its
    /// method, version and field facts (the connection's view of it) into `derived`,
    /// or the fault into `derived` and no event: a head is 256 bytes, and every move of
    /// it through a temporary (a tuple, a `Result`) is a `memcpy`.
    #[inline]
    pub(crate) fn finish<I>(
        self,
        head: Bytes,
        derive: impl FnOnce(&Method, Version, &FieldFacts) -> Result<I, ErrorKind>,
        derived: &mut Option<Result<I, ErrorKind>>,
    ) -> Option<Event<RequestHead>> {
        let meaning = derive(&self.method, self.version, &self.facts);
        // A target `Uri` refuses is reported first, as when the head is built first.
        let uri = match target_of(&head, self.target) {
            Ok(uri) => uri,
            Err(kind) => {
                *derived = Some(Err(kind));
                return None;
            }
        };
        let failed = meaning.is_err();
        *derived = Some(meaning);
        if failed {
            return None;
        }
        Some(Event::Head(RequestHead {
            method: self.method,
            uri,
            version: self.version,
            headers: fields_of(head, self.section_start, self.fields),
        }))
    }
}

/// What [`HeadScanner`](super::scan::HeadScanner) enforces, checked on a head httparse
/// found complete in `buf[..len]`: every line ends in CRLF (httparse also takes a bare
/// LF), and the size, line-length and field-count limits hold.
fn lines_within_limits(
    buf: &[u8],
    len: usize,
    fields: &[httparse::Header<'_>],
    limits: &ScanLimits,
) -> bool {
    if len > limits.total || fields.len() > limits.fields || len < 4 {
        return false;
    }
    if &buf[len - 4..len] != b"\r\n\r\n" {
        return false;
    }
    // httparse ends every line at an LF and lets no CR or LF into a line, so a field's
    // name starts right after the LF that ends the line before, and that line ended in
    // CRLF exactly when the byte before that LF is a CR. A head no longer than the
    // shorter line limit has no line over its limit: then that is all to check.
    if len <= limits.start_line.min(limits.field) {
        return fields.iter().all(|field| {
            let next = offset_in(buf, field.name.as_bytes());
            buf.get(next.wrapping_sub(2)) == Some(&b'\r')
        });
    }
    // A line ends where the next begins (a field's name) or at the final empty line;
    // httparse allows no CR or LF inside a line, so the two bytes before a line's start
    // are the previous line's terminator.
    let mut line_start = 0;
    let mut max = limits.start_line;
    for field in fields {
        let next = offset_in(buf, field.name.as_bytes());
        if next < line_start + 2 || &buf[next - 2..next] != b"\r\n" || next - 2 - line_start > max {
            return false;
        }
        line_start = next;
        max = limits.field;
    }
    len - 4 >= line_start && len - 4 - line_start <= max
}

/// Checks the method and the request-target form; gives the method and where the target
/// is in `buf`.
fn check_request_line(
    buf: &[u8],
    req: &httparse::Request<'_, '_>,
    accept_unregistered_methods: bool,
) -> Result<(Method, Range<usize>), ErrorKind> {
    let method = req.method.ok_or(ErrorKind::InvalidMethod)?;
    // The common methods are registered and not RTSP's: no walk through the lists.
    let common = matches!(
        method,
        "GET" | "POST" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
    );
    if !common
        && (RTSP_ONLY_METHODS.contains(&method)
            || !(accept_unregistered_methods || REGISTERED_METHODS.contains(&method)))
    {
        return Err(ErrorKind::InvalidMethod);
    }
    let method = Method::from_bytes(method.as_bytes()).map_err(|_| ErrorKind::InvalidMethod)?;
    let target = req.path.ok_or(ErrorKind::InvalidTarget)?.as_bytes();
    check_target_form(target, &method)?;
    let start = offset_in(buf, target);
    Ok((method, start..start + target.len()))
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

/// Checks the request-target form (RFC 9112 §3.2) and its bytes.
fn check_target_form(target: &[u8], method: &Method) -> Result<(), ErrorKind> {
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
    // RFC 3986 characters only: visible ASCII. httparse refused controls, SP and DEL
    // already; what it lets through beyond visible ASCII is UTF-8 (and so does
    // `http::Uri`), which `is_ascii` finds a word at a time.
    if !form_ok || !target.is_ascii() {
        return Err(ErrorKind::InvalidTarget);
    }
    Ok(())
}

/// The target [`check_target_form`] accepted, at `range` in `head`: kept as bytes when
/// [`RequestTarget::received`] finds its `Uri` cannot fail and will be those bytes (a
/// plain origin-form target), else its `Uri` built now, with the errors as always.
fn target_of(head: &Bytes, range: Range<usize>) -> Result<RequestTarget, ErrorKind> {
    match RequestTarget::received(head, range.clone()) {
        Some(target) => Ok(target),
        None => build_uri(head, range.clone())
            .map(|uri| RequestTarget::received_built(uri, head, range)),
    }
}

/// Builds the `Uri` of a target [`check_target_form`] accepted, at `range` in `head`.
fn build_uri(head: &Bytes, range: Range<usize>) -> Result<Uri, ErrorKind> {
    let target = &head[range.clone()];
    match Uri::from_maybe_shared(head.slice(range)) {
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
    let section_start = check_fields(&head, res.headers, &mut facts)?;
    let fields = res.headers.len();
    Ok((
        ResponseHead {
            status,
            reason,
            version,
            headers: fields_of(head, section_start, fields),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ScanLimits {
        ScanLimits {
            start_line: 20,
            field: 12,
            fields: 2,
            total: 64,
            has_start_line: true,
            request: true,
            total_error: |limit| ErrorKind::HeadTooLarge { limit },
        }
    }

    #[test]
    fn whole_heads_parse_as_the_scanner_path_does() {
        for (input, head_len) in [
            (&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..], 27),
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next", 27),
            (b"GET / HTTP/1.0\r\n\r\n", 18),
            (
                b"POST /x HTTP/1.1\r\nA: b\r\nContent-Length: 2\r\n\r\nhi",
                45,
            ),
        ] {
            // Limits the larger head fits exactly (field line "Content-Length: 2" = 17).
            let limits = ScanLimits {
                field: 17,
                ..limits()
            };
            let parsed = parse_request_prefix(input, &limits, false).expect("accepted");
            assert_eq!(parsed.len, head_len, "{input:?}");
            let head = Bytes::copy_from_slice(&input[..head_len]);
            let mut fast_facts = None;
            let fast = parsed.finish(
                head.clone(),
                |_, _, facts| Ok(facts.clone()),
                &mut fast_facts,
            );
            let (Some(Event::Head(fast)), Some(Ok(fast_facts))) = (fast, fast_facts) else {
                panic!("finish failed for {input:?}");
            };
            let fields = fast.raw_headers().count();
            let (slow, slow_facts) = parse_request(head, fields, false).expect("slow");
            assert_eq!(fast, slow);
            assert_eq!(fast_facts.content_length, slow_facts.content_length);
            assert_eq!(fast.raw_target(), slow.raw_target());
        }
    }

    #[test]
    fn a_browser_head_takes_the_fast_path_with_default_limits() {
        let input = b"GET /articles/2024/sans-io-http-parsers?ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n\
Cache-Control: max-age=0\r\n\
\r\n";
        let config = super::super::Config::server();
        let limits = ScanLimits {
            start_line: config.max_line_size,
            field: config.max_field_size,
            fields: config.max_headers,
            total: config.max_head_size,
            ..limits()
        };
        let parsed = parse_request_prefix(input, &limits, false).expect("fast path");
        assert_eq!(parsed.len, input.len());
    }

    /// `check_fields` and `check_target_form` rely on httparse refusing controls and
    /// DEL in values and targets, and trimming values: at every position of every length
    /// up to past two AVX2 blocks (so its SIMD, SWAR and byte-wise paths all run).
    #[test]
    fn httparse_checks_values_as_strictly_as_http_needs() {
        let parse = |head: &[u8]| {
            let mut fields = [httparse::EMPTY_HEADER; 4];
            let mut req = httparse::Request::new(&mut fields);
            let status = httparse_config().parse_request(&mut req, head);
            status.map(|s| {
                assert!(s.is_complete());
                (
                    req.path.map(str::to_owned),
                    req.headers.first().map(|f| f.value.to_vec()),
                )
            })
        };
        for len in 1..=80 {
            for at in 0..len {
                for b in [0x7f, 0x00, 0x01, 0x0b, 0x1f, 0x7e, 0x80, 0xff, b'\t'] {
                    let mut value = vec![b'a'; len];
                    value[at] = b;
                    let mut head = b"GET / HTTP/1.1\r\nA: ".to_vec();
                    head.extend_from_slice(&value);
                    head.extend_from_slice(b"\r\n\r\n");
                    let allowed = (b >= 0x20 && b != 0x7f) || b == b'\t';
                    match parse(&head) {
                        Ok((_, got)) => {
                            assert!(allowed, "{b:#x} at {at} of {len} accepted");
                            let got = got.expect("one field");
                            assert_eq!(got, trim_ows(&value), "{b:#x} at {at} of {len}");
                        }
                        Err(_) => assert!(!allowed, "{b:#x} at {at} of {len} refused"),
                    }
                    let mut head = b"GET /".to_vec();
                    head.extend_from_slice(&value);
                    head.extend_from_slice(b" HTTP/1.1\r\n\r\n");
                    // (Bytes from 0x80 up: httparse takes valid UTF-8 only; we refuse
                    // them all with `is_ascii`.)
                    if b < 0x80 {
                        let allowed = b > 0x20 && b != 0x7f;
                        assert_eq!(parse(&head).is_ok(), allowed, "target {b:#x} {at} {len}");
                    }
                }
            }
        }
        // Leading and trailing SP/HTAB are not part of the value.
        let (_, value) = parse(b"GET / HTTP/1.1\r\nA: \t x \t y\t \r\n\r\n").expect("valid");
        assert_eq!(value.as_deref(), Some(&b"x \t y"[..]));
    }

    #[test]
    fn anything_else_is_left_to_the_scanner() {
        for input in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n"[..],             // incomplete
            b"GET / HTTP/1.1\nHost: a\r\n\r\n",                // bare LF, start line
            b"GET / HTTP/1.1\r\nHost: a\n\r\n",                // bare LF, field
            b"GET / HTTP/1.1\r\nHost: a\r\n\n",                // bare LF, end
            b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",           // obs-fold
            b"GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n",      // start line > 20
            b"GET / HTTP/1.1\r\nA: bbbbbbbbbbbb\r\n\r\n",      // field line > 12
            b"GET / HTTP/1.1\r\nA: b\r\nB: c\r\nC: d\r\n\r\n", // 3 fields > 2
            b"GET / HTTP/1.1\r\nA: b\r\nB: c\r\n\r\n",         // fits: see below
            b"GET / HTTP/1.1\r\nA: \x7f\r\n\r\n",              // DEL in a value
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            b"PLAY / HTTP/1.1\r\n\r\n",    // RTSP method
            b"CONNECT / HTTP/1.1\r\n\r\n", // wrong target form
        ] {
            let parsed = parse_request_prefix(input, &limits(), false);
            let fits = input == b"GET / HTTP/1.1\r\nA: b\r\nB: c\r\n\r\n";
            assert_eq!(
                parsed.is_some(),
                fits,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        // Bare LFs, with limits far above the head (the lines are not measured then).
        let roomy = ScanLimits {
            start_line: 8190,
            field: 8190,
            fields: 100,
            total: 1 << 16,
            ..limits()
        };
        for input in [
            &b"GET / HTTP/1.1\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: a\nB: c\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nB: c\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n\n",
        ] {
            assert!(
                parse_request_prefix(input, &roomy, false).is_none(),
                "{input:?}"
            );
        }
        let fine = b"GET / HTTP/1.1\r\nHost: a\r\nB: c\r\n\r\n";
        assert!(parse_request_prefix(fine, &roomy, false).is_some());
        // Over the total size limit by one byte, then exactly at it.
        let at_limit = b"GET / HTTP/1.1\r\nA: b\r\nB: c\r\n\r\n";
        let total = |total| ScanLimits { total, ..limits() };
        assert!(parse_request_prefix(at_limit, &total(at_limit.len() - 1), false).is_none());
        assert!(parse_request_prefix(at_limit, &total(at_limit.len()), false).is_some());
    }
}
