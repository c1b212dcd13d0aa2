//! The buffer in front of every component that has inputs, and its `buffer` option.
//!
//! Every edge into a transform or a sink goes through one of these. It is bounded: when it is
//! full, `when_full = "block"` (the default) holds the sender, and so the whole path upstream back
//! to the source, which stops reading; `"drop_newest"` drops the incoming batch, counts it and
//! reports it as not delivered.

use metrics::{Counter, Gauge};
use serde::{Deserialize, Serialize};
use strata_buffers::memory::{self, MemoryLimit, SendOutcome};
use strata_buffers::{Weighted, WhenFull};
use strata_event::{BatchStatus, EventBatch};

use crate::ComponentMetrics;

/// The default `max_events` of a memory buffer.
pub const DEFAULT_MAX_EVENTS: usize = 1000;

fn default_max_events() -> Option<usize> {
    Some(DEFAULT_MAX_EVENTS)
}

/// The `buffer` table of a transform or sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BufferConfig {
    /// A bounded channel in memory. Lost if the process dies.
    Memory {
        /// The most events the buffer holds. Default: 1000. Ignored when `max_size` is set.
        #[serde(default = "default_max_events")]
        max_events: Option<usize>,
        /// The most bytes (estimated in-memory size) the buffer holds, instead of `max_events`.
        #[serde(default)]
        max_size: Option<usize>,
        /// `block` (default) or `drop_newest`.
        #[serde(default)]
        when_full: WhenFull,
    },
    /// A durable buffer on disk under `data_dir`, which survives restarts and crashes.
    Disk {
        /// The most bytes the buffer may take on disk. Required; at least 2 MiB.
        max_size: u64,
        /// `block` (default) or `drop_newest`.
        #[serde(default)]
        when_full: WhenFull,
        /// When upstream is told the events are safe: `write` (default, once in the page cache:
        /// survives a crash of the agent) or `fsync` (once on stable storage: survives power loss).
        #[serde(default)]
        ack_after: AckAfter,
        /// `never`, `interval` (default) or `always` (one fsync per written batch).
        #[serde(default)]
        fsync: FsyncMode,
        /// The interval of `fsync = "interval"`, in milliseconds. Default: 500.
        #[serde(default = "default_fsync_interval_ms")]
        fsync_interval_ms: u64,
    },
}

/// When a disk buffer acknowledges what it stored to the sources upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckAfter {
    #[default]
    Write,
    Fsync,
}

/// A disk buffer's fsync policy, as configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsyncMode {
    Never,
    #[default]
    Interval,
    Always,
}

fn default_fsync_interval_ms() -> u64 {
    500
}

impl Default for BufferConfig {
    fn default() -> Self {
        BufferConfig::Memory { max_events: default_max_events(), max_size: None, when_full: WhenFull::Block }
    }
}

/// The smallest disk buffer: room for a few segments.
pub const MIN_DISK_BUFFER_BYTES: u64 = 2 * 1024 * 1024;

impl BufferConfig {
    /// Problems found without touching the disk, each with the key at fault, for config
    /// validation and as a last check when the buffer is built.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let BufferConfig::Disk { max_size, ack_after, fsync, .. } = self else { return Vec::new() };
        let mut problems = Vec::new();
        if *max_size < MIN_DISK_BUFFER_BYTES {
            let message = format!("must be at least 2 MiB ({MIN_DISK_BUFFER_BYTES}), got {max_size}");
            problems.push(("buffer.max_size", message));
        }
        if *ack_after == AckAfter::Fsync && *fsync == FsyncMode::Never {
            let message = "`ack_after = \"fsync\"` needs `fsync = \"interval\"` or `\"always\"`: with \
                           `never`, nothing would be acknowledged before shutdown"
                .to_owned();
            problems.push(("buffer.ack_after", message));
        }
        problems
    }

    pub fn when_full(&self) -> WhenFull {
        match self {
            BufferConfig::Memory { when_full, .. } | BufferConfig::Disk { when_full, .. } => *when_full,
        }
    }
}

struct Item {
    batch: EventBatch,
    size: usize,
}

impl Weighted for Item {
    fn event_count(&self) -> usize {
        self.batch.len()
    }

    fn size_bytes(&self) -> usize {
        self.size
    }
}

#[derive(Clone)]
pub(crate) struct BufferMetrics {
    pub(crate) size_events: Gauge,
    pub(crate) size_bytes: Gauge,
    pub(crate) received: Counter,
    pub(crate) sent: Counter,
    pub(crate) discarded: Counter,
    pub(crate) errors: Counter,
}

impl BufferMetrics {
    pub(crate) fn new(component: &ComponentMetrics) -> Self {
        Self {
            size_events: component.gauge("buffer_size_events", &[]),
            size_bytes: component.gauge("buffer_size_bytes", &[]),
            received: component.counter("buffer_received_events_total"),
            sent: component.counter("buffer_sent_events_total"),
            discarded: component.counter("buffer_discarded_events_total"),
            errors: component.counter("buffer_errors_total"),
        }
    }
}

/// Why a send did not go through: the receiving component is gone. The batch comes back.
#[derive(Debug)]
pub struct BufferClosed(pub EventBatch);

/// The writing side of a component's input buffer. Cloned into every upstream fan-out.
#[derive(Clone)]
pub struct BufferSender {
    inner: memory::Sender<Item>,
    measure_bytes: bool,
    /// `None` for the in-memory stages of a disk buffer, whose pumps report for the buffer.
    metrics: Option<BufferMetrics>,
    component: ComponentMetrics,
}

