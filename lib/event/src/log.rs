//! Log events: a structured object of VRL values plus metadata.

use std::sync::Arc;

use bytes::Bytes;
use vrl::path::{OwnedSegment, OwnedValuePath, parse_value_path};
use vrl::value::{KeyString, ObjectMap, Value};

use crate::EventMetadata;

/// A log record. Its fields are an object behind an `Arc`, shared until first written.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEvent {
    fields: Arc<Value>,
    metadata: EventMetadata,
}

impl Default for LogEvent {
    fn default() -> Self {
        Self::from_map(ObjectMap::new(), EventMetadata::default())
    }
}

impl LogEvent {
    pub fn from_map(map: ObjectMap, metadata: EventMetadata) -> Self {
        Self { fields: Arc::new(Value::Object(map)), metadata }
    }

    /// A log whose root is `value`. A non-object root is kept under `message`, the way a source
    /// treats a bare line.
    pub fn from_value(value: Value, metadata: EventMetadata) -> Self {
        match value {
            Value::Object(map) => Self::from_map(map, metadata),
            other => {
                let mut map = ObjectMap::new();
                map.insert(KeyString::from("message"), other);
                Self::from_map(map, metadata)
            }
        }
    }

    /// A log with a single `message` field.
    pub fn from_message(message: impl Into<Bytes>, metadata: EventMetadata) -> Self {
        let mut map = ObjectMap::new();
        map.insert(KeyString::from("message"), Value::Bytes(message.into()));
        Self::from_map(map, metadata)
    }

    pub fn value(&self) -> &Value {
        &self.fields
    }

    /// Mutable access to the fields; copies them first if another event shares them.
    pub fn value_mut(&mut self) -> &mut Value {
        Arc::make_mut(&mut self.fields)
    }

    /// The top-level object, if the root is one (it is unless a program replaced it).
    pub fn as_map(&self) -> Option<&ObjectMap> {
        self.fields.as_object()
    }

    pub fn metadata(&self) -> &EventMetadata {
        &self.metadata
    }

    pub fn metadata_mut(&mut self) -> &mut EventMetadata {
        &mut self.metadata
    }

    /// Both halves at once, mutable: what a VRL target needs.
    pub fn parts_mut(&mut self) -> (&mut Value, &mut EventMetadata) {
        (Arc::make_mut(&mut self.fields), &mut self.metadata)
    }

    pub fn into_parts(self) -> (Value, EventMetadata) {
        let fields = Arc::try_unwrap(self.fields).unwrap_or_else(|shared| (*shared).clone());
        (fields, self.metadata)
    }

    /// The value at a path such as `message`, `.kubernetes.pod_name` or `tags[0]`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.fields.get(&parse_path(path))
    }

    pub fn get_path(&self, path: &OwnedValuePath) -> Option<&Value> {
        self.fields.get(path)
    }

    /// Inserts at a path, creating intermediate objects; returns the value it replaced.
    pub fn insert(&mut self, path: &str, value: impl Into<Value>) -> Option<Value> {
        let path = parse_path(path);
        self.value_mut().insert(&path, value.into())
    }

    pub fn insert_path(&mut self, path: &OwnedValuePath, value: impl Into<Value>) -> Option<Value> {
        self.value_mut().insert(path, value.into())
    }

    /// Inserts a top-level field without parsing a path: the fast path for sources.
    pub fn insert_field(&mut self, key: &str, value: impl Into<Value>) {
        if let Value::Object(map) = self.value_mut() {
            map.insert(KeyString::from(key), value.into());
        }
    }

    pub fn remove(&mut self, path: &str) -> Option<Value> {
        let path = parse_path(path);
        self.value_mut().remove(&path, false)
    }

    pub fn contains(&self, path: &str) -> bool {
        self.fields.contains(&parse_path(path))
    }

    /// The `message` field, the conventional home of a raw line.
    pub fn message(&self) -> Option<&Value> {
        self.as_map().and_then(|map| map.get("message"))
    }
}

/// Parses a field path; text that is not a valid path is taken as one literal top-level key, so a
/// key such as `a b` still works where a path is expected.
fn parse_path(path: &str) -> OwnedValuePath {
    parse_value_path(path).unwrap_or_else(|_| OwnedValuePath::from(vec![OwnedSegment::field(path)]))
}
