//! Message heads in `http` crate types, with the raw bytes kept for original order and case.
//!
//! A received head is moved some four times on its way to the application (parser,
//! connection, event, caller), so its size is watched: glibc copies up to 256 bytes on
//! its fast path (~30 instructions) and more with a slower loop (~65). The received bytes
//! live in the parts that use them (the field section in [`HeaderFields`], the target in
//! [`RequestTarget`]), not in a field of their own.

use super::target::RequestTarget;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

/// A request head: what a server receives and a client sends.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target as sent: origin-form (`/path?q`), absolute-form (through a
    /// proxy), authority-form (CONNECT) or `*` (OPTIONS). A [`Uri`] through `Deref`,
    /// built from the received bytes on first use; [`RequestTarget::path`] and
    /// [`RequestTarget::query`] read the bytes without building it.
    pub uri: RequestTarget,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: Version,
    /// The header fields (names lower-cased by `http`; see [`RequestHead::raw_headers`]).
    /// A [`HeaderMap`] through `Deref`, built from the received bytes on first use.
    pub headers: HeaderFields,
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
    /// The header fields: a [`HeaderMap`] through `Deref`, built from the received bytes
    /// on first use.
    pub headers: HeaderFields,
}

impl RequestHead {
    /// A head to send: `HTTP/1.1`, no headers.
    pub fn new(method: Method, uri: Uri) -> Self {
        Self {
            method,
            uri: uri.into(),
            version: Version::HTTP_11,
            headers: HeaderFields::default(),
        }
    }

    /// For a received head: its header fields in the order they came, with the names in
    /// their original case (also after changes to `headers`, unless it was replaced).
    /// Empty for a head built locally.
    #[must_use]
    pub fn raw_headers(&self) -> RawHeaders<'_> {
        self.headers.raw()
    }

    /// For a received head: the request target exactly as sent (fragment included, no
    /// normalisation), unless `uri` was replaced since. `None` for a head built locally.
    #[must_use]
    pub fn raw_target(&self) -> Option<&[u8]> {
        self.uri.raw()
    }
}

impl ResponseHead {
    /// A head to send: `HTTP/1.1`, the canonical reason, no headers.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            reason: None,
            version: Version::HTTP_11,
            headers: HeaderFields::default(),
        }
    }

    /// For a received head: its header fields in the order they came, with the names in
    /// their original case (also after changes to `headers`, unless it was replaced).
    /// Empty for a head built locally.
    #[must_use]
    pub fn raw_headers(&self) -> RawHeaders<'_> {
        self.headers.raw()
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
        // A name is a dozen bytes on average: a plain scan finds its end sooner than a
        // `memchr` call sets up its vector search.
        let colon = line.iter().position(|&b| b == b':')?;
        Some((&line[..colon], trim_ows(&line[colon + 1..])))
    }
}

/// The header fields of a head: a [`HeaderMap`] to every reader and writer (through
/// `Deref`/`DerefMut`), built only when first touched.
///
/// Why lazy: a parsed head already holds its bytes, checked field by field and with the
/// framing decided from them. Building a `HeaderMap` (hashing every name, two
/// allocations, a reference count per value) is most of the cost of parsing a head, and
/// many requests are answered without a look at most fields; so the map is built from
/// the kept bytes on the first access instead, once, and costs nothing if never used.
/// Likewise a head built locally with [`HeaderFields::push`] keeps its first two
/// fields (a typical response's `Content-Type` and `Date`) in place, and the map is
/// built only if someone reads or changes them: encoding walks the fields as they are.
pub struct HeaderFields(Fields);

/// Fields kept in place before a map is needed.
const FEW: usize = 2;

type Field = (HeaderName, HeaderValue);

enum Fields {
    /// A map: built locally, or built from the section / the few fields at the first
    /// change.
    Built(HeaderMap),
    /// A received head, whose field section (each line `name:value CRLF`, ending with
    /// the empty line) starts at `section` and holds `fields` fields, validated when
    /// parsed; and the map once a reader asked for it, which from then on is the fields
    /// (changes go to it; the section stays, for [`HeaderFields::raw`]).
    Received {
        head: Bytes,
        section: usize,
        fields: usize,
        map: OnceLock<HeaderMap>,
    },
    /// Up to [`FEW`] fields appended locally, in order (the empty slots last), and the
    /// map once a reader asked for it (boxed: rarely built, and it keeps heads small).
    Few {
        fields: [Option<Field>; FEW],
        map: OnceLock<Box<HeaderMap>>,
    },
}

