use super::*;

#[test]
fn title_cases_like_httpbin() {
    for (raw, want) in [
        ("content-type", "Content-Type"),
        ("x-my-header", "X-My-Header"),
        ("host", "Host"),
        ("a--b", "A--B"),
    ] {
        assert_eq!(title_case(raw), want);
    }
}

#[test]
fn multi_dict_lists_repeats() {
    let v = multi_dict([
        ("a".to_owned(), json!("1")),
        ("b".to_owned(), json!("2")),
        ("a".to_owned(), json!("3")),
        ("a".to_owned(), json!("4")),
    ]);
    assert_eq!(v, json!({"a": ["1", "3", "4"], "b": "2"}));
}

#[test]
fn ranges() {
    for (spec, want) in [
        ("bytes=0-9", Some((0, 9))),
        ("bytes=5-", Some((5, 25))),
        ("bytes=-3", Some((23, 25))),
        ("bytes=20-100", Some((20, 25))),
        ("bytes=26-", None),
        ("bytes=-0", None),
        ("bytes=9-3", None),
        ("items=0-1", None),
    ] {
        assert_eq!(parse_range(spec, 26), want, "{spec}");
    }
}

#[test]
fn seeded_bytes_repeat() {
    let (mut a, mut b) = (SplitMix(7), SplitMix(7));
    let (mut x, mut y) = ([0u8; 13], [0u8; 13]);
    a.fill(&mut x);
    b.fill(&mut y);
    assert_eq!(x, y);
    assert_ne!(x, [0u8; 13]);
}
