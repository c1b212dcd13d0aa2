//! Framers: where one message ends and the next begins in a byte stream.

use bytes::{Buf, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

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
}

impl FramingConfig {
    pub fn newline(max_length: usize) -> Self {
        Self {
            method: FramingMethod::NewlineDelimited,
            newline_delimited: NewlineOptions { max_length: Some(max_length) },
            character_delimited: None,
        }
    }

    /// Checks options that serde cannot: the delimiter's presence and range.
    pub fn validate(&self) -> Result<(), String> {
        if self.method == FramingMethod::CharacterDelimited {
            match &self.character_delimited {
                None => return Err("`framing.character_delimited.delimiter` is required with `character_delimited`".into()),
                Some(options) if !options.delimiter.is_ascii() => {
                    return Err(format!("`framing.character_delimited.delimiter` must be ASCII, got {:?}", options.delimiter));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame longer than the {max_length}-byte limit was discarded")]
    TooLong { max_length: usize },
}

/// A stateful framer over a growing buffer.
#[derive(Debug, Clone)]
pub struct Framer {
    delimiter: Option<u8>,
    max_length: usize,
    /// True while skipping the rest of an oversized frame.
    discarding: bool,
}

impl Framer {
    pub fn new(config: &FramingConfig) -> Self {
        match config.method {
            FramingMethod::NewlineDelimited => Self {
                delimiter: Some(b'\n'),
                max_length: config.newline_delimited.max_length.unwrap_or(DEFAULT_MAX_LENGTH),
                discarding: false,
            },
            FramingMethod::CharacterDelimited => {
                let options = config.character_delimited.as_ref();
                Self {
                    // `validate` guarantees an ASCII delimiter; newline is a harmless fallback.
                    delimiter: Some(options.map_or(b'\n', |o| o.delimiter as u8)),
                    max_length: options.and_then(|o| o.max_length).unwrap_or(DEFAULT_MAX_LENGTH),
                    discarding: false,
                }
            }
            FramingMethod::Bytes => Self { delimiter: None, max_length: usize::MAX, discarding: false },
        }
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The next complete frame in `buf`, `Ok(None)` when more input is needed, or an error when an
    /// oversized frame was found (its bytes are dropped as they arrive, never buffered whole).
    pub fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(delimiter) = self.delimiter else {
            return Ok(None);
        };
        loop {
            match memchr::memchr(delimiter, buf) {
                Some(position) if self.discarding => {
                    buf.advance(position + 1);
                    self.discarding = false;
                }
                Some(position) if position > self.max_length => {
                    buf.advance(position + 1);
                    return Err(FrameError::TooLong { max_length: self.max_length });
                }
                Some(position) => {
                    let frame = buf.split_to(position).freeze();
                    buf.advance(1);
                    return Ok(Some(frame));
                }
                None if self.discarding => {
                    buf.clear();
                    return Ok(None);
                }
                None if buf.len() > self.max_length => {
                    buf.clear();
                    self.discarding = true;
                    return Err(FrameError::TooLong { max_length: self.max_length });
                }
                None => return Ok(None),
            }
        }
    }

    /// At the end of input: what remains in `buf` is the last frame, if any.
    pub fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.discarding {
            buf.clear();
            self.discarding = false;
            return Ok(None);
        }
        if buf.is_empty() {
            return Ok(None);
        }
        if buf.len() > self.max_length {
            buf.clear();
            return Err(FrameError::TooLong { max_length: self.max_length });
        }
        Ok(Some(buf.split().freeze()))
    }
}
