//! Finding the end of a head (or trailer section) as bytes arrive, in O(bytes received).
//!
//! Theory of operation: the scanner remembers how far it has looked (`pos`) and where the
//! current line began (`line_start`), so feeding a head one byte at a time never rescans
//! it. Each completed line is checked at once (CRLF ending, length limit, no obs-fold,
//! field count), and an incomplete line is checked against its limit on every feed, so a
//! limit cannot be bypassed by splitting a line across reads. When the empty line that
//! ends the head arrives, the scanner reports the head's length; only then is the head
//! handed to httparse, exactly once.
//!
//! ```text
//!   bytes ──► [line complete?] ──no──► check partial line & total size ──► need more
//!                  │yes
//!                  ▼
//!          empty line? ──yes──► head ends here (length)
//!                  │no
//!                  ▼
//!       check CRLF, length, fold, count ──► next line
//! ```

use super::error::ErrorKind;

/// Limits a scan enforces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanLimits {
    /// Longest start line (ignored for a trailer section, which has none).
    pub start_line: usize,
    /// Longest field line.
    pub field: usize,
    /// Most field lines.
    pub fields: usize,
    /// Largest section, CRLFs included.
    pub total: usize,
    /// Whether the section begins with a start line (a head) or not (trailers).
    pub has_start_line: bool,
    /// Whether the start line is a request line (else a status line).
    pub request: bool,
    /// Error for a section over `total` (head vs trailers differ).
    pub total_error: fn(usize) -> ErrorKind,
}

/// Incremental end-of-head finder.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeadScanner {
    pos: usize,
    line_start: usize,
    lines: usize,
    /// Slow path only (a head split across reads): complete lines before this offset
    /// were checked early, and how long the partial start line was when last checked.
    early: EarlyChecks,
}

/// Early rejection of a head that arrives in pieces. A head that arrives whole is
/// checked once, by httparse, when it is complete; one that trickles in is checked line
/// by line as it comes, so a malformed head is refused at its first bad line instead of
/// being buffered up to the limits. Each line is checked once; a partial start line is
/// re-checked only each time it doubles in length, so the work stays O(bytes).
#[derive(Debug, Clone, Default)]
struct EarlyChecks {
    checked_to: usize,
    start_line_checked_len: usize,
    content_length_seen: bool,
    transfer_encoding_seen: bool,
}

impl HeadScanner {
    /// Whether nothing has been scanned yet.
    pub fn is_fresh(&self) -> bool {
        self.pos == 0
    }

    /// Number of field lines seen so far (valid once the scan completed).
    pub fn field_count(&self, limits: &ScanLimits) -> usize {
        self.lines
            .saturating_sub(usize::from(limits.has_start_line))
    }

    /// Looks at bytes not yet scanned. `Ok(Some(len))`: the section is `buf[..len]`,
    /// final CRLF included. `Ok(None)`: more bytes needed.
    pub fn scan(&mut self, buf: &[u8], limits: &ScanLimits) -> Result<Option<usize>, ErrorKind> {
        match self.scan_lines(buf, limits) {
            Err(kind) if limits.has_start_line => {
                // Report the first fault in byte order, however the bytes were split: a
                // line-level fault found while scanning may sit behind a content fault
                // in an earlier line (or earlier in this start line) that a trickled
                // head would have been refused for already.
                Err(self.first_content_fault(buf, limits).unwrap_or(kind))
            }
            other => other,
        }
    }

    /// The first content fault in the lines before the scanner's current line, or in the
    /// start line up to its first CR/LF.
    fn first_content_fault(&mut self, buf: &[u8], limits: &ScanLimits) -> Option<ErrorKind> {
        if let Err(kind) = self.check_complete_lines(buf, limits) {
            return Some(kind);
        }
        if self.lines == 0 {
            let end = memchr::memchr2(b'\r', b'\n', buf).unwrap_or(buf.len());
            return check_start_line(&buf[..end], limits.request, false).err();
        }
        None
    }

