//! The async half of the `file` source: builds events from what the reader found, sends them,
//! follows acknowledgements and saves checkpoints.
//!
//! One task loops: it hands the [`Tailer`] to `spawn_blocking` for a pass, turns the lines into
//! one batch and awaits `send_batch`, so a slow pipeline holds the reading back (at most one pass
//! of lines is in memory). While it waits on either, it records resolved receipts and saves the
//! checkpoints every [`SAVE_INTERVAL`]. A pass that found nothing is followed by a short sleep
//! that doubles up to [`IDLE_MAX`] while the files stay quiet.
//!
//! On shutdown the task stops reading at once (lines read but not sent are not checkpointed, so
//! the next run reads them again), saves the checkpoints, waits up to [`SHUTDOWN_ACK_WAIT`] for
//! outstanding receipts, and saves again.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use strata_core::{
    BuildError, ComponentError, ComponentMetrics, RateLimitedLog, ShutdownSignal, SourceContext,
};
use strata_event::{
    BatchNotifier, BatchReceipt, Event, EventBatch, EventFinalizers, EventMetadata, KeyString, LogEvent,
    ObjectMap, Value,
};
use tokio::time::{Interval, MissedTickBehavior};

use super::FileConfig;
use super::acks::{Acks, Outcome, Resolved};
use super::checkpoint::{self, Table};
use super::config::FingerprintConfig;
use super::fingerprint::{Fingerprint, Fingerprinter};
use super::multiline::Rules;
use super::scan::Patterns;
use super::tailer::{Chunk, PassOutput, Settings, Tailer};
use crate::common::StandardFields;

#[cfg(not(test))]
const SAVE_INTERVAL: Duration = Duration::from_secs(1);
/// Tests watch checkpoints move; a shorter interval keeps them quick.
#[cfg(test)]
const SAVE_INTERVAL: Duration = Duration::from_millis(100);
const IDLE_MIN: Duration = Duration::from_millis(10);
const IDLE_MAX: Duration = Duration::from_millis(100);
const SHUTDOWN_ACK_WAIT: Duration = Duration::from_secs(2);

fn settings(config: &FileConfig) -> Result<Settings, String> {
    let delimiter = config.line_delimiter.as_bytes().to_vec();
    let fingerprint = match &config.fingerprint {
        FingerprintConfig::Checksum { lines: 0, bytes: None, .. } => FingerprintConfig::default(),
        other => other.clone(),
    };
    Ok(Settings {
        patterns: Patterns::new(&config.include, &config.exclude)?,
        fingerprinter: Fingerprinter {
            strategy: fingerprint,
            delimiter: delimiter.clone(),
            max_line_bytes: config.max_line_bytes,
        },
        read_from: config.read_from,
        ignore_older: config.ignore_older_secs.map(Duration::from_secs),
        cooldown: Duration::from_millis(config.glob_minimum_cooldown_ms),
        max_line_bytes: config.max_line_bytes,
        delimiter,
        max_read_bytes: config.max_read_bytes.max(1),
        oldest_first: config.oldest_first,
        remove_after: config.remove_after_secs.map(Duration::from_secs),
        multiline: config.multiline.as_ref().map(Rules::new).transpose()?,
        max_open_files: config.max_open_files.max(1),
    })
}

pub(super) async fn build(
    config: FileConfig,
    cx: SourceContext,
) -> Result<strata_core::source::Source, BuildError> {
    use strata_core::SourceConfig;
    if let Some(problem) = config.validate().into_iter().next() {
        return Err(BuildError::new(problem));
    }
    let settings = settings(&config).map_err(BuildError::new)?;
    let Some(data_dir) = config.data_dir.clone().or_else(|| cx.globals.data_dir.clone()) else {
        return Err(BuildError::new(
            "the file source needs a `data_dir` (its own or the global one) to keep its checkpoints",
        ));
    };
    let dir = data_dir.join(cx.key.id());
    let load_dir = dir.clone();
    let table = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&load_dir)
            .map_err(|e| format!("cannot create the checkpoint directory {}: {e}", load_dir.display()))?;
        checkpoint::load(&load_dir)
    })
    .await
    .map_err(|e| BuildError::new(format!("loading checkpoints failed: {e}")))?
    .map_err(BuildError::new)?;
    Ok(Box::pin(run(config, cx, dir, Arc::new(Mutex::new(table)), settings)))
}

