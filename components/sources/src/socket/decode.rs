//! Framing, decoding and peer fields for the socket sources: bytes from one peer in, events out.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use strata_codecs::{Decoder, DecodingConfig, DeserializerConfig, FrameError, FramingConfig};
use strata_core::{ComponentMetrics, RateLimitedLog, SourceContext};
use strata_event::{Event, EventMetadata, KeyString, LogEvent, RawLogSchema, SourceId, Value};

use super::listener::Settings;
use crate::common::{StandardFields, report_bad_input};

/// Where a connection or datagram came from, as the values stamped on its events.
#[derive(Debug, Clone)]
pub(super) struct Peer {
    host: Value,
    /// The peer's port; `None` for Unix sockets, whose events carry the socket path as `host`.
    port: Option<Value>,
    /// The raw-line schema with this peer's fields, built on the first raw line.
    raw: OnceLock<Arc<RawLogSchema>>,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.host.to_string_lossy())?;
        match &self.port {
            Some(port) => write!(f, ":{}", port.to_string_lossy()),
            None => Ok(()),
        }
    }
}

impl Peer {
    pub(super) fn ip(address: SocketAddr) -> Self {
        Self {
            host: Value::Bytes(Bytes::from(address.ip().to_string())),
            port: Some(Value::Integer(i64::from(address.port()))),
            raw: OnceLock::new(),
        }
    }

    pub(super) fn path(path: &Path) -> Self {
        let host = Value::Bytes(Bytes::from(path.to_string_lossy().into_owned()));
        Self { host, port: None, raw: OnceLock::new() }
    }
}

/// What every connection of one source shares: the codec options and the field names.
#[derive(Debug)]
pub(super) struct Receiver {
    source_type: &'static str,
    source_id: SourceId,
    framing: FramingConfig,
    decoding: DecodingConfig,
    /// `timestamp` and `source_type`; the host is the peer's, added by `enrich`.
    fields: StandardFields,
    /// Frames become raw lines (`decoding.codec = "bytes"`, no syslog fields): the fast path.
    raw: bool,
    host_key: Option<KeyString>,
    port_key: Option<KeyString>,
    /// Syslog's habits: `host` is the message's `hostname` when it has one, and the peer's address
    /// also goes to `source_ip`.
    syslog_fields: bool,
    pub(super) metrics: ComponentMetrics,
    pub(super) limiter: RateLimitedLog,
}

impl Receiver {
    pub(super) fn new(settings: &Settings, cx: &SourceContext) -> Self {
        let schema = &cx.globals.log_schema;
        let host_key = settings.host_key.as_deref().unwrap_or(&schema.host_key);
        let key = |name: &str| (!name.is_empty()).then(|| KeyString::from(name));
        Self {
            source_type: settings.source_type,
            source_id: cx.source_id,
            framing: settings.framing.clone(),
            decoding: settings.decoding.clone(),
            fields: StandardFields::new(schema, settings.source_type, Some("")),
            raw: settings.decoding.codec == DeserializerConfig::Bytes && !settings.syslog_fields,
            host_key: key(host_key),
            port_key: settings.port_key.as_deref().and_then(key),
            syslog_fields: settings.syslog_fields,
            metrics: cx.metrics.clone(),
            limiter: RateLimitedLog::default(),
        }
    }

    /// A fresh decoder: framers keep state, so each connection needs its own.
    pub(super) fn decoder(&self) -> Decoder {
        Decoder::new(&self.framing, &self.decoding)
    }

    pub(super) fn max_length(&self) -> usize {
        self.framing.max_length()
    }

    /// Frames and decodes everything complete in `buffer`, and the rest too when `at_end`. Bad
    /// frames are reported and skipped.
    pub(super) fn decode(
        &self,
        decoder: &mut Decoder,
        buffer: &mut BytesMut,
        at_end: bool,
        peer: &Peer,
    ) -> Vec<Event> {
        let now = Utc::now();
        let metadata = EventMetadata::new(self.source_id, self.source_type, now);
        let mut events = Vec::new();
        loop {
            let frame = match decoder.framer.next_frame(buffer) {
                Ok(None) if at_end => decoder.framer.finish(buffer),
                other => other,
            };
            match frame {
                Ok(Some(frame)) if self.raw => {
                    events.push(Event::Log(LogEvent::raw(
                        frame,
                        now,
                        self.raw_schema(peer),
                        metadata.clone(),
                    )));
                }
                Ok(Some(frame)) => {
                    let start = events.len();
                    if let Err(error) = decoder.deserialize(frame, &metadata, &mut events) {
                        report_bad_input(&self.metrics, &self.limiter, "decode_failed", &error);
                    }
                    for event in &mut events[start..] {
                        self.enrich(event, peer, now);
                    }
                }
                Ok(None) => break,
                Err(error @ FrameError::TooLong { .. }) => {
                    report_bad_input(&self.metrics, &self.limiter, "oversized", &error)
                }
            }
        }
        events
    }

    /// The standard fields and the peer's, for raw lines: the same fields `enrich` adds.
    fn raw_schema<'p>(&self, peer: &'p Peer) -> &'p Arc<RawLogSchema> {
        peer.raw.get_or_init(|| {
            let host = self.host_key.clone().map(|key| (key, peer.host.clone()));
            let port = self.port_key.clone().zip(peer.port.clone());
            self.fields.raw_schema_with(host.into_iter().chain(port))
        })
    }

    /// Adds the standard fields and the peer's, keeping any the decoder already set.
    fn enrich(&self, event: &mut Event, peer: &Peer, now: DateTime<Utc>) {
        self.fields.apply(event, now);
        let Event::Log(log) = event else { return };
        let Value::Object(map) = log.value_mut() else { return };
        if let Some(key) = &self.host_key {
            let parsed = match map.get("hostname") {
                Some(hostname @ (Value::Bytes(_) | Value::String(_))) if self.syslog_fields => {
                    Some(hostname.clone())
                }
                _ => None,
            };
            map.entry(key.clone()).or_insert_with(|| parsed.unwrap_or_else(|| peer.host.clone()));
        }
        if self.syslog_fields && peer.port.is_some() {
            map.entry(KeyString::from("source_ip")).or_insert_with(|| peer.host.clone());
        }
        if let (Some(key), Some(port)) = (&self.port_key, &peer.port) {
            map.entry(key.clone()).or_insert_with(|| port.clone());
        }
    }
}
