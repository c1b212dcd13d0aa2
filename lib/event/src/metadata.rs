//! Per-event metadata: origin, ingest time, VRL metadata and delivery finalizers.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use vrl::value::{ObjectMap, Value};

use crate::EventFinalizers;

/// The id of the source an event came from, interned so that copying it costs nothing.
///
/// Ids are interned for the life of the process. Their number is bounded by the component ids the
/// operator ever configures, which keeps the leak small and lets every event carry a `&'static str`
/// instead of a reference-counted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(&'static str);

impl SourceId {
    pub fn intern(id: &str) -> Self {
        static IDS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
        let ids = IDS.get_or_init(Default::default);
        // A poisoned lock only means another thread panicked while inserting; the set is still valid.
        let mut ids = ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(existing) = ids.get(id) {
            return Self(existing);
        }
        let leaked: &'static str = Box::leak(id.to_owned().into_boxed_str());
        ids.insert(leaked);
        Self(leaked)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// What the pipeline knows about an event beyond its fields.
#[derive(Debug, Clone)]
pub struct EventMetadata {
    source_id: Option<SourceId>,
    source_type: Option<&'static str>,
    ingest_timestamp: Option<DateTime<Utc>>,
    /// VRL's `%` metadata namespace; an empty object until a program writes to it.
    value: Value,
    finalizers: EventFinalizers,
}

impl Default for EventMetadata {
    fn default() -> Self {
        Self {
            source_id: None,
            source_type: None,
            ingest_timestamp: None,
            value: Value::Object(ObjectMap::new()),
            finalizers: EventFinalizers::default(),
        }
    }
}

impl PartialEq for EventMetadata {
    // Finalizers are delivery plumbing, not content: two events with the same fields and origin
    // are equal whoever waits for their delivery.
    fn eq(&self, other: &Self) -> bool {
        self.source_id == other.source_id
            && self.source_type == other.source_type
            && self.ingest_timestamp == other.ingest_timestamp
            && self.value == other.value
    }
}

impl EventMetadata {
    pub fn new(source_id: SourceId, source_type: &'static str, ingest_timestamp: DateTime<Utc>) -> Self {
        Self {
            source_id: Some(source_id),
            source_type: Some(source_type),
            ingest_timestamp: Some(ingest_timestamp),
            value: Value::Object(ObjectMap::new()),
            finalizers: EventFinalizers::default(),
        }
    }

    pub fn source_id(&self) -> Option<SourceId> {
        self.source_id
    }

    pub fn source_type(&self) -> Option<&'static str> {
        self.source_type
    }

    /// When the source took the event in, to the nanosecond.
    pub fn ingest_timestamp(&self) -> Option<DateTime<Utc>> {
        self.ingest_timestamp
    }

    pub fn set_ingest_timestamp(&mut self, timestamp: DateTime<Utc>) {
        self.ingest_timestamp = Some(timestamp);
    }

    pub fn value(&self) -> &Value {
        &self.value
    }

    pub fn value_mut(&mut self) -> &mut Value {
        if !matches!(self.value, Value::Object(_)) {
            self.value = Value::Object(ObjectMap::new());
        }
        &mut self.value
    }

    pub fn finalizers(&self) -> &EventFinalizers {
        &self.finalizers
    }

    pub fn add_finalizers(&mut self, finalizers: EventFinalizers) {
        self.finalizers.merge(finalizers);
    }

    pub fn take_finalizers(&mut self) -> EventFinalizers {
        std::mem::take(&mut self.finalizers)
    }
}
