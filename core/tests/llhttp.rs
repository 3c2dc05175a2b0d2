//! Runs the llhttp parser fixtures (`../shared/vectors/llhttp/`) through `Conn<Server>`
//! (requests) and `Conn<Client>` (responses): accept/reject must agree with llhttp's
//! strict mode, and for accepted input the parsed pieces (method, target, version,
//! status, header fields, body bytes, message count) must be equal. Every case that is
//! fed in pieces is also fed split at every byte position, and must give the same events.
#![allow(clippy::disallowed_methods)] // Instant::now() as the virtual clock's base

use bytes::Bytes;
use http::{Method, Version};
use sansweb_core::h1::{Client, Config, Conn, Event, RequestHead, Server};
use std::path::PathBuf;
use std::time::Instant;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/llhttp")
}

struct Case {
    file: String,
    name: String,
    kind: String,
    no_scan: bool,
    pause: bool,
    skip_body: bool,
    input: Vec<u8>,
    log: Vec<String>,
}

/// README rules: drop one trailing newline; join backslash-continued lines; newline →
/// CRLF; then the escapes.
fn decode_input(block: &str) -> Vec<u8> {
    decode(block, false)
}

/// The same escapes serve the log's quoted spans (which print `"` and `\` raw).
fn decode(block: &str, _log: bool) -> Vec<u8> {
    let text = block.strip_suffix('\n').unwrap_or(block);
    let text = text.replace("\\\n", "");
    let text = text.replace('\n', "\r\n");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let c = bytes[i + 1];
            match c {
                b'r' => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                b'n' => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                b't' => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                b'f' => {
                    out.push(0x0c);
                    i += 2;
                    continue;
                }
                b'x' if i + 3 < bytes.len() + 1 => {
                    let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                    continue;
                }
                b'0'..=b'7' => {
                    let mut j = i + 1;
                    let mut v: u32 = 0;
                    while j < bytes.len() && j < i + 4 && (b'0'..=b'7').contains(&bytes[j]) {
                        v = v * 8 + u32::from(bytes[j] - b'0');
                        j += 1;
                    }
                    out.push(v as u8);
                    i = j;
                    continue;
                }
                _ => {}
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn load_cases(role: &str) -> Vec<Case> {
    let dir = vectors_dir().join(role);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let mut heading = String::new();
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            if line.starts_with('#') {
                heading = line.trim_start_matches('#').trim().to_string();
            }
            if let Some(meta) = line.strip_prefix("<!-- meta=") {
                let kind = meta
                    .split("\"type\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').nth(1))
                    .unwrap_or("")
                    .to_string();
                let no_scan = meta.contains("\"noScan\": true");
                let pause = meta.contains("\"pause\"");
                let skip_body = meta.contains("\"skipBody\": true");
                // The fenced http block, then the fenced log block.
                let mut j = i + 1;
                while !lines[j].starts_with("```http") {
                    j += 1;
                }
                let mut block = String::new();
                j += 1;
                while !lines[j].starts_with("```") {
                    block.push_str(lines[j]);
                    block.push('\n');
                    j += 1;
                }
                while !lines[j].starts_with("```log") {
                    j += 1;
                }
                j += 1;
                let mut log = Vec::new();
                while !lines[j].starts_with("```") {
                    log.push(lines[j].to_string());
                    j += 1;
                }
                cases.push(Case {
                    file: file.clone(),
                    name: heading.clone(),
                    kind,
                    no_scan,
                    pause,
                    skip_body,
                    input: decode_input(&block),
                    log,
                });
                i = j;
            }
            i += 1;
        }
    }
    cases
}

/// One message as both parsers see it.
#[derive(Debug, Default, Clone, PartialEq)]
struct Message {
    method: Option<String>,
    url: Option<String>,
    status: Option<u16>,
    version: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    complete: bool,
    headers_done: bool,
}

#[derive(Debug, Default)]
struct Outcome {
    messages: Vec<Message>,
    error: bool,
    /// llhttp paused for CONNECT/Upgrade (code 22); we handed the connection over.
    upgraded: bool,
}

fn span_value(line: &str) -> Option<(&str, String)> {
    let start = line.find("span[")? + 5;
    let end = line[start..].find(']')? + start;
    let kind = &line[start..end];
    let rest = &line[end + 1..];
    let quoted = rest.strip_prefix("=\"")?;
    let quoted = quoted.strip_suffix('"')?;
    Some((kind, unescape_log(quoted)))
}

fn unescape_log(s: &str) -> String {
    String::from_utf8_lossy(&decode(&format!("{s}\n"), true)).into_owned()
}

/// Our bytes as llhttp's log shows them: UTF-8 where valid, else one char per byte.
fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn expected(case: &Case) -> Outcome {
    let mut out = Outcome::default();
    let mut field = String::new();
    let mut last_span = "";
    for line in &case.log {
        if line.contains("message begin") {
            out.messages.push(Message::default());
            last_span = "";
            continue;
        }
        if line.contains("error code=22 ") {
            out.upgraded = true;
            continue;
        }
        let Some(msg) = out.messages.last_mut() else {
            if line.contains("error code=") {
                out.error = true;
            }
            continue;
        };
        if let Some((kind, value)) = span_value(line) {
            let continued = kind == last_span;
            let value_len = value.len();
            match kind {
                "method" => append(&mut msg.method, &value),
                "url" => append(&mut msg.url, &value),
                "version" => append(&mut msg.version, &value),
                "header_field" => {
                    if continued {
                        field.push_str(&value);
                    } else {
                        field = value;
                    }
                }
                "header_value" => {
                    if continued {
                        msg.headers.last_mut().unwrap().1.push_str(&value);
                    } else {
                        msg.headers.push((field.clone(), value));
                    }
                }
                "body" => msg.body.extend_from_slice(&vec![0; value_len]),
                _ => {}
            }
            last_span = match kind {
                "header_field" | "header_value" => kind,
                _ => "",
            };
            // Bodies are raw bytes: decode spans byte-exactly.
            if kind == "body" {
                msg.body.truncate(msg.body.len() - value_len);
                let raw = line.split("span[body]=\"").nth(1).unwrap();
                let raw = raw.strip_suffix('"').unwrap();
                msg.body
                    .extend_from_slice(&decode_input(&format!("{raw}\n")));
            }
            continue;
        }
        // Single-byte body spans are logged as `=cr` / `=lf`.
        if line.contains("span[body]=cr") || line.contains("span[body]=lf") {
            msg.body
                .push(if line.ends_with("cr") { b'\r' } else { b'\n' });
            last_span = "";
            continue;
        }
        if line.contains("headers complete") {
            msg.headers_done = true;
            if let Some(status) = line.split("status=").nth(1) {
                msg.status = status.split(' ').next().and_then(|s| s.parse().ok());
            }
        } else if line.contains("message complete") {
            msg.complete = true;
        } else if line.contains("error code=") {
            out.error = true;
        }
        if !line.contains("complete") {
            last_span = "";
        }
    }
    out
}

fn finish_expected(mut out: Outcome) -> Outcome {
    // We report a message only once its head is complete.
    out.messages.retain(|m| m.headers_done);
    for m in &mut out.messages {
        m.headers_done = false;
    }
    out
}

fn append(slot: &mut Option<String>, value: &str) {
    slot.get_or_insert_with(String::new).push_str(value);
}

fn raw_headers(pairs: impl Iterator<Item = (Vec<u8>, Vec<u8>)>) -> Vec<(String, String)> {
    pairs.map(|(n, v)| (show(&n), show(&v))).collect()
}

fn version_str(v: Version) -> String {
    if v == Version::HTTP_10 { "1.0" } else { "1.1" }.to_string()
}

fn request_target(head: &RequestHead) -> String {
    show(head.raw_target().unwrap())
}

/// Feeds the pieces into a server connection; collects what it sees.
fn parser_config(server: bool) -> Config {
    let mut config = if server {
        Config::server()
    } else {
        Config::client()
    };
    // llhttp is a parser; requiring Host is server policy (tested in the h1 tests).
    config.require_host = false;
    config
}

/// Debug strings of events with adjacent `Data` merged: how a body is cut into
/// chunks depends on how it arrived, what it holds must not.
fn push_trace<H: std::fmt::Debug>(
    trace: &mut Vec<String>,
    pending: &mut Vec<u8>,
    event: &Event<H>,
) {
    if let Event::Data(data) = event {
        pending.extend_from_slice(data);
        return;
    }
    if !pending.is_empty() {
        trace.push(format!("Data({:?})", String::from_utf8_lossy(pending)));
        pending.clear();
    }
    trace.push(format!("{event:?}"));
}

fn run_server(pieces: &[&[u8]]) -> (Outcome, Vec<String>) {
    let now = Instant::now();
    let mut conn = Conn::<Server>::new(parser_config(true), now);
    let mut pending = Vec::new();
    let mut wants_upgrade = false;
    let mut is_connect = false;
    let mut out = Outcome::default();
    let mut trace = Vec::new();
    for piece in pieces {
        conn.handle_input(now, piece);
        loop {
            let Some(event) = conn.poll_event() else {
                break;
            };
            push_trace(&mut trace, &mut pending, &event);
            match event {
                Event::Head(head) => {
                    let connection = head
                        .headers
                        .get("connection")
                        .map(|v| v.as_bytes().to_ascii_lowercase());
                    wants_upgrade = head.headers.contains_key("upgrade")
                        && connection.is_some_and(|c| c.windows(7).any(|w| w == b"upgrade"));
                    is_connect = head.method == Method::CONNECT;
                    out.messages.push(Message {
                        method: Some(head.method.to_string()),
                        url: Some(request_target(&head)),
                        version: Some(version_str(head.version)),
                        headers: raw_headers(
                            head.raw_headers().map(|(n, v)| (n.to_vec(), v.to_vec())),
                        ),
                        ..Message::default()
                    })
                }
                Event::Data(data) => out
                    .messages
                    .last_mut()
                    .unwrap()
                    .body
                    .extend_from_slice(&data),
                Event::Trailers(trailers) => {
                    let msg = out.messages.last_mut().unwrap();
                    for (n, v) in &trailers {
                        msg.headers.push((
                            n.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        ));
                    }
                }
                Event::End => {
                    out.messages.last_mut().unwrap().complete = true;
                    // Answer so the next pipelined request is parsed; accept upgrades and
                    // tunnels the way a proxy or WebSocket server would.
                    let status = if wants_upgrade && !is_connect {
                        http::StatusCode::SWITCHING_PROTOCOLS
                    } else {
                        http::StatusCode::OK
                    };
                    let head = sansweb_core::h1::ResponseHead::new(status);
                    if status == http::StatusCode::OK && !is_connect {
                        conn.send_full_response(now, head, Bytes::new()).unwrap();
                    } else {
                        conn.send_response(now, head).unwrap();
                    }
                }
                Event::Upgrade => out.upgraded = true,
                Event::Error(_) => out.error = true,
                _ => {}
            }
        }
        while conn.poll_transmit().is_some() {}
    }
    push_trace(&mut trace, &mut pending, &Event::<()>::End);
    (out, trace)
}

fn run_client(
    pieces: &[&[u8]],
    requests: usize,
    method: Method,
    upgrade: bool,
) -> (Outcome, Vec<String>) {
    let now = Instant::now();
    let mut conn = Conn::<Client>::new(parser_config(false), now);
    let mut pending = Vec::new();
    for _ in 0..requests {
        let mut head = RequestHead::new(method.clone(), "/".parse().unwrap());
        head.headers
            .insert(http::header::HOST, "example.com".parse().unwrap());
        if upgrade {
            head.headers
                .insert(http::header::CONNECTION, "upgrade".parse().unwrap());
            head.headers
                .insert(http::header::UPGRADE, "websocket".parse().unwrap());
        }
        conn.send_request(now, head).unwrap();
        conn.send_end(now, None).unwrap();
    }
    while conn.poll_transmit().is_some() {}
    let mut out = Outcome::default();
    let mut trace = Vec::new();
    for piece in pieces {
        conn.handle_input(now, piece);
        while let Some(event) = conn.poll_event() {
            push_trace(&mut trace, &mut pending, &event);
            match event {
                Event::Head(head) | Event::Informational(head) => out.messages.push(Message {
                    status: Some(head.status.as_u16()),
                    version: Some(version_str(head.version)),
                    headers: raw_headers(head.raw_headers().map(|(n, v)| (n.to_vec(), v.to_vec()))),
                    complete: head.status.is_informational(),
                    ..Message::default()
                }),
                Event::Data(data) => out
                    .messages
                    .last_mut()
                    .unwrap()
                    .body
                    .extend_from_slice(&data),
                Event::Trailers(trailers) => {
                    let msg = out.messages.last_mut().unwrap();
                    for (n, v) in &trailers {
                        msg.headers.push((
                            n.to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        ));
                    }
                }
                Event::End => out.messages.last_mut().unwrap().complete = true,
                Event::Upgrade => out.upgraded = true,
                Event::Error(_) => out.error = true,
                _ => {}
            }
        }
    }
    push_trace(&mut trace, &mut pending, &Event::<()>::End);
    (out, trace)
}

fn normalise(mut m: Message, ours: bool) -> Message {
    for (n, v) in &mut m.headers {
        *n = n.to_ascii_lowercase();
        *v = v.trim_matches([' ', '\t']).to_string();
    }
    if ours {
        m.method = m.method.take();
    }
    m
}

/// Compares outcomes: same accept/reject, and for what both accepted the same pieces.
fn compare(case: &Case, want: &Outcome, got: &Outcome) -> Result<(), String> {
    let first_line = case.input.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let contains = |needle: &[u8]| first_line.windows(needle.len()).any(|w| w == needle);
    let must_reject =
        want.error || contains(b"RTSP/") || contains(b"ICE/") || case.input.starts_with(b"PRI ");
    if want.upgraded != got.upgraded && !must_reject {
        return Err(format!(
            "upgrade: llhttp {}, ours {}",
            want.upgraded, got.upgraded
        ));
    }
    if must_reject {
        if !got.error {
            return Err(format!(
                "accepted input llhttp rejects; we saw {:?}",
                got.messages
            ));
        }
        let done = got.messages.iter().filter(|m| m.complete).count();
        let want_done = want.messages.iter().filter(|m| m.complete).count();
        if done > want_done {
            return Err(format!(
                "completed {done} messages before rejecting, llhttp {want_done}"
            ));
        }
        return Ok(());
    }
    if got.error {
        return Err(format!(
            "rejected input llhttp accepts (llhttp saw {:?})",
            want.messages
        ));
    }
    if want.messages.len() != got.messages.len() {
        return Err(format!(
            "{} messages, llhttp {}: ours {:?}",
            got.messages.len(),
            want.messages.len(),
            got.messages
        ));
    }
    for (w, g) in want.messages.iter().zip(&got.messages) {
        let w = normalise(w.clone(), false);
        let mut g = normalise(g.clone(), true);
        if w.method.is_none() {
            g.method = None;
        }
        if w.url.is_none() {
            g.url = None;
        }
        if w.version.is_none() {
            g.version = None;
        }
        if w.status.is_none() {
            g.status = None;
        }
        if w != g {
            return Err(format!("pieces differ:\n  llhttp {w:?}\n  ours   {g:?}"));
        }
    }
    Ok(())
}

/// Strict cases where sansweb deliberately differs from llhttp, each with the reason.
const DELIBERATE_DIVERGENCES: &[(&str, &str)] = &[
    (
        "No HTTP version",
        "an HTTP/0.9 simple request (`GET /` with no version) is refused with 400: nothing \
         speaks 0.9 today, and accepting it lets a request skip every header check",
    ),
    (
        "HTTP version 0.9",
        "a response claiming HTTP/0.9 is refused: 0.9 responses have no status line at all, \
         so one that has one is malformed",
    ),
];

fn skip_reason(case: &Case) -> Option<&'static str> {
    if let Some((_, why)) = DELIBERATE_DIVERGENCES
        .iter()
        .find(|(name, _)| *name == case.name)
    {
        return Some(why);
    }
    if case.kind.contains("lenient") {
        return Some("lenient-mode option (sansweb has only the strict mode)");
    }
    if case.kind.ends_with("-finish") {
        return Some("llhttp_finish() semantics (EOF handling is tested in the Pair tests)");
    }
    if case.pause {
        return Some("llhttp pause callbacks (no equivalent: the core never pauses mid-parse)");
    }
    if case.skip_body && case.kind == "request" {
        return Some("skipBody on a request is an llhttp callback option with no equivalent");
    }
    None
}

