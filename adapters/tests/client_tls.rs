//! TLS against a local rustls server (std threads) with rcgen certificates, on every
//! runtime: verification on by default, custom CA, `ssl(false)`, client certificates.

mod client_support;

use client_support::tls::{certs, tls_server};
use sansweb::client::{ClientError, ConnectorKind};
use sansweb::rt::Runtime;
use sansweb::ClientSession;

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

async fn fingerprint_pinning<R: Runtime>(rt: R) {
    let certs = certs();
    let addr = tls_server(&certs, false);
    let url = format!("https://localhost:{}/", addr.port());
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256
        .tls13()
        .unwrap();
    let digest = suite.common.hash_provider.hash(&certs.server_cert);
    let pin: [u8; 32] = digest.as_ref().try_into().unwrap();
    let s = ClientSession::builder_with_runtime(rt.clone())
        .ssl_fingerprint(pin)
        .build()
        .unwrap();
    let mut r = s.get(&url).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "secure");
    let mut wrong = pin;
    wrong[0] ^= 1;
    let s = ClientSession::builder_with_runtime(rt)
        .ssl_fingerprint(wrong)
        .build()
        .unwrap();
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
}

on_every_runtime!(
    verification_and_custom_ca,
    client_certificate,
    fingerprint_pinning
);