impl HeaderFields {
    /// Fields still to be built from a parsed, validated head: its field section starts
    /// at `section` (at the final empty line when there are none) and holds `fields`
    /// fields (the parser counted them: the map is sized without a pass of its own).
    pub(crate) fn from_section(head: Bytes, section: usize, fields: usize) -> Self {
        Self(Fields::Received {
            head,
            section,
            fields,
            map: OnceLock::new(),
        })
    }

    /// For a received head: its fields as sent, in order and original case.
    pub(crate) fn raw(&self) -> RawHeaders<'_> {
        match &self.0 {
            Fields::Received { head, section, .. } => RawHeaders {
                rest: head.get(*section..).unwrap_or_default(),
            },
            Fields::Built(_) | Fields::Few { .. } => RawHeaders { rest: &[] },
        }
    }

    /// The map, built now if it was not yet.
    #[must_use]
    pub fn map(&self) -> &HeaderMap {
        match &self.0 {
            Fields::Built(map) => map,
            Fields::Received {
                head,
                section,
                fields,
                map,
            } => map.get_or_init(|| build_map(head, *section, *fields)),
            // Reading an empty head (a client checking for `Host`) borrows one shared
            // empty map instead of building its own.
            Fields::Few {
                fields: [None, None],
                ..
            } => {
                static EMPTY: OnceLock<HeaderMap> = OnceLock::new();
                EMPTY.get_or_init(HeaderMap::new)
            }
            Fields::Few { fields, map } => map.get_or_init(|| Box::new(few_map(fields))),
        }
    }

    /// The first value of field `name` (any case), without building the map of a
    /// received head: its bytes are scanned instead (or the map is used once built).
    #[must_use]
    pub fn first(&self, name: &str) -> Option<&[u8]> {
        let map = match &self.0 {
            Fields::Built(map) => map,
            Fields::Received { map, .. } => match map.get() {
                Some(map) => map,
                None => {
                    return self
                        .raw()
                        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                        .map(|(_, v)| v)
                }
            },
            Fields::Few { fields, .. } => {
                return fields
                    .iter()
                    .flatten()
                    .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_bytes())
            }
        };
        map.get(name).map(HeaderValue::as_bytes)
    }

    /// Adds a field after the others (as [`HeaderMap::append`], which stays reachable
    /// through `Deref` under its own name). On a head with no fields yet, the first two
    /// are kept in place and no map is built for them.
    pub fn push(&mut self, name: HeaderName, value: HeaderValue) {
        match &mut self.0 {
            Fields::Built(map) if map.is_empty() && map.capacity() == 0 => {
                self.0 = Fields::Few {
                    fields: [Some((name, value)), None],
                    map: OnceLock::new(),
                };
            }
            Fields::Few { fields, map } if map.get().is_none() => {
                match fields.iter_mut().find(|slot| slot.is_none()) {
                    Some(slot) => *slot = Some((name, value)),
                    None => {
                        self.map_mut().append(name, value);
                    }
                }
            }
            _ => {
                self.map_mut().append(name, value);
            }
        }
    }

    /// The fields in order, without building a map for few fields appended locally
    /// (what encoding walks).
    pub(crate) fn iter_fields(&self) -> FieldIter<'_> {
        match &self.0 {
            Fields::Few { fields, .. } => FieldIter::Few(fields.iter()),
            _ => FieldIter::Map(self.map().iter()),
        }
    }

    /// The map for changes, built now if it was not yet.
    pub fn map_mut(&mut self) -> &mut HeaderMap {
        match &mut self.0 {
            Fields::Built(_) => {}
            // Built in place: the received bytes stay for `raw`.
            Fields::Received {
                head,
                section,
                fields,
                map,
            } => {
                if map.get().is_none() {
                    let _ = map.set(build_map(head, *section, *fields));
                }
            }
            Fields::Few { fields, map } => {
                let built = map.take().map_or_else(|| few_map(fields), |map| *map);
                self.0 = Fields::Built(built);
            }
        }
        match &mut self.0 {
            Fields::Built(map) => map,
            Fields::Received { map, .. } => match map.get_mut() {
                Some(map) => map,
                None => unreachable!("set just above"),
            },
            Fields::Few { .. } => unreachable!("replaced just above"),
        }
    }

    /// The map, by value.
    #[must_use]
    pub fn into_map(self) -> HeaderMap {
        match self.0 {
            Fields::Built(map) => map,
            Fields::Received {
                head,
                section,
                fields,
                mut map,
            } => map
                .take()
                .unwrap_or_else(|| build_map(&head, section, fields)),
            Fields::Few { fields, mut map } => {
                map.take().map_or_else(|| few_map(&fields), |map| *map)
            }
        }
    }
}

