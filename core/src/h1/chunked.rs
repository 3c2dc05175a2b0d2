//! The chunked transfer coding (RFC 9112 §7.1), decoding side.
//!
//! Theory of operation: the decoder consumes bytes from the front of the connection's
//! read buffer as it goes, keeping just enough state to resume at any byte boundary, so
//! each byte is looked at once. Chunk data is never copied: it leaves as `Bytes` split
//! off the buffer. Extensions are checked for forbidden bytes, counted against their
//! limit and dropped; the trailer section is found with the same incremental scanner as
//! heads and delivered on its own, never merged into the head's fields.
//!
//! ```text
//!  Size ─hex─► Size ─[SP/HT]─► SizeSpace ─;─► Ext ─CR─► SizeLf ─LF─┬─(n>0)─► Data ─► DataCr ─► DataLf ─► Size
//!    └──;──► Ext    └─CR─► SizeLf                                  └─(n=0)─► Trailers ─empty line─► Done
//! ```

use super::error::ErrorKind;
use super::parse::parse_trailers;
use super::scan::{HeadScanner, ScanLimits};
use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;

/// One step of decoded output.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// The trailer section (only when not empty), followed by `End` on the next call.
    Trailers(HeaderMap),
    /// The body is complete.
    End,
}

/// Where in `*( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )` we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtPos {
    /// After `;`: optional whitespace, then a name.
    BeforeName,
    Name,
    /// After a name: whitespace, `=`, `;` or CR.
    AfterName,
    /// After `=`: whitespace, then a token or a quoted string.
    BeforeValue,
    Token,
    Quoted,
    QuotedEscape,
    /// After a value: whitespace, `;` or CR.
    AfterValue,
}

fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// One byte of chunk extensions: the next position, `Ok(None)` at the line's CR.
fn ext_step(at: ExtPos, b: u8) -> Result<Option<ExtPos>, ErrorKind> {
    use ExtPos::*;
    let ws = b == b' ' || b == b'\t';
    Ok(Some(match at {
        BeforeName if ws => BeforeName,
        BeforeName | AfterName | AfterValue if b == b';' && at != BeforeName => BeforeName,
        BeforeName if is_tchar(b) => Name,
        Name if is_tchar(b) => Name,
        Name | AfterName if ws => AfterName,
        Name | AfterName if b == b'=' => BeforeValue,
        Name | AfterName | Token | AfterValue if b == b'\r' => return Ok(None),
        Name if b == b';' => BeforeName,
        BeforeValue if ws => BeforeValue,
        BeforeValue if b == b'"' => Quoted,
        BeforeValue | Token if is_tchar(b) => Token,
        Token if b == b';' => BeforeName,
        Token | AfterValue if ws => AfterValue,
        Quoted if b == b'"' => AfterValue,
        Quoted if b == b'\\' => QuotedEscape,
        // qdtext / quoted-pair: HTAB, SP, VCHAR, obs-text; never CR, LF or other controls.
        Quoted | QuotedEscape if b == b'\t' || (b >= 0x20 && b != 0x7f) => Quoted,
        _ => return Err(ErrorKind::InvalidChunkExtension),
    }))
}

#[derive(Debug, Clone)]
enum State {
    Size { value: u64, digits: u32 },
    SizeSpace { value: u64 },
    Ext { value: u64, len: usize, at: ExtPos },
    SizeLf { value: u64 },
    Data { remaining: u64 },
    DataCr,
    DataLf,
    Trailers { scanner: HeadScanner },
    TrailersDelivered,
    Done,
}

/// Limits the chunked decoder enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkedLimits {
    pub extension: usize,
    pub trailer_total: usize,
    pub trailer_field: usize,
    pub trailer_fields: usize,
}

/// Incremental chunked decoder.
#[derive(Debug, Clone)]
pub(crate) struct ChunkedDecoder {
    state: State,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self {
            state: State::Size {
                value: 0,
                digits: 0,
            },
        }
    }
}

fn hex_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some(u64::from(b - b'0')),
        b'a'..=b'f' => Some(u64::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(b - b'A' + 10)),
        _ => None,
    }
}

