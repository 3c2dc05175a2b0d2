//! The async `multipart/form-data` reader handlers use
//! ([`Request::multipart`](super::Request::multipart)), over the sans-IO parser in
//! [`sansweb_core::server::multipart`].

use super::request::Request;
use super::response::HttpError;
use bytes::{Bytes, BytesMut};
use http::StatusCode;
use std::fmt;

pub use sansweb_core::server::multipart::{
    boundary_of, MultipartError, MultipartEvent, MultipartLimits, MultipartParser, PartHead,
};

impl From<MultipartError> for HttpError {
    fn from(e: MultipartError) -> Self {
        let status = match e {
            MultipartError::TooManyParts { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            MultipartError::NotMultipart => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        HttpError::new(status).with_text(e.to_string())
    }
}

/// The async multipart reader over a request body (aiohttp's `MultipartReader`).
///
/// ```no_run
/// # async fn handler(req: sansweb::web::Request) -> Result<String, sansweb::web::HttpError> {
/// let mut multipart = req.multipart()?;
/// let mut sizes = Vec::new();
/// while let Some(mut part) = multipart.next_part().await? {
///     let mut size = 0;
///     while let Some(chunk) = part.chunk().await? {
///         size += chunk.len(); // a 10 GB upload never sits in memory
///     }
///     sizes.push(format!("{:?}: {size}", part.name()));
/// }
/// Ok(sizes.join("\n"))
/// # }
/// ```
pub struct Multipart<'r> {
    request: &'r Request,
    parser: MultipartParser,
    done: bool,
}

impl fmt::Debug for Multipart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Multipart")
            .field("parser", &self.parser)
            .finish()
    }
}

impl<'r> Multipart<'r> {
    pub(crate) fn new(request: &'r Request, parser: MultipartParser) -> Self {
        Self {
            request,
            parser,
            done: false,
        }
    }

    async fn next_event(&mut self) -> Result<MultipartEvent, HttpError> {
        loop {
            if let Some(event) = self.parser.poll_event()? {
                return Ok(event);
            }
            match self.request.chunk().await? {
                Some(chunk) => self.parser.handle_input(&chunk),
                None => self.parser.handle_eof(),
            }
        }
    }

    /// The next part, skipping what is left of the current one; `None` after the last.
    pub async fn next_part(&mut self) -> Result<Option<Part<'_, 'r>>, HttpError> {
        while !self.done {
            match self.next_event().await? {
                MultipartEvent::Part(head) => {
                    return Ok(Some(Part {
                        head,
                        multipart: self,
                        ended: false,
                    }))
                }
                MultipartEvent::End => self.done = true,
                MultipartEvent::Data(_) | MultipartEvent::PartEnd => {}
            }
        }
        Ok(None)
    }
}

/// One part of a multipart body; its content is read as it arrives.
pub struct Part<'m, 'r> {
    head: PartHead,
    multipart: &'m mut Multipart<'r>,
    ended: bool,
}

impl fmt::Debug for Part<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part").field("head", &self.head).finish()
    }
}

impl Part<'_, '_> {
    /// The part's headers and disposition.
    pub fn head(&self) -> &PartHead {
        &self.head
    }

    /// The form field name.
    pub fn name(&self) -> Option<&str> {
        self.head.name.as_deref()
    }

    /// The file name, for a file part.
    pub fn filename(&self) -> Option<&str> {
        self.head.filename.as_deref()
    }

    /// The part's Content-Type, if given.
    pub fn content_type(&self) -> Option<&str> {
        self.head.content_type()
    }

    /// The next piece of the content; `None` at the part's end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        if self.ended {
            return Ok(None);
        }
        match self.multipart.next_event().await? {
            MultipartEvent::Data(bytes) => Ok(Some(bytes)),
            MultipartEvent::PartEnd => {
                self.ended = true;
                Ok(None)
            }
            // The parser always ends a part before another event; be safe anyway.
            MultipartEvent::Part(_) | MultipartEvent::End => {
                self.ended = true;
                Err(HttpError::bad_request("multipart part ended unexpectedly"))
            }
        }
    }

    /// The whole content, refused with 413 past `limit` bytes.
    pub async fn read_all(&mut self, limit: usize) -> Result<Bytes, HttpError> {
        let mut all = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if all.len() + chunk.len() > limit {
                return Err(HttpError::payload_too_large(
                    limit,
                    (all.len() + chunk.len()) as u64,
                ));
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }

    /// The whole content as UTF-8 text (400 if it is not), 413 past `limit` bytes.
    pub async fn text(&mut self, limit: usize) -> Result<String, HttpError> {
        let bytes = self.read_all(limit).await?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| HttpError::bad_request("multipart field is not valid UTF-8"))
    }
}

/// A file of a form body.
#[derive(Debug, Clone, PartialEq)]
pub struct FormFile {
    /// The form field name.
    pub name: String,
    /// The file name the client gave.
    pub filename: String,
    /// The part's Content-Type, if given.
    pub content_type: Option<String>,
    /// The content.
    pub content: Bytes,
}

/// A whole form body: text fields and files, in order (aiohttp's `request.post()`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    /// Text fields (name, value).
    pub fields: Vec<(String, String)>,
    /// File parts.
    pub files: Vec<FormFile>,
}

/// Reads a whole multipart form, the sum of its contents bounded by `limit` (413).
pub(crate) async fn read_form(
    mut multipart: Multipart<'_>,
    limit: usize,
) -> Result<Form, HttpError> {
    let mut form = Form::default();
    let mut total = 0usize;
    while let Some(mut part) = multipart.next_part().await? {
        let content = part.read_all(limit - total).await?;
        total += content.len();
        let name = part.name().unwrap_or("").to_owned();
        match part.filename() {
            Some(filename) => form.files.push(FormFile {
                name,
                filename: filename.to_owned(),
                content_type: part.content_type().map(str::to_owned),
                content,
            }),
            None => {
                let text = String::from_utf8(content.to_vec())
                    .map_err(|_| HttpError::bad_request("multipart field is not valid UTF-8"))?;
                form.fields.push((name, text));
            }
        }
    }
    Ok(form)
}
