//! The driver's options: `batch.*`, `request.*`, `compression` and `healthcheck.*`, shared by
//! every request-based sink.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use strata_core::Healthcheck;
use strata_core::sink::healthy;

fn default_max_events() -> usize {
    1000
}
fn default_max_bytes() -> usize {
    10 << 20
}
fn default_batch_timeout_secs() -> f64 {
    1.0
}

/// The `batch` table: how many events go into one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// At most this many events per request. Default: 1000.
    #[serde(default = "default_max_events")]
    pub max_events: usize,
    /// At most this many bytes of events per request, measured before encoding. A single event
    /// larger than this is sent alone. Default: 10 MiB.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// Send a partial batch this many seconds after its first event arrived. Default: 1.
    #[serde(default = "default_batch_timeout_secs")]
    pub timeout_secs: f64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_events: default_max_events(),
            max_bytes: default_max_bytes(),
            timeout_secs: default_batch_timeout_secs(),
        }
    }
}

impl BatchConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_events == 0 {
            return Err("option `batch.max_events` must be at least 1".into());
        }
        if self.max_bytes == 0 {
            return Err("option `batch.max_bytes` must be at least 1".into());
        }
        positive_secs("batch.timeout_secs", self.timeout_secs)
    }

    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs)
    }
}

fn positive_secs(option: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 && value < 1e9 {
        Ok(())
    } else {
        Err(format!("option `{option}` must be a positive number of seconds, not {value}"))
    }
}

/// How many requests may be in flight at once: `request.concurrency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConcurrencyConfig {
    /// `"none"`: one request at a time.
    None,
    /// A number: at most this many requests at once.
    Fixed(usize),
    /// `"adaptive"`: the limit follows the destination, see [`AdaptiveConcurrencyConfig`].
    #[default]
    Adaptive,
}

impl Serialize for ConcurrencyConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ConcurrencyConfig::None => serializer.serialize_str("none"),
            ConcurrencyConfig::Fixed(limit) => serializer.serialize_u64(*limit as u64),
            ConcurrencyConfig::Adaptive => serializer.serialize_str("adaptive"),
        }
    }
}

