//! permessage-deflate (RFC 7692): negotiation and the per-message codec.
//!
//! **Negotiation.** The client offers `permessage-deflate` with optional parameters; the
//! server accepts the first offer it can honour and answers with the agreed parameters.
//! [`DeflateConfig`] holds one side's wishes; [`DeflateParams`] the agreement the
//! connection runs with.
//!
//! **Window bits.** flate2 is built here with its default pure-Rust backend
//! (miniz_oxide), which can *inflate* any window size (a smaller window is a subset of
//! 32 KiB) but can only *deflate* with a 15-bit window; `window_bits` needs flate2's
//! zlib feature. So we never promise a smaller window for our own compressor: a server
//! declines an offer carrying `server_max_window_bits` < 15 (the client may have sent a
//! fallback offer), and a client never offers `client_max_window_bits` (so a server
//! cannot ask it for a smaller window). Asking the *peer* for a smaller window is fine.
//!
//! **Codec.** A message is compressed with a sync flush and its trailing
//! `00 00 ff ff` removed; the receiver appends it back after the last frame. The
//! receiver inflates each frame as it arrives, in bounded steps, into a buffer capped at
//! the message limit: a compression bomb stops at `limit + 1` bytes of output with
//! [`InflateError::TooLarge`], never allocating more.

use std::fmt;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's registered name.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";
/// The only LZ77 window our compressor can use (see the module docs).
pub const COMPRESSOR_WINDOW_BITS: u8 = 15;
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Output grows by at most this much per inflate step (or doubles, whichever is less).
const INFLATE_STEP: usize = 64 * 1024;

/// One side's permessage-deflate wishes, used to make or answer an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Ask that the server reset its compression context after every message.
    pub server_no_context_takeover: bool,
    /// Ask that the client reset its compression context after every message.
    pub client_no_context_takeover: bool,
    /// Client role: ask the server to compress with at most this many window bits
    /// (8–15). We can inflate any size, so this only saves the server memory.
    pub server_max_window_bits: Option<u8>,
    /// zlib compression level 0–9 for what we send.
    pub compression_level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            compression_level: 6,
        }
    }
}

/// The agreed permessage-deflate parameters of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// Window bits of the server's compressor.
    pub server_max_window_bits: u8,
    /// Window bits of the client's compressor.
    pub client_max_window_bits: u8,
    /// zlib compression level 0–9 for what we send.
    pub compression_level: u32,
}

/// One element of a `Sec-WebSocket-Extensions` list: a name and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// The parameters in order, with their value (quotes removed) if any.
    pub params: Vec<(String, Option<String>)>,
}

/// Why a permessage-deflate offer or response is unacceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The `Sec-WebSocket-Extensions` header does not follow RFC 6455 §9.1.
    Syntax,
    /// A parameter RFC 7692 does not define.
    UnknownParam(String),
    /// A parameter given twice.
    DuplicateParam(String),
    /// A parameter with a missing, superfluous or out-of-range value.
    InvalidValue(String),
    /// A window smaller than our compressor can honour (see the module docs).
    UnsupportedWindowBits(u8),
    /// The server answered with a parameter the client did not allow.
    UnrequestedParam(String),
    /// The server answered with an extension the client did not offer.
    UnknownExtension(String),
    /// The server accepted permessage-deflate more than once.
    Duplicate,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NegotiationError::Syntax => f.write_str("malformed Sec-WebSocket-Extensions"),
            NegotiationError::UnknownParam(p) => {
                write!(f, "unknown permessage-deflate parameter {p:?}")
            }
            NegotiationError::DuplicateParam(p) => write!(f, "duplicate parameter {p:?}"),
            NegotiationError::InvalidValue(p) => write!(f, "invalid value for parameter {p:?}"),
            NegotiationError::UnsupportedWindowBits(b) => {
                write!(
                    f,
                    "{b} window bits requested; only 15 are supported by this build"
                )
            }
            NegotiationError::UnrequestedParam(p) => {
                write!(
                    f,
                    "server answered with parameter {p:?} the client did not offer"
                )
            }
            NegotiationError::UnknownExtension(e) => {
                write!(
                    f,
                    "server accepted extension {e:?} the client did not offer"
                )
            }
            NegotiationError::Duplicate => f.write_str("server accepted permessage-deflate twice"),
        }
    }
}

