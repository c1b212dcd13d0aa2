//! State shared by the writer, the reader and the flusher of one open buffer, and its counters.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use std::fs;

use tokio::sync::Notify;
use tracing::debug;

use super::{DiskBufferConfig, DiskBufferError, FsyncPolicy, files};

/// Everything the writer and the reader both need to see.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: DiskBufferConfig,
    pub state: Mutex<State>,
    /// Woken when the writer commits records or closes.
    pub data_ready: Notify,
    /// Woken when the reader deletes segments.
    pub space_freed: Notify,
    pub counters: Counters,
    /// Set once, by the first failed write or fsync; the writer refuses writes from then on.
    pub poison: OnceLock<String>,
    /// Test hook: make the next segment write fail as if the disk had returned an error.
    pub inject_write_failure: AtomicBool,
    /// Test hook: this many upcoming segment writes fail half-way with `ENOSPC`.
    pub inject_no_space_writes: AtomicU64,
    /// Test hook: this many upcoming segment creations fail with `ENOSPC`.
    pub inject_no_space_creates: AtomicU64,
    /// Serialises ledger writes and segment deletions between the reader and the writer.
    pub reclaim_lock: Mutex<()>,
    /// The position last written to the ledger.
    pub persisted_end: AtomicU64,
}

impl Shared {
    /// Locks the state.
    ///
    /// A panic while the lock was held cannot leave the state half-updated in a way that matters:
    /// every update is a handful of field assignments that are each valid on their own, so the
    /// poison flag is ignored rather than turned into a panic of every other task.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Persists the reader position if it moved, then deletes every fully acknowledged sealed
    /// segment. Blocking. Returns whether any segment was deleted.
    ///
    /// The ledger goes first, so a crash between the two steps leaves segments that the next
    /// open deletes, rather than a ledger pointing before the oldest segment, which would look
    /// like lost records.
    pub(crate) fn reclaim(&self) -> Result<bool, DiskBufferError> {
        let _serial = self.reclaim_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let (acked_end, victims) = {
            let state = self.state();
            (state.acked_end, state.reclaimable())
        };
        let durable = self.config.fsync != FsyncPolicy::Never;
        self.persist_ledger_locked(acked_end, durable)?;
        if victims.is_empty() {
            return Ok(false);
        }
        for &first in &victims {
            let path = files::segment_path(&self.config.dir, first);
            fs::remove_file(&path).map_err(files::io_err(&path))?;
            let mut state = self.state();
            if let Some(len) = state.segments.remove(&first) {
                state.total_bytes = state.total_bytes.saturating_sub(len);
            }
        }
        if durable {
            files::sync_dir(&self.config.dir)?;
        }
        debug!(segments = victims.len(), acked_end, "reclaimed acknowledged disk buffer segments");
        self.space_freed.notify_waiters();
        Ok(true)
    }

    /// Writes the ledger if `acked_end` is ahead of what it holds. Blocking.
    pub(crate) fn persist_ledger(&self, acked_end: u64, durable: bool) -> Result<(), DiskBufferError> {
        let _serial = self.reclaim_lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.persist_ledger_locked(acked_end, durable)
    }

    fn persist_ledger_locked(&self, acked_end: u64, durable: bool) -> Result<(), DiskBufferError> {
        if acked_end <= self.persisted_end.load(Ordering::Acquire) {
            return Ok(());
        }
        match files::write_ledger(&self.config.dir, acked_end, durable) {
            Ok(()) => {}
            // No ledger yet and no space to create one. Without a ledger the next open reads
            // from the oldest segment left, so deleting acknowledged segments stays safe (at
            // worst some records come again); carry on, and write the ledger once there is room.
            Err(DiskBufferError::Io { source, .. })
                if files::is_no_space(&source) && !self.config.dir.join(files::LEDGER_FILE).exists() =>
            {
                debug!(acked_end, "no space to create the disk buffer ledger yet");
                return Ok(());
            }
            Err(error) => return Err(error),
        }
        self.persisted_end.store(acked_end, Ordering::Release);
        Ok(())
    }

