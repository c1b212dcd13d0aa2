//! Recovery on open: lock the directory, read the ledger, repair the tail of the last segment.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::Notify;
use tracing::{info, warn};

use super::files::{self, DirLock, LedgerState, io_err};
use super::format::{self, HeaderCheck, SEGMENT_HEADER_LEN};
use super::shared::{Counters, Shared, State};
use super::{DiskBufferConfig, DiskBufferError, FsyncPolicy};

/// What recovery found and left on disk, ready to become the live buffer.
#[derive(Debug)]
pub(crate) struct Recovered {
    lock: DirLock,
    segments: BTreeMap<u64, u64>,
    next_id: u64,
    acked_end: u64,
    truncated_bytes: u64,
    ledger_reset: bool,
}

impl Recovered {
    /// Builds the shared state; returns it with the lock and the id the reader starts at.
    pub(crate) fn into_shared(self, config: DiskBufferConfig) -> (Arc<Shared>, Arc<DirLock>, u64) {
        let counters = Counters::default();
        counters.truncated_bytes.store(self.truncated_bytes, Ordering::Relaxed);
        counters.ledger_reset.store(self.ledger_reset, Ordering::Relaxed);
        let state = State {
            total_bytes: self.segments.values().sum(),
            segments: self.segments,
            active: None,
            next_id: self.next_id,
            acked_end: self.acked_end,
            writer_closed: false,
        };
        let shared = Shared {
            config,
            state: std::sync::Mutex::new(state),
            data_ready: Notify::new(),
            space_freed: Notify::new(),
            counters,
            poison: std::sync::OnceLock::new(),
            inject_write_failure: std::sync::atomic::AtomicBool::new(false),
            inject_no_space_writes: std::sync::atomic::AtomicU64::new(0),
            inject_no_space_creates: std::sync::atomic::AtomicU64::new(0),
            reclaim_lock: std::sync::Mutex::new(()),
            persisted_end: std::sync::atomic::AtomicU64::new(self.acked_end),
        };
        (Arc::new(shared), Arc::new(self.lock), self.acked_end)
    }
}

/// Opens the directory and brings it to a consistent state. Blocking.
pub(crate) fn recover(config: &DiskBufferConfig) -> Result<Recovered, DiskBufferError> {
    let dir = config.dir.as_path();
    let lock = DirLock::acquire(dir)?;
    files::remove_tmp_files(dir)?;
    let mut segments = files::list_segments(dir)?;
    let durable = config.fsync != FsyncPolicy::Never;
    let mut dir_changed = false;

    let tail = match segments.last_key_value() {
        Some((&last, _)) => Some(recover_tail(dir, last, &mut segments, durable, &mut dir_changed)?),
        None => None,
    };
    let truncated_bytes = tail.map_or(0, |t| t.truncated);
    let ledger = files::read_ledger(dir)?;
    let written_end = tail.map_or(0, |t| t.end_id);
    let next_id = match ledger {
        LedgerState::Valid(acked_end) => written_end.max(acked_end),
        LedgerState::Missing | LedgerState::Corrupt => written_end,
    };
    let oldest = segments.first_key_value().map_or(next_id, |(&first, _)| first);
    let acked_end = match ledger {
        LedgerState::Valid(acked_end) => acked_end,
        LedgerState::Missing => oldest,
        LedgerState::Corrupt => {
            warn!(dir = %dir.display(), "disk buffer ledger is corrupt; re-reading from the oldest record (duplicates possible)");
            oldest
        }
    };

    // A crash between writing the ledger and deleting reclaimed segments leaves them behind.
    let stale: Vec<u64> = segments
        .keys()
        .copied()
        .filter(|&first| segments.range(first + 1..).next().map_or(next_id, |(&id, _)| id) <= acked_end)
        .collect();
    for first in stale {
        let path = files::segment_path(dir, first);
        fs::remove_file(&path).map_err(io_err(&path))?;
        segments.remove(&first);
        dir_changed = true;
    }
    if durable {
        if dir_changed {
            files::sync_dir(dir)?;
        }
        // Data written by an earlier run under `Never` may still be only in the page cache;
        // syncing it once here lets the durable watermark start at `next_id`.
        for &first in segments.keys() {
            let path = files::segment_path(dir, first);
            File::open(&path).and_then(|f| f.sync_data()).map_err(io_err(&path))?;
        }
    }
    info!(dir = %dir.display(), segments = segments.len(), next_id, acked_end, "disk buffer opened");
    Ok(Recovered {
        lock,
        segments,
        next_id,
        acked_end,
        truncated_bytes,
        ledger_reset: ledger == LedgerState::Corrupt,
    })
}

/// What recovering the last segment found.
#[derive(Debug, Clone, Copy)]
struct Tail {
    /// The id after the last valid record.
    end_id: u64,
    truncated: u64,
}

/// Scans the last segment, truncating a torn tail, or deleting it if no record in it survives.
fn recover_tail(
    dir: &Path,
    first_id: u64,
    segments: &mut BTreeMap<u64, u64>,
    durable: bool,
    dir_changed: &mut bool,
) -> Result<Tail, DiskBufferError> {
    let path = files::segment_path(dir, first_id);
    let bytes = fs::read(&path).map_err(io_err(&path))?;
    match format::check_segment_header(&bytes, first_id) {
        HeaderCheck::Ok => {}
        HeaderCheck::UnsupportedVersion(version) => {
            return Err(DiskBufferError::UnsupportedVersion { path, version });
        }
        // The reader reports a corrupt header when it gets there; the frames may still be fine.
        HeaderCheck::Corrupt => {}
    }
    let scan = format::scan_segment(&bytes, first_id);
    if scan.frames.is_empty() {
        let truncated = bytes.len().saturating_sub(SEGMENT_HEADER_LEN) as u64;
        if truncated > 0 {
            warn!(path = %path.display(), bytes = truncated, "disk buffer segment holds no valid record; deleting it");
        }
        fs::remove_file(&path).map_err(io_err(&path))?;
        segments.remove(&first_id);
        *dir_changed = true;
        return Ok(Tail { end_id: first_id, truncated });
    }
    let truncated = (bytes.len() - scan.valid_end) as u64;
    if truncated > 0 {
        warn!(path = %path.display(), bytes = truncated, "truncating torn tail of disk buffer segment");
        let file = OpenOptions::new().write(true).open(&path).map_err(io_err(&path))?;
        file.set_len(scan.valid_end as u64).map_err(io_err(&path))?;
        if durable {
            file.sync_data().map_err(io_err(&path))?;
        }
        segments.insert(first_id, scan.valid_end as u64);
    }
    Ok(Tail { end_id: scan.end_id, truncated })
}
