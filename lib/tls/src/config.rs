//! The `tls` options, named as Vector's: one table for listeners (sources) and one for
//! connectors (sinks), checked without touching the files.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

fn default_true() -> bool {
    true
}

/// The `tls` table of a source that listens: `socket` and `syslog` in `tcp` mode, `http_server`.
///
/// TLS is on only with `enabled = true`, as in Vector. A table that sets other options but leaves
/// `enabled` out is refused rather than quietly left in plain text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsConfig {
    /// Require TLS on every connection; `crt_file` and `key_file` are then required. Default:
    /// false.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The listener's certificate (PEM), followed by any intermediate certificates. Required
    /// with `enabled = true`.
    #[serde(default)]
    pub crt_file: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of `crt_file`. Required with
    /// `enabled = true`. Encrypted keys are not supported.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The certificate authorities (PEM) that client certificates must chain to. Required with
    /// `verify_certificate = true`. Default: none.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Require every client to present a certificate signed by `ca_file` (mutual TLS); clients
    /// without one, or with one from another authority, fail the handshake. Default: false.
    #[serde(default)]
    pub verify_certificate: bool,
    /// The ALPN protocols offered, in order of preference, such as `["http/1.1"]`. Default: none
    /// (no ALPN).
    #[serde(default)]
    pub alpn_protocols: Vec<String>,
}

/// The `tls` table of a sink that connects: `socket` in `tcp` mode, `http`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsConfig {
    /// Connect with TLS (the `socket` sink). The `http` sink takes TLS from an `https://` URI
    /// instead and refuses this option. Default: false.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A client certificate (PEM) to present to servers that ask for one, followed by any
    /// intermediates. Goes with `key_file`. Default: none.
    #[serde(default)]
    pub crt_file: Option<PathBuf>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of `crt_file`. Default: none.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The certificate authorities (PEM) that the server's certificate must chain to; only
    /// these are trusted. Default: the Mozilla roots built into the agent (webpki-roots).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Check that the server's certificate chains to a trusted authority and is in its validity
    /// period. Turning this off trusts any server and is only for tests. Default: true.
    #[serde(default = "default_true")]
    pub verify_certificate: bool,
    /// Check that the server's certificate is issued for the host connected to (or for
    /// `server_name`). Default: true.
    #[serde(default = "default_true")]
    pub verify_hostname: bool,
    /// The name sent as SNI and checked against the server's certificate, instead of the host
    /// in the address or URI. Default: that host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// The ALPN protocols offered, in order of preference. Default: none. The `http` sink, which
    /// speaks HTTP/1.1 only, refuses this option.
    #[serde(default)]
    pub alpn_protocols: Vec<String>,
}

impl Default for ClientTlsConfig {
    fn default() -> Self {
        Self {
            enabled: None,
            crt_file: None,
            key_file: None,
            ca_file: None,
            verify_certificate: true,
            verify_hostname: true,
            server_name: None,
            alpn_protocols: Vec::new(),
        }
    }
}

/// An ALPN protocol id is 1 to 255 bytes (RFC 7301).
fn alpn_errors(protocols: &[String], errors: &mut Vec<String>) {
    for protocol in protocols {
        if protocol.is_empty() || protocol.len() > 255 {
            errors.push(format!("`tls.alpn_protocols` holds {protocol:?}: a protocol id is 1 to 255 bytes"));
        }
    }
}

fn pair_errors(crt_file: bool, key_file: bool, errors: &mut Vec<String>) {
    if crt_file != key_file {
        errors.push("`tls.crt_file` and `tls.key_file` go together: set both or neither".to_owned());
    }
}

const ENABLED_UNSET: &str = "`tls.enabled` is not set, so TLS would be off although other `tls` options are set; \
     set `tls.enabled = true` (or `false` to keep it off)";

impl ServerTlsConfig {
    pub fn is_enabled(&self) -> bool {
        self.enabled == Some(true)
    }

    /// Problems found without reading any file, one message each.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let others = Self { enabled: None, ..self.clone() };
        if self.enabled.is_none() && others != Self::default() {
            errors.push(ENABLED_UNSET.to_owned());
        }
        if self.is_enabled() {
            if self.crt_file.is_none() {
                errors.push("`tls.crt_file` is required with `tls.enabled = true`".to_owned());
            }
            if self.key_file.is_none() {
                errors.push("`tls.key_file` is required with `tls.enabled = true`".to_owned());
            }
            if self.verify_certificate && self.ca_file.is_none() {
                errors.push(
                    "`tls.verify_certificate = true` needs `tls.ca_file`, the authority that signs client certificates"
                        .to_owned(),
                );
            }
        }
        alpn_errors(&self.alpn_protocols, &mut errors);
        errors
    }
}

impl ClientTlsConfig {
    pub fn is_enabled(&self) -> bool {
        self.enabled == Some(true)
    }

    /// Problems found without reading any file. `enabled_applies` is false for the `http` sink,
    /// where the URI's scheme decides and `enabled` is refused.
    pub fn validate(&self, enabled_applies: bool) -> Vec<String> {
        let mut errors = Vec::new();
        if !enabled_applies {
            if self.enabled.is_some() {
                errors.push("`tls.enabled` does not apply here: an `https://` URI turns TLS on".to_owned());
            }
            if !self.alpn_protocols.is_empty() {
                errors.push(
                    "`tls.alpn_protocols` does not apply here: the sink speaks HTTP/1.1 only".to_owned(),
                );
            }
        } else if self.enabled.is_none() && *self != (Self { enabled: None, ..Self::default() }) {
            errors.push(ENABLED_UNSET.to_owned());
        }
        pair_errors(self.crt_file.is_some(), self.key_file.is_some(), &mut errors);
        if let Some(name) = &self.server_name
            && rustls::pki_types::ServerName::try_from(name.as_str()).is_err()
        {
            errors.push(format!("`tls.server_name` {name:?} is not a valid DNS name or IP address"));
        }
        alpn_errors(&self.alpn_protocols, &mut errors);
        errors
    }
}
