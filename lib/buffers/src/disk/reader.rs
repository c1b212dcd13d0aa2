//! The reading half: ordered reads that skip corruption, acknowledgements, and the ledger.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tracing::warn;

use super::files::{self, DirLock, io_err};
use super::format::{self, Decoded, HeaderCheck, KIND_GAP, SEGMENT_HEADER_LEN};
use super::shared::{Counters, DiskBufferStats, DiskBufferStatsHandle, SegmentEnd, Shared};
use super::{DiskBufferError, run_blocking};

/// How much of a segment one read pulls in.
const READ_CHUNK: usize = 256 * 1024;
/// The ledger is rewritten at most this often while acknowledging (and always before a segment
/// is deleted). Crash re-delivery is bounded by what is acknowledged in this window.
const LEDGER_INTERVAL: Duration = Duration::from_millis(250);

/// Reads records in id order and acknowledges them. There is one reader per open buffer.
///
/// Delivery is at-least-once: after a crash, records acknowledged since the ledger was last
/// written are delivered again. Dropping the reader writes the ledger (without fsync).
#[derive(Debug)]
pub struct DiskReader {
    shared: Arc<Shared>,
    inner: Arc<ReaderInner>,
    /// The directory stays locked while the reader or one of its blocking tasks lives.
    lock: Arc<DirLock>,
    /// The id after the last record returned to the caller.
    delivered_end: u64,
    acked_end: u64,
    last_persist: Instant,
    /// Set by `close` and `simulate_crash`, so `Drop` leaves the ledger alone.
    skip_drop_persist: bool,
}

/// Reader state reachable from blocking tasks, so a cancelled read loses nothing.
#[derive(Debug)]
struct ReaderInner {
    core: Mutex<ReaderCore>,
    /// Records read from disk but not yet returned; filled by blocking reads, drained by
    /// `next_batch`. Keeping them here makes `next_batch` cancel-safe.
    ready: Mutex<VecDeque<(u64, Bytes)>>,
    /// Mirror of `ReaderCore::next_id`, readable without waiting for a read in progress.
    read_pos: AtomicU64,
}

fn lock_mutex<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // See `Shared::state`: every update under these locks is valid on its own.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DiskReader {
    pub(crate) fn new(shared: Arc<Shared>, lock: Arc<DirLock>, start: u64) -> Self {
        let core = ReaderCore { shared: shared.clone(), segment: None, next_id: start };
        let inner =
            ReaderInner { core: Mutex::new(core), ready: Mutex::default(), read_pos: AtomicU64::new(start) };
        Self {
            shared,
            inner: Arc::new(inner),
            lock,
            delivered_end: start,
            acked_end: start,
            last_persist: Instant::now(),
            skip_drop_persist: false,
        }
    }

    /// Returns up to `max_records` records (at least one), waiting for the writer if needed.
    /// An empty batch means the writer is closed and every record has been read.
    ///
    /// Cancel-safe: records read from disk by a cancelled call are returned by the next one.
    pub async fn next_batch(&mut self, max_records: usize) -> Result<Vec<(u64, Bytes)>, DiskBufferError> {
        let max = max_records.max(1);
        loop {
            let data_ready = self.shared.data_ready.notified();
            tokio::pin!(data_ready);
            data_ready.as_mut().enable();
            {
                let mut ready = lock_mutex(&self.inner.ready);
                if !ready.is_empty() {
                    let take = max.min(ready.len());
                    let batch: Vec<_> = ready.drain(..take).collect();
                    if let Some((id, _)) = batch.last() {
                        self.delivered_end = id + 1;
                    }
                    return Ok(batch);
                }
            }
            let read_pos = self.inner.read_pos.load(Ordering::Acquire);
            let (available, closed) = {
                let state = self.shared.state();
                (state.next_id > read_pos, state.writer_closed)
            };
            if !available {
                if closed {
                    return Ok(Vec::new());
                }
                self.inner.release_finished_segment();
                data_ready.await;
                continue;
            }
            let inner = self.inner.clone();
            let moved = run_blocking(move || {
                let mut core = lock_mutex(&inner.core);
                let records = core.fill(max)?;
                inner.read_pos.store(core.next_id, Ordering::Release);
                let moved = !records.is_empty() || core.next_id != read_pos;
                lock_mutex(&inner.ready).extend(records);
                Ok(moved)
            })
            .await?;
            if !moved {
                // Nothing readable yet although ids were committed; wait for the next commit
                // rather than spin.
                data_ready.await;
            }
        }
    }

    /// Acknowledges every record up to and including `up_to`; later ids than the reader has
    /// returned are ignored. Deletes fully acknowledged segments and writes the ledger lazily.
    pub async fn ack(&mut self, up_to: u64) -> Result<(), DiskBufferError> {
        let end = up_to.saturating_add(1).min(self.delivered_end);
        if end <= self.acked_end {
            return Ok(());
        }
        self.acked_end = end;
        let reclaimable = {
            let mut state = self.shared.state();
            state.acked_end = end;
            !state.reclaimable().is_empty()
        };
        if reclaimable || self.last_persist.elapsed() >= LEDGER_INTERVAL {
            self.last_persist = Instant::now();
            let (shared, lock) = (self.shared.clone(), self.lock.clone());
            run_blocking(move || {
                // Like a write, a reclaim keeps the directory locked until it is done, even if
                // this future is dropped.
                let _lock = lock;
                shared.reclaim().map(drop)
            })
            .await?;
        }
        Ok(())
    }

    /// Writes the reader position durably and releases the buffer.
    pub async fn close(mut self) -> Result<(), DiskBufferError> {
        self.skip_drop_persist = true;
        let (shared, end, lock) = (self.shared.clone(), self.acked_end, self.lock.clone());
        run_blocking(move || {
            let _lock = lock;
            shared.persist_ledger(end, true)
        })
        .await
    }

    /// Drops the reader without writing the ledger, as a killed process would. For tests.
    #[doc(hidden)]
    pub fn simulate_crash(mut self) {
        self.skip_drop_persist = true;
    }

    /// The id of the first record not yet returned by [`next_batch`](Self::next_batch).
    pub fn next_id(&self) -> u64 {
        self.delivered_end
    }

    /// A snapshot of the buffer's gauges and counters.
    pub fn stats(&self) -> DiskBufferStats {
        self.shared.stats()
    }

    /// A handle that reads the stats while the reader is busy elsewhere.
    pub fn stats_handle(&self) -> DiskBufferStatsHandle {
        DiskBufferStatsHandle { shared: self.shared.clone() }
    }
}

