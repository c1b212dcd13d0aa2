//! Splitting a file's bytes into lines, with their end offsets, and discarding overlong ones.

use bytes::Bytes;

/// What the splitter found.
#[derive(Debug, PartialEq)]
pub(super) enum Piece {
    /// A complete line, without its delimiter.
    Line(Bytes),
    /// A line longer than the limit, discarded; its length without the delimiter.
    TooLong(u64),
}

/// Splits a stream of bytes into lines. It holds at most one partial line (up to the limit).
#[derive(Debug)]
pub(super) struct LineSplitter {
    delimiter: Vec<u8>,
    max_line_bytes: usize,
    /// The partial line read so far (or, while discarding, the few bytes that might begin a
    /// delimiter).
    buffer: Vec<u8>,
    /// The file offset of `buffer[0]`.
    offset: u64,
    /// Where the delimiter search in `buffer` resumes.
    searched: usize,
    /// Bytes of an overlong line dropped so far; `Some` while discarding one.
    discarding: Option<u64>,
    /// The offset just after the last complete line or discarded line: a line boundary.
    boundary: u64,
}

impl LineSplitter {
    pub(super) fn new(delimiter: &[u8], max_line_bytes: usize, offset: u64) -> Self {
        Self {
            delimiter: delimiter.to_vec(),
            max_line_bytes,
            buffer: Vec::new(),
            offset,
            searched: 0,
            discarding: None,
            boundary: offset,
        }
    }

    /// The offset of the next byte to read from the file.
    pub(super) fn read_offset(&self) -> u64 {
        self.offset + self.buffer.len() as u64
    }

    /// The offset after the last whole line: where a restart must resume.
    pub(super) fn boundary(&self) -> u64 {
        self.boundary
    }

    /// True when part of a line is held.
    pub(super) fn has_partial(&self) -> bool {
        !self.buffer.is_empty() || self.discarding.is_some()
    }

    /// Forgets everything and starts again at `offset`.
    pub(super) fn reset(&mut self, offset: u64) {
        *self = Self::new(&self.delimiter, self.max_line_bytes, offset);
    }

    /// Splits `data` (the bytes at `read_offset()`), pushing each piece with its end offset.
    pub(super) fn feed(&mut self, data: &[u8], out: &mut Vec<(Piece, u64)>) {
        self.buffer.extend_from_slice(data);
        let delimiter_len = self.delimiter.len();
        let mut start = 0;
        while let Some(i) = memchr::memmem::find(&self.buffer[self.searched..], &self.delimiter) {
            let end = self.searched + i;
            let next = end + delimiter_len;
            let length = (end - start) as u64;
            let end_offset = self.offset + next as u64;
            let piece = match self.discarding.take() {
                Some(dropped) => Piece::TooLong(dropped + length),
                None if length > self.max_line_bytes as u64 => Piece::TooLong(length),
                None => Piece::Line(Bytes::copy_from_slice(&self.buffer[start..end])),
            };
            out.push((piece, end_offset));
            self.boundary = end_offset;
            start = next;
            self.searched = next;
        }
        self.buffer.drain(..start);
        self.offset += start as u64;
        self.searched = self.buffer.len().saturating_sub(delimiter_len - 1);
        // Past the limit the line is lost anyway: drop its bytes now so memory stays bounded,
        // keeping only what could be the start of a delimiter.
        if self.buffer.len() > self.max_line_bytes + delimiter_len {
            let drop = self.buffer.len() - (delimiter_len - 1);
            *self.discarding.get_or_insert(0) += drop as u64;
            self.buffer.drain(..drop);
            self.offset += drop as u64;
            self.searched = 0;
        }
    }

    /// At the true end of the input (a gzip file, a deleted file): the partial line, if any.
    pub(super) fn finish(&mut self) -> Option<(Piece, u64)> {
        if !self.has_partial() {
            return None;
        }
        let end_offset = self.read_offset();
        let length = self.buffer.len() as u64;
        let piece = match self.discarding.take() {
            Some(dropped) => Piece::TooLong(dropped + length),
            None if length > self.max_line_bytes as u64 => Piece::TooLong(length),
            None => Piece::Line(Bytes::from(std::mem::take(&mut self.buffer))),
        };
        self.buffer.clear();
        self.offset = end_offset;
        self.searched = 0;
        self.boundary = end_offset;
        Some((piece, end_offset))
    }
}
