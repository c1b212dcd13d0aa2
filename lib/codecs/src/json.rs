//! JSON output for VRL values, with timestamps in the configured format.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use vrl::value::Value;

use crate::TimestampFormat;

/// Writes `timestamp` as RFC 3339 with nine fractional digits and a `Z` suffix.
pub fn write_rfc3339_nanos(out: &mut Vec<u8>, timestamp: &DateTime<Utc>) {
    // A Vec<u8> writer never fails.
    let _ = write!(out, "{}", timestamp.to_rfc3339_opts(SecondsFormat::Nanos, true));
}

/// Serializes `value` as compact JSON into `out`.
pub fn write_json_value(out: &mut Vec<u8>, value: &Value, timestamps: TimestampFormat) {
    let mut serializer = serde_json::Serializer::new(out);
    // Serializing a VRL value into a Vec cannot fail: keys are strings and floats are not NaN.
    let _ = JsonValue { value, timestamps }.serialize(&mut serializer);
}

pub(crate) struct JsonValue<'a> {
    pub value: &'a Value,
    pub timestamps: TimestampFormat,
}

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => serializer.serialize_str(&String::from_utf8_lossy(bytes)),
            },
            Value::String(text) => serializer.serialize_str(text),
            Value::Regex(regex) => serializer.serialize_str(regex.as_str()),
            Value::Integer(number) => serializer.serialize_i64(*number),
            Value::Float(number) => serializer.serialize_f64(number.into_inner()),
            Value::Boolean(flag) => serializer.serialize_bool(*flag),
            Value::Timestamp(timestamp) => match self.timestamps {
                TimestampFormat::Rfc3339 => {
                    serializer.serialize_str(&timestamp.to_rfc3339_opts(SecondsFormat::Nanos, true))
                }
                TimestampFormat::Unix => serializer.serialize_i64(timestamp.timestamp()),
                TimestampFormat::UnixMs => serializer.serialize_i64(timestamp.timestamp_millis()),
                TimestampFormat::UnixNs => {
                    serializer.serialize_i64(timestamp.timestamp_nanos_opt().unwrap_or(i64::MAX))
                }
            },
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key.as_str(), &JsonValue { value, timestamps: self.timestamps })?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for value in items {
                    out.serialize_element(&JsonValue { value, timestamps: self.timestamps })?;
                }
                out.end()
            }
            Value::Null => serializer.serialize_unit(),
        }
    }
}
