//! The running datagram modes (`udp`, `unix` datagram): one event per datagram.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use async_trait::async_trait;
use socket2::SockRef;
use strata_codecs::Encoder;
use strata_core::{
    ComponentError, ComponentMetrics, Healthcheck, RateLimitedLog, RejectedOutput, Rejection, Sink, SinkInput,
};
use strata_event::BatchStatus;
use tokio::net::{UdpSocket, UnixDatagram};

use super::stream::backoff;

/// The largest UDP payload over IPv4: 65535 minus the IP and UDP headers.
pub(crate) const MAX_UDP_DATAGRAM: usize = 65_507;

/// Where a datagram sink sends.
#[derive(Debug, Clone)]
pub(crate) enum DatagramTarget {
    Udp { address: String },
    Unix { path: PathBuf },
}

impl std::fmt::Display for DatagramTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatagramTarget::Udp { address } => write!(f, "udp://{address}"),
            DatagramTarget::Unix { path } => write!(f, "unix://{}", path.display()),
        }
    }
}

impl DatagramTarget {
    async fn resolve(address: &str) -> io::Result<SocketAddr> {
        tokio::net::lookup_host(address).await?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("`{address}` resolved to no address"))
        })
    }

    async fn open(&self, send_buffer_bytes: Option<usize>) -> io::Result<Socket> {
        let socket = match self {
            DatagramTarget::Udp { address } => {
                let peer = Self::resolve(address).await?;
                let local: SocketAddr = match peer {
                    SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                    SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
                };
                Socket::Udp(UdpSocket::bind(local).await?, peer)
            }
            DatagramTarget::Unix { path } => Socket::Unix(UnixDatagram::unbound()?, path.clone()),
        };
        if let Some(bytes) = send_buffer_bytes {
            match &socket {
                Socket::Udp(udp, _) => SockRef::from(udp).set_send_buffer_size(bytes)?,
                Socket::Unix(unix, _) => SockRef::from(unix).set_send_buffer_size(bytes)?,
            }
        }
        Ok(socket)
    }

    /// `udp`: the address resolves. `unix`: the socket file exists.
    pub(crate) fn healthcheck(self) -> Healthcheck {
        Box::pin(async move {
            let result = match &self {
                DatagramTarget::Udp { address } => Self::resolve(address).await.map(drop),
                DatagramTarget::Unix { path } => tokio::fs::metadata(path).await.map(drop),
            };
            result.map_err(|error| format!("checking {self} failed: {error}"))
        })
    }

    fn max_datagram(&self) -> Option<usize> {
        match self {
            DatagramTarget::Udp { .. } => Some(MAX_UDP_DATAGRAM),
            // The limit of a Unix datagram is the send buffer; the kernel says when it is passed.
            DatagramTarget::Unix { .. } => None,
        }
    }
}

/// An open socket and where its datagrams go.
enum Socket {
    Udp(UdpSocket, SocketAddr),
    Unix(UnixDatagram, PathBuf),
}

impl Socket {
    async fn send(&self, datagram: &[u8]) -> io::Result<()> {
        let sent = match self {
            Socket::Udp(socket, peer) => socket.send_to(datagram, peer).await?,
            Socket::Unix(socket, path) => socket.send_to(datagram, path).await?,
        };
        if sent == datagram.len() {
            Ok(())
        } else {
            Err(io::Error::other(format!("sent {sent} of {} bytes", datagram.len())))
        }
    }
}

/// What happened to one event.
enum Outcome {
    Sent(usize),
    /// Refused for good; the event goes to the `rejected` output.
    Rejected(Rejection),
    Failed,
}

pub(crate) struct DatagramSink {
    target: DatagramTarget,
    send_buffer_bytes: Option<usize>,
    encoder: Encoder,
    metrics: ComponentMetrics,
    log: RateLimitedLog,
    rejected: RejectedOutput,
}

impl DatagramSink {
    pub(crate) fn new(
        target: DatagramTarget,
        send_buffer_bytes: Option<usize>,
        encoder: Encoder,
        metrics: ComponentMetrics,
    ) -> Self {
        let rejected = RejectedOutput::unwired(metrics.clone());
        Self { target, send_buffer_bytes, encoder, metrics, log: RateLimitedLog::default(), rejected }
    }

    /// Sends events too large for a datagram to the sink's `rejected` output.
    pub(crate) fn with_rejected(mut self, rejected: RejectedOutput) -> Self {
        self.rejected = rejected;
        self
    }

    /// Opens the socket, retrying with backoff until it works (the input waits meanwhile).
    async fn open(&self) -> Socket {
        let mut retry = 0;
        loop {
            match self.target.open(self.send_buffer_bytes).await {
                Ok(socket) => return socket,
                Err(error) => {
                    self.metrics.error("socket_open_failed", "sending");
                    let wait = backoff(retry);
                    if let Some(suppressed) = self.log.check() {
                        tracing::warn!(target = %self.target, %error, ?wait, suppressed, "opening the socket failed; retrying");
                    }
                    retry = retry.saturating_add(1);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn send_one(&self, socket: &mut Option<Socket>, datagram: &[u8]) -> Outcome {
        if let Some(max) = self.target.max_datagram()
            && datagram.len() > max
        {
            self.metrics.error("datagram_too_large", "sending");
            let message = format!(
                "the encoded event of {} bytes is too large for one datagram to {} (at most {max})",
                datagram.len(),
                self.target
            );
            return Outcome::Rejected(Rejection::permanent("datagram_too_large", message));
        }
        let open = match socket {
            Some(open) => open,
            None => socket.insert(self.open().await),
        };
        match open.send(datagram).await {
            Ok(()) => Outcome::Sent(datagram.len()),
            Err(error) => {
                // A fresh socket next time, in case this one is broken.
                *socket = None;
                self.metrics.error("send_failed", "sending");
                if let Some(suppressed) = self.log.check() {
                    tracing::warn!(target = %self.target, %error, suppressed, "sending a datagram failed; event errored");
                }
                Outcome::Failed
            }
        }
    }
}

#[async_trait]
impl Sink for DatagramSink {
    async fn run(self: Box<Self>, mut input: SinkInput) -> Result<(), ComponentError> {
        let mut socket = None;
        let mut datagram = Vec::new();
        while let Some(batch) = input.recv().await {
            let (mut events, mut bytes) = (0, 0);
            for mut event in batch.into_events() {
                let finalizers = event.take_finalizers();
                datagram.clear();
                self.encoder.encode(&event, &mut datagram);
                let status = match self.send_one(&mut socket, &datagram).await {
                    Outcome::Sent(sent) => {
                        events += 1;
                        bytes += sent;
                        BatchStatus::Delivered
                    }
                    Outcome::Rejected(rejection) => {
                        // The event goes on with its own finalizers; the rejected output settles
                        // them, or its consumer does.
                        event.metadata_mut().add_finalizers(finalizers);
                        self.rejected.reject(vec![event], &rejection).await;
                        continue;
                    }
                    Outcome::Failed => BatchStatus::Errored,
                };
                finalizers.update_status(status);
            }
            self.metrics.sent(events, bytes);
        }
        Ok(())
    }
}
