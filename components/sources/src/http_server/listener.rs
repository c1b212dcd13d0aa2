//! The `http_server` source's TLS listener for axum: it accepts TCP connections, runs each
//! handshake in a task of its own with a deadline, and hands axum only finished TLS streams. A
//! failed or timed-out handshake is counted and logged at a bounded rate, and the listener goes
//! on; a client that connects and says nothing holds a task for at most the handshake timeout
//! and holds up no one else.
//!
//! The listener owns its socket and its handshakes, so when axum drops it (at shutdown) the port
//! is closed at once and every unfinished handshake is aborted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use strata_core::{ComponentMetrics, RateLimitedLog};
use strata_tls::tokio_rustls::server::TlsStream;
use strata_tls::{HANDSHAKE_TIMEOUT, TlsAcceptor};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// How long the listener rests after an accept error (such as running out of file descriptors),
/// so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

type Ready = (TlsStream<TcpStream>, SocketAddr);

pub(super) struct TlsListener {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    /// Handshakes under way; each yields its stream, or `None` when it failed (already counted).
    handshakes: JoinSet<Option<Ready>>,
    metrics: ComponentMetrics,
    limiter: Arc<RateLimitedLog>,
}

impl TlsListener {
    pub(super) fn new(listener: TcpListener, acceptor: TlsAcceptor, metrics: ComponentMetrics) -> Self {
        Self { listener, acceptor, handshakes: JoinSet::new(), metrics, limiter: Arc::default() }
    }

    fn start_handshake(&mut self, stream: TcpStream, peer: SocketAddr) {
        let (acceptor, metrics, limiter) =
            (self.acceptor.clone(), self.metrics.clone(), self.limiter.clone());
        self.handshakes.spawn(async move {
            match acceptor.accept(stream, HANDSHAKE_TIMEOUT).await {
                Ok(stream) => Some((stream, peer)),
                Err(error) => {
                    metrics.error(error.error_type(), "receiving");
                    if let Some(suppressed) = limiter.check() {
                        tracing::warn!(suppressed, %peer, "refused a connection: {error}");
                    }
                    None
                }
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    /// Cancel-safe: both branches are, and handshakes go on in their tasks meanwhile.
    async fn accept(&mut self) -> Ready {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => self.start_handshake(stream, peer),
                    Err(error) => {
                        self.metrics.error("accept_failed", "receiving");
                        if let Some(suppressed) = self.limiter.check() {
                            tracing::warn!(suppressed, "accepting a connection failed: {error}");
                        }
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    }
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(ready)) = done {
                        return ready;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}
