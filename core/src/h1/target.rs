//! The request target of a head: its bytes as received, a [`Uri`] only when asked for.
//!
//! Why lazy: building an `http::Uri` (a byte-by-byte class scan, a `Bytes` slice, a
//! 88-byte value moved into the head) was a tenth of the cost of parsing a request head,
//! and most requests are routed and answered with nothing but the path and query. So an
//! origin-form target (`/path?query`, nearly every request a server sees) keeps its bytes
//! and answers [`RequestTarget::path`] / [`RequestTarget::query`] from them; the `Uri` is
//! built from the same bytes on the first `Deref`, once, and equals the one an eager
//! build would have given.
//!
//! Strictness does not move: the parser decides at parse time, with one scan
//! ([`RequestTarget::received`]), that the `Uri` built later cannot fail and is made of
//! the very bytes kept (no percent-encoding). Any other target (absolute-form,
//! authority-form, `*`, or an origin-form one holding a byte `http::Uri` refuses) has its
//! `Uri` built at parse time exactly as before, errors included.
//!
//! ```text
//!   parse ──plain origin-form──▶ Origin { bytes }  ──first Deref──▶ Origin { bytes, Uri }
//!     │                                (path()/query() read the bytes in both)
//!     └──anything else───────────▶ Built(Uri)  ◀── From<Uri> (heads built locally)
//! ```

use bytes::Bytes;
use http::Uri;
use std::ops::Deref;
use std::sync::OnceLock;

/// The longest target `http::Uri` takes (its `MAX_LEN`).
const URI_MAX_LEN: usize = (u16::MAX - 1) as usize;

/// Bytes a received target's `Uri` takes as they are, in the path (`PATH_CLASS[b] == 0`)
/// and in the query (`QUERY_CLASS`): visible ASCII but `"`, `#`, `<`, `>`, `` ` ``, and
/// in the path, `?` (which ends it).
const PATH_CLASS: [u8; 256] = class_table(b"\"#<>`?");
const QUERY_CLASS: [u8; 256] = class_table(b"\"#<>`");

const fn class_table(refused: &[u8]) -> [u8; 256] {
    let mut class = [1; 256];
    let mut b = 0x21;
    while b < 0x7f {
        class[b] = 0;
        b += 1;
    }
    let mut i = 0;
    while i < refused.len() {
        class[refused[i] as usize] = 1;
        i += 1;
    }
    class
}

/// Where the first byte of `bytes` that `class` marks is: eight bytes a step while
/// none is (one branch per eight bytes, not one per byte), then byte by byte.
fn first_not_plain(bytes: &[u8], class: &[u8; 256]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut start = 0;
    for chunk in &mut chunks {
        let hit = chunk.iter().fold(0, |acc, &b| acc | class[usize::from(b)]);
        if hit != 0 {
            break;
        }
        start += 8;
    }
    bytes[start..]
        .iter()
        .position(|&b| class[usize::from(b)] != 0)
        .map(|i| start + i)
}

/// A request's target: an [`http::Uri`] to every reader (through `Deref`), built on
/// first use for a received origin-form target; [`RequestTarget::path`] and
/// [`RequestTarget::query`] never build it.
#[derive(Clone)]
pub struct RequestTarget(Repr);

#[derive(Clone)]
enum Repr {
    /// A received origin-form target checked to be what its `Uri` will hold: the path
    /// and query as sent (no fragment), all visible ASCII that `http::Uri` takes as it is.
    Origin {
        /// Path and query.
        bytes: Bytes,
        /// Where the `?` is, if any.
        query: Option<u16>,
        /// The `Uri`, once asked for (boxed: rarely built, and it keeps heads small).
        uri: OnceLock<Box<Uri>>,
    },
    /// A target built locally, or one the parser had to build at once (boxed: a `Uri`
    /// is 88 bytes, which would make every head larger than glibc's fast copy, and a
    /// received head seldom has one).
    Built(Box<Built>),
}

/// A target's `Uri` built at once, and for a received target its bytes as sent.
#[derive(Clone)]
struct Built {
    uri: Uri,
    /// The target as received (`None` for one built locally): the `Uri` may hold it
    /// percent-encoded.
    raw: Option<Bytes>,
}

