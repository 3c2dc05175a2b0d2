//! Route patterns: parsing (at registration, once), matching (per request), URL building.
//!
//! A pattern is a sequence of literal pieces and parameters, aiohttp's syntax:
//! `{name}` matches one non-empty segment (`[^{}/]+`), `{name:regex}` matches what the
//! regex matches (it may span `/` if the regex allows it, as `{tail:.*}`).
//!
//! Each pattern is compiled, once, into the cheapest matcher that is exact for it:
//!
//! ```text
//!   no parameters                       ─▶ Static   (string equality, hashed index)
//!   only {name}, each a whole segment   ─▶ Segments (split on '/', compare; no regex)
//!   anything else ({a}.{b}, {x:\d+})    ─▶ Regex    (one anchored regex, compiled here)
//!   a prefix resource                   ─▶ Prefix   (starts_with)
//! ```

use std::fmt::Write as _;
use std::sync::Arc;

use percent_encoding::utf8_percent_encode;
use regex::{Regex, RegexBuilder};

use super::path::{
    canonicalize, decode_canonical, has_encoded_slash, CANONICAL_LITERAL, MULTI_SEGMENT, SEGMENT,
};
use super::{Params, RouterError, UrlForError};

/// Longest pattern accepted: as long as the longest request line we accept by default.
const MAX_PATTERN_LEN: usize = 8190;
/// Bounds the memory (and so the time) one `{name:regex}` may cost at registration.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The default piece regex, aiohttp's `GOOD`.
const DEFAULT_PIECE: &str = "[^{}/]+";

/// Whether a canonical segment can be a `{name}` value: non-empty, no braces (the
/// `[^{}/]+` of aiohttp), no `%2F`. One pass over a short segment, no searcher setup.
fn plain_param(part: &str) -> bool {
    let bytes = part.as_bytes();
    !bytes.is_empty()
        && bytes.iter().enumerate().all(|(i, &b)| match b {
            b'{' | b'}' => false,
            b'%' => bytes.get(i + 1..i + 3) != Some(b"2F"),
            _ => true,
        })
}

/// `str::split('/')` without the generic char searcher: request paths have short
/// segments, where a plain byte scan is several times cheaper. `None` once exhausted.
struct Segments<'a>(Option<&'a str>);

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.0?;
        match s.bytes().position(|b| b == b'/') {
            Some(i) => {
                self.0 = Some(&s[i + 1..]);
                Some(&s[..i])
            }
            None => {
                self.0 = None;
                Some(s)
            }
        }
    }
}

/// A parameter of a pattern.
#[derive(Debug)]
pub(crate) struct Param {
    pub(crate) name: Arc<str>,
    /// `{name:regex}`: the regex as written, and the same anchored, to judge a decoded
    /// value (or a value to build a URL with). `None` for a plain `{name}`.
    custom: Option<(String, Regex)>,
}

#[derive(Debug)]
enum Piece {
    /// Canonical-form literal text.
    Literal(String),
    /// Index into `Pattern::params`.
    Param(usize),
}

/// One `/`-separated segment of a `Segments` pattern.
#[derive(Debug)]
enum Seg {
    Literal(String),
    Param(usize),
}

#[derive(Debug)]
enum Matcher {
    Static(String),
    Segments(Vec<Seg>),
    /// The whole-path regex, anchored; parameter values are its named groups.
    Regex(Regex),
    Prefix(String),
    /// `literal{name:.*}` (or `.+`): the rest of the path, no regex needed. The
    /// catch-all route of many apps, matched on every request.
    Rest {
        literal: String,
        param: usize,
        non_empty: bool,
    },
}

/// A compiled pattern.
#[derive(Debug)]
pub(crate) struct Pattern {
    pub(crate) source: String,
    pieces: Vec<Piece>,
    params: Vec<Param>,
    matcher: Matcher,
}

