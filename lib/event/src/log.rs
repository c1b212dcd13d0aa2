//! Log events: a structured object of VRL values plus metadata.
//!
//! A raw line from a source (one `message`, an ingest timestamp and the source's constant fields)
//! is kept in that compact form until someone looks at its fields: a pipeline that only moves
//! lines (stdin or a socket into a blackhole, a file or a socket) never builds a map per event.
//! The first read of [`LogEvent::value`] builds the map once and keeps it; the first write turns
//! the event into an ordinary object for good. Both forms look the same from outside.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use vrl::path::{OwnedSegment, OwnedValuePath, parse_value_path};
use vrl::value::{KeyString, ObjectMap, Value};

use crate::EventMetadata;

/// The field names and constant fields shared by every raw line of one source, built once per
/// source.
#[derive(Debug, PartialEq)]
pub struct RawLogSchema {
    message_key: KeyString,
    timestamp_key: KeyString,
    /// Fields with the same value on every line (`source_type`, `host`).
    constants: Vec<(KeyString, Value)>,
    /// The fields in key order, each name once: the map's iteration order, for encoders that
    /// write a raw line without building it.
    order: Vec<Slot>,
}

impl RawLogSchema {
    /// When two names collide the first wins, in the order message, timestamp, constants.
    pub fn new(message_key: &str, timestamp_key: &str, constants: Vec<(KeyString, Value)>) -> Arc<Self> {
        Self::build(KeyString::from(message_key), KeyString::from(timestamp_key), constants)
    }

    fn build(
        message_key: KeyString,
        timestamp_key: KeyString,
        constants: Vec<(KeyString, Value)>,
    ) -> Arc<Self> {
        let mut order = vec![(message_key.clone(), Slot::Message)];
        let mut add = |key: &KeyString, slot: Slot| {
            if !order.iter().any(|(taken, _)| taken == key) {
                order.push((key.clone(), slot));
            }
        };
        add(&timestamp_key, Slot::Timestamp);
        for (index, (key, _)) in constants.iter().enumerate() {
            add(key, Slot::Constant(index));
        }
        order.sort_by(|(a, _), (b, _)| a.cmp(b));
        let order = order.into_iter().map(|(_, slot)| slot).collect();
        Arc::new(Self { message_key, timestamp_key, constants, order })
    }

    /// The same schema with `extra` constants ahead of this one's (they win a name collision
    /// with them): a source's standard fields plus a file's path or a connection's peer.
    pub fn with_constants(&self, extra: impl IntoIterator<Item = (KeyString, Value)>) -> Arc<Self> {
        let constants = extra.into_iter().chain(self.constants.iter().cloned()).collect();
        Self::build(self.message_key.clone(), self.timestamp_key.clone(), constants)
    }

    /// Adds the timestamp and the constant fields to `map`, keeping any it already has: the
    /// same fields for a line a decoder turned into fields of its own.
    pub fn fill(&self, map: &mut ObjectMap, timestamp: DateTime<Utc>) {
        map.entry(self.timestamp_key.clone()).or_insert(Value::Timestamp(timestamp));
        for (key, value) in &self.constants {
            map.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }

    fn key(&self, slot: Slot) -> &str {
        match slot {
            Slot::Message => &self.message_key,
            Slot::Timestamp => &self.timestamp_key,
            Slot::Constant(index) => &self.constants[index].0,
        }
    }
}

/// Where a raw line's field comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Slot {
    Message,
    Timestamp,
    Constant(usize),
}

/// A line not yet turned into a map.
#[derive(Debug, Clone)]
struct RawLog {
    /// Always `Value::Bytes`, kept as a `Value` so [`LogEvent::message`] can lend it.
    message: Value,
    timestamp: DateTime<Utc>,
    schema: Arc<RawLogSchema>,
}

impl RawLog {
    /// Calls `visit` with each field as the built map holds it, in the map's key order: the
    /// schema's `order` is the one place that decides which field a name collision keeps.
    fn for_each_field(&self, mut visit: impl FnMut(&str, &Value)) {
        let schema = &*self.schema;
        let timestamp = Value::Timestamp(self.timestamp);
        for &slot in &schema.order {
            let value = match slot {
                Slot::Message => &self.message,
                Slot::Timestamp => &timestamp,
                Slot::Constant(index) => &schema.constants[index].1,
            };
            visit(schema.key(slot), value);
        }
    }

    fn build(&self) -> Value {
        let mut map = ObjectMap::new();
        self.for_each_field(|key, value| {
            map.insert(KeyString::from(key), value.clone());
        });
        Value::Object(map)
    }

    /// What `size::value_size` says of the built map, without building it.
    fn estimated_size(&self) -> usize {
        let mut size = crate::size::value_size(&Value::Null);
        self.for_each_field(|key, value| size += key.len() + crate::size::value_size(value));
        size
    }
}