impl std::fmt::Debug for BufferSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferSender").finish_non_exhaustive()
    }
}

/// A handle to a component's input that does not keep it open; see [`BufferSender::downgrade`].
#[derive(Clone)]
pub struct WeakBufferSender {
    inner: memory::WeakSender<Item>,
    measure_bytes: bool,
    metrics: Option<BufferMetrics>,
    component: ComponentMetrics,
}

impl WeakBufferSender {
    /// A sender again, or `None` once every upstream has finished and the input has closed.
    pub fn upgrade(&self) -> Option<BufferSender> {
        Some(BufferSender {
            inner: self.inner.upgrade()?,
            measure_bytes: self.measure_bytes,
            metrics: self.metrics.clone(),
            component: self.component.clone(),
        })
    }
}

/// The reading side, owned by the component.
pub struct BufferReceiver {
    inner: memory::Receiver<Item>,
    metrics: Option<BufferMetrics>,
}

/// Builds the in-memory buffer for a component. Disk buffers are built by
/// [`crate::disk_buffer::disk_buffer`], which needs `data_dir`.
pub fn memory_buffer(config: &BufferConfig, metrics: &ComponentMetrics) -> (BufferSender, BufferReceiver) {
    let (limit, when_full) = match config {
        BufferConfig::Memory { max_size: Some(bytes), when_full, .. } => {
            (MemoryLimit::Bytes(*bytes), *when_full)
        }
        BufferConfig::Memory { max_events, when_full, .. } => {
            (MemoryLimit::Events(max_events.unwrap_or(DEFAULT_MAX_EVENTS)), *when_full)
        }
        BufferConfig::Disk { .. } => (MemoryLimit::Events(DEFAULT_MAX_EVENTS), WhenFull::Block),
    };
    channel(limit, when_full, Some(BufferMetrics::new(metrics)), metrics)
}

/// A small blocking channel without buffer metrics: a stage inside a disk buffer.
pub(crate) fn quiet_channel(metrics: &ComponentMetrics) -> (BufferSender, BufferReceiver) {
    channel(MemoryLimit::Events(DEFAULT_MAX_EVENTS), WhenFull::Block, None, metrics)
}

fn channel(
    limit: MemoryLimit,
    when_full: WhenFull,
    metrics: Option<BufferMetrics>,
    component: &ComponentMetrics,
) -> (BufferSender, BufferReceiver) {
    let (tx, rx) = memory::channel(limit, when_full);
    let measure_bytes = matches!(limit, MemoryLimit::Bytes(_));
    (
        BufferSender { inner: tx, measure_bytes, metrics: metrics.clone(), component: component.clone() },
        BufferReceiver { inner: rx, metrics },
    )
}

impl BufferSender {
    /// Sends a batch, waiting for room or dropping it as the buffer's policy says.
    pub async fn send(&self, batch: EventBatch) -> Result<(), BufferClosed> {
        let events = batch.len();
        let size = if self.measure_bytes { batch.estimated_size() } else { 0 };
        match self.inner.send(Item { batch, size }).await {
            Ok(SendOutcome::Sent) => {
                if let Some(metrics) = &self.metrics {
                    metrics.received.increment(events as u64);
                    self.update_gauges(metrics);
                }
                Ok(())
            }
            Ok(SendOutcome::Dropped(item)) => {
                if let Some(metrics) = &self.metrics {
                    metrics.discarded.increment(events as u64);
                }
                self.component.discarded(events);
                // Dropped by policy, not delivered: the source must not take it as delivered.
                item.batch.finalize(BatchStatus::Errored);
                Ok(())
            }
            Err(closed) => Err(BufferClosed(closed.0.batch)),
        }
    }

    fn update_gauges(&self, metrics: &BufferMetrics) {
        metrics.size_events.set(self.inner.usage().events() as f64);
        if self.measure_bytes {
            metrics.size_bytes.set(self.inner.usage().bytes() as f64);
        }
    }

    /// A handle that can make new senders without keeping the input open. The topology keeps
    /// these, so a component's input closes when its last upstream finishes.
    pub fn downgrade(&self) -> WeakBufferSender {
        WeakBufferSender {
            inner: self.inner.downgrade(),
            measure_bytes: self.measure_bytes,
            metrics: self.metrics.clone(),
            component: self.component.clone(),
        }
    }

    /// True when both senders write into the same buffer.
    pub fn same_buffer(&self, other: &BufferSender) -> bool {
        self.inner.same_channel(&other.inner)
    }

    /// Events in the buffer now.
    pub fn buffered_events(&self) -> usize {
        self.inner.usage().events()
    }
}

impl BufferReceiver {
    /// The next batch; `None` once every upstream is gone and the buffer is drained.
    pub async fn recv(&mut self) -> Option<EventBatch> {
        let item = self.inner.recv().await?;
        Some(self.taken(item))
    }

    /// The next batch if one is ready now.
    pub fn try_recv(&mut self) -> Option<EventBatch> {
        let item = self.inner.try_recv()?;
        Some(self.taken(item))
    }

    fn taken(&self, item: Item) -> EventBatch {
        if let Some(metrics) = &self.metrics {
            metrics.sent.increment(item.batch.len() as u64);
            metrics.size_events.set(self.inner.usage().events() as f64);
        }
        item.batch
    }
}
