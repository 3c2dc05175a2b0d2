use super::*;

/// Runs the parser over `body` split at the given points, merging adjacent data.
fn parse_split(
    boundary: &str,
    body: &[u8],
    splits: &[usize],
) -> Result<Vec<MultipartEvent>, MultipartError> {
    let mut p = MultipartParser::new(boundary, MultipartLimits::default())?;
    let mut out: Vec<MultipartEvent> = Vec::new();
    let push = |e: MultipartEvent, out: &mut Vec<MultipartEvent>| match (out.last_mut(), e) {
        (Some(MultipartEvent::Data(prev)), MultipartEvent::Data(more)) => {
            let mut joined = BytesMut::from(&prev[..]);
            joined.extend_from_slice(&more);
            *prev = joined.freeze();
        }
        (_, e) => out.push(e),
    };
    let mut last = 0;
    for &at in splits.iter().chain(std::iter::once(&body.len())) {
        p.handle_input(&body[last..at]);
        last = at;
        while let Some(e) = p.poll_event()? {
            let end = e == MultipartEvent::End;
            push(e, &mut out);
            if end {
                return Ok(out);
            }
        }
    }
    p.handle_eof();
    while let Some(e) = p.poll_event()? {
        push(e, &mut out);
    }
    Ok(out)
}

/// Whole, every single split, and one byte at a time must agree.
fn parse_all_ways(boundary: &str, body: &[u8]) -> Result<Vec<MultipartEvent>, MultipartError> {
    let whole = parse_split(boundary, body, &[]);
    for at in 0..=body.len() {
        assert_eq!(parse_split(boundary, body, &[at]), whole, "split at {at}");
    }
    let bytewise: Vec<usize> = (0..body.len()).collect();
    assert_eq!(
        parse_split(boundary, body, &bytewise),
        whole,
        "byte at a time"
    );
    whole
}

fn part(name: &str, filename: Option<&str>) -> PartHead {
    PartHead {
        name: Some(name.into()),
        filename: filename.map(Into::into),
        ..PartHead::default()
    }
}

fn data(s: &str) -> MultipartEvent {
    MultipartEvent::Data(Bytes::copy_from_slice(s.as_bytes()))
}

/// Compares events ignoring the raw header maps.
fn shape(events: Vec<MultipartEvent>) -> Vec<MultipartEvent> {
    events
        .into_iter()
        .map(|e| match e {
            MultipartEvent::Part(mut h) => {
                h.headers = HeaderMap::new();
                MultipartEvent::Part(h)
            }
            e => e,
        })
        .collect()
}

#[test]
fn valid_bodies() {
    use MultipartEvent::{End, Part, PartEnd};
    let cases: Vec<(&str, &[u8], Vec<MultipartEvent>)> = vec![
        (
            "simple field",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XyZ--\r\n",
            vec![Part(part("a", None)), data("hello"), PartEnd, End],
        ),
        (
            "preamble, two parts, file, epilogue",
            b"junk preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n\r\n--XyZ--\r\nepilogue --XyZ",
            vec![
                Part(part("a", None)), data("1"), PartEnd,
                Part(part("f", Some("x.txt"))), data("line1\r\nline2\r\n"), PartEnd,
                End,
            ],
        ),
        (
            "empty content, padding after boundary, no final CRLF",
            b"--XyZ  \t\r\ncontent-disposition: form-data; name=e\r\n\r\n\r\n--XyZ--",
            vec![Part(part("e", None)), PartEnd, End],
        ),
        (
            "content with near-delimiters",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\n\r\n--XyQ \r\n-XyZ\r--XyZ\n\r\n--XyZ--\r\n",
            vec![Part(part("n", None)), data("\r\n--XyQ \r\n-XyZ\r--XyZ\n"), PartEnd, End],
        ),
        (
            "quoted name with escapes, filename* wins",
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\\\"b\"; filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC.txt\r\n\r\nx\r\n--XyZ--\r\n",
            vec![Part(part("a\"b", Some("\u{20ac}.txt"))), data("x"), PartEnd, End],
        ),
    ];
    for (what, body, expected) in cases {
        let got = parse_all_ways("XyZ", body).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(shape(got), expected, "{what}");
    }
}

#[test]
fn part_headers_kept() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\nX-Extra:  spaced \r\n\r\n\x00\x01\r\n--b--";
    let events = parse_all_ways("b", body).expect("valid");
    let MultipartEvent::Part(head) = &events[0] else {
        panic!("first event is a part: {events:?}")
    };
    assert_eq!(head.content_type(), Some("application/octet-stream"));
    assert_eq!(head.headers["x-extra"], "spaced");
    assert_eq!(
        events[1],
        MultipartEvent::Data(Bytes::from_static(b"\x00\x01"))
    );
}

