//! The frame codec (RFC 6455 §5.2): header parse and encode, for either role.
//!
//! ```text
//!  0               1               2               3
//!  F R R R opcode  M len7          [len16 | len64]  [mask key]  payload
//! ```
//!
//! [`FrameHeader::parse`] reads only the header, so limits are checked against the
//! *declared* length before any payload is buffered. The rules that depend on the
//! connection (which side must mask, whether RSV1 means something) come in
//! [`FrameRules`]; the rules that depend on the message in progress (continuations) are
//! the assembler's.

use bytes::{BufMut, BytesMut};

use super::error::ProtocolError;
use super::mask::apply_mask;

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We opened the connection: our frames are masked, the server's must not be.
    Client,
    /// We accepted the connection: the client's frames must be masked, ours are not.
    Server,
}

/// A frame opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// The opcode for the low 4 bits of a frame's first byte, or the reserved value.
    pub fn from_u8(op: u8) -> Result<OpCode, ProtocolError> {
        Ok(match op {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(ProtocolError::ReservedOpcode(other)),
        })
    }

    /// The wire value.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Close, ping and pong.
    #[must_use]
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// The connection-level rules a received header is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRules {
    /// Our role: a server requires masked frames, a client refuses them.
    pub role: Role,
    /// Whether RSV1 may be set (permessage-deflate was negotiated).
    pub allow_rsv1: bool,
    /// The largest payload a single frame may declare.
    pub max_frame_size: usize,
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: the last frame of a message.
    pub fin: bool,
    /// RSV1 (per-message compressed, with permessage-deflate).
    pub rsv1: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub payload_len: u64,
}

/// The longest possible header: 2 + 8 (length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

impl FrameHeader {
    /// The header of a frame we send carrying `payload`.
    pub(crate) fn for_payload(
        opcode: OpCode,
        fin: bool,
        rsv1: bool,
        mask: Option<[u8; 4]>,
        payload: &[u8],
    ) -> FrameHeader {
        FrameHeader {
            fin,
            rsv1,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        }
    }

    /// Parses a header from the start of `buf`. `Ok(None)` means more bytes are needed;
    /// `Ok(Some((header, len)))` gives the header and how many bytes it took.
    pub fn parse(
        buf: &[u8],
        rules: &FrameRules,
    ) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
        let (b0, b1) = match buf {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Ok(None),
        };
        let fin = b0 & 0x80 != 0;
        let rsv1 = b0 & 0x40 != 0;
        let rsv = (b0 >> 4) & 0x7;
        let opcode = OpCode::from_u8(b0 & 0x0F)?;
        if rsv & 0b011 != 0 || (rsv1 && !rules.allow_rsv1) {
            return Err(ProtocolError::ReservedBitsSet(rsv));
        }
        let masked = b1 & 0x80 != 0;
        match (rules.role, masked) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::FragmentedControlFrame);
            }
            if len7 > 125 {
                // 126/127 announce an extended length, which a control frame never has.
                return Err(ProtocolError::ControlFrameTooLong(u64::from(len7)));
            }
            if rsv1 {
                // RFC 7692 §6: RSV1 is for data messages only.
                return Err(ProtocolError::ReservedBitsSet(rsv));
            }
        }
        let (payload_len, mut pos) = match len7 {
            126 => {
                let Some(b) = buf.get(2..4) else {
                    return Ok(None);
                };
                let n = u64::from(u16::from_be_bytes([b[0], b[1]]));
                if n < 126 {
                    return Err(ProtocolError::InvalidLength);
                }
                (n, 4)
            }
            127 => {
                let Some(b) = buf.get(2..10) else {
                    return Ok(None);
                };
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                let n = u64::from_be_bytes(a);
                if n <= u64::from(u16::MAX) || n >> 63 != 0 {
                    return Err(ProtocolError::InvalidLength);
                }
                (n, 10)
            }
            n => (u64::from(n), 2),
        };
        if payload_len > rules.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                declared: payload_len,
                limit: rules.max_frame_size,
            });
        }
        let mask = if masked {
            let Some(k) = buf.get(pos..pos + 4) else {
                return Ok(None);
            };
            pos += 4;
            Some([k[0], k[1], k[2], k[3]])
        } else {
            None
        };
        Ok(Some((
            FrameHeader {
                fin,
                rsv1,
                opcode,
                mask,
                payload_len,
            },
            pos,
        )))
    }

    /// This header's bytes (the first `.1` of `.0`), with the minimal length encoding:
    /// for writing it in front of a payload in a buffer that is not a `BytesMut` tail.
    #[must_use]
    pub fn to_array(&self) -> ([u8; MAX_HEADER_LEN], usize) {
        let mut out = [0u8; MAX_HEADER_LEN];
        out[0] = (u8::from(self.fin) << 7) | (u8::from(self.rsv1) << 6) | self.opcode.as_u8();
        let mbit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mbit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                out[1] = mbit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mbit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(k) = self.mask {
            out[n..n + 4].copy_from_slice(&k);
            n += 4;
        }
        (out, n)
    }

    /// Appends this header to `out`, with the minimal length encoding.
    pub fn encode(&self, out: &mut BytesMut) {
        let b0 = (u8::from(self.fin) << 7) | (u8::from(self.rsv1) << 6) | self.opcode.as_u8();
        let mbit = if self.mask.is_some() { 0x80 } else { 0 };
        out.put_u8(b0);
        match self.payload_len {
            n @ 0..=125 => out.put_u8(mbit | n as u8),
            n @ 126..=0xFFFF => {
                out.put_u8(mbit | 126);
                out.put_u16(n as u16);
            }
            n => {
                out.put_u8(mbit | 127);
                out.put_u64(n);
            }
        }
        if let Some(k) = self.mask {
            out.put_slice(&k);
        }
    }
}

