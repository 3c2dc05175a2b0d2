//! Which requests a mock answers: a method filter and a URL pattern.

use std::fmt;

use http::Method;
use url::Url;

/// A URL pattern (aioresponses' `url` argument, done properly).
///
/// URLs are compared in their normalised form (as [`url::Url`] writes them: lower-case
/// scheme and host, default port omitted, `/` for an empty path), so
/// `"HTTP://Example.test:80"` and `"http://example.test/"` are the same exact pattern.
#[derive(Clone)]
pub enum UrlPattern {
    /// The whole URL, query included, must be equal.
    Exact(String),
    /// The URL must start with this (normalised when it parses as a URL).
    Prefix(String),
    /// The regex must match somewhere in the normalised URL (anchor it with `^...$`
    /// for a whole match).
    Regex(regex::Regex),
}

impl UrlPattern {
    /// An exact URL.
    pub fn exact(url: &str) -> Self {
        UrlPattern::Exact(normalise(url))
    }

    /// A URL prefix.
    pub fn prefix(prefix: &str) -> Self {
        UrlPattern::Prefix(normalise(prefix))
    }

    /// A regular expression (`regex` crate syntax).
    ///
    /// # Errors
    /// When `re` is not a valid regex.
    pub fn regex(re: &str) -> Result<Self, regex::Error> {
        Ok(UrlPattern::Regex(regex::Regex::new(re)?))
    }

    /// Whether `url` (normalised) matches.
    pub fn matches(&self, url: &str) -> bool {
        match self {
            UrlPattern::Exact(u) => u == url,
            UrlPattern::Prefix(p) => url.starts_with(p.as_str()),
            UrlPattern::Regex(re) => re.is_match(url),
        }
    }

    /// Whether a connection to `origin` (normalised `scheme://host[:port]/`) may carry a
    /// request this pattern matches: the pattern's own origin for exact and prefix
    /// patterns, a regex match on the origin URL for regexes.
    pub(crate) fn matches_origin(&self, origin: &str) -> bool {
        match self {
            UrlPattern::Exact(u) | UrlPattern::Prefix(u) => match Url::parse(u) {
                Ok(parsed) => origin_of(&parsed).as_deref() == Some(origin),
                // A prefix shorter than an origin ("http://api"): compare as text.
                Err(_) => origin.starts_with(u.as_str()),
            },
            UrlPattern::Regex(re) => re.is_match(origin),
        }
    }
}

impl From<&str> for UrlPattern {
    fn from(url: &str) -> Self {
        UrlPattern::exact(url)
    }
}

impl From<String> for UrlPattern {
    fn from(url: String) -> Self {
        UrlPattern::exact(&url)
    }
}

impl From<regex::Regex> for UrlPattern {
    fn from(re: regex::Regex) -> Self {
        UrlPattern::Regex(re)
    }
}

impl fmt::Display for UrlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlPattern::Exact(u) => write!(f, "{u}"),
            UrlPattern::Prefix(p) => write!(f, "{p}*"),
            UrlPattern::Regex(re) => write!(f, "regex({})", re.as_str()),
        }
    }
}

impl fmt::Debug for UrlPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `url` as [`Url`] writes it, or unchanged when it does not parse.
pub(crate) fn normalise(url: &str) -> String {
    Url::parse(url).map_or_else(|_| url.to_owned(), String::from)
}

/// `scheme://host[:port]/`, normalised.
pub(crate) fn origin_of(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    let mut origin = Url::parse(&format!("{}://{}/", url.scheme(), host)).ok()?;
    origin.set_port(url.port()).ok()?;
    Some(origin.into())
}

/// A method filter and a URL pattern.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    pub(crate) method: Option<Method>,
    pub(crate) url: UrlPattern,
}

impl Matcher {
    pub(crate) fn matches(&self, method: &Method, url: &str) -> bool {
        self.method.as_ref().map_or(true, |m| m == method) && self.url.matches(url)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.method {
            Some(m) => write!(f, "{m} {}", self.url),
            None => write!(f, "ANY {}", self.url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_normalised_urls() {
        let table: &[(UrlPattern, &str, bool)] = &[
            (
                UrlPattern::exact("HTTP://A.test:80"),
                "http://a.test/",
                true,
            ),
            (
                UrlPattern::exact("http://a.test/x?q=1"),
                "http://a.test/x?q=1",
                true,
            ),
            (
                UrlPattern::exact("http://a.test/x"),
                "http://a.test/x?q=1",
                false,
            ),
            (
                UrlPattern::prefix("http://a.test/api"),
                "http://a.test/api/v1",
                true,
            ),
            (
                UrlPattern::prefix("http://a.test/api"),
                "http://b.test/api",
                false,
            ),
            (
                UrlPattern::regex(r"/users/\d+$").unwrap(),
                "http://a.test/users/42",
                true,
            ),
            (
                UrlPattern::regex(r"/users/\d+$").unwrap(),
                "http://a.test/users/me",
                false,
            ),
        ];
        for (pattern, url, want) in table {
            assert_eq!(pattern.matches(url), *want, "{pattern} vs {url}");
        }
    }

    #[test]
    fn origins_of_patterns() {
        let table: &[(UrlPattern, &str, bool)] = &[
            (UrlPattern::exact("http://a.test/x"), "http://a.test/", true),
            (
                UrlPattern::exact("http://a.test:8080/x"),
                "http://a.test/",
                false,
            ),
            (
                UrlPattern::exact("http://a.test:8080/x"),
                "http://a.test:8080/",
                true,
            ),
            (
                UrlPattern::prefix("https://a.test/"),
                "http://a.test/",
                false,
            ),
            (
                UrlPattern::regex(r"^http://a\.test/").unwrap(),
                "http://a.test/",
                true,
            ),
        ];
        for (pattern, origin, want) in table {
            assert_eq!(
                pattern.matches_origin(origin),
                *want,
                "{pattern} vs {origin}"
            );
        }
    }

    #[test]
    fn matcher_filters_methods() {
        let m = Matcher {
            method: Some(Method::POST),
            url: UrlPattern::exact("http://a.test/"),
        };
        assert!(m.matches(&Method::POST, "http://a.test/"));
        assert!(!m.matches(&Method::GET, "http://a.test/"));
        assert_eq!(m.to_string(), "POST http://a.test/");
    }
}
