//! The cookie-date algorithm of RFC 6265 §5.1.1.
//!
//! `Expires` values in the wild come in every date format ever invented (RFC 1123,
//! RFC 850 with two-digit years, asctime, and many broken variants). RFC 6265 does not
//! parse them with a grammar; it splits the string into tokens at delimiter bytes and
//! then, token by token, looks for the first thing that looks like a time, a day of the
//! month, a month name and a year, in that order of preference. Whatever else is in the
//! string (weekday names, "GMT", garbage) is ignored. That is what browsers do, and it is
//! what this module does; the `cookie` and `httpdate` crates implement stricter grammars
//! that reject dates browsers accept.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A date parsed from a cookie `Expires` attribute (always UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CookieDate {
    /// Full year, 1601 or later.
    pub year: u32,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of the month, 1..=31 (valid for the month).
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=59.
    pub second: u8,
}

/// Bytes that separate date tokens (RFC 6265 §5.1.1 `delimiter`).
fn is_delimiter(b: u8) -> bool {
    matches!(b, 0x09 | 0x20..=0x2F | 0x3B..=0x40 | 0x5B..=0x60 | 0x7B..=0x7E)
}

/// Reads 1 to `max` leading digits of `tok`; returns the value and the digit count.
/// The token must then end or continue with a non-digit (the `( non-digit *OCTET )` tail).
fn leading_digits(tok: &[u8], min: usize, max: usize) -> Option<(u32, usize)> {
    let n = tok.iter().take_while(|b| b.is_ascii_digit()).count();
    if n < min || n > max {
        return None;
    }
    let value = tok[..n]
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    Some((value, n))
}

/// `hms-time ( non-digit *OCTET )` with `time-field = 1*2DIGIT`.
fn parse_time(tok: &[u8]) -> Option<(u32, u32, u32)> {
    let (h, n1) = leading_digits(tok, 1, 2)?;
    let rest = tok[n1..].strip_prefix(b":")?;
    let (m, n2) = leading_digits(rest, 1, 2)?;
    let rest = rest[n2..].strip_prefix(b":")?;
    let (s, _) = leading_digits(rest, 1, 2)?;
    Some((h, m, s))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// `month = ( "jan" / ... / "dec" ) *OCTET`, case-insensitive.
fn parse_month(tok: &[u8]) -> Option<u8> {
    let head = tok.get(..3)?;
    MONTHS
        .iter()
        .position(|m| head.eq_ignore_ascii_case(&m[..]))
        .map(|i| i as u8 + 1)
}

fn is_leap(year: u32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: u32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: u32, month: u8, day: u8) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl CookieDate {
    /// Parses `input` with the RFC 6265 §5.1.1 algorithm; `None` means "failed to parse
    /// a cookie date", in which case the `Expires` attribute is ignored.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        let mut time = None;
        let mut day = None;
        let mut month = None;
        let mut year = None;
        for tok in input
            .as_bytes()
            .split(|b| is_delimiter(*b))
            .filter(|t| !t.is_empty())
        {
            if time.is_none() {
                if let Some(t) = parse_time(tok) {
                    time = Some(t);
                    continue;
                }
            }
            if day.is_none() {
                if let Some((d, _)) = leading_digits(tok, 1, 2) {
                    day = Some(d);
                    continue;
                }
            }
            if month.is_none() {
                if let Some(m) = parse_month(tok) {
                    month = Some(m);
                    continue;
                }
            }
            if year.is_none() {
                if let Some((y, _)) = leading_digits(tok, 2, 4) {
                    year = Some(y);
                    continue;
                }
            }
        }
        let (hour, minute, second) = time?;
        let (day, month, mut year) = (day?, month?, year?);
        if (70..=99).contains(&year) {
            year += 1900;
        } else if year <= 69 {
            year += 2000;
        }
        if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        // The checks above make these narrowing conversions lossless.
        let (day, hour, minute, second) = (day as u8, hour as u8, minute as u8, second as u8);
        if day > days_in_month(year, month) {
            return None;
        }
        Some(Self {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    /// Seconds since the Unix epoch (negative before 1970).
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The date as a `SystemTime`.
    #[must_use]
    pub fn to_system_time(&self) -> SystemTime {
        let secs = self.unix_seconds();
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
        } else {
            // Platforms whose SystemTime cannot go before the epoch clamp to it: a date
            // before 1970 is in the past either way, which is all a cookie needs.
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))
                .unwrap_or(UNIX_EPOCH)
        }
    }
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form the test vectors use.
impl fmt::Display for CookieDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const NAMES: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let weekday = days_from_civil(self.year, self.month, self.day).rem_euclid(7) as usize;
        write!(
            f,
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            DAYS[weekday],
            self.day,
            NAMES[usize::from(self.month - 1)],
            self.year,
            self.hour,
            self.minute,
            self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "Wed, 09 Jun 2021 10:18:14 GMT",
                Some("Wed, 09 Jun 2021 10:18:14 GMT"),
            ),
            (
                "Sunday, 06-Nov-94 08:49:37 GMT",
                Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            ),
            (
                "Sun Nov  6 08:49:37 1994",
                Some("Sun, 06 Nov 1994 08:49:37 GMT"),
            ),
            ("1 jan 1601 0:0:0", Some("Mon, 01 Jan 1601 00:00:00 GMT")),
            (
                "29 Feb 2000 00:00:00",
                Some("Tue, 29 Feb 2000 00:00:00 GMT"),
            ),
            ("29 Feb 2001 00:00:00", None),
            ("31 Dec 1600 23:59:59", None),
            ("01 Jan 2000 24:00:00", None),
            ("01 Jan 2000", None),
            ("", None),
            ("01 Jan 12345 00:00:00", None),
            ("001 Jan 2000 00:00:00", None),
        ];
        for (input, expected) in cases {
            let got = CookieDate::parse(input).map(|d| d.to_string());
            assert_eq!(got.as_deref(), *expected, "{input:?}");
        }
    }

    #[test]
    fn unix_seconds_match_httpdate() {
        let d = CookieDate::parse("Wed, 09 Jun 2021 10:18:14 GMT").expect("valid");
        let h = httpdate::parse_http_date("Wed, 09 Jun 2021 10:18:14 GMT").expect("valid");
        assert_eq!(d.to_system_time(), h);
        let epoch = CookieDate::parse("Thu, 01 Jan 1970 00:00:00 GMT").expect("valid");
        assert_eq!(epoch.unix_seconds(), 0);
    }
}
