//! The durable disk buffer: an append-only, segmented log of opaque byte records.
//!
//! # Model
//!
//! One writer appends batches of records; one reader reads them in order and acknowledges them.
//! Every record gets a `u64` id, assigned contiguously from 0 for the life of the directory, so
//! any record that goes missing (corruption, a deleted file) shows up as a gap in the ids and is
//! counted, never skipped silently. [`open`] returns the pair ([`DiskWriter`], [`DiskReader`]).
//!
//! # Directory layout
//!
//! ```text
//! <dir>/buffer.lock                  empty; holds an exclusive flock while a buffer or tool uses <dir>
//! <dir>/ledger                       the reader position (32 bytes)
//! <dir>/00000000000000000042.seg     a segment whose first record id is 42 (20 decimal digits)
//! <dir>/*.tmp                        half-done atomic writes; deleted on open
//! ```
//!
//! # Segment files
//!
//! A segment starts with a 32-byte header, then frames back to back. All integers are
//! little-endian; every checksum is CRC32C (Castagnoli).
//!
//! ```text
//! header:  0..8   magic "STRATSEG"      8..10 format version (1)   10..12 header length (32)
//!          12..16 reserved (0)          16..24 first record id      24..28 reserved (0)
//!          28..32 CRC32C of bytes 0..28
//! frame:   0..4   CRC32C of bytes 4..20 of this header followed by the payload
//!          4..8   payload length        8..16 record id            16 kind   17..20 reserved (0)
//!          20..   payload
//! ```
//!
//! Kind 0 is a record. Kind 1 is a gap marker that `repair` writes in place of records it had to
//! drop; its 8-byte payload is the number of ids it stands for, so ids stay contiguous. The
//! checksum covers length, id and kind, so a flipped length cannot send the reader astray
//! unnoticed. A record never spans segments: the writer starts a new segment when the next frame
//! would take the current one past `max_segment_bytes` (a segment holds at least one record).
//! The largest record is therefore `max_segment_bytes - 52` bytes.
//!
//! # Ledger
//!
//! ```text
//! 0..8 magic "STRATLDG"   8..10 version (1)   10..16 reserved   16..24 first unacknowledged id
//! 24..28 reserved         28..32 CRC32C of bytes 0..28
//! ```
//!
//! It is replaced atomically (write `ledger.tmp`, fsync, rename, fsync the directory). The reader
//! writes it lazily: at most every 250 ms while acknowledging, always before deleting a segment,
//! on [`DiskReader::close`], and without fsync when a reader is dropped. A missing or corrupt
//! ledger makes the reader start at the oldest segment: records may be delivered twice, never lost.
//!
//! # Index
//!
//! The segment file names are the sparse index: one entry per segment, rebuilt on open from a
//! directory listing and kept in a `BTreeMap`. Seeking to an id is a map lookup plus a scan of at
//! most one segment; the record count of every segment but the last follows from the names alone.
//!
//! # Recovery on open
//!
//! Only the last segment is scanned on open. Bytes after its last valid frame (a torn write) are
//! truncated and reported; a corrupt frame followed by valid ones is left for the reader, which
//! skips it by scanning forward for the next frame whose checksum verifies and whose id is in the
//! expected range, and counts the ids it could not deliver. Writing always resumes in a new
//! segment. Segments wholly below the ledger position are deleted.
//!
//! # Durability
//!
//! A process crash loses nothing that [`DiskWriter::write_batch`] returned: the data is in the
//! page cache. Power loss keeps only what was fsynced, which [`FsyncPolicy`] decides; the highest
//! fsynced id is published by [`DiskWriter::durable`] so acknowledgements upstream can wait for it.
//! Acknowledged records may be re-delivered after a crash if the ledger had not been written yet
//! (at-least-once). After a failed fsync, or a failed write for any reason but a full filesystem,
//! the writer is poisoned and refuses every later write: the page cache may have dropped the
//! data, so pretending otherwise would lose it.
//!
//! # A full filesystem
//!
//! `ENOSPC` or `EDQUOT` from a segment write or a segment creation loses nothing, so it does not
//! poison. The append is all or nothing: its frames become visible to the reader only once every
//! byte is written, and a failed one is rolled back (the active segment truncated to its last
//! good length, segments it created removed). The active segment is then sealed, so that once
//! the reader has acknowledged it, it can be deleted like any other (an active segment never
//! is, and it may be what fills the disk); a reader parked at its end closes it, since an open
//! descriptor would keep a deleted file's blocks. The failure is counted
//! (`DiskBufferStats::no_space_errors`) and logged at a bounded rate; `WhenFull::Block` retries
//! with a backoff of 100 ms doubling to 2 s, sooner when the reader frees a segment, and
//! `DropNewest` drops the batch (after deleting any acknowledged sealed segment and trying once
//! more, since under `DropNewest` no waiting writer would do it). Writing resumes by itself when
//! space returns. The ledger is overwritten in place when its atomic replace finds no room (a
//! torn write fails its checksum: re-delivery, not loss), and skipped while none exists yet,
//! which is safe for the same reason: without a ledger, reading starts at the oldest segment.
//!
//! # Threads
//!
//! The writer encodes frames on the calling task, then runs the write (and any fsync it needs)
//! on tokio's blocking pool; the `Interval` flusher and the reader's file reads, ledger writes and
//! segment deletions run there too, so no runtime worker thread waits for a disk. The one
//! exception is dropping a [`DiskReader`] without closing it: `Drop` writes the 32-byte ledger
//! (no fsync) in place. The flusher holds the writer's file state while it fsyncs, so a write that
//! arrives meanwhile waits for that fsync on its blocking thread, not on the runtime.
//!
//! [`DiskReader::next_batch`] is cancel-safe. [`DiskWriter::write_batch`] is not: a dropped call
//! may have written part of its batch (ids stay contiguous, so the next call shows how much).

