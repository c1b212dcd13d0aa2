//! A component's input through a durable disk buffer.
//!
//! Upstream writes into a small in-memory stage; a writer pump encodes each batch as one record
//! (`strata_event::proto`) and appends it to the buffer; a reader pump reads records back, decodes
//! them and feeds the component through a second small stage.
//!
//! Acknowledgements cross the buffer in two halves. Upstream's finalizers are settled by the
//! writer pump: `Delivered` once the record is written (`ack_after = "write"`) or fsynced
//! (`"fsync"`), `Errored` when it was dropped (`when_full = "drop_newest"`) or the write failed.
//! A filesystem that fills up before `max_size` is a full buffer, not a failure: `block` waits
//! for space (the buffer retries with backoff), `drop_newest` drops and counts the batch, and
//! each write that found no room adds to `buffer_errors_total`.
//! Events read back carry a new notifier per record; when the component has settled every event
//! of a record, the reader pump acknowledges it, and in id order, so the buffer's read position
//! only ever covers records that are done. `Delivered` and `Rejected` (refused for good, never to
//! be retried) advance the position; the first `Errored` record (a delivery that failed or was
//! abandoned, as when a sink is aborted) holds it for the rest of the run, so that record and
//! everything after it are read again on the next start. A record that cannot be decoded is
//! counted, reported, and skipped. What was not acknowledged when the agent stopped or crashed is read again on
//! the next start: at least once.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesOrdered;
use strata_buffers::disk::{
    self, DiskBufferConfig, DiskBufferError, DiskReader, DiskWriter, FsyncPolicy, WriteOutcome,
};
use strata_event::proto::{decode_batch, encode_batch};
use strata_event::{BatchNotifier, BatchStatus, EventFinalizers};
use tokio::task::JoinHandle;

use crate::buffer::{AckAfter, BufferMetrics, FsyncMode, quiet_channel};
use crate::{BufferConfig, BufferReceiver, BufferSender, ComponentError, ComponentMetrics, RateLimitedLog};

/// Records a reader pump asks for at once.
const READ_RECORDS: usize = 16;
/// How often writes that found the filesystem full are carried over to `buffer_errors_total`.
const NO_SPACE_METRIC_INTERVAL: Duration = Duration::from_secs(1);

/// The running disk buffer (opening it, then its two pumps); the component's task waits for it.
pub struct DiskPumps {
    task: JoinHandle<Result<(), ComponentError>>,
}

impl DiskPumps {
    /// Waits for the buffer to finish: both pumps done, files closed.
    pub async fn join(self) -> Result<(), ComponentError> {
        self.task.await.map_err(|error| ComponentError::new(format!("disk buffer task failed: {error}")))?
    }

    /// Stops the pumps at once (the component failed); what is on disk stays there.
    pub fn abort(&self) {
        self.task.abort();
    }
}

