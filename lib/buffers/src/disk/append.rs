//! The writer's blocking side: appending frames to segments, rotation, fsync, poisoning, and
//! undoing an append the filesystem had no room for.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tracing::error;

use super::files::{self, EMPTY_SEGMENT_LEN};
use super::format::SEGMENT_HEADER_LEN;
use super::shared::Shared;
use super::{DiskBufferError, FsyncPolicy};

/// Why an append did not happen.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The filesystem or the quota is full (`ENOSPC`, `EDQUOT`) while writing or creating a
    /// segment. Nothing of the append is left on disk or visible to the reader, no data was lost,
    /// and the same append may be tried again once there is room.
    NoSpace(DiskBufferError),
    /// Any other failure, including every failed fsync: the writer is poisoned.
    Fatal(DiskBufferError),
}

impl AppendError {
    fn classify(error: DiskBufferError) -> Self {
        match &error {
            DiskBufferError::Io { source, .. } if files::is_no_space(source) => Self::NoSpace(error),
            _ => Self::Fatal(error),
        }
    }
}

/// The writer's file state, used only on blocking threads.
#[derive(Debug)]
pub(crate) struct WriterCore {
    shared: Arc<Shared>,
    durable_tx: watch::Sender<u64>,
    active: Option<Active>,
    /// Something was written since the last fsync.
    dirty: bool,
    /// The id after the last record written.
    written_end: u64,
}

#[derive(Debug, Clone)]
struct Active {
    first_id: u64,
    file: Arc<File>,
    len: u64,
}

/// What an append changed on disk, published to the reader only once all of it succeeded.
#[derive(Debug, Default)]
struct Pending {
    /// The new length of each segment appended to.
    lens: BTreeMap<u64, u64>,
    /// Segments this append created.
    created: Vec<u64>,
    /// Whether this append sealed a segment with an fsync.
    sealed_durably: bool,
}

/// Locks the writer core; see [`Shared::state`] for why a poisoned mutex is not a panic.
pub(crate) fn lock_core(core: &Mutex<WriterCore>) -> MutexGuard<'_, WriterCore> {
    core.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes one from a test-injection counter, reporting whether there was one.
