//! Handshakes with a deadline, for listeners and connectors: a peer that connects and says nothing
//! cannot hold a connection (or a task) for longer than the timeout.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a handshake may take by default; a listener with a shorter idle timeout uses that.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a handshake did not complete.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake did not complete within {0:?}")]
    TimedOut(Duration),
    #[error("TLS handshake failed: {0}")]
    Failed(#[source] std::io::Error),
}

impl HandshakeError {
    /// The `error_type` label of `component_errors_total`.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandshakeError::TimedOut(_) => "tls_handshake_timed_out",
            HandshakeError::Failed(_) => "tls_handshake_failed",
        }
    }
}

/// The server side of TLS for one listener.
#[derive(Clone)]
pub struct TlsAcceptor {
    inner: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsAcceptor").finish_non_exhaustive()
    }
}

impl TlsAcceptor {
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self { inner: tokio_rustls::TlsAcceptor::from(config) }
    }

    /// Runs the server handshake on an accepted stream, for at most `timeout`.
    pub async fn accept<IO>(
        &self,
        stream: IO,
        timeout: Duration,
    ) -> Result<tokio_rustls::server::TlsStream<IO>, HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        match tokio::time::timeout(timeout, self.inner.accept(stream)).await {
            Ok(result) => result.map_err(HandshakeError::Failed),
            Err(_) => Err(HandshakeError::TimedOut(timeout)),
        }
    }
}

/// The client side of TLS for one destination: the config and the name to ask for.
#[derive(Clone)]
pub struct TlsConnector {
    inner: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector").field("server_name", &self.server_name).finish_non_exhaustive()
    }
}

impl TlsConnector {
    pub fn new(config: Arc<ClientConfig>, server_name: ServerName<'static>) -> Self {
        Self { inner: tokio_rustls::TlsConnector::from(config), server_name }
    }

    /// Runs the client handshake on a connected stream, for at most `timeout`.
    pub async fn connect<IO>(
        &self,
        stream: IO,
        timeout: Duration,
    ) -> Result<tokio_rustls::client::TlsStream<IO>, HandshakeError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let handshake = self.inner.connect(self.server_name.clone(), stream);
        match tokio::time::timeout(timeout, handshake).await {
            Ok(result) => result.map_err(HandshakeError::Failed),
            Err(_) => Err(HandshakeError::TimedOut(timeout)),
        }
    }
}