#[derive(Debug, Clone)]
enum Fields {
    /// An object (or, after a program replaced the root, any value), shared until first written.
    Built(Arc<Value>),
    /// A raw line; `built` caches the map once something reads the fields.
    Raw { raw: RawLog, built: OnceLock<Arc<Value>> },
}

impl Fields {
    /// Turns a raw line into a built object (reusing the cached map) and returns it.
    fn built_mut(&mut self) -> &mut Arc<Value> {
        if let Fields::Raw { raw, built } = self {
            let value = built.take().unwrap_or_else(|| Arc::new(raw.build()));
            *self = Fields::Built(value);
        }
        match self {
            Fields::Built(value) => value,
            Fields::Raw { .. } => unreachable!("converted just above"),
        }
    }
}

/// A log record. Its fields are an object behind an `Arc`, shared until first written.
#[derive(Debug, Clone)]
pub struct LogEvent {
    fields: Fields,
    metadata: EventMetadata,
}

impl PartialEq for LogEvent {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value() && self.metadata == other.metadata
    }
}

impl Default for LogEvent {
    fn default() -> Self {
        Self::from_map(ObjectMap::new(), EventMetadata::default())
    }
}

impl LogEvent {
    pub fn from_map(map: ObjectMap, metadata: EventMetadata) -> Self {
        Self { fields: Fields::Built(Arc::new(Value::Object(map))), metadata }
    }

    /// A raw line with the standard fields of `schema`, kept compact until its fields are read.
    pub fn raw(
        message: Bytes,
        timestamp: DateTime<Utc>,
        schema: &Arc<RawLogSchema>,
        metadata: EventMetadata,
    ) -> Self {
        let raw = RawLog { message: Value::Bytes(message), timestamp, schema: Arc::clone(schema) };
        Self { fields: Fields::Raw { raw, built: OnceLock::new() }, metadata }
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
        match &self.fields {
            Fields::Built(value) => value,
            Fields::Raw { raw, built } => built.get_or_init(|| Arc::new(raw.build())),
        }
    }

    /// Mutable access to the fields; copies them first if another event shares them.
    pub fn value_mut(&mut self) -> &mut Value {
        Arc::make_mut(self.fields.built_mut())
    }

    /// True while the event is a raw line whose map has not been built.
    pub fn is_raw(&self) -> bool {
        matches!(&self.fields, Fields::Raw { built, .. } if built.get().is_none())
    }

    /// The raw line's message, timestamp and the constant fields, while the event is a raw
    /// line: what an encoder needs to write it without building a map.
    pub fn raw_parts(&self) -> Option<RawParts<'_>> {
        match &self.fields {
            Fields::Raw { raw, .. } => Some(RawParts { raw }),
            Fields::Built(_) => None,
        }
    }

    /// An estimate of the fields' size, for byte-based limits.
    pub(crate) fn estimated_size(&self) -> usize {
        match &self.fields {
            Fields::Raw { raw, .. } => raw.estimated_size(),
            Fields::Built(value) => crate::size::value_size(value),
        }
    }

    /// The top-level object, if the root is one (it is unless a program replaced it).
    pub fn as_map(&self) -> Option<&ObjectMap> {
        self.value().as_object()
    }

    pub fn metadata(&self) -> &EventMetadata {
        &self.metadata
    }

    pub fn metadata_mut(&mut self) -> &mut EventMetadata {
        &mut self.metadata
    }

    /// Both halves at once, mutable: what a VRL target needs.
    pub fn parts_mut(&mut self) -> (&mut Value, &mut EventMetadata) {
        (Arc::make_mut(self.fields.built_mut()), &mut self.metadata)
    }

    pub fn into_parts(self) -> (Value, EventMetadata) {
        let shared = match self.fields {
            Fields::Built(value) => value,
            Fields::Raw { raw, mut built } => match built.take() {
                Some(value) => value,
                None => return (raw.build(), self.metadata),
            },
        };
        let fields = Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone());
        (fields, self.metadata)
    }

    /// The value at a path such as `message`, `.kubernetes.pod_name` or `tags[0]`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.value().get(&parse_path(path))
    }

    pub fn get_path(&self, path: &OwnedValuePath) -> Option<&Value> {
        self.value().get(path)
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
        self.value().contains(&parse_path(path))
    }

    /// The `message` field, the conventional home of a raw line.
    pub fn message(&self) -> Option<&Value> {
        match &self.fields {
            // The message is inserted first, so it wins any name collision.
            Fields::Raw { raw, .. } if raw.schema.message_key.as_str() == "message" => Some(&raw.message),
            _ => self.as_map().and_then(|map| map.get("message")),
        }
    }
}

