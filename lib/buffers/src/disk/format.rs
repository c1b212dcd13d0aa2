//! Byte layouts of the disk buffer: segment headers, record frames, the ledger, and the scanner.
//!
//! Everything here is pure: functions take byte slices and return decoded values, so the same
//! code serves the reader, recovery on open, and the operator tools, and can be tested without
//! touching a file. The layouts themselves are documented in the module docs of [`super`].

use std::ops::Range;

/// Magic bytes at the start of every segment file.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"STRATSEG";
/// Magic bytes at the start of the ledger file.
pub(crate) const LEDGER_MAGIC: [u8; 8] = *b"STRATLDG";
/// The only format version this code reads and writes.
pub(crate) const FORMAT_VERSION: u16 = 1;
/// Size of the fixed segment header; records start right after it.
pub(crate) const SEGMENT_HEADER_LEN: usize = 32;
/// Size of the header in front of every record payload.
pub(crate) const FRAME_HEADER_LEN: usize = 20;
/// Size of the ledger file.
pub(crate) const LEDGER_LEN: usize = 32;
/// Frame kind of an ordinary record.
pub(crate) const KIND_RECORD: u8 = 0;
/// Frame kind of a gap marker written by `repair`: its payload is the number of ids it covers.
pub(crate) const KIND_GAP: u8 = 1;

/// Encodes the fixed header of a segment whose first record id is `first_id`.
pub(crate) fn encode_segment_header(first_id: u64) -> [u8; SEGMENT_HEADER_LEN] {
    let mut header = [0u8; SEGMENT_HEADER_LEN];
    header[0..8].copy_from_slice(&SEGMENT_MAGIC);
    header[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header[10..12].copy_from_slice(&(SEGMENT_HEADER_LEN as u16).to_le_bytes());
    header[16..24].copy_from_slice(&first_id.to_le_bytes());
    let crc = crc32c::crc32c(&header[0..28]);
    header[28..32].copy_from_slice(&crc.to_le_bytes());
    header
}

/// What a segment header says about its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeaderCheck {
    /// Valid, current version, and its first id matches the file name.
    Ok,
    /// Too short, wrong magic, bad checksum, or a first id that disagrees with the file name.
    Corrupt,
    /// A valid header written by a format version this code does not understand.
    UnsupportedVersion(u16),
}

/// Checks a segment header against the first id taken from the segment's file name.
pub(crate) fn check_segment_header(bytes: &[u8], first_id: u64) -> HeaderCheck {
    let Some(header) = bytes.get(..SEGMENT_HEADER_LEN) else {
        return HeaderCheck::Corrupt;
    };
    let stored_crc = u32::from_le_bytes([header[28], header[29], header[30], header[31]]);
    if header[0..8] != SEGMENT_MAGIC || crc32c::crc32c(&header[0..28]) != stored_crc {
        return HeaderCheck::Corrupt;
    }
    let version = u16::from_le_bytes([header[8], header[9]]);
    if version != FORMAT_VERSION {
        return HeaderCheck::UnsupportedVersion(version);
    }
    if read_u64(header, 16) != first_id {
        return HeaderCheck::Corrupt;
    }
    HeaderCheck::Ok
}

/// The on-disk size of a frame carrying `payload_len` bytes.
pub(crate) fn frame_len(payload_len: usize) -> usize {
    FRAME_HEADER_LEN + payload_len
}

/// Appends one frame to `out`.
///
/// The checksum covers the rest of the header (length, id, kind) as well as the payload, so a
/// flipped bit in the length or the id is caught just like one in the payload.
pub(crate) fn encode_frame(out: &mut Vec<u8>, id: u64, kind: u8, payload: &[u8]) {
    // Callers reject payloads above the maximum record size, which is far below 4 GiB.
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut header = [0u8; FRAME_HEADER_LEN];
    header[4..8].copy_from_slice(&len.to_le_bytes());
    header[8..16].copy_from_slice(&id.to_le_bytes());
    header[16] = kind;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header[4..]), payload);
    header[0..4].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(payload);
}

/// The result of decoding the bytes at one position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A complete frame whose checksum verifies.
    Frame(Frame),
    /// Not enough bytes for the header, or for the payload length the header claims.
    Incomplete {
        /// Bytes from the position that the frame would need, when the header was readable.
        needed: Option<usize>,
    },
    /// Bytes that are not a valid frame.
    Invalid,
}

/// A verified frame, located within the buffer it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    pub id: u64,
    pub kind: u8,
    pub payload: Range<usize>,
    /// Position just past the frame.
    pub end: usize,
}

impl Frame {
    /// The id just after this frame: one past a record, or past every id a gap marker covers.
    pub(crate) fn next_id(&self, buf: &[u8]) -> u64 {
        if self.kind == KIND_GAP {
            let count = buf.get(self.payload.clone()).filter(|p| p.len() == 8).map_or(0, |p| read_u64(p, 0));
            self.id.saturating_add(count)
        } else {
            self.id.saturating_add(1)
        }
    }
}