/// The fields of a head in order: those kept in place, or the map's.
pub(crate) enum FieldIter<'a> {
    Map(http::header::Iter<'a, HeaderValue>),
    Few(std::slice::Iter<'a, Option<Field>>),
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = (&'a HeaderName, &'a HeaderValue);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            FieldIter::Map(iter) => iter.next(),
            FieldIter::Few(iter) => iter.next()?.as_ref().map(|(n, v)| (n, v)),
        }
    }
}

fn few_map(fields: &[Option<Field>]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(fields.len());
    for (name, value) in fields.iter().flatten() {
        map.append(name.clone(), value.clone());
    }
    map
}

/// The most fields `build_map` reserves room for up front; more grow the map.
const MAP_PREALLOC_MAX: usize = 1024;

/// Builds the map of the `fields` fields at `section` in `head`, which the parser already
/// validated: every name is a token of at most 64 KiB and every value is free of CR, LF,
/// NUL and DEL, which is all `HeaderName`/`HeaderValue` ask, so no field is ever dropped
/// here in practice (one that somehow failed would be skipped, never a panic).
fn build_map(head: &Bytes, section: usize, fields: usize) -> HeaderMap {
    // The count is capped: it is only a size hint, and `with_capacity` panics past
    // http's `MAX_SIZE`.
    let mut map = HeaderMap::with_capacity(fields.min(MAP_PREALLOC_MAX));
    let section = head.get(section..).unwrap_or_default();
    for (name, value) in (RawHeaders { rest: section }) {
        let Ok(name) = HeaderName::from_bytes(name) else {
            continue;
        };
        // `value` lies within `head` (the iterator walks it), so its offset is a plain
        // subtraction: `slice` without `slice_ref`'s bounds checks done twice.
        let start = value.as_ptr() as usize - head.as_ptr() as usize;
        let value = head.slice(start..start + value.len());
        if let Ok(value) = HeaderValue::from_maybe_shared(value) {
            map.append(name, value);
        }
    }
    map
}

impl Default for HeaderFields {
    /// No fields, and no map until one is needed.
    fn default() -> Self {
        Self(Fields::Few {
            fields: [None, None],
            map: OnceLock::new(),
        })
    }
}

impl From<HeaderMap> for HeaderFields {
    fn from(map: HeaderMap) -> Self {
        Self(Fields::Built(map))
    }
}

impl From<HeaderFields> for HeaderMap {
    fn from(fields: HeaderFields) -> Self {
        fields.into_map()
    }
}

impl Deref for HeaderFields {
    type Target = HeaderMap;

    fn deref(&self) -> &HeaderMap {
        self.map()
    }
}

impl DerefMut for HeaderFields {
    fn deref_mut(&mut self) -> &mut HeaderMap {
        self.map_mut()
    }
}

impl Clone for HeaderFields {
    fn clone(&self) -> Self {
        Self(match &self.0 {
            Fields::Built(map) => Fields::Built(map.clone()),
            Fields::Few { fields, map } => Fields::Few {
                fields: fields.clone(),
                map: map.clone(),
            },
            Fields::Received {
                head,
                section,
                fields,
                map,
            } => Fields::Received {
                head: head.clone(),
                section: *section,
                fields: *fields,
                map: map.clone(),
            },
        })
    }
}

impl PartialEq for HeaderFields {
    fn eq(&self, other: &Self) -> bool {
        self.map() == other.map()
    }
}

impl PartialEq<HeaderMap> for HeaderFields {
    fn eq(&self, other: &HeaderMap) -> bool {
        self.map() == other
    }
}

impl std::fmt::Debug for HeaderFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map().fmt(f)
    }
}

impl<'a> IntoIterator for &'a HeaderFields {
    type Item = (&'a HeaderName, &'a HeaderValue);
    type IntoIter = http::header::Iter<'a, HeaderValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.map().iter()
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

#[cfg(test)]
mod tests {
    use super::super::parse::parse_request;
    use super::*;

