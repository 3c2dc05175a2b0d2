//! An httpbin-compatible server (httpbin.org's paths and JSON shapes), for the tour and
//! for any client test that wants httpbin locally.
//!
//! cargo run --example httpbin -- --bind 127.0.0.1:8080 [--runtime tokio|smol|async-std] [--workers N]

use sansweb::web::run_app_on;
use sansweb_examples::httpbin::httpbin_app;

fn main() -> std::io::Result<()> {
    let args = sansweb_examples::Args::parse();
    let (addr, workers) = (args.bind, args.workers);
    println!(
        "httpbin on http://{addr} ({}, {workers} worker(s))",
        args.runtime
    );
    let app = httpbin_app();
    match args.runtime.as_str() {
        "tokio" => run_app_on::<sansweb::rt::TokioRuntime>(app, addr, workers),
        "smol" => run_app_on::<sansweb::rt::SmolRuntime>(app, addr, workers),
        "async-std" => run_app_on::<sansweb::rt::AsyncStdRuntime>(app, addr, workers),
        other => Err(std::io::Error::other(format!("unknown runtime {other:?}"))),
    }
}
