//! Stream sockets (TCP, Unix stream): the accept loop and one task per connection.
//!
//! Connections hand their events to the source task over a bounded channel, one batch per read.
//! While the source task waits on the pipeline the channel fills, each connection waits to hand
//! over its batch and does not read, and the kernel's buffers make the senders wait in turn.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use metrics::Gauge;
use strata_core::{ComponentError, ShutdownSignal, SourceContext};
use strata_event::{Event, EventBatch};
use strata_tls::{HANDSHAKE_TIMEOUT, HandshakeError, TlsAcceptor};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::decode::{Peer, Receiver};
use super::listener::SocketFile;

/// How much one read asks for. The buffer holds at most one read plus an incomplete frame, and
/// the framers drop an oversized frame as it arrives, so it stays near `max_length + READ_SIZE`.
const READ_SIZE: usize = 64 * 1024;

/// Batches waiting for the source task, across all connections. Small, so that a full pipeline
/// stops the connections after little more than a read each.
const CHANNEL_CAPACITY: usize = 4;

/// How long the accept loop rests after an accept error (such as running out of file
/// descriptors), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A TCP listener (with TLS when it has an acceptor) or a Unix stream listener.
#[derive(Debug)]
pub(crate) enum StreamListener {
    Tcp(TcpListener, Option<TlsAcceptor>),
    Unix(UnixListener, SocketFile),
}

type Stream = Box<dyn AsyncRead + Send + Unpin>;

/// An accepted connection's stream, ready to read once this resolves: at once for a plain
/// socket, after the handshake for TLS. The handshake runs in the connection's own task, so a
/// slow or silent client never holds up the accept loop.
type Opening = Pin<Box<dyn Future<Output = Result<Stream, HandshakeError>> + Send>>;

impl StreamListener {
    async fn accept(&self, handshake_timeout: Duration) -> std::io::Result<(Opening, Peer)> {
        match self {
            StreamListener::Tcp(listener, tls) => {
                let (stream, address) = listener.accept().await?;
                let opening: Opening = match tls.clone() {
                    None => Box::pin(std::future::ready(Ok(Box::new(stream) as Stream))),
                    Some(acceptor) => Box::pin(async move {
                        Ok(Box::new(acceptor.accept(stream, handshake_timeout).await?) as Stream)
                    }),
                };
                Ok((opening, Peer::ip(address)))
            }
            StreamListener::Unix(listener, file) => {
                let (stream, _) = listener.accept().await?;
                Ok((Box::pin(std::future::ready(Ok(Box::new(stream) as Stream))), Peer::path(file.path())))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub max_connections: Option<u32>,
    pub connection_timeout: Option<Duration>,
}

pub(super) async fn run(
    listener: StreamListener,
    receiver: Arc<Receiver>,
    limits: Limits,
    mut cx: SourceContext,
) -> Result<(), ComponentError> {
    let (tx, mut rx) = mpsc::channel::<Vec<Event>>(CHANNEL_CAPACITY);
    let acceptor = tokio::spawn(accept_loop(listener, receiver, limits, tx, cx.shutdown.clone()));
    loop {
        let events = tokio::select! {
            biased;
            _ = cx.shutdown.recv() => break,
            events = rx.recv() => events,
        };
        // `None`: the accept loop and every connection are gone.
        let Some(events) = events else { break };
        let sent = tokio::select! {
            biased;
            _ = cx.shutdown.recv() => break,
            sent = cx.out.send_batch(EventBatch::new(events)) => sent,
        };
        if sent.is_err() {
            break;
        }
    }
    // Aborting the accept loop drops its listener and its connections: nothing more is accepted
    // or read, and the peers see their connections close.
    acceptor.abort();
    let _ = acceptor.await;
    Ok(())
}

async fn accept_loop(
    listener: StreamListener,
    receiver: Arc<Receiver>,
    limits: Limits,
    tx: mpsc::Sender<Vec<Event>>,
    shutdown: ShutdownSignal,
) {
    let permits = limits.max_connections.map(|n| Arc::new(Semaphore::new(n as usize)));
    let refused = receiver.metrics.counter("connections_refused_total");
    let open = receiver.metrics.gauge("open_connections", &[]);
    // A handshake is bounded like a silent connection, and by the TLS default when that is longer.
    let handshake_timeout =
        limits.connection_timeout.map_or(HANDSHAKE_TIMEOUT, |idle| idle.min(HANDSHAKE_TIMEOUT));
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.recv() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept(handshake_timeout) => accepted,
        };
        let (opening, peer) = match accepted {
            Ok(connection) => connection,
            Err(error) => {
                receiver.metrics.error("accept_failed", "receiving");
                if let Some(suppressed) = receiver.limiter.check() {
                    tracing::warn!(suppressed, "accepting a connection failed: {error}");
                }
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let permit = match &permits {
            None => None,
            Some(permits) => match permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    // Dropping the stream closes it: the peer sees the refusal at once.
                    refused.increment(1);
                    receiver.metrics.error("connection_limit_reached", "receiving");
                    if let Some(suppressed) = receiver.limiter.check() {
                        tracing::warn!(suppressed, %peer, "refused a connection: `max_connections` reached");
                    }
                    continue;
                }
            },
        };
        open.increment(1.0);
        let task = Connection {
            peer,
            receiver: receiver.clone(),
            tx: tx.clone(),
            open: open.clone(),
            _permit: permit,
        };
        connections.spawn(task.run(opening, limits.connection_timeout, shutdown.clone()));
    }
    connections.shutdown().await;
}

/// One accepted connection; the permit is released when it ends.
struct Connection {
    peer: Peer,
    receiver: Arc<Receiver>,
    tx: mpsc::Sender<Vec<Event>>,
    /// The `open_connections` gauge, decremented when the connection ends however it ends.
    open: Gauge,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.open.decrement(1.0);
    }
}