/// What to put in every event besides the line.
struct Shape {
    fields: StandardFields,
    message_key: KeyString,
    file_key: Option<KeyString>,
    offset_key: Option<KeyString>,
}

/// The work done while waiting for something else: receipts, checkpoint saves, shutdown.
struct Background<'a> {
    shutdown: ShutdownSignal,
    acks: Acks,
    save: Interval,
    table: Arc<Mutex<Table>>,
    dir: PathBuf,
    metrics: &'a ComponentMetrics,
    limiter: RateLimitedLog,
}

impl Background<'_> {
    /// Awaits `work` while doing the background work; `None` when shutdown came first.
    async fn during<F: Future>(&mut self, work: F) -> Option<F::Output> {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                _ = self.shutdown.recv() => return None,
                resolved = self.acks.next() => self.resolved(resolved),
                _ = self.save.tick() => self.save().await,
                output = &mut work => return Some(output),
            }
        }
    }

    fn resolved(&mut self, resolved: Resolved) {
        if let Outcome::Stalled(status, path) = self.acks.resolve(resolved, &self.table) {
            self.metrics.error("delivery_failed", "receiving");
            if let Some(suppressed) = self.limiter.check() {
                tracing::warn!(
                    suppressed,
                    ?status,
                    path = %String::from_utf8_lossy(&path),
                    "file source: lines were not delivered; the file's checkpoint stays before them until restart"
                );
            }
        }
    }

    async fn save(&mut self) {
        let changes = self.table.lock().ok().and_then(|mut table| table.take_changes());
        let Some(bytes) = changes else { return };
        let dir = self.dir.clone();
        let result = tokio::task::spawn_blocking(move || checkpoint::save(&dir, &bytes)).await;
        let error = match result {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        if let Ok(mut table) = self.table.lock() {
            table.mark_dirty();
        }
        self.metrics.error("checkpoint_write_failed", "receiving");
        if let Some(suppressed) = self.limiter.check() {
            tracing::warn!(suppressed, dir = %self.dir.display(), "file source: saving checkpoints failed: {error}");
        }
    }

    /// Saves, waits a little for outstanding receipts, and saves again.
    async fn finish(&mut self) {
        self.save().await;
        let deadline = tokio::time::Instant::now() + SHUTDOWN_ACK_WAIT;
        while !self.acks.is_empty() {
            match tokio::time::timeout_at(deadline, self.acks.next()).await {
                Ok(resolved) => self.resolved(resolved),
                Err(_) => break,
            }
        }
        self.save().await;
    }
}

async fn run(
    config: FileConfig,
    mut cx: SourceContext,
    dir: PathBuf,
    table: Arc<Mutex<Table>>,
    settings: Settings,
) -> Result<(), ComponentError> {
    let schema = &cx.globals.log_schema;
    let shape = Shape {
        fields: StandardFields::new(schema, "file", config.host_key.as_deref()),
        message_key: KeyString::from(schema.message_key.as_str()),
        file_key: (!config.file_key.is_empty()).then(|| KeyString::from(config.file_key.as_str())),
        offset_key: config.offset_key.as_deref().filter(|k| !k.is_empty()).map(KeyString::from),
    };
    let mut save = tokio::time::interval(SAVE_INTERVAL);
    save.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut background = Background {
        shutdown: cx.shutdown.clone(),
        acks: Acks::default(),
        save,
        table: table.clone(),
        dir,
        metrics: &cx.metrics,
        limiter: RateLimitedLog::default(),
    };
    let mut tailer = Tailer::new(settings, table, cx.metrics.clone());
    let mut idle = IDLE_MIN;
    let result = loop {
        let pass = tokio::task::spawn_blocking(move || {
            let output = tailer.pass();
            (tailer, output)
        });
        let (returned, output) = match background.during(pass).await {
            None => break Ok(()),
            Some(Ok(returned)) => returned,
            Some(Err(error)) => break Err(ComponentError::new(format!("the file reader stopped: {error}"))),
        };
        tailer = returned;
        let quiet = output.bytes == 0;
        let (batch, sent) = events(output, &shape, &cx);
        let count = batch.len();
        if count > 0 {
            cx.metrics.received(count, 0);
            match background.during(cx.out.send_batch(batch)).await {
                None | Some(Err(_)) => break Ok(()),
                Some(Ok(())) => {}
            }
        }
        for (chunk, receipt) in sent {
            record(&mut background, chunk, receipt, cx.acknowledgements);
        }
        if quiet {
            if background.during(tokio::time::sleep(idle)).await.is_none() {
                break Ok(());
            }
            idle = (idle * 2).min(IDLE_MAX);
        } else {
            idle = IDLE_MIN;
        }
    };
    background.finish().await;
    result
}

