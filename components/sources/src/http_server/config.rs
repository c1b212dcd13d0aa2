//! Options of the `http_server` source, named as Vector's.

use std::fmt;
use std::net::SocketAddr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::decoding::MaxLengthOptions;
use strata_codecs::{DecodingConfig, DeserializerConfig, FramingConfig, FramingMethod};
use strata_core::{BuildError, DataType, Output, Resource, SourceConfig, SourceContext};
use strata_tls::ServerTlsConfig;

pub(super) const EXAMPLE: &str = r#"type = "http_server"
address = "127.0.0.1:8080"
# path = "/"
# strict_path = true
# method = "POST"
# max_body_bytes = 10485760
# headers = ["User-Agent"]
# query_parameters = ["application"]
# decoding.codec = "bytes"
# auth.strategy = "basic"
# auth.username = "agent"
# auth.password = "secret"
# tls.enabled = true
# tls.crt_file = "/etc/strata/tls/server.pem"
# tls.key_file = "/etc/strata/tls/server.key"
"#;

fn default_path() -> String {
    "/".into()
}

fn default_true() -> bool {
    true
}

fn default_path_key() -> String {
    "path".into()
}

fn default_max_body_bytes() -> usize {
    10 * 1024 * 1024
}

fn default_response_code() -> u16 {
    200
}

/// The HTTP method the source accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
    Patch,
}

impl HttpMethod {
    pub(super) fn as_http(self) -> axum::http::Method {
        match self {
            HttpMethod::Post => axum::http::Method::POST,
            HttpMethod::Put => axum::http::Method::PUT,
            HttpMethod::Patch => axum::http::Method::PATCH,
        }
    }
}

/// How clients authenticate, tagged by `strategy`. Secrets are never logged: `Debug` redacts them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// HTTP basic authentication (`Authorization: Basic ...`).
    Basic {
        /// The user name clients must send. Required.
        username: String,
        /// The password clients must send. Required.
        password: String,
    },
    /// A bearer token (`Authorization: Bearer ...`).
    Bearer {
        /// The token clients must send. Required.
        token: String,
    },
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"**REDACTED**")
                .finish(),
            AuthConfig::Bearer { .. } => f.debug_struct("Bearer").field("token", &"**REDACTED**").finish(),
        }
    }
}

/// The `http_server` source (Vector's `http_server`, formerly `http`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// The address to listen on, such as `127.0.0.1:8080` (`0.0.0.0:8080` for every interface).
    /// Required.
    pub address: SocketAddr,
    /// The URL path that accepts events. Default: `/`.
    #[serde(default = "default_path")]
    pub path: String,
    /// When true only `path` itself is accepted; when false any path under it is. Other paths
    /// are answered 404. Default: true.
    #[serde(default = "default_true")]
    pub strict_path: bool,
    /// The HTTP method accepted: `POST`, `PUT` or `PATCH`; others are answered 405. Default:
    /// `POST`.
    #[serde(default)]
    pub method: HttpMethod,
    /// The largest request body in bytes, both as received and after `Content-Encoding` is
    /// undone; larger bodies are answered 413. Default: 10485760 (10 MiB).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Request headers copied into each event, under the header's name as written here; a header
    /// the request lacks becomes `null`. Default: none.
    #[serde(default)]
    pub headers: Vec<String>,
    /// Query parameters copied into each event, under the parameter's name; a missing one becomes
    /// `null`, a repeated one an array. Default: none.
    #[serde(default)]
    pub query_parameters: Vec<String>,
    /// The field that receives the client's IP address; `""` leaves it out. Default:
    /// `log_schema.host_key`.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The field that receives the request's path; `""` leaves it out. Default: `path`.
    #[serde(default = "default_path_key")]
    pub path_key: String,
    /// Client authentication; requests without valid credentials are answered 401. Default: none.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// The status code of a successful response, 200 to 299. Default: 200.
    #[serde(default = "default_response_code")]
    pub response_code: u16,
    /// How a body is split into frames. Default: `bytes` (the whole body is one frame) for the
    /// `json` codec, `newline_delimited` otherwise, limited to `max_body_bytes`.
    #[serde(default)]
    pub framing: Option<FramingConfig>,
    /// How each frame becomes events. Default: `bytes` (the frame is the `message`).
    #[serde(default)]
    pub decoding: DecodingConfig,
    /// HTTPS: `enabled`, `crt_file`, `key_file`, and `ca_file` with `verify_certificate` to
    /// require client certificates. The files are read when the source is built. Default: off.
    #[serde(default)]
    pub tls: Option<ServerTlsConfig>,
}

#[async_trait]
impl SourceConfig for HttpServerConfig {
    async fn build(&self, cx: SourceContext) -> Result<strata_core::source::Source, BuildError> {
        let tls = super::server::acceptor(self)?;
        let listener = super::server::bind(self.address).await?;
        Ok(Box::pin(super::server::run(self.clone(), listener, tls, cx)))
    }

    fn outputs(&self) -> Vec<Output> {
        vec![Output::default(DataType::LOG)]
    }

    fn resources(&self) -> Vec<Resource> {
        vec![Resource::Tcp(self.address)]
    }

    fn can_acknowledge(&self) -> bool {
        true
    }

    fn validate(&self) -> Vec<String> {
        let mut errors: Vec<String> =
            self.framing.as_ref().and_then(|f| f.validate().err()).into_iter().collect();
        if !self.path.starts_with('/') {
            errors.push(format!("`path` must start with `/`, got {:?}", self.path));
        }
        if self.max_body_bytes == 0 {
            errors.push("`max_body_bytes` must be at least 1".to_owned());
        }
        if !(200..=299).contains(&self.response_code) {
            errors.push(format!("`response_code` must be between 200 and 299, got {}", self.response_code));
        }
        if let Some(tls) = &self.tls {
            errors.extend(tls.validate());
        }
        for name in &self.headers {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                errors.push(format!("`headers` holds {name:?}, which is not a valid header name"));
            }
        }
        errors
    }
}

impl HttpServerConfig {
    /// The framing to use: `framing` if given, else the codec's default bounded by
    /// `max_body_bytes` (the body is bounded already, so no smaller limit is needed).
    pub(super) fn framing(&self) -> FramingConfig {
        if let Some(framing) = &self.framing {
            return framing.clone();
        }
        match self.decoding.codec {
            DeserializerConfig::Json => FramingConfig {
                method: FramingMethod::Bytes,
                bytes: MaxLengthOptions { max_length: Some(self.max_body_bytes) },
                ..FramingConfig::default()
            },
            _ => FramingConfig::newline(self.max_body_bytes),
        }
    }
}