    pub(crate) fn stats(&self) -> DiskBufferStats {
        let state = self.state();
        DiskBufferStats {
            buffered_records: state.next_id.saturating_sub(state.acked_end),
            buffered_bytes: state.total_bytes,
            segments: state.segments.len(),
            dropped_records: self.counters.dropped_records.load(Ordering::Relaxed),
            corrupt_frames: self.counters.corrupt_frames.load(Ordering::Relaxed),
            lost_records: self.counters.lost_records.load(Ordering::Relaxed),
            truncated_bytes: self.counters.truncated_bytes.load(Ordering::Relaxed),
            ledger_reset: self.counters.ledger_reset.load(Ordering::Relaxed),
            no_space_errors: self.counters.no_space_errors.load(Ordering::Relaxed),
        }
    }
}

/// The committed shape of the buffer. Only committed bytes are visible to the reader: the writer
/// updates a segment's length after its write returns, so a reader never sees half a frame.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// First record id of each segment file, mapped to its committed length in bytes.
    pub segments: BTreeMap<u64, u64>,
    /// The segment the writer appends to, if it has created one since open.
    pub active: Option<u64>,
    /// The id the next written record will get.
    pub next_id: u64,
    /// The reader acknowledged every id below this one.
    pub acked_end: u64,
    /// Sum of all segment lengths.
    pub total_bytes: u64,
    /// The writer was closed or dropped: once caught up, the reader reports the end.
    pub writer_closed: bool,
}

/// Where one segment's committed data ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentEnd {
    /// Committed length in bytes.
    pub len: u64,
    /// The id after the segment's last record.
    pub end_id: u64,
    /// No more bytes will be appended (it is not the writer's active segment).
    pub sealed: bool,
}

impl State {
    /// Where segment `first_id` ends, or `None` if it no longer exists.
    pub(crate) fn segment_end(&self, first_id: u64) -> Option<SegmentEnd> {
        let len = *self.segments.get(&first_id)?;
        let next_first = self.segments.range(first_id + 1..).next().map(|(&id, _)| id);
        Some(SegmentEnd {
            len,
            end_id: next_first.unwrap_or(self.next_id),
            sealed: self.active != Some(first_id),
        })
    }

    /// Segments whose every record is acknowledged and that the writer no longer appends to.
    pub(crate) fn reclaimable(&self) -> Vec<u64> {
        self.segments
            .keys()
            .copied()
            .filter(|&first| {
                self.segment_end(first).is_some_and(|end| end.sealed && end.end_id <= self.acked_end)
            })
            .collect()
    }
}

/// Monotonic counters, readable at any time through [`DiskBufferStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub dropped_records: AtomicU64,
    pub corrupt_frames: AtomicU64,
    pub lost_records: AtomicU64,
    pub truncated_bytes: AtomicU64,
    pub ledger_reset: AtomicBool,
    pub no_space_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A snapshot of a buffer's gauges and counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskBufferStats {
    /// Records written and not yet acknowledged (gauge).
    pub buffered_records: u64,
    /// Bytes of all segment files, headers included (gauge).
    pub buffered_bytes: u64,
    /// Segment files on disk (gauge).
    pub segments: usize,
    /// Records refused by `WhenFull::DropNewest` since open.
    pub dropped_records: u64,
    /// Corrupt frames or segment headers the reader met since open.
    pub corrupt_frames: u64,
    /// Record ids that can never be delivered (corruption, missing files, repair) seen since open.
    pub lost_records: u64,
    /// Bytes of torn tail truncated when the buffer was opened.
    pub truncated_bytes: u64,
    /// The ledger was unreadable on open, so reading restarted at the oldest record.
    pub ledger_reset: bool,
    /// Writes that failed because the filesystem or quota was full (`ENOSPC`, `EDQUOT`) since
    /// open; each was rolled back, then retried (`Block`) or dropped (`DropNewest`).
    pub no_space_errors: u64,
}

/// Reads a buffer's [`DiskBufferStats`] from anywhere, for as long as needed; it holds neither
/// half of the buffer nor its directory lock.
#[derive(Debug, Clone)]
pub struct DiskBufferStatsHandle {
    pub(crate) shared: Arc<Shared>,
}

impl DiskBufferStatsHandle {
    /// A snapshot of the buffer's gauges and counters.
    pub fn stats(&self) -> DiskBufferStats {
        self.shared.stats()
    }
}
