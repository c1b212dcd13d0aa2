//! Helpers shared by sources: standard log fields and bounded-rate reporting of bad input.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use strata_core::{ComponentMetrics, LogSchema, RateLimitedLog};
use strata_event::{Event, EventMetadata, KeyString, LogEvent, RawLogSchema, Value};

/// This machine's host name, read once.
pub fn hostname() -> Bytes {
    static HOST: OnceLock<Bytes> = OnceLock::new();
    HOST.get_or_init(|| Bytes::from(gethostname::gethostname().to_string_lossy().into_owned())).clone()
}

/// The standard fields every log source adds, keyed by `log_schema`. Built once per source so
/// that the per-event cost is a few map inserts, or none for a raw line.
#[derive(Debug, Clone)]
pub struct StandardFields {
    /// The message and timestamp names with `source_type` and `host` as constants.
    raw: Arc<RawLogSchema>,
}

impl StandardFields {
    /// `host_key`: `None` uses the schema's host key; `Some("")` leaves the host out.
    pub fn new(schema: &LogSchema, source_type: &'static str, host_key: Option<&str>) -> Self {
        let host_key = host_key.unwrap_or(&schema.host_key);
        let source_type = (
            KeyString::from(schema.source_type_key.as_str()),
            Value::Bytes(Bytes::from_static(source_type.as_bytes())),
        );
        let host = (!host_key.is_empty()).then(|| (KeyString::from(host_key), Value::Bytes(hostname())));
        let constants = std::iter::once(source_type).chain(host).collect();
        Self { raw: RawLogSchema::new(&schema.message_key, &schema.timestamp_key, constants) }
    }

    /// A log of one raw line with the standard fields. It stays a compact raw line (no map, no
    /// per-field allocation) until something reads its fields; see `LogEvent::raw`.
    pub fn raw_log(&self, message: Bytes, metadata: EventMetadata, now: DateTime<Utc>) -> Event {
        Event::Log(LogEvent::raw(message, now, &self.raw, metadata))
    }

    /// The raw-line schema with `extra` constant fields ahead of the standard ones: a file's path
    /// or a connection's peer, shared by every line from it.
    pub fn raw_schema_with(&self, extra: impl IntoIterator<Item = (KeyString, Value)>) -> Arc<RawLogSchema> {
        self.raw.with_constants(extra)
    }

    /// Adds `timestamp`, `source_type` and `host` to a log, keeping any the decoder already set.
    pub fn apply(&self, event: &mut Event, now: DateTime<Utc>) {
        let Event::Log(log) = event else { return };
        let Value::Object(map) = log.value_mut() else { return };
        self.raw.fill(map, now);
    }
}

/// Counts a bad frame or event and logs it at a bounded rate.
pub fn report_bad_input(
    metrics: &ComponentMetrics,
    limiter: &RateLimitedLog,
    error_type: &'static str,
    message: &dyn std::fmt::Display,
) {
    metrics.error(error_type, "receiving");
    metrics.discarded(1);
    if let Some(suppressed) = limiter.check() {
        tracing::warn!(error_type, suppressed, "discarded input: {message}");
    }
}