impl RequestTarget {
    /// The target at `range` of a parsed head, if it is origin-form and its `Uri` is
    /// sure to be made of exactly these bytes, and so cannot fail to build: at most
    /// `Uri`'s maximum length, visible ASCII, and none of `"`, `#`, `<`, `>`, `` ` ``.
    /// Those are the bytes `http::Uri` refuses somewhere (`<`, `>`, `` ` `` in the path;
    /// `"`, `<`, `>` in the query) or cuts off (the `#` of a fragment), taken
    /// everywhere: a target holding one is simply built at once, as before (`None`).
    /// One pass over the bytes, which also finds the `?`.
    pub(crate) fn received(head: &Bytes, range: std::ops::Range<usize>) -> Option<Self> {
        let target = head.get(range.clone())?;
        if target == b"/" {
            // What every benchmark and many health checks ask for: nothing to scan, and
            // no reference to the head to keep.
            return Some(Self(Repr::Origin {
                bytes: Bytes::from_static(b"/"),
                query: None,
                uri: OnceLock::new(),
            }));
        }
        if target.first() != Some(&b'/') || target.len() > URI_MAX_LEN {
            return None;
        }
        // The path up to the first `?` or refused byte; then the query, where a `?` is
        // plain.
        let mut query = None;
        if let Some(i) = first_not_plain(target, &PATH_CLASS) {
            if target[i] != b'?' || first_not_plain(&target[i + 1..], &QUERY_CLASS).is_some() {
                return None;
            }
            query = u16::try_from(i).ok();
        }
        Some(Self(Repr::Origin {
            bytes: head.slice(range),
            query,
            uri: OnceLock::new(),
        }))
    }

    /// A received target that [`RequestTarget::received`] left to be built at once:
    /// its `Uri`, and its bytes as sent at `range` in `head`.
    pub(crate) fn received_built(uri: Uri, head: &Bytes, range: std::ops::Range<usize>) -> Self {
        Self(Repr::Built(Box::new(Built {
            uri,
            raw: Some(head.slice(range)),
        })))
    }

    /// For a received target: its bytes exactly as sent (an origin-form target is kept
    /// as sent, fragment-free; any other keeps its bytes beside its `Uri`).
    pub(crate) fn raw(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Origin { bytes, .. } => Some(bytes),
            Repr::Built(built) => built.raw.as_deref(),
        }
    }

    /// The path, percent-encoded as sent (what [`Uri::path`] gives, without building
    /// the `Uri` of a received target).
    #[must_use]
    pub fn path(&self) -> &str {
        match &self.0 {
            Repr::Origin { bytes, query, .. } => {
                let end = query.map_or(bytes.len(), usize::from);
                if end == 1 {
                    // A path of one byte is `/` (it starts every origin-form target).
                    return "/";
                }
                // Visible ASCII, checked when parsed: never the fallback.
                std::str::from_utf8(&bytes[..end]).unwrap_or("/")
            }
            Repr::Built(built) => built.uri.path(),
        }
    }

    /// The query (after `?`, before any `#`), if any: what [`Uri::query`] gives, without
    /// building the `Uri` of a received target.
    #[must_use]
    pub fn query(&self) -> Option<&str> {
        match &self.0 {
            Repr::Origin { bytes, query, .. } => {
                let start = usize::from((*query)?) + 1;
                std::str::from_utf8(&bytes[start..]).ok()
            }
            Repr::Built(built) => built.uri.query(),
        }
    }

    /// The target as an [`http::Uri`], built now if it was not yet.
    #[must_use]
    pub fn uri(&self) -> &Uri {
        match &self.0 {
            Repr::Origin { bytes, uri, .. } => uri.get_or_init(|| Box::new(origin_uri(bytes))),
            Repr::Built(built) => &built.uri,
        }
    }

    /// The target as an [`http::Uri`], by value.
    #[must_use]
    pub fn into_uri(self) -> Uri {
        match self.0 {
            Repr::Origin { bytes, mut uri, .. } => {
                uri.take().map_or_else(|| origin_uri(&bytes), |uri| *uri)
            }
            Repr::Built(built) => built.uri,
        }
    }
}

/// The `Uri` of bytes [`RequestTarget::received`] accepted: it cannot fail (the bytes
/// passed the same checks `Uri` makes), so the fallback is never taken.
fn origin_uri(bytes: &Bytes) -> Uri {
    Uri::from_maybe_shared(bytes.clone()).unwrap_or_default()
}

impl From<Uri> for RequestTarget {
    fn from(uri: Uri) -> Self {
        Self(Repr::Built(Box::new(Built { uri, raw: None })))
    }
}

impl From<RequestTarget> for Uri {
    fn from(target: RequestTarget) -> Self {
        target.into_uri()
    }
}

impl Default for RequestTarget {
    /// `/`, as [`Uri::default`].
    fn default() -> Self {
        Uri::default().into()
    }
}

impl Deref for RequestTarget {
    type Target = Uri;

    fn deref(&self) -> &Uri {
        self.uri()
    }
}

/// Targets compare as their `Uri`s do (two received origin-form targets by their bytes,
/// which is the same thing, without building either).
impl PartialEq for RequestTarget {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Origin { bytes: a, .. }, Repr::Origin { bytes: b, .. }) => a == b,
            _ => self.uri() == other.uri(),
        }
    }
}

impl PartialEq<Uri> for RequestTarget {
    fn eq(&self, other: &Uri) -> bool {
        self.uri() == other
    }
}

impl PartialEq<str> for RequestTarget {
    fn eq(&self, other: &str) -> bool {
        self.uri() == other
    }
}

impl PartialEq<&str> for RequestTarget {
    fn eq(&self, other: &&str) -> bool {
        self.uri() == *other
    }
}

