//! From options to rustls configs: every file is read and checked here, at build time, so a bad
//! file fails the component's build instead of its first connection.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::config::{ClientTlsConfig, ServerTlsConfig};
use crate::load::{TlsError, authorities, certificates, identity_error, private_key};
use crate::verify::{AnyServerCertificate, AnyServerName};
use crate::{TlsAcceptor, TlsConnector};

/// The crypto provider of every config: aws-lc-rs, with rustls's defaults. Those prefer the hybrid
/// post-quantum key exchange X25519MLKEM768 and fall back to X25519 and the NIST curves. Named
/// explicitly rather than taken from the process default, so that another provider linked in by
/// some other crate can never make a builder panic or change what is offered.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn alpn(protocols: &[String]) -> Vec<Vec<u8>> {
    protocols.iter().map(|protocol| protocol.as_bytes().to_vec()).collect()
}

impl ServerTlsConfig {
    /// The listener's acceptor; `None` when TLS is off. Reads and checks every file.
    pub fn acceptor(&self) -> Result<Option<TlsAcceptor>, TlsError> {
        if !self.is_enabled() {
            return Ok(None);
        }
        Ok(Some(TlsAcceptor::new(Arc::new(self.server_config()?))))
    }

    /// The rustls config behind [`acceptor`](Self::acceptor), whether or not `enabled` is set.
    pub fn server_config(&self) -> Result<ServerConfig, TlsError> {
        let crt_file = self.crt_file.as_deref().ok_or(TlsError::Missing { option: "crt_file" })?;
        let key_file = self.key_file.as_deref().ok_or(TlsError::Missing { option: "key_file" })?;
        let chain = certificates("crt_file", crt_file)?;
        let key = private_key(key_file)?;
        let provider = provider();
        let builder =
            ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
        let builder = if self.verify_certificate {
            let ca_file = self.ca_file.as_deref().ok_or(TlsError::Missing { option: "ca_file" })?;
            let roots = Arc::new(authorities(ca_file)?);
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots, provider).build().map_err(|error| {
                    TlsError::BadAuthority { path: ca_file.to_owned(), reason: error.to_string() }
                })?;
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|error| identity_error(error, crt_file, key_file))?;
        config.alpn_protocols = alpn(&self.alpn_protocols);
        Ok(config)
    }
}

impl ClientTlsConfig {
    /// A rustls client config: the authorities to trust, the checks to make, the client
    /// certificate if any. Reads and checks every file.
    ///
    /// Without `ca_file` the server must chain to the Mozilla roots compiled in from
    /// `webpki-roots`: the same on every machine, and nothing to install in a minimal container.
    /// Servers with a private authority need `ca_file`.
    pub fn client_config(&self) -> Result<ClientConfig, TlsError> {
        let provider = provider();
        let roots = match &self.ca_file {
            Some(ca_file) => authorities(ca_file)?,
            None => RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() },
        };
        let builder =
            ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
        let builder = if !self.verify_certificate {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCertificate::new(provider)))
        } else if !self.verify_hostname {
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| TlsError::Rustls(rustls::Error::General(error.to_string())))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(AnyServerName { inner }))
        } else {
            builder.with_root_certificates(roots)
        };
        let mut config = match (&self.crt_file, &self.key_file) {
            (Some(crt_file), Some(key_file)) => {
                let chain = certificates("crt_file", crt_file)?;
                let key = private_key(key_file)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|error| identity_error(error, crt_file, key_file))?
            }
            (Some(_), None) => return Err(TlsError::Missing { option: "key_file" }),
            (None, Some(_)) => return Err(TlsError::Missing { option: "crt_file" }),
            (None, None) => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn(&self.alpn_protocols);
        Ok(config)
    }

    /// The name to send as SNI and to check the certificate against: `server_name`, else `host`
    /// (a DNS name or an IP address, without port or brackets).
    pub fn server_name(&self, host: &str) -> Result<ServerName<'static>, TlsError> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_owned())
            .map_err(|_| TlsError::InvalidServerName { name: name.to_owned() })
    }

    /// A connector for connections to `host` (see [`server_name`](Self::server_name)).
    pub fn connector(&self, host: &str) -> Result<TlsConnector, TlsError> {
        let server_name = self.server_name(host)?;
        Ok(TlsConnector::new(Arc::new(self.client_config()?), server_name))
    }
}
