//! Datagram sockets (UDP, Unix datagram): each datagram is framed and decoded on its own.
//!
//! One task receives, decodes and sends; while it waits on the pipeline it does not receive, and
//! datagrams queue in the kernel's receive buffer (`receive_buffer_bytes`) until it overflows and
//! the kernel drops them. Datagram senders cannot be slowed down.

use std::sync::Arc;

use bytes::BytesMut;
use strata_core::{ComponentError, SourceContext};
use strata_event::EventBatch;
use tokio::net::{UdpSocket, UnixDatagram};

use super::decode::{Peer, Receiver};
use super::listener::SocketFile;

/// The largest UDP payload fits in this; a longer `max_length` gets a longer buffer.
const MIN_RECEIVE_SIZE: usize = 65_536;

#[derive(Debug)]
pub(crate) enum DatagramSocket {
    Udp(UdpSocket),
    Unix(UnixDatagram, SocketFile),
}

impl DatagramSocket {
    async fn recv(&self, buffer: &mut [u8]) -> std::io::Result<(usize, Peer)> {
        match self {
            DatagramSocket::Udp(socket) => {
                let (size, address) = socket.recv_from(buffer).await?;
                Ok((size, Peer::ip(address)))
            }
            DatagramSocket::Unix(socket, file) => {
                let (size, _) = socket.recv_from(buffer).await?;
                Ok((size, Peer::path(file.path())))
            }
        }
    }
}

pub(super) async fn run(
    socket: DatagramSocket,
    receiver: Arc<Receiver>,
    mut cx: SourceContext,
) -> Result<(), ComponentError> {
    // One byte more than the longest frame, so that a datagram cut short by the buffer is over
    // the limit and reported instead of passed on truncated.
    let mut datagram = vec![0u8; (receiver.max_length() + 1).max(MIN_RECEIVE_SIZE)];
    let mut decoder = receiver.decoder();
    loop {
        let received = tokio::select! {
            biased;
            _ = cx.shutdown.recv() => return Ok(()),
            received = socket.recv(&mut datagram) => received,
        };
        let (size, peer) = match received {
            Ok(received) => received,
            Err(error) => {
                cx.metrics.error("receive_failed", "receiving");
                if let Some(suppressed) = receiver.limiter.check() {
                    tracing::warn!(suppressed, "receiving a datagram failed: {error}");
                }
                continue;
            }
        };
        let mut buffer = BytesMut::from(&datagram[..size]);
        let events = receiver.decode(&mut decoder, &mut buffer, true, &peer);
        cx.metrics.received(events.len(), size);
        if events.is_empty() {
            continue;
        }
        let sent = tokio::select! {
            biased;
            _ = cx.shutdown.recv() => return Ok(()),
            sent = cx.out.send_batch(EventBatch::new(events)) => sent,
        };
        if sent.is_err() {
            return Ok(());
        }
    }
}
