//! The stored form of event batches: versioned protobuf, for the disk buffer.
//!
//! A record is one version byte followed by a protobuf `EventArray`. Protobuf keeps the format
//! evolvable: a later version may add fields (old readers skip them) and must never reuse a tag.
//! A new version byte is for a change protobuf cannot absorb. Finalizers are not stored: the
//! buffer itself is the hand-off point for acknowledgements.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use prost::Message;
use vrl::value::{KeyString, ObjectMap, Value};

use crate::{
    Bucket, Event, EventBatch, EventMetadata, LogEvent, Metric, MetricKind, MetricValue, Quantile, Sample,
    SourceId, StatisticKind, TraceEvent,
};

/// The format written by this version.
pub const FORMAT_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtoError {
    #[error("empty record")]
    Empty,
    #[error("record format version {0} is newer than this agent understands ({FORMAT_VERSION})")]
    UnknownVersion(u8),
    #[error("record does not decode: {0}")]
    Invalid(String),
}

#[derive(Clone, PartialEq, Message)]
struct EventArray {
    #[prost(message, repeated, tag = "1")]
    events: Vec<EventProto>,
}

#[derive(Clone, PartialEq, Message)]
struct EventProto {
    #[prost(oneof = "Kind", tags = "1, 2, 3")]
    kind: Option<Kind>,
    #[prost(message, optional, tag = "4")]
    metadata: Option<MetadataProto>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Kind {
    #[prost(message, tag = "1")]
    Log(ValueProto),
    #[prost(message, tag = "2")]
    Metric(MetricProto),
    #[prost(message, tag = "3")]
    Trace(ValueProto),
}

#[derive(Clone, PartialEq, Message)]
struct MetadataProto {
    #[prost(string, tag = "1")]
    source_id: String,
    #[prost(string, tag = "2")]
    source_type: String,
    #[prost(message, optional, tag = "3")]
    ingest_timestamp: Option<TimestampProto>,
    #[prost(message, optional, tag = "4")]
    value: Option<ValueProto>,
}

#[derive(Clone, Copy, PartialEq, Message)]
struct TimestampProto {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(uint32, tag = "2")]
    nanos: u32,
}

#[derive(Clone, PartialEq, Message)]
struct ValueProto {
    #[prost(oneof = "ValueKind", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9")]
    kind: Option<ValueKind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum ValueKind {
    #[prost(bytes, tag = "1")]
    Bytes(bytes::Bytes),
    #[prost(sint64, tag = "2")]
    Integer(i64),
    #[prost(double, tag = "3")]
    Float(f64),
    #[prost(bool, tag = "4")]
    Boolean(bool),
    #[prost(message, tag = "5")]
    Timestamp(TimestampProto),
    #[prost(message, tag = "6")]
    Map(MapProto),
    #[prost(message, tag = "7")]
    Array(ArrayProto),
    #[prost(bool, tag = "8")]
    Null(bool),
    #[prost(string, tag = "9")]
    Regex(String),
}

#[derive(Clone, PartialEq, Message)]
struct MapProto {
    #[prost(btree_map = "string, message", tag = "1")]
    fields: BTreeMap<String, ValueProto>,
}

#[derive(Clone, PartialEq, Message)]
struct ArrayProto {
    #[prost(message, repeated, tag = "1")]
    items: Vec<ValueProto>,
}

#[derive(Clone, PartialEq, Message)]
struct MetricProto {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, optional, tag = "2")]
    namespace: Option<String>,
    #[prost(btree_map = "string, string", tag = "3")]
    tags: BTreeMap<String, String>,
    /// 0 incremental, 1 absolute.
    #[prost(int32, tag = "4")]
    kind: i32,
    #[prost(message, optional, tag = "5")]
    timestamp: Option<TimestampProto>,
    #[prost(oneof = "MetricValueProto", tags = "6, 7, 8, 9, 10, 11")]
    value: Option<MetricValueProto>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum MetricValueProto {
    #[prost(double, tag = "6")]
    Counter(f64),
    #[prost(double, tag = "7")]
    Gauge(f64),
    #[prost(message, tag = "8")]
    Set(SetProto),
    #[prost(message, tag = "9")]
    Distribution(DistributionProto),
    #[prost(message, tag = "10")]
    Histogram(HistogramProto),
    #[prost(message, tag = "11")]
    Summary(SummaryProto),
}