impl Connection {
    async fn run(self, opening: Opening, timeout: Option<Duration>, shutdown: ShutdownSignal) {
        let opened = tokio::select! {
            biased;
            _ = shutdown.recv() => return,
            opened = opening => opened,
        };
        let mut stream = match opened {
            Ok(stream) => stream,
            Err(error) => {
                // A failed handshake ends this connection only; the listener goes on.
                self.receiver.metrics.error(error.error_type(), "receiving");
                if let Some(suppressed) = self.receiver.limiter.check() {
                    tracing::warn!(suppressed, peer = %self.peer, "refused a connection: {error}");
                }
                return;
            }
        };
        let mut decoder = self.receiver.decoder();
        let mut buffer = BytesMut::with_capacity(READ_SIZE);
        loop {
            buffer.reserve(READ_SIZE);
            let read = tokio::select! {
                biased;
                _ = shutdown.recv() => return,
                read = read_within(&mut stream, &mut buffer, timeout) => read,
            };
            let at_end = match read {
                Ok(Some(0)) => true,
                Ok(Some(bytes)) => {
                    self.receiver.metrics.received_bytes(bytes);
                    false
                }
                Ok(None) => {
                    tracing::debug!(peer = %self.peer, "closing a connection silent for `connection_timeout_secs`");
                    self.receiver.metrics.counter("connections_timed_out_total").increment(1);
                    return;
                }
                Err(error) => {
                    self.receiver.metrics.error("connection_failed", "receiving");
                    if let Some(suppressed) = self.receiver.limiter.check() {
                        tracing::warn!(suppressed, peer = %self.peer, "reading a connection failed: {error}");
                    }
                    return;
                }
            };
            let events = self.receiver.decode(&mut decoder, &mut buffer, at_end, &self.peer);
            if !events.is_empty() {
                self.receiver.metrics.received(events.len(), 0);
                let sent = tokio::select! {
                    biased;
                    _ = shutdown.recv() => return,
                    sent = self.tx.send(events) => sent,
                };
                if sent.is_err() {
                    return;
                }
            }
            if at_end {
                return;
            }
        }
    }
}

/// One read into `buffer`: `Ok(None)` when nothing arrived within `timeout`.
async fn read_within(
    stream: &mut (dyn AsyncRead + Send + Unpin),
    buffer: &mut BytesMut,
    timeout: Option<Duration>,
) -> std::io::Result<Option<usize>> {
    match timeout {
        Some(timeout) => match tokio::time::timeout(timeout, stream.read_buf(buffer)).await {
            Ok(read) => read.map(Some),
            Err(_) => Ok(None),
        },
        None => stream.read_buf(buffer).await.map(Some),
    }
}
