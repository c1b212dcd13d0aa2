//! Codecs shared by every source and sink: framing, decoding and encoding.
//!
//! A source turns bytes into events in two steps: a framer splits a byte stream into frames
//! (lines, delimited records, length-prefixed messages), and a deserializer turns each frame into
//! events. A sink runs the same two steps backwards: a serializer writes each event, and a framer
//! delimits it. Options use Vector's names: `framing.method`, `decoding.codec`, `encoding.codec`.
//!
//! Codecs are synchronous and allocation-conscious; they know events but not tasks or channels.

pub mod decoding;
pub mod encoding;
mod json;

pub use decoding::{
    DecodeError, Decoder, DecodingConfig, DeserializerConfig, FrameError, Framer, FramingConfig,
    FramingMethod, LossyOptions,
};
pub use encoding::{
    CsvOptions, CsvQuoteStyle, EncodeError, Encoder, EncodingConfig, SerializerKind, SinkFraming,
    TimestampFormat,
};
pub use json::{write_json_value, write_rfc3339_nanos};
