//! Options of the `socket` source: one set per `mode`, as Vector's.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::{DecodingConfig, FramingConfig, FramingMethod};
use strata_core::{BuildError, DataType, Output, Resource, SourceConfig, SourceContext};
use strata_tls::ServerTlsConfig;

use super::listener::{Address, Settings};

pub(super) const EXAMPLE: &str = r#"type = "socket"
mode = "tcp"
address = "127.0.0.1:9000"
# max_connections = 1000
# connection_timeout_secs = 300
# framing.method = "newline_delimited"
# decoding.codec = "bytes"
# tls.enabled = true
# tls.crt_file = "/etc/strata/tls/server.pem"
# tls.key_file = "/etc/strata/tls/server.key"
# tls.ca_file = "/etc/strata/tls/ca.pem"
# tls.verify_certificate = true
"#;

fn default_port_key() -> String {
    "port".into()
}

/// The `socket` source: `mode` selects the transport and the options that go with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SocketConfig {
    /// Accept TCP connections; each is a byte stream, newline-delimited by default.
    Tcp(TcpConfig),
    /// Receive UDP datagrams; each is one frame by default.
    Udp(UdpConfig),
    /// Accept connections on a Unix stream socket; newline-delimited by default.
    UnixStream(UnixStreamConfig),
    /// Receive datagrams on a Unix datagram socket; each is one frame by default.
    UnixDatagram(UnixDatagramConfig),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// The address to listen on, such as `127.0.0.1:9000` (`0.0.0.0:9000` for every interface).
    /// Required.
    pub address: SocketAddr,
    /// The longest frame in bytes, for the default framing or a `framing` that sets no
    /// `max_length` of its own; longer frames are discarded and counted. Default: 102400.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The field that receives the peer's IP address; `""` leaves it out. Default:
    /// `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The field that receives the peer's port; `""` leaves it out. Default: `port`.
    #[serde(default = "default_port_key")]
    pub port_key: String,
    /// The most connections open at once; more are closed as soon as they are accepted, and
    /// counted. Vector's name `connection_limit` is accepted too. Default: no limit.
    #[serde(default, alias = "connection_limit")]
    pub max_connections: Option<u32>,
    /// Close a connection that sent nothing for this many seconds. Default: never.
    #[serde(default)]
    pub connection_timeout_secs: Option<u64>,
    /// The socket's kernel receive buffer (`SO_RCVBUF`) in bytes. Default: the system's.
    #[serde(default)]
    pub receive_buffer_bytes: Option<usize>,
    /// How the stream is split into frames. Default: `newline_delimited`.
    #[serde(default)]
    pub framing: Option<FramingConfig>,
    /// How each frame becomes an event. Default: `bytes` (the frame is the `message`).
    #[serde(default)]
    pub decoding: DecodingConfig,
    /// TLS: `enabled`, `crt_file`, `key_file`, and `ca_file` with `verify_certificate` to
    /// require client certificates. The files are read when the source is built. Default: off.
    #[serde(default)]
    pub tls: Option<ServerTlsConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpConfig {
    /// The address to listen on, such as `127.0.0.1:9000`. Required.
    pub address: SocketAddr,
    /// The longest frame in bytes, for the default framing or a `framing` that sets no
    /// `max_length` of its own; longer frames are discarded and counted. Default: 102400.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The field that receives the sender's IP address; `""` leaves it out. Default:
    /// `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The field that receives the sender's port; `""` leaves it out. Default: `port`.
    #[serde(default = "default_port_key")]
    pub port_key: String,
    /// The socket's kernel receive buffer (`SO_RCVBUF`) in bytes: how many datagrams can wait
    /// while the pipeline is busy. Default: the system's.
    #[serde(default)]
    pub receive_buffer_bytes: Option<usize>,
    /// How each datagram is split into frames. Default: `bytes` (one frame per datagram).
    #[serde(default)]
    pub framing: Option<FramingConfig>,
    /// How each frame becomes an event. Default: `bytes`.
    #[serde(default)]
    pub decoding: DecodingConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixStreamConfig {
    /// The socket file to create; a socket file already there is replaced. Required.
    pub path: PathBuf,
    /// The socket file's permissions, such as `0o660`. Default: from the process's umask.
    #[serde(default)]
    pub socket_file_mode: Option<u32>,
    /// The longest frame in bytes, as for `tcp`. Default: 102400.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The field that receives the socket's path; `""` leaves it out. Default:
    /// `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The most connections open at once, as for `tcp`. Default: no limit.
    #[serde(default, alias = "connection_limit")]
    pub max_connections: Option<u32>,
    /// Close a connection that sent nothing for this many seconds. Default: never.
    #[serde(default)]
    pub connection_timeout_secs: Option<u64>,
    /// How the stream is split into frames. Default: `newline_delimited`.
    #[serde(default)]
    pub framing: Option<FramingConfig>,
    /// How each frame becomes an event. Default: `bytes`.
    #[serde(default)]
    pub decoding: DecodingConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixDatagramConfig {
    /// The socket file to create; a socket file already there is replaced. Required.
    pub path: PathBuf,
    /// The socket file's permissions, such as `0o660`. Default: from the process's umask.
    #[serde(default)]
    pub socket_file_mode: Option<u32>,
    /// The longest frame in bytes, as for `udp`. Default: 102400.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The field that receives the socket's path; `""` leaves it out. Default:
    /// `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// How each datagram is split into frames. Default: `bytes` (one frame per datagram).
    #[serde(default)]
    pub framing: Option<FramingConfig>,
    /// How each frame becomes an event. Default: `bytes`.
    #[serde(default)]
    pub decoding: DecodingConfig,
}

#[async_trait]
impl SourceConfig for SocketConfig {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        let bound = super::source::bind(self).await?;
        Ok(Box::pin(super::source::run(self.settings(), bound, cx)))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::LOG)]
    }

    fn resources(&self) -> Vec<Resource> {
        vec![self.address().resource()]
    }

    fn validate(&self) -> Vec<String> {
        let mut errors: Vec<String> = self.settings().framing.validate().err().into_iter().collect();
        let (max_length, max_connections, timeout, mode) = match self {
            SocketConfig::Tcp(c) => (c.max_length, c.max_connections, c.connection_timeout_secs, None),
            SocketConfig::Udp(c) => (c.max_length, None, None, None),
            SocketConfig::UnixStream(c) => {
                (c.max_length, c.max_connections, c.connection_timeout_secs, c.socket_file_mode)
            }
            SocketConfig::UnixDatagram(c) => (c.max_length, None, None, c.socket_file_mode),
        };
        errors.extend(limit_errors(max_length, max_connections, timeout, mode));
        if let Some(tls) = self.tls() {
            errors.extend(tls.validate());
        }
        errors
    }
}

