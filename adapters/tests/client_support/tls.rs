//! A TLS test server (rustls on std threads) and rcgen certificates.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub struct Certs {
    pub server_cert: Vec<u8>,
    pub server_key: Vec<u8>,
    pub client_cert: Vec<u8>,
    pub client_key: Vec<u8>,
}

pub fn certs() -> Certs {
    let server = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let client = rcgen::generate_simple_self_signed(vec!["client.test".to_owned()]).unwrap();
    Certs {
        server_cert: server.cert.der().to_vec(),
        server_key: server.signing_key.serialize_der(),
        client_cert: client.cert.der().to_vec(),
        client_key: client.signing_key.serialize_der(),
    }
}

/// A TLS server answering every request with `secure` (and whether the client
/// presented a certificate); `require_client` demands one signed by `client_ca`.
pub fn tls_server(certs: &Certs, require_client: bool) -> SocketAddr {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(certs.client_cert.clone()))
            .unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = Arc::new(
        builder
            .with_single_cert(
                vec![CertificateDer::from(certs.server_cert.clone())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certs.server_key.clone())),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { return };
            let config = config.clone();
            thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut reader = BufReader::new(&mut tls);
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line) {
                        Ok(0) | Err(_) => return,
                        Ok(_) if line == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                drop(reader);
                let who = if tls.conn.peer_certificates().is_some() {
                    "secure+client"
                } else {
                    "secure"
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{who}",
                    who.len()
                );
                let _ = tls.write_all(resp.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    addr
}