/// Appends a whole frame (header and payload, masked with `mask` if given) to `out`.
pub fn encode_frame(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) {
    let header = FrameHeader::for_payload(opcode, fin, rsv1, mask, payload);
    out.reserve(MAX_HEADER_LEN + payload.len());
    header.encode(out);
    let start = out.len();
    // One copy, then masking in place: measured faster than copying and masking block
    // by block, whose many mid-size copies to an unaligned destination were slower
    // than the one large copy (and the masking pass) together.
    out.put_slice(payload);
    if let Some(k) = mask {
        apply_mask(&mut out[start..], k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_array_equals_encode() {
        let lens = [
            0u64,
            1,
            125,
            126,
            127,
            0xFFFF,
            0x1_0000,
            1 << 20,
            u64::MAX >> 1,
        ];
        for len in lens {
            for mask in [None, Some([1, 2, 3, 4])] {
                for (fin, rsv1) in [(true, false), (false, true)] {
                    let h = FrameHeader {
                        fin,
                        rsv1,
                        opcode: OpCode::Binary,
                        mask,
                        payload_len: len,
                    };
                    let mut encoded = BytesMut::new();
                    h.encode(&mut encoded);
                    let (arr, n) = h.to_array();
                    assert_eq!(&arr[..n], &encoded[..], "len {len} mask {mask:?}");
                }
            }
        }
    }

    const SERVER: FrameRules = FrameRules {
        role: Role::Server,
        allow_rsv1: false,
        max_frame_size: 1 << 20,
    };
    const CLIENT: FrameRules = FrameRules {
        role: Role::Client,
        allow_rsv1: false,
        max_frame_size: 1 << 20,
    };

    type Expect = Result<Option<(FrameHeader, usize)>, ProtocolError>;

    fn hdr(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv1: false,
            opcode,
            mask,
            payload_len: len,
        }
    }

    #[test]
    fn header_table() {
        let k = Some([1, 2, 3, 4]);
        let table: Vec<(&[u8], FrameRules, Expect)> = vec![
            (
                b"\x81\x05",
                CLIENT,
                Ok(Some((hdr(true, OpCode::Text, None, 5), 2))),
            ),
            (
                b"\x81\x85\x01\x02\x03\x04",
                SERVER,
                Ok(Some((hdr(true, OpCode::Text, k, 5), 6))),
            ),
            (
                b"\x02\x7e\x01\x00",
                CLIENT,
                Ok(Some((hdr(false, OpCode::Binary, None, 256), 4))),
            ),
            (
                b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00",
                CLIENT,
                Ok(Some((hdr(true, OpCode::Binary, None, 65536), 10))),
            ),
            (b"\x81", CLIENT, Ok(None)),
            (b"\x82\x7e\x01", CLIENT, Ok(None)),
            (b"\x81\x85\x01\x02\x03", SERVER, Ok(None)),
            (b"\x81\x05", SERVER, Err(ProtocolError::UnmaskedFrame)),
            (b"\x81\x85", CLIENT, Err(ProtocolError::MaskedFrame)),
            (b"\x83\x00", CLIENT, Err(ProtocolError::ReservedOpcode(3))),
            (b"\x8b\x00", CLIENT, Err(ProtocolError::ReservedOpcode(0xb))),
            (b"\xc1\x00", CLIENT, Err(ProtocolError::ReservedBitsSet(4))),
            (b"\xa1\x00", CLIENT, Err(ProtocolError::ReservedBitsSet(2))),
            (b"\x91\x00", CLIENT, Err(ProtocolError::ReservedBitsSet(1))),
            (
                b"\x09\x00",
                CLIENT,
                Err(ProtocolError::FragmentedControlFrame),
            ),
            (
                b"\x89\x7e\x00\x7e",
                CLIENT,
                Err(ProtocolError::ControlFrameTooLong(126)),
            ),
            (
                b"\x82\x7e\x00\x7d",
                CLIENT,
                Err(ProtocolError::InvalidLength),
            ),
            (
                b"\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff",
                CLIENT,
                Err(ProtocolError::InvalidLength),
            ),
            (
                b"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00",
                CLIENT,
                Err(ProtocolError::InvalidLength),
            ),
            (
                b"\x82\x7f\x00\x00\x00\x00\x01\x00\x00\x00",
                CLIENT,
                Err(ProtocolError::FrameTooLarge {
                    declared: 1 << 24,
                    limit: 1 << 20,
                }),
            ),
        ];
        for (bytes, rules, expect) in table {
            assert_eq!(FrameHeader::parse(bytes, &rules), expect, "{bytes:x?}");
        }
    }

    #[test]
    fn rsv1_allowed_with_extension_on_data_only() {
        let rules = FrameRules {
            allow_rsv1: true,
            ..CLIENT
        };
        let (h, _) = FrameHeader::parse(b"\xc1\x00", &rules).unwrap().unwrap();
        assert!(h.rsv1);
        assert_eq!(
            FrameHeader::parse(b"\xc9\x00", &rules),
            Err(ProtocolError::ReservedBitsSet(4))
        );
    }

    #[test]
    fn encode_uses_minimal_lengths() {
        for (len, hlen) in [
            (0usize, 2usize),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
        ] {
            let mut out = BytesMut::new();
            let payload = vec![0u8; len];
            encode_frame(&mut out, OpCode::Binary, true, false, None, &payload);
            assert_eq!(out.len(), hlen + len);
            let (h, n) = FrameHeader::parse(&out, &CLIENT).unwrap().unwrap();
            assert_eq!((h.payload_len, n), (len as u64, hlen));
        }
    }
}