impl Drop for DiskReader {
    fn drop(&mut self) {
        if self.skip_drop_persist {
            return;
        }
        // A small write into the page cache, no fsync: cheap enough for `Drop`, and it keeps a
        // dropped (not crashed) reader from re-delivering what it acknowledged.
        if let Err(e) = self.shared.persist_ledger(self.acked_end, false) {
            warn!(error = %e, "could not write the disk buffer ledger on drop; records may be re-delivered");
        }
    }
}

impl ReaderInner {
    /// Closes the segment file the reader has read to the end of, once the writer has sealed
    /// it. An open descriptor keeps a deleted file's blocks allocated, so holding it while
    /// waiting for new records could keep a full disk full after the segment is reclaimed.
    ///
    /// Skipped when a read is in progress on the blocking pool; that read moves on by itself.
    fn release_finished_segment(&self) {
        let Ok(mut core) = self.core.try_lock() else { return };
        let finished = core.segment.as_ref().is_some_and(|seg| {
            core.shared
                .state()
                .segment_end(seg.first_id)
                .is_none_or(|end| end.sealed && seg.offset >= end.len)
        });
        if finished {
            core.segment = None;
        }
    }
}

/// The file the reader is in, and where.
#[derive(Debug)]
struct OpenSegment {
    first_id: u64,
    path: PathBuf,
    file: File,
    offset: u64,
}

/// The reader's position on disk; used only on blocking threads.
#[derive(Debug)]
struct ReaderCore {
    shared: Arc<Shared>,
    segment: Option<OpenSegment>,
    /// The next id to read from disk.
    next_id: u64,
}