fn bad(pattern: &str, reason: impl Into<String>) -> RouterError {
    RouterError::InvalidPattern {
        pattern: pattern.chars().take(200).collect(),
        reason: reason.into(),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

fn compile(pattern: &str, regex: &str) -> Result<Regex, RouterError> {
    RegexBuilder::new(regex)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| bad(pattern, format!("bad regex: {e}")))
}

fn push_literal(pattern: &str, pieces: &mut Vec<Piece>, text: &str) -> Result<(), RouterError> {
    if text.is_empty() {
        return Ok(());
    }
    let canonical = canonicalize(text)
        .ok_or_else(|| bad(pattern, "a literal part is not UTF-8 once percent-decoded"))?;
    match pieces.last_mut() {
        Some(Piece::Literal(prev)) => prev.push_str(&canonical),
        _ => pieces.push(Piece::Literal(canonical.into_owned())),
    }
    Ok(())
}

impl Pattern {
    /// Parses and compiles a route pattern (`/users/{id}`, `/files/{tail:.*}`).
    pub(crate) fn parse(pattern: &str) -> Result<Self, RouterError> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(bad(pattern, "pattern too long"));
        }
        if !pattern.starts_with('/') {
            return Err(bad(pattern, "a pattern starts with '/'"));
        }
        let mut pieces = Vec::new();
        let mut params: Vec<Param> = Vec::new();
        let mut rest = pattern;
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes()[open] == b'}' {
                return Err(bad(pattern, "unmatched '}'"));
            }
            push_literal(pattern, &mut pieces, &rest[..open])?;
            // The closing brace at depth 0: regexes may hold `{m,n}` repetitions.
            let mut depth = 0usize;
            let close = rest[open..]
                .char_indices()
                .find_map(|(i, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(open + i)
                })
                .ok_or_else(|| bad(pattern, "unclosed '{'"))?;
            let inner = &rest[open + 1..close];
            let (name, regex) = match inner.split_once(':') {
                Some((name, regex)) => (name, Some(regex)),
                None => (inner, None),
            };
            if !is_identifier(name) {
                return Err(bad(pattern, format!("bad parameter name {name:?}")));
            }
            if params.iter().any(|p| &*p.name == name) {
                return Err(bad(pattern, format!("parameter {name:?} appears twice")));
            }
            let custom = match regex {
                Some("") => return Err(bad(pattern, "empty parameter regex")),
                Some(re) => Some((re.to_owned(), compile(pattern, &format!("^(?:{re})$"))?)),
                None => None,
            };
            pieces.push(Piece::Param(params.len()));
            params.push(Param {
                name: name.into(),
                custom,
            });
            rest = &rest[close + 1..];
        }
        push_literal(pattern, &mut pieces, rest)?;
        let matcher = Self::choose_matcher(pattern, &pieces, &params)?;
        Ok(Pattern {
            source: pattern.to_owned(),
            pieces,
            params,
            matcher,
        })
    }

    /// Parses a prefix resource's prefix (`/static`; a trailing `/` is dropped).
    pub(crate) fn prefix(prefix: &str) -> Result<Self, RouterError> {
        if prefix.contains(['{', '}']) {
            return Err(bad(prefix, "a prefix has no parameters"));
        }
        let parsed = Self::parse(prefix)?;
        let Matcher::Static(path) = &parsed.matcher else {
            return Err(bad(prefix, "a prefix has no parameters"));
        };
        let trimmed = path.trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(bad(prefix, "a prefix is not empty or '/'"));
        }
        Ok(Pattern {
            matcher: Matcher::Prefix(trimmed.to_owned()),
            pieces: vec![Piece::Literal(trimmed.to_owned())],
            ..parsed
        })
    }

    fn choose_matcher(
        pattern: &str,
        pieces: &[Piece],
        params: &[Param],
    ) -> Result<Matcher, RouterError> {
        if let [Piece::Literal(path)] = pieces {
            return Ok(Matcher::Static(path.clone()));
        }
        if let Some(segs) = Self::as_segments(pieces, params) {
            return Ok(Matcher::Segments(segs));
        }
        if let [Piece::Literal(literal), Piece::Param(i)] = pieces {
            if let Some((src, _)) = &params[*i].custom {
                if src == ".*" || src == ".+" {
                    return Ok(Matcher::Rest {
                        literal: literal.clone(),
                        param: *i,
                        non_empty: src == ".+",
                    });
                }
            }
        }
        let mut re = String::from("^");
        for piece in pieces {
            match piece {
                Piece::Literal(text) => re.push_str(&regex::escape(text)),
                Piece::Param(i) => {
                    // Named groups: the user's regex may hold groups of its own, which
                    // would shift positional numbering.
                    let param = &params[*i];
                    let body = param.custom.as_ref().map_or(DEFAULT_PIECE, |(src, _)| src);
                    let _ = write!(re, "(?P<{}>{})", param.name, body);
                }
            }
        }
        re.push('$');
        Ok(Matcher::Regex(compile(pattern, &re)?))
    }

    /// Whole-segment `{name}` parameters only: match by splitting on `/`, no regex.
    fn as_segments(pieces: &[Piece], params: &[Param]) -> Option<Vec<Seg>> {
        if params.iter().any(|p| p.custom.is_some()) {
            return None;
        }
        fn close(lit: &mut String, param: &mut Option<usize>) -> Option<Seg> {
            match param.take() {
                Some(i) => lit.is_empty().then_some(Seg::Param(i)),
                None => Some(Seg::Literal(std::mem::take(lit))),
            }
        }
        let mut segs = Vec::new();
        let mut lit = String::new();
        let mut param = None;
        for (k, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Literal(text) => {
                    // The pattern's leading '/' opens the first segment.
                    let text = if k == 0 {
                        text.strip_prefix('/')?
                    } else {
                        text
                    };
                    let mut parts = text.split('/');
                    let head = parts.next().unwrap_or("");
                    if !head.is_empty() {
                        if param.is_some() {
                            return None; // `{a}.txt`
                        }
                        lit.push_str(head);
                    }
                    for part in parts {
                        segs.push(close(&mut lit, &mut param)?);
                        lit.push_str(part);
                    }
                }
                Piece::Param(i) => {
                    if param.is_some() || !lit.is_empty() {
                        return None; // `x{a}`, `{a}{b}`
                    }
                    param = Some(*i);
                }
            }
        }
        segs.push(close(&mut lit, &mut param)?);
        Some(segs)
    }

    /// The resource-index key, aiohttp's: the static text before the first parameter,
    /// cut back to a whole segment, without trailing `/` (`"/"` at least).
    pub(crate) fn index_key(&self) -> String {
        let head = match &self.matcher {
            Matcher::Static(path) | Matcher::Prefix(path) => path.as_str(),
            _ => match self.pieces.first() {
                Some(Piece::Literal(text)) => text.rsplit_once('/').map_or("", |(h, _)| h),
                _ => "",
            },
        };
        let key = head.trim_end_matches('/');
        if key.is_empty() { "/" } else { key }.to_owned()
    }

    /// `/{name:.*}`: every path matches (the catch-all route of many apps).
    pub(crate) fn matches_every_path(&self) -> bool {
        matches!(&self.matcher, Matcher::Rest { literal, non_empty: false, .. } if literal == "/")
    }

    /// Matches a canonical path. `Some(params, tail)` on a match.
    pub(crate) fn matches(&self, path: &str) -> Option<(Params, Option<String>)> {
        match &self.matcher {
            Matcher::Static(p) => (p == path).then(|| (Params::default(), None)),
            Matcher::Prefix(p) => {
                let tail = path.strip_prefix(p.as_str())?;
                (tail.is_empty() || tail.starts_with('/'))
                    .then(|| (Params::default(), Some(tail.to_owned())))
            }
            Matcher::Segments(segs) => {
                let rest = path.strip_prefix('/')?;
                // Check first, allocate after: most candidates tried are not the match.
                let mut parts = Segments(Some(rest));
                for seg in segs {
                    let part = parts.next()?;
                    let ok = match seg {
                        Seg::Literal(l) => l == part,
                        Seg::Param(_) => plain_param(part),
                    };
                    if !ok {
                        return None;
                    }
                }
                if parts.next().is_some() {
                    return None;
                }
                let mut params = Params::with_capacity(self.params.len());
                for (seg, part) in segs.iter().zip(Segments(Some(rest))) {
                    if let Seg::Param(i) = seg {
                        params.push(self.params[*i].name.clone(), decode_canonical(part));
                    }
                }
                Some((params, None))
            }
            Matcher::Rest {
                literal,
                param,
                non_empty,
            } => {
                let rest = path.strip_prefix(literal.as_str())?;
                if *non_empty && rest.is_empty() {
                    return None;
                }
                let mut params = Params::with_capacity(1);
                params.push(self.params[*param].name.clone(), decode_canonical(rest));
                Some((params, None))
            }
            Matcher::Regex(re) => {
                let caps = re.captures(path)?;
                let mut params = Params::with_capacity(self.params.len());
                for param in &self.params {
                    let raw = caps.name(&param.name)?.as_str();
                    let value = decode_canonical(raw);
                    // A `/` that was `%2F` on the wire only passes if the parameter's own
                    // regex accepts it once decoded (`{tail:.*}` does, `{name}` never).
                    if has_encoded_slash(raw) {
                        match &param.custom {
                            Some((_, own)) if own.is_match(&value) => {}
                            _ => return None,
                        }
                    }
                    params.push(param.name.clone(), value);
                }
                Some((params, None))
            }
        }
    }

    /// Builds the path for `params` (percent-encoded), checking every value would match.
    pub(crate) fn build(&self, params: &[(&str, &str)]) -> Result<String, UrlForError> {
        for (name, _) in params {
            let known = self.params.iter().any(|p| &*p.name == *name)
                || (matches!(self.matcher, Matcher::Prefix(_)) && *name == "filename");
            if !known {
                return Err(UrlForError::UnknownParam((*name).to_owned()));
            }
        }
        let lookup = |name: &str| {
            params
                .iter()
                .rev()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| *v)
        };
        let mut url = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => {
                    url.extend(utf8_percent_encode(text, CANONICAL_LITERAL));
                }
                Piece::Param(i) => {
                    let param = &self.params[*i];
                    let value = lookup(&param.name)
                        .ok_or_else(|| UrlForError::MissingParam(param.name.to_string()))?;
                    let ok = match &param.custom {
                        Some((_, own)) => own.is_match(value),
                        None => !value.is_empty() && !value.contains(['/', '{', '}']),
                    };
                    if !ok {
                        return Err(UrlForError::InvalidParam {
                            name: param.name.to_string(),
                            value: value.to_owned(),
                        });
                    }
                    let set = if param.custom.is_some() {
                        MULTI_SEGMENT
                    } else {
                        SEGMENT
                    };
                    url.extend(utf8_percent_encode(value, set));
                }
            }
        }
        if let (Matcher::Prefix(_), Some(file)) = (&self.matcher, lookup("filename")) {
            url.push('/');
            url.extend(utf8_percent_encode(
                file.trim_start_matches('/'),
                MULTI_SEGMENT,
            ));
        }
        Ok(url)
    }
}
