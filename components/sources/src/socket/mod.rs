//! `socket`: events read from a TCP, UDP or Unix socket this agent listens on, as Vector's `socket`
//! source.
//!
//! `mode` picks the transport: `tcp` and `unix_stream` accept connections and frame each byte
//! stream (newline-delimited by default); `udp` and `unix_datagram` decode each datagram on its
//! own (one frame per datagram by default). Every event gets the peer's address in `host_key`
//! (the socket path for Unix sockets) and, for `tcp` and `udp`, the peer's port in `port_key`.
//!
//! Each connection is a task of its own that reads into a bounded buffer and hands one batch per
//! read to the source task over a small bounded channel. When the pipeline is full the channel
//! fills, the connection stops reading, and the kernel's buffers push back on the sender; a UDP
//! sender is not slowed down, so its datagrams are dropped by the kernel instead. An oversized
//! frame or one that does not decode is counted, logged at a bounded rate and skipped; the
//! connection goes on. `max_connections` refuses (closes at once) connections beyond the limit,
//! and `connection_timeout_secs` closes a connection that sent nothing for that long.
//!
//! In `tcp` mode, `tls.enabled = true` requires TLS on every connection (rustls, through
//! `strata-tls`); with `tls.verify_certificate = true` every client must present a certificate
//! signed by `tls.ca_file`. The TLS files are read at build time, so a bad file fails the build.
//! Each handshake runs in its connection's task with a deadline (`connection_timeout_secs` when
//! shorter than the 10 s default); a failed or timed-out handshake, such as a plaintext client,
//! is counted in `component_errors_total` (`tls_handshake_failed`, `tls_handshake_timed_out`),
//! logged at a bounded rate, and closes that connection only.
//!
//! On shutdown the source stops accepting, closes every connection and returns; a Unix socket file
//! it created is removed.
//!
//! Delivery: none beyond the pipeline's own. Nothing is acknowledged to the sender, so what was
//! read and not yet delivered when the agent stops or crashes is lost.
//!
//! Not supported yet: the client certificate's subject in events, TCP keepalive options,
//! `permit_origin`, and
//! `shutdown_timeout_secs` (connections are closed at once on shutdown).

mod config;
mod datagram;
mod decode;
pub(crate) mod listener;
mod source;
mod stream;

pub use config::{SocketConfig, TcpConfig, UdpConfig, UnixDatagramConfig, UnixStreamConfig};
pub(crate) use config::{framing_with_max_length, limit_errors};

use strata_core::SourceRegistration;

pub const REGISTRATION: SourceRegistration = SourceRegistration {
    type_name: "socket",
    description: "Receive events over TCP, UDP or Unix sockets",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_source::<SocketConfig>,
};

#[cfg(test)]
pub(crate) mod tests;
