//! TLS client settings for `rediss://` sources, following redis-cli's flags: `--cacert`,
//! `--cert` and `--key` for a client certificate, `--sni`, and `--insecure`.
//!
//! rustls with the ring provider. Without a CA file the system trust store is used, as
//! redis-cli does through OpenSSL's default paths.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::error::Error;

/// How to set up TLS for a source that asks for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM file of CA certificates to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain, for servers with `tls-auth-clients yes`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub key_file: Option<PathBuf>,
    /// The server name to send and verify, when it differs from the host connected to.
    pub sni: Option<String>,
    /// Accept any server certificate. Encrypts, but no longer knows who it talks to: an
    /// explicit choice for test setups, never a default.
    pub insecure: bool,
}

impl TlsOptions {
    /// A rustls client configuration for these options; read once, shared by every
    /// connection of a session.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::TlsConfig(e.to_string()))?;
        let builder = if self.insecure {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        let config = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
                .map_err(|e| Error::TlsConfig(format!("client certificate {}: {e}", cert.display())))?,
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(Error::TlsConfig(
                    "a client certificate needs both a certificate file and a key file".into(),
                ))
            }
        };
        Ok(Arc::new(config))
    }

    /// The name to verify the server's certificate against.
    pub fn server_name(&self, host: Option<&str>) -> Result<ServerName<'static>, Error> {
        let name = self
            .sni
            .as_deref()
            .or(host)
            .ok_or_else(|| Error::TlsConfig("TLS over a unix socket needs a server name (SNI) to verify".into()))?;
        ServerName::try_from(name.to_string()).map_err(|e| Error::TlsConfig(format!("server name {name:?}: {e}")))
    }

    fn roots(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        match &self.ca_file {
            Some(path) => {
                for cert in read_certs(path)? {
                    roots
                        .add(cert)
                        .map_err(|e| Error::TlsConfig(format!("CA certificate in {}: {e}", path.display())))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(Error::TlsConfig(
                        "no CA file given and no system CA certificates found; give a CA file".into(),
                    ));
                }
            }
        }
        Ok(roots)
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bad = |e: rustls_pki_types::pem::Error| Error::TlsConfig(format!("certificates in {}: {e}", path.display()));
    let certs = CertificateDer::pem_file_iter(path).map_err(bad)?.collect::<Result<Vec<_>, _>>().map_err(bad)?;
    if certs.is_empty() {
        return Err(Error::TlsConfig(format!("no PEM certificate in {}", path.display())));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| Error::TlsConfig(format!("private key in {}: {e}", path.display())))
}

/// The verifier behind `insecure`: any certificate is accepted, but handshake signatures are
/// still checked, so the connection is at least consistent with the certificate shown.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
