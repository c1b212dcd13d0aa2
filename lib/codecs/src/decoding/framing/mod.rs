//! Framers: where one message ends and the next begins in a byte stream.
//!
//! Every framer has a longest frame. A frame that exceeds it is dropped as its bytes arrive, so a
//! sender cannot make the agent buffer an unbounded message, and it is reported once as
//! [`FrameError::TooLong`]; framing resumes with the next frame.

mod delimited;
mod length;
mod octet;

use bytes::{Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use delimited::{BytesFramer, DelimitedFramer};
use length::LengthDelimitedFramer;
use octet::OctetCountingFramer;

/// The default longest frame: 100 KiB, as Vector's sources.
pub const DEFAULT_MAX_LENGTH: usize = 102_400;

/// The framing method named by `framing.method`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramingMethod {
    /// Frames end at `\n` (a preceding `\r` is kept).
    #[default]
    NewlineDelimited,
    /// Frames end at `character_delimited.delimiter`.
    CharacterDelimited,
    /// The whole input (a datagram, a request body) is one frame.
    Bytes,
    /// RFC 6587 octet counting (`LEN SP MSG`), falling back to newline-delimited frames for lines
    /// that do not start with a length, as syslog over TCP needs.
    OctetCounting,
    /// Each frame is preceded by its length as a 4-byte big-endian unsigned integer.
    LengthDelimited,
}

/// Options of `newline_delimited` framing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewlineOptions {
    /// The longest frame in bytes; longer ones are discarded and counted. Default: 102400.
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// Options of `character_delimited` framing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CharacterOptions {
    /// The delimiter, one ASCII character. Required.
    pub delimiter: char,
    /// The longest frame in bytes; longer ones are discarded and counted. Default: 102400.
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// Options of `bytes`, `octet_counting` and `length_delimited` framing: only a length limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxLengthOptions {
    /// The longest frame in bytes, not counting a length prefix; longer ones are discarded and
    /// counted. Default: 102400.
    #[serde(default)]
    pub max_length: Option<usize>,
}

/// The `framing` table of a source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramingConfig {
    /// The framing method. Default: `newline_delimited` for stream sources.
    #[serde(default)]
    pub method: FramingMethod,
    /// Options of `newline_delimited`.
    #[serde(default)]
    pub newline_delimited: NewlineOptions,
    /// Options of `character_delimited`; required with that method.
    #[serde(default)]
    pub character_delimited: Option<CharacterOptions>,
    /// Options of `bytes`: `max_length` (default 102400) bounds the whole input.
    #[serde(default)]
    pub bytes: MaxLengthOptions,
    /// Options of `octet_counting`: `max_length` (default 102400) bounds each message.
    #[serde(default)]
    pub octet_counting: MaxLengthOptions,
    /// Options of `length_delimited`: `max_length` (default 102400) bounds each frame.
    #[serde(default)]
    pub length_delimited: MaxLengthOptions,
}

impl FramingConfig {
    pub fn newline(max_length: usize) -> Self {
        Self {
            method: FramingMethod::NewlineDelimited,
            newline_delimited: NewlineOptions { max_length: Some(max_length) },
            ..Self::default()
        }
    }

    /// The configured `method` with default options.
    pub fn method(method: FramingMethod) -> Self {
        Self { method, ..Self::default() }
    }

    /// Checks options that serde cannot: the delimiter's presence and range, and a usable limit.
    pub fn validate(&self) -> Result<(), String> {
        if self.method == FramingMethod::CharacterDelimited {
            match &self.character_delimited {
                None => {
                    return Err(
                        "`framing.character_delimited.delimiter` is required with `character_delimited`"
                            .into(),
                    );
                }
                Some(options) if !options.delimiter.is_ascii() => {
                    return Err(format!(
                        "`framing.character_delimited.delimiter` must be ASCII, got {:?}",
                        options.delimiter
                    ));
                }
                Some(_) => {}
            }
        }
        if self.configured_max_length() == Some(0) {
            return Err(format!("`framing.{}.max_length` must be at least 1", self.method_name()));
        }
        Ok(())
    }

    /// The longest frame the configured method accepts.
    pub fn max_length(&self) -> usize {
        self.configured_max_length().unwrap_or(DEFAULT_MAX_LENGTH)
    }

