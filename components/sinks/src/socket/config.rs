//! Options of the `socket` sink: one table per `mode`.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::{Encoder, EncodingConfig, SinkFraming};
use strata_core::{BuildError, DataType, Healthcheck, Sink, SinkConfig, SinkContext};
use strata_tls::ClientTlsConfig;

use super::datagram::{DatagramSink, DatagramTarget};
use super::stream::{StreamSink, StreamTarget};
use crate::driver::HealthcheckConfig;

pub(super) const EXAMPLE: &str = r#"type = "socket"
inputs = ["my_source"]
mode = "tcp"
address = "collector.internal:5000"
encoding.codec = "json"
framing.method = "newline_delimited"
keepalive.time_secs = 60
# tls.enabled = true
# tls.ca_file = "/etc/strata/tls/ca.pem"
# tls.crt_file = "/etc/strata/tls/client.pem"
# tls.key_file = "/etc/strata/tls/client.key"
"#;

/// The sink's options, tagged by `mode`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum SocketConfig {
    /// A TCP connection to `address`.
    Tcp(TcpConfig),
    /// One UDP datagram per event, to `address`.
    Udp(UdpConfig),
    /// A Unix socket at `path`, stream or datagram.
    Unix(UnixConfig),
}

/// `mode = "tcp"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpConfig {
    /// Where to connect: `host:port`; a host name is resolved at every connect. Required.
    pub address: String,
    /// How events are written (`encoding.codec` = `json`, `text`, `logfmt`, ...). Required.
    pub encoding: EncodingConfig,
    /// How events are delimited in the stream. Default: `newline_delimited`.
    #[serde(default)]
    pub framing: FramingConfig,
    /// The socket's send buffer size (`SO_SNDBUF`), in bytes. Default: the system's.
    #[serde(default)]
    pub send_buffer_bytes: Option<usize>,
    /// TCP keepalive. Default: off.
    #[serde(default)]
    pub keepalive: Option<KeepaliveConfig>,
    /// `enabled` (default true): at start, open a connection to `address` (with the TLS
    /// handshake when TLS is on) and close it.
    #[serde(default)]
    pub healthcheck: HealthcheckConfig,
    /// TLS, on with `enabled = true`: `ca_file` (default: the built-in Mozilla roots),
    /// `verify_certificate`, `verify_hostname`, `server_name` (default: the host in `address`),
    /// and `crt_file` with `key_file` for a client certificate. The files are read when the sink
    /// is built. Default: off.
    #[serde(default)]
    pub tls: Option<ClientTlsConfig>,
}

/// `mode = "udp"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpConfig {
    /// Where to send datagrams: `host:port`, resolved when the socket is opened. Required.
    pub address: String,
    /// How events are written; one event per datagram, with no framing. Required.
    pub encoding: EncodingConfig,
    /// The socket's send buffer size (`SO_SNDBUF`), in bytes. Default: the system's.
    #[serde(default)]
    pub send_buffer_bytes: Option<usize>,
    /// `enabled` (default true): at start, resolve `address`.
    #[serde(default)]
    pub healthcheck: HealthcheckConfig,
}

/// Whether a Unix socket is a stream or a datagram socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnixMode {
    /// `SOCK_STREAM`: a connection, like `tcp`.
    #[default]
    Stream,
    /// `SOCK_DGRAM`: one event per datagram, like `udp`.
    Datagram,
}

/// `mode = "unix"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixConfig {
    /// The socket's path. Required.
    pub path: PathBuf,
    /// `stream` or `datagram`. Default: `stream`.
    #[serde(default)]
    pub unix_mode: UnixMode,
    /// How events are written (`encoding.codec` = `json`, `text`, `logfmt`, ...). Required.
    pub encoding: EncodingConfig,
    /// How events are delimited in the stream; only with `unix_mode = "stream"`.
    /// Default: `newline_delimited`.
    #[serde(default)]
    pub framing: Option<FramingConfig>,
    /// The socket's send buffer size (`SO_SNDBUF`), in bytes. Default: the system's.
    #[serde(default)]
    pub send_buffer_bytes: Option<usize>,
    /// `enabled` (default true): at start, connect to `path` (stream) or check that it exists
    /// (datagram).
    #[serde(default)]
    pub healthcheck: HealthcheckConfig,
}

/// The `framing` table: how events are delimited in a stream, tagged by `method`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum FramingConfig {
    /// A newline after every event.
    #[default]
    NewlineDelimited,
    /// `character_delimited.delimiter` after every event.
    CharacterDelimited { character_delimited: CharacterDelimitedOptions },
    /// Nothing between events.
    Bytes,
    /// A 4-byte big-endian length before every event.
    LengthDelimited,
    /// The length in decimal and a space before every event (RFC 6587).
    OctetCounting,
}

/// The `framing.character_delimited` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharacterDelimitedOptions {
    /// The delimiter: one ASCII character. Required.
    pub delimiter: char,
}