impl<'de> Deserialize<'de> for ConcurrencyConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ConcurrencyConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a positive number, "adaptive" or "none""#)
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
                match usize::try_from(value) {
                    Ok(limit) if limit > 0 => Ok(ConcurrencyConfig::Fixed(limit)),
                    _ => Err(E::custom(format!("invalid concurrency {value}: expected at least 1"))),
                }
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
                match u64::try_from(value) {
                    Ok(value) => self.visit_u64(value),
                    Err(_) => Err(E::custom(format!("invalid concurrency {value}: expected at least 1"))),
                }
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
                match value {
                    "adaptive" => Ok(ConcurrencyConfig::Adaptive),
                    "none" => Ok(ConcurrencyConfig::None),
                    other => Err(E::custom(format!(
                        r#"invalid concurrency `{other}`: expected a number, "adaptive" or "none""#
                    ))),
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The `request.adaptive_concurrency` table: tuning of `request.concurrency = "adaptive"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptiveConcurrencyConfig {
    /// The limit to start from. Default: 1.
    pub initial_concurrency: usize,
    /// The limit never grows past this. Default: 200.
    pub max_concurrency_limit: usize,
    /// On backpressure or a slowdown the limit is multiplied by this (0 to 1). Default: 0.9.
    pub decrease_ratio: f64,
    /// Weight of a new round-trip time in the moving average (0 to 1). Default: 0.4.
    pub ewma_alpha: f64,
    /// A round-trip time above the average times this counts as a slowdown. Default: 1.5.
    pub rtt_threshold_ratio: f64,
}

impl Default for AdaptiveConcurrencyConfig {
    fn default() -> Self {
        Self {
            initial_concurrency: 1,
            max_concurrency_limit: 200,
            decrease_ratio: 0.9,
            ewma_alpha: 0.4,
            rtt_threshold_ratio: 1.5,
        }
    }
}

fn default_request_timeout_secs() -> f64 {
    60.0
}
fn default_rate_limit_duration_secs() -> f64 {
    1.0
}
fn default_rate_limit_num() -> u64 {
    u64::MAX
}
fn default_retry_attempts() -> u64 {
    // Vector retries forever by default. A finite but very large number keeps the intent (never
    // give up on a destination that is down for a while) and still bounds a stuck batch: with the
    // default 30 s cap this is about 83 hours of retrying.
    10_000
}
fn default_retry_initial_backoff_secs() -> f64 {
    1.0
}
fn default_retry_max_duration_secs() -> f64 {
    30.0
}

/// The `request` table: concurrency, timeouts, rate limit and retries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestConfig {
    /// A number of requests in flight at once, `"adaptive"` (the limit follows observed round-trip
    /// times and backpressure responses) or `"none"` (one at a time). Default: `"adaptive"`.
    #[serde(default)]
    pub concurrency: ConcurrencyConfig,
    /// Tuning of adaptive concurrency. Default: see each option.
    #[serde(default)]
    pub adaptive_concurrency: AdaptiveConcurrencyConfig,
    /// Give up on one attempt after this many seconds and retry it. Default: 60.
    #[serde(default = "default_request_timeout_secs")]
    pub timeout_secs: f64,
    /// At most this many requests start per `rate_limit_duration_secs`. Default: unlimited.
    #[serde(default = "default_rate_limit_num")]
    pub rate_limit_num: u64,
    /// The window of `rate_limit_num`, in seconds. Default: 1.
    #[serde(default = "default_rate_limit_duration_secs")]
    pub rate_limit_duration_secs: f64,
    /// Retry a failed request at most this many times before its events are reported errored,
    /// or handed to the sink's `rejected` output when a component reads `<id>.rejected`.
    /// Default: 10000 (about 83 hours with the default backoff).
    #[serde(default = "default_retry_attempts")]
    pub retry_attempts: u64,
    /// The first backoff, in seconds; it doubles with every retry. Default: 1.
    #[serde(default = "default_retry_initial_backoff_secs")]
    pub retry_initial_backoff_secs: f64,
    /// The longest backoff between two retries, in seconds. Default: 30.
    #[serde(default = "default_retry_max_duration_secs")]
    pub retry_max_duration_secs: f64,
}

impl Default for RequestConfig {
    fn default() -> Self {
        Self {
            concurrency: ConcurrencyConfig::default(),
            adaptive_concurrency: AdaptiveConcurrencyConfig::default(),
            timeout_secs: default_request_timeout_secs(),
            rate_limit_num: default_rate_limit_num(),
            rate_limit_duration_secs: default_rate_limit_duration_secs(),
            retry_attempts: default_retry_attempts(),
            retry_initial_backoff_secs: default_retry_initial_backoff_secs(),
            retry_max_duration_secs: default_retry_max_duration_secs(),
        }
    }
}

impl RequestConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        positive_secs("request.timeout_secs", self.timeout_secs)?;
        positive_secs("request.rate_limit_duration_secs", self.rate_limit_duration_secs)?;
        positive_secs("request.retry_initial_backoff_secs", self.retry_initial_backoff_secs)?;
        positive_secs("request.retry_max_duration_secs", self.retry_max_duration_secs)?;
        if self.rate_limit_num == 0 {
            return Err("option `request.rate_limit_num` must be at least 1".into());
        }
        let adaptive = &self.adaptive_concurrency;
        if adaptive.initial_concurrency == 0 || adaptive.max_concurrency_limit < adaptive.initial_concurrency
        {
            return Err(format!(
                "option `request.adaptive_concurrency`: need 1 <= initial_concurrency ({}) <= max_concurrency_limit ({})",
                adaptive.initial_concurrency, adaptive.max_concurrency_limit
            ));
        }
        for (name, value) in
            [("decrease_ratio", adaptive.decrease_ratio), ("ewma_alpha", adaptive.ewma_alpha)]
        {
            if !(value > 0.0 && value < 1.0) {
                return Err(format!(
                    "option `request.adaptive_concurrency.{name}` must be between 0 and 1, not {value}"
                ));
            }
        }
        if !(adaptive.rtt_threshold_ratio.is_finite() && adaptive.rtt_threshold_ratio > 1.0) {
            return Err(format!(
                "option `request.adaptive_concurrency.rtt_threshold_ratio` must be above 1, not {}",
                adaptive.rtt_threshold_ratio
            ));
        }
        Ok(())
    }
}

/// How request bodies are compressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Plain bytes.
    #[default]
    None,
    /// gzip, default level.
    Gzip,
    /// zstd, default level.
    Zstd,
}

impl Compression {
    /// The `Content-Encoding` of a body compressed this way, if any.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gzip"),
            Compression::Zstd => Some("zstd"),
        }
    }

    /// Compresses `body`. Compressing into memory cannot fail short of allocation failure, but
    /// the encoders' APIs are fallible, so the error is passed on.
    pub fn compress(self, body: Vec<u8>) -> std::io::Result<Vec<u8>> {
        use std::io::Write;
        match self {
            Compression::None => Ok(body),
            Compression::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4),
                    flate2::Compression::default(),
                );
                encoder.write_all(&body)?;
                encoder.finish()
            }
            Compression::Zstd => zstd::stream::encode_all(&body[..], 0),
        }
    }
}

/// The `healthcheck` table of a sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckConfig {
    /// Check the destination when the sink starts. Default: true.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_true() -> bool {
    true
}

impl Default for HealthcheckConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

impl HealthcheckConfig {
    /// The sink's healthcheck: `check` when enabled, a passing one otherwise.
    pub fn build<F>(&self, check: F) -> Healthcheck
    where
        F: Future<Output = Result<(), String>> + Send + 'static,
    {
        if self.enabled { Box::pin(check) } else { healthy() }
    }
}
