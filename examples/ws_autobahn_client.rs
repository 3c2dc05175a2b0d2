//! Autobahn|Testsuite echo client: asks the fuzzing server for its case count, runs every
//! case echoing each message, then asks it to write the reports.
//!
//! cargo run --release --example ws_autobahn_client -- ws://127.0.0.1:9001 --runtime tokio|smol|async-std

use sansweb::rt::Runtime;
use sansweb::ws::{WsConnect, WsError, WsMessage};

/// Autobahn's group 9 sends messages of up to 16 MiB.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
const AGENT: &str = "sansweb";

async fn run<R: Runtime>(rt: R, base: String) -> Result<(), WsError> {
    let options = WsConnect::new().compress(true).max_msg_size(MAX_MESSAGE);
    let mut ws = options
        .connect(&rt, &format!("{base}/getCaseCount"))
        .await?;
    let count: u32 = ws.receive_json().await?;
    drop(ws);
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        let mut ws = match options.connect(&rt, &url).await {
            Ok(ws) => ws,
            Err(e) => {
                eprintln!("case {case}: {e}");
                continue;
            }
        };
        loop {
            let sent = match ws.receive().await {
                WsMessage::Text(t) => ws.send_str(&t).await,
                WsMessage::Binary(b) => ws.send_bytes_owned(b).await,
                _ => break,
            };
            if sent.is_err() {
                break;
            }
        }
        // Wait for the closing handshake and TCP close, so cases never overlap.
        let _ = ws.close(sansweb::core::ws::CloseCode::NORMAL, "").await;
    }
    let mut ws = options
        .connect(&rt, &format!("{base}/updateReports?agent={AGENT}"))
        .await?;
    while !matches!(ws.receive().await, WsMessage::Closed | WsMessage::Error(_)) {}
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args = sansweb_examples::Args::parse();
    let base = args
        .positional
        .first()
        .cloned()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let base = base.trim_end_matches('/').to_owned();
    let result = match args.runtime.as_str() {
        "tokio" => sansweb::rt::TokioRuntime::block_on(|rt| run(rt, base))?,
        "smol" => sansweb::rt::SmolRuntime::block_on(|rt| run(rt, base))?,
        "async-std" => sansweb::rt::AsyncStdRuntime::block_on(|rt| run(rt, base))?,
        other => return Err(std::io::Error::other(format!("unknown runtime {other:?}"))),
    };
    result.map_err(std::io::Error::other)
}
