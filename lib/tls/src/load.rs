//! Reading certificates, keys and authorities from PEM files, with errors that name the option
//! and the file and never quote a key.

use std::path::{Path, PathBuf};

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why TLS could not be set up. Every message names the option and the file; none holds key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("option `tls.{option}`: cannot read {}: {source}", path.display())]
    Read {
        option: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("option `tls.{option}`: {} holds no PEM certificate", path.display())]
    NoCertificate { option: &'static str, path: PathBuf },
    #[error("option `tls.{option}`: {} is not valid PEM: {reason}", path.display())]
    BadCertificatePem { option: &'static str, path: PathBuf, reason: String },
    /// The reason is left out on purpose: a PEM parser's message can quote a line of the key.
    #[error("option `tls.key_file`: {} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoPrivateKey { path: PathBuf },
    #[error("option `tls.key_file`: the key in {} cannot be used: {reason}", path.display())]
    UnusableKey { path: PathBuf, reason: String },
    #[error(
        "options `tls.crt_file` and `tls.key_file`: the key in {} does not match the certificate in {}",
        key_file.display(),
        crt_file.display()
    )]
    KeyMismatch { crt_file: PathBuf, key_file: PathBuf },
    #[error("option `tls.ca_file`: {} holds no usable authority: {reason}", path.display())]
    BadAuthority { path: PathBuf, reason: String },
    #[error("option `tls.{option}` is required")]
    Missing { option: &'static str },
    #[error("`{name}` is not a valid TLS server name (a DNS name or an IP address)")]
    InvalidServerName { name: String },
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

fn read(option: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    // Read once at build time, a few kilobytes: not worth a blocking-pool hop.
    std::fs::read(path).map_err(|source| TlsError::Read { option, path: path.to_owned(), source })
}

/// Every certificate in a PEM file, in order; at least one.
pub(crate) fn certificates(
    option: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(option, path)?;
    let certificates =
        CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|error| {
            TlsError::BadCertificatePem { option, path: path.to_owned(), reason: error.to_string() }
        })?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate { option, path: path.to_owned() });
    }
    Ok(certificates)
}

/// The first private key in a PEM file.
pub(crate) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read("key_file", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| TlsError::NoPrivateKey { path: path.to_owned() })
}

/// A root store holding every authority in `path`.
pub(crate) fn authorities(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in certificates("ca_file", path)? {
        roots
            .add(certificate)
            .map_err(|error| TlsError::BadAuthority { path: path.to_owned(), reason: error.to_string() })?;
    }
    Ok(roots)
}

/// Names the files when rustls refuses a certificate and key pair.
pub(crate) fn identity_error(error: rustls::Error, crt_file: &Path, key_file: &Path) -> TlsError {
    match error {
        rustls::Error::InconsistentKeys(_) => {
            TlsError::KeyMismatch { crt_file: crt_file.to_owned(), key_file: key_file.to_owned() }
        }
        other => TlsError::UnusableKey { path: key_file.to_owned(), reason: other.to_string() },
    }
}
