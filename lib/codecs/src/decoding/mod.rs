//! Decoding: turning a byte stream into events for a source.
//!
//! A [`Framer`] splits the stream (`framing.method`); a deserializer (`decoding.codec`) turns
//! each frame into zero or more events. A frame that is too long or does not parse is an error the
//! source counts and logs; the stream goes on with the next frame.

mod framing;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strata_event::{Event, EventMetadata, LogEvent, Value};

pub use framing::{CharacterOptions, FrameError, Framer, FramingConfig, FramingMethod, NewlineOptions};

/// The default longest frame, for sources' `max_length` options.
pub fn framing_default_max_length() -> usize {
    framing::DEFAULT_MAX_LENGTH
}

/// The deserializer named by `decoding.codec`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeserializerConfig {
    /// The frame becomes the `message` field, as bytes.
    #[default]
    Bytes,
    /// The frame is parsed as JSON; an object becomes the event, an array of objects several.
    Json,
}

/// The `decoding` table of a source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodingConfig {
    /// The deserializer: `bytes` or `json`. Default: `bytes`.
    #[serde(default)]
    pub codec: DeserializerConfig,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame is not valid JSON: {reason}")]
    Json { reason: String },
    #[error("JSON frame is a {kind}, not an object or an array of objects")]
    NotAnObject { kind: &'static str },
}

/// Frames and deserializes: the whole decoding side of a source.
#[derive(Debug, Clone)]
pub struct Decoder {
    pub framer: Framer,
    codec: DeserializerConfig,
}

impl Decoder {
    pub fn new(framing: &FramingConfig, decoding: &DecodingConfig) -> Self {
        Self { framer: Framer::new(framing), codec: decoding.codec }
    }

    /// Turns one frame into events appended to `out`, each with a copy of `metadata`.
    pub fn deserialize(
        &self,
        frame: Bytes,
        metadata: &EventMetadata,
        out: &mut Vec<Event>,
    ) -> Result<(), DecodeError> {
        match self.codec {
            DeserializerConfig::Bytes => {
                out.push(Event::Log(LogEvent::from_message(frame, metadata.clone())));
                Ok(())
            }
            DeserializerConfig::Json => {
                let value: Value = serde_json::from_slice(&frame)
                    .map_err(|error| DecodeError::Json { reason: error.to_string() })?;
                match value {
                    Value::Object(map) => {
                        out.push(Event::Log(LogEvent::from_map(map, metadata.clone())));
                        Ok(())
                    }
                    Value::Array(items) => {
                        for item in items {
                            match item {
                                Value::Object(map) => {
                                    out.push(Event::Log(LogEvent::from_map(map, metadata.clone())))
                                }
                                other => return Err(DecodeError::NotAnObject { kind: kind_name(&other) }),
                            }
                        }
                        Ok(())
                    }
                    other => Err(DecodeError::NotAnObject { kind: kind_name(&other) }),
                }
            }
        }
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Bytes(_) | Value::String(_) | Value::Regex(_) => "string",
        Value::Integer(_) | Value::Float(_) => "number",
        Value::Boolean(_) => "boolean",
        Value::Timestamp(_) => "timestamp",
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::Null => "null",
    }
}

#[cfg(test)]
mod tests;
