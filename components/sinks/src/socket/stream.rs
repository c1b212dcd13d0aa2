//! The running stream modes (`tcp`, `unix` stream): one connection, opened lazily, written in
//! coalesced chunks, and reopened with backoff after a failure.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use async_trait::async_trait;
use socket2::{SockRef, TcpKeepalive};
use strata_codecs::Encoder;
use strata_core::{ComponentError, ComponentMetrics, Healthcheck, RateLimitedLog, Sink, SinkInput};
use strata_event::{BatchStatus, EventBatch};
use strata_tls::tokio_rustls::client::TlsStream;
use strata_tls::{HANDSHAKE_TIMEOUT, TlsConnector};
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::coalesce::{WRITE_SIZE, encode_ready};
use crate::driver::retry::RetryPolicy;

/// The first reconnect backoff; it doubles with every failure up to [`MAX_BACKOFF`].
const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The backoff before retry `retry` (from 0): the driver's policy, with at least half of each
/// ceiling waited so that many sinks do not reconnect in step and none reconnects at once.
pub(super) fn backoff(retry: u32) -> Duration {
    RetryPolicy::reconnect(INITIAL_BACKOFF, MAX_BACKOFF, 0.5).backoff(u64::from(retry))
}

/// Where a stream sink connects.
#[derive(Debug, Clone)]
pub(crate) enum StreamTarget {
    /// `keepalive`: `None` for off, `Some(None)` for on with the system's idle time. `tls`: the
    /// handshake to run on every new connection.
    Tcp {
        address: String,
        keepalive: Option<Option<Duration>>,
        tls: Option<TlsConnector>,
    },
    Unix {
        path: PathBuf,
    },
}

impl std::fmt::Display for StreamTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamTarget::Tcp { address, tls: None, .. } => write!(f, "tcp://{address}"),
            StreamTarget::Tcp { address, tls: Some(_), .. } => write!(f, "tls://{address}"),
            StreamTarget::Unix { path } => write!(f, "unix://{}", path.display()),
        }
    }
}

impl StreamTarget {
    async fn connect(&self, send_buffer_bytes: Option<usize>) -> io::Result<Connection> {
        match self {
            StreamTarget::Tcp { address, keepalive, tls } => {
                let stream = TcpStream::connect(address.as_str()).await?;
                let socket = SockRef::from(&stream);
                if let Some(bytes) = send_buffer_bytes {
                    socket.set_send_buffer_size(bytes)?;
                }
                if let Some(time) = keepalive {
                    let mut options = TcpKeepalive::new();
                    if let Some(time) = time {
                        options = options.with_time(*time);
                    }
                    socket.set_tcp_keepalive(&options)?;
                }
                match tls {
                    None => Ok(Connection::Tcp(stream)),
                    Some(tls) => {
                        let stream =
                            tls.connect(stream, HANDSHAKE_TIMEOUT).await.map_err(io::Error::other)?;
                        Ok(Connection::Tls(Box::new(stream)))
                    }
                }
            }
            StreamTarget::Unix { path } => {
                let stream = UnixStream::connect(path).await?;
                if let Some(bytes) = send_buffer_bytes {
                    SockRef::from(&stream).set_send_buffer_size(bytes)?;
                }
                Ok(Connection::Unix(stream))
            }
        }
    }

    /// Opens a connection and closes it again.
    pub(crate) fn healthcheck(self, send_buffer_bytes: Option<usize>) -> Healthcheck {
        Box::pin(async move {
            match self.connect(send_buffer_bytes).await {
                Ok(connection) => {
                    connection.close().await;
                    Ok(())
                }
                Err(error) => Err(format!("connecting to {self} failed: {error}")),
            }
        })
    }
}

/// An open connection.
enum Connection {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Unix(UnixStream),
}