fn take_one(counter: &AtomicU64) -> bool {
    counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

fn injected_no_space() -> io::Error {
    io::Error::new(io::ErrorKind::StorageFull, "injected: no space left on device")
}

impl WriterCore {
    pub(crate) fn new(shared: Arc<Shared>, durable_tx: watch::Sender<u64>, next_id: u64) -> Self {
        Self { shared, durable_tx, active: None, dirty: false, written_end: next_id }
    }

    /// Appends encoded frames (`ends[i]` is where frame `i` ends in `buf`), rotating segments.
    ///
    /// All or nothing: the frames become visible to the reader together, once every byte is
    /// written; an append that runs out of space is rolled back (files truncated to their last
    /// good length, segments it created removed) and the active segment is sealed, so that the
    /// reader can free it once done with it.
    pub(crate) fn write(&mut self, buf: &[u8], ends: &[usize], first_id: u64) -> Result<(), AppendError> {
        if let Some(cause) = self.shared.poison.get() {
            return Err(AppendError::Fatal(DiskBufferError::Poisoned {
                dir: self.shared.config.dir.clone(),
                cause: cause.clone(),
            }));
        }
        let before = self.active.clone();
        let mut pending = Pending::default();
        match self.append(buf, ends, first_id, &mut pending) {
            Ok(()) => {}
            Err(AppendError::NoSpace(error)) => {
                let undone = self.roll_back(before, &pending).and_then(|()| self.seal_after_no_space());
                return match undone {
                    Ok(()) => Err(AppendError::NoSpace(error)),
                    Err(undo) => {
                        self.poison(&undo);
                        Err(AppendError::Fatal(undo))
                    }
                };
            }
            Err(AppendError::Fatal(error)) => {
                self.poison(&error);
                return Err(AppendError::Fatal(error));
            }
        }
        self.commit(pending, first_id + ends.len() as u64);
        if self.shared.config.fsync == FsyncPolicy::Always {
            self.sync().map_err(AppendError::Fatal)?;
        }
        Ok(())
    }

    fn append(
        &mut self,
        buf: &[u8],
        ends: &[usize],
        first_id: u64,
        pending: &mut Pending,
    ) -> Result<(), AppendError> {
        let max_segment = self.shared.config.effective_segment_bytes();
        let (mut frame, mut pos) = (0, 0);
        while frame < ends.len() {
            let next_len = (ends[frame] - pos) as u64;
            let mut active = match self.active.take() {
                Some(a) if a.len + next_len <= max_segment || a.len == SEGMENT_HEADER_LEN as u64 => a,
                old => self.rotate(old, first_id + frame as u64, pending)?,
            };
            let mut last = frame;
            while last + 1 < ends.len() && active.len + (ends[last + 1] - pos) as u64 <= max_segment {
                last += 1;
            }
            let bytes = &buf[pos..ends[last]];
            let path = files::segment_path(&self.shared.config.dir, active.first_id);
            let written = if self.shared.inject_write_failure.swap(false, Ordering::SeqCst) {
                Err(io::Error::other("injected write failure"))
            } else if take_one(&self.shared.inject_no_space_writes) {
                // Like a real full disk: part of the bytes land, then the write fails.
                (&*active.file).write_all(&bytes[..bytes.len() / 2]).and(Err(injected_no_space()))
            } else {
                (&*active.file).write_all(bytes)
            };
            if let Err(source) = written {
                self.active = Some(active);
                return Err(AppendError::classify(DiskBufferError::Io { path, source }));
            }
            active.len += bytes.len() as u64;
            pending.lens.insert(active.first_id, active.len);
            self.active = Some(active);
            (frame, pos) = (last + 1, ends[last]);
        }
        Ok(())
    }

    /// Seals `old` (fsyncing it unless the policy is `Never`) and starts a segment at `first_id`.
    fn rotate(
        &mut self,
        old: Option<Active>,
        first_id: u64,
        pending: &mut Pending,
    ) -> Result<Active, AppendError> {
        let dir = &self.shared.config.dir;
        let durable = self.shared.config.fsync != FsyncPolicy::Never;
        if let Some(old) = old
            && durable
        {
            let path = files::segment_path(dir, old.first_id);
            old.file.sync_data().map_err(|e| AppendError::Fatal(files::io_err(path)(e)))?;
            pending.sealed_durably = true;
        }
        if take_one(&self.shared.inject_no_space_creates) {
            let path = files::segment_path(dir, first_id);
            return Err(AppendError::NoSpace(DiskBufferError::Io { path, source: injected_no_space() }));
        }
        let file = files::create_segment(dir, first_id).map_err(AppendError::classify)?;
        pending.created.push(first_id);
        pending.lens.insert(first_id, EMPTY_SEGMENT_LEN);
        if durable {
            let path = files::segment_path(dir, first_id);
            file.sync_data().map_err(|e| AppendError::Fatal(files::io_err(path)(e)))?;
            files::sync_dir(dir).map_err(AppendError::Fatal)?;
        }
        Ok(Active { first_id, file: Arc::new(file), len: EMPTY_SEGMENT_LEN })
    }

    /// Makes a finished append visible: segment lengths, the active segment, the next id.
    fn commit(&mut self, pending: Pending, written_end: u64) {
        self.dirty = true;
        self.written_end = written_end;
        {
            let mut state = self.shared.state();
            for (first, len) in pending.lens {
                let old = state.segments.insert(first, len).unwrap_or(0);
                state.total_bytes = state.total_bytes + len - old;
            }
            state.active = self.active.as_ref().map(|a| a.first_id);
            state.next_id = written_end;
        }
        if pending.sealed_durably
            && let Some(active) = &self.active
        {
            // Every segment before the active one was fsynced when it was sealed.
            let sealed_end = active.first_id;
            self.durable_tx.send_if_modified(|d| raise(d, sealed_end));
        }
        self.shared.data_ready.notify_waiters();
    }

    /// Undoes an append that ran out of space: removes the segments it created and cuts the
    /// segment that was active back to its committed length.
    fn roll_back(&mut self, before: Option<Active>, pending: &Pending) -> Result<(), DiskBufferError> {
        let dir = &self.shared.config.dir;
        self.active = None;
        for &first in &pending.created {
            let path = files::segment_path(dir, first);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(DiskBufferError::Io { path, source }),
            }
        }
        let durable = self.shared.config.fsync != FsyncPolicy::Never;
        if durable && !pending.created.is_empty() {
            files::sync_dir(dir)?;
        }
        if let Some(before) = &before {
            let path = files::segment_path(dir, before.first_id);
            let on_disk = before.file.metadata().map_err(files::io_err(&path))?.len();
            if on_disk != before.len {
                before.file.set_len(before.len).map_err(files::io_err(&path))?;
            }
        }
        self.active = before;
        Ok(())
    }

    /// After running out of space, stops appending to the active segment, so that once the
    /// reader is done with it the segment can be deleted and its space reused. Without this a
    /// disk filled mostly by the active segment could never drain. An empty segment stays active:
    /// it holds no record to wait for.
    fn seal_after_no_space(&mut self) -> Result<(), DiskBufferError> {
        let Some(active) = self.active.take_if(|a| a.len > EMPTY_SEGMENT_LEN) else {
            return Ok(());
        };
        if self.shared.config.fsync != FsyncPolicy::Never {
            let path = files::segment_path(&self.shared.config.dir, active.first_id);
            active.file.sync_data().map_err(files::io_err(path))?;
            self.dirty = false;
            let end = self.written_end;
            self.durable_tx.send_if_modified(|d| raise(d, end));
        }
        self.shared.state().active = None;
        // A reader waiting at the end of this segment can now let go of it.
        self.shared.data_ready.notify_waiters();
        Ok(())
    }

    /// Fsyncs the active segment and publishes the new durable watermark.
    pub(crate) fn sync(&mut self) -> Result<(), DiskBufferError> {
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
pub(crate) async fn flush_periodically(core: Weak<Mutex<WriterCore>>, interval: Duration) {
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