fn run_role(role: &str) -> (usize, usize, Vec<String>, Vec<String>) {
    let cases = load_cases(role);
    assert!(
        cases.len() > 50,
        "too few {role} cases found: {}",
        cases.len()
    );
    let (mut passed, mut total) = (0, 0);
    let mut diverging = 0;
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for case in &cases {
        if let Some(reason) = skip_reason(case) {
            if DELIBERATE_DIVERGENCES
                .iter()
                .any(|(name, _)| *name == case.name)
            {
                // Still run: we must reject it.
                let (got, _) = if role == "request" {
                    run_server(&[&case.input])
                } else {
                    run_client(&[&case.input], 2, Method::GET, false)
                };
                assert!(
                    got.error,
                    "deliberate divergence {} must be rejected",
                    case.name
                );
                diverging += 1;
                skipped.push(format!(
                    "{role}/{} — {}: DELIBERATE (rejected): {reason}",
                    case.file, case.name
                ));
            } else {
                skipped.push(format!("{role}/{} — {}: {reason}", case.file, case.name));
            }
            continue;
        }
        total += 1;
        let want = finish_expected(expected(case));
        let run = |pieces: &[&[u8]]| {
            if role == "request" {
                run_server(pieces)
            } else {
                let method = if case.skip_body {
                    Method::HEAD
                } else {
                    Method::GET
                };
                run_client(
                    pieces,
                    want.messages.len().max(1) + 1,
                    method,
                    want.upgraded,
                )
            }
        };
        let (got, trace) = run(&[&case.input]);
        let mut result = compare(case, &want, &got);
        if result.is_ok() && !case.no_scan {
            for split in 1..case.input.len() {
                let (a, b) = case.input.split_at(split);
                let (_, split_trace) = run(&[a, b]);
                if split_trace != trace {
                    result = Err(format!(
                        "split at {split} gives other events:\n  whole {trace:?}\n  split {split_trace:?}"
                    ));
                    break;
                }
            }
        }
        match result {
            Ok(()) => passed += 1,
            Err(why) => failures.push(format!("{role}/{} — {}: {why}", case.file, case.name)),
        }
    }
    assert!(diverging <= DELIBERATE_DIVERGENCES.len());
    (passed, total, failures, skipped)
}

#[test]
fn llhttp_fixtures() {
    let mut all_failures = Vec::new();
    for role in ["request", "response"] {
        let (passed, total, failures, skipped) = run_role(role);
        println!(
            "llhttp {role}: {passed}/{total} strict cases pass, {} skipped",
            skipped.len()
        );
        for s in &skipped {
            println!("  skipped {s}");
        }
        all_failures.extend(failures);
    }
    for f in &all_failures {
        println!("FAIL {f}");
    }
    assert!(
        all_failures.is_empty(),
        "{} llhttp cases fail",
        all_failures.len()
    );
}
