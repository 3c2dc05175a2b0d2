//! `Request::multipart()` / `form()` / `post()` over real connections, on every
//! runtime: streaming a large upload past `client_max_size`, whole forms, bad bodies.
//! `cargo test -p sansweb --all-features --test web_multipart`

mod web_support;

use sansweb::rt::Runtime;
use sansweb::web::{App, HttpError, Request, Response};
use web_support::{request, RawConn};

fn app() -> App {
    App::new()
        .client_max_size(64 * 1024)
        // Streams every part: reports name, filename and size (and a checksum).
        .post("/stream", |req: Request| async move {
            let mut multipart = req.multipart()?;
            let mut lines = Vec::new();
            while let Some(mut part) = multipart.next_part().await? {
                let (mut size, mut sum) = (0usize, 0u64);
                while let Some(chunk) = part.chunk().await? {
                    size += chunk.len();
                    sum = chunk.iter().fold(sum, |s, &b| s.wrapping_add(b as u64));
                }
                lines.push(format!(
                    "{}|{}|{size}|{sum}",
                    part.name().unwrap_or("-"),
                    part.filename().unwrap_or("-")
                ));
            }
            Ok::<_, HttpError>(Response::text(lines.join("\n")))
        })
        .post("/form", |req: Request| async move {
            let form = req.form().await?;
            let mut out: Vec<String> = form
                .fields
                .iter()
                .map(|(k, v)| format!("field {k}={v}"))
                .collect();
            for f in &form.files {
                out.push(format!(
                    "file {}={} ({}, {} bytes)",
                    f.name,
                    f.filename,
                    f.content_type.as_deref().unwrap_or("-"),
                    f.content.len()
                ));
            }
            Ok::<_, HttpError>(Response::text(out.join("\n")))
        })
        .post("/post", |req: Request| async move {
            let fields = req.post().await?;
            let out: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
            Ok::<_, HttpError>(Response::text(out.join("&")))
        })
}

fn multipart_body(boundary: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

async fn post_raw<R: Runtime>(
    rt: &R,
    addr: std::net::SocketAddr,
    path: &str,
    ct: &str,
    body: &[u8],
) -> web_support::RawResponse {
    let mut conn = RawConn::connect(rt, addr).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.send(head.as_bytes()).await;
    // Written in pieces so parts straddle reads.
    for piece in body.chunks(7919) {
        // A server that refused the body early may stop reading; its answer still counts.
        if conn.try_send(piece).await.is_err() {
            break;
        }
    }
    conn.response(false).await.expect("a response")
}

async fn streams_large_upload<R: Runtime>(rt: R) {
    let server = web_support::start(&rt, app()).await;
    let addr = server.local_addr();
    // 3 MB file: far past client_max_size (64 KiB), fine when streamed.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let sum = big.iter().fold(0u64, |s, &b| s.wrapping_add(b as u64));
    let body = multipart_body(
        "----sansweb7MA4YWxkTrZu0gW",
        &[
            ("title", None, b"holiday"),
            ("upload", Some("big.bin"), &big),
            ("empty", None, b""),
        ],
    );
    let r = post_raw(
        &rt,
        addr,
        "/stream",
        "multipart/form-data; boundary=----sansweb7MA4YWxkTrZu0gW",
        &body,
    )
    .await;
    let title_sum = b"holiday".iter().map(|&b| b as u64).sum::<u64>();
    assert_eq!(
        (r.status, r.text()),
        (
            200,
            format!("title|-|7|{title_sum}\nupload|big.bin|3000000|{sum}\nempty|-|0|0")
        )
    );
    // The whole-form reader is bounded by client_max_size instead.
    let body = multipart_body("b", &[("upload", Some("f.bin"), &big[..70_000])]);
    let r = post_raw(&rt, addr, "/form", "multipart/form-data; boundary=b", &body).await;
    assert_eq!(r.status, 413, "{}", r.text());
    server.shutdown().await;
}

async fn whole_forms<R: Runtime>(rt: R) {
    let server = web_support::start(&rt, app()).await;
    let addr = server.local_addr();
    let body = multipart_body(
        "xYz",
        &[
            ("a", None, b"1"),
            ("f", Some("n.txt"), b"file text\r\n"),
            ("a", None, b"caf\xc3\xa9"),
        ],
    );
    let r = post_raw(
        &rt,
        addr,
        "/form",
        "multipart/form-data; boundary=\"xYz\"",
        &body,
    )
    .await;
    assert_eq!(
        r.text(),
        "field a=1\nfield a=caf\u{e9}\nfile f=n.txt (application/octet-stream, 11 bytes)"
    );
    let r = post_raw(
        &rt,
        addr,
        "/post",
        "multipart/form-data; boundary=xYz",
        &body,
    )
    .await;
    assert_eq!(r.text(), "a=1&a=caf\u{e9}&f=file text\r\n");
    let r = post_raw(
        &rt,
        addr,
        "/post",
        "application/x-www-form-urlencoded",
        b"x=1&y=a+b%21",
    )
    .await;
    assert_eq!(r.text(), "x=1&y=a b!");
    server.shutdown().await;
}

async fn bad_multipart<R: Runtime>(rt: R) {
    let server = web_support::start(&rt, app()).await;
    let addr = server.local_addr();
    let cases: [(&str, &[u8], u16); 5] = [
        ("multipart/form-data", b"--x\r\n\r\nv\r\n--x--", 400),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\nno end", 400),
        (
            "multipart/form-data; boundary=x",
            b"--x\r\nBad Header\r\n\r\nv\r\n--x--",
            400,
        ),
        (
            "multipart/form-data; boundary=x",
            b"--x\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--x--",
            400,
        ),
        ("text/plain", b"hello", 415),
    ];
    for (ct, body, status) in cases {
        let r = post_raw(&rt, addr, "/stream", ct, body).await;
        assert_eq!(
            r.status,
            status,
            "{ct} {:?}: {}",
            String::from_utf8_lossy(body),
            r.text()
        );
    }
    // Chunked upload of a multipart body works too.
    let body = multipart_body("b", &[("k", None, b"v")]);
    let mut raw = b"POST /form HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for piece in body.chunks(5) {
        raw.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        raw.extend_from_slice(piece);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let r = request(&rt, addr, &String::from_utf8(raw).unwrap()).await;
    assert_eq!((r.status, r.text().as_str()), (200, "field k=v"));
    server.shutdown().await;
}

on_all_runtimes!(streams_large_upload, whole_forms, bad_multipart);
