//! Static files (aiohttp's `add_static` and `FileResponse`): traversal-proof path
//! resolution, conditional requests (ETag, Last-Modified → 304), single byte ranges
//! (with If-Range), and precompressed `.br` / `.gz` variants.
//!
//! Path safety, in layers: the router has already decoded the path (except `%2F`,
//! `%25`); every segment must be a plain name (no `.`/`..`, no empty segment, no `\`,
//! `:`, NUL, no encoded slash); the joined path is canonicalised (resolving symlinks)
//! and must still lie under the canonical root unless symlinks are explicitly allowed.

use super::request::Request;
use super::response::{HttpError, Response};
use bytes::Bytes;
use futures_lite::stream;
use http::{header, HeaderValue, StatusCode};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Files at or under this size are read whole; larger ones are streamed.
const READ_WHOLE: u64 = 1024 * 1024;
const STREAM_CHUNK: usize = 256 * 1024;

/// A directory served under a prefix.
#[derive(Debug)]
pub(crate) struct StaticDir {
    root: PathBuf,
    follow_symlinks_out: bool,
}

impl StaticDir {
    pub(crate) fn new(root: PathBuf) -> std::io::Result<Self> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(Self {
            root,
            follow_symlinks_out: false,
        })
    }

    /// Maps the request's path tail to a file inside the root, or refuses.
    fn resolve(&self, tail: &str) -> Result<PathBuf, StatusCode> {
        let mut path = self.root.clone();
        let rel = tail.strip_prefix('/').unwrap_or(tail);
        if rel.is_empty() {
            return Err(StatusCode::FORBIDDEN);
        }
        for segment in rel.split('/') {
            let lower = segment.to_ascii_lowercase();
            if segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.contains(['\\', ':', '\0'])
                || lower.contains("%2f")
                || lower.contains("%5c")
                || lower.contains("%2e%2e")
            {
                return Err(StatusCode::FORBIDDEN);
            }
            path.push(segment);
        }
        let canonical = path.canonicalize().map_err(|_| StatusCode::NOT_FOUND)?;
        if !self.follow_symlinks_out && !canonical.starts_with(&self.root) {
            return Err(StatusCode::FORBIDDEN);
        }
        if !canonical.is_file() {
            return Err(StatusCode::FORBIDDEN);
        }
        Ok(canonical)
    }

    /// A precompressed sibling (`file.br`, `file.gz`) the client accepts, if it exists
    /// and is itself safely inside the root.
    fn precompressed(&self, file: &Path, request: &Request) -> Option<(PathBuf, &'static str)> {
        let accept = request
            .header("accept-encoding")
            .unwrap_or("")
            .to_ascii_lowercase();
        for (ext, coding) in [("br", "br"), ("gz", "gzip")] {
            if !accept
                .split(',')
                .any(|c| c.trim().split(';').next() == Some(coding))
            {
                continue;
            }
            let mut candidate = file.as_os_str().to_owned();
            candidate.push(".");
            candidate.push(ext);
            let candidate = PathBuf::from(candidate);
            if let Ok(canonical) = candidate.canonicalize() {
                if canonical.starts_with(&self.root) && canonical.is_file() {
                    return Some((canonical, coding));
                }
            }
        }
        None
    }

    pub(crate) fn serve(&self, request: &Request, tail: &str) -> Response {
        match self.resolve(tail) {
            Ok(path) => file_response(request, &path, Some(self)),
            Err(status) => super::response::IntoResponse::into_response(HttpError::new(status)),
        }
    }
}

/// A response for the file at `path` (aiohttp's `web.FileResponse`), honouring
/// conditional and range headers.
pub fn file_response_for(request: &Request, path: &Path) -> Response {
    file_response(request, path, None)
}

