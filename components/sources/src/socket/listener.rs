//! The socket machinery shared by the `socket` and `syslog` sources: what to listen on, binding it
//! at build time (so a taken address fails the build), and serving it as a running source.

use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use strata_codecs::{DecodingConfig, FramingConfig};
use strata_core::{BuildError, ComponentError, Resource, SourceContext};
use strata_tls::ServerTlsConfig;
use tokio::net::{TcpListener, TcpSocket, UdpSocket, UnixDatagram, UnixListener};

use super::datagram::{self, DatagramSocket};
use super::decode::Receiver;
use super::stream::{self, Limits, StreamListener};

/// Where a source listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    Tcp { address: SocketAddr, receive_buffer_bytes: Option<usize> },
    Udp { address: SocketAddr, receive_buffer_bytes: Option<usize> },
    UnixStream { path: PathBuf, socket_file_mode: Option<u32> },
    UnixDatagram { path: PathBuf, socket_file_mode: Option<u32> },
}

impl Address {
    /// What the config validator must not let two components share.
    pub(crate) fn resource(&self) -> Resource {
        match self {
            Address::Tcp { address, .. } => Resource::Tcp(*address),
            Address::Udp { address, .. } => Resource::Udp(*address),
            Address::UnixStream { path, .. } | Address::UnixDatagram { path, .. } => {
                Resource::Path(path.clone())
            }
        }
    }
}

/// How a bound socket turns input into events.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The `source_type` field and the events' metadata.
    pub source_type: &'static str,
    pub framing: FramingConfig,
    pub decoding: DecodingConfig,
    /// The field for the peer's address (the socket path for Unix sockets). `None` uses
    /// `log_schema.host_key`; `""` leaves it out.
    pub host_key: Option<String>,
    /// The field for the peer's port (TCP and UDP only); `None` or `""` leaves it out.
    pub port_key: Option<String>,
    /// Syslog's fields: `host` from the message's `hostname`, the peer's address in `source_ip`.
    pub syslog_fields: bool,
    /// Stream sockets: connections beyond this many are closed at once. `None`: no limit.
    pub max_connections: Option<u32>,
    /// Stream sockets: a connection silent this long is closed. `None`: never.
    pub connection_timeout: Option<Duration>,
}

/// A socket bound by `build`, waiting to run.
#[derive(Debug)]
pub(crate) enum Bound {
    Stream(StreamListener),
    Datagram(DatagramSocket),
}

impl Bound {
    /// `tls` applies to TCP only; its files are read here, before the socket is bound.
    pub(crate) async fn bind(address: &Address, tls: Option<&ServerTlsConfig>) -> Result<Self, BuildError> {
        let acceptor = match tls {
            Some(tls) => tls.acceptor().map_err(|error| BuildError::new(error.to_string()))?,
            None => None,
        };
        let failed = |error: std::io::Error| {
            BuildError::new(format!("cannot listen on {}: {error}", address.resource()))
        };
        Ok(match address {
            Address::Tcp { address, receive_buffer_bytes } => Bound::Stream(StreamListener::Tcp(
                bind_tcp(*address, *receive_buffer_bytes).map_err(failed)?,
                acceptor,
            )),
            Address::Udp { address, receive_buffer_bytes } => Bound::Datagram(DatagramSocket::Udp(
                bind_udp(*address, *receive_buffer_bytes).map_err(failed)?,
            )),
            Address::UnixStream { path, socket_file_mode } => {
                remove_stale_socket(path).await.map_err(failed)?;
                let listener = UnixListener::bind(path).map_err(failed)?;
                let guard = SocketFile(path.clone());
                set_mode(path, *socket_file_mode).await.map_err(failed)?;
                Bound::Stream(StreamListener::Unix(listener, guard))
            }
            Address::UnixDatagram { path, socket_file_mode } => {
                remove_stale_socket(path).await.map_err(failed)?;
                let socket = UnixDatagram::bind(path).map_err(failed)?;
                let guard = SocketFile(path.clone());
                set_mode(path, *socket_file_mode).await.map_err(failed)?;
                Bound::Datagram(DatagramSocket::Unix(socket, guard))
            }
        })
    }

    /// The bound address of a TCP or UDP socket: tests listen on port 0 and ask.
    #[cfg(test)]
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Bound::Stream(StreamListener::Tcp(listener, _)) => listener.local_addr().ok(),
            Bound::Datagram(DatagramSocket::Udp(socket)) => socket.local_addr().ok(),
            _ => None,
        }
    }

    /// Runs until shutdown, or until nothing downstream receives any more.
    pub(crate) async fn serve(self, settings: Settings, cx: SourceContext) -> Result<(), ComponentError> {
        let receiver = Arc::new(Receiver::new(&settings, &cx));
        match self {
            Bound::Stream(listener) => {
                let limits = Limits {
                    max_connections: settings.max_connections,
                    connection_timeout: settings.connection_timeout,
                };
                stream::run(listener, receiver, limits, cx).await
            }
            Bound::Datagram(socket) => datagram::run(socket, receiver, cx).await,
        }
    }
}

/// Removes a Unix socket file when the source that created it stops.
#[derive(Debug)]
pub(crate) struct SocketFile(PathBuf);

impl SocketFile {
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        // Best effort: a file already gone, or replaced by hand, is not worth an error at shutdown.
        let _ = std::fs::remove_file(&self.0);
    }
}

fn bind_tcp(address: SocketAddr, receive_buffer_bytes: Option<usize>) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // Lets a restarted agent take its port back while old connections sit in TIME_WAIT; on Linux
    // it does not let two listeners share a port.
    socket.set_reuseaddr(true)?;
    if let Some(bytes) = receive_buffer_bytes {
        socket.set_recv_buffer_size(u32::try_from(bytes).unwrap_or(u32::MAX))?;
    }
    socket.bind(address)?;
    socket.listen(1024)
}

fn bind_udp(address: SocketAddr, receive_buffer_bytes: Option<usize>) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(address), Type::DGRAM, Some(Protocol::UDP))?;
    if let Some(bytes) = receive_buffer_bytes {
        socket.set_recv_buffer_size(bytes)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

/// A socket file left behind by an earlier run would make `bind` fail; anything else at the path
/// is not ours to delete.
async fn remove_stale_socket(path: &Path) -> std::io::Result<()> {
    match tokio::fs::symlink_metadata(path).await {
        Ok(metadata) if metadata.file_type().is_socket() => tokio::fs::remove_file(path).await,
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "a file that is not a socket is there",
        )),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
    }
}

async fn set_mode(path: &Path, mode: Option<u32>) -> std::io::Result<()> {
    match mode {
        Some(mode) => tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).await,
        None => Ok(()),
    }
}
