//! Encoding: turning events into bytes for a sink.
//!
//! `encoding.codec` picks the serializer; `only_fields`, `except_fields` and `timestamp_format`
//! shape what it sees. The sink picks the framing that delimits one encoded event from the next.

mod csv;
mod logfmt;
mod metric;

use serde::{Deserialize, Serialize};
use strata_event::{Event, LogEvent, Value};
use vrl::path::{OwnedValuePath, parse_value_path};

use crate::json::{write_json_fields, write_json_value};

pub use csv::{CsvOptions, CsvQuoteStyle};
pub use metric::metric_to_value;

/// How timestamps are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// RFC 3339 with nine fractional digits, UTC: `2026-11-25T09:08:05.123456789Z`.
    #[default]
    Rfc3339,
    /// Whole seconds since the Unix epoch.
    Unix,
    /// Milliseconds since the Unix epoch.
    UnixMs,
    /// Nanoseconds since the Unix epoch.
    UnixNs,
}

/// The serializer named by `encoding.codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SerializerKind {
    /// One JSON object per event.
    Json,
    /// The `message` field's text, as is; other fields are left out.
    Text,
    /// `key=value` pairs, nested keys joined with dots.
    Logfmt,
    /// The `message` field's bytes, as is; the same as `text` for logs.
    RawMessage,
    /// One CSV record of the `encoding.csv.fields` values.
    Csv,
}

/// Options of the `json` serializer (`encoding.json.*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonOptions {
    /// Indent the output for people to read. Default: false.
    #[serde(default)]
    pub pretty: bool,
}

/// The `encoding` table of a sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodingConfig {
    /// The serializer: `json`, `text`, `logfmt`, `raw_message` or `csv`. Required.
    pub codec: SerializerKind,
    /// Options of the `json` codec.
    #[serde(default)]
    pub json: JsonOptions,
    /// Options of the `csv` codec; `fields` is required with it. Default: none.
    #[serde(default)]
    pub csv: Option<CsvOptions>,
    /// Keep only these fields (paths such as `message` or `.kubernetes.pod_name`). Default: all.
    #[serde(default)]
    pub only_fields: Option<Vec<String>>,
    /// Leave out these fields. Default: none.
    #[serde(default)]
    pub except_fields: Vec<String>,
    /// How timestamps are written. Default: `rfc3339` (with nanoseconds).
    #[serde(default)]
    pub timestamp_format: TimestampFormat,
}

impl EncodingConfig {
    pub fn new(codec: SerializerKind) -> Self {
        Self {
            codec,
            json: JsonOptions::default(),
            csv: None,
            only_fields: None,
            except_fields: Vec::new(),
            timestamp_format: TimestampFormat::default(),
        }
    }
}

