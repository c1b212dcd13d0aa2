//! Options of the `http` sink.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use strata_codecs::{Encoder, EncodingConfig, SerializerKind, SinkFraming};
use strata_core::{BuildError, DataType, Healthcheck, Sink, SinkConfig, SinkContext};
use strata_tls::ClientTlsConfig;

use super::service::{BodyShape, HttpService};
use crate::driver::{BatchConfig, Compression, Driver, HealthcheckConfig, RequestConfig};

pub(super) const EXAMPLE: &str = r#"type = "http"
inputs = ["my_source"]
uri = "http://collector.internal:8080/ingest"
method = "post"
encoding.codec = "json"
compression = "gzip"
headers.X-Tenant = "team-a"
batch.max_events = 500
batch.timeout_secs = 1
request.concurrency = "adaptive"
request.retry_attempts = 100
"#;

/// The request method.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
}

/// How the request is authenticated. Tagged by `strategy`, Vector's name for it, so that Vector
/// configs carry over. Secrets are never logged: `Debug` redacts them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case", deny_unknown_fields)]
pub enum Auth {
    /// `Authorization: Basic base64(user:password)`.
    Basic { user: String, password: String },
    /// `Authorization: Bearer <token>`.
    Bearer { token: String },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic { user, .. } => {
                f.debug_struct("Basic").field("user", user).field("password", &"<redacted>").finish()
            }
            Auth::Bearer { .. } => f.debug_struct("Bearer").field("token", &"<redacted>").finish(),
        }
    }
}

/// How events are delimited in a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramingMethod {
    /// One event per line (ndjson with the `json` codec).
    NewlineDelimited,
    /// Encoded events back to back, with nothing between them.
    Bytes,
}

/// The `framing` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpFraming {
    /// `newline_delimited` or `bytes`. Required in the table.
    pub method: FramingMethod,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Where to send requests: an `http://` or `https://` URI. Required.
    pub uri: String,
    /// `post` or `put`. Default: `post`.
    #[serde(default)]
    pub method: HttpMethod,
    /// Extra request headers, name to value; they override the default `Content-Type`.
    /// Default: none.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// `strategy = "basic"` with `user` and `password`, or `strategy = "bearer"` with `token`.
    /// Default: none.
    #[serde(default)]
    pub auth: Option<Auth>,
    /// How events are written (`encoding.codec` = `json`, `text`, `logfmt`, ...). With `json` and
    /// no `framing`, a body is a JSON array of events. Required.
    pub encoding: EncodingConfig,
    /// How events are delimited in a body. Default: a JSON array for `json`, newline-delimited
    /// for every other codec.
    #[serde(default)]
    pub framing: Option<HttpFraming>,
    /// `none`, `gzip` or `zstd`, sent as `Content-Encoding`. Default: `none`.
    #[serde(default)]
    pub compression: Compression,
    /// Batching: `max_events`, `max_bytes`, `timeout_secs`.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Requests: `concurrency`, `timeout_secs`, `rate_limit_*`, `retry_*`.
    #[serde(default)]
    pub request: RequestConfig,
    /// `enabled` (default true): at start, send a `HEAD` request to `uri`; any response below 500
    /// passes.
    #[serde(default)]
    pub healthcheck: HealthcheckConfig,
    /// TLS for `https://` URIs: `ca_file` (default: the built-in Mozilla roots),
    /// `verify_certificate`, `verify_hostname`, `server_name`, and `crt_file` with `key_file`
    /// for a client certificate. The scheme turns TLS on, so `enabled` is refused. The files
    /// are read when the sink is built. Default: the defaults of each option.
    #[serde(default)]
    pub tls: Option<ClientTlsConfig>,
}

impl HttpConfig {
    fn body_shape(&self) -> (BodyShape, SinkFraming) {
        match (self.framing.map(|framing| framing.method), self.encoding.codec) {
            (None, SerializerKind::Json) => (BodyShape::JsonArray, SinkFraming::Bytes),
            (None | Some(FramingMethod::NewlineDelimited), _) => {
                (BodyShape::Concatenated, SinkFraming::NewlineDelimited)
            }
            (Some(FramingMethod::Bytes), _) => (BodyShape::Concatenated, SinkFraming::Bytes),
        }
    }

    pub(crate) fn service(&self) -> Result<HttpService, BuildError> {
        let (shape, framing) = self.body_shape();
        let encoder = Encoder::new(&self.encoding, framing)
            .map_err(|error| BuildError::new(format!("option `encoding`: {error}")))?;
        HttpService::new(self, encoder, shape)
    }
}

#[async_trait]
impl SinkConfig for HttpConfig {
    async fn build(&self, cx: SinkContext) -> Result<(Box<dyn Sink>, Healthcheck), BuildError> {
        let service = self.service()?;
        let healthcheck = self.healthcheck.build(service.healthcheck());
        let driver = Driver::new(service, &self.batch, &self.request, self.compression, cx.metrics)?
            .with_rejected(cx.rejected);
        Ok((Box::new(driver), healthcheck))
    }

    fn input(&self) -> DataType {
        DataType::ALL
    }

    fn validate(&self) -> Vec<String> {
        self.tls.as_ref().map(|tls| tls.validate(false)).unwrap_or_default()
    }
}