    fn scan_lines(&mut self, buf: &[u8], limits: &ScanLimits) -> Result<Option<usize>, ErrorKind> {
        loop {
            // Every line ends in CRLF: a CR must be followed by LF, and an LF must follow
            // a CR. Looking for either byte checks both in one pass.
            let Some(offset) = memchr::memchr2(b'\r', b'\n', &buf[self.pos..]) else {
                self.pos = buf.len();
                return self.need_more(buf, limits);
            };
            let cr = self.pos + offset;
            if buf[cr] == b'\n' {
                return Err(ErrorKind::InvalidLineEnding);
            }
            if cr + 1 == buf.len() {
                // The LF has not arrived yet; look at this CR again next time.
                self.pos = cr;
                return self.need_more(buf, limits);
            }
            if buf[cr + 1] != b'\n' {
                return Err(ErrorKind::InvalidLineEnding);
            }
            let newline = cr + 1;
            let content = &buf[self.line_start..cr];
            if newline + 1 > limits.total {
                return Err((limits.total_error)(limits.total));
            }
            if content.is_empty() {
                if self.lines == 0 && limits.has_start_line {
                    // Callers skip empty lines before a start line; one here means the
                    // start line itself is empty.
                    return Err(ErrorKind::InvalidHead);
                }
                return Ok(Some(newline + 1));
            }
            self.check_line_len(content.len(), limits, false)?;
            let is_field = self.lines > 0 || !limits.has_start_line;
            if is_field && matches!(content[0], b' ' | b'\t') {
                return Err(ErrorKind::ObsFold);
            }
            self.lines += 1;
            if self.field_count(limits) > limits.fields {
                return Err(ErrorKind::TooManyHeaders {
                    limit: limits.fields,
                });
            }
            self.line_start = newline + 1;
            self.pos = newline + 1;
        }
    }

    fn need_more(&mut self, buf: &[u8], limits: &ScanLimits) -> Result<Option<usize>, ErrorKind> {
        if limits.has_start_line {
            self.check_early(buf, limits)?;
        }
        self.check_line_len(buf.len() - self.line_start, limits, true)?;
        let is_field = self.lines > 0 || !limits.has_start_line;
        if is_field && matches!(buf.get(self.line_start), Some(b' ' | b'\t')) {
            return Err(ErrorKind::ObsFold);
        }
        if buf.len() > limits.total {
            return Err((limits.total_error)(limits.total));
        }
        Ok(None)
    }

    fn check_early(&mut self, buf: &[u8], limits: &ScanLimits) -> Result<(), ErrorKind> {
        self.check_complete_lines(buf, limits)?;
        // The partial start line, when it has doubled since last checked.
        if self.lines == 0 {
            let len = buf
                .len()
                .min(memchr::memchr2(b'\r', b'\n', buf).unwrap_or(buf.len()));
            if len >= 8 && len >= 2 * self.early.start_line_checked_len {
                self.early.start_line_checked_len = len;
                check_start_line(&buf[..len], limits.request, false)?;
            }
        }
        Ok(())
    }

    /// Checks the complete lines not yet checked, once each.
    fn check_complete_lines(&mut self, buf: &[u8], limits: &ScanLimits) -> Result<(), ErrorKind> {
        let early = &mut self.early;
        while early.checked_to < self.line_start {
            let end = memchr::memchr(b'\r', &buf[early.checked_to..self.line_start])
                .map_or(self.line_start, |i| early.checked_to + i);
            let line = &buf[early.checked_to..end];
            let verdict = if early.checked_to == 0 {
                check_start_line(line, limits.request, true)
            } else {
                check_field_line(line, early)
            };
            // Each line is checked once, even when it fails (a second look would see
            // its own Content-Length as a duplicate).
            early.checked_to = end + 2;
            verdict?;
        }
        Ok(())
    }

    fn check_line_len(
        &self,
        len: usize,
        limits: &ScanLimits,
        partial: bool,
    ) -> Result<(), ErrorKind> {
        // A partial line may end in the CR of its CRLF; allow for it.
        let len = if partial { len.saturating_sub(1) } else { len };
        let is_start = self.lines == 0 && limits.has_start_line;
        if is_start && len > limits.start_line {
            return Err(ErrorKind::LineTooLong {
                limit: limits.start_line,
            });
        }
        if !is_start && len > limits.field {
            return Err(ErrorKind::HeaderFieldTooLong {
                limit: limits.field,
            });
        }
        Ok(())
    }
}

fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// Checks `HTTP/d.d` (or a prefix of it when `complete` is false).
fn check_version(version: &[u8], complete: bool) -> Result<(), ErrorKind> {
    const PATTERN: &[u8] = b"HTTP/";
    let prefix = version.len().min(PATTERN.len());
    if version[..prefix] != PATTERN[..prefix] {
        return Err(ErrorKind::InvalidVersion);
    }
    let digits = &version[prefix..];
    let shape_ok = match digits {
        [] => !complete,
        [m] => m.is_ascii_digit() && !complete,
        [m, b'.'] => m.is_ascii_digit() && !complete,
        [m, b'.', n] => m.is_ascii_digit() && n.is_ascii_digit(),
        _ => false,
    };
    if !shape_ok {
        return Err(ErrorKind::InvalidVersion);
    }
    match digits {
        [m, ..] if *m != b'1' => Err(ErrorKind::UnsupportedVersion),
        [_, _, n] if *n > b'1' => Err(ErrorKind::UnsupportedVersion),
        _ => Ok(()),
    }
}