impl ChunkedDecoder {
    /// Decodes from the front of `buf`. `Ok(None)`: every byte was consumed (or is held
    /// for the trailer section) and more are needed.
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        limits: &ChunkedLimits,
    ) -> Result<Option<Decoded>, ErrorKind> {
        loop {
            match &mut self.state {
                State::Data { remaining } => {
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    let take = (*remaining).min(buf.len() as u64) as usize;
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(Some(Decoded::Data(buf.split_to(take).freeze())));
                }
                State::Trailers { scanner } => {
                    let scan = ScanLimits {
                        start_line: 0,
                        field: limits.trailer_field,
                        fields: limits.trailer_fields,
                        total: limits.trailer_total,
                        has_start_line: false,
                        request: false,
                        total_error: |limit| ErrorKind::TrailersTooLarge { limit },
                    };
                    let len = match scanner.scan(buf, &scan) {
                        Ok(Some(len)) => len,
                        Ok(None) => return Ok(None),
                        Err(
                            ErrorKind::HeaderFieldTooLong { .. } | ErrorKind::TooManyHeaders { .. },
                        ) => {
                            return Err(ErrorKind::TrailersTooLarge {
                                limit: limits.trailer_total,
                            })
                        }
                        Err(ErrorKind::TrailersTooLarge { limit }) => {
                            return Err(ErrorKind::TrailersTooLarge { limit })
                        }
                        Err(_) => return Err(ErrorKind::InvalidTrailer),
                    };
                    let fields = scanner.field_count(&scan);
                    let section = buf.split_to(len).freeze();
                    if fields == 0 {
                        self.state = State::Done;
                        return Ok(Some(Decoded::End));
                    }
                    let trailers = parse_trailers(section, fields)?;
                    self.state = State::TrailersDelivered;
                    return Ok(Some(Decoded::Trailers(trailers)));
                }
                State::TrailersDelivered => {
                    self.state = State::Done;
                    return Ok(Some(Decoded::End));
                }
                State::Done => return Ok(Some(Decoded::End)),
                _ => {}
            }
            // The byte-wise states: a size line or a CRLF after data.
            let Some(&b) = buf.first() else {
                return Ok(None);
            };
            buf.advance(1);
            self.state = match std::mem::replace(&mut self.state, State::Done) {
                State::Size { value, digits } => match (hex_value(b), b) {
                    (Some(d), _) => {
                        // At most 16 hex digits, leading zeros included: the value fits
                        // a u64 and the size line stays short whatever the peer sends.
                        if digits >= 16 {
                            return Err(ErrorKind::InvalidChunkSize);
                        }
                        State::Size {
                            value: value << 4 | d,
                            digits: digits + 1,
                        }
                    }
                    (None, _) if digits == 0 => return Err(ErrorKind::InvalidChunkSize),
                    (None, b'\r') => State::SizeLf { value },
                    (None, b';') => State::Ext {
                        value,
                        len: 0,
                        at: ExtPos::BeforeName,
                    },
                    (None, b' ' | b'\t') => State::SizeSpace { value },
                    (None, _) => return Err(ErrorKind::InvalidChunkSize),
                },
                // BWS is allowed only before an extension's `;` (RFC 9112 §7.1.1).
                State::SizeSpace { value } => match b {
                    b' ' | b'\t' => State::SizeSpace { value },
                    b';' => State::Ext {
                        value,
                        len: 0,
                        at: ExtPos::BeforeName,
                    },
                    _ => return Err(ErrorKind::InvalidChunkSize),
                },
                State::Ext { value, len, at } => {
                    if len + 1 > limits.extension {
                        return Err(ErrorKind::ChunkExtensionTooLong {
                            limit: limits.extension,
                        });
                    }
                    match ext_step(at, b)? {
                        Some(at) => State::Ext {
                            value,
                            len: len + 1,
                            at,
                        },
                        None => State::SizeLf { value },
                    }
                }
                State::SizeLf { value } => {
                    if b != b'\n' {
                        return Err(ErrorKind::InvalidLineEnding);
                    }
                    if value == 0 {
                        State::Trailers {
                            scanner: HeadScanner::default(),
                        }
                    } else {
                        State::Data { remaining: value }
                    }
                }
                State::DataCr => {
                    if b != b'\r' {
                        return Err(ErrorKind::InvalidChunkDelimiter);
                    }
                    State::DataLf
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(ErrorKind::InvalidChunkDelimiter);
                    }
                    State::Size {
                        value: 0,
                        digits: 0,
                    }
                }
                // These states return before reaching the byte-wise step.
                State::Data { .. }
                | State::Trailers { .. }
                | State::TrailersDelivered
                | State::Done => return Err(ErrorKind::InvalidChunkSize),
            };
        }
    }
}

/// Writes the chunk-size line for a chunk of `len` bytes.
pub(crate) fn encode_chunk_size(out: &mut BytesMut, len: usize) {
    let mut digits = [0u8; 16];
    let mut n = len;
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}