#[derive(Clone, PartialEq, Message)]
struct SetProto {
    #[prost(string, repeated, tag = "1")]
    values: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct DistributionProto {
    #[prost(double, repeated, tag = "1")]
    values: Vec<f64>,
    #[prost(uint32, repeated, tag = "2")]
    rates: Vec<u32>,
    /// 0 histogram, 1 summary.
    #[prost(int32, tag = "3")]
    statistic: i32,
}

#[derive(Clone, PartialEq, Message)]
struct HistogramProto {
    #[prost(double, repeated, tag = "1")]
    upper_limits: Vec<f64>,
    #[prost(uint64, repeated, tag = "2")]
    counts: Vec<u64>,
    #[prost(uint64, tag = "3")]
    count: u64,
    #[prost(double, tag = "4")]
    sum: f64,
}

#[derive(Clone, PartialEq, Message)]
struct SummaryProto {
    #[prost(double, repeated, tag = "1")]
    quantiles: Vec<f64>,
    #[prost(double, repeated, tag = "2")]
    values: Vec<f64>,
    #[prost(uint64, tag = "3")]
    count: u64,
    #[prost(double, tag = "4")]
    sum: f64,
}

fn timestamp_to(ts: &DateTime<Utc>) -> TimestampProto {
    TimestampProto { seconds: ts.timestamp(), nanos: ts.timestamp_subsec_nanos() }
}

fn timestamp_from(ts: TimestampProto) -> Result<DateTime<Utc>, ProtoError> {
    DateTime::from_timestamp(ts.seconds, ts.nanos)
        .ok_or_else(|| ProtoError::Invalid("timestamp out of range".into()))
}

fn value_to(value: &Value) -> ValueProto {
    let kind = match value {
        Value::Bytes(bytes) => ValueKind::Bytes(bytes.clone()),
        Value::String(text) => ValueKind::Bytes(bytes::Bytes::copy_from_slice(text.as_bytes())),
        Value::Regex(regex) => ValueKind::Regex(regex.as_str().to_owned()),
        Value::Integer(n) => ValueKind::Integer(*n),
        Value::Float(f) => ValueKind::Float(f.into_inner()),
        Value::Boolean(b) => ValueKind::Boolean(*b),
        Value::Timestamp(ts) => ValueKind::Timestamp(timestamp_to(ts)),
        Value::Object(map) => ValueKind::Map(MapProto {
            fields: map.iter().map(|(k, v)| (k.to_string(), value_to(v))).collect(),
        }),
        Value::Array(items) => ValueKind::Array(ArrayProto { items: items.iter().map(value_to).collect() }),
        Value::Null => ValueKind::Null(true),
    };
    ValueProto { kind: Some(kind) }
}

fn value_from(proto: ValueProto) -> Result<Value, ProtoError> {
    Ok(match proto.kind {
        Some(ValueKind::Bytes(bytes)) => Value::Bytes(bytes),
        Some(ValueKind::Integer(n)) => Value::Integer(n),
        Some(ValueKind::Float(f)) => Value::from_f64_or_zero(f),
        Some(ValueKind::Boolean(b)) => Value::Boolean(b),
        Some(ValueKind::Timestamp(ts)) => Value::Timestamp(timestamp_from(ts)?),
        Some(ValueKind::Map(map)) => {
            let mut out = ObjectMap::new();
            for (key, value) in map.fields {
                out.insert(KeyString::from(key), value_from(value)?);
            }
            Value::Object(out)
        }
        Some(ValueKind::Array(array)) => {
            Value::Array(array.items.into_iter().map(value_from).collect::<Result<_, _>>()?)
        }
        Some(ValueKind::Regex(pattern)) => Value::Bytes(pattern.into()),
        Some(ValueKind::Null(_)) | None => Value::Null,
    })
}

fn metric_to(metric: &Metric) -> MetricProto {
    let value = match metric.value() {
        MetricValue::Counter { value } => MetricValueProto::Counter(*value),
        MetricValue::Gauge { value } => MetricValueProto::Gauge(*value),
        MetricValue::Set { values } => {
            MetricValueProto::Set(SetProto { values: values.iter().cloned().collect() })
        }
        MetricValue::Distribution { samples, statistic } => {
            MetricValueProto::Distribution(DistributionProto {
                values: samples.iter().map(|s| s.value).collect(),
                rates: samples.iter().map(|s| s.rate).collect(),
                statistic: matches!(statistic, StatisticKind::Summary) as i32,
            })
        }
        MetricValue::AggregatedHistogram { buckets, count, sum } => {
            MetricValueProto::Histogram(HistogramProto {
                upper_limits: buckets.iter().map(|b| b.upper_limit).collect(),
                counts: buckets.iter().map(|b| b.count).collect(),
                count: *count,
                sum: *sum,
            })
        }
        MetricValue::AggregatedSummary { quantiles, count, sum } => MetricValueProto::Summary(SummaryProto {
            quantiles: quantiles.iter().map(|q| q.quantile).collect(),
            values: quantiles.iter().map(|q| q.value).collect(),
            count: *count,
            sum: *sum,
        }),
    };
    MetricProto {
        name: metric.name().to_owned(),
        namespace: metric.namespace().map(str::to_owned),
        tags: metric.tags().clone(),
        kind: matches!(metric.kind(), MetricKind::Absolute) as i32,
        timestamp: metric.timestamp().as_ref().map(timestamp_to),
        value: Some(value),
    }
}

fn metric_from(proto: MetricProto, metadata: EventMetadata) -> Result<Metric, ProtoError> {
    let value = match proto.value.ok_or_else(|| ProtoError::Invalid("metric without a value".into()))? {
        MetricValueProto::Counter(value) => MetricValue::Counter { value },
        MetricValueProto::Gauge(value) => MetricValue::Gauge { value },
        MetricValueProto::Set(set) => MetricValue::Set { values: set.values.into_iter().collect() },
        MetricValueProto::Distribution(d) => MetricValue::Distribution {
            samples: d
                .values
                .iter()
                .zip(&d.rates)
                .map(|(value, rate)| Sample { value: *value, rate: *rate })
                .collect(),
            statistic: if d.statistic == 1 { StatisticKind::Summary } else { StatisticKind::Histogram },
        },
        MetricValueProto::Histogram(h) => MetricValue::AggregatedHistogram {
            buckets: h
                .upper_limits
                .iter()
                .zip(&h.counts)
                .map(|(u, c)| Bucket { upper_limit: *u, count: *c })
                .collect(),
            count: h.count,
            sum: h.sum,
        },
        MetricValueProto::Summary(s) => MetricValue::AggregatedSummary {
            quantiles: s
                .quantiles
                .iter()
                .zip(&s.values)
                .map(|(q, v)| Quantile { quantile: *q, value: *v })
                .collect(),
            count: s.count,
            sum: s.sum,
        },
    };
    let kind = if proto.kind == 1 { MetricKind::Absolute } else { MetricKind::Incremental };
    Ok(Metric::new(proto.name, kind, value)
        .with_namespace(proto.namespace)
        .with_tags(proto.tags)
        .with_timestamp(proto.timestamp.map(timestamp_from).transpose()?)
        .with_metadata(metadata))
}

fn metadata_to(metadata: &EventMetadata) -> MetadataProto {
    MetadataProto {
        source_id: metadata.source_id().map(|id| id.as_str().to_owned()).unwrap_or_default(),
        source_type: metadata.source_type().unwrap_or_default().to_owned(),
        ingest_timestamp: metadata.ingest_timestamp().as_ref().map(timestamp_to),
        value: Some(value_to(metadata.value())),
    }
}

fn metadata_from(proto: Option<MetadataProto>) -> Result<EventMetadata, ProtoError> {
    let Some(proto) = proto else { return Ok(EventMetadata::default()) };
    let mut metadata = match proto.ingest_timestamp.map(timestamp_from).transpose()? {
        Some(at) => EventMetadata::new(
            SourceId::intern(&proto.source_id),
            SourceId::intern(&proto.source_type).as_str(),
            at,
        ),
        None => EventMetadata::default(),
    };
    if let Some(value) = proto.value {
        *metadata.value_mut() = value_from(value)?;
    }
    Ok(metadata)
}

/// Encodes a batch as one record: the version byte, then protobuf.
pub fn encode_batch(batch: &EventBatch, out: &mut Vec<u8>) {
    let events = batch
        .iter()
        .map(|event| {
            let kind = match event {
                Event::Log(log) => Kind::Log(value_to(log.value())),
                Event::Metric(metric) => Kind::Metric(metric_to(metric)),
                Event::Trace(trace) => Kind::Trace(value_to(trace.value())),
            };
            EventProto { kind: Some(kind), metadata: Some(metadata_to(event.metadata())) }
        })
        .collect();
    let array = EventArray { events };
    out.reserve(1 + array.encoded_len());
    out.push(FORMAT_VERSION);
    // Encoding into a Vec with reserved room cannot fail.
    let _ = array.encode(out);
}

/// Decodes a record written by [`encode_batch`] (this version or an older one).
pub fn decode_batch(record: &[u8]) -> Result<EventBatch, ProtoError> {
    let (&version, body) = record.split_first().ok_or(ProtoError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(ProtoError::UnknownVersion(version));
    }
    let array = EventArray::decode(body).map_err(|error| ProtoError::Invalid(error.to_string()))?;
    let mut events = Vec::with_capacity(array.events.len());
    for proto in array.events {
        let metadata = metadata_from(proto.metadata)?;
        let event = match proto.kind.ok_or_else(|| ProtoError::Invalid("event without a kind".into()))? {
            Kind::Log(value) => Event::Log(LogEvent::from_value(value_from(value)?, metadata)),
            Kind::Trace(value) => match value_from(value)? {
                Value::Object(map) => Event::Trace(TraceEvent::from_map(map, metadata)),
                _ => return Err(ProtoError::Invalid("a trace must be an object".into())),
            },
            Kind::Metric(metric) => Event::Metric(metric_from(metric, metadata)?),
        };
        events.push(event);
    }
    Ok(EventBatch::new(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_event_round_trips() {
        let at = DateTime::from_timestamp(1_764_000_000, 123_456_789).unwrap();
        let mut log =
            LogEvent::from_map(ObjectMap::new(), EventMetadata::new(SourceId::intern("in"), "stdin", at));
        log.insert("message", "hello");
        log.insert("n", 42);
        log.insert("f", Value::from_f64_or_zero(1.5));
        log.insert(
            "nested.list",
            Value::Array(vec![Value::Boolean(true), Value::Null, Value::Timestamp(at)]),
        );
        if let Value::Object(map) = log.metadata_mut().value_mut() {
            map.insert("tenant".into(), Value::from("a"));
        }
        let metric = Metric::new("hits", MetricKind::Absolute, MetricValue::Counter { value: 3.0 })
            .with_namespace(Some("app"))
            .with_tags([("host".to_owned(), "h".to_owned())].into())
            .with_timestamp(Some(at));
        let histogram = Metric::new(
            "latency",
            MetricKind::Incremental,
            MetricValue::AggregatedHistogram {
                buckets: vec![Bucket { upper_limit: 1.0, count: 2 }],
                count: 2,
                sum: 1.5,
            },
        );
        let mut trace = ObjectMap::new();
        trace.insert("trace_id".into(), Value::from("abc"));
        let batch = EventBatch::new(vec![
            Event::Log(log),
            Event::Metric(metric),
            Event::Metric(histogram),
            Event::Trace(TraceEvent::from_map(trace, EventMetadata::default())),
        ]);
        let mut record = Vec::new();
        encode_batch(&batch, &mut record);
        assert_eq!(record[0], FORMAT_VERSION);
        assert_eq!(decode_batch(&record).unwrap(), batch);
    }

    #[test]
    fn unknown_versions_and_garbage_are_errors() {
        assert_eq!(decode_batch(&[]), Err(ProtoError::Empty));
        assert_eq!(decode_batch(&[9, 1, 2]), Err(ProtoError::UnknownVersion(9)));
        assert!(matches!(decode_batch(&[FORMAT_VERSION, 0xff, 0xff, 0xff]), Err(ProtoError::Invalid(_))));
    }

    /// A record written by version 1 of the format, kept as a fixture: later versions must
    /// still read it.
    #[test]
    fn reads_a_version_1_record() {
        let at = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        let mut log =
            LogEvent::from_map(ObjectMap::new(), EventMetadata::new(SourceId::intern("s"), "file", at));
        log.insert("message", "fixture");
        let mut record = Vec::new();
        encode_batch(&EventBatch::new(vec![Event::Log(log.clone())]), &mut record);
        let fixture: &[u8] = &[
            1, 10, 51, 10, 24, 50, 22, 10, 20, 10, 7, 109, 101, 115, 115, 97, 103, 101, 18, 9, 10, 7, 102,
            105, 120, 116, 117, 114, 101, 34, 23, 10, 1, 115, 18, 4, 102, 105, 108, 101, 26, 8, 8, 128, 226,
            207, 170, 6, 16, 5, 34, 2, 50, 0,
        ];
        assert_eq!(record, fixture, "version 1's bytes changed; that breaks buffers on disk");
        assert_eq!(decode_batch(fixture).unwrap(), EventBatch::new(vec![Event::Log(log)]));
    }
}