impl std::fmt::Display for RequestTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.uri().fmt(f)
    }
}

impl std::fmt::Debug for RequestTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.uri().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_request;
    use super::*;

    /// The target of `GET <target> HTTP/1.1` as the parser gives it, or `None` if refused.
    fn parsed(target: &[u8]) -> Option<RequestTarget> {
        let mut head = b"GET ".to_vec();
        head.extend_from_slice(target);
        head.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        parse_request(Bytes::from(head), 1, false)
            .ok()
            .map(|(head, _)| head.uri)
    }

    /// What the parser did before targets were lazy: `Uri::from_maybe_shared` on the
    /// target, else the same with the visible ASCII `http::Uri` refuses percent-encoded.
    fn eager(target: &[u8]) -> Option<Uri> {
        Uri::from_maybe_shared(Bytes::copy_from_slice(target))
            .ok()
            .or_else(|| {
                let mut encoded = String::new();
                for &b in target {
                    if b"\"{}\\^`<>|".contains(&b) {
                        encoded.push_str(&format!("%{b:02X}"));
                    } else {
                        encoded.push(b as char);
                    }
                }
                Uri::try_from(encoded).ok()
            })
    }

    fn check(target: &[u8]) {
        let ours = parsed(target);
        let visible = target.iter().all(|b| (0x21..=0x7e).contains(b));
        let Some(ours) = ours else {
            // Refused: then httparse or `check_target_form` refused it (a byte outside
            // visible ASCII, for a GET), or the eager `Uri` did, as before.
            assert!(
                !visible || eager(target).is_none(),
                "{} refused",
                String::from_utf8_lossy(target)
            );
            return;
        };
        let expected = eager(target).expect("accepted targets built eagerly before");
        let shown = String::from_utf8_lossy(target);
        assert_eq!(ours.path(), expected.path(), "path of {shown}");
        assert_eq!(ours.query(), expected.query(), "query of {shown}");
        assert_eq!(*ours.uri(), expected, "uri of {shown}");
        assert_eq!(ours.clone().into_uri(), expected, "into_uri of {shown}");
        assert_eq!(ours.to_string(), expected.to_string(), "display of {shown}");
    }

    /// Every byte in every part of an origin-form target: the cheap accessors and the
    /// lazily built `Uri` equal the eagerly built `Uri` of before.
    #[test]
    fn every_byte_everywhere_matches_the_eager_uri() {
        for b in 0..=255u8 {
            for shape in [
                &b"/a_b"[..],
                b"/_",
                b"/a?_",
                b"/a?x=_&y",
                b"/a#_",
                b"/a?b#_",
                b"/_?_#_",
                b"/a?_?_",
                b"/a#?_",
            ] {
                let target: Vec<u8> = shape
                    .iter()
                    .map(|&c| if c == b'_' { b } else { c })
                    .collect();
                check(&target);
            }
        }
    }

    /// Targets of every form and the edge cases.
    #[test]
    fn forms_and_edges() {
        for target in [
            &b"/"[..],
            b"/?",
            b"/?#",
            b"/#",
            b"/a/b/c?x=1&y=2#frag",
            b"/a?x={\"k\":1}",
            b"/a|b?c|d",
            b"*",
            b"http://example.com",
            b"http://example.com/a?b#c",
            b"http://u@example.com:8080/a",
            b"/%zz",
            b"//double",
        ] {
            check(target);
        }
        assert!(matches!(
            parsed(b"/a?b").map(|t| t.0),
            Some(Repr::Origin { .. })
        ));
        for built in [&b"/a<b"[..], b"/a#b", b"/a?\"", b"/a?`"] {
            assert!(matches!(parsed(built).map(|t| t.0), Some(Repr::Built(_))));
        }
        let long = format!("/{}", "a".repeat(URI_MAX_LEN - 1));
        check(long.as_bytes());
        let longer = format!("/{}", "a".repeat(URI_MAX_LEN));
        check(longer.as_bytes());
    }

    /// A received target reads its path and query without building a `Uri`.
    #[test]
    fn accessors_build_nothing() {
        let target = parsed(b"/p/q?r=s?t").expect("valid");
        assert_eq!(target.path(), "/p/q");
        assert_eq!(target.query(), Some("r=s?t"));
        let Repr::Origin { uri, .. } = &target.0 else {
            panic!("origin-form")
        };
        assert!(uri.get().is_none());
        assert_eq!(target.uri().path(), "/p/q");
    }

    /// A local target is the `Uri` it was made from.
    #[test]
    fn local_targets_are_their_uri() {
        let uri: Uri = "http://h/a?b".parse().expect("uri");
        let target = RequestTarget::from(uri.clone());
        assert_eq!(target.path(), "/a");
        assert_eq!(target.query(), Some("b"));
        assert_eq!(target.host(), Some("h"));
        assert_eq!(target, uri);
        assert_eq!(Uri::from(target), uri);
        assert_eq!(RequestTarget::default(), "/");
    }
}