/// Decodes the frame starting at `pos` in `buf`.
pub(crate) fn decode_frame(buf: &[u8], pos: usize) -> Decoded {
    let Some(header) = buf.get(pos..pos.saturating_add(FRAME_HEADER_LEN)) else {
        return Decoded::Incomplete { needed: None };
    };
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let kind = header[16];
    if kind > KIND_GAP || header[17..20] != [0, 0, 0] || (kind == KIND_GAP && len != 8) {
        return Decoded::Invalid;
    }
    let end = pos + FRAME_HEADER_LEN + len;
    let Some(payload) = buf.get(pos + FRAME_HEADER_LEN..end) else {
        return Decoded::Incomplete { needed: Some(FRAME_HEADER_LEN + len) };
    };
    let stored_crc = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if crc32c::crc32c_append(crc32c::crc32c(&header[4..]), payload) != stored_crc {
        return Decoded::Invalid;
    }
    Decoded::Frame(Frame { id: read_u64(header, 8), kind, payload: pos + FRAME_HEADER_LEN..end, end })
}

/// Finds the first position at or after `from` holding a valid frame whose id lies in `ids`.
///
/// This is how reading resynchronises after a corrupt frame. Every position is tried, so the
/// scan is linear in the bytes skipped plus the checksums of the few candidates whose header
/// looks plausible; it always terminates because the position only moves forward.
pub(crate) fn resync(buf: &[u8], from: usize, ids: Range<u64>) -> Option<usize> {
    let last = buf.len().checked_sub(FRAME_HEADER_LEN)?;
    (from..=last).find(|&pos| {
        let id = read_u64(buf, pos + 8);
        ids.contains(&id) && matches!(decode_frame(buf, pos), Decoded::Frame(_))
    })
}

/// Reads a little-endian u64 at `pos`; callers guarantee eight bytes are there.
fn read_u64(buf: &[u8], pos: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&buf[pos..pos + 8]);
    u64::from_le_bytes(bytes)
}

/// Everything a full pass over one segment's bytes found.
#[derive(Debug, Default)]
pub(crate) struct SegmentScan {
    /// Valid frames in file order, with ids strictly increasing.
    pub frames: Vec<Frame>,
    /// Byte ranges that held no valid frame but were followed by one (corruption).
    pub corrupt: Vec<Range<usize>>,
    /// Where the valid data ends; bytes after it are a torn or unreadable tail.
    pub valid_end: usize,
    /// The id after the last valid frame, or the segment's first id when it has none.
    pub end_id: u64,
}

/// Walks every frame of a segment (`buf` is the whole file, header included).
///
/// Frames whose id is below the next expected one are treated as corruption: in a segment written
/// by this code ids only grow, so such a frame cannot be trusted to be where it claims.
pub(crate) fn scan_segment(buf: &[u8], first_id: u64) -> SegmentScan {
    let mut scan = SegmentScan {
        valid_end: SEGMENT_HEADER_LEN.min(buf.len()),
        end_id: first_id,
        ..SegmentScan::default()
    };
    let mut pos = scan.valid_end;
    while pos < buf.len() {
        match decode_frame(buf, pos) {
            Decoded::Frame(frame) if frame.id >= scan.end_id => {
                scan.end_id = frame.next_id(buf);
                pos = frame.end;
                scan.valid_end = pos;
                scan.frames.push(frame);
            }
            _ => match resync(buf, pos + 1, scan.end_id..u64::MAX) {
                Some(next) => {
                    scan.corrupt.push(pos..next);
                    pos = next;
                }
                None => break,
            },
        }
    }
    scan
}

/// Encodes the ledger: the id of the first record the reader has not acknowledged.
pub(crate) fn encode_ledger(acked_end: u64) -> [u8; LEDGER_LEN] {
    let mut ledger = [0u8; LEDGER_LEN];
    ledger[0..8].copy_from_slice(&LEDGER_MAGIC);
    ledger[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    ledger[16..24].copy_from_slice(&acked_end.to_le_bytes());
    let crc = crc32c::crc32c(&ledger[0..28]);
    ledger[28..32].copy_from_slice(&crc.to_le_bytes());
    ledger
}

/// Decodes the ledger, or `None` when it is not a valid ledger of this version.
pub(crate) fn decode_ledger(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != LEDGER_LEN || bytes[0..8] != LEDGER_MAGIC {
        return None;
    }
    let stored_crc = u32::from_le_bytes([bytes[28], bytes[29], bytes[30], bytes[31]]);
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    (crc32c::crc32c(&bytes[0..28]) == stored_crc && version == FORMAT_VERSION).then(|| read_u64(bytes, 16))
}
