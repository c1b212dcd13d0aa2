//! The running `file` sink: render each event's path, encode per path, write on a blocking
//! thread, then finalize.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use strata_codecs::Encoder;
use strata_core::{ComponentError, ComponentMetrics, RejectedOutput, Rejection, Sink, SinkInput};
use strata_event::{BatchStatus, Event, EventBatch, EventFinalizers};
use tokio::time::Instant;

use super::Compression;
use super::files::{CloseFailure, OpenFiles};
use super::template::PathTemplate;
use crate::coalesce::WRITE_SIZE;

/// At most this many files are open at once; the least recently used is closed first.
pub(crate) const MAX_OPEN_FILES: usize = 256;

/// What a run did, for tests and the final log line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunStats {
    /// Events written and reported delivered.
    pub(crate) written: usize,
    /// Events refused because their path could not be rendered or left the base directory,
    /// whether discarded or sent to the `rejected` output.
    pub(crate) rejected: usize,
    /// Events whose file could not be opened or written.
    pub(crate) errored: usize,
}

/// The encoded events bound for one file.
struct Group {
    path: String,
    bytes: Vec<u8>,
    events: usize,
    finalizers: EventFinalizers,
}

/// Everything read from the input since the last write, grouped by file in arrival order.
#[derive(Default)]
struct Pending {
    groups: Vec<Group>,
    by_path: HashMap<String, usize>,
    /// The group the previous event went to: consecutive events mostly share a file.
    last: Option<usize>,
    bytes: usize,
}

impl Pending {
    fn group(&mut self, path: &str) -> &mut Group {
        let index = match self.last.filter(|&last| self.groups[last].path == path) {
            Some(last) => last,
            None => match self.by_path.get(path) {
                Some(&index) => index,
                None => {
                    self.by_path.insert(path.to_owned(), self.groups.len());
                    // The first file usually takes the whole write: size it once instead of
                    // growing (and copying) it up to the write size.
                    let capacity = if self.groups.is_empty() { WRITE_SIZE + WRITE_SIZE / 4 } else { 0 };
                    let bytes = Vec::with_capacity(capacity);
                    let group = Group {
                        path: path.to_owned(),
                        bytes,
                        events: 0,
                        finalizers: EventFinalizers::default(),
                    };
                    self.groups.push(group);
                    self.groups.len() - 1
                }
            },
        };
        self.last = Some(index);
        &mut self.groups[index]
    }
}

pub(crate) struct FileSink {
    template: PathTemplate,
    encoder: Encoder,
    compression: Compression,
    idle_timeout: Duration,
    max_open_files: usize,
    timestamp_key: String,
    metrics: ComponentMetrics,
    rejected: RejectedOutput,
}

impl FileSink {
    pub(crate) fn new(
        template: PathTemplate,
        encoder: Encoder,
        compression: Compression,
        idle_timeout: Duration,
        timestamp_key: String,
        metrics: ComponentMetrics,
    ) -> Self {
        Self {
            template,
            encoder,
            compression,
            idle_timeout,
            max_open_files: MAX_OPEN_FILES,
            timestamp_key,
            rejected: RejectedOutput::unwired(metrics.clone()),
            metrics,
        }
    }

    /// Sends events whose path is refused to the sink's `rejected` output.
    pub(crate) fn with_rejected(mut self, rejected: RejectedOutput) -> Self {
        self.rejected = rejected;
        self
    }

    #[cfg(test)]
    pub(crate) fn with_max_open_files(mut self, max_open_files: usize) -> Self {
        self.max_open_files = max_open_files;
        self
    }

    /// Writes and finalizes everything from `input` until it ends, then closes (and fsyncs) every
    /// file. Fails only if a blocking file task panics.
    pub(crate) async fn run_with(&self, mut input: SinkInput) -> Result<RunStats, ComponentError> {
        let mut files = OpenFiles::new(self.compression, self.max_open_files);
        let mut stats = RunStats::default();
        loop {
            let next = match files.next_idle_at(self.idle_timeout) {
                Some(idle_at) => tokio::select! {
                    batch = input.recv() => batch,
                    () = tokio::time::sleep_until(idle_at) => {
                        let timeout = self.idle_timeout;
                        let ((), closed) = self
                            .on_files(&mut files, move |files, closed| files.close_idle(Instant::now(), timeout, closed))
                            .await?;
                        self.report_close_failures(closed);
                        continue;
                    }
                },
                None => input.recv().await,
            };
            let Some(first) = next else { break };
            let mut pending = Pending::default();
            let mut refused = Vec::new();
            let mut batch = Some(first);
            while let Some(current) = batch {
                self.add_batch(current, &mut pending, &mut refused);
                batch = if pending.bytes < WRITE_SIZE { input.try_recv() } else { None };
            }
            stats.rejected += refused.len();
            self.rejected.reject_each(refused).await;
            self.write(&mut files, pending, &mut stats).await?;
        }
        let open = files.len();
        let ((), closed) = self.on_files(&mut files, |files, closed| files.close_all(closed)).await?;
        self.report_close_failures(closed);
        tracing::debug!(open, ?stats, "input ended; files closed");
        Ok(stats)
    }

