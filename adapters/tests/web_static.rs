//! Static files on every runtime: traversal refused in every encoding, symlinks out of
//! the root refused, Range and If-Range, ETag / Last-Modified → 304, large files streamed.
//! `cargo test -p sansweb --all-features --test web_static`

mod web_support;

use sansweb::rt::Runtime;
use sansweb::web::App;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use web_support::{get, request, start};

const SECRET: &str = "TOP-SECRET-CONTENT";
const HELLO: &str = "hello static world";

/// A fresh tree: `<tmp>/secret.txt`, `<tmp>/outside/secret.txt`, and the served root
/// `<tmp>/root` with files, a sub-directory and symlinks pointing out of it.
fn tree() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir().join(format!(
        "sansweb-static-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&base);
    let root = base.join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(base.join("outside")).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    std::fs::write(base.join("outside/secret.txt"), SECRET).unwrap();
    std::fs::write(root.join("hello.txt"), HELLO).unwrap();
    std::fs::write(root.join("sub/page.html"), "<p>sub</p>").unwrap();
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("big.bin"), big).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(base.join("secret.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(base.join("outside"), root.join("linkdir")).unwrap();
        std::os::unix::fs::symlink(root.join("hello.txt"), root.join("inside-link.txt")).unwrap();
    }
    base
}

async fn traversal_refused<R: Runtime>(rt: R) {
    let base = tree();
    let server = start(&rt, App::new().static_files("/static", base.join("root"))).await;
    let addr = server.local_addr();
    let r = get(&rt, addr, "/static/hello.txt").await;
    assert_eq!((r.status, r.text().as_str()), (200, HELLO));
    let attempts = [
        "/static/../secret.txt",
        "/static/sub/../../secret.txt",
        "/static/./../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/%2e./secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/%2e%2e%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/..%5Csecret.txt",
        "/static/..\\secret.txt",
        "/static/sub\\..\\..\\secret.txt",
        "/static/%252e%252e/secret.txt",
        "/static/%252e%252e%252fsecret.txt",
        "/static/%c0%ae%c0%ae/secret.txt",
        "/static/..;/secret.txt",
        "/static/%00/../secret.txt",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/%2Fetc/passwd",
        &format!("/static/{}", base.join("secret.txt").display()),
        &format!("/static/%2f{}", base.join("secret.txt").display()),
        "/static/C:\\Windows\\win.ini",
        "/static/link.txt",
        "/static/linkdir/secret.txt",
        "/static/sub/",
        "/static/",
    ];
    for path in attempts {
        let r = request(
            &rt,
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"),
        )
        .await;
        assert!(
            matches!(r.status, 400 | 403 | 404),
            "{path}: status {} body {:?}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains(SECRET), "{path} leaked the secret");
        assert!(!r.text().contains("root:"), "{path} leaked /etc/passwd");
    }
    // A symlink that stays inside the root is fine.
    #[cfg(unix)]
    assert_eq!(
        get(&rt, addr, "/static/inside-link.txt").await.text(),
        HELLO
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(base);
}

async fn ranges_and_conditionals<R: Runtime>(rt: R) {
    let base = tree();
    let server = start(&rt, App::new().static_files("/static", base.join("root"))).await;
    let addr = server.local_addr();
    let full = get(&rt, addr, "/static/hello.txt").await;
    assert_eq!(full.header("content-type"), Some("text/plain"));
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    let etag = full.header("etag").expect("an ETag").to_owned();
    let last_modified = full
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    let get_with = |header: String| {
        let rt = rt.clone();
        async move {
            request(
                &rt,
                addr,
                &format!("GET /static/hello.txt HTTP/1.1\r\nHost: t\r\n{header}\r\n\r\n"),
            )
            .await
        }
    };
    // (extra header, status, body, Content-Range)
    let cases: Vec<(String, u16, &str, Option<String>)> = vec![
        (
            "Range: bytes=0-4".into(),
            206,
            "hello",
            Some("bytes 0-4/18".into()),
        ),
        (
            "Range: bytes=6-".into(),
            206,
            "static world",
            Some("bytes 6-17/18".into()),
        ),
        (
            "Range: bytes=-5".into(),
            206,
            "world",
            Some("bytes 13-17/18".into()),
        ),
        (
            "Range: bytes=10-1000".into(),
            206,
            "ic world",
            Some("bytes 10-17/18".into()),
        ),
        (
            "Range: bytes=18-".into(),
            416,
            "",
            Some("bytes */18".into()),
        ),
        (
            "Range: bytes=5-2".into(),
            416,
            "",
            Some("bytes */18".into()),
        ),
        (
            format!("Range: bytes=0-4\r\nIf-Range: {etag}"),
            206,
            "hello",
            Some("bytes 0-4/18".into()),
        ),
        (
            "Range: bytes=0-4\r\nIf-Range: \"stale\"".into(),
            200,
            HELLO,
            None,
        ),
        (
            format!("Range: bytes=0-4\r\nIf-Range: {last_modified}"),
            206,
            "hello",
            Some("bytes 0-4/18".into()),
        ),
        (
            "Range: bytes=0-4\r\nIf-Range: Thu, 01 Jan 1970 00:00:00 GMT".into(),
            200,
            HELLO,
            None,
        ),
        (format!("If-None-Match: {etag}"), 304, "", None),
        (format!("If-None-Match: \"other\", {etag}"), 304, "", None),
        ("If-None-Match: \"other\"".into(), 200, HELLO, None),
        (format!("If-Modified-Since: {last_modified}"), 304, "", None),
        (
            "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT".into(),
            200,
            HELLO,
            None,
        ),
    ];
    for (header, status, body, content_range) in cases {
        let r = get_with(header.clone()).await;
        assert_eq!(
            (
                r.status,
                r.text().as_str(),
                r.header("content-range").map(str::to_owned)
            ),
            (status, body, content_range),
            "{header}"
        );
        if status == 304 {
            assert_eq!(
                r.header("etag"),
                Some(etag.as_str()),
                "304 repeats the ETag"
            );
        }
    }
    // A large file is streamed; a range from its middle is exact.
    let r = get(&rt, addr, "/static/big.bin").await;
    assert_eq!(r.body.len(), 1_500_000);
    assert!(r
        .body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == (i % 251) as u8));
    let r = request(
        &rt,
        addr,
        "GET /static/big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=1000000-1299999\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body.len(), 300_000);
    assert!(r
        .body
        .iter()
        .enumerate()
        .all(|(i, &b)| b == ((i + 1_000_000) % 251) as u8));
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(base);
}

on_all_runtimes!(traversal_refused, ranges_and_conditionals);
