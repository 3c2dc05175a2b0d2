//! Turning the URL text a user passed into a [`Url`], strictly.
//!
//! The WHATWG URL parser (the `url` crate) silently deletes ASCII tab, CR and LF
//! anywhere in its input, and trims leading and trailing C0 controls and spaces. For a
//! browser address bar that is forgiving; for an HTTP client it hides a bug or an attack:
//! `"http://h/a\r\nHost: evil"` would quietly become a different, valid-looking request.
//! So a URL that contains any ASCII control character is refused before parsing, with
//! the position of the first one.

use url::Url;

/// Parses `text` (joined to `base` when there is one), refusing control characters.
/// The error is a message for `InvalidUrl`.
pub(crate) fn parse_url_text(base: Option<&Url>, text: &str) -> Result<Url, String> {
    if let Some(at) = text.bytes().position(|b| b.is_ascii_control()) {
        return Err(format!(
            "{text:?}: control character {:#04x} at byte {at} (URLs must not contain \
             CR, LF, tab or other control characters)",
            text.as_bytes()[at]
        ));
    }
    match base {
        Some(base) => base.join(text),
        None => Url::parse(text),
    }
    .map_err(|e| format!("{text}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_url_text;
    use url::Url;

    #[test]
    fn control_characters_are_refused_not_stripped() {
        for text in [
            "http://h/a\r\nHost: evil",
            "http://h/a\nb",
            "http://h/\tx",
            "http://h/x\0",
            "http://h/x\x7f",
            "\x01http://h/",
            "http://h\r\n/",
        ] {
            let err = parse_url_text(None, text).expect_err(text);
            assert!(err.contains("control character"), "{err}");
        }
        let base = Url::parse("http://h/dir/").unwrap();
        assert!(parse_url_text(Some(&base), "a\r\nb").is_err());
    }

    #[test]
    fn ordinary_urls_parse_as_before() {
        let url = parse_url_text(None, "http://h/a b?q=é").unwrap();
        assert_eq!(url.as_str(), "http://h/a%20b?q=%C3%A9");
        let base = Url::parse("http://h/dir/").unwrap();
        assert_eq!(
            parse_url_text(Some(&base), "x?y=1").unwrap().as_str(),
            "http://h/dir/x?y=1"
        );
    }
}