    fn parsed(head: &[u8]) -> RequestHead {
        let fields = head.windows(2).filter(|w| w == b"\r\n").count();
        parse_request(Bytes::copy_from_slice(head), fields, false)
            .expect("a valid head")
            .0
    }

    /// Heads are moved several times per request (parser to connection to event to
    /// caller); glibc copies up to 256 bytes on its fast path and larger values with a
    /// slower loop, so a received head and the event carrying it stay within 256 bytes.
    #[test]
    fn heads_and_events_fit_the_fast_copy() {
        use super::super::conn::Event;
        use std::mem::size_of;
        let sizes = [
            ("RequestHead", size_of::<RequestHead>()),
            ("ResponseHead", size_of::<ResponseHead>()),
            ("Event<RequestHead>", size_of::<Event<RequestHead>>()),
            ("Event<ResponseHead>", size_of::<Event<ResponseHead>>()),
            ("HeaderFields", size_of::<HeaderFields>()),
            ("RequestTarget", size_of::<RequestTarget>()),
        ];
        println!("{sizes:?}");
        for (name, size) in sizes {
            assert!(size <= 256, "{name} is {size} bytes");
        }
    }

    /// The map built on demand equals one built eagerly from the same fields, in order,
    /// with repeated names kept, original case folded, values trimmed and obs-text kept.
    #[test]
    fn lazy_map_matches_the_fields_as_sent() {
        let head = parsed(
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Multi: 1\r\nx-multi:  2 \r\n\
              X-Latin: caf\xe9\r\nAccept:\r\n\r\n",
        );
        let mut expected = HeaderMap::new();
        expected.append("host", HeaderValue::from_static("a"));
        expected.append("x-multi", HeaderValue::from_static("1"));
        expected.append("x-multi", HeaderValue::from_static("2"));
        expected.append("x-latin", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        expected.append("accept", HeaderValue::from_static(""));
        assert_eq!(head.headers, expected);
        let all: Vec<_> = head.headers.get_all("x-multi").iter().collect();
        assert_eq!(all, ["1", "2"]);
        assert_eq!(head.headers.len(), 5);
    }

    /// Changing the fields builds the map first, then changes it; clones and
    /// conversions carry the changed map, not the received bytes.
    #[test]
    fn changes_apply_to_the_built_map() {
        let mut head = parsed(b"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n\r\n");
        head.headers
            .insert("x-a", HeaderValue::from_static("changed"));
        head.headers.remove("host");
        // The fields as received stay readable.
        let raw: Vec<_> = head.raw_headers().collect();
        assert_eq!(raw, [(&b"Host"[..], &b"a"[..]), (b"X-A", b"1")]);
        let copy = head.headers.clone();
        assert_eq!(copy.get("x-a").unwrap(), "changed");
        assert!(!copy.contains_key("host"));
        let map: HeaderMap = head.headers.into();
        assert_eq!(map.len(), 1);
    }

    /// A head with no fields, and a local head, both have an empty map.
    #[test]
    fn no_fields_is_an_empty_map() {
        let head = parsed(b"GET / HTTP/1.1\r\n\r\n");
        assert!(head.headers.is_empty());
        assert!(RequestHead::new(Method::GET, Uri::from_static("/"))
            .headers
            .is_empty());
        let taken = HeaderFields::default().into_map();
        assert!(taken.is_empty());
    }

    /// Iterating `&head.headers` walks the map.
    #[test]
    fn iterates_like_a_map() {
        let head = parsed(b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n");
        let names: Vec<_> = (&head.headers)
            .into_iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    /// `first` finds a field in the received bytes before the map exists, and in the map
    /// after.
    #[test]
    fn first_value_with_and_without_the_map() {
        let head = parsed(b"GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
        assert_eq!(head.headers.first("x-a"), Some(&b"1"[..]));
        assert_eq!(head.headers.len(), 2);
        assert_eq!(head.headers.first("X-A"), Some(&b"1"[..]));
        assert_eq!(head.headers.first("x-b"), None);
    }

    /// Fields pushed on a new head are kept in place and read like a map; a third,
    /// a change, or `into_map` all give the same map as appending to a `HeaderMap`.
    #[test]
    fn pushed_fields_read_and_change_like_a_map() {
        let ct = HeaderValue::from_static("text/plain");
        let date = HeaderValue::from_static("Sun, 29 Nov 2026 16:14:12 GMT");
        let mut fields = HeaderFields::default();
        assert!(fields.is_empty());
        assert_eq!(fields.first("date"), None);
        fields.push(http::header::CONTENT_TYPE, ct.clone());
        fields.push(http::header::DATE, date.clone());
        assert_eq!(fields.first("Date"), Some(date.as_bytes()));
        let walked: Vec<_> = fields
            .iter_fields()
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        assert_eq!(
            walked,
            [
                (http::header::CONTENT_TYPE, ct.clone()),
                (http::header::DATE, date.clone())
            ]
        );
        let mut expected = HeaderMap::new();
        expected.append(http::header::CONTENT_TYPE, ct.clone());
        expected.append(http::header::DATE, date.clone());
        assert_eq!(fields, expected);
        assert_eq!(fields.clone().into_map(), expected);

        // A third field, after the map was read: the map carries all three, in order.
        fields.push(http::header::SERVER, HeaderValue::from_static("s"));
        expected.append(http::header::SERVER, HeaderValue::from_static("s"));
        assert_eq!(fields, expected);
        let names: Vec<_> = fields.iter_fields().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["content-type", "date", "server"]);

        // Changes through `DerefMut` apply to the kept fields.
        let mut two = HeaderFields::default();
        two.push(http::header::CONTENT_TYPE, ct);
        two.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("x/y"));
        assert_eq!(two.first("content-type"), Some(&b"x/y"[..]));
        assert_eq!(two.len(), 1);
    }

    /// A plain, obviously right build of a validated field section: split lines, split
    /// at the first colon, trim SP/HTAB, append (copying values) in order.
    fn reference_map(section: &[u8]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in section.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            let colon = line.iter().position(|&b| b == b':').expect("a colon");
            let mut value = &line[colon + 1..];
            while let [b' ' | b'\t', rest @ ..] = value {
                value = rest;
            }
            while let [rest @ .., b' ' | b'\t'] = value {
                value = rest;
            }
            map.append(
                HeaderName::from_bytes(&line[..colon]).expect("a token"),
                HeaderValue::from_bytes(value).expect("a valid value"),
            );
        }
        map
    }

    /// The fields of a map in its iteration order, as owned bytes.
    fn in_order(map: &HeaderMap) -> Vec<(String, Vec<u8>)> {
        map.iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    /// `build_map` (directly, and through a parsed head's lazy map) gives the same map
    /// as the plain build: same names, values byte for byte, same order, duplicates kept.
    #[test]
    fn build_map_equals_a_plain_build() {
        let mut many = Vec::new();
        for i in 0..100 {
            // Ten names, each repeated ten times, in changing case.
            let name = ["Host", "x-a", "Cookie", "X-Custom-Name", "accept"][i % 5];
            let name = if i % 2 == 0 {
                name.to_ascii_uppercase()
            } else {
                format!("{name}-{}", i % 10)
            };
            many.extend_from_slice(format!("{name}: v{i} \r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        let long_name = format!("X-{}: long\r\n\r\n", "n".repeat(100));
        let long_value = format!("X-Long: {}\r\n\r\n", "v".repeat(5000));
        let sections: Vec<&[u8]> = vec![
            b"\r\n",
            b"Host: a\r\n\r\n",
            b"Host: example.com:8080\r\nX-Colons: a:b: c\r\n\r\n",
            b"X-A: 1\r\nB: 2\r\nx-a: 3\r\nX-a:4\r\nb:  5\r\n\r\n",
            b"A:\r\nB: \r\nC:\t \t\r\nD:x\r\n\r\n",
            b"X-Latin: caf\xe9\r\nX-Obs: \x80\xff end\xa0\r\n\r\n",
            b"A: x  y\t z \r\nUpgrade-Insecure-Requests: 1\r\nsec-fetch-mode: navigate\r\n\r\n",
            long_name.as_bytes(),
            long_value.as_bytes(),
            &many,
        ];
        for section in sections {
            let expected = reference_map(section);
            let built = build_map(&Bytes::copy_from_slice(section), 0, expected.len());
            assert_eq!(built, expected, "{:?}", String::from_utf8_lossy(section));
            assert_eq!(in_order(&built), in_order(&expected));

            let mut head = b"GET / HTTP/1.1\r\n".to_vec();
            head.extend_from_slice(section);
            let parsed = parsed(&head);
            assert_eq!(parsed.headers.len(), expected.len());
            assert_eq!(in_order(parsed.headers.map()), in_order(&expected));
        }
        assert_eq!(reference_map(&many).len(), 100);
    }
}
