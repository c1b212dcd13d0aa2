//! TLS for the network components: the `tls` options (Vector's names), rustls server and client
//! configs built from PEM files, and handshakes with a deadline.
//!
//! rustls 0.23 with the aws-lc-rs provider ([`provider`]), which offers the hybrid post-quantum
//! key exchange X25519MLKEM768 first. Listeners use [`ServerTlsConfig::acceptor`]; connectors use
//! [`ClientTlsConfig::connector`] (raw streams) or [`ClientTlsConfig::client_config`] (for an HTTP
//! client). Every file is read and checked when the component is built, and every error names
//! the option and the file; no error or log holds key material.
//!
//! Invariant: no components, no metrics, no logging; callers count and log handshake failures
//! with [`HandshakeError::error_type`].

mod build;
mod config;
mod handshake;
mod load;
mod verify;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;

pub use build::provider;
pub use config::{ClientTlsConfig, ServerTlsConfig};
pub use handshake::{HANDSHAKE_TIMEOUT, HandshakeError, TlsAcceptor, TlsConnector};
pub use load::TlsError;
pub use {rustls, tokio_rustls};

#[cfg(test)]
mod tests;
