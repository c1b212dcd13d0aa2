//! Decoding: turning a byte stream into events for a source.
//!
//! A [`Framer`] splits the stream (`framing.method`); a deserializer (`decoding.codec`) turns
//! each frame into zero or more events. A frame that is too long or does not parse is an error the
//! source counts and logs; the stream goes on with the next frame.

mod framing;
mod gelf;
mod json;
mod logfmt;
mod syslog;

use std::borrow::Cow;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strata_event::{Event, EventMetadata, LogEvent, ObjectMap};

pub use framing::{
    CharacterOptions, FrameError, Framer, FramingConfig, FramingMethod, MaxLengthOptions, NewlineOptions,
};

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
    /// The frame is a syslog message (RFC 5424, or RFC 3164 and its many dialects).
    Syslog,
    /// The frame is logfmt: `key=value` pairs, values quoted when they hold spaces.
    Logfmt,
    /// The frame is a GELF 1.1 JSON message (uncompressed, unchunked).
    Gelf,
}

/// Options of a deserializer that reads text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossyOptions {
    /// Accept invalid UTF-8 by replacing bad sequences with U+FFFD; when false such a frame is a
    /// decoding error. Default: true.
    #[serde(default = "default_true")]
    pub lossy: bool,
}

impl Default for LossyOptions {
    fn default() -> Self {
        Self { lossy: true }
    }
}

fn default_true() -> bool {
    true
}

/// The `decoding` table of a source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodingConfig {
    /// The deserializer: `bytes`, `json`, `syslog`, `logfmt` or `gelf`. Default: `bytes`.
    #[serde(default)]
    pub codec: DeserializerConfig,
    /// Options of the `json` codec: `lossy` (default true).
    #[serde(default)]
    pub json: LossyOptions,
    /// Options of the `syslog` codec: `lossy` (default true).
    #[serde(default)]
    pub syslog: LossyOptions,
    /// Options of the `gelf` codec: `lossy` (default true).
    #[serde(default)]
    pub gelf: LossyOptions,
}

impl DecodingConfig {
    /// The given codec with default options.
    pub fn new(codec: DeserializerConfig) -> Self {
        Self { codec, ..Self::default() }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame is not valid JSON: {reason}")]
    Json { reason: String },
    #[error("JSON frame is a {kind}, not an object or an array of objects")]
    NotAnObject { kind: &'static str },
    #[error("{codec} frame is not valid UTF-8: {reason}")]
    InvalidUtf8 { codec: &'static str, reason: String },
    #[error("frame is not a syslog message: {reason}")]
    Syslog { reason: String },
    #[error("frame is not valid logfmt: {reason}")]
    Logfmt { reason: String },
    #[error("frame is not a valid GELF message: {reason}")]
    Gelf { reason: String },
}

/// Frames and deserializes: the whole decoding side of a source.
#[derive(Debug, Clone)]
pub struct Decoder {
    pub framer: Framer,
    config: DecodingConfig,
}

impl Decoder {
    pub fn new(framing: &FramingConfig, decoding: &DecodingConfig) -> Self {
        Self { framer: Framer::new(framing), config: decoding.clone() }
    }

    /// Turns one frame into events appended to `out`, each with a copy of `metadata`. On error
    /// nothing is appended.
    pub fn deserialize(
        &self,
        frame: Bytes,
        metadata: &EventMetadata,
        out: &mut Vec<Event>,
    ) -> Result<(), DecodeError> {
        let log = |fields: ObjectMap| Event::Log(LogEvent::from_map(fields, metadata.clone()));
        match self.config.codec {
            DeserializerConfig::Bytes => {
                out.push(Event::Log(LogEvent::from_message(frame, metadata.clone())));
            }
            DeserializerConfig::Json => {
                let objects = json::parse(&text(&frame, "json", self.config.json.lossy)?)?;
                out.extend(objects.into_iter().map(log));
            }
            DeserializerConfig::Syslog => {
                out.push(log(syslog::parse(&text(&frame, "syslog", self.config.syslog.lossy)?)?))
            }
            DeserializerConfig::Logfmt => {
                // logfmt has no `lossy` option: it is line-oriented text from programs, and a
                // replaced byte in one value is better than a lost line.
                let fields = logfmt::parse(&String::from_utf8_lossy(&frame))?;
                if !fields.is_empty() {
                    out.push(log(fields));
                }
            }
            DeserializerConfig::Gelf => {
                out.push(log(gelf::parse(&text(&frame, "gelf", self.config.gelf.lossy)?)?))
            }
        }
        Ok(())
    }
}

/// The frame as text, replacing invalid UTF-8 when `lossy` (borrowing when it is valid).
fn text<'a>(frame: &'a [u8], codec: &'static str, lossy: bool) -> Result<Cow<'a, str>, DecodeError> {
    // Valid text, the usual case, is checked with SIMD and borrowed.
    if let Ok(text) = simdutf8::basic::from_utf8(frame) {
        return Ok(Cow::Borrowed(text));
    }
    if lossy {
        return Ok(String::from_utf8_lossy(frame));
    }
    std::str::from_utf8(frame)
        .map(Cow::Borrowed)
        .map_err(|error| DecodeError::InvalidUtf8 { codec, reason: error.to_string() })
}

#[cfg(test)]
mod tests;