impl ReaderCore {
    /// Reads up to `max` records from committed data. Blocking.
    fn fill(&mut self, max: usize) -> Result<Vec<(u64, Bytes)>, DiskBufferError> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(mut seg) = self.segment.take().map_or_else(|| self.open_next(), |s| Ok(Some(s)))? else {
                break;
            };
            let Some(end) = self.shared.state().segment_end(seg.first_id) else {
                continue; // Deleted after being fully acknowledged: move on.
            };
            if seg.offset >= end.len {
                if !end.sealed {
                    self.segment = Some(seg);
                    break;
                }
                self.skip_to(end.end_id, "records missing at the end of a segment");
                continue;
            }
            self.read_frames(&mut seg, end, max, &mut out)?;
            self.segment = Some(seg);
        }
        Ok(out)
    }

    /// Opens the segment holding `next_id`, or the first one after it (counting the gap).
    fn open_next(&mut self) -> Result<Option<OpenSegment>, DiskBufferError> {
        let first_id = {
            let state = self.shared.state();
            let holding = state
                .segments
                .range(..=self.next_id)
                .next_back()
                .map(|(&first, _)| first)
                .filter(|&first| state.segment_end(first).is_some_and(|e| e.end_id > self.next_id));
            match holding.or_else(|| state.segments.range(self.next_id + 1..).next().map(|(&first, _)| first))
            {
                Some(first) => first,
                None => return Ok(None),
            }
        };
        self.skip_to(first_id, "segment files missing");
        let path = files::segment_path(&self.shared.config.dir, first_id);
        let mut file = File::open(&path).map_err(io_err(&path))?;
        let mut header = [0u8; SEGMENT_HEADER_LEN];
        let header_check = match file.read_exact(&mut header) {
            Ok(()) => format::check_segment_header(&header, first_id),
            Err(_) => HeaderCheck::Corrupt,
        };
        match header_check {
            HeaderCheck::Ok => {}
            HeaderCheck::UnsupportedVersion(version) => {
                return Err(DiskBufferError::UnsupportedVersion { path, version });
            }
            HeaderCheck::Corrupt => {
                Counters::add(&self.shared.counters.corrupt_frames, 1);
                warn!(path = %path.display(), "disk buffer segment header is corrupt; reading its records anyway");
            }
        }
        Ok(Some(OpenSegment { first_id, path, file, offset: SEGMENT_HEADER_LEN as u64 }))
    }

    /// Moves the read position forward to `id`, counting the ids passed over as lost.
    fn skip_to(&mut self, id: u64, why: &str) {
        if id > self.next_id {
            let lost = id - self.next_id;
            Counters::add(&self.shared.counters.lost_records, lost);
            warn!(first_lost_id = self.next_id, lost, reason = why, "disk buffer records lost");
            self.next_id = id;
        }
    }

    /// Reads one chunk of `seg` and decodes its frames into `out`.
    fn read_frames(
        &mut self,
        seg: &mut OpenSegment,
        end: SegmentEnd,
        max: usize,
        out: &mut Vec<(u64, Bytes)>,
    ) -> Result<(), DiskBufferError> {
        let mut want = READ_CHUNK;
        loop {
            let chunk = read_at(seg, want.min((end.len - seg.offset) as usize))?;
            let at_end = seg.offset + chunk.len() as u64 == end.len;
            let mut pos = 0;
            while out.len() < max && pos < chunk.len() {
                match format::decode_frame(&chunk, pos) {
                    Decoded::Frame(frame) => {
                        if frame.kind == KIND_GAP {
                            self.skip_to(frame.next_id(&chunk), "dropped by an earlier repair");
                        } else if frame.id >= self.next_id {
                            self.skip_to(frame.id, "ids missing between frames");
                            out.push((frame.id, chunk.slice(frame.payload.clone())));
                            self.next_id = frame.id + 1;
                        }
                        pos = frame.end;
                    }
                    Decoded::Incomplete { needed } if !at_end => {
                        if pos == 0 {
                            want = needed.unwrap_or(READ_CHUNK).max(want * 2);
                        }
                        break;
                    }
                    Decoded::Incomplete { .. } | Decoded::Invalid => {
                        seg.offset += pos as u64;
                        return self.resync(seg, end);
                    }
                }
            }
            seg.offset += pos as u64;
            if pos > 0 || out.len() >= max {
                return Ok(());
            }
        }
    }

    /// Skips a corrupt frame at `seg.offset`: on to the next valid frame, or to the segment end.
    fn resync(&mut self, seg: &mut OpenSegment, end: SegmentEnd) -> Result<(), DiskBufferError> {
        Counters::add(&self.shared.counters.corrupt_frames, 1);
        let rest = read_at(seg, (end.len - seg.offset) as usize)?;
        warn!(path = %seg.path.display(), offset = seg.offset, "corrupt frame in disk buffer segment; resynchronising");
        match format::resync(&rest, 1, self.next_id..end.end_id) {
            Some(skip) => seg.offset += skip as u64,
            None => {
                seg.offset = end.len;
                self.skip_to(end.end_id, "corrupt frames");
            }
        }
        Ok(())
    }
}

/// Reads `len` bytes of the segment at its current offset.
fn read_at(seg: &mut OpenSegment, len: usize) -> Result<Bytes, DiskBufferError> {
    let mut buf = vec![0u8; len];
    let read = seg.file.seek(SeekFrom::Start(seg.offset)).and_then(|_| seg.file.read_exact(&mut buf));
    read.map_err(io_err(&seg.path))?;
    Ok(Bytes::from(buf))
}
