//! The writing half: space accounting, segment rotation, group-commit fsync, poisoning.

use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tracing::error;

use super::files::{self, DirLock, EMPTY_SEGMENT_LEN};
use super::format::{self, KIND_RECORD, SEGMENT_HEADER_LEN};
use super::shared::{Counters, DiskBufferStats, Shared};
use super::{DiskBufferError, FsyncPolicy, run_blocking};
use crate::WhenFull;

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
}

impl DiskWriter {
    pub(crate) fn new(shared: Arc<Shared>, lock: Arc<DirLock>) -> Self {
        let next_id = shared.state().next_id;
        let (durable_tx, durable) = watch::channel(next_id);
        let core = Arc::new(Mutex::new(WriterCore {
            shared: shared.clone(),
            durable_tx,
            active: None,
            dirty: false,
            written_end: next_id,
        }));
        if let FsyncPolicy::Interval(interval) = shared.config.fsync {
            tokio::spawn(flush_periodically(Arc::downgrade(&core), interval));
        }
        Self { shared, core, lock, durable, next_id }
    }

    /// Writes a batch, returning the ids it got, or that it was dropped.
    ///
    /// Under `WhenFull::Block` this waits for the reader to free space and may write the batch
    /// in several chunks (each with its own fsync under `FsyncPolicy::Always`); under
    /// `DropNewest` the batch is written whole or not at all. An empty batch writes nothing.
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
            self.write_chunk(records).await?;
        } else {
            let mut rest = records;
            while !rest.is_empty() {
                let fit = self.wait_for_room(rest).await?;
                self.write_chunk(&rest[..fit]).await?;
                rest = &rest[fit..];
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

    /// Encodes `records` and appends them on the blocking pool.
    async fn write_chunk<R: AsRef<[u8]>>(&mut self, records: &[R]) -> Result<(), DiskBufferError> {
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
            lock_core(&core).write(&buf, &ends, first_id)
        })
        .await?;
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

/// The writer's file state, used only on blocking threads.
#[derive(Debug)]
struct WriterCore {
    shared: Arc<Shared>,
    durable_tx: watch::Sender<u64>,
    active: Option<Active>,
    /// Something was written since the last fsync.
    dirty: bool,
    /// The id after the last record written.
    written_end: u64,
}

#[derive(Debug)]
struct Active {
    first_id: u64,
    file: Arc<File>,
    len: u64,
}

/// Locks the writer core; see [`Shared::state`] for why a poisoned mutex is not a panic.
fn lock_core(core: &Mutex<WriterCore>) -> MutexGuard<'_, WriterCore> {
    core.lock().unwrap_or_else(PoisonError::into_inner)
}

impl WriterCore {
    /// Appends encoded frames (`ends[i]` is where frame `i` ends in `buf`), rotating segments.
    fn write(&mut self, buf: &[u8], ends: &[usize], first_id: u64) -> Result<(), DiskBufferError> {
        if let Some(cause) = self.shared.poison.get() {
            return Err(DiskBufferError::Poisoned {
                dir: self.shared.config.dir.clone(),
                cause: cause.clone(),
            });
        }
        let result = self.append(buf, ends, first_id);
        if let Err(e) = &result {
            self.poison(e);
        }
        result
    }

    fn append(&mut self, buf: &[u8], ends: &[usize], first_id: u64) -> Result<(), DiskBufferError> {
        let max_segment = self.shared.config.effective_segment_bytes();
        let (mut frame, mut pos) = (0, 0);
        while frame < ends.len() {
            let next_len = (ends[frame] - pos) as u64;
            let active = match self.active.take() {
                Some(a) if a.len + next_len <= max_segment || a.len == SEGMENT_HEADER_LEN as u64 => a,
                old => self.rotate(old, first_id + frame as u64)?,
            };
            let mut last = frame;
            while last + 1 < ends.len() && active.len + (ends[last + 1] - pos) as u64 <= max_segment {
                last += 1;
            }
            let bytes = &buf[pos..ends[last]];
            let path = files::segment_path(&self.shared.config.dir, active.first_id);
            let active = self.active.insert(active);
            if self.shared.inject_write_failure.swap(false, Ordering::SeqCst) {
                return Err(DiskBufferError::Io { path, source: io::Error::other("injected write failure") });
            }
            (&*active.file).write_all(bytes).map_err(files::io_err(path))?;
            active.len += bytes.len() as u64;
            self.dirty = true;
            self.written_end = first_id + last as u64 + 1;
            {
                let mut state = self.shared.state();
                state.segments.insert(active.first_id, active.len);
                state.next_id = self.written_end;
                state.total_bytes += bytes.len() as u64;
            }
            self.shared.data_ready.notify_waiters();
            (frame, pos) = (last + 1, ends[last]);
        }
        if self.shared.config.fsync == FsyncPolicy::Always {
            self.sync()?;
        }
        Ok(())
    }

    /// Seals `old` (fsyncing it unless the policy is `Never`) and starts a segment at `first_id`.
    fn rotate(&mut self, old: Option<Active>, first_id: u64) -> Result<Active, DiskBufferError> {
        let durable = self.shared.config.fsync != FsyncPolicy::Never;
        if let Some(old) = old
            && durable
        {
            let path = files::segment_path(&self.shared.config.dir, old.first_id);
            old.file.sync_data().map_err(files::io_err(path))?;
            // Earlier segments were synced when they were sealed, or on open.
            self.durable_tx.send_if_modified(|d| raise(d, first_id));
        }
        let file = files::create_segment(&self.shared.config.dir, first_id, durable)?;
        let mut state = self.shared.state();
        state.segments.insert(first_id, EMPTY_SEGMENT_LEN);
        state.total_bytes += EMPTY_SEGMENT_LEN;
        state.active = Some(first_id);
        Ok(Active { first_id, file: Arc::new(file), len: EMPTY_SEGMENT_LEN })
    }

    /// Fsyncs the active segment and publishes the new durable watermark.
    fn sync(&mut self) -> Result<(), DiskBufferError> {
        if let Some(active) = &self.active
            && self.dirty
        {
            let path = files::segment_path(&self.shared.config.dir, active.first_id);
            if let Err(e) = active.file.sync_data().map_err(files::io_err(path)) {
                self.poison(&e);
                return Err(e);
            }
        }
        self.dirty = false;
        let end = self.written_end;
        self.durable_tx.send_if_modified(|d| raise(d, end));
        Ok(())
    }

    fn poison(&self, cause: &DiskBufferError) {
        let dir = self.shared.config.dir.display();
        error!(dir = %dir, error = %cause, "disk buffer write failed; refusing further writes until reopened");
        let _ = self.shared.poison.set(cause.to_string());
    }
}

/// Raises a watermark, reporting whether it moved.
fn raise(watermark: &mut u64, to: u64) -> bool {
    let moved = to > *watermark;
    *watermark = (*watermark).max(to);
    moved
}

/// The `FsyncPolicy::Interval` flusher: fsyncs on the blocking pool when something was written.
/// It holds the writer weakly and stops once the writer is gone.
async fn flush_periodically(core: Weak<Mutex<WriterCore>>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(core) = core.upgrade() else { return };
        let synced = tokio::task::spawn_blocking(move || {
            let mut core = lock_core(&core);
            if core.dirty && core.shared.poison.get().is_none() { core.sync() } else { Ok(()) }
        })
        .await;
        // A failed sync has poisoned the writer and been logged; nothing more to do here.
        if !matches!(synced, Ok(Ok(()))) {
            return;
        }
    }
}