/// What a sent chunk moves: its file, path, end offset and whether it restarts the file.
struct Sent {
    fingerprint: Fingerprint,
    path: Bytes,
    end: u64,
    reset: bool,
}

/// Turns a pass into one batch; each file's events share one notifier when acknowledging.
fn events(
    output: PassOutput,
    shape: &Shape,
    cx: &SourceContext,
) -> (EventBatch, Vec<(Sent, Option<BatchReceipt>)>) {
    let now = Utc::now();
    let metadata = EventMetadata::new(cx.source_id, "file", now);
    let mut events = Vec::new();
    let mut sent = Vec::with_capacity(output.chunks.len());
    for Chunk { fingerprint, path, reset, lines, end } in output.chunks {
        let (notifier, receipt) = match cx.acknowledgements && !lines.is_empty() {
            true => {
                let (notifier, receipt) = BatchNotifier::new();
                (Some(notifier), Some(receipt))
            }
            false => (None, None),
        };
        // Without a per-line offset every field but the line is the same for the whole chunk:
        // the lines stay raw (see `LogEvent::raw`) and share one schema.
        let raw = shape.offset_key.is_none().then(|| {
            let file = shape.file_key.clone().map(|key| (key, Value::Bytes(path.clone())));
            shape.fields.raw_schema_with(file)
        });
        for (line, offset) in lines {
            let mut event = match &raw {
                Some(schema) => Event::Log(LogEvent::raw(line, now, schema, metadata.clone())),
                None => {
                    let mut map = ObjectMap::new();
                    map.insert(shape.message_key.clone(), Value::Bytes(line));
                    if let Some(key) = &shape.file_key {
                        map.insert(key.clone(), Value::Bytes(path.clone()));
                    }
                    if let Some(key) = &shape.offset_key {
                        map.insert(key.clone(), Value::Integer(offset as i64));
                    }
                    let mut event = Event::from(LogEvent::from_map(map, metadata.clone()));
                    shape.fields.apply(&mut event, now);
                    event
                }
            };
            if let Some(notifier) = &notifier {
                event.metadata_mut().add_finalizers(EventFinalizers::new(notifier.clone()));
            }
            events.push(event);
        }
        sent.push((Sent { fingerprint, path, end, reset }, receipt));
    }
    (EventBatch::new(events), sent)
}

/// Advances a sent chunk's checkpoint, or queues it behind its receipt.
fn record(background: &mut Background<'_>, sent: Sent, receipt: Option<BatchReceipt>, acknowledging: bool) {
    let table = &background.table;
    if !acknowledging {
        if let Ok(mut table) = table.lock() {
            table.set(sent.fingerprint, sent.end, &sent.path);
        }
        return;
    }
    if sent.reset {
        background.acks.reset(sent.fingerprint);
        if let Ok(mut table) = table.lock() {
            table.set(sent.fingerprint, 0, &sent.path);
        }
    }
    background.acks.track(sent.fingerprint, sent.end, sent.path, receipt, table);
}
