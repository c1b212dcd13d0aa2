//! `octet_counting` framing (RFC 6587): `LEN SP MSG`, with newline framing as a fallback.
//!
//! Syslog senders over TCP use either octet counting or "non-transparent" framing (one message
//! per line), and some switch between the two, so a frame that does not start with a decimal
//! length and a space is read up to the next newline instead.

use bytes::{Buf, Bytes, BytesMut};

use super::length::skip;
use super::{FrameError, rest_as_frame};

/// The longest length header considered: 19 digits always fit a u64. A longer run of digits is
/// not a length a sender could mean, so such a line falls back to newline framing.
const MAX_DIGITS: usize = 19;

#[derive(Debug, Clone)]
pub(super) struct OctetCountingFramer {
    max_length: usize,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a frame.
    Ready,
    /// Dropping the given number of bytes of an oversized octet-counted message.
    Skipping(usize),
    /// Dropping an oversized line up to its newline.
    DiscardingLine,
}

/// What the start of the buffer says about the next frame.
enum Header {
    /// `LEN SP`: the header's own length and the message length.
    Counted { header: usize, length: usize },
    /// Not octet-counted: a newline-delimited line.
    Line,
    /// Only digits so far: it could go either way.
    Undecided,
}

impl OctetCountingFramer {
    pub(super) fn new(max_length: usize) -> Self {
        Self { max_length, state: State::Ready }
    }

    pub(super) fn next_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        loop {
            match self.state {
                State::Skipping(mut remaining) => {
                    let done = skip(buf, &mut remaining);
                    self.state = if done { State::Ready } else { State::Skipping(remaining) };
                    if !done {
                        return Ok(None);
                    }
                }
                State::DiscardingLine => match memchr::memchr(b'\n', buf) {
                    Some(position) => {
                        buf.advance(position + 1);
                        self.state = State::Ready;
                    }
                    None => {
                        buf.clear();
                        return Ok(None);
                    }
                },
                State::Ready => {
                    // Newlines between frames are trailer bytes some senders add after an
                    // octet-counted message; they delimit nothing, so they are skipped.
                    let blank = buf.iter().take_while(|&&byte| byte == b'\n' || byte == b'\r').count();
                    buf.advance(blank);
                    if buf.is_empty() {
                        return Ok(None);
                    }
                    return match header(buf) {
                        Header::Counted { header, length } => self.counted(buf, header, length),
                        Header::Line => self.line(buf),
                        Header::Undecided => Ok(None),
                    };
                }
            }
        }
    }

    fn counted(
        &mut self,
        buf: &mut BytesMut,
        header: usize,
        length: usize,
    ) -> Result<Option<Bytes>, FrameError> {
        if length > self.max_length {
            buf.advance(header);
            let mut remaining = length;
            if !skip(buf, &mut remaining) {
                self.state = State::Skipping(remaining);
            }
            return Err(FrameError::TooLong { max_length: self.max_length });
        }
        if buf.len() < header + length {
            buf.reserve(header + length - buf.len());
            return Ok(None);
        }
        buf.advance(header);
        Ok(Some(buf.split_to(length).freeze()))
    }

    fn line(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match memchr::memchr(b'\n', buf) {
            Some(position) if position > self.max_length => {
                buf.advance(position + 1);
                Err(FrameError::TooLong { max_length: self.max_length })
            }
            Some(position) => {
                let frame = buf.split_to(position).freeze();
                buf.advance(1);
                Ok(Some(frame))
            }
            None if buf.len() > self.max_length => {
                buf.clear();
                self.state = State::DiscardingLine;
                Err(FrameError::TooLong { max_length: self.max_length })
            }
            None => Ok(None),
        }
    }

    pub(super) fn finish(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if self.state != State::Ready {
            // The oversized frame was reported when dropping began.
            buf.clear();
            self.state = State::Ready;
            return Ok(None);
        }
        // Whatever is left (a last line without a newline, or a message cut short) is kept as one
        // last frame, as newline framing does, rather than lost without a trace.
        rest_as_frame(buf, self.max_length)
    }
}

fn header(buf: &[u8]) -> Header {
    let digits = buf.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 || digits > MAX_DIGITS {
        return Header::Line;
    }
    match buf.get(digits) {
        None => Header::Undecided,
        Some(b' ') => {
            // At most 19 digits, so the sum cannot overflow a u64.
            let length = buf[..digits].iter().fold(0u64, |sum, digit| sum * 10 + u64::from(digit - b'0'));
            // A length beyond usize is beyond any limit; saturating keeps it oversized.
            let length = usize::try_from(length).unwrap_or(usize::MAX);
            Header::Counted { header: digits + 1, length }
        }
        Some(_) => Header::Line,
    }
}
