//! Typed errors. Each says who broke the rules: the peer ([`ProtocolError`], with the
//! close code we answer with), us ([`LocalError`], an API misuse refused before anything
//! reaches the wire), or the network ([`Error::CloseTimeout`], [`Error::PeerUnresponsive`],
//! [`Error::AbnormalClosure`]).

use std::fmt;

use super::close::CloseCode;

/// The peer broke RFC 6455 or RFC 7692. The connection is failed and a close frame with
/// [`ProtocolError::close_code`] is queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode RFC 6455 reserves (3–7, 11–15).
    ReservedOpcode(u8),
    /// RSV1/2/3 set without an extension that defines it.
    ReservedBitsSet(u8),
    /// A client sent an unmasked frame (the server role requires masking).
    UnmaskedFrame,
    /// A server sent a masked frame (the client role forbids masking).
    MaskedFrame,
    /// A control frame longer than 125 bytes.
    ControlFrameTooLong(u64),
    /// A control frame without FIN.
    FragmentedControlFrame,
    /// A continuation frame with no message in progress.
    UnexpectedContinuation,
    /// A new text/binary frame while a fragmented message was still in progress.
    ExpectedContinuation,
    /// RSV1 (compressed) on a continuation frame; only the first frame may carry it.
    CompressedContinuation,
    /// A 16/64-bit length that fits a shorter encoding, or a 64-bit length with its top bit
    /// set (RFC 6455 §5.2 demands the minimal encoding).
    InvalidLength,
    /// A frame larger than the configured maximum frame size.
    FrameTooLarge {
        /// The length the frame header declared.
        declared: u64,
        /// The configured limit.
        limit: usize,
    },
    /// A message larger than the configured maximum message size (also after
    /// decompression).
    MessageTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// A text message (or a fragment of one) that is not UTF-8.
    InvalidUtf8,
    /// A close frame whose payload is exactly one byte.
    CloseOneBytePayload,
    /// A close frame carrying a code that may not appear on the wire.
    InvalidCloseCode(u16),
    /// A close frame whose reason is not UTF-8.
    CloseReasonNotUtf8,
    /// A compressed message that is not valid raw deflate data.
    InvalidCompressedData,
}

impl ProtocolError {
    /// The close code we send when failing the connection for this error.
    #[must_use]
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::CloseReasonNotUtf8 => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::FrameTooLarge { .. } | ProtocolError::MessageTooLarge { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedOpcode(op) => write!(f, "peer used reserved opcode {op:#x}"),
            ProtocolError::ReservedBitsSet(bits) => {
                write!(
                    f,
                    "peer set RSV bits {bits:#05b} without a negotiated extension"
                )
            }
            ProtocolError::UnmaskedFrame => f.write_str("client sent an unmasked frame"),
            ProtocolError::MaskedFrame => f.write_str("server sent a masked frame"),
            ProtocolError::ControlFrameTooLong(n) => {
                write!(f, "peer sent a {n}-byte control frame (max 125)")
            }
            ProtocolError::FragmentedControlFrame => {
                f.write_str("peer sent a fragmented control frame")
            }
            ProtocolError::UnexpectedContinuation => {
                f.write_str("peer sent a continuation frame with no message in progress")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("peer started a new message before finishing the previous one")
            }
            ProtocolError::CompressedContinuation => {
                f.write_str("peer set RSV1 on a continuation frame")
            }
            ProtocolError::InvalidLength => {
                f.write_str("peer used a non-minimal or invalid frame length")
            }
            ProtocolError::FrameTooLarge { declared, limit } => {
                write!(f, "peer declared a {declared}-byte frame (limit {limit})")
            }
            ProtocolError::MessageTooLarge { limit } => {
                write!(f, "peer's message exceeds the {limit}-byte limit")
            }
            ProtocolError::InvalidUtf8 => f.write_str("peer sent a text message that is not UTF-8"),
            ProtocolError::CloseOneBytePayload => {
                f.write_str("peer sent a close frame with a 1-byte payload")
            }
            ProtocolError::InvalidCloseCode(c) => write!(f, "peer sent invalid close code {c}"),
            ProtocolError::CloseReasonNotUtf8 => {
                f.write_str("peer sent a close reason that is not UTF-8")
            }
            ProtocolError::InvalidCompressedData => {
                f.write_str("peer sent invalid permessage-deflate data")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// The application misused the API; nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocalError {
    /// A data or ping frame after our close frame was sent (or the connection failed).
    Closing,
    /// A close code that may not be sent (1005, 1006, 1015, reserved ranges).
    InvalidCloseCode(u16),
    /// A close reason over 123 bytes.
    CloseReasonTooLong(usize),
    /// A ping/pong payload over 125 bytes.
    ControlPayloadTooLong(usize),
    /// A whole message or a new fragmented message while a fragmented send is unfinished.
    FragmentInProgress,
    /// A text fragment continuing a binary message or the reverse.
    FragmentKindMismatch,
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalError::Closing => f.write_str("cannot send: the connection is closing or closed"),
            LocalError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            LocalError::CloseReasonTooLong(n) => write!(f, "close reason of {n} bytes (max 123)"),
            LocalError::ControlPayloadTooLong(n) => {
                write!(f, "control payload of {n} bytes (max 125)")
            }
            LocalError::FragmentInProgress => {
                f.write_str("a fragmented message is being sent; finish it first")
            }
            LocalError::FragmentKindMismatch => {
                f.write_str("a fragment's kind differs from its message's kind")
            }
        }
    }
}

impl std::error::Error for LocalError {}

/// Why a connection failed, as reported by [`Event::Failed`](super::Event::Failed).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol; we sent (or tried to send) a close frame with its code.
    Protocol(ProtocolError),
    /// We sent a close frame and the peer did not answer within the close timeout.
    CloseTimeout,
    /// The heartbeat's ping got no answer in time: the peer is presumed dead.
    PeerUnresponsive,
    /// The transport ended before the close handshake completed (reported as 1006).
    AbnormalClosure,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => write!(f, "protocol error by the peer: {e}"),
            Error::CloseTimeout => f.write_str("peer did not answer our close frame in time"),
            Error::PeerUnresponsive => {
                f.write_str("peer did not answer the heartbeat ping in time")
            }
            Error::AbnormalClosure => {
                f.write_str("transport closed before the close handshake completed")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}
