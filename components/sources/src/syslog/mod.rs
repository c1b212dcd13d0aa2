//! `syslog`: syslog messages received over TCP, UDP or a Unix stream socket, as Vector's `syslog`
//! source.
//!
//! Each message is parsed as RFC 5424 or, failing that, RFC 3164 and its dialects; structured
//! data is kept, one object per SD-ID. Over TCP and Unix sockets messages are framed by RFC 6587
//! octet counting (`LEN SP MSG`), falling back to one message per line for senders that do not
//! count; over UDP each datagram is one message. `host` is the message's hostname, or the
//! peer's address when the message has none; the peer's address is also in `source_ip`.
//!
//! It runs on the `socket` source's machinery (`socket::listener`), so connections,
//! backpressure, limits, bad-input handling and shutdown behave exactly as there.
//!
//! Delivery: none beyond the pipeline's own; syslog has no acknowledgements, so messages read
//! and not yet delivered when the agent stops or crashes are lost.
//!
//! In `tcp` mode, `tls` (RFC 5425) works as in the `socket` source: handshakes with a deadline,
//! failures counted and logged, client certificates checked with `tls.verify_certificate`.
//!
//! Not supported yet: TCP keepalive options and `permit_origin`.

mod config;
mod source;

pub use config::{SyslogConfig, SyslogTcpConfig, SyslogUdpConfig, SyslogUnixConfig};

use strata_core::SourceRegistration;

pub const REGISTRATION: SourceRegistration = SourceRegistration {
    type_name: "syslog",
    description: "Receive syslog messages (RFC 5424 and RFC 3164) over TCP, UDP or Unix sockets",
    example: config::EXAMPLE,
    parse: strata_core::config::boxed_source::<SyslogConfig>,
};

#[cfg(test)]
mod tests;