/// Sets up the buffer in `dir` and returns the component's input at once. The files are opened
/// in the background: with `wait_for_lock`, a directory still held (by the component this one
/// replaces on reload, until it has drained) is retried for that long; events wait in the small
/// in-memory stage meanwhile, so their order is kept.
pub fn disk_buffer(
    dir: PathBuf,
    config: &BufferConfig,
    metrics: &ComponentMetrics,
    wait_for_lock: Option<Duration>,
) -> Result<(BufferSender, BufferReceiver, DiskPumps), String> {
    let BufferConfig::Disk { max_size, when_full, ack_after, fsync, fsync_interval_ms } = config else {
        return Err("not a disk buffer".to_owned());
    };
    if let Some((key, problem)) = config.problems().into_iter().next() {
        return Err(format!("`{key}` {problem}"));
    }
    let mut settings = DiskBufferConfig::new(&dir);
    settings.max_size_bytes = *max_size;
    settings.max_segment_bytes = settings.max_segment_bytes.min(max_size / 4).max(256 * 1024);
    settings.when_full = *when_full;
    settings.fsync = match fsync {
        FsyncMode::Never => FsyncPolicy::Never,
        FsyncMode::Interval => FsyncPolicy::Interval(Duration::from_millis((*fsync_interval_ms).max(1))),
        FsyncMode::Always => FsyncPolicy::Always,
    };
    let ack_after = *ack_after;
    let buffer_metrics = BufferMetrics::new(metrics);
    let component = metrics.clone();
    let (in_tx, in_rx) = quiet_channel(metrics);
    let (out_tx, out_rx) = quiet_channel(metrics);
    let task = tokio::spawn(async move {
        let deadline = wait_for_lock.map(|wait| tokio::time::Instant::now() + wait);
        let (writer, reader) = loop {
            match disk::open(settings.clone()).await {
                Ok(pair) => break pair,
                Err(DiskBufferError::Locked { .. })
                    if deadline.is_some_and(|d| tokio::time::Instant::now() < d) =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => {
                    buffer_metrics.errors.increment(1);
                    return Err(ComponentError::new(format!("cannot open the disk buffer: {error}")));
                }
            }
        };
        let opened = reader.stats();
        if opened.lost_records > 0 || opened.truncated_bytes > 0 || opened.ledger_reset {
            tracing::warn!(?opened, "the disk buffer recovered from damage on open");
        }
        let stats = reader.stats_handle();
        let errors = buffer_metrics.errors.clone();
        let size = Arc::new(AtomicI64::new(0));
        let writer = tokio::spawn(write_pump(
            in_rx,
            writer,
            ack_after,
            buffer_metrics.clone(),
            component,
            size.clone(),
        ));
        let reader = tokio::spawn(read_pump(reader, out_tx, buffer_metrics, size));
        let flatten = |joined: Result<Result<(), ComponentError>, tokio::task::JoinError>| {
            joined.map_err(|error| ComponentError::new(format!("disk buffer pump failed: {error}")))?
        };
        let pumps = async { tokio::join!(writer, reader) };
        tokio::pin!(pumps);
        // Writes the filesystem had no room for are retried inside the buffer, where no metric
        // reaches; they are carried over to `buffer_errors_total` from here, while it happens.
        let mut no_space_counted = opened.no_space_errors;
        let mut count_no_space = || {
            let now = stats.stats().no_space_errors;
            errors.increment(now.saturating_sub(no_space_counted));
            no_space_counted = now;
        };
        let mut tick = tokio::time::interval(NO_SPACE_METRIC_INTERVAL);
        let (writer, reader) = loop {
            tokio::select! {
                done = &mut pumps => break done,
                _ = tick.tick() => count_no_space(),
            }
        };
        count_no_space();
        flatten(writer).and(flatten(reader))
    });
    Ok((in_tx, out_rx, DiskPumps { task }))
}

async fn write_pump(
    mut input: BufferReceiver,
    mut writer: DiskWriter,
    ack_after: AckAfter,
    metrics: BufferMetrics,
    component: ComponentMetrics,
    size: Arc<AtomicI64>,
) -> Result<(), ComponentError> {
    let mut durable = writer.durable();
    // (first id not covered, finalizers) for writes waiting on fsync, in id order.
    let mut waiting: VecDeque<(u64, EventFinalizers)> = VecDeque::new();
    let mut record = Vec::new();
    loop {
        tokio::select! {
            batch = input.recv() => {
                let Some(mut batch) = batch else { break };
                let events = batch.len();
                let finalizers = batch.take_finalizers();
                record.clear();
                encode_batch(&batch, &mut record);
                match writer.write_batch(&[&record]).await {
                    Ok(WriteOutcome::Written { ids }) => {
                        metrics.received.increment(events as u64);
                        let now = size.fetch_add(events as i64, Ordering::Relaxed) + events as i64;
                        metrics.size_events.set(now.max(0) as f64);
                        metrics.size_bytes.set(writer.stats().buffered_bytes as f64);
                        match ack_after {
                            AckAfter::Write => finalizers.update_status(BatchStatus::Delivered),
                            AckAfter::Fsync => waiting.push_back((ids.end, finalizers)),
                        }
                    }
                    Ok(WriteOutcome::Dropped { .. }) => {
                        metrics.discarded.increment(events as u64);
                        component.discarded(events);
                        finalizers.update_status(BatchStatus::Errored);
                    }
                    Err(error) => {
                        metrics.errors.increment(1);
                        finalizers.update_status(BatchStatus::Errored);
                        tracing::error!("disk buffer write failed; refusing further writes: {error}");
                        return Err(ComponentError::new(format!("disk buffer write failed: {error}")));
                    }
                }
            }
            changed = durable.changed(), if !waiting.is_empty() => {
                if changed.is_err() {
                    break;
                }
                let fsynced = *durable.borrow();
                while waiting.front().is_some_and(|(end, _)| *end <= fsynced) {
                    if let Some((_, finalizers)) = waiting.pop_front() {
                        finalizers.update_status(BatchStatus::Delivered);
                    }
                }
            }
        }
    }
    // Closing flushes and fsyncs: everything still waiting is now durable.
    let closed = writer.close().await;
    let status = if closed.is_ok() { BatchStatus::Delivered } else { BatchStatus::Errored };
    for (_, finalizers) in waiting {
        finalizers.update_status(status);
    }
    closed.map_err(|error| ComponentError::new(format!("closing the disk buffer failed: {error}")))
}

