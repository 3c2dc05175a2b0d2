//! [`Form`]: a `multipart/form-data` request body (aiohttp's `FormData` with files).
//!
//! # Theory of operation
//!
//! A form is a list of parts; each part is a header block, a body and a CRLF, and the
//! form ends with the closing delimiter (RFC 7578 over RFC 2046):
//!
//! ```text
//!   --B CRLF  Content-Disposition: form-data; name="n"[; filename="f"] CRLF
//!             [Content-Type: t CRLF] CRLF  <body> CRLF
//!   ... more parts ...
//!   --B-- CRLF
//! ```
//!
//! Text and byte parts sit in memory; file and stream parts are *streamed*: the form
//! becomes a [`FormBody`] stream that yields each header block, then the part's own
//! chunks as they come, so a large file never sits in memory. When every part's length
//! is known the whole length is computed up front and sent as `Content-Length`;
//! otherwise the request goes out chunked. A form of in-memory parts only is sent as
//! plain bytes, so it can be replayed on a redirect or a stale-connection retry.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures_lite::Stream;

use super::request::BodyStream;

/// Bytes read from a file per chunk.
const FILE_CHUNK: usize = 64 * 1024;

/// A `multipart/form-data` body: text fields and files (see the module docs).
///
/// ```
/// use sansweb::client::{Form, Part};
/// let form = Form::new()
///     .text("title", "holiday")
///     .part("photo", Part::bytes(&b"\x89PNG..."[..]).file_name("a.png"));
/// assert!(form.content_type().starts_with("multipart/form-data; boundary="));
/// ```
pub struct Form {
    boundary: String,
    parts: Vec<(String, Part)>,
}

/// One part of a [`Form`]: its body, and optionally a file name and a content type.
pub struct Part {
    body: PartBody,
    file_name: Option<String>,
    content_type: Option<String>,
}

enum PartBody {
    Bytes(Bytes),
    /// Streamed; `len` when known in advance (enables `Content-Length`).
    Stream(BodyStream, Option<u64>),
}

impl Default for Form {
    fn default() -> Self {
        Self::new()
    }
}

impl Form {
    /// An empty form with a random boundary.
    pub fn new() -> Self {
        let mut raw = [0u8; 12];
        // Without OS randomness, a fixed-but-unlikely boundary still works: a boundary
        // only has to be absent from the content, and a clash shows up as a bad part.
        let _ = getrandom::fill(&mut raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        Self::with_boundary(format!("sansweb-{hex}"))
    }

    /// An empty form with this boundary (1..=70 characters of RFC 2046's set; tests
    /// use it for stable output).
    pub fn with_boundary(boundary: impl Into<String>) -> Self {
        Self {
            boundary: boundary.into(),
            parts: Vec::new(),
        }
    }

    /// The boundary between parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The `Content-Type` header value for this form.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// Adds a text field.
    pub fn text(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.part(name, Part::bytes(Bytes::from(value.into())))
    }

    /// Adds a part.
    pub fn part(mut self, name: impl Into<String>, part: Part) -> Self {
        self.parts.push((name.into(), part));
        self
    }

    /// Adds the file at `path`, streamed from disk; its file name is the path's last
    /// component and its content type is guessed from the extension.
    pub fn file(self, name: impl Into<String>, path: impl AsRef<Path>) -> io::Result<Self> {
        Ok(self.part(name, Part::file(path)?))
    }

    /// The header block of one part.
    fn part_head(&self, name: &str, part: &Part) -> Bytes {
        let mut h = BytesMut::with_capacity(128);
        h.put_slice(b"--");
        h.put_slice(self.boundary.as_bytes());
        h.put_slice(b"\r\nContent-Disposition: form-data; name=\"");
        put_quoted(&mut h, name);
        h.put_u8(b'"');
        if let Some(f) = &part.file_name {
            h.put_slice(b"; filename=\"");
            put_quoted(&mut h, f);
            h.put_u8(b'"');
        }
        h.put_slice(b"\r\n");
        let content_type = part.content_type.clone().or_else(|| {
            // A file part always says what it is (browsers do; some servers need it).
            part.file_name.as_ref().map(|f| {
                mime_guess::from_path(f)
                    .first_or_octet_stream()
                    .essence_str()
                    .to_owned()
            })
        });
        if let Some(t) = content_type {
            h.put_slice(b"Content-Type: ");
            put_header_value(&mut h, &t);
            h.put_slice(b"\r\n");
        }
        h.put_slice(b"\r\n");
        h.freeze()
    }

    fn closing(&self) -> Bytes {
        Bytes::from(format!("--{}--\r\n", self.boundary))
    }

    /// Turns the form into a body: `(content type, length if known, body)`.
    pub(crate) fn into_body(self) -> (String, FormPayload) {
        let content_type = self.content_type();
        let heads: Vec<Bytes> = self
            .parts
            .iter()
            .map(|(n, p)| self.part_head(n, p))
            .collect();
        let closing = self.closing();
        let streamed = self
            .parts
            .iter()
            .any(|(_, p)| matches!(p.body, PartBody::Stream(..)));
        if !streamed {
            let mut all = BytesMut::new();
            for (head, (_, part)) in heads.iter().zip(&self.parts) {
                all.put_slice(head);
                if let PartBody::Bytes(b) = &part.body {
                    all.put_slice(b);
                }
                all.put_slice(b"\r\n");
            }
            all.put_slice(&closing);
            return (content_type, FormPayload::Bytes(all.freeze()));
        }
        let mut len = Some(closing.len() as u64);
        let mut queue = VecDeque::new();
        for (head, (_, part)) in heads.into_iter().zip(self.parts) {
            let body_len = match &part.body {
                PartBody::Bytes(b) => Some(b.len() as u64),
                PartBody::Stream(_, l) => *l,
            };
            len = match (len, body_len) {
                (Some(a), Some(b)) => a.checked_add(head.len() as u64 + b + 2),
                _ => None,
            };
            queue.push_back(Piece::Bytes(head));
            match part.body {
                PartBody::Bytes(b) => queue.push_back(Piece::Bytes(b)),
                PartBody::Stream(s, _) => queue.push_back(Piece::Stream(s)),
            }
            queue.push_back(Piece::Bytes(Bytes::from_static(b"\r\n")));
        }
        queue.push_back(Piece::Bytes(closing));
        (
            content_type,
            FormPayload::Stream(Box::pin(FormBody { queue }), len),
        )
    }
}

/// What a form turns into for the request.
pub(crate) enum FormPayload {
    /// Every part was in memory.
    Bytes(Bytes),
    /// Streamed; the total length when every part's is known.
    Stream(BodyStream, Option<u64>),
}

impl Part {
    /// A part from bytes in memory.
    pub fn bytes(data: impl Into<Bytes>) -> Self {
        Self {
            body: PartBody::Bytes(data.into()),
            file_name: None,
            content_type: None,
        }
    }

