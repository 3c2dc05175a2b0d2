//! A real browser against our server: headless Chromium (Debian's `chromium`) loads a page
//! from us over HTTP/1.1, opens a WebSocket to us (Chromium always offers
//! permessage-deflate with `client_max_window_bits`), exchanges text, a large compressible
//! text, binary and a burst of small messages, stays open across our heartbeat pings
//! (the browser must answer them), and is closed by us with a code and reason it must
//! report. The page posts each result back to us over `fetch`. CI installs Chromium with
//! `apt-get install chromium`; without it these tests fail (they never skip).

mod peer_support;
mod web_support;

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use peer_support::{find_binary, TempDir};
use sansweb::core::ws::CloseCode;
use sansweb::rt::Runtime;
use sansweb::web::{App, HttpError, Request, Response};
use sansweb::ws::{WebSocketResponse, WsMessage};
use web_support::{sleep, start};

const NEED: &str = "these tests need Debian's Chromium: apt-get install chromium";

/// The page: every step's outcome goes to `POST /log`, one line each.
const PAGE: &str = r#"<!doctype html><html><body><script>
const log = (s) => fetch('/log', { method: 'POST', body: s });
const ws = new WebSocket('ws://' + location.host + '/ws', ['chat', 'superchat']);
ws.binaryType = 'arraybuffer';
const big = 'browser '.repeat(150000);
const bin = new Uint8Array(200000);
for (let i = 0; i < bin.length; i++) bin[i] = (i * 7) & 255;
let step = 0;
ws.onopen = () => { log('open ext=' + ws.extensions + ' proto=' + ws.protocol); ws.send('hello é'); };
ws.onmessage = (e) => {
  step++;
  if (step === 1) { log('text ' + (e.data === 'hello é')); ws.send(big); }
  else if (step === 2) { log('big ' + (e.data === big)); ws.send(bin); }
  else if (step === 3) {
    const a = new Uint8Array(e.data);
    let ok = a.length === bin.length;
    for (let i = 0; ok && i < a.length; i++) ok = a[i] === bin[i];
    log('binary ' + ok);
    for (let i = 0; i < 1000; i++) ws.send('m' + i);
  } else if (step === 1003) {
    log('burst ' + (e.data === 'm999'));
    // Several of our heartbeat intervals pass before the next step.
    setTimeout(() => ws.send('close-me'), 1000);
  }
};
ws.onclose = (e) => log('close code=' + e.code + ' reason=' + e.reason + ' clean=' + e.wasClean);
ws.onerror = () => log('error');
</script></body></html>"#;

/// What the page must report, in order.
const EXPECTED: &[&str] = &[
    "open ext=permessage-deflate proto=superchat",
    "text true",
    "big true",
    "binary true",
    "burst true",
    "close code=4000 reason=done clean=true",
];

/// Headless Chromium on `url`, in its own process group (it starts helper processes);
/// the whole group is ended on drop, then its profile directory removed.
struct Browser {
    process: Child,
    _profile: TempDir,
}

impl Browser {
    fn open(url: &str) -> Browser {
        let binary = find_binary(
            &["chromium", "chromium-browser", "google-chrome"],
            "--version",
            NEED,
        );
        let profile = TempDir::new("chromium");
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                // Containers often give /dev/shm 64 MB, too little for a renderer.
                "--disable-dev-shm-usage",
                // Keeps the browser running after the page loaded (no --dump-dom).
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("chromium starts ({e}); {NEED}"));
        Browser {
            process: child,
            _profile: profile,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.process.wait();
        // Its helpers leave within a second or two; wait (bounded) so none outlives the
        // test and the profile can be removed.
        for _ in 0..50 {
            let alive = Command::new("kill")
                .args(["-0", "--", &group])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

async fn browser_echo<R: Runtime>(rt: R) {
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let server_saw = Arc::new(Mutex::new(Vec::<String>::new()));
    let (log_in, saw_in) = (log.clone(), server_saw.clone());
    let app = App::new()
        .get("/page", |_req: Request| async {
            Ok::<_, HttpError>(Response::html(PAGE))
        })
        .post("/log", move |req: Request| {
            let log = log_in.clone();
            async move {
                let line = req.text().await?;
                log.lock().unwrap().push(line);
                Ok::<_, HttpError>(Response::text("ok"))
            }
        })
        .get("/ws", move |req: Request| {
            let saw = saw_in.clone();
            async move {
                WebSocketResponse::new()
                    .protocols(&["superchat"])
                    .heartbeat(Duration::from_millis(200))
                    .prepare(&req, move |mut ws| async move {
                        loop {
                            let sent = match ws.receive().await {
                                WsMessage::Text(t) if t == "close-me" => {
                                    let closed = ws.close(CloseCode(4000), "done").await;
                                    saw.lock().unwrap().push(format!(
                                        "closed {:?} {:?}",
                                        closed,
                                        ws.close_code()
                                    ));
                                    return;
                                }
                                WsMessage::Text(t) => ws.send_str(&t).await,
                                WsMessage::Binary(b) => ws.send_bytes_owned(b).await,
                                other => {
                                    saw.lock().unwrap().push(format!("unexpected {other:?}"));
                                    return;
                                }
                            };
                            sent.expect("echo to the browser");
                        }
                    })
            }
        });
    let server = start(&rt, app).await;
    let url = format!("http://{}/page", server.local_addr());
    let browser = Browser::open(&url);
    // Chromium starts in 1-3 s on this machine; the page then takes about 1.5 s.
    for _ in 0..200 {
        if log.lock().unwrap().len() >= EXPECTED.len() {
            break;
        }
        sleep(&rt, 100).await;
    }
    drop(browser);
    let log = log.lock().unwrap().clone();
    assert_eq!(log, EXPECTED, "what the browser reported");
    let saw = server_saw.lock().unwrap().clone();
    assert_eq!(
        saw,
        ["closed Ok(()) Some(CloseCode(4000))"],
        "the server's side of the close"
    );
}

on_all_runtimes!(browser_echo);
