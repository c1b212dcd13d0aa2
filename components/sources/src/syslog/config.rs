//! Options of the `syslog` source: one set per `mode`, as Vector's.

use std::net::SocketAddr;
use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_core::{BuildError, DataType, Output, Resource, SourceConfig, SourceContext};
use strata_tls::ServerTlsConfig;

use crate::socket::listener::Address;

pub(super) const EXAMPLE: &str = r#"type = "syslog"
mode = "tcp"
address = "127.0.0.1:514"
# max_length = 102400
# connection_limit = 1000
# tls.enabled = true
# tls.crt_file = "/etc/strata/tls/server.pem"
# tls.key_file = "/etc/strata/tls/server.key"
"#;

fn default_max_length() -> usize {
    strata_codecs::decoding::framing_default_max_length()
}

/// The `syslog` source: `mode` selects the transport and the options that go with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SyslogConfig {
    /// Accept TCP connections; messages are octet-counted or one per line.
    Tcp(SyslogTcpConfig),
    /// Receive UDP datagrams, one message each.
    Udp(SyslogUdpConfig),
    /// Accept connections on a Unix stream socket, framed as over TCP.
    Unix(SyslogUnixConfig),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogTcpConfig {
    /// The address to listen on, such as `127.0.0.1:514` (`0.0.0.0:514` for every interface).
    /// Required.
    pub address: SocketAddr,
    /// The longest message in bytes; longer ones are discarded and counted. Default: 102400.
    #[serde(default = "default_max_length")]
    pub max_length: usize,
    /// The field that receives the message's hostname, or the peer's IP address when it has
    /// none; `""` leaves it out. Default: `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The most connections open at once; more are closed as soon as they are accepted, and
    /// counted. `max_connections` is accepted too. Default: no limit.
    #[serde(default, alias = "max_connections")]
    pub connection_limit: Option<u32>,
    /// Close a connection that sent nothing for this many seconds. Default: never.
    #[serde(default)]
    pub connection_timeout_secs: Option<u64>,
    /// The socket's kernel receive buffer (`SO_RCVBUF`) in bytes. Default: the system's.
    #[serde(default)]
    pub receive_buffer_bytes: Option<usize>,
    /// TLS (RFC 5425 syslog over TLS): `enabled`, `crt_file`, `key_file`, and `ca_file` with
    /// `verify_certificate` to require client certificates. The files are read when the source
    /// is built. Default: off.
    #[serde(default)]
    pub tls: Option<ServerTlsConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogUdpConfig {
    /// The address to listen on, such as `127.0.0.1:514`. Required.
    pub address: SocketAddr,
    /// The longest message in bytes; longer ones are discarded and counted. Default: 102400.
    #[serde(default = "default_max_length")]
    pub max_length: usize,
    /// The field that receives the message's hostname, or the sender's IP address when it has
    /// none; `""` leaves it out. Default: `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The socket's kernel receive buffer (`SO_RCVBUF`) in bytes: how many datagrams can wait
    /// while the pipeline is busy. Default: the system's.
    #[serde(default)]
    pub receive_buffer_bytes: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogUnixConfig {
    /// The socket file to create; a socket file already there is replaced. Required.
    pub path: PathBuf,
    /// The socket file's permissions, such as `0o660`. Default: from the process's umask.
    #[serde(default)]
    pub socket_file_mode: Option<u32>,
    /// The longest message in bytes; longer ones are discarded and counted. Default: 102400.
    #[serde(default = "default_max_length")]
    pub max_length: usize,
    /// The field that receives the message's hostname, or the socket's path when it has none;
    /// `""` leaves it out. Default: `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The most connections open at once, as for `tcp`. Default: no limit.
    #[serde(default, alias = "max_connections")]
    pub connection_limit: Option<u32>,
    /// Close a connection that sent nothing for this many seconds. Default: never.
    #[serde(default)]
    pub connection_timeout_secs: Option<u64>,
}

#[async_trait]
impl SourceConfig for SyslogConfig {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        let bound = super::source::bind(self).await?;
        Ok(Box::pin(super::source::run(self.clone(), bound, cx)))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::LOG)]
    }

    fn resources(&self) -> Vec<Resource> {
        vec![self.address().resource()]
    }

    fn validate(&self) -> Vec<String> {
        let (max_length, limit, timeout, mode) = match self {
            SyslogConfig::Tcp(c) => (c.max_length, c.connection_limit, c.connection_timeout_secs, None),
            SyslogConfig::Udp(c) => (c.max_length, None, None, None),
            SyslogConfig::Unix(c) => {
                (c.max_length, c.connection_limit, c.connection_timeout_secs, c.socket_file_mode)
            }
        };
        let mut errors = crate::socket::limit_errors(Some(max_length), limit, timeout, mode);
        if let Some(tls) = self.tls() {
            errors.extend(tls.validate());
        }
        errors
    }
}

impl SyslogConfig {
    /// The TLS options, for `tcp` (the only mode with TLS).
    pub(super) fn tls(&self) -> Option<&ServerTlsConfig> {
        match self {
            SyslogConfig::Tcp(c) => c.tls.as_ref(),
            _ => None,
        }
    }

    pub(super) fn address(&self) -> Address {
        match self {
            SyslogConfig::Tcp(c) => {
                Address::Tcp { address: c.address, receive_buffer_bytes: c.receive_buffer_bytes }
            }
            SyslogConfig::Udp(c) => {
                Address::Udp { address: c.address, receive_buffer_bytes: c.receive_buffer_bytes }
            }
            SyslogConfig::Unix(c) => {
                Address::UnixStream { path: c.path.clone(), socket_file_mode: c.socket_file_mode }
            }
        }
    }
}