impl Connection {
    /// True when the peer has closed its end (or the connection failed). A write into a
    /// half-closed TCP connection succeeds locally and is then lost, so this is checked first.
    /// Whatever the peer sent us is read and ignored.
    fn peer_closed(&mut self) -> bool {
        let mut scratch = [0; 1024];
        // Bounded, so that a peer that keeps talking cannot keep the sink here.
        for _ in 0..64 {
            let read = match self {
                Connection::Tcp(stream) => stream.try_read(&mut scratch),
                // TLS records (such as TLS 1.3 session tickets) must go through rustls, not be
                // read off the socket: one poll with a waker that does nothing.
                Connection::Tls(stream) => try_read_tls(stream, &mut scratch),
                Connection::Unix(stream) => stream.try_read(&mut scratch),
            };
            match read {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return false,
                Err(_) => return true,
            }
        }
        false
    }

    async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Connection::Tcp(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
            Connection::Tls(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
            Connection::Unix(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
        }
    }

    /// Shuts the write side down (after TLS's `close_notify`); errors are moot at this point.
    async fn close(self) {
        let _ = match self {
            Connection::Tcp(mut stream) => stream.shutdown().await,
            Connection::Tls(mut stream) => stream.shutdown().await,
            Connection::Unix(mut stream) => stream.shutdown().await,
        };
    }
}

/// `try_read` for a TLS stream: what rustls makes of the bytes waiting on the socket, without
/// waiting for more. `WouldBlock` when nothing is there.
fn try_read_tls(stream: &mut TlsStream<TcpStream>, scratch: &mut [u8]) -> io::Result<usize> {
    let mut buffer = ReadBuf::new(scratch);
    let mut context = Context::from_waker(Waker::noop());
    match Pin::new(stream).poll_read(&mut context, &mut buffer) {
        Poll::Ready(Ok(())) => Ok(buffer.filled().len()),
        Poll::Ready(Err(error)) => Err(error),
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

pub(crate) struct StreamSink {
    target: StreamTarget,
    send_buffer_bytes: Option<usize>,
    encoder: Encoder,
    metrics: ComponentMetrics,
    log: RateLimitedLog,
}

impl StreamSink {
    pub(crate) fn new(
        target: StreamTarget,
        send_buffer_bytes: Option<usize>,
        encoder: Encoder,
        metrics: ComponentMetrics,
    ) -> Self {
        Self { target, send_buffer_bytes, encoder, metrics, log: RateLimitedLog::default() }
    }

    /// Writes `bytes` on `connection`, (re)connecting and retrying with backoff until it works.
    async fn write_until_done(&self, connection: &mut Option<Connection>, bytes: &[u8]) {
        let mut retry = 0;
        loop {
            if connection.as_mut().is_some_and(Connection::peer_closed) {
                tracing::debug!(target = %self.target, "peer closed the connection; reconnecting");
                *connection = None;
            }
            let result = match connection {
                Some(open) => open.write(bytes).await.map_err(|error| ("write_failed", error)),
                None => match self.target.connect(self.send_buffer_bytes).await {
                    Ok(open) => {
                        tracing::debug!(target = %self.target, "connected");
                        connection.insert(open).write(bytes).await.map_err(|error| ("write_failed", error))
                    }
                    Err(error) => Err(("connect_failed", error)),
                },
            };
            let Err((error_type, error)) = result else { return };
            *connection = None;
            self.metrics.error(error_type, "sending");
            let wait = backoff(retry);
            if let Some(suppressed) = self.log.check() {
                tracing::warn!(target = %self.target, %error, error_type, retry = retry + 1, ?wait, suppressed, "socket write failed; reconnecting");
            }
            retry = retry.saturating_add(1);
            tokio::time::sleep(wait).await;
        }
    }
}

#[async_trait]
impl Sink for StreamSink {
    async fn run(self: Box<Self>, mut input: SinkInput) -> Result<(), ComponentError> {
        let mut connection = None;
        let mut out = Vec::with_capacity(WRITE_SIZE);
        let mut pending: Vec<EventBatch> = Vec::new();
        while let Some(first) = input.recv().await {
            let events = encode_ready(first, &mut input, &self.encoder, &mut out, &mut pending);
            // The input is not read while this waits: backpressure while reconnecting.
            self.write_until_done(&mut connection, &out).await;
            self.metrics.sent(events, out.len());
            for batch in pending.drain(..) {
                batch.finalize(BatchStatus::Delivered);
            }
            out.clear();
        }
        if let Some(connection) = connection {
            connection.close().await;
        }
        Ok(())
    }
}
