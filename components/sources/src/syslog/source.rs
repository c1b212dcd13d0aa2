//! The running `syslog` source: the `socket` machinery with syslog's framing, codec and fields.

use std::time::Duration;

use strata_codecs::{DecodingConfig, DeserializerConfig, FramingMethod};
use strata_core::{BuildError, ComponentError, SourceContext};

use super::SyslogConfig;
use crate::socket::framing_with_max_length;
use crate::socket::listener::{Bound, Settings};

/// Binds the configured socket and loads its TLS files; a taken address or a bad file fails here,
/// at build time.
pub(super) async fn bind(config: &SyslogConfig) -> Result<Bound, BuildError> {
    Bound::bind(&config.address(), config.tls()).await
}

pub(super) async fn run(config: SyslogConfig, bound: Bound, cx: SourceContext) -> Result<(), ComponentError> {
    bound.serve(settings(&config), cx).await
}

pub(super) fn settings(config: &SyslogConfig) -> Settings {
    let timeout = |secs: Option<u64>| secs.map(Duration::from_secs);
    // Stream transports carry octet-counted or newline-ended messages; a datagram is one message.
    let (method, max_length, host_key, max_connections, connection_timeout) = match config {
        SyslogConfig::Tcp(c) => (
            FramingMethod::OctetCounting,
            c.max_length,
            &c.host_key,
            c.connection_limit,
            timeout(c.connection_timeout_secs),
        ),
        SyslogConfig::Udp(c) => (FramingMethod::Bytes, c.max_length, &c.host_key, None, None),
        SyslogConfig::Unix(c) => (
            FramingMethod::OctetCounting,
            c.max_length,
            &c.host_key,
            c.connection_limit,
            timeout(c.connection_timeout_secs),
        ),
    };
    Settings {
        source_type: "syslog",
        framing: framing_with_max_length(None, method, Some(max_length)),
        decoding: DecodingConfig::new(DeserializerConfig::Syslog),
        host_key: host_key.clone(),
        port_key: None,
        syslog_fields: true,
        max_connections,
        connection_timeout,
    }
}
