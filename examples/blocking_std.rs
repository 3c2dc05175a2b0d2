//! The sans-IO core driven by plain blocking `std::net`, no async runtime at all: a tiny
//! HTTP/1.1 server on a thread and a client that sends it two keep-alive requests over
//! one `TcpStream`. Time is `Instant::now()` passed in; the core never reads a clock.
//!
//! `cargo run -p sansweb-examples --example blocking_std` (exits 0 when both exchanges
//! went as expected).
#![allow(clippy::disallowed_methods)] // Instant::now() is the caller's job here.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, StatusCode};
use sansweb_core::h1::{Client, Config, Conn, Event, RequestHead, ResponseHead, Server};

/// Writes everything the core has queued.
fn flush<R: sansweb_core::h1::Role>(conn: &mut Conn<R>, stream: &mut TcpStream) -> io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    stream.flush()
}

/// Reads once into the core; `false` at EOF.
fn read_into<R: sansweb_core::h1::Role>(
    conn: &mut Conn<R>,
    stream: &mut TcpStream,
    buf: &mut [u8],
) -> io::Result<bool> {
    let n = stream.read(buf)?;
    if n == 0 {
        conn.handle_eof(Instant::now());
        return Ok(false);
    }
    conn.handle_input(Instant::now(), &buf[..n]);
    Ok(true)
}

/// Serves one connection: answers each request with `you asked for <path>`.
fn serve(mut stream: TcpStream) -> io::Result<usize> {
    let mut conn: Conn<Server> = Conn::new(Config::server(), Instant::now());
    let mut buf = [0u8; 8192];
    let mut path = String::new();
    let mut served = 0;
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Head(head) => path = head.uri.path().to_owned(),
                Event::End => {
                    let mut head = ResponseHead::new(StatusCode::OK);
                    head.headers
                        .insert("content-type", "text/plain".parse().expect("literal"));
                    let body = Bytes::from(format!("you asked for {path}"));
                    conn.send_full_response(Instant::now(), head, body)
                        .map_err(io::Error::other)?;
                    served += 1;
                }
                Event::Closed => {
                    flush(&mut conn, &mut stream)?;
                    return Ok(served);
                }
                Event::Error(e) => {
                    flush(&mut conn, &mut stream)?;
                    return Err(io::Error::other(e));
                }
                _ => {}
            }
        }
        flush(&mut conn, &mut stream)?;
        if !read_into(&mut conn, &mut stream, &mut buf)? && conn.is_closed() {
            return Ok(served);
        }
    }
}

/// Sends `GET path` on `conn` and returns (status, body).
fn get(conn: &mut Conn<Client>, stream: &mut TcpStream, path: &str) -> io::Result<(u16, String)> {
    let mut head = RequestHead::new(Method::GET, path.parse().map_err(io::Error::other)?);
    head.headers
        .insert("host", "127.0.0.1".parse().expect("literal"));
    conn.send_request(Instant::now(), head)
        .map_err(io::Error::other)?;
    conn.send_end(Instant::now(), None)
        .map_err(io::Error::other)?;
    flush(conn, stream)?;
    let mut buf = [0u8; 8192];
    let (mut status, mut body) = (0, Vec::new());
    loop {
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Head(h) => status = h.status.as_u16(),
                Event::Data(d) => body.extend_from_slice(&d),
                Event::End => return Ok((status, String::from_utf8_lossy(&body).into_owned())),
                Event::Error(e) => return Err(io::Error::other(e)),
                Event::Closed => return Err(io::ErrorKind::UnexpectedEof.into()),
                _ => {}
            }
        }
        if !read_into(conn, stream, &mut buf)? {
            // Let the core turn the EOF into an event (or an error) on the next pass.
            if conn.poll_event().is_none() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = std::thread::spawn(move || -> io::Result<usize> {
        let (stream, _) = listener.accept()?;
        serve(stream)
    });

    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut conn: Conn<Client> = Conn::new(Config::client(), Instant::now());
    for path in ["/one", "/two"] {
        let (status, body) = get(&mut conn, &mut stream, path)?;
        println!("GET {path} -> {status} {body:?}");
        if status != 200 || body != format!("you asked for {path}") {
            return Err(io::Error::other(format!("unexpected answer to {path}")));
        }
    }
    assert!(
        conn.is_reusable(),
        "keep-alive: the connection is still usable"
    );
    drop(stream); // the server reads EOF and ends
    let served = server
        .join()
        .map_err(|_| io::Error::other("server thread panicked"))??;
    println!("server answered {served} requests on one connection");
    if served != 2 {
        return Err(io::Error::other("expected two requests on one connection"));
    }
    Ok(())
}