/// Checks shared with `syslog`: limits that would refuse everything, and a file mode with bits
/// beyond `0o7777`.
pub(crate) fn limit_errors(
    max_length: Option<usize>,
    max_connections: Option<u32>,
    connection_timeout_secs: Option<u64>,
    socket_file_mode: Option<u32>,
) -> Vec<String> {
    let mut errors = Vec::new();
    if max_length == Some(0) {
        errors.push("`max_length` must be at least 1".to_owned());
    }
    if max_connections == Some(0) {
        errors.push("`max_connections` must be at least 1".to_owned());
    }
    if connection_timeout_secs == Some(0) {
        errors.push("`connection_timeout_secs` must be at least 1".to_owned());
    }
    if let Some(mode) = socket_file_mode.filter(|mode| *mode > 0o7777) {
        errors.push(format!("`socket_file_mode` must be at most 0o7777, got {mode:#o}"));
    }
    errors
}

/// The framing to use: `framing` if given, else `default`; the legacy `max_length` fills in the
/// limit of a method that sets none.
pub(crate) fn framing_with_max_length(
    framing: Option<&FramingConfig>,
    default: FramingMethod,
    max_length: Option<usize>,
) -> FramingConfig {
    let mut framing = framing.cloned().unwrap_or_else(|| FramingConfig::method(default));
    let Some(max_length) = max_length else { return framing };
    let limit = match framing.method {
        FramingMethod::NewlineDelimited => &mut framing.newline_delimited.max_length,
        FramingMethod::CharacterDelimited => match framing.character_delimited.as_mut() {
            Some(options) => &mut options.max_length,
            None => return framing,
        },
        FramingMethod::Bytes => &mut framing.bytes.max_length,
        FramingMethod::OctetCounting => &mut framing.octet_counting.max_length,
        FramingMethod::LengthDelimited => &mut framing.length_delimited.max_length,
    };
    limit.get_or_insert(max_length);
    framing
}

impl SocketConfig {
    /// The TLS options, for `tcp` (the only mode with TLS).
    pub(super) fn tls(&self) -> Option<&ServerTlsConfig> {
        match self {
            SocketConfig::Tcp(c) => c.tls.as_ref(),
            _ => None,
        }
    }

    pub(super) fn address(&self) -> Address {
        match self {
            SocketConfig::Tcp(c) => {
                Address::Tcp { address: c.address, receive_buffer_bytes: c.receive_buffer_bytes }
            }
            SocketConfig::Udp(c) => {
                Address::Udp { address: c.address, receive_buffer_bytes: c.receive_buffer_bytes }
            }
            SocketConfig::UnixStream(c) => {
                Address::UnixStream { path: c.path.clone(), socket_file_mode: c.socket_file_mode }
            }
            SocketConfig::UnixDatagram(c) => {
                Address::UnixDatagram { path: c.path.clone(), socket_file_mode: c.socket_file_mode }
            }
        }
    }

    pub(super) fn settings(&self) -> Settings {
        let stream = FramingMethod::NewlineDelimited;
        let datagram = FramingMethod::Bytes;
        let timeout = |secs: Option<u64>| secs.map(Duration::from_secs);
        let (framing, decoding, host_key, port_key, max_connections, connection_timeout) = match self {
            SocketConfig::Tcp(c) => (
                framing_with_max_length(c.framing.as_ref(), stream, c.max_length),
                &c.decoding,
                &c.host_key,
                Some(c.port_key.clone()),
                c.max_connections,
                timeout(c.connection_timeout_secs),
            ),
            SocketConfig::Udp(c) => (
                framing_with_max_length(c.framing.as_ref(), datagram, c.max_length),
                &c.decoding,
                &c.host_key,
                Some(c.port_key.clone()),
                None,
                None,
            ),
            SocketConfig::UnixStream(c) => (
                framing_with_max_length(c.framing.as_ref(), stream, c.max_length),
                &c.decoding,
                &c.host_key,
                None,
                c.max_connections,
                timeout(c.connection_timeout_secs),
            ),
            SocketConfig::UnixDatagram(c) => (
                framing_with_max_length(c.framing.as_ref(), datagram, c.max_length),
                &c.decoding,
                &c.host_key,
                None,
                None,
                None,
            ),
        };
        Settings {
            source_type: "socket",
            framing,
            decoding: decoding.clone(),
            host_key: host_key.clone(),
            port_key,
            syslog_fields: false,
            max_connections,
            connection_timeout,
        }
    }
}
