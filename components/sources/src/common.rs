//! Helpers shared by sources: standard log fields and bounded-rate reporting of bad input.

use std::sync::OnceLock;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use strata_core::{ComponentMetrics, LogSchema, RateLimitedLog};
use strata_event::{Event, EventMetadata, KeyString, LogEvent, ObjectMap, Value};

/// This machine's host name, read once.
pub fn hostname() -> Bytes {
    static HOST: OnceLock<Bytes> = OnceLock::new();
    HOST.get_or_init(|| Bytes::from(gethostname::gethostname().to_string_lossy().into_owned())).clone()
}

/// The standard fields every log source adds, keyed by `log_schema`. Built once per source so
/// that the per-event cost is a few map inserts.
#[derive(Debug, Clone)]
pub struct StandardFields {
    timestamp_key: KeyString,
    source_type_key: KeyString,
    source_type: Value,
    host: Option<(KeyString, Value)>,
}

impl StandardFields {
    /// `host_key`: `None` uses the schema's host key; `Some("")` leaves the host out.
    pub fn new(schema: &LogSchema, source_type: &'static str, host_key: Option<&str>) -> Self {
        let host_key = host_key.unwrap_or(&schema.host_key);
        Self {
            timestamp_key: KeyString::from(schema.timestamp_key.as_str()),
            source_type_key: KeyString::from(schema.source_type_key.as_str()),
            source_type: Value::Bytes(Bytes::from_static(source_type.as_bytes())),
            host: (!host_key.is_empty()).then(|| (KeyString::from(host_key), Value::Bytes(hostname()))),
        }
    }

    /// A log of one raw line with the standard fields, built in one step: the map is bulk-built
    /// from its entries instead of searched and shifted once per field, which is most of the cost
    /// of a raw line.
    pub fn raw_log(
        &self,
        message_key: &KeyString,
        message: Bytes,
        metadata: EventMetadata,
        now: DateTime<Utc>,
    ) -> Event {
        let message = (message_key.clone(), Value::Bytes(message));
        let timestamp = (self.timestamp_key.clone(), Value::Timestamp(now));
        let source_type = (self.source_type_key.clone(), self.source_type.clone());
        // `From<[_; N]>` sorts in place and bulk-builds: no temporary vector per event. A schema
        // naming two fields alike keeps one of them, as `apply` would.
        let map = match &self.host {
            Some((key, host)) => {
                ObjectMap::from([message, timestamp, source_type, (key.clone(), host.clone())])
            }
            None => ObjectMap::from([message, timestamp, source_type]),
        };
        Event::Log(LogEvent::from_map(map, metadata))
    }

    /// Adds `timestamp`, `source_type` and `host` to a log, keeping any the decoder already set.
    pub fn apply(&self, event: &mut Event, now: DateTime<Utc>) {
        let Event::Log(log) = event else { return };
        let Value::Object(map) = log.value_mut() else { return };
        map.entry(self.timestamp_key.clone()).or_insert(Value::Timestamp(now));
        map.entry(self.source_type_key.clone()).or_insert_with(|| self.source_type.clone());
        if let Some((key, host)) = &self.host {
            map.entry(key.clone()).or_insert_with(|| host.clone());
        }
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
