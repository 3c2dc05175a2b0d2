//! Errors: who broke the protocol, what it was, and what a server should answer.

use http::StatusCode;
use std::fmt;

/// Who broke the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blame {
    /// The peer sent something malformed, ambiguous or over a limit.
    Peer,
    /// Our side (the application using this connection) asked for something the protocol
    /// forbids, such as a header value with a CR or more body than its Content-Length.
    Local,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The method is not a token.
    InvalidMethod,
    /// The request target is malformed or does not fit the method (authority-form is for
    /// CONNECT only, `*` for OPTIONS only).
    InvalidTarget,
    /// The version is not `HTTP/1.0` or `HTTP/1.1` in form.
    InvalidVersion,
    /// A well-formed version this implementation does not speak (HTTP/2.0, ...).
    UnsupportedVersion,
    /// The status line is malformed.
    InvalidStatus,
    /// The reason phrase holds a forbidden byte.
    InvalidReason,
    /// A header name is not a token (or has whitespace before the colon).
    InvalidHeaderName,
    /// A header value holds a forbidden byte (NUL, CR, LF or another control).
    InvalidHeaderValue,
    /// A line ends in a bare LF, or a CR is not followed by LF.
    InvalidLineEnding,
    /// A header line starts with whitespace (obsolete line folding).
    ObsFold,
    /// The head is malformed in another way.
    InvalidHead,
    /// The request line or status line is longer than its limit.
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A header field line is longer than its limit.
    HeaderFieldTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// More header fields than the limit.
    TooManyHeaders {
        /// The limit, in fields.
        limit: usize,
    },
    /// The head is larger than its limit.
    HeadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// An HTTP/1.1 request without a Host header.
    MissingHost,
    /// More than one Host header.
    DuplicateHost,
    /// Both Content-Length and Transfer-Encoding: the classic smuggling ambiguity.
    ContentLengthWithTransferEncoding,
    /// A Content-Length that is not a plain decimal number, or too large.
    InvalidContentLength,
    /// Content-Length given more than once.
    DuplicateContentLength,
    /// Transfer-Encoding in an HTTP/1.0 message (RFC 9112 §6.1: faulty framing).
    TransferEncodingInHttp10,
    /// A transfer coding other than chunked (answered with 501).
    UnsupportedTransferCoding,
    /// An `Expect` member other than `100-continue` (answered with 417).
    UnsupportedExpectation,
    /// Transfer-Encoding whose final coding is not chunked, or chunked given twice.
    InvalidTransferEncoding,
    /// A chunk-size line that is not hex digits (or overflows 64 bits).
    InvalidChunkSize,
    /// Chunk data not followed by CRLF.
    InvalidChunkDelimiter,
    /// A chunk extension holding a forbidden byte.
    InvalidChunkExtension,
    /// Chunk extensions longer than their limit.
    ChunkExtensionTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A malformed trailer section.
    InvalidTrailer,
    /// A trailer section larger than its limit.
    TrailersTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A body larger than its limit.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// The connection ended in the middle of a message (or, for a client, before the
    /// response to a request that was sent).
    IncompleteMessage,
    /// The head did not arrive within the head read timeout.
    HeadReadTimeout,
    /// The server sent bytes when no request was waiting for a response.
    UnexpectedResponse,
    /// A 101 response to a request that did not ask to upgrade.
    UnexpectedUpgrade,
    /// More bytes after a message that closed the connection (`Connection: close`, or
    /// HTTP/1.0 without keep-alive).
    DataAfterClose,
    /// Outgoing: a head that cannot be written safely (forbidden bytes, missing Host,
    /// a framing header that contradicts itself). Nothing was written.
    InvalidOutgoingHead(&'static str),
    /// Outgoing: the call does not fit the connection's state. Nothing was written.
    WrongState(&'static str),
    /// Outgoing: more body than the Content-Length announced. Nothing was written.
    BodyTooLong,
    /// Outgoing: the message ended before its Content-Length was reached. The peer is
    /// waiting for bytes that will never come, so the connection is failed.
    BodyTooShort,
    /// Outgoing: a body on a message that has none (after `100-continue` was refused by a
    /// final response, or once the connection is closed).
    BodyNotAllowed,
}

/// An HTTP/1.1 protocol error: what went wrong and who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    blame: Blame,
}