mod append;
mod files;
mod format;
mod reader;
mod recovery;
mod shared;
mod tools;
mod writer;

use std::path::PathBuf;
use std::time::Duration;

use crate::WhenFull;

pub use reader::DiskReader;
pub use shared::{DiskBufferStats, DiskBufferStatsHandle};
pub use tools::{
    Decodable, InspectReport, Problem, ProblemKind, RepairReport, SegmentSummary, VerifyReport, inspect,
    repair, verify,
};
pub use writer::{DiskWriter, WriteOutcome};

/// Appends one record frame (header with CRC32C, then the payload) to `out`, exactly as the writer
/// does: exposed so benchmarks can time the per-record cost of framing and checksumming alone.
pub fn encode_record_frame(out: &mut Vec<u8>, id: u64, payload: &[u8]) {
    format::encode_frame(out, id, format::KIND_RECORD, payload);
}

/// When written data is fsynced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Never fsync (except on [`DiskWriter::flush`] and close): data survives process crashes
    /// but power loss may take whatever the kernel had not written back yet.
    Never,
    /// Fsync in the background at this interval when something was written. Power loss loses at
    /// most about one interval of writes.
    Interval(Duration),
    /// Fsync before every [`DiskWriter::write_batch`] returns (group commit: one fsync per batch).
    Always,
}

impl Default for FsyncPolicy {
    /// Every 500 ms: bounds both the data at risk on power loss and the latency added to
    /// acknowledgements that wait for fsync, at a cost of at most two fsyncs a second.
    fn default() -> Self {
        Self::Interval(Duration::from_millis(500))
    }
}

/// Settings of a disk buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskBufferConfig {
    /// Directory holding the buffer's files; created if missing. One buffer per directory.
    pub dir: PathBuf,
    /// Upper bound on the bytes of all segment files. Default 256 MiB. Must be at least twice
    /// `max_segment_bytes`, so the writer can always make progress once readers catch up; a
    /// larger segment size is lowered to half of this.
    pub max_size_bytes: u64,
    /// A segment is closed before it would grow past this size. Default 32 MiB.
    pub max_segment_bytes: u64,
    /// When to fsync. Default: every 500 ms.
    pub fsync: FsyncPolicy,
    /// What a write does when the buffer is full. Default: block.
    pub when_full: WhenFull,
}

