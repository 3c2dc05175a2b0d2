//! Shared bits of the examples: command-line arguments, and the httpbin application.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod httpbin;
pub mod tls_server;

use std::net::SocketAddr;

/// `--bind ADDR --runtime NAME --workers N` (and a first positional URL for clients).
#[derive(Debug, Clone)]
pub struct Args {
    /// Where to listen (default 127.0.0.1:8080).
    pub bind: SocketAddr,
    /// tokio, smol or async-std (default tokio).
    pub runtime: String,
    /// Worker threads (default 1).
    pub workers: usize,
    /// Positional arguments.
    pub positional: Vec<String>,
}

impl Args {
    /// Parses `std::env::args`; exits with a message on a bad argument.
    pub fn parse() -> Self {
        let mut args = Args {
            bind: "127.0.0.1:8080".parse().expect("literal"),
            runtime: "tokio".into(),
            workers: 1,
            positional: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next().unwrap_or_else(|| {
                    eprintln!("{name} needs a value");
                    std::process::exit(2)
                })
            };
            match arg.as_str() {
                "--bind" => {
                    args.bind = value("--bind").parse().unwrap_or_else(|e| {
                        eprintln!("--bind: {e}");
                        std::process::exit(2)
                    })
                }
                "--runtime" => args.runtime = value("--runtime"),
                "--workers" => {
                    args.workers = value("--workers").parse().unwrap_or_else(|e| {
                        eprintln!("--workers: {e}");
                        std::process::exit(2)
                    })
                }
                _ => args.positional.push(arg),
            }
        }
        args
    }
}