/// The `keepalive` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepaliveConfig {
    /// Idle seconds before the first keepalive probe. Default: the system's (keepalive still on).
    #[serde(default)]
    pub time_secs: Option<u64>,
}

impl FramingConfig {
    fn sink_framing(self) -> Result<SinkFraming, BuildError> {
        Ok(match self {
            FramingConfig::NewlineDelimited => SinkFraming::NewlineDelimited,
            FramingConfig::CharacterDelimited { character_delimited } => {
                let delimiter = character_delimited.delimiter;
                let byte = u8::try_from(delimiter).ok().filter(u8::is_ascii).ok_or_else(|| {
                    BuildError::new(format!(
                        "option `framing.character_delimited.delimiter` must be one ASCII character, not {delimiter:?}"
                    ))
                })?;
                SinkFraming::CharacterDelimited(byte)
            }
            FramingConfig::Bytes => SinkFraming::Bytes,
            FramingConfig::LengthDelimited => SinkFraming::LengthDelimited,
            FramingConfig::OctetCounting => SinkFraming::OctetCounting,
        })
    }
}

/// The host part of `host:port` or `[ipv6]:port`, for TLS's server name.
fn host(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.strip_prefix('[').and_then(|host| host.strip_suffix(']')).unwrap_or(host)
}

fn encoder(encoding: &EncodingConfig, framing: SinkFraming) -> Result<Encoder, BuildError> {
    Encoder::new(encoding, framing).map_err(|error| BuildError::new(format!("option `encoding`: {error}")))
}

type Built = (Box<dyn Sink>, Healthcheck);

impl SocketConfig {
    fn build_tcp(config: &TcpConfig, cx: SinkContext) -> Result<Built, BuildError> {
        let encoder = encoder(&config.encoding, config.framing.sink_framing()?)?;
        let keepalive = config.keepalive.map(|keepalive| keepalive.time_secs.map(Duration::from_secs));
        let tls = match &config.tls {
            Some(tls) if tls.is_enabled() => Some(
                tls.connector(host(&config.address)).map_err(|error| BuildError::new(error.to_string()))?,
            ),
            _ => None,
        };
        let target = StreamTarget::Tcp { address: config.address.clone(), keepalive, tls };
        Ok(stream(target, config.send_buffer_bytes, encoder, &config.healthcheck, cx))
    }

    fn build_udp(config: &UdpConfig, cx: SinkContext) -> Result<Built, BuildError> {
        let encoder = encoder(&config.encoding, SinkFraming::Bytes)?;
        let target = DatagramTarget::Udp { address: config.address.clone() };
        let healthcheck = config.healthcheck.build(target.clone().healthcheck());
        let sink = DatagramSink::new(target, config.send_buffer_bytes, encoder, cx.metrics)
            .with_rejected(cx.rejected);
        Ok((Box::new(sink), healthcheck))
    }

    fn build_unix(config: &UnixConfig, cx: SinkContext) -> Result<Built, BuildError> {
        match config.unix_mode {
            UnixMode::Stream => {
                let framing = config.framing.unwrap_or_default().sink_framing()?;
                let encoder = encoder(&config.encoding, framing)?;
                let target = StreamTarget::Unix { path: config.path.clone() };
                Ok(stream(target, config.send_buffer_bytes, encoder, &config.healthcheck, cx))
            }
            UnixMode::Datagram => {
                if config.framing.is_some() {
                    return Err(BuildError::new(
                        "option `framing` is not supported with `unix_mode = \"datagram\"`: one event is one datagram",
                    ));
                }
                let encoder = encoder(&config.encoding, SinkFraming::Bytes)?;
                let target = DatagramTarget::Unix { path: config.path.clone() };
                let healthcheck = config.healthcheck.build(target.clone().healthcheck());
                let sink = DatagramSink::new(target, config.send_buffer_bytes, encoder, cx.metrics)
                    .with_rejected(cx.rejected);
                Ok((Box::new(sink), healthcheck))
            }
        }
    }
}

fn stream(
    target: StreamTarget,
    send_buffer_bytes: Option<usize>,
    encoder: Encoder,
    healthcheck: &HealthcheckConfig,
    cx: SinkContext,
) -> Built {
    let check = healthcheck.build(target.clone().healthcheck(send_buffer_bytes));
    (Box::new(StreamSink::new(target, send_buffer_bytes, encoder, cx.metrics)), check)
}

#[async_trait]
impl SinkConfig for SocketConfig {
    async fn build(&self, cx: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        match self {
            SocketConfig::Tcp(config) => Self::build_tcp(config, cx),
            SocketConfig::Udp(config) => Self::build_udp(config, cx),
            SocketConfig::Unix(config) => Self::build_unix(config, cx),
        }
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }

    fn validate(&self) -> Vec<String> {
        match self {
            SocketConfig::Tcp(TcpConfig { tls: Some(tls), .. }) => tls.validate(true),
            _ => Vec::new(),
        }
    }
}
