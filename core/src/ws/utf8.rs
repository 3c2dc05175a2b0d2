//! Incremental UTF-8 validation across fragments.
//!
//! A text message may be split at any byte, even inside a code point, so the validator
//! carries at most 3 bytes of an unfinished code point from one fragment to the next.
//! Each piece is checked with the standard library's `str::from_utf8` (word-at-a-time
//! on ASCII runs), whose error says whether the input is *invalid* (`error_len` is
//! `Some`) or merely *cut short* (`None`). Invalid input fails at once, in the fragment
//! that holds the bad byte, which is what RFC 6455 §8.1 asks ("fail fast").

/// Validates a byte stream as UTF-8 piece by piece.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: usize,
}

/// The input so far is not UTF-8 (whatever follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece.
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let width = utf8_width(self.partial[0]);
            let take = (width - self.partial_len).min(input.len());
            self.partial[self.partial_len..self.partial_len + take].copy_from_slice(&input[..take]);
            self.partial_len += take;
            input = &input[take..];
            match std::str::from_utf8(&self.partial[..self.partial_len]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_some() => return Err(InvalidUtf8),
                // Still a valid prefix, and `input` is empty (we took all of it).
                Err(_) => return Ok(()),
            }
        }
        match std::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                let tail = &input[e.valid_up_to()..];
                // A cut-short code point is at most 3 bytes, so this always fits.
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len();
                Ok(())
            }
        }
    }

    /// Ends the message: an unfinished code point at the end is invalid.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let done = self.partial_len == 0;
        self.partial_len = 0;
        if done {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Whether no bytes of an unfinished code point are pending.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }
}

/// The length of the code point a (valid) lead byte starts.
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_every_split(bytes: &[u8]) -> bool {
        let whole = std::str::from_utf8(bytes).is_ok();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut v = Utf8Validator::new();
                let r = v
                    .feed(&bytes[..i])
                    .and_then(|_| v.feed(&bytes[i..j]))
                    .and_then(|_| v.feed(&bytes[j..]))
                    .and_then(|_| v.finish());
                assert_eq!(r.is_ok(), whole, "{bytes:x?} split {i},{j}");
            }
        }
        whole
    }

    #[test]
    fn table() {
        assert!(check_every_split("héllo €𝄞 wörld".as_bytes()));
        assert!(!check_every_split(
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
        ));
        assert!(!check_every_split(b"ab\xf4\x90\x80\x80"));
        assert!(!check_every_split(b"ab\xe2\x82"));
        assert!(!check_every_split(b"\xc0\xaf"));
        assert!(!check_every_split(b"\xff"));
    }

    #[test]
    fn fails_fast_on_the_bad_byte() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"ok \xe0").is_ok());
        // 0xE0 must be followed by A0..BF: the very next byte is already wrong.
        assert_eq!(v.feed(b"\x80"), Err(InvalidUtf8));
    }
}