impl DiskBufferConfig {
    /// The defaults, for a buffer in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            max_size_bytes: 256 * 1024 * 1024,
            max_segment_bytes: 32 * 1024 * 1024,
            fsync: FsyncPolicy::default(),
            when_full: WhenFull::Block,
        }
    }

    /// The segment size actually used, after the clamp described on `max_size_bytes`.
    fn effective_segment_bytes(&self) -> u64 {
        self.max_segment_bytes.min(self.max_size_bytes / 2)
    }

    /// The largest payload a single record may have.
    fn max_record_bytes(&self) -> usize {
        let room = self
            .effective_segment_bytes()
            .saturating_sub((format::SEGMENT_HEADER_LEN + format::FRAME_HEADER_LEN) as u64);
        usize::try_from(room.min(u64::from(u32::MAX))).unwrap_or(usize::MAX)
    }

    fn validate(&self) -> Result<(), DiskBufferError> {
        if self.effective_segment_bytes() < MIN_SEGMENT_BYTES {
            return Err(DiskBufferError::InvalidConfig(format!(
                "max_segment_bytes ({}) and half of max_size_bytes ({}) must be at least {MIN_SEGMENT_BYTES}",
                self.max_segment_bytes, self.max_size_bytes
            )));
        }
        if let FsyncPolicy::Interval(interval) = self.fsync
            && interval.is_zero()
        {
            return Err(DiskBufferError::InvalidConfig("fsync interval must not be zero".to_owned()));
        }
        Ok(())
    }
}

/// The smallest usable segment: a header and a few small frames.
const MIN_SEGMENT_BYTES: u64 = 128;

/// Errors of the disk buffer and its tools.
#[derive(Debug, thiserror::Error)]
pub enum DiskBufferError {
    /// Another buffer or tool, in this process or another, has the directory open.
    #[error("disk buffer directory {dir} is in use by another process or buffer (its buffer.lock is held)")]
    Locked { dir: PathBuf },
    /// A filesystem operation failed.
    #[error("disk buffer i/o failed on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// An earlier write or fsync failed; the writer refuses writes until the buffer is reopened.
    #[error("disk buffer {dir} refuses writes after an earlier failure ({cause}); reopen it to recover")]
    Poisoned { dir: PathBuf, cause: String },
    /// A record is larger than a segment can hold.
    #[error("record of {len} bytes exceeds the maximum record size of {max} bytes")]
    RecordTooLarge { len: usize, max: usize },
    /// The configuration cannot work.
    #[error("invalid disk buffer config: {0}")]
    InvalidConfig(String),
    /// A segment was written by a newer, unknown format version.
    #[error("segment {path} has unsupported format version {version}")]
    UnsupportedVersion { path: PathBuf, version: u16 },
    /// A blocking task of the buffer panicked or was cancelled by runtime shutdown.
    #[error("disk buffer background task failed: {0}")]
    Task(String),
}

/// Opens (creating if needed) the buffer in `config.dir`, recovering whatever a crash left.
///
/// Fails with [`DiskBufferError::Locked`] if the directory is already open anywhere.
/// Must be called within a tokio runtime; the `Interval` flusher is spawned on it.
pub async fn open(config: DiskBufferConfig) -> Result<(DiskWriter, DiskReader), DiskBufferError> {
    config.validate()?;
    let recovery_config = config.clone();
    let recovered = run_blocking(move || recovery::recover(&recovery_config)).await?;
    let (shared, lock, start) = recovered.into_shared(config);
    let writer = DiskWriter::new(shared.clone(), lock.clone());
    let reader = DiskReader::new(shared, lock, start);
    Ok((writer, reader))
}

/// Runs blocking filesystem work on tokio's blocking pool.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DiskBufferError> + Send + 'static,
) -> Result<T, DiskBufferError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| DiskBufferError::Task(e.to_string()))?
}
