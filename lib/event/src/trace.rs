//! Trace events: one span, as a structured object.
//!
//! A span keeps the OpenTelemetry field names (`trace_id`, `span_id`, `parent_span_id`, `name`,
//! `kind`, `start_time_unix_nano`, `end_time_unix_nano`, `attributes`, `resource`, `events`, `links`,
//! `status`) so that OTLP in and out map one to one, while `remap` edits spans like logs.

use vrl::value::{ObjectMap, Value};

use crate::{EventMetadata, LogEvent};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceEvent(LogEvent);

impl TraceEvent {
    pub fn from_map(map: ObjectMap, metadata: EventMetadata) -> Self {
        Self(LogEvent::from_map(map, metadata))
    }

    pub fn value(&self) -> &Value {
        self.0.value()
    }

    pub fn value_mut(&mut self) -> &mut Value {
        self.0.value_mut()
    }

    pub fn metadata(&self) -> &EventMetadata {
        self.0.metadata()
    }

    pub fn metadata_mut(&mut self) -> &mut EventMetadata {
        self.0.metadata_mut()
    }

    pub fn parts_mut(&mut self) -> (&mut Value, &mut EventMetadata) {
        self.0.parts_mut()
    }

    pub fn get(&self, path: &str) -> Option<&Value> {
        self.0.get(path)
    }

    pub fn insert(&mut self, path: &str, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(path, value)
    }

    pub fn as_log(&self) -> &LogEvent {
        &self.0
    }
}

impl From<LogEvent> for TraceEvent {
    fn from(log: LogEvent) -> Self {
        Self(log)
    }
}
