//! permessage-deflate negotiation (RFC 7692 §5, §7.1): parsing `Sec-WebSocket-Extensions`,
//! making an offer, answering one, and checking the answer.
//!
//! The client offers `permessage-deflate` with optional parameters; the server accepts the
//! first offer it can honour and answers with the agreed parameters. [`DeflateConfig`]
//! holds one side's wishes; [`DeflateParams`] the agreement the connection runs with.
//! See [`deflate`](super::deflate) for how our compressor honours a window smaller than
//! 15 bits.

use std::fmt;

/// The extension's registered name.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";
/// The LZ77 window our compressor uses unless the peer asks for a smaller one (see
/// [`deflate`](super::deflate) for how a smaller one is honoured).
pub const COMPRESSOR_WINDOW_BITS: u8 = 15;

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
    /// zlib compression level 0–9 for what we send. Default 1 (fastest; aiohttp's
    /// choice too): see [`deflate`](super::deflate) for the figures.
    pub compression_level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            compression_level: 1,
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
        // We can honour any window the server asks our compressor to keep to (as
        // aiohttp's and browsers' clients offer).
        s.push_str("; client_max_window_bits");
        s
    }

    /// Server role: answers one `permessage-deflate` offer. On success gives the agreed
    /// parameters and the `Sec-WebSocket-Extensions` value of the 101 response.
    pub fn accept(
        &self,
        offer: &ExtensionOffer,
    ) -> Result<(DeflateParams, String), NegotiationError> {
        let seen = collect(offer)?;
        let params = DeflateParams {
            server_no_context_takeover: seen.server_no_context_takeover
                || self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: seen
                .server_max_window_bits
                .unwrap_or(COMPRESSOR_WINDOW_BITS),
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
        if let Some(bits) = seen.server_max_window_bits {
            s.push_str(&format!("; server_max_window_bits={bits}"));
        }
        Ok((params, s))
    }

    /// Client role: checks the server's answer to our [`offer`](Self::offer).
    pub fn check_response(
        &self,
        response: &ExtensionOffer,
    ) -> Result<DeflateParams, NegotiationError> {
        let seen = collect(response)?;
        // We offered `client_max_window_bits`; in a response it must carry a value
        // (RFC 7692 §7.1.2.2).
        let client_bits = match seen.client_max_window_bits {
            None => COMPRESSOR_WINDOW_BITS,
            Some(Some(bits)) => bits,
            Some(None) => {
                return Err(NegotiationError::InvalidValue(
                    "client_max_window_bits".into(),
                ))
            }
        };
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
            client_max_window_bits: client_bits,
            compression_level: self.compression_level,
        })
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
        let (params, answer) = cfg
            .accept(&offer("permessage-deflate; server_max_window_bits=10"))
            .unwrap();
        assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
        assert_eq!(params.server_max_window_bits, 10);
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
        assert_eq!(
            cfg.offer(),
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits"
        );
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
        let p = cfg
            .check_response(&offer(
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
            ))
            .unwrap();
        assert_eq!(p.client_max_window_bits, 9);
        assert_eq!(p.server_max_window_bits, 12);
        assert!(matches!(
            cfg.check_response(&offer("permessage-deflate; client_max_window_bits")),
            Err(NegotiationError::InvalidValue(_))
        ));
    }
}
