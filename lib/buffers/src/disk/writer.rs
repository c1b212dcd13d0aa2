//! The writing half: space accounting, waiting for room, and what a full filesystem does.
//! The file work itself (rotation, fsync, rollback, poisoning) is in `append.rs`.

use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing::{info, warn};

use super::append::{AppendError, WriterCore, flush_periodically, lock_core};
use super::files::{DirLock, EMPTY_SEGMENT_LEN};
use super::format::{self, KIND_RECORD};
use super::shared::{Counters, DiskBufferStats, Shared};
use super::{DiskBufferError, FsyncPolicy, run_blocking};
use crate::WhenFull;

/// The first wait after the filesystem reported no space; doubled on each failure after that.
const NO_SPACE_INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between attempts while the filesystem stays full.
const NO_SPACE_MAX_BACKOFF: Duration = Duration::from_secs(2);
/// While the filesystem stays full, a reminder is logged at most this often.
const NO_SPACE_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What happened to a batch handed to [`DiskWriter::write_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Every record was written (to the page cache; see [`DiskWriter::durable`]) with these ids.
    Written { ids: Range<u64> },
    /// The buffer was full under `WhenFull::DropNewest`: none of the records were written.
    Dropped { records: usize },
}

/// Appends records to the buffer. There is one writer per open buffer.
///
/// Dropping the writer without [`close`](Self::close) is safe: what was written stays readable,
/// and the reader sees the end of the stream once it has caught up.
#[derive(Debug)]
pub struct DiskWriter {
    shared: Arc<Shared>,
    core: Arc<Mutex<WriterCore>>,
    lock: Arc<DirLock>,
    durable: watch::Receiver<u64>,
    /// The id the next record gets; only this writer assigns ids, so a copy is exact.
    next_id: u64,
    /// Set while writes fail for lack of space: drives the backoff and the bounded logging.
    no_space: Option<NoSpaceSpell>,
}

/// A run of writes that failed because the filesystem or quota was full.
#[derive(Debug)]
struct NoSpaceSpell {
    since: Instant,
    failures: u64,
    last_log: Instant,
    backoff: Duration,
}

impl DiskWriter {
    pub(crate) fn new(shared: Arc<Shared>, lock: Arc<DirLock>) -> Self {
        let next_id = shared.state().next_id;
        let (durable_tx, durable) = watch::channel(next_id);
        let core = Arc::new(Mutex::new(WriterCore::new(shared.clone(), durable_tx, next_id)));
        if let FsyncPolicy::Interval(interval) = shared.config.fsync {
            tokio::spawn(flush_periodically(Arc::downgrade(&core), interval));
        }
        Self { shared, core, lock, durable, next_id, no_space: None }
    }

    /// Writes a batch, returning the ids it got, or that it was dropped.
    ///
    /// Under `WhenFull::Block` this waits for the reader to free space and may write the batch
    /// in several chunks (each with its own fsync under `FsyncPolicy::Always`); under
    /// `DropNewest` the batch is written whole or not at all. An empty batch writes nothing.
    ///
    /// A filesystem that is full (`ENOSPC`, `EDQUOT`) before `max_size_bytes` is reached is
    /// treated like a full buffer, not as a failure: the partial write is rolled back, the
    /// condition is counted ([`DiskBufferStats::no_space_errors`]) and logged at a bounded rate,
    /// and `Block` retries with backoff (and whenever the reader frees a segment) while
    /// `DropNewest` drops the batch unless freeing acknowledged segments makes room at once.
    /// Only other errors, and every failed fsync, poison the writer.
    ///
    /// Not cancel-safe: if the future is dropped, part of the batch may have been written.
    pub async fn write_batch<R: AsRef<[u8]>>(
        &mut self,
        records: &[R],
    ) -> Result<WriteOutcome, DiskBufferError> {
        self.check_poison()?;
        if records.is_empty() {
            return Ok(WriteOutcome::Written { ids: self.next_id..self.next_id });
        }
        let max = self.shared.config.max_record_bytes();
        if let Some(len) = records.iter().map(|r| r.as_ref().len()).find(|&len| len > max) {
            return Err(DiskBufferError::RecordTooLarge { len, max });
        }
        let first_id = self.next_id;
        if self.shared.config.when_full == WhenFull::DropNewest {
            let needed: u64 = records.iter().map(|r| format::frame_len(r.as_ref().len()) as u64).sum();
            let room = self.has_room(needed) || (self.reclaim_sealed().await? && self.has_room(needed));
            if !room {
                Counters::add(&self.shared.counters.dropped_records, records.len() as u64);
                return Ok(WriteOutcome::Dropped { records: records.len() });
            }
            let mut retried = false;
            loop {
                match self.write_chunk(records).await {
                    Ok(()) => {
                        self.space_returned();
                        break;
                    }
                    Err(AppendError::NoSpace(error)) => {
                        self.no_space_failure(&error);
                        // The failed write sealed the active segment. If the reader is done with
                        // it, nothing else would ever delete it (no new record means no new
                        // ack), so free it now and try once more before dropping.
                        if !retried && self.reclaim_after_no_space().await {
                            retried = true;
                            continue;
                        }
                        Counters::add(&self.shared.counters.dropped_records, records.len() as u64);
                        return Ok(WriteOutcome::Dropped { records: records.len() });
                    }
                    Err(AppendError::Fatal(error)) => return Err(error),
                }
            }
        } else {
            let mut rest = records;
            while !rest.is_empty() {
                let fit = self.wait_for_room(rest).await?;
                match self.write_chunk(&rest[..fit]).await {
                    Ok(()) => {
                        self.space_returned();
                        rest = &rest[fit..];
                    }
                    Err(AppendError::NoSpace(error)) => {
                        let backoff = self.no_space_failure(&error);
                        self.wait_for_space(backoff).await?;
                    }
                    Err(AppendError::Fatal(error)) => return Err(error),
                }
            }
        }
        Ok(WriteOutcome::Written { ids: first_id..self.next_id })
    }

    /// Whether `needed` more bytes of frames fit under `max_size_bytes`. One segment header is
    /// reserved as well, in case the frames start a new segment.
    fn has_room(&self, needed: u64) -> bool {
        let total = self.shared.state().total_bytes;
        total + needed + EMPTY_SEGMENT_LEN <= self.shared.config.max_size_bytes
    }

    /// Deletes segments the reader finished with before they were sealed; see `wait_for_room`.
    async fn reclaim_sealed(&self) -> Result<bool, DiskBufferError> {
        if self.shared.state().reclaimable().is_empty() {
            return Ok(false);
        }
        let shared = self.shared.clone();
        run_blocking(move || shared.reclaim()).await
    }

    /// Waits until at least one record of `records` fits; returns how many fit.
    async fn wait_for_room<R: AsRef<[u8]>>(&mut self, records: &[R]) -> Result<usize, DiskBufferError> {
        loop {
            let freed = self.shared.space_freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let total = self.shared.state().total_bytes;
            let room = self.shared.config.max_size_bytes.saturating_sub(total + EMPTY_SEGMENT_LEN);
            let mut used = 0u64;
            let fit = records
                .iter()
                .take_while(|r| {
                    used += format::frame_len(r.as_ref().len()) as u64;
                    used <= room
                })
                .count();
            if fit > 0 {
                return Ok(fit);
            }
            // The reader may have acknowledged a segment while it was still being written; once
            // sealed only we know it can go, so reclaim it here instead of waiting for an ack.
            if self.reclaim_sealed().await? {
                continue;
            }
            freed.await;
            self.check_poison()?;
        }
    }

    /// Counts and reports a write that failed for lack of space; returns how long to wait
    /// before the next attempt.
    fn no_space_failure(&mut self, error: &DiskBufferError) -> Duration {
        Counters::add(&self.shared.counters.no_space_errors, 1);
        let dir = self.shared.config.dir.display();
        let now = Instant::now();
        let Some(spell) = &mut self.no_space else {
            let action = match self.shared.config.when_full {
                WhenFull::Block => "waiting for space (backpressure)",
                WhenFull::DropNewest => "dropping new records until there is space",
            };
            warn!(dir = %dir, error = %error, "disk buffer filesystem is full; {action}");
            let backoff = NO_SPACE_INITIAL_BACKOFF;
            self.no_space = Some(NoSpaceSpell { since: now, failures: 1, last_log: now, backoff });
            return backoff;
        };
        spell.failures += 1;
        spell.backoff = (spell.backoff * 2).min(NO_SPACE_MAX_BACKOFF);
        if now.duration_since(spell.last_log) >= NO_SPACE_LOG_INTERVAL {
            spell.last_log = now;
            let secs = now.duration_since(spell.since).as_secs();
            warn!(dir = %dir, error = %error, failures = spell.failures, secs, "disk buffer filesystem is still full");
        }
        spell.backoff
    }

    /// Ends a spell of failed writes, if there was one.
    fn space_returned(&mut self) {
        if let Some(spell) = self.no_space.take() {
            let dir = self.shared.config.dir.display();
            let secs = spell.since.elapsed().as_secs();
            info!(dir = %dir, failures = spell.failures, secs, "disk buffer filesystem has space again; writing resumed");
        }
    }

    /// Waits before retrying a write that found no space: `backoff`, or less if the reader
    /// frees a segment meanwhile.
    async fn wait_for_space(&mut self, backoff: Duration) -> Result<(), DiskBufferError> {
        let freed = self.shared.space_freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        if !self.reclaim_after_no_space().await {
            let _ = tokio::time::timeout(backoff, freed).await;
        }
        self.check_poison()
    }

    /// Deletes acknowledged segments after a write found no space; reports whether any went.
    ///
    /// The segment sealed by the failed write may be acknowledged already; only the writer
    /// knows it is sealed, so it is reclaimed here rather than waiting for an ack that happened.
    async fn reclaim_after_no_space(&self) -> bool {
        match self.reclaim_sealed().await {
            Ok(reclaimed) => reclaimed,
            // Not fatal for the writer: the reader reclaims again on its next ack.
            Err(error) => {
                warn!(error = %error, "could not free acknowledged disk buffer segments");
                false
            }
        }
    }

    /// Encodes `records` and appends them on the blocking pool.
    async fn write_chunk<R: AsRef<[u8]>>(&mut self, records: &[R]) -> Result<(), AppendError> {
        let size: usize = records.iter().map(|r| format::frame_len(r.as_ref().len())).sum();
        let mut buf = Vec::with_capacity(size);
        let mut ends = Vec::with_capacity(records.len());
        for (id, record) in (self.next_id..).zip(records) {
            format::encode_frame(&mut buf, id, KIND_RECORD, record.as_ref());
            ends.push(buf.len());
        }
        let (core, first_id, lock) = (self.core.clone(), self.next_id, self.lock.clone());
        run_blocking(move || {
            // The directory lock travels with the write: a cancelled write that is still running
            // keeps the directory locked, so a new buffer cannot open it underneath.
            let _lock = lock;
            Ok(lock_core(&core).write(&buf, &ends, first_id))
        })
        .await
        .map_err(AppendError::Fatal)??;
        self.next_id += records.len() as u64;
        Ok(())
    }

    /// Fsyncs everything written so far, whatever the policy.
    pub async fn flush(&mut self) -> Result<(), DiskBufferError> {
        self.check_poison()?;
        let core = self.core.clone();
        run_blocking(move || lock_core(&core).sync()).await
    }

    /// Flushes, then tells the reader that no more records will come.
    pub async fn close(mut self) -> Result<(), DiskBufferError> {
        self.flush().await
    }

    /// The durable watermark: every id below the value is fsynced and survives power loss.
    /// Starts at the first id this writer assigns.
    pub fn durable(&self) -> watch::Receiver<u64> {
        self.durable.clone()
    }

    /// The id the next written record will get.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// A snapshot of the buffer's gauges and counters.
    pub fn stats(&self) -> DiskBufferStats {
        self.shared.stats()
    }

    /// Makes the next segment write fail with an I/O error, to test poisoning. Not for production.
    #[doc(hidden)]
    pub fn inject_write_failure_for_test(&self) {
        self.shared.inject_write_failure.store(true, Ordering::SeqCst);
    }

    /// Makes the next `writes` segment writes fail as a full filesystem does: half the bytes land,
    /// then `ENOSPC`. Not for production.
    #[doc(hidden)]
    pub fn inject_no_space_for_test(&self, writes: u64) {
        self.shared.inject_no_space_writes.store(writes, Ordering::SeqCst);
    }

    /// Makes the next `creates` segment creations fail with `ENOSPC`. Not for production.
    #[doc(hidden)]
    pub fn inject_no_space_on_create_for_test(&self, creates: u64) {
        self.shared.inject_no_space_creates.store(creates, Ordering::SeqCst);
    }

    fn check_poison(&self) -> Result<(), DiskBufferError> {
        match self.shared.poison.get() {
            Some(cause) => {
                Err(DiskBufferError::Poisoned { dir: self.shared.config.dir.clone(), cause: cause.clone() })
            }
            None => Ok(()),
        }
    }
}

impl Drop for DiskWriter {
    fn drop(&mut self) {
        self.shared.state().writer_closed = true;
        self.shared.data_ready.notify_waiters();
    }
}