impl std::error::Error for NegotiationError {}

/// Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1):
/// `ext *( ";" param [ "=" (token | quoted-string) ] )`, comma-separated.
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, NegotiationError> {
    let mut p = Lexer {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out = Vec::new();
    loop {
        p.ws();
        if p.eat(b',') {
            continue; // empty list elements are allowed by the #rule
        }
        if p.done() {
            return Ok(out);
        }
        let name = p.token()?;
        let mut params = Vec::new();
        loop {
            p.ws();
            if !p.eat(b';') {
                break;
            }
            p.ws();
            let pname = p.token()?;
            p.ws();
            let pval = if p.eat(b'=') {
                p.ws();
                Some(if p.peek() == Some(b'"') {
                    p.quoted()?
                } else {
                    p.token()?
                })
            } else {
                None
            };
            params.push((pname, pval));
        }
        out.push(ExtensionOffer { name, params });
        p.ws();
        if !p.done() && !p.eat(b',') {
            return Err(NegotiationError::Syntax);
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> Result<String, NegotiationError> {
        let start = self.i;
        while let Some(c) = self.peek() {
            let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
            if !tchar {
                break;
            }
            self.i += 1;
        }
        if start == self.i {
            return Err(NegotiationError::Syntax);
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    fn quoted(&mut self) -> Result<String, NegotiationError> {
        self.i += 1; // opening quote
        let mut v = Vec::new();
        loop {
            match self.peek() {
                None => return Err(NegotiationError::Syntax),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&v).into_owned());
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or(NegotiationError::Syntax)?;
                    v.push(c);
                    self.i += 1;
                }
                Some(c) => {
                    v.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

/// The parameters of one offer/response, checked for duplicates and value syntax.
#[derive(Default)]
struct Seen {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value.
    client_max_window_bits: Option<Option<u8>>,
}

fn window_bits(name: &str, v: Option<&String>) -> Result<u8, NegotiationError> {
    let v = v.ok_or_else(|| NegotiationError::InvalidValue(name.into()))?;
    // RFC 7692 §7.1.2: 1*DIGIT, no leading zero, 8..=15.
    if v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NegotiationError::InvalidValue(name.into()));
    }
    match v.parse::<u8>() {
        Ok(n @ 8..=15) => Ok(n),
        _ => Err(NegotiationError::InvalidValue(name.into())),
    }
}

fn collect(ext: &ExtensionOffer) -> Result<Seen, NegotiationError> {
    let mut seen = Seen::default();
    let mut names: Vec<String> = Vec::new();
    for (name, value) in &ext.params {
        let lname = name.to_ascii_lowercase();
        if names.contains(&lname) {
            return Err(NegotiationError::DuplicateParam(lname));
        }
        let flag = |v: &Option<String>| {
            if v.is_some() {
                Err(NegotiationError::InvalidValue(lname.clone()))
            } else {
                Ok(true)
            }
        };
        match lname.as_str() {
            "server_no_context_takeover" => seen.server_no_context_takeover = flag(value)?,
            "client_no_context_takeover" => seen.client_no_context_takeover = flag(value)?,
            "server_max_window_bits" => {
                seen.server_max_window_bits = Some(window_bits(&lname, value.as_ref())?)
            }
            "client_max_window_bits" => {
                seen.client_max_window_bits = Some(match value {
                    None => None,
                    Some(_) => Some(window_bits(&lname, value.as_ref())?),
                })
            }
            _ => return Err(NegotiationError::UnknownParam(lname)),
        }
        names.push(lname);
    }
    Ok(seen)
}

impl DeflateConfig {
    /// Client role: the `Sec-WebSocket-Extensions` value offering permessage-deflate.
    #[must_use]
    pub fn offer(&self) -> String {
        let mut s = String::from(PERMESSAGE_DEFLATE);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if let Some(bits) = self.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={}", bits.clamp(8, 15)));
        }
        s
    }

    /// Server role: answers one `permessage-deflate` offer. On success gives the agreed
    /// parameters and the `Sec-WebSocket-Extensions` value of the 101 response.
    pub fn accept(
        &self,
        offer: &ExtensionOffer,
    ) -> Result<(DeflateParams, String), NegotiationError> {
        let seen = collect(offer)?;
        if let Some(bits) = seen.server_max_window_bits {
            if bits < COMPRESSOR_WINDOW_BITS {
                return Err(NegotiationError::UnsupportedWindowBits(bits));
            }
        }
        let params = DeflateParams {
            server_no_context_takeover: seen.server_no_context_takeover
                || self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: COMPRESSOR_WINDOW_BITS,
            // We never limit the client: our inflater handles any window.
            client_max_window_bits: 15,
            compression_level: self.compression_level,
        };
        let mut s = String::from(PERMESSAGE_DEFLATE);
        if params.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if params.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if seen.server_max_window_bits.is_some() {
            s.push_str("; server_max_window_bits=15");
        }
        Ok((params, s))
    }

    /// Client role: checks the server's answer to our [`offer`](Self::offer).
    pub fn check_response(
        &self,
        response: &ExtensionOffer,
    ) -> Result<DeflateParams, NegotiationError> {
        let seen = collect(response)?;
        if seen.client_max_window_bits.is_some() {
            // We never offered it (see the module docs), so the server may not use it.
            return Err(NegotiationError::UnrequestedParam(
                "client_max_window_bits".into(),
            ));
        }
        let server_bits = seen.server_max_window_bits.unwrap_or(15);
        if let Some(asked) = self.server_max_window_bits {
            if server_bits > asked.clamp(8, 15) {
                return Err(NegotiationError::InvalidValue(
                    "server_max_window_bits".into(),
                ));
            }
        }
        Ok(DeflateParams {
            server_no_context_takeover: seen.server_no_context_takeover,
            client_no_context_takeover: seen.client_no_context_takeover
                || self.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: COMPRESSOR_WINDOW_BITS,
            compression_level: self.compression_level,
        })
    }
}

/// Why inflating a message failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// The output would exceed the limit.
    TooLarge,
    /// The input is not raw deflate data.
    Invalid,
}

/// Our side's compressor.
pub(crate) struct Deflater {
    c: Compress,
    reset_each_message: bool,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("reset_each_message", &self.reset_each_message)
            .finish()
    }
}

impl Deflater {
    pub(crate) fn new(level: u32, no_context_takeover: bool) -> Self {
        Deflater {
            c: Compress::new(Compression::new(level.min(9)), false),
            reset_each_message: no_context_takeover,
        }
    }

    /// Appends the compressed form of `data` to `out`, sync-flushed. On the message's
    /// last piece the `00 00 ff ff` tail is removed (RFC 7692 §7.2.1); earlier pieces keep
    /// theirs, which the receiver reads as empty stored blocks.
    pub(crate) fn compress(&mut self, data: &[u8], last: bool, out: &mut Vec<u8>) {
        out.reserve(data.len() / 2 + 64);
        let mut input = data;
        loop {
            let before = self.c.total_in();
            // An in-memory sink cannot fail; an error would only mean a flate2 bug, and
            // then we simply stop with what was produced.
            if self
                .c
                .compress_vec(input, out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            let used = (self.c.total_in() - before) as usize;
            input = &input[used.min(input.len())..];
            // The flush is complete once all input is taken and output space remains.
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        if last {
            if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if self.reset_each_message {
                self.c.reset();
            }
        }
    }
}

/// The peer's decompressor.
pub(crate) struct Inflater {
    d: Decompress,
    reset_each_message: bool,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("reset_each_message", &self.reset_each_message)
            .finish()
    }
}

impl Inflater {
    pub(crate) fn new(no_context_takeover: bool) -> Self {
        Inflater {
            d: Decompress::new(false),
            reset_each_message: no_context_takeover,
        }
    }

    /// Inflates `input` (a frame's payload) onto `out`, which may not grow past `cap`.
    pub(crate) fn inflate(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<(), InflateError> {
        loop {
            if out.len() == out.capacity() {
                // Grow by doubling (amortised O(n) copying), by at most one step, and
                // never past cap + 1: one byte over the cap proves the message too big.
                let room = (cap + 1).saturating_sub(out.len());
                if room == 0 {
                    return Err(InflateError::TooLarge);
                }
                out.reserve_exact(out.len().clamp(1024, INFLATE_STEP).min(room));
            }
            let (in0, out0) = (self.d.total_in(), self.d.total_out());
            let status = self
                .d
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Invalid)?;
            let used = (self.d.total_in() - in0) as usize;
            let produced = self.d.total_out() - out0;
            input = &input[used.min(input.len())..];
            if out.len() > cap {
                return Err(InflateError::TooLarge);
            }
            if status == Status::StreamEnd {
                // A final (BFINAL) block ended the stream; what follows starts afresh.
                self.d.reset(false);
                if input.is_empty() {
                    return Ok(());
                }
                continue;
            }
            let output_full = out.len() == out.capacity();
            if input.is_empty() && !output_full {
                return Ok(());
            }
            if used == 0 && produced == 0 && !output_full {
                // No progress with input left and room to write: the data is broken.
                return Err(InflateError::Invalid);
            }
        }
    }

    /// Ends a message: inflates the implied `00 00 ff ff` tail.
    pub(crate) fn finish_message(
        &mut self,
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<(), InflateError> {
        let r = self.inflate(&TAIL, out, cap);
        if self.reset_each_message {
            self.d.reset(false);
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_extension_lists() {
        let v = parse_extensions(
            "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\" ,x-foo",
        )
        .unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].params, vec![("client_max_window_bits".into(), None)]);
        assert_eq!(
            v[1].params,
            vec![("server_max_window_bits".into(), Some("10".into()))]
        );
        assert_eq!(v[2].name, "x-foo");
        assert_eq!(parse_extensions("a; =1"), Err(NegotiationError::Syntax));
        assert_eq!(parse_extensions("a b"), Err(NegotiationError::Syntax));
        assert_eq!(parse_extensions("a; b=\"x"), Err(NegotiationError::Syntax));
        assert_eq!(parse_extensions(" , ").unwrap(), vec![]);
    }

    fn offer(s: &str) -> ExtensionOffer {
        parse_extensions(s).unwrap().remove(0)
    }

    #[test]
    fn server_accept_table() {
        let cfg = DeflateConfig::default();
        let ok = |s: &str| cfg.accept(&offer(s)).map(|(_, h)| h);
        assert_eq!(ok("permessage-deflate").unwrap(), "permessage-deflate");
        assert_eq!(
            ok("permessage-deflate; server_no_context_takeover; client_max_window_bits").unwrap(),
            "permessage-deflate; server_no_context_takeover"
        );
        assert_eq!(
            ok("permessage-deflate; server_max_window_bits=15").unwrap(),
            "permessage-deflate; server_max_window_bits=15"
        );
        assert_eq!(
            ok("permessage-deflate; server_max_window_bits=10"),
            Err(NegotiationError::UnsupportedWindowBits(10))
        );
        assert!(matches!(
            ok("permessage-deflate; server_max_window_bits=16"),
            Err(NegotiationError::InvalidValue(_))
        ));
        assert!(matches!(
            ok("permessage-deflate; server_max_window_bits=09"),
            Err(NegotiationError::InvalidValue(_))
        ));
        assert!(matches!(
            ok("permessage-deflate; server_max_window_bits"),
            Err(NegotiationError::InvalidValue(_))
        ));
        assert!(matches!(
            ok("permessage-deflate; client_max_window_bits=7"),
            Err(NegotiationError::InvalidValue(_))
        ));
        assert!(matches!(
            ok("permessage-deflate; server_no_context_takeover=1"),
            Err(NegotiationError::InvalidValue(_))
        ));
        assert!(matches!(
            ok("permessage-deflate; foo"),
            Err(NegotiationError::UnknownParam(_))
        ));
        assert!(matches!(
            ok("permessage-deflate; server_no_context_takeover; server_no_context_takeover"),
            Err(NegotiationError::DuplicateParam(_))
        ));
        let cfg = DeflateConfig {
            client_no_context_takeover: true,
            ..cfg
        };
        let (p, h) = cfg.accept(&offer("permessage-deflate")).unwrap();
        assert!(p.client_no_context_takeover);
        assert_eq!(h, "permessage-deflate; client_no_context_takeover");
    }

    #[test]
    fn client_response_table() {
        let cfg = DeflateConfig {
            server_max_window_bits: Some(12),
            ..DeflateConfig::default()
        };
        assert_eq!(cfg.offer(), "permessage-deflate; server_max_window_bits=12");
        let p = cfg
            .check_response(&offer(
                "permessage-deflate; server_max_window_bits=10; client_no_context_takeover",
            ))
            .unwrap();
        assert_eq!(p.server_max_window_bits, 10);
        assert!(p.client_no_context_takeover);
        assert!(cfg
            .check_response(&offer("permessage-deflate; server_max_window_bits=13"))
            .is_err());
        assert!(matches!(
            cfg.check_response(&offer("permessage-deflate; client_max_window_bits=9")),
            Err(NegotiationError::UnrequestedParam(_))
        ));
    }

    #[test]
    fn rfc7692_hello_example() {
        // RFC 7692 §7.2.3.1: "Hello" compressed.
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        inf.inflate(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        inf.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.2: the second "Hello" with context takeover.
        let mut out = Vec::new();
        inf.inflate(&[0xf2, 0x00, 0x11, 0x00, 0x00], &mut out, 100)
            .unwrap();
        inf.finish_message(&mut out, 100).unwrap();
        assert_eq!(out, b"Hello");
        // §7.2.3.4: a BFINAL block followed by nothing.
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        inf.inflate(
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
            &mut out,
            100,
        )
        .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn round_trip_with_and_without_context_takeover() {
        for nct in [false, true] {
            let mut def = Deflater::new(6, nct);
            let mut inf = Inflater::new(nct);
            for i in 0..5 {
                let msg = format!("message number {i} message number {i} message");
                let mut wire = Vec::new();
                def.compress(msg.as_bytes(), true, &mut wire);
                let mut out = Vec::new();
                inf.inflate(&wire, &mut out, 1 << 20).unwrap();
                inf.finish_message(&mut out, 1 << 20).unwrap();
                assert_eq!(out, msg.as_bytes());
            }
        }
    }

    #[test]
    fn bomb_is_capped() {
        let zeros = vec![0u8; 8 << 20];
        let mut def = Deflater::new(9, false);
        let mut wire = Vec::new();
        def.compress(&zeros, true, &mut wire);
        assert!(wire.len() < 20_000, "{}", wire.len());
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            inf.inflate(&wire, &mut out, 1 << 20),
            Err(InflateError::TooLarge)
        );
        assert!(
            out.capacity() <= (1 << 20) + 1,
            "capacity {}",
            out.capacity()
        );
    }

    #[test]
    fn garbage_is_invalid() {
        let mut inf = Inflater::new(false);
        let mut out = Vec::new();
        assert_eq!(
            inf.inflate(&[0xff, 0xff, 0xff, 0xff], &mut out, 100),
            Err(InflateError::Invalid)
        );
    }
}
