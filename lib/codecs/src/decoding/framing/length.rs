//! `length_delimited` framing: a 4-byte big-endian length, then that many bytes of frame.

use bytes::{Buf, Bytes, BytesMut};

use super::FrameError;

/// The size of the length prefix.
pub(crate) const PREFIX_LEN: usize = 4;

#[derive(Debug, Clone)]
pub(super) struct LengthDelimitedFramer {
    max_length: usize,
    /// Bytes of an oversized frame still to drop as they arrive.
    skipping: usize,
}

impl LengthDelimitedFramer {
    pub(super) fn new(max_length: usize) -> Self {
        Self { max_length, skipping: 0 }
    }

    pub(super) fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.skipping > 0 && !skip(buf, &mut self.skipping) {
            return Ok(None);
        }
        let Some(prefix) = buf.first_chunk::<PREFIX_LEN>() else {
            return Ok(None);
        };
        // A u32 always fits a usize on the 32- and 64-bit targets the agent supports; saturating
        // elsewhere would only make the frame count as oversized.
        let length = usize::try_from(u32::from_be_bytes(*prefix)).unwrap_or(usize::MAX);
        if length > self.max_length {
            buf.advance(PREFIX_LEN);
            self.skipping = length;
            skip(buf, &mut self.skipping);
            return Err(FrameError::TooLong { max_length: self.max_length });
        }
        if buf.len() < PREFIX_LEN + length {
            buf.reserve(PREFIX_LEN + length - buf.len());
            return Ok(None);
        }
        buf.advance(PREFIX_LEN);
        Ok(Some(buf.split_to(length).freeze()))
    }

    pub(super) fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        // What is left is the tail of an oversized frame (already reported) or a frame cut short
        // by the end of input, which has no meaning without its missing bytes.
        self.skipping = 0;
        buf.clear();
        Ok(None)
    }
}

/// Drops up to `remaining` bytes from the front of `buf`; true once all of them are gone.
pub(super) fn skip(buf: &mut BytesMut, remaining: &mut usize) -> bool {
    let now = (*remaining).min(buf.len());
    buf.advance(now);
    *remaining -= now;
    *remaining == 0
}
