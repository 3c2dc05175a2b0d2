//! Reassembly of data frames into messages (RFC 6455 §5.4), with decompression (RFC 7692)
//! and incremental UTF-8 validation.
//!
//! ```text
//!            Text/Binary, FIN                 (fast path: no copy for binary)
//!   Idle ───────────────────────────────▶ message
//!    │  Text/Binary, !FIN
//!    ▼
//!   InProgress ──Continuation, !FIN──▶ InProgress
//!              ──Continuation,  FIN──▶ message, Idle
//! ```
//!
//! Limits are checked on the *header* ([`Assembler::check_header`]) so a frame that would
//! push the message past `max_message_size` fails before its payload is buffered; the
//! inflated size is capped again while inflating.

use bytes::Bytes;

use super::deflate::{InflateError, Inflater};
use super::error::ProtocolError;
use super::frame::{FrameHeader, OpCode};
use super::readbuf::ReadBuf;
use super::utf8::Utf8Validator;

/// A complete data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    Text(String),
    Binary(Bytes),
}

#[derive(Debug)]
struct Partial {
    text: bool,
    compressed: bool,
    buf: Vec<u8>,
    /// Bytes received on the wire for this message (compressed or not).
    wire_len: u64,
    utf8: Utf8Validator,
}

/// Turns data frames into messages.
#[derive(Debug)]
pub(crate) struct Assembler {
    partial: Option<Partial>,
    max_message_size: usize,
    inflater: Option<Inflater>,
}

impl Assembler {
    pub(crate) fn new(max_message_size: usize, inflater: Option<Inflater>) -> Self {
        Assembler {
            partial: None,
            max_message_size,
            inflater,
        }
    }

    /// Checks a data frame's header against the message in progress and the size limit.
    pub(crate) fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        let so_far = match (&self.partial, h.opcode) {
            (None, OpCode::Continuation) => return Err(ProtocolError::UnexpectedContinuation),
            (Some(_), OpCode::Text | OpCode::Binary) => {
                return Err(ProtocolError::ExpectedContinuation)
            }
            (Some(_), OpCode::Continuation) if h.rsv1 => {
                return Err(ProtocolError::CompressedContinuation)
            }
            (Some(p), _) => p.wire_len,
            (None, _) => 0,
        };
        if so_far.saturating_add(h.payload_len) > self.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge {
                limit: self.max_message_size,
            });
        }
        Ok(())
    }

    /// Adds a data frame (header already checked) whose unmasked payload is the first
    /// `len` bytes of `buf` (the caller checked they are there); those bytes are consumed.
    pub(crate) fn push(
        &mut self,
        h: &FrameHeader,
        buf: &mut ReadBuf,
        len: usize,
    ) -> Result<Option<Message>, ProtocolError> {
        if self.partial.is_none() && h.fin && !h.rsv1 {
            // Whole uncompressed message in one frame: binary is handed over without a
            // copy; text is validated in place and copied once into its String.
            return Ok(Some(match h.opcode {
                OpCode::Text => {
                    let text = std::str::from_utf8(&buf.data()[..len])
                        .map(str::to_owned)
                        .map_err(|_| ProtocolError::InvalidUtf8);
                    buf.advance(len);
                    Message::Text(text?)
                }
                _ => Message::Binary(buf.split_frozen(len)),
            }));
        }
        let r = self.push_partial(h, &buf.data()[..len]);
        buf.advance(len);
        r
    }

    fn push_partial(
        &mut self,
        h: &FrameHeader,
        payload: &[u8],
    ) -> Result<Option<Message>, ProtocolError> {
        let limit = self.max_message_size;
        let p = self.partial.get_or_insert_with(|| Partial {
            text: h.opcode == OpCode::Text,
            compressed: h.rsv1,
            buf: Vec::new(),
            wire_len: 0,
            utf8: Utf8Validator::new(),
        });
        p.wire_len += payload.len() as u64;
        let start = p.buf.len();
        if p.compressed {
            let inflater = self
                .inflater
                .as_mut()
                .ok_or(ProtocolError::ReservedBitsSet(4))?;
            inflater
                .inflate(payload, &mut p.buf, limit)
                .map_err(|e| inflate_error(e, limit))?;
            if h.fin {
                inflater
                    .finish_message(&mut p.buf, limit)
                    .map_err(|e| inflate_error(e, limit))?;
            }
        } else {
            p.buf.extend_from_slice(payload);
        }
        if p.text {
            p.utf8
                .feed(&p.buf[start..])
                .map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if !h.fin {
            return Ok(None);
        }
        let done = self.partial.take().map(|mut p| {
            if p.text {
                p.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
                String::from_utf8(p.buf)
                    .map(Message::Text)
                    .map_err(|_| ProtocolError::InvalidUtf8)
            } else {
                Ok(Message::Binary(Bytes::from(p.buf)))
            }
        });
        done.transpose()
    }

    /// Whether a fragmented message is being received.
    pub(crate) fn in_progress(&self) -> bool {
        self.partial.is_some()
    }

    /// Drops any message in progress (the connection failed or closed).
    pub(crate) fn clear(&mut self) {
        self.partial = None;
    }
}

fn inflate_error(e: InflateError, limit: usize) -> ProtocolError {
    match e {
        InflateError::TooLarge => ProtocolError::MessageTooLarge { limit },
        InflateError::Invalid => ProtocolError::InvalidCompressedData,
    }
}