impl Error {
    pub(crate) fn peer(kind: ErrorKind) -> Self {
        Self {
            kind,
            blame: Blame::Peer,
        }
    }

    pub(crate) fn local(kind: ErrorKind) -> Self {
        Self {
            kind,
            blame: Blame::Local,
        }
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Who broke the protocol.
    #[must_use]
    pub fn blame(&self) -> Blame {
        self.blame
    }

    /// For a peer error on the server side, the status to answer with (the core has
    /// already queued that answer when no response was under way).
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        if self.blame == Blame::Local {
            return None;
        }
        Some(match self.kind {
            ErrorKind::LineTooLong { .. } => StatusCode::URI_TOO_LONG,
            ErrorKind::HeaderFieldTooLong { .. }
            | ErrorKind::TooManyHeaders { .. }
            | ErrorKind::HeadTooLarge { .. }
            | ErrorKind::TrailersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorKind::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            ErrorKind::UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
            ErrorKind::UnsupportedExpectation => StatusCode::EXPECTATION_FAILED,
            ErrorKind::HeadReadTimeout => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ErrorKind::*;
        match self {
            InvalidMethod => f.write_str("invalid method"),
            InvalidTarget => f.write_str("invalid request target"),
            InvalidVersion => f.write_str("invalid HTTP version"),
            UnsupportedVersion => f.write_str("unsupported HTTP version"),
            InvalidStatus => f.write_str("invalid status line"),
            InvalidReason => f.write_str("invalid reason phrase"),
            InvalidHeaderName => f.write_str("invalid header name"),
            InvalidHeaderValue => f.write_str("invalid header value"),
            InvalidLineEnding => f.write_str("line not terminated by CRLF"),
            ObsFold => f.write_str("obsolete line folding in header"),
            InvalidHead => f.write_str("malformed message head"),
            LineTooLong { limit } => write!(f, "start line longer than {limit} bytes"),
            HeaderFieldTooLong { limit } => write!(f, "header field longer than {limit} bytes"),
            TooManyHeaders { limit } => write!(f, "more than {limit} header fields"),
            HeadTooLarge { limit } => write!(f, "message head larger than {limit} bytes"),
            MissingHost => f.write_str("HTTP/1.1 request without Host"),
            DuplicateHost => f.write_str("more than one Host header"),
            ContentLengthWithTransferEncoding => {
                f.write_str("both Content-Length and Transfer-Encoding")
            }
            InvalidContentLength => f.write_str("invalid Content-Length"),
            DuplicateContentLength => f.write_str("Content-Length given more than once"),
            TransferEncodingInHttp10 => f.write_str("Transfer-Encoding in an HTTP/1.0 message"),
            UnsupportedTransferCoding => f.write_str("unsupported transfer coding"),
            UnsupportedExpectation => f.write_str("an Expect other than 100-continue"),
            InvalidTransferEncoding => f.write_str("Transfer-Encoding does not end in chunked"),
            InvalidChunkSize => f.write_str("invalid chunk size"),
            InvalidChunkDelimiter => f.write_str("chunk data not followed by CRLF"),
            InvalidChunkExtension => f.write_str("invalid chunk extension"),
            ChunkExtensionTooLong { limit } => {
                write!(f, "chunk extensions longer than {limit} bytes")
            }
            InvalidTrailer => f.write_str("invalid trailer section"),
            TrailersTooLarge { limit } => write!(f, "trailers larger than {limit} bytes"),
            BodyTooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            IncompleteMessage => f.write_str("connection closed in the middle of a message"),
            HeadReadTimeout => f.write_str("message head not received in time"),
            UnexpectedResponse => f.write_str("response bytes with no request outstanding"),
            UnexpectedUpgrade => f.write_str("101 Switching Protocols without an upgrade request"),
            DataAfterClose => f.write_str("data after the message that closed the connection"),
            InvalidOutgoingHead(why) => write!(f, "refused to send head: {why}"),
            WrongState(why) => write!(f, "not allowed now: {why}"),
            BodyTooLong => f.write_str("body longer than its Content-Length"),
            BodyTooShort => f.write_str("body ended before its Content-Length"),
            BodyNotAllowed => f.write_str("this message has no body"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.blame {
            Blame::Peer => write!(f, "peer broke HTTP/1.1: {}", self.kind),
            Blame::Local => write!(f, "local HTTP/1.1 misuse: {}", self.kind),
        }
    }
}

impl std::error::Error for Error {}
