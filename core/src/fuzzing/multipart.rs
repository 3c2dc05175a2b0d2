//! Fuzz body for the multipart parser ([`crate::server::multipart`]): arbitrary bodies
//! for a fixed boundary, fed whole and in pieces.
//!
//! Input: `[limits byte][split byte][body ...]`. Invariants: no panic; the events do
//! not depend on the split (adjacent `Data` merged); events are well-ordered (`Part`,
//! `Data`*, `PartEnd`, ..., `End`); content delivered never exceeds the body; the part
//! and header limits hold; errors are sticky.

use crate::server::multipart::{MultipartError, MultipartEvent, MultipartLimits, MultipartParser};

/// Events with adjacent `Data` merged, and the error that ended the run, if any.
type Trace = (Vec<MultipartEvent>, Option<MultipartError>);

fn run(body: &[u8], limits: MultipartLimits, step: usize) -> Trace {
    let Ok(mut parser) = MultipartParser::new("b0undary", limits) else {
        panic!("the fixed boundary is valid");
    };
    let mut events: Vec<MultipartEvent> = Vec::new();
    let push = |events: &mut Vec<MultipartEvent>, e: MultipartEvent| match (events.last_mut(), e) {
        (Some(MultipartEvent::Data(prev)), MultipartEvent::Data(more)) => {
            let mut joined = prev.to_vec();
            joined.extend_from_slice(&more);
            *prev = joined.into();
        }
        (_, e) => events.push(e),
    };
    let drain = |parser: &mut MultipartParser, events: &mut Vec<MultipartEvent>| loop {
        match parser.poll_event() {
            Ok(Some(e)) => push(events, e),
            Ok(None) => return None,
            Err(e) => return Some(e),
        }
    };
    for piece in body.chunks(step.max(1)) {
        parser.handle_input(piece);
        if let Some(e) = drain(&mut parser, &mut events) {
            assert_eq!(parser.poll_event(), Err(e.clone()), "errors are sticky");
            return (events, Some(e));
        }
    }
    parser.handle_eof();
    let err = drain(&mut parser, &mut events);
    (events, err)
}

/// Runs one input.
pub fn multipart(data: &[u8]) {
    let (mode, split, body) = match data {
        [m, s, rest @ ..] => (*m, *s, rest),
        _ => return,
    };
    let limits = if mode & 1 == 0 {
        MultipartLimits::default()
    } else {
        MultipartLimits {
            max_header_bytes: 64,
            max_headers: 2,
            max_parts: 3,
        }
    };
    let whole = run(body, limits, body.len());
    let split_run = run(body, limits, usize::from(split % 16) + 1);
    assert_eq!(whole, split_run, "events depend on the read split");
    let (events, _) = whole;
    let mut parts = 0;
    let mut in_part = false;
    let mut content = 0;
    let mut ended = false;
    for e in &events {
        assert!(!ended, "event after End");
        match e {
            MultipartEvent::Part(head) => {
                assert!(!in_part, "Part inside a part");
                assert!(head.headers.len() <= limits.max_headers);
                parts += 1;
                in_part = true;
            }
            MultipartEvent::Data(d) => {
                assert!(in_part, "Data outside a part");
                content += d.len();
            }
            MultipartEvent::PartEnd => {
                assert!(in_part, "PartEnd outside a part");
                in_part = false;
            }
            MultipartEvent::End => {
                assert!(!in_part, "End inside a part");
                ended = true;
            }
        }
    }
    assert!(parts <= limits.max_parts, "{parts} parts over the limit");
    assert!(content <= body.len(), "more content than body");
}