    /// A streamed part; give `len` when known so the form can send `Content-Length`
    /// (a stream that then yields a different number of bytes fails the request).
    pub fn stream<S>(stream: S, len: Option<u64>) -> Self
    where
        S: Stream<Item = io::Result<Bytes>> + Send + 'static,
    {
        Self {
            body: PartBody::Stream(Box::pin(stream), len),
            file_name: None,
            content_type: None,
        }
    }

    /// The file at `path`, streamed in 64 KiB reads (its length from the file system),
    /// named after the path's last component. Reads are plain blocking reads of a local
    /// file, as short as a page-cache copy; for a slow (network) file system wrap your
    /// runtime's async file in [`Part::stream`] instead.
    pub fn file(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        let mut part = Self::stream(FileStream { file: Some(file) }, Some(len));
        part.file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Ok(part)
    }

    /// Sets the file name (makes this a file part).
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    /// Sets the part's `Content-Type` (default: guessed from the file name for file
    /// parts, none for fields).
    pub fn mime_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// Writes a quoted-string's content the way browsers do (WHATWG): `"` → `%22`,
/// CR → `%0D`, LF → `%0A`, so no name can break out of its header.
fn put_quoted(out: &mut BytesMut, s: &str) {
    for b in s.bytes() {
        match b {
            b'"' => out.put_slice(b"%22"),
            b'\r' => out.put_slice(b"%0D"),
            b'\n' => out.put_slice(b"%0A"),
            _ => out.put_u8(b),
        }
    }
}

/// A header value with CR and LF dropped (a content type is the caller's, not a
/// peer's, but a stray newline must still not forge a header).
fn put_header_value(out: &mut BytesMut, s: &str) {
    for b in s.bytes().filter(|b| !matches!(b, b'\r' | b'\n')) {
        out.put_u8(b);
    }
}

enum Piece {
    Bytes(Bytes),
    Stream(BodyStream),
}

/// The streamed form: header blocks and part bodies in order.
struct FormBody {
    queue: VecDeque<Piece>,
}

impl Stream for FormBody {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match self.queue.front_mut() {
                None => return Poll::Ready(None),
                Some(Piece::Bytes(_)) => {
                    if let Some(Piece::Bytes(b)) = self.queue.pop_front() {
                        return Poll::Ready(Some(Ok(b)));
                    }
                }
                Some(Piece::Stream(s)) => match s.as_mut().poll_next(cx) {
                    Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
                    Poll::Ready(None) => {
                        self.queue.pop_front();
                    }
                    Poll::Pending => return Poll::Pending,
                },
            }
        }
    }
}

