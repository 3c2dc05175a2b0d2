//! TLS for the client: rustls (ring provider) over any runtime's stream, via
//! futures-rustls. Verification is on by default against the webpki roots; aiohttp's
//! `ssl=False` turns it off, a custom CA adds a root, a client certificate is presented
//! when the server asks, and a SHA-256 fingerprint pins the server's certificate
//! (aiohttp's `Fingerprint`: the pin replaces chain verification, as there).

use std::io;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::connection::BoxStream;
use super::error::{ClientError, ConnectorKind};
use crate::rt::Stream;

/// TLS settings of a session.
#[derive(Debug, Default)]
pub struct TlsOptions {
    /// Skip certificate verification (aiohttp's `ssl=False`). Dangerous outside tests.
    pub insecure: bool,
    /// Extra trusted roots (DER), added to the webpki roots.
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Trust only `extra_roots`, not the webpki roots.
    pub only_extra_roots: bool,
    /// Client certificate chain and key (mutual TLS).
    pub client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// SHA-256 of the server's leaf certificate (DER): accept exactly that certificate.
    pub fingerprint: Option<[u8; 32]>,
}

impl Clone for TlsOptions {
    fn clone(&self) -> Self {
        Self {
            insecure: self.insecure,
            extra_roots: self.extra_roots.clone(),
            only_extra_roots: self.only_extra_roots,
            client_cert: self
                .client_cert
                .as_ref()
                .map(|(chain, key)| (chain.clone(), key.clone_key())),
            fingerprint: self.fingerprint,
        }
    }
}

impl TlsOptions {
    /// Builds the rustls configuration (ALPN `http/1.1`).
    pub(crate) fn build(&self) -> Result<Arc<rustls::ClientConfig>, ClientError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Request(format!("TLS: {e}")))?;
        let builder = if self.insecure || self.fingerprint.is_some() {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(provider, self.fingerprint)))
        } else {
            let mut roots = RootCertStore::empty();
            if !self.only_extra_roots {
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            for cert in &self.extra_roots {
                roots
                    .add(cert.clone())
                    .map_err(|e| ClientError::Request(format!("TLS: bad CA certificate: {e}")))?;
            }
            builder.with_root_certificates(roots)
        };
        let mut config = match &self.client_cert {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| ClientError::Request(format!("TLS: client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Runs the TLS handshake for `host` over `tcp`.
pub(crate) async fn handshake<S: Stream>(
    config: &Arc<rustls::ClientConfig>,
    host: &str,
    tcp: S,
    host_port: &str,
) -> Result<BoxStream, ClientError> {
    let tls_err = |source: io::Error| ClientError::Connector {
        kind: ConnectorKind::Tls,
        host: host_port.to_owned(),
        source,
    };
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| tls_err(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
    let connector = futures_rustls::TlsConnector::from(config.clone());
    let stream = connector.connect(name, tcp).await.map_err(|e| {
        if e.kind() == io::ErrorKind::ConnectionReset {
            ClientError::connect(host_port, e)
        } else {
            tls_err(e)
        }
    })?;
    Ok(Box::new(stream))
}

/// SHA-256 of `data`, through the ring provider rustls already carries.
pub(crate) fn sha256(data: &[u8]) -> Option<[u8; 32]> {
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256.tls13()?;
    suite
        .common
        .hash_provider
        .hash(data)
        .as_ref()
        .try_into()
        .ok()
}

/// The verifier for `ssl=False` (accepts any certificate) and for a pinned fingerprint
/// (accepts only that one). Handshake signatures are still checked, so the session keys
/// belong to whoever holds the certificate's key.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>, Option<[u8; 32]>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(pin) = &self.1 {
            if sha256(end_entity.as_ref()).as_ref() != Some(pin) {
                return Err(rustls::Error::General(
                    "server certificate does not match the pinned fingerprint".into(),
                ));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
