//! TLS against a local rustls server (std threads) with rcgen certificates, on every
//! runtime: verification on by default, custom CA, `ssl(false)`, client certificates.

mod client_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sansweb::client::{ClientError, ConnectorKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

struct Certs {
    server_cert: Vec<u8>,
    server_key: Vec<u8>,
    client_cert: Vec<u8>,
    client_key: Vec<u8>,
}

fn certs() -> Certs {
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
fn tls_server(certs: &Certs, require_client: bool) -> SocketAddr {
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

async fn verification_and_custom_ca<R: Runtime>(rt: R) {
    let certs = certs();
    let addr = tls_server(&certs, false);
    let url = format!("https://localhost:{}/", addr.port());

    // Default: verified against the webpki roots, which do not know this certificate.
    let s = ClientSession::with_runtime(rt.clone());
    let err = s.get(&url).send().await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Connector {
                kind: ConnectorKind::Tls,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.may_have_reached_server());

    // Custom CA: trusted.
    let s = ClientSession::builder_with_runtime(rt.clone())
        .add_root_certificate(certs.server_cert.clone())
        .build()
        .unwrap();
    let mut r = s.get(&url).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "secure");

    // ssl=False: no verification at all.
    let s = ClientSession::builder_with_runtime(rt)
        .ssl(false)
        .build()
        .unwrap();
    let mut r = s.get(&url).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "secure");
}

async fn client_certificate<R: Runtime>(rt: R) {
    let certs = certs();
    let addr = tls_server(&certs, true);
    let url = format!("https://localhost:{}/", addr.port());
    let s = ClientSession::builder_with_runtime(rt.clone())
        .add_root_certificate(certs.server_cert.clone())
        .client_certificate(vec![certs.client_cert.clone()], certs.client_key.clone())
        .build()
        .unwrap();
    let mut r = s.get(&url).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "secure+client");

    // Without one the server refuses (during the handshake, or right after it in TLS
    // 1.3, where the refusal arrives as an alert on the first read).
    let s = ClientSession::builder_with_runtime(rt)
        .add_root_certificate(certs.server_cert.clone())
        .build()
        .unwrap();
    let result = match s.get(&url).send().await {
        Ok(mut r) => r.text().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(result.is_err(), "server demanded a client certificate");
}

on_every_runtime!(verification_and_custom_ca, client_certificate);