    fn configured_max_length(&self) -> Option<usize> {
        match self.method {
            FramingMethod::NewlineDelimited => self.newline_delimited.max_length,
            FramingMethod::CharacterDelimited => self.character_delimited.as_ref().and_then(|o| o.max_length),
            FramingMethod::Bytes => self.bytes.max_length,
            FramingMethod::OctetCounting => self.octet_counting.max_length,
            FramingMethod::LengthDelimited => self.length_delimited.max_length,
        }
    }

    fn method_name(&self) -> &'static str {
        match self.method {
            FramingMethod::NewlineDelimited => "newline_delimited",
            FramingMethod::CharacterDelimited => "character_delimited",
            FramingMethod::Bytes => "bytes",
            FramingMethod::OctetCounting => "octet_counting",
            FramingMethod::LengthDelimited => "length_delimited",
        }
    }
}

// Sources match this enum exhaustively, so a new kind of framing failure is a breaking change for
// them; a truncated frame at the end of input is therefore dropped rather than reported.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame longer than the {max_length}-byte limit was discarded")]
    TooLong { max_length: usize },
}

/// A stateful framer over a growing buffer.
///
/// The caller appends input to a buffer, calls [`Framer::next_frame`] until it returns
/// `Ok(None)`, and at the end of input calls [`Framer::finish`] for what remains.
#[derive(Debug, Clone)]
pub struct Framer {
    kind: FramerKind,
    max_length: usize,
}

#[derive(Debug, Clone)]
enum FramerKind {
    Delimited(DelimitedFramer),
    Bytes(BytesFramer),
    OctetCounting(OctetCountingFramer),
    LengthDelimited(LengthDelimitedFramer),
}

impl Framer {
    /// Builds the framer; an unvalidated config still yields one (`validate` reports the problem).
    pub fn new(config: &FramingConfig) -> Self {
        // A zero limit is rejected by `validate`; treating it as one byte keeps the framers' "a
        // frame of `max_length` bytes fits" arithmetic meaningful if a caller skipped validation.
        let max_length = config.max_length().max(1);
        let kind = match config.method {
            FramingMethod::NewlineDelimited => FramerKind::Delimited(DelimitedFramer::new(b'\n', max_length)),
            FramingMethod::CharacterDelimited => {
                // `validate` guarantees an ASCII delimiter; newline is a harmless fallback.
                let delimiter = config
                    .character_delimited
                    .as_ref()
                    .filter(|o| o.delimiter.is_ascii())
                    .map_or(b'\n', |o| o.delimiter as u8);
                FramerKind::Delimited(DelimitedFramer::new(delimiter, max_length))
            }
            FramingMethod::Bytes => FramerKind::Bytes(BytesFramer::new(max_length)),
            FramingMethod::OctetCounting => FramerKind::OctetCounting(OctetCountingFramer::new(max_length)),
            FramingMethod::LengthDelimited => {
                FramerKind::LengthDelimited(LengthDelimitedFramer::new(max_length))
            }
        };
        Self { kind, max_length }
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The next complete frame in `buf`, `Ok(None)` when more input is needed, or an error when an
    /// oversized frame was found (its bytes are dropped as they arrive, never buffered whole).
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match &mut self.kind {
            FramerKind::Delimited(framer) => framer.next_frame(buf),
            FramerKind::Bytes(framer) => framer.next_frame(buf),
            FramerKind::OctetCounting(framer) => framer.next_frame(buf),
            FramerKind::LengthDelimited(framer) => framer.next_frame(buf),
        }
    }

    /// At the end of input: what remains in `buf` is the last frame, if any. The framer is reset,
    /// so calling `finish` again returns `Ok(None)`.
    pub fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match &mut self.kind {
            FramerKind::Delimited(framer) => framer.finish(buf),
            FramerKind::Bytes(framer) => framer.finish(buf),
            FramerKind::OctetCounting(framer) => framer.finish(buf),
            FramerKind::LengthDelimited(framer) => framer.finish(buf),
        }
    }
}

/// The last frame at the end of input: the rest of `buf`, unless it is over the limit.
fn rest_as_frame(buf: &mut BytesMut, max_length: usize) -> Result<Option<Bytes>, FrameError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf.len() > max_length {
        buf.clear();
        return Err(FrameError::TooLong { max_length });
    }
    Ok(Some(buf.split().freeze()))
}

#[cfg(test)]
mod tests;