/// A local file read in [`FILE_CHUNK`] pieces.
struct FileStream {
    file: Option<std::fs::File>,
}

impl Stream for FileStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(file) = self.file.as_mut() else {
            return Poll::Ready(None);
        };
        let mut buf = BytesMut::zeroed(FILE_CHUNK);
        match file.read(&mut buf) {
            Ok(0) => {
                self.file = None; // closed as soon as it is read
                Poll::Ready(None)
            }
            Ok(n) => {
                buf.truncate(n);
                Poll::Ready(Some(Ok(buf.freeze())))
            }
            Err(e) => {
                self.file = None;
                Poll::Ready(Some(Err(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::StreamExt;

    fn collect(payload: FormPayload) -> (Vec<u8>, Option<u64>) {
        match payload {
            FormPayload::Bytes(b) => {
                let n = b.len() as u64;
                (b.to_vec(), Some(n))
            }
            FormPayload::Stream(mut s, len) => {
                let mut out = Vec::new();
                futures_lite::future::block_on(async {
                    while let Some(c) = s.next().await {
                        out.extend_from_slice(&c.unwrap());
                    }
                });
                (out, len)
            }
        }
    }

    #[test]
    fn fields_only_are_bytes() {
        let (ct, payload) = Form::with_boundary("XyZ")
            .text("a", "1")
            .text("q\"x\r\n", "é")
            .into_body();
        assert_eq!(ct, "multipart/form-data; boundary=XyZ");
        assert!(matches!(payload, FormPayload::Bytes(_)));
        let (body, _) = collect(payload);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"q%22x%0D%0A\"\r\n\r\né\r\n\
             --XyZ--\r\n"
        );
    }

    #[test]
    fn streamed_parts_with_known_and_unknown_length() {
        let chunks = || {
            futures_lite::stream::iter(vec![
                Ok(Bytes::from_static(b"ab")),
                Ok(Bytes::from_static(b"cd")),
            ])
        };
        let form = Form::with_boundary("B")
            .text("f", "v")
            .part("up", Part::stream(chunks(), Some(4)).file_name("x.txt"));
        let (_, payload) = form.into_body();
        let (body, len) = collect(payload);
        let want = "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n\
                    --B\r\nContent-Disposition: form-data; name=\"up\"; filename=\"x.txt\"\r\n\
                    Content-Type: text/plain\r\n\r\nabcd\r\n--B--\r\n";
        assert_eq!(String::from_utf8(body).unwrap(), want);
        assert_eq!(len, Some(want.len() as u64), "length computed up front");

        let form = Form::with_boundary("B").part(
            "up",
            Part::stream(chunks(), None).mime_type("application/x-thing"),
        );
        let (_, payload) = form.into_body();
        let (body, len) = collect(payload);
        assert_eq!(len, None, "unknown length: chunked");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "--B\r\nContent-Disposition: form-data; name=\"up\"\r\n\
             Content-Type: application/x-thing\r\n\r\nabcd\r\n--B--\r\n"
        );
    }

    #[test]
    fn file_part_streams_from_disk() {
        let dir = std::env::temp_dir().join(format!("sansweb-form-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("data.bin");
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let form = Form::with_boundary("B").file("f", &path).unwrap();
        let (_, payload) = form.into_body();
        let FormPayload::Stream(mut s, len) = payload else {
            panic!("a file part streams");
        };
        let mut out = Vec::new();
        let mut chunks = 0;
        futures_lite::future::block_on(async {
            while let Some(c) = s.next().await {
                let c = c.unwrap();
                assert!(c.len() <= FILE_CHUNK);
                chunks += 1;
                out.extend_from_slice(&c);
            }
        });
        assert!(chunks > 4, "read in pieces, not at once");
        assert_eq!(len, Some(out.len() as u64));
        let head = b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"data.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n";
        assert_eq!(&out[..head.len()], head);
        assert_eq!(&out[head.len()..head.len() + content.len()], &content[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn random_boundaries_differ() {
        let (a, b) = (Form::new(), Form::new());
        assert_ne!(a.boundary(), b.boundary());
        assert!(a.boundary().len() <= 70);
    }
}