    /// Renders, encodes and groups the events of `batch`. The events' finalizers move to their
    /// groups; a refused event keeps its own and goes to `refused`, for the `rejected` output.
    fn add_batch(&self, batch: EventBatch, pending: &mut Pending, refused: &mut Vec<(Event, Rejection)>) {
        let now = Utc::now();
        let static_path = self.template.static_path();
        for mut event in batch {
            let path = match static_path {
                Some(path) => Ok(Cow::Borrowed(path)),
                None => self.template.render(&event, &self.timestamp_key, now).map(Cow::Owned),
            };
            match path {
                Ok(path) => {
                    let finalizers = event.take_finalizers();
                    let group = pending.group(&path);
                    let before = group.bytes.len();
                    self.encoder.encode(&event, &mut group.bytes);
                    group.events += 1;
                    group.finalizers.merge(finalizers);
                    pending.bytes += group.bytes.len() - before;
                }
                Err(error) => {
                    self.metrics.error("template_rejected", "processing");
                    let message = format!("its file path could not be rendered: {error}");
                    refused.push((event, Rejection::permanent("template_rejected", message)));
                }
            }
        }
    }

    /// Writes every group (one write per file), then finalizes each group by its outcome.
    async fn write(
        &self,
        files: &mut OpenFiles,
        pending: Pending,
        stats: &mut RunStats,
    ) -> Result<(), ComponentError> {
        let mut groups = pending.groups;
        let jobs: Vec<(String, Vec<u8>)> =
            groups.iter_mut().map(|group| (group.path.clone(), std::mem::take(&mut group.bytes))).collect();
        let timeout = self.idle_timeout;
        let outcome = self
            .on_files(files, move |files, closed| {
                let now = Instant::now();
                let results: Vec<_> = jobs
                    .into_iter()
                    .map(|(path, bytes)| files.write(&path, &bytes, now, closed).map(|()| bytes.len()))
                    .collect();
                files.close_idle(now, timeout, closed);
                results
            })
            .await;
        let (results, closed) = match outcome {
            Ok(done) => done,
            Err(error) => {
                for group in &groups {
                    group.finalizers.update_status(BatchStatus::Errored);
                }
                return Err(error);
            }
        };
        for (group, result) in groups.iter().zip(results) {
            match result {
                Ok(bytes) => {
                    self.metrics.sent(group.events, bytes);
                    group.finalizers.update_status(BatchStatus::Delivered);
                    stats.written += group.events;
                }
                Err(error) => {
                    self.metrics.error("write_failed", "sending");
                    group.finalizers.update_status(BatchStatus::Errored);
                    stats.errored += group.events;
                    tracing::error!(path = %group.path, %error, events = group.events, "writing to file failed");
                }
            }
        }
        self.report_close_failures(closed);
        Ok(())
    }

    /// Runs `job` on the open files on a blocking thread, moving them there and back, and hands
    /// back its result with the files that failed to close meanwhile.
    async fn on_files<R: Send + 'static>(
        &self,
        files: &mut OpenFiles,
        job: impl FnOnce(&mut OpenFiles, &mut Vec<CloseFailure>) -> R + Send + 'static,
    ) -> Result<(R, Vec<CloseFailure>), ComponentError> {
        let mut taken = std::mem::replace(files, OpenFiles::new(self.compression, self.max_open_files));
        let task = tokio::task::spawn_blocking(move || {
            let mut closed = Vec::new();
            let result = job(&mut taken, &mut closed);
            (taken, result, closed)
        });
        match task.await {
            Ok((back, result, closed)) => {
                *files = back;
                Ok((result, closed))
            }
            Err(error) => {
                self.metrics.error("file_task_failed", "sending");
                Err(ComponentError::new(format!("file task failed, its open files are lost: {error}")))
            }
        }
    }

    /// Logs and counts files whose close (compressor end or fsync) failed: data already reported
    /// delivered may not be on disk.
    fn report_close_failures(&self, closed: Vec<CloseFailure>) {
        for (path, error) in closed {
            self.metrics.error("close_failed", "sending");
            tracing::error!(%path, %error, "closing file failed; recently written data may be lost");
        }
    }
}

#[async_trait]
impl Sink for FileSink {
    async fn run(self: Box<Self>, input: SinkInput) -> Result<(), ComponentError> {
        self.run_with(input).await.map(|_| ())
    }
}