fn file_response(request: &Request, path: &Path, dir: Option<&StaticDir>) -> Response {
    use super::response::IntoResponse;
    let Ok(meta) = std::fs::metadata(path) else {
        return HttpError::not_found().into_response();
    };
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let len = meta.len();
    let etag = etag_of(modified, len);
    let last_modified = httpdate::fmt_http_date(modified);
    let mime = mime_guess::from_path(path).first_or_octet_stream();

    let mut response = Response::new(StatusCode::OK);
    let headers = response.headers_mut();
    insert(headers, header::ETAG, &etag);
    insert(headers, header::LAST_MODIFIED, &last_modified);
    insert(headers, header::ACCEPT_RANGES, "bytes");
    insert(headers, header::CONTENT_TYPE, mime.essence_str());

    if not_modified(request, &etag, modified) {
        return response.with_status(StatusCode::NOT_MODIFIED);
    }

    // A byte range, when asked for and If-Range (if any) still holds.
    let range = request
        .header("range")
        .filter(|_| if_range_holds(request, &etag, modified))
        .map(|r| parse_range(r, len));
    match range {
        Some(Err(())) => {
            let mut r = response.with_status(StatusCode::RANGE_NOT_SATISFIABLE);
            insert(
                r.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes */{len}"),
            );
            return r;
        }
        Some(Ok((start, end))) => {
            insert(
                response.headers_mut(),
                header::CONTENT_RANGE,
                &format!("bytes {start}-{end}/{len}"),
            );
            return body_from(
                response.with_status(StatusCode::PARTIAL_CONTENT),
                path,
                start,
                end + 1 - start,
            );
        }
        None => {}
    }
    if let Some((compressed, coding)) = dir.and_then(|d| d.precompressed(path, request)) {
        insert(response.headers_mut(), header::CONTENT_ENCODING, coding);
        insert(response.headers_mut(), header::VARY, "Accept-Encoding");
        let size = std::fs::metadata(&compressed).map(|m| m.len()).unwrap_or(0);
        return body_from(response, &compressed, 0, size);
    }
    body_from(response, path, 0, len)
}

fn insert(headers: &mut http::HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

fn etag_of(modified: SystemTime, len: u64) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("\"{nanos:x}-{len:x}\"")
}

fn not_modified(request: &Request, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = request.header("if-none-match") {
        return inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        });
    }
    if let Some(ims) = request
        .header("if-modified-since")
        .and_then(|v| httpdate::parse_http_date(v).ok())
    {
        let modified_secs = modified
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let ims_secs = ims
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return modified_secs <= ims_secs;
    }
    false
}

fn if_range_holds(request: &Request, etag: &str, modified: SystemTime) -> bool {
    match request.header("if-range") {
        None => true,
        Some(v) if v.starts_with('"') => v == etag,
        Some(v) => match httpdate::parse_http_date(v) {
            Ok(date) => {
                let m = modified
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(u64::MAX);
                let d = date
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                m <= d
            }
            Err(_) => false,
        },
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range) → inclusive `(start, end)`.
pub(crate) fn parse_range(value: &str, len: u64) -> Result<(u64, u64), ()> {
    let spec = value.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') || len == 0 {
        return Err(());
    }
    let (a, b) = spec.trim().split_once('-').ok_or(())?;
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end = if b.is_empty() {
            len - 1
        } else {
            b.parse::<u64>().map_err(|_| ())?.min(len - 1)
        };
        (start, end)
    };
    if start > end || start >= len {
        return Err(());
    }
    Ok((start, end))
}

/// Sets the body to `count` bytes of `path` from `offset`: read whole when small,
/// streamed in chunks otherwise. (The runtime layer has no blocking pool yet: reads are
/// short and served from the page cache in the common case.)
fn body_from(mut response: Response, path: &Path, offset: u64, count: u64) -> Response {
    use super::response::IntoResponse;
    insert(
        response.headers_mut(),
        header::CONTENT_LENGTH,
        &count.to_string(),
    );
    let Ok(mut file) = File::open(path) else {
        return HttpError::not_found().into_response();
    };
    if file.seek(SeekFrom::Start(offset)).is_err() {
        return HttpError::internal("seek failed").into_response();
    }
    if count <= READ_WHOLE {
        let mut buf = Vec::with_capacity(count as usize);
        if file.take(count).read_to_end(&mut buf).is_err() {
            return HttpError::internal("read failed").into_response();
        }
        let status = response.status();
        let mut r = response.with_body(Bytes::from(buf));
        r.status = status;
        return r;
    }
    let mut remaining = count;
    let chunks = stream::poll_fn(move |_cx| {
        if remaining == 0 {
            return std::task::Poll::Ready(None);
        }
        let want = remaining.min(STREAM_CHUNK as u64) as usize;
        let mut buf = vec![0; want];
        let result = match file.read(&mut buf) {
            Ok(0) => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "file shrank",
            )),
            Ok(n) => {
                buf.truncate(n);
                remaining -= n as u64;
                Ok(Bytes::from(buf))
            }
            Err(e) => Err(e),
        };
        std::task::Poll::Ready(Some(result))
    });
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut r = Response::stream(chunks).with_status(status);
    *r.headers_mut() = headers;
    r
}
