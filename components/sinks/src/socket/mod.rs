//! `socket`: write events to a TCP connection, as UDP datagrams, or to a Unix socket.
//!
//! The option names are Vector's: `mode` (`tcp`, `udp` or `unix`), `address` or `path`,
//! `encoding`, `framing.method`, `send_buffer_bytes`, `keepalive.time_secs` and `unix_mode`.
//!
//! Stream modes (`tcp`, `unix` with `unix_mode = "stream"`) connect lazily, on the first batch.
//! Ready batches are coalesced into one write of at most 1 MiB. Before each write the sink checks
//! whether the peer has closed the connection, so that a restarted server does not silently eat
//! a write into a half-closed socket. A failed connect or write drops the connection and retries
//! the whole write on a new one, with exponential backoff (250 ms doubling up to 30 s, jittered),
//! for as long as the sink runs; meanwhile the input is not read, so backpressure reaches the
//! buffer in front of the sink. When the input ends the sink flushes and shuts the connection
//! down.
//!
//! TLS (`tcp` mode, `tls.enabled = true`): every new connection runs a TLS handshake (rustls,
//! through `strata-tls`, with a 10 s deadline) before the first write, checking the server's
//! certificate against `tls.ca_file` or the built-in Mozilla roots and the host in `address` (or
//! `tls.server_name`), and presenting `tls.crt_file` when the server asks for a certificate. A
//! failed handshake is a failed connect: counted, logged, retried with backoff. The TLS files are
//! read at build time.
//!
//! Delivery (stream modes): at least once, as far as TCP can tell. A batch is reported
//! `Delivered` once `write_all` and `flush` into the kernel succeeded; a batch that was retried
//! after a failed write may arrive twice. TCP has no acknowledgement from the application, so bytes
//! accepted by the kernel and then lost with a connection reset are not detected. A batch is
//! never reported `Errored` by the sink itself; if the sink is stopped while reconnecting its
//! finalizers are dropped, which counts as `Errored`.
//!
//! Datagram modes (`udp`, `unix` with `unix_mode = "datagram"`) send one event per datagram, with
//! no framing. An event is `Delivered` once the kernel accepted its datagram (datagrams carry no
//! delivery guarantee beyond that), `Rejected` when it encodes to more than 65507 bytes in `udp`
//! mode (or handed, annotated, to the sink's `rejected` output when a component reads
//! `<id>.rejected`), and `Errored` when sending failed. Every failure is counted in
//! `component_errors_total`.

mod config;
mod datagram;
mod stream;

pub use config::{
    CharacterDelimitedOptions, FramingConfig, KeepaliveConfig, SocketConfig, TcpConfig, UdpConfig,
    UnixConfig, UnixMode,
};

use strata_core::SinkRegistration;

pub const REGISTRATION: SinkRegistration = SinkRegistration {
    type_name: "socket",
    description: "Write events to a TCP connection, UDP datagrams or a Unix socket",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_sink::<SocketConfig>,
};

#[cfg(test)]
mod tests;