/// How a sink delimits encoded events in a byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkFraming {
    /// A newline after every event.
    NewlineDelimited,
    /// The given byte after every event.
    CharacterDelimited(u8),
    /// Nothing: one event per message (datagrams, HTTP requests with one event).
    Bytes,
    /// The event's length as a 4-byte big-endian integer before it, for `length_delimited`.
    LengthDelimited,
    /// The event's length in decimal and a space before it (RFC 6587 octet counting).
    OctetCounting,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncodeError {
    #[error("invalid field path `{path}` in `{option}`: {reason}")]
    InvalidPath { option: &'static str, path: String, reason: String },
    #[error("`{option}` is required with this codec")]
    MissingOption { option: &'static str },
    #[error("invalid `{option}`: {reason}")]
    InvalidOption { option: &'static str, reason: String },
}

/// A ready-to-use serializer plus framing, built once per sink from its config.
#[derive(Debug, Clone)]
pub struct Encoder {
    kind: SerializerKind,
    pretty: bool,
    only_fields: Option<Vec<OwnedValuePath>>,
    except_fields: Vec<OwnedValuePath>,
    timestamps: TimestampFormat,
    framing: SinkFraming,
    /// The parsed `csv` options, present exactly when the codec is `csv`.
    csv: Option<csv::CsvEncoder>,
}

fn parse_paths(option: &'static str, paths: &[String]) -> Result<Vec<OwnedValuePath>, EncodeError> {
    paths
        .iter()
        .map(|path| {
            parse_value_path(path).map_err(|error| EncodeError::InvalidPath {
                option,
                path: path.clone(),
                reason: error.to_string(),
            })
        })
        .collect()
}

impl Encoder {
    pub fn new(config: &EncodingConfig, framing: SinkFraming) -> Result<Self, EncodeError> {
        let only_fields = match &config.only_fields {
            Some(paths) => Some(parse_paths("only_fields", paths)?),
            None => None,
        };
        let csv = match config.codec {
            SerializerKind::Csv => Some(csv::CsvEncoder::new(config.csv.as_ref())?),
            _ => None,
        };
        Ok(Self {
            csv,
            kind: config.codec,
            pretty: config.json.pretty,
            only_fields,
            except_fields: parse_paths("except_fields", &config.except_fields)?,
            timestamps: config.timestamp_format,
            framing,
        })
    }

    pub fn kind(&self) -> SerializerKind {
        self.kind
    }

    /// Appends the encoded, framed event to `out`.
    pub fn encode(&self, event: &Event, out: &mut Vec<u8>) {
        let start = out.len();
        if self.framing == SinkFraming::LengthDelimited {
            // A placeholder for the length, filled in once the event is written.
            out.extend_from_slice(&[0; 4]);
        }
        match event {
            Event::Log(log) if self.is_unshaped() => self.encode_log(log, out),
            Event::Log(log) => self.encode_value(log.value(), out),
            Event::Trace(trace) => self.encode_value(trace.value(), out),
            Event::Metric(metric) => match self.kind {
                SerializerKind::Text | SerializerKind::RawMessage => metric::write_text(metric, out),
                _ => self.encode_value(&metric_to_value(metric), out),
            },
        }
        match self.framing {
            SinkFraming::NewlineDelimited => out.push(b'\n'),
            SinkFraming::CharacterDelimited(delimiter) => out.push(delimiter),
            SinkFraming::Bytes => {}
            SinkFraming::LengthDelimited => {
                // Events are bounded far below 4 GiB by sources' frame limits and batch sizes;
                // saturating keeps this infallible for an event that somehow is not.
                let length = u32::try_from(out.len() - start - 4).unwrap_or(u32::MAX);
                out[start..start + 4].copy_from_slice(&length.to_be_bytes());
            }
            SinkFraming::OctetCounting => {
                let header = format!("{} ", out.len() - start);
                out.splice(start..start, header.into_bytes());
            }
        }
    }

    fn is_unshaped(&self) -> bool {
        self.only_fields.is_none() && self.except_fields.is_empty()
    }

    /// A log written whole. A raw line (see `LogEvent::raw`) is written from its parts, without
    /// building its map, for the codecs that allow it; the bytes are the same either way.
    fn encode_log(&self, log: &LogEvent, out: &mut Vec<u8>) {
        match (self.kind, log.raw_parts()) {
            (SerializerKind::Text | SerializerKind::RawMessage, _) => self.write_message(log.message(), out),
            (SerializerKind::Json, Some(raw)) if !self.pretty => {
                write_json_fields(out, self.timestamps, |visit| raw.for_each_field(visit))
            }
            _ => self.serialize(log.value(), out),
        }
    }

    fn write_message(&self, message: Option<&Value>, out: &mut Vec<u8>) {
        match message {
            Some(Value::Bytes(bytes)) => out.extend_from_slice(bytes),
            Some(Value::String(text)) => out.extend_from_slice(text.as_bytes()),
            Some(other) => write_json_value(out, other, self.timestamps),
            None => {}
        }
    }

    fn encode_value(&self, value: &Value, out: &mut Vec<u8>) {
        if self.is_unshaped() {
            return self.serialize(value, out);
        }
        let shaped = self.shape(value);
        self.serialize(&shaped, out)
    }

    /// Applies `only_fields` and `except_fields` to a copy; the event itself may be shared.
    fn shape(&self, value: &Value) -> Value {
        let mut shaped = match &self.only_fields {
            Some(paths) => {
                let mut kept = Value::Object(Default::default());
                for path in paths {
                    if let Some(field) = value.get(path) {
                        kept.insert(path, field.clone());
                    }
                }
                kept
            }
            None => value.clone(),
        };
        for path in &self.except_fields {
            shaped.remove(path, true);
        }
        shaped
    }

    fn serialize(&self, value: &Value, out: &mut Vec<u8>) {
        match self.kind {
            SerializerKind::Json if self.pretty => {
                let mut compact = Vec::new();
                write_json_value(&mut compact, value, self.timestamps);
                match serde_json::from_slice::<serde_json::Value>(&compact)
                    .and_then(|parsed| serde_json::to_vec_pretty(&parsed))
                {
                    Ok(pretty) => out.extend_from_slice(&pretty),
                    Err(_) => out.extend_from_slice(&compact),
                }
            }
            SerializerKind::Json => write_json_value(out, value, self.timestamps),
            SerializerKind::Text | SerializerKind::RawMessage => {
                self.write_message(value.as_object().and_then(|map| map.get("message")), out)
            }
            SerializerKind::Logfmt => logfmt::write(out, value, self.timestamps),
            SerializerKind::Csv => {
                if let Some(csv) = &self.csv {
                    csv.write(value, self.timestamps, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