/// A raw line's parts, borrowed: see [`LogEvent::raw_parts`].
pub struct RawParts<'a> {
    raw: &'a RawLog,
}

impl<'a> RawParts<'a> {
    pub fn message(&self) -> &'a Bytes {
        match &self.raw.message {
            Value::Bytes(bytes) => bytes,
            _ => unreachable!("a raw line's message is always bytes"),
        }
    }

    pub fn timestamp(&self) -> DateTime<Utc> {
        self.raw.timestamp
    }

    pub fn schema(&self) -> &'a RawLogSchema {
        &self.raw.schema
    }

    /// Calls `visit` with each field as the built map would hold it, in the map's key order.
    pub fn for_each_field(&self, visit: impl FnMut(&str, &Value)) {
        self.raw.for_each_field(visit);
    }
}

/// Parses a field path; text that is not a valid path is taken as one literal top-level key, so a
/// key such as `a b` still works where a path is expected.
fn parse_path(path: &str) -> OwnedValuePath {
    parse_value_path(path).unwrap_or_else(|_| OwnedValuePath::from(vec![OwnedSegment::field(path)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceId;

    fn schema() -> Arc<RawLogSchema> {
        let constants = vec![
            (KeyString::from("source_type"), Value::from("stdin")),
            (KeyString::from("host"), Value::from("box")),
        ];
        RawLogSchema::new("message", "timestamp", constants)
    }

    fn raw_line(text: &'static str) -> LogEvent {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        LogEvent::raw(Bytes::from_static(text.as_bytes()), at, &schema(), EventMetadata::default())
    }

    fn built_line(text: &'static str) -> LogEvent {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        let mut map = ObjectMap::new();
        map.insert("message".into(), Value::from(text));
        map.insert("timestamp".into(), Value::Timestamp(at));
        map.insert("source_type".into(), Value::from("stdin"));
        map.insert("host".into(), Value::from("box"));
        LogEvent::from_map(map, EventMetadata::default())
    }

    #[test]
    fn a_raw_line_reads_like_the_map_it_stands_for() {
        let raw = raw_line("hello");
        assert!(raw.is_raw());
        assert_eq!(raw.message(), Some(&Value::from("hello")));
        assert!(raw.is_raw(), "reading the message builds nothing");
        assert_eq!(raw.estimated_size(), crate::size::value_size(built_line("hello").value()));
        assert_eq!(raw, built_line("hello"));
        assert!(!raw.is_raw(), "comparing read the fields, which built the map once");
        assert_eq!(raw.get("host"), Some(&Value::from("box")));
        assert_eq!(raw.into_parts().0, built_line("hello").into_parts().0);
    }

    #[test]
    fn writing_a_raw_line_turns_it_into_an_object_and_leaves_clones_alone() {
        let original = raw_line("hello");
        let mut changed = original.clone();
        changed.insert("extra", 1);
        changed.remove("host");
        assert!(original.is_raw(), "the clone's write did not touch the original");
        assert!(changed.raw_parts().is_none());
        assert_eq!(changed.get("extra"), Some(&Value::from(1)));
        assert_eq!(changed.get("host"), None);
        assert_eq!(original.get("host"), Some(&Value::from("box")));
    }

    #[test]
    fn name_collisions_keep_the_message_then_the_timestamp() {
        let constants = vec![(KeyString::from("message"), Value::from("constant"))];
        let schema = RawLogSchema::new("message", "message", constants);
        let metadata = EventMetadata::new(SourceId::intern("s"), "stdin", Utc::now());
        let log = LogEvent::raw(Bytes::from_static(b"line"), Utc::now(), &schema, metadata);
        let map = log.as_map().unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("message"), Some(&Value::from("line")));
    }

    #[test]
    fn fields_are_visited_in_the_built_maps_order() {
        let schema = schema().with_constants([
            (KeyString::from("file"), Value::from("/var/log/a")),
            (KeyString::from("host"), Value::from("peer")),
        ]);
        let log = LogEvent::raw(Bytes::from_static(b"x"), Utc::now(), &schema, EventMetadata::default());
        let mut visited = Vec::new();
        log.raw_parts().unwrap().for_each_field(|key, value| visited.push((key.to_owned(), value.clone())));
        let built: Vec<_> = log.as_map().unwrap().iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(visited, built);
        assert_eq!(log.get("host"), Some(&Value::from("peer")), "extra constants win");
    }

    #[test]
    fn raw_parts_lend_the_line_without_building() {
        let log = raw_line("hello");
        let parts = log.raw_parts().unwrap();
        assert_eq!(parts.message().as_ref(), b"hello");
        assert_eq!(parts.timestamp().timestamp_subsec_nanos(), 123_456_789);
        assert_eq!(parts.schema().constants.len(), 2);
        assert!(log.is_raw());
    }
}
