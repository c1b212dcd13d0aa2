//! Delimiter framing (`newline_delimited`, `character_delimited`) and whole-input `bytes` framing.

use bytes::{Buf, Bytes, BytesMut};

use super::{FrameError, rest_as_frame};

/// Frames that end at one delimiter byte, which is not part of the frame.
#[derive(Debug, Clone)]
pub(super) struct DelimitedFramer {
    delimiter: u8,
    max_length: usize,
    /// True while skipping the rest of an oversized frame.
    discarding: bool,
}

impl DelimitedFramer {
    pub(super) fn new(delimiter: u8, max_length: usize) -> Self {
        Self { delimiter, max_length, discarding: false }
    }

    pub(super) fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        loop {
            match memchr::memchr(self.delimiter, buf) {
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

    pub(super) fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.discarding {
            // The oversized frame was reported when discarding began; its tail needs no second error.
            buf.clear();
            self.discarding = false;
            return Ok(None);
        }
        rest_as_frame(buf, self.max_length)
    }
}

/// The whole input is one frame, emitted at the end of input.
#[derive(Debug, Clone)]
pub(super) struct BytesFramer {
    max_length: usize,
    /// True once the input outgrew the limit: the rest is dropped until the end of input.
    discarding: bool,
}

impl BytesFramer {
    pub(super) fn new(max_length: usize) -> Self {
        Self { max_length, discarding: false }
    }

    pub(super) fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.discarding {
            buf.clear();
        } else if buf.len() > self.max_length {
            buf.clear();
            self.discarding = true;
            return Err(FrameError::TooLong { max_length: self.max_length });
        }
        Ok(None)
    }

    pub(super) fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.discarding {
            buf.clear();
            self.discarding = false;
            return Ok(None);
        }
        rest_as_frame(buf, self.max_length)
    }
}