#[test]
fn invalid_bodies() {
    let big_header = format!("--b\r\nX-Big: {}\r\n\r\nx\r\n--b--", "a".repeat(9000));
    let many_headers = format!("--b\r\n{}\r\nx\r\n--b--", "X-A: 1\r\n".repeat(17));
    let many_parts = format!(
        "{}--b--",
        "--b\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nx\r\n".repeat(1025)
    );
    let cases: Vec<(&str, &[u8], MultipartError)> = vec![
        (
            "no boundary at all",
            b"hello world",
            MultipartError::Truncated,
        ),
        ("empty body", b"", MultipartError::Truncated),
        (
            "no close delimiter",
            b"--b\r\n\r\ndata",
            MultipartError::Truncated,
        ),
        (
            "ends in headers",
            b"--b\r\nX-A: 1\r\n",
            MultipartError::Truncated,
        ),
        (
            "junk after boundary",
            b"--bjunk\r\n\r\nx\r\n--b--",
            MultipartError::BadDelimiterLine,
        ),
        (
            "bare LF after boundary",
            b"--b\n\r\nx\r\n--b--",
            MultipartError::BadDelimiterLine,
        ),
        (
            "bare LF header line",
            b"--b\r\nX-A: 1\n\r\nx\r\n--b--",
            MultipartError::BadHeaderLine("line not ended by CRLF".into()),
        ),
        (
            "bare CR in header",
            b"--b\r\nX-A: 1\r2\r\n\r\nx\r\n--b--",
            MultipartError::BadHeaderLine("bare CR".into()),
        ),
        (
            "obs-fold",
            b"--b\r\nX-A: 1\r\n 2\r\n\r\nx\r\n--b--",
            MultipartError::BadHeaderLine("obs-fold".into()),
        ),
        (
            "no colon",
            b"--b\r\nX-A 1\r\n\r\nx\r\n--b--",
            MultipartError::BadHeaderLine("no colon".into()),
        ),
        (
            "space in name",
            b"--b\r\nX A: 1\r\n\r\nx\r\n--b--",
            MultipartError::BadHeaderLine("bad field name".into()),
        ),
        (
            "header too big",
            big_header.as_bytes(),
            MultipartError::HeadersTooLarge { limit: 8192 },
        ),
        (
            "too many headers",
            many_headers.as_bytes(),
            MultipartError::TooManyHeaders { limit: 16 },
        ),
    ];
    for (what, body, expected) in cases {
        assert_eq!(parse_all_ways("b", body), Err(expected), "{what}");
    }
    // Too big to split every way in reasonable time: whole and byte at a time.
    let body = many_parts.as_bytes();
    let expected = Err(MultipartError::TooManyParts { limit: 1024 });
    assert_eq!(parse_split("b", body, &[]), expected);
    let bytewise: Vec<usize> = (0..body.len()).collect();
    assert_eq!(parse_split("b", body, &bytewise), expected);
}

#[test]
fn errors_are_sticky() {
    let mut p = MultipartParser::new("b", MultipartLimits::default()).expect("boundary");
    p.handle_input(b"--bX");
    assert_eq!(p.poll_event(), Err(MultipartError::BadDelimiterLine));
    p.handle_input(b"\r\n\r\n");
    assert_eq!(p.poll_event(), Err(MultipartError::BadDelimiterLine));
}

#[test]
fn content_is_streamed_in_bounded_memory() {
    let mut p = MultipartParser::new("b", MultipartLimits::default()).expect("boundary");
    p.handle_input(b"--b\r\n\r\n");
    assert!(matches!(p.poll_event(), Ok(Some(MultipartEvent::Part(_)))));
    let chunk = vec![b'x'; 64 * 1024];
    let mut seen = 0;
    for _ in 0..100 {
        p.handle_input(&chunk);
        while let Some(MultipartEvent::Data(d)) = p.poll_event().expect("valid") {
            seen += d.len();
        }
        assert!(p.buf.len() < 8, "held back only a delimiter prefix");
    }
    assert_eq!(seen, 100 * chunk.len());
}

#[test]
fn boundaries() {
    let cases: &[(&str, Result<&str, MultipartError>)] = &[
        ("multipart/form-data; boundary=abc", Ok("abc")),
        ("Multipart/Form-Data;boundary=\"a b:c\"", Ok("a b:c")),
        ("multipart/mixed; charset=x; BOUNDARY=z", Ok("z")),
        (
            "text/plain; boundary=abc",
            Err(MultipartError::NotMultipart),
        ),
        ("multipart/form-data", Err(MultipartError::MissingBoundary)),
    ];
    for (ct, expected) in cases {
        assert_eq!(
            boundary_of(ct).as_deref().map_err(Clone::clone),
            expected.clone(),
            "{ct}"
        );
    }
    for bad in [
        "",
        "ends with space ",
        &"x".repeat(71),
        "semi;colon",
        "quote\"",
    ] {
        assert_eq!(
            MultipartParser::new(bad, MultipartLimits::default()).err(),
            Some(MultipartError::InvalidBoundary),
            "{bad:?}"
        );
    }
}
