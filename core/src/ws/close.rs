//! Close codes and the close frame's payload (RFC 6455 §5.5.1, §7.4).
//!
//! A close payload is either empty or a 2-byte big-endian status code followed by a UTF-8
//! reason. The codes a peer may put on the wire are 1000–1003, 1007–1014 and 3000–4999;
//! 1004 is reserved, and 1005/1006/1015 exist only to *report* a missing code, an abnormal
//! closure or a TLS failure locally, so seeing one on the wire is a protocol error.

use std::fmt;

use super::error::{LocalError, ProtocolError};

/// Largest payload of any control frame (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;
/// Largest close reason: a control payload minus the 2-byte code.
pub const MAX_CLOSE_REASON: usize = MAX_CONTROL_PAYLOAD - 2;

/// A WebSocket close status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present (never sent; reported locally).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection closed without a close frame (never sent; reported locally).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: data inconsistent with the message type (invalid UTF-8 in a text message).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a policy violation.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);

    /// Whether this code may appear in a close frame on the wire (sent or received).
    #[must_use]
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The content of a close frame: a code and a reason.
///
/// A close frame received with an empty payload is reported with
/// [`CloseCode::NO_STATUS`] and an empty reason, as RFC 6455 §7.1.5 prescribes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most [`MAX_CLOSE_REASON`] bytes of UTF-8.
    pub reason: String,
}

impl CloseFrame {
    /// Parses a received close payload, enforcing every rule of RFC 6455 §5.5.1/§7.4.
    pub fn parse(payload: &[u8]) -> Result<CloseFrame, ProtocolError> {
        match payload.len() {
            0 => Ok(CloseFrame {
                code: CloseCode::NO_STATUS,
                reason: String::new(),
            }),
            // A code is two bytes; one byte is neither "no code" nor a code.
            1 => Err(ProtocolError::CloseOneBytePayload),
            _ => {
                let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                if !code.is_valid_on_wire() {
                    return Err(ProtocolError::InvalidCloseCode(code.0));
                }
                let reason = std::str::from_utf8(&payload[2..])
                    .map_err(|_| ProtocolError::CloseReasonNotUtf8)?;
                Ok(CloseFrame {
                    code,
                    reason: reason.to_owned(),
                })
            }
        }
    }

    /// Checks a close we are about to send, so we never put an invalid close on the wire.
    pub(crate) fn validate_outgoing(code: CloseCode, reason: &str) -> Result<(), LocalError> {
        if !code.is_valid_on_wire() {
            return Err(LocalError::InvalidCloseCode(code.0));
        }
        if reason.len() > MAX_CLOSE_REASON {
            return Err(LocalError::CloseReasonTooLong(reason.len()));
        }
        Ok(())
    }

    /// The close payload for `code` and `reason` (already validated).
    pub(crate) fn encode_payload(code: CloseCode, reason: &str, out: &mut Vec<u8>) {
        out.extend_from_slice(&code.0.to_be_bytes());
        out.extend_from_slice(reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_validity_table() {
        let valid = [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ];
        for c in 0..=6000u16 {
            let expect = valid.contains(&c) || (3000..=4999).contains(&c);
            assert_eq!(CloseCode(c).is_valid_on_wire(), expect, "code {c}");
        }
    }

    #[test]
    fn parse_table() {
        assert_eq!(CloseFrame::parse(b"").unwrap().code, CloseCode::NO_STATUS);
        assert_eq!(
            CloseFrame::parse(b"\x03"),
            Err(ProtocolError::CloseOneBytePayload)
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8ok").unwrap(),
            CloseFrame {
                code: CloseCode::NORMAL,
                reason: "ok".into()
            }
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xed"),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xff"),
            Err(ProtocolError::CloseReasonNotUtf8)
        );
    }
}