async fn read_pump(
    mut reader: DiskReader,
    output: BufferSender,
    metrics: BufferMetrics,
    size: Arc<AtomicI64>,
) -> Result<(), ComponentError> {
    let limiter = RateLimitedLog::default();
    let mut pending = FuturesOrdered::new();
    let mut reading = true;
    // Set by the first record that was not delivered: from then on the read position stays.
    let mut held: Option<u64> = None;
    let failed = |error: DiskBufferError| ComponentError::new(format!("disk buffer read failed: {error}"));
    while reading || !pending.is_empty() {
        tokio::select! {
            records = reader.next_batch(READ_RECORDS), if reading => {
                let records = records.map_err(failed)?;
                if records.is_empty() {
                    reading = false;
                    continue;
                }
                for (id, record) in records {
                    let mut batch = match decode_batch(&record) {
                        Ok(batch) => batch,
                        Err(error) => {
                            metrics.errors.increment(1);
                            if let Some(suppressed) = limiter.check() {
                                tracing::error!(record = id, suppressed, "skipping an undecodable disk buffer record: {error}");
                            }
                            pending.push_back(futures::future::Either::Left(futures::future::ready((id, 0, BatchStatus::Rejected))));
                            continue;
                        }
                    };
                    let (notifier, receipt) = BatchNotifier::new();
                    for event in batch.events_mut() {
                        event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
                    }
                    drop(notifier);
                    let events = batch.len();
                    pending.push_back(futures::future::Either::Right(async move { (id, events, receipt.await) }));
                    metrics.sent.increment(events as u64);
                    if output.send(batch).await.is_err() {
                        // The component is gone; what it did not finish stays in the buffer.
                        return Ok(());
                    }
                }
            }
            Some((id, events, status)) = pending.next(), if !pending.is_empty() => {
                let now = size.fetch_sub(events as i64, Ordering::Relaxed) - events as i64;
                metrics.size_events.set(now.max(0) as f64);
                if status == BatchStatus::Errored && held.is_none() {
                    held = Some(id);
                    tracing::warn!(record = id, "a buffered record was not delivered; it and what follows stay in the disk buffer until the next start");
                }
                if held.is_none() {
                    reader.ack(id).await.map_err(failed)?;
                    metrics.size_bytes.set(reader.stats().buffered_bytes as f64);
                }
            }
        }
    }
    reader.close().await.map_err(failed)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use strata_event::{
        BatchNotifier, BatchStatus, Event, EventBatch, EventFinalizers, EventMetadata, LogEvent,
    };

    use super::*;
    use crate::{ComponentKey, ComponentKind, ComponentMeta};

    fn metrics() -> ComponentMetrics {
        ComponentMetrics::new(&ComponentMeta::new(ComponentKey::new("sink"), ComponentKind::Sink, "test"))
    }

    fn config(ack_after: AckAfter, fsync: FsyncMode, interval_ms: u64) -> BufferConfig {
        BufferConfig::Disk {
            max_size: 8 * 1024 * 1024,
            when_full: Default::default(),
            ack_after,
            fsync,
            fsync_interval_ms: interval_ms,
        }
    }

    fn batch(range: std::ops::Range<u32>, finalizers: Option<EventFinalizers>) -> EventBatch {
        EventBatch::new(
            range
                .map(|n| {
                    let mut metadata = EventMetadata::default();
                    if let Some(finalizers) = &finalizers {
                        metadata.add_finalizers(finalizers.clone());
                    }
                    Event::Log(LogEvent::from_message(format!("event {n}"), metadata))
                })
                .collect(),
        )
    }

    fn messages(batch: &EventBatch) -> Vec<String> {
        batch.iter().map(|e| e.as_log().unwrap().message().unwrap().to_string_lossy().into_owned()).collect()
    }

    #[tokio::test]
    async fn events_come_out_in_order_and_acks_free_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx, pumps) = disk_buffer(
            dir.path().join("b"),
            &config(AckAfter::Write, FsyncMode::Never, 0),
            &metrics(),
            None,
        )
        .unwrap();
        let (notifier, receipt) = BatchNotifier::new();
        tx.send(batch(0..3, Some(EventFinalizers::new(notifier)))).await.unwrap();
        tx.send(batch(3..5, None)).await.unwrap();
        assert_eq!(receipt.await, BatchStatus::Delivered, "upstream is settled once the record is written");
        let first = rx.recv().await.unwrap();
        let second = rx.recv().await.unwrap();
        assert_eq!(messages(&first), vec!["event 0", "event 1", "event 2"]);
        assert_eq!(messages(&second), vec!["event 3", "event 4"]);
        first.finalize(BatchStatus::Delivered);
        second.finalize(BatchStatus::Delivered);
        drop(tx);
        assert!(rx.recv().await.is_none(), "the input closes once upstream is gone and all is read");
        pumps.join().await.unwrap();
        let report = strata_buffers::disk::inspect(&dir.path().join("b")).unwrap();
        assert_eq!(
            (report.acked_end, report.unacked_records),
            (Some(2), 0),
            "both records acknowledged: {report:?}"
        );
    }

    #[tokio::test]
    async fn ack_after_fsync_waits_for_the_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, mut rx, pumps) = disk_buffer(
            dir.path().join("b"),
            &config(AckAfter::Fsync, FsyncMode::Interval, 700),
            &metrics(),
            None,
        )
        .unwrap();
        let (notifier, receipt) = BatchNotifier::new();
        tx.send(batch(0..1, Some(EventFinalizers::new(notifier)))).await.unwrap();
        let mut receipt = Box::pin(receipt);
        let early = tokio::time::timeout(Duration::from_millis(150), &mut receipt).await;
        assert!(early.is_err(), "not acknowledged before the interval's fsync");
        let status = tokio::time::timeout(Duration::from_secs(5), receipt)
            .await
            .expect("acknowledged after the fsync");
        assert_eq!(status, BatchStatus::Delivered);
        rx.recv().await.unwrap().finalize(BatchStatus::Delivered);
        drop(tx);
        assert!(rx.recv().await.is_none());
        pumps.join().await.unwrap();
    }

    #[tokio::test]
    async fn what_was_not_acknowledged_is_read_again_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let (tx, mut rx, pumps) =
            disk_buffer(path.clone(), &config(AckAfter::Write, FsyncMode::Never, 0), &metrics(), None)
                .unwrap();
        tx.send(batch(0..2, None)).await.unwrap();
        tx.send(batch(2..4, None)).await.unwrap();
        rx.recv().await.unwrap().finalize(BatchStatus::Delivered);
        let unfinished = rx.recv().await.unwrap();
        // Stop without settling the second batch: as if the sink were still working on it.
        drop(tx);
        drop(rx);
        drop(unfinished);
        let _ = pumps.join().await;
        let (_tx, mut rx, _pumps) = disk_buffer(
            path,
            &config(AckAfter::Write, FsyncMode::Never, 0),
            &metrics(),
            Some(Duration::from_secs(5)),
        )
        .unwrap();
        let again = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
        assert_eq!(messages(&again), vec!["event 2", "event 3"]);
    }

    #[test]
    fn a_small_max_size_is_refused() {
        let small = BufferConfig::Disk {
            max_size: 1024,
            when_full: Default::default(),
            ack_after: AckAfter::Write,
            fsync: FsyncMode::Never,
            fsync_interval_ms: 0,
        };
        let error = disk_buffer("/tmp/unused".into(), &small, &metrics(), None).map(|_| ()).unwrap_err();
        assert!(error.contains("at least 2 MiB"), "{error}");
    }
}