/// Checks a request line (`method SP target SP version`) or status line
/// (`version SP 3DIGIT SP reason`), whole or (when `complete` is false) a prefix.
fn check_start_line(line: &[u8], request: bool, complete: bool) -> Result<(), ErrorKind> {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let first = parts.next().unwrap_or(&[]);
    let second = parts.next();
    let third = parts.next();
    if request {
        if !first.iter().all(|&b| is_tchar(b)) || (first.is_empty() && second.is_some()) {
            return Err(ErrorKind::InvalidMethod);
        }
        if let Some(target) = second {
            if target.iter().any(|&b| !(0x21..0x7f).contains(&b))
                || (target.is_empty() && third.is_some())
            {
                return Err(ErrorKind::InvalidTarget);
            }
        }
        match third {
            Some(version) => check_version(version, complete),
            None if complete => Err(ErrorKind::InvalidVersion),
            None => Ok(()),
        }
    } else {
        check_version(first, complete || second.is_some())?;
        if let Some(code) = second {
            let full = third.is_some() || complete;
            if !code.iter().all(u8::is_ascii_digit) || code.len() > 3 || (full && code.len() != 3) {
                return Err(ErrorKind::InvalidStatus);
            }
        }
        if let Some(reason) = third {
            if reason
                .iter()
                .any(|&b| b == 0x7f || (b < 0x20 && b != b'\t'))
            {
                return Err(ErrorKind::InvalidReason);
            }
        }
        Ok(())
    }
}

/// When httparse refuses a complete head, names the fault the way the early checks
/// would have, so a head refused whole and one refused piece by piece give the same
/// error. `None` when the early checks find nothing (httparse's verdict stands).
pub(crate) fn classify_refused_head(head: &[u8], request: bool) -> Option<ErrorKind> {
    let mut early = EarlyChecks::default();
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    if let Err(kind) = check_start_line(lines.next()?, request, true) {
        return Some(kind);
    }
    for line in lines.take_while(|l| !l.is_empty()) {
        if let Err(kind) = check_field_line(line, &mut early) {
            return Some(kind);
        }
    }
    None
}

/// Checks one complete field line and the framing fields that must not repeat.
fn check_field_line(line: &[u8], early: &mut EarlyChecks) -> Result<(), ErrorKind> {
    let colon = memchr::memchr(b':', line).ok_or(ErrorKind::InvalidHeaderName)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(ErrorKind::InvalidHeaderName);
    }
    if value.iter().any(|&b| b == 0x7f || (b < 0x20 && b != b'\t')) {
        return Err(ErrorKind::InvalidHeaderValue);
    }
    if name.eq_ignore_ascii_case(b"content-length") {
        if early.content_length_seen {
            return Err(ErrorKind::DuplicateContentLength);
        }
        early.content_length_seen = true;
        super::framing::parse_content_length(super::head::trim_ows(value))?;
    } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
        early.transfer_encoding_seen = true;
    }
    if early.content_length_seen && early.transfer_encoding_seen {
        return Err(ErrorKind::ContentLengthWithTransferEncoding);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ScanLimits {
        ScanLimits {
            start_line: 20,
            field: 10,
            fields: 2,
            total: 60,
            has_start_line: true,
            request: true,
            total_error: |limit| ErrorKind::HeadTooLarge { limit },
        }
    }

    fn scan_split(input: &[u8]) -> Result<Option<usize>, ErrorKind> {
        let whole = HeadScanner::default().scan(input, &limits());
        // Byte at a time must agree with whole.
        let mut scanner = HeadScanner::default();
        let mut last = Ok(None);
        for end in 1..=input.len() {
            last = scanner.scan(&input[..end], &limits());
            if !matches!(last, Ok(None)) {
                break;
            }
        }
        assert_eq!(whole, last, "split scan differs for {input:?}");
        whole
    }

    #[test]
    fn scans_heads_and_enforces_limits() {
        assert_eq!(scan_split(b"GET / HTTP/1.1\r\nA: b\r\n\r\n"), Ok(Some(24)));
        assert_eq!(scan_split(b"GET / HTTP/1.1\r\nA: b\r\n"), Ok(None));
        assert_eq!(
            scan_split(b"GET / HTTP/1.1\nA: b\r\n\r\n"),
            Err(ErrorKind::InvalidLineEnding)
        );
        assert_eq!(
            scan_split(b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"),
            Err(ErrorKind::ObsFold)
        );
        assert_eq!(
            scan_split(b"GET /aaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n"),
            Err(ErrorKind::LineTooLong { limit: 20 })
        );
        assert_eq!(
            scan_split(b"GET / HTTP/1.1\r\nA: bbbbbbbbbbbb"),
            Err(ErrorKind::HeaderFieldTooLong { limit: 10 })
        );
        assert_eq!(
            scan_split(b"GET / HTTP/1.1\r\nA: b\r\nB: c\r\nC: d\r\n\r\n"),
            Err(ErrorKind::TooManyHeaders { limit: 2 })
        );
    }
}
